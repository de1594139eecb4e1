//! The API's operations, once, for every transport: gRPC ([`crate::service`]), REST and
//! WebSocket ([`crate::rest`]) parse their requests into these calls and render what comes back.
//! Each call runs for a [`Tenant`] and sees only that tenant's sessions.

use livegate_engine::PlanConfig;
use livegate_engine::challenge::LightPolicy;
use livegate_proto::v1 as pb;

use crate::auth::Tenant;
use crate::convert::{self, timestamp};
use crate::error::ApiError;
use crate::sessions::{Settings, Status as SessionState};
use crate::state::AppState;

/// Creates a session with `settings` (the deployment's defaults where a field is unset).
pub async fn create_session(
    state: &AppState,
    tenant: &Tenant,
    settings: pb::SessionSettings,
) -> Result<pb::CreateSessionResponse, ApiError> {
    let limit = settings.audit_images_limit;
    if !(0..=4).contains(&limit) {
        return Err(ApiError::InvalidArgument(format!(
            "auditImagesLimit must be 0-4, not {limit}"
        )));
    }
    state.lifecycle.admit()?;
    // The per-key limit on session creation, here where every transport creates them (REST,
    // gRPC, the web page's demo route), not in a table of paths.
    state.session_limiter.take(tenant).await?;
    let threshold = checked_threshold(settings.confidence_threshold)?
        .unwrap_or(state.config.confidence_threshold);
    let plan = session_plan(&state.plan_config, &settings)?;
    let (session, token) = state
        .sessions
        .create(
            tenant,
            Settings {
                audit_images_limit: limit as usize,
                confidence_threshold: threshold,
                plan,
            },
        )
        .await?;
    tracing::info!(session = %session.id, tenant = %tenant, "session created");
    crate::metrics::metrics().session_created();
    Ok(pb::CreateSessionResponse {
        session_id: session.id,
        status: pb::SessionStatus::Created as i32,
        created_at: Some(timestamp(session.created_at)),
        expiry_date: Some(timestamp(session.expires_at)),
        stream_token: token,
    })
}

/// The session's status and, once it finished, its result (images while retention lasts).
pub async fn get_session_result(
    state: &AppState,
    tenant: &Tenant,
    session_id: &str,
) -> Result<pb::SessionResult, ApiError> {
    let session = state.sessions.get(tenant, session_id).await?;
    if session.status == SessionState::Expired {
        return Err(ApiError::SessionExpired);
    }
    let mut result = pb::SessionResult {
        session_id: session.id,
        status: session.status.proto() as i32,
        ..Default::default()
    };
    if let Some(o) = session.outcome {
        result.confidence = o.confidence;
        result.is_live = o.is_live;
        result.reference_image = o.reference_image.unwrap_or_default();
        result.audit_images = o.audit_images;
        result.timestamp = Some(timestamp(o.finished_at));
        result.message = o.message;
        result.reasons = o.reasons;
    }
    Ok(result)
}

/// Checks the result against `threshold` (the session's when None) and consumes it: a second
/// verify is refused, whatever the first answered.
pub async fn verify_session(
    state: &AppState,
    tenant: &Tenant,
    session_id: &str,
    threshold: Option<f32>,
) -> Result<pb::VerifySessionResponse, ApiError> {
    let threshold = checked_threshold(threshold)?;
    let (session, threshold) = state.sessions.verify(tenant, session_id, threshold).await?;
    let outcome = session
        .outcome
        .ok_or_else(|| ApiError::Service("a finished session has no outcome".into()))?;
    // A session that was not live never verifies, whatever threshold the caller passes.
    if !outcome.is_live || outcome.confidence < threshold {
        return Err(ApiError::ConfidenceTooLow {
            confidence: outcome.confidence,
            threshold,
        });
    }
    Ok(pb::VerifySessionResponse {
        session_id: session.id,
        confidence: outcome.confidence,
        is_live: outcome.is_live,
    })
}

fn checked_threshold(threshold: Option<f32>) -> Result<Option<f32>, ApiError> {
    checked_scale("confidenceThreshold", threshold)
}

/// A threshold on the 0–100 scale, if given; `name` is the field's, for the error.
pub(crate) fn checked_scale(name: &str, threshold: Option<f32>) -> Result<Option<f32>, ApiError> {
    match threshold {
        Some(t) if !(0.0..=100.0).contains(&t) => Err(ApiError::InvalidArgument(format!(
            "{name} must be 0-100, not {t}"
        ))),
        t => Ok(t),
    }
}

