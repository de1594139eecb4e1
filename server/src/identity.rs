//! Face matching and identity checks (KYC), once for every transport: the gRPC `Identity`
//! service and the REST `compare-faces` and `identity-with-liveness` routes parse their requests
//! into these calls. The engine's work runs on the blocking pool, holding one of the engine
//! slots that liveness streams use, so identity checks and streams share the CPU fairly. Each
//! call first takes one from its key's identity-check bucket ([`crate::rate_limit`],
//! `LIVEGATE_IDENTITY_CHECKS_PER_MINUTE`): beyond it, RATE_LIMITED (2014) with a retry time.

use std::sync::Arc;
use std::time::SystemTime;

use livegate_identity::kyc::{self, DocumentCheck, KycJudgement, civil_date, face_in};
use livegate_identity::matching::{self, DEFAULT_MATCH_THRESHOLD};
use livegate_proto::v1 as pb;

use crate::api::checked_scale;
use crate::auth::Tenant;
use crate::convert;
use crate::error::ApiError;
use crate::sessions::Status as SessionState;
use crate::state::AppState;

/// Pictures of one document an identity check accepts: front and back, with room for a retake.
pub const MAX_DOCUMENT_IMAGES: usize = 4;

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
    let kyc = KycJudgement::of(&check, live, similarity_threshold, today);
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
            let check = kyc::check_document(
                models,
                &mut reader,
                &documents,
                reference.as_deref(),
                today_yy,
            );
            readers.put(reader);
            Ok(check?)
        })
        .await
}

fn round2(x: f32) -> f32 {
    (x * 100.0).round() / 100.0
}
