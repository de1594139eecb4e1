//! The command-line client's integration tests, in one binary: the CLI against a real server on
//! loopback, its refusals of bad input, and its tools. The server, media and models come from
//! `livegate-testkit`.

mod bad_input;
mod loopback;
mod tools;