/// The deployment's plan rule narrowed by a session's settings: its kinds must be among the
/// deployment's, its step counts within the deployment's minimum–4 and within the kinds
/// available.
fn session_plan(
    deployment: &PlanConfig,
    settings: &pb::SessionSettings,
) -> Result<PlanConfig, ApiError> {
    let mut plan = deployment.clone();
    if !settings.challenge_kinds.is_empty() {
        let mut kinds = Vec::new();
        for &k in &settings.challenge_kinds {
            let named = pb::ChallengeKind::try_from(k).ok();
            let kind = named
                .and_then(convert::engine_challenge_kind)
                .filter(|kind| deployment.kinds.contains(kind))
                .ok_or_else(|| {
                    ApiError::InvalidArgument(match named {
                        Some(pb::ChallengeKind::Light) => "challengeKinds: LIGHT is not drawn \
                             with the movements; ask for it with lightStep"
                            .into(),
                        Some(kind) => format!(
                            "challengeKinds: {} is not a challenge this deployment offers",
                            kind.api_name()
                        ),
                        None => format!("challengeKinds: {k} is not a challenge kind"),
                    })
                })?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        plan.kinds = kinds;
    }
    let min = match settings.min_challenge_steps {
        0 => plan.min_steps.min(plan.kinds.len()),
        n => n as usize,
    };
    let max = match settings.max_challenge_steps {
        0 => plan.max_steps.min(plan.kinds.len()).max(min),
        n => n as usize,
    };
    // A session may ask for more than the deployment's minimum, never for less: fewer steps
    // are easier for a replayed video to fulfil by chance.
    let floor = deployment.min_steps.max(2);
    let kinds = plan.kinds.len();
    let refused = if kinds < floor {
        // Each step is a different kind, so too few kinds is too few steps.
        Some(format!(
            "challengeKinds: {kinds} kind(s) make at most {kinds} step(s), and this deployment's plans have at least {floor}"
        ))
    } else if min < floor {
        Some(format!(
            "minChallengeSteps: {min} is below this deployment's minimum of {floor} steps"
        ))
    } else if max > 4 {
        Some(format!("maxChallengeSteps: {max} is above 4"))
    } else if min > max {
        Some(format!(
            "minChallengeSteps ({min}) is above maxChallengeSteps ({max})"
        ))
    } else if max > kinds {
        Some(format!(
            "maxChallengeSteps: {max} steps need {max} different kinds, and {kinds} are allowed"
        ))
    } else {
        None
    };
    if let Some(message) = refused {
        return Err(ApiError::InvalidArgument(message));
    }
    plan.min_steps = min;
    plan.max_steps = max;
    match settings.light_step {
        Some(true) => plan.light = LightPolicy::Required,
        Some(false) if deployment.light == LightPolicy::Required => {
            return Err(ApiError::InvalidArgument(
                "lightStep: this deployment requires the light step".into(),
            ));
        }
        Some(false) => plan.light = LightPolicy::Off,
        None => {}
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use livegate_engine::ChallengeKind;

    fn deployment() -> PlanConfig {
        PlanConfig {
            min_steps: 3,
            max_steps: 3,
            kinds: ChallengeKind::ALL.to_vec(),
            ..PlanConfig::default()
        }
    }

    fn settings(min: u32, max: u32, kinds: &[pb::ChallengeKind]) -> pb::SessionSettings {
        pb::SessionSettings {
            min_challenge_steps: min,
            max_challenge_steps: max,
            challenge_kinds: kinds.iter().map(|k| *k as i32).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_session_may_ask_for_more_steps_but_not_fewer() {
        let plan = session_plan(&deployment(), &settings(0, 0, &[])).unwrap();
        assert_eq!((plan.min_steps, plan.max_steps), (3, 3));
        let plan = session_plan(&deployment(), &settings(4, 4, &[])).unwrap();
        assert_eq!((plan.min_steps, plan.max_steps), (4, 4));
        assert!(session_plan(&deployment(), &settings(2, 2, &[])).is_err());
        // Narrowing the kinds below the minimum is asking for fewer steps too.
        let two = [pb::ChallengeKind::Blink, pb::ChallengeKind::TurnLeft];
        assert!(session_plan(&deployment(), &settings(0, 0, &two)).is_err());
    }

    #[test]
    fn a_refused_plan_says_which_setting_is_wrong() {
        let message = |s: pb::SessionSettings| match session_plan(&deployment(), &s) {
            Err(ApiError::InvalidArgument(m)) => m,
            other => panic!("{other:?}"),
        };
        let one = [pb::ChallengeKind::Blink];
        assert!(message(settings(0, 0, &one)).starts_with("challengeKinds: 1 kind(s)"));
        assert!(message(settings(2, 0, &[])).starts_with("minChallengeSteps: 2 is below"));
        assert!(message(settings(3, 5, &[])).starts_with("maxChallengeSteps: 5 is above 4"));
        assert!(message(settings(4, 3, &[])).starts_with("minChallengeSteps (4) is above"));
        let three = [
            pb::ChallengeKind::Blink,
            pb::ChallengeKind::TurnLeft,
            pb::ChallengeKind::LookUp,
        ];
        assert!(message(settings(3, 4, &three)).starts_with("maxChallengeSteps: 4 steps need"));
        // Kinds by the names the caller used, not the proto's numbers.
        assert!(message(settings(0, 0, &[pb::ChallengeKind::Light])).contains("lightStep"));
        let unknown = pb::SessionSettings {
            challenge_kinds: vec![99],
            ..Default::default()
        };
        assert_eq!(
            message(unknown),
            "challengeKinds: 99 is not a challenge kind"
        );
        let no_blink = PlanConfig {
            kinds: vec![
                ChallengeKind::TurnLeft,
                ChallengeKind::TurnRight,
                ChallengeKind::LookUp,
            ],
            ..deployment()
        };
        match session_plan(&no_blink, &settings(0, 0, &[pb::ChallengeKind::Blink])) {
            Err(ApiError::InvalidArgument(m)) => assert_eq!(
                m,
                "challengeKinds: BLINK is not a challenge this deployment offers"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_session_may_require_or_drop_the_light_step_unless_the_deployment_requires_it() {
        let with = |light: Option<bool>| pb::SessionSettings {
            light_step: light,
            ..settings(0, 0, &[])
        };
        let light = |d: &PlanConfig, l| session_plan(d, &with(l)).unwrap().light;
        assert_eq!(light(&deployment(), None), LightPolicy::WhenCapable);
        assert_eq!(light(&deployment(), Some(true)), LightPolicy::Required);
        assert_eq!(light(&deployment(), Some(false)), LightPolicy::Off);
        let strict = PlanConfig {
            light: LightPolicy::Required,
            ..deployment()
        };
        assert_eq!(light(&strict, None), LightPolicy::Required);
        assert!(session_plan(&strict, &with(Some(false))).is_err());
    }
}
