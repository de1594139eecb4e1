//! The REST API's request bodies, field for field as in the seed API, parsed into the gRPC
//! messages that [`crate::api`] speaks; the answers are `livegate_proto::rest`'s, re-exported
//! here.

use livegate_proto::v1 as pb;
use serde::Deserialize;

pub use livegate_proto::rest::{CreateSessionResponse, SessionResult, VerifyResponse};

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

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyBody {
    #[serde(default)]
    pub confidence_threshold: Option<f32>,
}

/// A JSON body, or the defaults when the body is empty (the seed's browser example posts none).
pub fn parse_body<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::InvalidArgument(format!("request body is not valid JSON: {e}")))
}
