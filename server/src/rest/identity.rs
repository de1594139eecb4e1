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
use crate::error::{ApiError, ErrorResponse};
use crate::identity::{self, MAX_DOCUMENT_IMAGES};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CompareFacesRequest)]
pub struct CompareFacesBody {
    /// Base64 JPEG or PNG (a `data:` URL prefix is accepted).
    #[serde(default)]
    #[schema(required)]
    pub source_image: Option<String>,
    /// Base64 JPEG or PNG (a `data:` URL prefix is accepted).
    #[serde(default)]
    #[schema(required)]
    pub target_image: Option<String>,
    /// `isMatch` is `similarity >= threshold`.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100, default = 90)]
    pub threshold: Option<f32>,
    /// Answer 1011 (422) instead of `isMatch: false`.
    #[serde(default)]
    pub enforce_match: bool,
}

/// The multipart form of an identity check (documentation only: [`kyc`] reads the parts as
/// they stream in, each field under its seed name or its camelCase one).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct KycForm {
    /// 1-4 pictures of one document: front and back, or a passport page.
    #[schema(value_type = Vec<String>, format = Binary, min_items = 1, max_items = 4)]
    files: Vec<Vec<u8>>,
    liveness_session_id: String,
    #[schema(minimum = 0, maximum = 100, default = 90)]
    similarity_threshold: Option<f32>,
    /// The liveness threshold; default the session's.
    #[schema(minimum = 0, maximum = 100)]
    confidence_threshold: Option<f32>,
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

/// Compare the largest face of two pictures
///
/// Each picture (JPEG or PNG, base64, a data: URL prefix is accepted) gives its largest face,
/// aligned by its five points and embedded with SFace; the cosine similarity is mapped to 0-100
/// by a documented monotone rule (knots 0.363->75, 0.5->90, 0.8->99). isMatch = similarity >=
/// threshold (default 90). confidence is the quality of the weaker picture. Errors: 1010 (500) a
/// picture cannot be read or shows no face; 1011 (422) similarity below the threshold when
/// enforceMatch is true; 2012 (400) a missing picture, a threshold outside 0-100 or a field
/// this API does not have.
#[utoipa::path(
    post,
    path = "/api/liveness/compare-faces",
    tag = "identity",
    operation_id = "compareFaces",
    request_body = CompareFacesBody,
    responses(
        (status = 200, description = "Similarity", body = CompareFacesResponse),
        (status = 400, response = ErrorResponse),
        (status = 401, response = ErrorResponse),
        (status = 413, response = ErrorResponse),
        (status = 422, response = ErrorResponse),
        (status = 500, response = ErrorResponse),
    ),
)]
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

/// Identity document and a liveness session in one verdict
///
/// Reads 1-4 pictures of one document (front and back, or a passport page): its MRZ (ICAO 9303
/// TD1/TD2/TD3, every check digit validated) and PDF417 AAMVA barcode, and its portrait, compared
/// with the session's reference image. The session's result is consumed, as by verify: a second
/// check with the same session gets 2011. Errors: 1008 (404) unknown session; 1007 (400) expired
/// session; 2010 (409) session not finished; 2011 (409) session already used; 2012 (400) no
/// pictures, more than 4, an unreadable picture, or not multipart; 1010 (500) the session's
/// reference image is no longer kept.
#[utoipa::path(
    post,
    path = "/api/kyc/analyze/identity-with-liveness",
    tag = "identity",
    operation_id = "analyzeIdentityWithLiveness",
    request_body(content = KycForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "KYC analysis", body = KycResponse),
        (status = 400, response = ErrorResponse),
        (status = 401, response = ErrorResponse),
        (status = 404, response = ErrorResponse),
        (status = 409, response = ErrorResponse),
        (status = 413, response = ErrorResponse),
        (status = 500, response = ErrorResponse),
    ),
)]
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
