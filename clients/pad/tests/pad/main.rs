//! The PAD report's integration tests, in one binary: species rendered and streamed to a real
//! server, and KYC end to end.

mod kyc;
mod species;
