//! The REST API's request bodies, field for field as in the seed API, parsed into the gRPC
//! messages that [`crate::api`] speaks; the answers are `livegate_proto::rest`'s, re-exported
//! here.

use livegate_proto::v1 as pb;
use serde::Deserialize;
use utoipa::ToSchema;

pub use livegate_proto::rest::{CreateSessionResponse, SessionResult, VerifyResponse};

use crate::error::ApiError;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreateSessionRequest)]
pub struct CreateSessionBody {
    #[serde(default)]
    pub settings: Option<SessionSettings>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionSettings {
    /// How many audit images the result keeps besides the reference image.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 4, default = 0)]
    pub audit_images_limit: Option<i32>,
    /// The liveness threshold verify applies; default the deployment's (90).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100)]
    pub confidence_threshold: Option<f32>,
    /// The kinds random plans draw from, by their API names. `COME_CLOSER` is `MOVE_CLOSER`'s
    /// name before December 2026, still read.
    #[serde(default)]
    #[schema(schema_with = livegate_proto::rest::challenge_kinds)]
    pub challenge_kinds: Vec<String>,
    /// Fewest steps in the plan, each a different kind: at least the deployment's minimum (3
    /// unless configured; a session may ask for more steps, never for fewer), at most 4 and the
    /// kinds allowed. Unset: the deployment's.
    #[serde(default)]
    #[schema(minimum = 2, maximum = 4)]
    pub min_challenge_steps: Option<u32>,
    /// Most steps in the plan, within the same bounds. Unset: the deployment's.
    #[serde(default)]
    #[schema(minimum = 2, maximum = 4)]
    pub max_challenge_steps: Option<u32>,
    /// true: require the light step (a random colour sequence the client shows full screen; the
    /// face must reflect it); a client whose stream does not declare `can_show_colour` is refused
    /// with 2017. false: no light step. Unset: the deployment's (`LIVEGATE_LIGHT_STEP`, by default
    /// `when-capable`: every client that declares `can_show_colour` takes it). Where the
    /// deployment requires it, false is refused with 2012.
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

#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = VerifyRequest)]
#[into_params(parameter_in = Query)]
pub struct VerifyBody {
    /// Live at or above this confidence; default the session's.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100)]
    #[param(minimum = 0, maximum = 100)]
    pub confidence_threshold: Option<f32>,
}

/// A JSON body, or the defaults when the body is empty (the seed's browser example posts none).
///
/// Every body type refuses fields it does not know (`deny_unknown_fields`): a misspelt
/// `confidenceThreshold`, or `lightStep` outside `settings`, would otherwise be dropped without
/// a word and the session run on weaker settings than its caller asked for.
pub fn parse_body<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::InvalidArgument(match e.classify() {
            serde_json::error::Category::Data => format!("request body: {e}"),
            _ => format!("request body is not valid JSON: {e}"),
        })
    })
}
