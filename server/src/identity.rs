//! Face matching and identity checks (KYC), once for every transport: the gRPC `Identity`
//! service and the REST `compare-faces` and `identity-with-liveness` routes parse their requests
//! into these calls. The engine's work runs on the blocking pool, holding one of the engine
//! slots that liveness streams use, so identity checks and streams share the CPU fairly. Each
//! call first takes one from its key's identity-check bucket ([`crate::rate_limit`],
//! `LIVEGATE_IDENTITY_CHECKS_PER_MINUTE`): beyond it, RATE_LIMITED (2014) with a retry time.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use livegate_engine::document;
use livegate_engine::frame::{FrameInput, decode};
use livegate_engine::matching::{self, DEFAULT_MATCH_THRESHOLD, MatchableFace, PictureIssue};
use livegate_engine::{EngineError, Models};
use livegate_proto::v1 as pb;

use crate::api::checked_scale;
use crate::auth::Tenant;
use crate::convert;
use crate::error::ApiError;
use crate::sessions::Status as SessionState;
use crate::state::AppState;

/// Pictures of one document an identity check accepts: front and back, with room for a retake.
pub const MAX_DOCUMENT_IMAGES: usize = 4;

/// The largest face of an uploaded picture; `what` names the picture in errors.
fn face_in(models: &Models, bytes: &[u8], what: &str) -> Result<MatchableFace, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::FaceMatchFailed(format!("the {what} is empty")));
    }
    let bgr = decode(&FrameInput::image(bytes)).map_err(|e| {
        ApiError::FaceMatchFailed(format!("the {what} cannot be read as JPEG or PNG ({e})"))
    })?;
    matching::largest_face(models, &bgr).map_err(|e| match e {
        EngineError::NoFace => ApiError::FaceMatchFailed(format!("no face found in the {what}")),
        other => other.into(),
    })
}

pub async fn compare_faces(
    state: &AppState,
    tenant: &Tenant,
    request: pb::CompareFacesRequest,
) -> Result<pb::CompareFacesResponse, ApiError> {
    state.identity_limiter.take(tenant).await?;
    let threshold =
        checked_scale("threshold", request.threshold)?.unwrap_or(DEFAULT_MATCH_THRESHOLD);
    let (comparison, source_issues, target_issues) = state
        .engine
        .try_run(move |models| {
            let source = face_in(models, &request.source_image, "source image")?;
            let target = face_in(models, &request.target_image, "target image")?;
            Ok((
                matching::compare(&source, &target),
                source.quality.issues,
                target.quality.issues,
            ))
        })
        .await?;
    let is_match = comparison.similarity >= threshold;
    tracing::info!(
        tenant = %tenant,
        similarity = comparison.similarity,
        is_match,
        source_issues = ?source_issues,
        target_issues = ?target_issues,
        "faces compared"
    );
    if request.enforce_match && !is_match {
        return Err(ApiError::SimilarityTooLow {
            similarity: comparison.similarity,
            threshold,
        });
    }
    Ok(pb::CompareFacesResponse {
        similarity: round2(comparison.similarity),
        is_match,
        confidence: round2(comparison.confidence),
        threshold,
        source_issues: convert::picture_issues(&source_issues),
        target_issues: convert::picture_issues(&target_issues),
    })
}

/// What the engine found on the document, and the session's face compared with its portrait.
struct DocumentCheck {
    fields: document::IdentityFields,
    portrait_found: bool,
    face_match: Option<FaceMatch>,
}

/// The document's portrait compared with the session's reference image.
struct FaceMatch {
    comparison: matching::FaceComparison,
    portrait_issues: Vec<PictureIssue>,
    selfie_issues: Vec<PictureIssue>,
}

