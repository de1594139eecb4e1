//! The identity checks' integration tests, in one binary: specimen documents read as a customer
//! photographs them, and real people's faces matched.

// The engine's test support (media and one load of the models), shared rather than copied.
#[path = "../../../tests/support/mod.rs"]
mod support;

mod documents;
mod matching;
