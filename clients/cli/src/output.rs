//! `--json` answers: one object each, with the REST API's field names, so that a script reads
//! the same shapes whichever transport it has used before.

use livegate_cli::StreamReport;
use livegate_proto::rest;
use livegate_proto::v1 as pb;
use serde_json::{Value, json};

pub fn compare(r: &pb::CompareFacesResponse) -> Value {
    json!(rest::CompareFacesResponse::from(r.clone()))
}

pub fn kyc(r: &pb::AnalyzeIdentityResponse) -> Value {
    json!(rest::KycResponse::from(r.clone()))
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
