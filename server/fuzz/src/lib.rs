//! Fuzz targets for everything a client can send: a frame's bytes and geometry, a stream's
//! messages, a REST request's body. Each target takes arbitrary bytes, feeds them to the real
//! code (the engine's decoder, the stream driver, the REST router, with the real models), and
//! panics when the answer breaks a promise the API makes — not only on crashes:
//!
//! - a frame is either decoded within the size limits, upright, or refused as an invalid frame
//!   (never an engine failure, never a bigger bitmap than its header declared);
//! - a stream always ends, every error it ends with carries one of our codes and no internal
//!   path, and the session it claimed is never left in progress;
//! - a REST request is answered with JSON: our error body with a code, or a success; never a
//!   500 without a code, never an internal path, always `nosniff` and `no-store` under `/api/`.
//!
//! The binaries in `src/bin` hand these functions to libFuzzer (`deploy/dev/fuzz`);
//! `tests/corpus.rs` replays the committed corpus through them on every test run.

mod harness;
pub mod inputs;

pub use harness::Harness;
pub use inputs::{frame_decoding, rest_bodies, stream_protocol};
