//! The command-line client's integration tests, in one binary: the CLI against a real server on
//! loopback, its refusals of bad input, and its tools.

#[path = "../support/mod.rs"]
mod support;

mod bad_input;
mod loopback;
mod tools;
