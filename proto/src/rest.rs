//! The REST API's JSON answers, field for field as the REST API customers know them shows them
//! (`../shared/seed`'s shapes: camelCase names, enum values by their API names, times in whole
//! seconds, images in base64), made from the proto's messages. One mapping for every client that
//! answers in that shape: the server's REST routes and the CLI's `--json`. Each type is also
//! its own OpenAPI schema (`ToSchema`), so the served document describes what this code writes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

use crate::v1 as pb;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateSessionResponse {
    pub session_id: String,
    #[schema(schema_with = session_statuses)]
    pub status: &'static str,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expiry_date: String,
    /// The one-time token the stream (gRPC or WebSocket) must present. Not in the seed API:
    /// give it only to the device that will stream.
    pub stream_token: String,
}

impl From<pb::CreateSessionResponse> for CreateSessionResponse {
    fn from(r: pb::CreateSessionResponse) -> Self {
        CreateSessionResponse {
            status: status_name(r.status),
            created_at: rfc3339(r.created_at),
            expiry_date: rfc3339(r.expiry_date),
            session_id: r.session_id,
            stream_token: r.stream_token,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionResult {
    pub session_id: String,
    #[schema(schema_with = session_statuses)]
    pub status: &'static str,
    /// Present once the session finished, as are the fields below.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 100)]
    pub confidence: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_live: Option<bool>,
    /// Base64 JPEG; absent once the retention period has ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Byte)]
    pub reference_image: Option<String>,
    /// Base64 JPEGs, as many as the session's `auditImagesLimit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = base64_images)]
    pub audit_images: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Verdict reason codes (for example `NO_PARALLAX`); not in the seed API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<String>>,
}

impl From<pb::SessionResult> for SessionResult {
    fn from(r: pb::SessionResult) -> Self {
        let finished = r.timestamp.is_some();
        let reference_image =
            (!r.reference_image.is_empty()).then(|| BASE64.encode(&r.reference_image));
        SessionResult {
            session_id: r.session_id,
            status: status_name(r.status),
            confidence: finished.then_some(r.confidence),
            is_live: finished.then_some(r.is_live),
            reference_image,
            audit_images: finished
                .then(|| r.audit_images.iter().map(|i| BASE64.encode(i)).collect()),
            timestamp: r.timestamp.map(|t| rfc3339(Some(t))),
            message: finished.then_some(r.message),
            reasons: finished.then_some(r.reasons),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResponse {
    pub session_id: String,
    #[schema(minimum = 0, maximum = 100)]
    pub confidence: f32,
    pub is_live: bool,
}

impl From<pb::VerifySessionResponse> for VerifyResponse {
    fn from(r: pb::VerifySessionResponse) -> Self {
        VerifyResponse {
            session_id: r.session_id,
            confidence: r.confidence,
            is_live: r.is_live,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompareFacesResponse {
    #[schema(minimum = 0, maximum = 100)]
    pub similarity: f32,
    pub is_match: bool,
    /// The quality of the weaker picture, 0-100.
    #[schema(minimum = 0, maximum = 100)]
    pub confidence: f32,
    #[schema(minimum = 0, maximum = 100)]
    pub threshold: f32,
    /// Not in the seed: what makes each picture unfit for matching (`EYE_COVERED`, ...).
    #[schema(schema_with = picture_issues)]
    pub source_image_issues: Vec<String>,
    #[schema(schema_with = picture_issues)]
    pub target_image_issues: Vec<String>,
}

impl From<pb::CompareFacesResponse> for CompareFacesResponse {
    fn from(r: pb::CompareFacesResponse) -> Self {
        CompareFacesResponse {
            similarity: r.similarity,
            is_match: r.is_match,
            confidence: r.confidence,
            threshold: r.threshold,
            source_image_issues: issue_names(&r.source_issues),
            target_image_issues: issue_names(&r.target_issues),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KycResponse {
    pub kyc_analysis: KycAnalysis,
    pub liveness_verification: LivenessVerification,
    pub face_match_result: FaceMatchResult,
    pub overall_success: bool,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KycAnalysis {
    pub total_documents: u32,
    pub extracted_data: ExtractedData,
    /// Not in the seed: what was read (`MRZ_TD1`, `MRZ_TD2`, `MRZ_TD3`, `PDF417_AAMVA`).
    pub sources: Vec<String>,
    pub mrz_valid: bool,
    pub portrait_found: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtractedData {
    pub name: String,
    pub id_number: String,
    pub date_of_birth: String,
    /// Not in the seed, like the fields below.
    pub expiry_date: String,
    pub document_type: String,
    pub issuing_country: String,
    pub validity: FieldValidity,
    pub expired: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldValidity {
    pub name: bool,
    pub id_number: bool,
    pub date_of_birth: bool,
    pub expiry_date: bool,
    pub issuing_country: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LivenessVerification {
    pub is_live: bool,
    pub confidence: f32,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FaceMatchResult {
    pub is_match: bool,
    pub similarity: f32,
    pub confidence: f32,
    pub threshold: f32,
    /// Not in the seed: what makes the document's portrait or the session's reference image
    /// unfit for matching.
    #[schema(schema_with = picture_issues)]
    pub portrait_issues: Vec<String>,
    #[schema(schema_with = picture_issues)]
    pub selfie_issues: Vec<String>,
}

impl From<pb::AnalyzeIdentityResponse> for KycResponse {
    fn from(r: pb::AnalyzeIdentityResponse) -> Self {
        let kyc = r.kyc_analysis.unwrap_or_default();
        let data = kyc.extracted_data.unwrap_or_default();
        let validity = data.validity.unwrap_or_default();
        let live = r.liveness_verification.unwrap_or_default();
        let face = r.face_match_result.unwrap_or_default();
        KycResponse {
            kyc_analysis: KycAnalysis {
                total_documents: kyc.total_documents,
                extracted_data: ExtractedData {
                    name: data.name,
                    id_number: data.id_number,
                    date_of_birth: data.date_of_birth,
                    expiry_date: data.expiry_date,
                    document_type: data.document_type,
                    issuing_country: data.issuing_country,
                    validity: FieldValidity {
                        name: validity.name,
                        id_number: validity.id_number,
                        date_of_birth: validity.date_of_birth,
                        expiry_date: validity.expiry_date,
                        issuing_country: validity.issuing_country,
                    },
                    expired: data.expired,
                },
                sources: kyc.sources,
                mrz_valid: kyc.mrz_valid,
                portrait_found: kyc.portrait_found,
            },
            liveness_verification: LivenessVerification {
                is_live: live.is_live,
                confidence: live.confidence,
            },
            face_match_result: FaceMatchResult {
                is_match: face.is_match,
                similarity: face.similarity,
                confidence: face.confidence,
                threshold: face.threshold,
                portrait_issues: issue_names(&face.portrait_issues),
                selfie_issues: issue_names(&face.selfie_issues),
            },
            overall_success: r.overall_success,
            message: r.message,
        }
    }
}

/// The API names of `PictureIssue` values (`EYE_COVERED`, ...).
pub fn issue_names(issues: &[i32]) -> Vec<String> {
    issues
        .iter()
        .filter_map(|&i| pb::PictureIssue::try_from(i).ok())
        .map(|i| i.api_name().to_string())
        .collect()
}

/// The API names of an enum's values, UNSPECIFIED (0) left out: `names(SessionStatus::try_from,
/// SessionStatus::api_name)`. prost gives no list of an enum's values; ours number them from 1,
/// each below 64.
fn names<E: Copy>(
    value: impl Fn(i32) -> Result<E, prost::UnknownEnumValue>,
    name: impl Fn(E) -> &'static str,
) -> Vec<&'static str> {
    (1..=64).filter_map(|n| value(n).ok()).map(name).collect()
}

fn text_enum(names: Vec<&'static str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
}

/// Schema of a session status field: `CREATED`, `IN_PROGRESS`, ...
fn session_statuses() -> Object {
    text_enum(names(
        pb::SessionStatus::try_from,
        pb::SessionStatus::api_name,
    ))
    .build()
}

/// Schema of a list of picture issues: `EYE_COVERED`, `MOUTH_COVERED`, ...
fn picture_issues() -> utoipa::openapi::Array {
    utoipa::openapi::Array::new(text_enum(names(
        pb::PictureIssue::try_from,
        pb::PictureIssue::api_name,
    )))
}

fn base64_images() -> utoipa::openapi::Array {
    utoipa::openapi::Array::new(ObjectBuilder::new().schema_type(Type::String).format(Some(
        utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Byte),
    )))
}

/// The API names of a list of the movements a plan draws from, retired names included (still
/// read). `LIGHT` is not one: a session asks for it with `lightStep`.
pub fn challenge_kinds() -> utoipa::openapi::Array {
    let mut kinds = names(pb::ChallengeKind::try_from, pb::ChallengeKind::api_name);
    kinds.retain(|&name| name != pb::ChallengeKind::Light.api_name());
    kinds.extend(pb::ChallengeKind::RETIRED.iter().map(|(name, _)| *name));
    utoipa::openapi::Array::new(text_enum(kinds))
}

fn status_name(status: i32) -> &'static str {
    pb::SessionStatus::try_from(status)
        .unwrap_or_default()
        .api_name()
}

fn rfc3339(t: Option<prost_types::Timestamp>) -> String {
    let secs = t.map_or(0, |t| t.seconds.max(0) as u64);
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    humantime::format_rfc3339_seconds(time).to_string()
}
