//! The `livegate.v1.Liveness` gRPC service: thin handlers over the session store and the stream
//! driver. Cross-cutting concerns (tracing, limits) are layers around it, not code in here.

use std::pin::Pin;

use livegate_engine::PlanConfig;
use livegate_proto::v1 as pb;
use pb::liveness_server::Liveness;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::convert::{self, session_status, timestamp};
use crate::error::ApiError;
use crate::sessions::{Settings, Status as SessionState};
use crate::state::AppState;
use crate::stream;

pub struct LivenessService {
    state: AppState,
}

impl LivenessService {
    pub fn new(state: AppState) -> Self {
        LivenessService { state }
    }
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<pb::StreamSessionResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Liveness for LivenessService {
    async fn create_session(
        &self,
        request: Request<pb::CreateSessionRequest>,
    ) -> Result<Response<pb::CreateSessionResponse>, Status> {
        let settings = request.into_inner().settings.unwrap_or_default();
        let limit = settings.audit_images_limit;
        if !(0..=4).contains(&limit) {
            return Err(ApiError::InvalidArgument(format!(
                "auditImagesLimit must be 0-4, not {limit}"
            ))
            .into());
        }
        let threshold = settings
            .confidence_threshold
            .unwrap_or(self.state.config.confidence_threshold);
        if !(0.0..=100.0).contains(&threshold) {
            return Err(ApiError::InvalidArgument(format!(
                "confidenceThreshold must be 0-100, not {threshold}"
            ))
            .into());
        }
        let plan = session_plan(&self.state.plan_config, &settings)?;
        let (session, token) = self.state.sessions.create(Settings {
            audit_images_limit: limit as usize,
            confidence_threshold: threshold,
            plan,
        });
        tracing::info!(session = %session.id, "session created");
        Ok(Response::new(pb::CreateSessionResponse {
            session_id: session.id,
            status: pb::SessionStatus::Created as i32,
            created_at: Some(timestamp(session.created_at)),
            expiry_date: Some(timestamp(session.expires_at)),
            stream_token: token,
        }))
    }

    type StreamSessionStream = ResponseStream;

    async fn stream_session(
        &self,
        request: Request<Streaming<pb::StreamSessionRequest>>,
    ) -> Result<Response<Self::StreamSessionStream>, Status> {
        let mut inbound = request.into_inner();
        let (session, client) = stream::accept(&self.state, &mut inbound).await?;
        tracing::info!(session = %session.id, device = %client.device, "stream started");
        // Room for a few messages: the driver waits (and so stops analysing) when the client
        // does not read, instead of buffering without bound.
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(stream::run(
            self.state.clone(),
            session,
            client,
            inbound,
            tx,
        ));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get_session_result(
        &self,
        request: Request<pb::GetSessionResultRequest>,
    ) -> Result<Response<pb::SessionResult>, Status> {
        let id = request.into_inner().session_id;
        let session = self.state.sessions.get(&id)?;
        if session.status == SessionState::Expired {
            return Err(ApiError::SessionExpired.into());
        }
        let mut result = pb::SessionResult {
            session_id: session.id,
            status: session_status(session.status) as i32,
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
        Ok(Response::new(result))
    }

    async fn verify_session(
        &self,
        request: Request<pb::VerifySessionRequest>,
    ) -> Result<Response<pb::VerifySessionResponse>, Status> {
        let request = request.into_inner();
        if let Some(t) = request.confidence_threshold
            && !(0.0..=100.0).contains(&t)
        {
            return Err(ApiError::InvalidArgument(format!(
                "confidenceThreshold must be 0-100, not {t}"
            ))
            .into());
        }
        let (session, threshold) = self
            .state
            .sessions
            .verify(&request.session_id, request.confidence_threshold)?;
        let outcome = session.outcome.expect("a finished session has an outcome");
        // A session that was not live never verifies, whatever threshold the caller passes.
        if !outcome.is_live || outcome.confidence < threshold {
            return Err(ApiError::ConfidenceTooLow {
                confidence: outcome.confidence,
                threshold,
            }
            .into());
        }
        Ok(Response::new(pb::VerifySessionResponse {
            session_id: session.id,
            confidence: outcome.confidence,
            is_live: outcome.is_live,
        }))
    }
}

/// The deployment's plan rule narrowed by a session's settings: its kinds must be among the
/// deployment's, its step counts within 2–4 and within the kinds available.
fn session_plan(
    deployment: &PlanConfig,
    settings: &pb::SessionSettings,
) -> Result<PlanConfig, ApiError> {
    let mut plan = deployment.clone();
    if !settings.challenge_kinds.is_empty() {
        let mut kinds = Vec::new();
        for &k in &settings.challenge_kinds {
            let kind = pb::ChallengeKind::try_from(k)
                .ok()
                .and_then(convert::engine_challenge_kind)
                .filter(|kind| deployment.kinds.contains(kind))
                .ok_or_else(|| {
                    ApiError::InvalidArgument(format!(
                        "challengeKinds: {k} is not a challenge this deployment offers"
                    ))
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
    if !(2..=4).contains(&min) || !(2..=4).contains(&max) || min > max || max > plan.kinds.len() {
        return Err(ApiError::InvalidArgument(format!(
            "challenge steps must satisfy 2 <= min ({min}) <= max ({max}) <= 4 and max <= the {} kinds allowed",
            plan.kinds.len()
        )));
    }
    plan.min_steps = min;
    plan.max_steps = max;
    Ok(plan)
}