/// One KYC check: the session's result consumed, the document read, the rule applied. (Its
/// length is the response's fields, mapped one for one at the end.)
pub async fn analyze_identity(
    state: &AppState,
    tenant: &Tenant,
    request: pb::AnalyzeIdentityRequest,
) -> Result<pb::AnalyzeIdentityResponse, ApiError> {
    state.identity_limiter.take(tenant).await?;
    let similarity_threshold = checked_scale("similarityThreshold", request.similarity_threshold)?
        .unwrap_or(DEFAULT_MATCH_THRESHOLD);
    let confidence_threshold = checked_scale("confidenceThreshold", request.confidence_threshold)?;
    let total = request.documents.len();
    if !(1..=MAX_DOCUMENT_IMAGES).contains(&total) {
        return Err(ApiError::InvalidArgument(format!(
            "send 1 to {MAX_DOCUMENT_IMAGES} pictures of the document, not {total}"
        )));
    }
    let reference = finished_session_reference(state, tenant, &request.liveness_session_id).await?;
    let today = civil_date(SystemTime::now());
    let check = read_documents(state, request.documents, reference, today.0 % 100).await?;

    // Now the session's result is consumed: one identity check per liveness session.
    let (session, session_threshold) = state
        .sessions
        .verify(tenant, &request.liveness_session_id, confidence_threshold)
        .await?;
    let outcome = session
        .outcome
        .ok_or_else(|| ApiError::Service("a finished session has no outcome".into()))?;
    let live = outcome.is_live && outcome.confidence >= session_threshold;
    let today_iso = format!("{:04}-{:02}-{:02}", today.0, today.1, today.2);
    let kyc = KycJudgement::of(&check, live, similarity_threshold, &today_iso);
    let overall_success = kyc.problems.is_empty();
    let summary = format!(
        "Documents: {total}, Liveness: {:.2}%, Face Match: {}",
        outcome.confidence,
        if kyc.is_match { "✓" } else { "✗" }
    );
    let message = if overall_success {
        format!("KYC verification successful. {summary}")
    } else {
        format!(
            "KYC verification failed ({}). {summary}",
            kyc.problems.join(", ")
        )
    };
    tracing::info!(
        tenant = %tenant,
        session = %session.id,
        overall_success,
        sources = ?check.fields.sources,
        "identity analysed"
    );
    let f = &check.fields;
    Ok(pb::AnalyzeIdentityResponse {
        kyc_analysis: Some(pb::KycAnalysis {
            total_documents: total as u32,
            extracted_data: Some(pb::ExtractedData {
                name: f.name.value.clone(),
                id_number: f.id_number.value.clone(),
                date_of_birth: f.date_of_birth.value.clone(),
                expiry_date: f.expiry_date.value.clone(),
                document_type: f.kind.map_or("UNKNOWN", |k| k.name()).into(),
                issuing_country: f.issuing_country.value.clone(),
                validity: Some(pb::FieldValidity {
                    name: f.name.valid,
                    id_number: f.id_number.valid,
                    date_of_birth: f.date_of_birth.valid,
                    expiry_date: f.expiry_date.valid,
                    issuing_country: f.issuing_country.valid,
                }),
                expired: kyc.expired,
            }),
            sources: f.sources.clone(),
            mrz_valid: f.mrz_checks_passed == Some(true),
            portrait_found: check.portrait_found,
        }),
        liveness_verification: Some(pb::LivenessVerification {
            is_live: live,
            confidence: outcome.confidence,
        }),
        face_match_result: Some(pb::FaceMatchResult {
            is_match: kyc.is_match,
            similarity: round2(kyc.similarity),
            confidence: round2(kyc.match_confidence),
            threshold: similarity_threshold,
            portrait_issues: convert::picture_issues(&kyc.portrait_issues),
            selfie_issues: convert::picture_issues(&kyc.selfie_issues),
        }),
        overall_success,
        message,
    })
}

/// The reference image of a finished liveness session that may still be verified; the cheap
/// refusals (unknown, expired, unfinished or used session) come before any document is read.
/// None when the session kept no image and was not live (the check then fails on liveness).
async fn finished_session_reference(
    state: &AppState,
    tenant: &Tenant,
    session_id: &str,
) -> Result<Option<Vec<u8>>, ApiError> {
    let peek = state.sessions.get(tenant, session_id).await?;
    match peek.status {
        SessionState::Expired => return Err(ApiError::SessionExpired),
        SessionState::Succeeded | SessionState::Failed => {}
        other => return Err(ApiError::ResultNotReady(other.name())),
    }
    if peek.verified {
        return Err(ApiError::AlreadyVerified);
    }
    let reference = peek
        .outcome
        .as_ref()
        .and_then(|o| o.reference_image.clone());
    if reference.is_none() && peek.outcome.as_ref().is_some_and(|o| o.is_live) {
        return Err(ApiError::FaceMatchFailed(
            "the session's reference image is no longer kept (its image retention ended)".into(),
        ));
    }
    Ok(reference)
}

