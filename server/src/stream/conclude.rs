//! The end of a stream: the attempt's verdict (fused now if the stream left before it), its
//! images, the client's attestation applied to it, the outcome recorded in the session store,
//! and the last message for the device.

use std::time::SystemTime;

use livegate_engine::{LivenessAttempt, Verdict};
use livegate_proto::v1 as pb;
use pb::stream_session_response::Message as Out;

use crate::attestation::AttestationCheck;
use crate::error::ApiError;
use crate::metrics::metrics;
use crate::outcomes::Recorded;
use crate::passive::PassiveScoring;
use crate::sessions::{Outcome, Session};
use crate::state::AppState;

/// What a device that is not told the outcome reads at the end of its stream.
pub const UNDISCLOSED_VERDICT: &str = "Done. Your provider will confirm the result.";

/// How a stream's loop ended.
#[derive(Debug)]
pub enum End {
    /// The attempt reached its verdict (boxed: the evidence makes it the largest by far).
    Verdict(Box<Verdict>),
    /// The client closed its side (or went away) before the verdict.
    Left,
    /// A limit, the protocol, the engine or the server ended it.
    Failed(ApiError),
}

/// What an attempt leaves behind: its verdict and its images, JPEG-encoded.
struct Finished {
    verdict: Verdict,
    reference_image: Option<Vec<u8>>,
    audit_images: Vec<Vec<u8>>,
}

/// Ends the attempt (None: the engine failed on it and it was lost), records the outcome, and
/// returns what the device is told last: the verdict message, or the error that ended the stream.
pub async fn conclude(
    state: &AppState,
    session: &Session,
    attempt: Option<LivenessAttempt>,
    passive: PassiveScoring,
    attestation: AttestationCheck,
    end: End,
) -> Result<Out, ApiError> {
    let (verdict, mut failure) = match end {
        End::Verdict(v) => (Some(*v), None),
        End::Left => (None, None),
        End::Failed(e) => (None, Some(e)),
    };
    let finished = match attempt {
        Some(attempt) => finish(state, attempt, passive, verdict).await,
        None => Err(ApiError::Service("the engine failed on this stream".into())),
    };
    let finished = match finished {
        Ok(finished) => Some(finished),
        Err(e) => {
            // The first failure is the stream's; a later one is only logged (by the engine).
            failure.get_or_insert(e);
            None
        }
    };
    let mut outcome = outcome(finished, failure.as_ref());
    attestation.apply(&mut outcome).await;
    let live = outcome.is_live;
    let judged = match (&failure, live) {
        (Some(_), _) => "error",
        (None, true) => "live",
        (None, false) => "not_live",
    };
    metrics().verdict(judged, &outcome.reasons);
    tracing::info!(session = %session.id, live, confidence = outcome.confidence, reasons = ?outcome.reasons, "session finished");
    // What a device that is told the outcome reads: the outcome's words, attestation's included.
    let disclosed = state.config.discloses_verdict().then(|| {
        (
            outcome.confidence,
            outcome.reasons.clone(),
            outcome.message.clone(),
        )
    });
    // The verdict reaches the client however the store answers; it says when the result cannot
    // be read yet.
    let result_pending = state.outcomes.record(session, outcome).await != Recorded::Stored;
    if let Some(e) = failure {
        return Err(e);
    }
    let Some((confidence, reasons, message)) = disclosed else {
        // The device is untrusted: it learns that the attempt is over, not how it went.
        return Ok(Out::Verdict(pb::Verdict {
            status: pb::SessionStatus::Completed as i32,
            message: UNDISCLOSED_VERDICT.into(),
            result_pending,
            ..Default::default()
        }));
    };
    let status = if live {
        pb::SessionStatus::Succeeded
    } else {
        pb::SessionStatus::Failed
    };
    Ok(Out::Verdict(pb::Verdict {
        is_live: live,
        confidence,
        status: status as i32,
        reasons,
        message,
        result_pending,
    }))
}

/// Ends an attempt on the engine, like a frame: an attempt the stream left without a verdict
/// fuses its evidence there, one whose passive score came after its verdict is judged again
/// with it, and the images are encoded there, never on the async runtime.
async fn finish(
    state: &AppState,
    mut attempt: LivenessAttempt,
    passive: PassiveScoring,
    verdict: Option<Verdict>,
) -> Result<Finished, ApiError> {
    // A passive score that came after the last frame was judged is weighed now.
    let rejudge = passive.finish(&mut attempt).await;
    state
        .engine
        .run(move |_| Finished {
            verdict: match verdict {
                Some(_) if rejudge => attempt.rejudge(),
                Some(verdict) => verdict,
                None => attempt.abandon(),
            },
            reference_image: attempt.reference_image().unwrap_or_default(),
            audit_images: attempt.audit_images().unwrap_or_default(),
        })
        .await
}

/// The session's outcome: the verdict's, unless the stream failed (then never live, and the
/// failure's code is the reason).
fn outcome(finished: Option<Finished>, failure: Option<&ApiError>) -> Outcome {
    let (verdict, reference_image, audit_images) = match finished {
        Some(f) => (Some(f.verdict), f.reference_image, f.audit_images),
        None => (None, None, Vec::new()),
    };
    Outcome {
        is_live: failure.is_none() && verdict.as_ref().is_some_and(|v| v.is_live),
        confidence: verdict.as_ref().map_or(0.0, |v| v.confidence),
        reasons: match (failure, &verdict) {
            (Some(e), _) => vec![e.code().api_name().to_string()],
            (None, Some(v)) => v.reasons.iter().map(|r| r.code().to_string()).collect(),
            (None, None) => Vec::new(),
        },
        message: match (failure, verdict) {
            (Some(e), _) => format!("Stream ended with an error: {e}"),
            (None, Some(v)) => v.message,
            (None, None) => String::new(),
        },
        reference_image,
        audit_images,
        finished_at: SystemTime::now(),
    }
}
