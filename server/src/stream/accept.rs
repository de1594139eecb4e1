//! The first message of a stream: `start`, which claims the session it names and brings the
//! client's attestation, verified from then on beside the stream.

use livegate_proto::v1 as pb;
use pb::stream_session_request::Message as In;
use tokio_stream::StreamExt;

use super::{Inbound, InboundError};
use crate::attestation::AttestationCheck;
use crate::auth::Tenant;
use crate::error::ApiError;
use crate::sessions::Session;
use crate::state::AppState;

/// A stream whose `start` claimed its session.
pub struct Accepted {
    pub session: Session,
    pub client: pb::ClientInfo,
    pub attestation: AttestationCheck,
}

/// Waits for `start` and claims the session it names with its stream token (and, where the
/// transport authenticated the caller, for its tenant only). A stream the deployment's
/// attestation policy refuses claims nothing. Errors here are returned as the call's status,
/// before any response message.
pub async fn accept(
    state: &AppState,
    tenant: Option<&Tenant>,
    inbound: &mut impl Inbound,
) -> Result<Accepted, ApiError> {
    let limit = state.config.start_timeout;
    let first = tokio::time::timeout(limit, inbound.next())
        .await
        .map_err(|_| ApiError::StartTimeout(limit.as_millis() as u64))?;
    let start = match first {
        Some(Ok(pb::StreamSessionRequest {
            message: Some(In::Start(start)),
        })) => start,
        Some(Ok(_)) => {
            return Err(ApiError::Protocol(
                "the first message must be `start`".into(),
            ));
        }
        Some(Err(InboundError::Refused(e))) => return Err(e),
        Some(Err(InboundError::Broken(why))) => {
            return Err(ApiError::Protocol(format!("could not read `start`: {why}")));
        }
        None => return Err(ApiError::Protocol("stream closed before `start`".into())),
    };
    // A draining server claims no session: the caller can stream it to another replica.
    state.lifecycle.admit()?;
    let policy = state.config.attestation;
    AttestationCheck::admit(policy, start.attestation.as_ref())?;
    let mut client = start.client.unwrap_or_default();
    client.device = device_label(&client.device);
    let session = state
        .sessions
        .claim_stream(
            &start.session_id,
            &start.stream_token,
            tenant,
            client.can_show_colour,
        )
        .await?;
    let attestation = AttestationCheck::begin(
        policy,
        state.attestation_verifier.as_ref(),
        &session.id,
        start.attestation,
    );
    Ok(Accepted {
        session,
        client,
        attestation,
    })
}

/// Longest device description kept, in characters.
const DEVICE_LABEL_CHARS: usize = 120;

/// The client's free-text device description as the server keeps and logs it: at most
/// [`DEVICE_LABEL_CHARS`] characters, control characters (line breaks, terminal escapes) as
/// U+FFFD. The text is the client's word, so a log line must not be theirs to forge or flood.
fn device_label(device: &str) -> String {
    device
        .chars()
        .take(DEVICE_LABEL_CHARS)
        .map(|c| {
            if c.is_control() {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_label_can_neither_forge_nor_flood_a_log_line() {
        assert_eq!(device_label("Pixel 8 / Android 15"), "Pixel 8 / Android 15");
        assert_eq!(
            device_label("phone\n2026-12-08 INFO verdict live\u{1b}[2J"),
            "phone\u{fffd}2026-12-08 INFO verdict live\u{fffd}[2J"
        );
        assert_eq!(device_label(&"é".repeat(100_000)).chars().count(), 120);
    }
}