/// Reads the document's pictures on the engine and compares its portrait with `reference`.
/// `today_yy` is this year's last two digits (MRZ dates have two-digit years).
async fn read_documents(
    state: &AppState,
    documents: Vec<Vec<u8>>,
    reference: Option<Vec<u8>>,
    today_yy: u32,
) -> Result<DocumentCheck, ApiError> {
    let readers = Arc::clone(&state.engine.zone_readers);
    state
        .engine
        .try_run(move |models| {
            let mut reader = readers.take()?;
            let mut pages = Vec::with_capacity(documents.len());
            for (i, bytes) in documents.iter().enumerate() {
                let bgr = decode(&FrameInput::image(bytes)).map_err(|e| {
                    ApiError::InvalidArgument(format!(
                        "document picture {} cannot be read as JPEG or PNG ({e})",
                        i + 1
                    ))
                })?;
                pages.push(document::read_page(models, &mut reader, &bgr, today_yy)?);
            }
            readers.put(reader);
            let portrait = pages.iter().find_map(|p| p.portrait.clone());
            let face_match = match (&portrait, &reference) {
                (Some(portrait), Some(jpeg)) => {
                    let selfie = face_in(models, jpeg, "session's reference image")?;
                    Some(FaceMatch {
                        comparison: matching::compare(portrait, &selfie),
                        portrait_issues: portrait.quality.issues.clone(),
                        selfie_issues: selfie.quality.issues,
                    })
                }
                _ => None,
            };
            Ok(DocumentCheck {
                fields: document::merge(&pages),
                portrait_found: portrait.is_some(),
                face_match,
            })
        })
        .await
}

/// The KYC rule: every field read and valid, the document not expired, the person live, and
/// the face the document's; each failure named.
struct KycJudgement {
    expired: bool,
    similarity: f32,
    match_confidence: f32,
    is_match: bool,
    portrait_issues: Vec<PictureIssue>,
    selfie_issues: Vec<PictureIssue>,
    /// Empty when the check succeeds.
    problems: Vec<String>,
}

impl KycJudgement {
    fn of(check: &DocumentCheck, live: bool, similarity_threshold: f32, today_iso: &str) -> Self {
        let f = &check.fields;
        let expired = f.expiry_date.valid && f.expiry_date.value.as_str() < today_iso;
        let (similarity, match_confidence) = check.face_match.as_ref().map_or((0.0, 0.0), |m| {
            (m.comparison.similarity, m.comparison.confidence)
        });
        let no_issues = (Vec::new(), Vec::new());
        let (portrait_issues, selfie_issues) = check.face_match.as_ref().map_or(no_issues, |m| {
            (m.portrait_issues.clone(), m.selfie_issues.clone())
        });
        let is_match = check.face_match.is_some() && similarity >= similarity_threshold;

        let mut problems = Vec::new();
        for (field, name) in [
            (&f.name, "name"),
            (&f.id_number, "document number"),
            (&f.date_of_birth, "date of birth"),
            (&f.expiry_date, "expiry date"),
        ] {
            if !field.valid {
                problems.push(if field.value.is_empty() {
                    format!("{name} not read")
                } else {
                    format!("{name} invalid")
                });
            }
        }
        if expired {
            problems.push("document expired".into());
        }
        if !live {
            problems.push("liveness not confirmed".into());
        }
        if !check.portrait_found {
            problems.push("no portrait found on the document".into());
        } else if !is_match {
            problems.push("face does not match the document".into());
            // A match failed on an unfit picture says little either way: say which, so the
            // caller asks for a better one rather than suspecting another person.
            for (issues, picture) in [(&portrait_issues, "portrait"), (&selfie_issues, "selfie")] {
                if !issues.is_empty() {
                    let names: Vec<&str> = issues.iter().map(|i| i.name()).collect();
                    problems.push(format!(
                        "{picture} unfit for matching ({})",
                        names.join(", ")
                    ));
                }
            }
        }
        KycJudgement {
            expired,
            similarity,
            match_confidence,
            is_match,
            portrait_issues,
            selfie_issues,
            problems,
        }
    }
}

fn round2(x: f32) -> f32 {
    (x * 100.0).round() / 100.0
}

/// Today's (year, month, day) in UTC: days since the epoch to the civil calendar (Howard
/// Hinnant's algorithm), to place MRZ birth years in their century and tell expired documents.
fn civil_date(now: SystemTime) -> (u32, u32, u32) {
    let days = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as u32;
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn civil_dates_of_known_days() {
        assert_eq!(civil_date(UNIX_EPOCH), (1970, 1, 1));
        // 2000-02-29 and 2026-11-26, days since the epoch.
        assert_eq!(
            civil_date(UNIX_EPOCH + Duration::from_secs(11_016 * 86_400)),
            (2000, 2, 29)
        );
        assert_eq!(
            civil_date(UNIX_EPOCH + Duration::from_secs(20_783 * 86_400 + 3_600)),
            (2026, 11, 26)
        );
    }
}
