//! Livegate's identity checks, beside the liveness engine and on its models: is the face in one
//! picture the face in another ([`matching`]), what does a photographed identity document say
//! ([`document`]: Tesseract for its machine-readable zone, rxing for its PDF417 barcode), and
//! does a KYC check pass ([`kyc`]). The liveness engine links neither Tesseract's text module
//! use nor rxing; a server that checks identities links this crate.
//!
//! Pure computation, as the engine is: no async runtime, no network; the server runs these
//! calls on its engine handle.

pub mod document;
pub mod error;
pub mod kyc;
pub mod matching;
pub mod readers;

pub use error::IdentityError;
