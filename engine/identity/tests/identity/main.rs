//! The identity checks' integration tests, in one binary: specimen documents read as a customer
//! photographs them, and real people's faces matched.

use livegate_testkit as support;

mod documents;
mod matching;
