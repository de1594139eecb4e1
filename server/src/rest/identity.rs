//! The seed's `POST /api/liveness/compare-faces` (JSON, images in base64) and
//! `POST /api/kyc/analyze/identity-with-liveness` (multipart: `files`, `liveness_session_id`),
//! parsed into [`crate::identity`] calls and rendered field for field as the seed shows them.

use axum::body::Bytes;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Multipart, State};
use axum::{Extension, Json};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use livegate_proto::rest::{CompareFacesResponse, KycResponse};
use livegate_proto::v1 as pb;
use serde::Deserialize;

use super::body;
use super::json::parse_body;
use crate::auth::Tenant;
use crate::error::ApiError;
use crate::identity::{self, MAX_DOCUMENT_IMAGES};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompareFacesBody {
    /// Base64 JPEG or PNG (a `data:` URL prefix is accepted).
    #[serde(default)]
    pub source_image: Option<String>,
    #[serde(default)]
    pub target_image: Option<String>,
    #[serde(default)]
    pub threshold: Option<f32>,
    #[serde(default)]
    pub enforce_match: bool,
}

/// A base64 picture; one that does not decode cannot be read, which is the seed's 1010.
fn picture(field: Option<String>, name: &str) -> Result<Vec<u8>, ApiError> {
    let text = field.ok_or_else(|| ApiError::InvalidArgument(format!("{name} is required")))?;
    let data = text
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(',').map(|(_, d)| d))
        .unwrap_or(&text);
    BASE64
        .decode(data.trim())
        .map_err(|e| ApiError::FaceMatchFailed(format!("{name} is not valid base64 ({e})")))
}

pub async fn compare_faces(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<CompareFacesResponse>, ApiError> {
    let request: CompareFacesBody = parse_body(&body(raw, &state)?)?;
    let request = pb::CompareFacesRequest {
        source_image: picture(request.source_image, "sourceImage")?,
        target_image: picture(request.target_image, "targetImage")?,
        threshold: request.threshold,
        enforce_match: request.enforce_match,
    };
    let r = identity::compare_faces(&state, &tenant, request).await?;
    Ok(Json(CompareFacesResponse::from(r)))
}

/// A multipart read error: over the body limit, or a malformed body.
fn multipart_error(e: MultipartError, state: &AppState) -> ApiError {
    if e.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::MessageTooLarge(state.config.max_request_bytes as usize)
    } else {
        ApiError::InvalidArgument(format!("multipart body: {}", e.body_text()))
    }
}

fn threshold_field(text: &str, name: &str) -> Result<f32, ApiError> {
    text.trim()
        .parse()
        .map_err(|_| ApiError::InvalidArgument(format!("{name} must be a number, not {text:?}")))
}

pub async fn kyc(
    State(state): State<AppState>,
    Extension(tenant): Extension<Tenant>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<KycResponse>, ApiError> {
    let mut multipart = multipart.map_err(|e| {
        ApiError::InvalidArgument(format!(
            "send multipart/form-data with `files` and `liveness_session_id` ({})",
            e.body_text()
        ))
    })?;
    let mut request = pb::AnalyzeIdentityRequest::default();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e, &state))?
    {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "files" | "files[]" | "file" => {
                if request.documents.len() == MAX_DOCUMENT_IMAGES {
                    return Err(ApiError::InvalidArgument(format!(
                        "at most {MAX_DOCUMENT_IMAGES} pictures of the document"
                    )));
                }
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| multipart_error(e, &state))?;
                request.documents.push(bytes.to_vec());
            }
            "liveness_session_id" | "livenessSessionId" => {
                request.liveness_session_id = field
                    .text()
                    .await
                    .map_err(|e| multipart_error(e, &state))?
                    .trim()
                    .into();
            }
            "similarity_threshold" | "similarityThreshold" => {
                let text = field.text().await.map_err(|e| multipart_error(e, &state))?;
                request.similarity_threshold = Some(threshold_field(&text, &name)?);
            }
            "confidence_threshold" | "confidenceThreshold" => {
                let text = field.text().await.map_err(|e| multipart_error(e, &state))?;
                request.confidence_threshold = Some(threshold_field(&text, &name)?);
            }
            // Unknown fields are read and dropped: browsers and form libraries add their own.
            _ => {
                field
                    .bytes()
                    .await
                    .map_err(|e| multipart_error(e, &state))?;
            }
        }
    }
    if request.liveness_session_id.is_empty() {
        return Err(ApiError::InvalidArgument(
            "liveness_session_id is required".into(),
        ));
    }
    Ok(Json(
        identity::analyze_identity(&state, &tenant, request)
            .await?
            .into(),
    ))
}
