//! What an identity check can fail on, beside the engine's own errors. The server maps each to
//! its error code in one place (`server/src/error.rs`).

use livegate_engine::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A picture to match cannot be used: empty, not an image, or without a face. The message
    /// names the picture and what is wrong with it.
    #[error("{0}")]
    UnusablePicture(String),
    /// A picture of the document cannot be read as an image (1-based `index`).
    #[error("document picture {index} cannot be read as JPEG or PNG ({reason})")]
    UnreadableDocument { index: usize, reason: String },
    #[error(transparent)]
    Engine(#[from] EngineError),
}
