//! Request parts our handlers read, refused with our error body: axum's own extractors answer
//! a bad path with plain text, which a client of a JSON API cannot parse.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use crate::error::ApiError;

/// The `{id}` of a session's path. An id that is not UTF-8 once percent-decoded (no session
/// has one) is INVALID_ARGUMENT.
#[derive(utoipa::IntoParams)]
#[into_params(names("sessionId"), parameter_in = Path)]
pub struct SessionId(
    /// The session's id, as creating it answered.
    pub String,
);

impl<S: Send + Sync> FromRequestParts<S> for SessionId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::InvalidArgument(format!("session id: {}", e.body_text())))?;
        Ok(SessionId(id))
    }
}
