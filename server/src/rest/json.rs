//! The REST API's JSON bodies, field for field as in the seed API (`camelCase`, RFC 3339 times
//! in whole seconds, images in base64), and their conversions to and from the gRPC messages
//! that [`crate::api`] speaks.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use livegate_proto::v1 as pb;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSessionBody {
    #[serde(default)]
    pub settings: Option<SessionSettings>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionSettings {
    #[serde(default)]
    pub audit_images_limit: Option<i32>,
    #[serde(default)]
    pub confidence_threshold: Option<f32>,
    /// Challenge kinds by their API names: `TURN_LEFT`, `TURN_RIGHT`, `BLINK`, `LOOK_UP`,
    /// `MOVE_CLOSER` (`COME_CLOSER`, its name before, is still read).
    #[serde(default)]
    pub challenge_kinds: Vec<String>,
    #[serde(default)]
    pub min_challenge_steps: Option<u32>,
    #[serde(default)]
    pub max_challenge_steps: Option<u32>,
    /// Require the light step, or leave it out (see the proto's `light_step`).
    #[serde(default)]
    pub light_step: Option<bool>,
}

impl SessionSettings {
    pub fn into_proto(self) -> Result<pb::SessionSettings, ApiError> {
        let challenge_kinds = self
            .challenge_kinds
            .iter()
            .map(|name| {
                pb::ChallengeKind::from_api_name(name)
                    .filter(|k| *k != pb::ChallengeKind::Unspecified)
                    .map(|k| k as i32)
                    .ok_or_else(|| {
                        ApiError::InvalidArgument(format!(
                            "challengeKinds: unknown challenge {name:?}"
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(pb::SessionSettings {
            audit_images_limit: self.audit_images_limit.unwrap_or(0),
            confidence_threshold: self.confidence_threshold,
            challenge_kinds,
            min_challenge_steps: self.min_challenge_steps.unwrap_or(0),
            max_challenge_steps: self.max_challenge_steps.unwrap_or(0),
            light_step: self.light_step,
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSessionResponse {
    pub session_id: String,
    pub status: &'static str,
    pub created_at: String,
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionResult {
    pub session_id: String,
    pub status: &'static str,
    /// Present once the session finished, as are the fields below.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_live: Option<bool>,
    /// Base64 JPEG; absent once the retention period has ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_images: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
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

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyBody {
    #[serde(default)]
    pub confidence_threshold: Option<f32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResponse {
    pub session_id: String,
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

/// A JSON body, or the defaults when the body is empty (the seed's browser example posts none).
pub fn parse_body<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::InvalidArgument(format!("request body is not valid JSON: {e}")))
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
