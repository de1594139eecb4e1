//! `--json` answers: one object each, with the REST API's field names, so that a script reads
//! the same shapes whichever transport it has used before.

use livegate_cli::StreamReport;
use livegate_proto::v1 as pb;
use serde_json::{Value, json};

pub fn compare(r: &pb::CompareFacesResponse) -> Value {
    json!({
        "similarity": r.similarity,
        "isMatch": r.is_match,
        "confidence": r.confidence,
        "threshold": r.threshold,
        "sourceImageIssues": issue_names(&r.source_issues),
        "targetImageIssues": issue_names(&r.target_issues),
    })
}

/// The names of `PictureIssue` values (`EYE_COVERED`, ...), as REST gives them.
pub fn issue_names(issues: &[i32]) -> Vec<&'static str> {
    issues
        .iter()
        .filter_map(|&i| pb::PictureIssue::try_from(i).ok())
        .map(|i| i.api_name())
        .collect()
}

pub fn kyc(r: &pb::AnalyzeIdentityResponse) -> Value {
    let kyc = r.kyc_analysis.clone().unwrap_or_default();
    let data = kyc.extracted_data.unwrap_or_default();
    let validity = data.validity.unwrap_or_default();
    let live = r.liveness_verification.unwrap_or_default();
    let face = r.face_match_result.clone().unwrap_or_default();
    json!({
        "kycAnalysis": {
            "totalDocuments": kyc.total_documents,
            "extractedData": {
                "name": data.name,
                "idNumber": data.id_number,
                "dateOfBirth": data.date_of_birth,
                "expiryDate": data.expiry_date,
                "documentType": data.document_type,
                "issuingCountry": data.issuing_country,
                "validity": {
                    "name": validity.name,
                    "idNumber": validity.id_number,
                    "dateOfBirth": validity.date_of_birth,
                    "expiryDate": validity.expiry_date,
                    "issuingCountry": validity.issuing_country,
                },
                "expired": data.expired,
            },
            "sources": kyc.sources,
            "mrzValid": kyc.mrz_valid,
            "portraitFound": kyc.portrait_found,
        },
        "livenessVerification": {"isLive": live.is_live, "confidence": live.confidence},
        "faceMatchResult": {
            "isMatch": face.is_match,
            "similarity": face.similarity,
            "confidence": face.confidence,
            "threshold": face.threshold,
            "portraitIssues": issue_names(&face.portrait_issues),
            "selfieIssues": issue_names(&face.selfie_issues),
        },
        "overallSuccess": r.overall_success,
        "message": r.message,
    })
}

/// The KYC answer for people: the verdict, then what was read, field by field.
pub fn kyc_text(r: &pb::AnalyzeIdentityResponse) -> String {
    let kyc = r.kyc_analysis.clone().unwrap_or_default();
    let data = kyc.extracted_data.unwrap_or_default();
    let v = data.validity.unwrap_or_default();
    let mark = |ok: bool| if ok { "ok" } else { "INVALID" };
    let mut out = format!("{}\n", r.message);
    out += &format!(
        "document: {} from {} (read: {})\n",
        data.document_type,
        data.issuing_country,
        kyc.sources.join(", ")
    );
    for (label, value, ok) in [
        ("name", &data.name, v.name),
        ("number", &data.id_number, v.id_number),
        ("born", &data.date_of_birth, v.date_of_birth),
        ("expires", &data.expiry_date, v.expiry_date),
    ] {
        out += &format!("  {label:<8} {value:<24} {}\n", mark(ok));
    }
    out
}

pub fn result(r: &pb::SessionResult) -> Value {
    json!({
        "sessionId": r.session_id,
        "status": pb::SessionStatus::try_from(r.status).unwrap_or_default().api_name(),
        "confidence": r.confidence,
        "isLive": r.is_live,
        "referenceImageBytes": r.reference_image.len(),
        "auditImages": r.audit_images.len(),
        "message": r.message,
        "reasons": r.reasons,
    })
}

pub fn stream(report: &StreamReport) -> Value {
    let verdict = report.verdict.clone().unwrap_or_default();
    json!({
        "sessionId": report.session_id,
        "isLive": verdict.is_live,
        "confidence": verdict.confidence,
        "reasons": verdict.reasons,
        "message": verdict.message,
        "plan": report
            .started
            .as_ref()
            .map(|s| {
                s.plan
                    .iter()
                    .map(|k| pb::ChallengeKind::try_from(*k).unwrap_or_default().api_name())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
        "framesSent": report.frames_sent,
        "framesAnalysed": report.feedback.len(),
    })
}
