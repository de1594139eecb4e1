//! The engine's error type. The server maps each variant to a public error code in one place.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("model file {path} is missing; fetch it with `{fetch_command}`")]
    ModelMissing {
        path: PathBuf,
        fetch_command: &'static str,
    },

    #[error(
        "model file {path} is corrupt (sha256 {actual}, expected {expected}); fetch it again with `{fetch_command}`"
    )]
    ModelCorrupt {
        path: PathBuf,
        expected: String,
        actual: String,
        fetch_command: &'static str,
    },

    #[error("model {name} could not be loaded: {reason}")]
    ModelLoad { name: String, reason: String },

    /// The frame cannot be decoded or its declared geometry does not fit its bytes.
    #[error("invalid frame: {0}")]
    InvalidFrame(String),

    /// The picture holds no face the detector can find.
    #[error("no face found")]
    NoFace,

    /// A model or an image operation failed on a valid frame (a bug or resource exhaustion).
    #[error("analysis failed: {0}")]
    Analysis(String),
}

impl From<opencv::Error> for EngineError {
    fn from(e: opencv::Error) -> Self {
        EngineError::Analysis(format!("opencv: {e}"))
    }
}

/// tract reports errors as `anyhow::Error`; keep the message, the type carries no more.
pub(crate) fn inference_error(e: impl std::fmt::Display) -> EngineError {
    EngineError::Analysis(format!("inference: {e}"))
}
