//! The gRPC services: `livegate.v1.Liveness`, thin handlers over [`crate::api`] and the stream
//! driver, and `livegate.v1.Identity`, thin handlers over [`crate::identity`]. Cross-cutting concerns (keys, rate limits, tracing) are layers around it
//! ([`crate::auth`], [`crate::rate_limit`]), not code in here.

use std::pin::Pin;

use livegate_proto::v1 as pb;
use pb::identity_server::Identity;
use pb::liveness_server::Liveness;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::auth::Tenant;
use crate::error::ApiError;
use crate::state::AppState;
use crate::stream::{self, InboundError};
use crate::{api, identity};

pub struct LivenessService {
    state: AppState,
}

impl LivenessService {
    pub fn new(state: AppState) -> Self {
        LivenessService { state }
    }
}

/// The caller's tenant, put there by the auth layer.
fn tenant<T>(request: &Request<T>) -> Result<Tenant, ApiError> {
    request
        .extensions()
        .get::<Tenant>()
        .cloned()
        .ok_or(ApiError::Unauthenticated("an API key is required"))
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<pb::StreamSessionResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Liveness for LivenessService {
    async fn create_session(
        &self,
        request: Request<pb::CreateSessionRequest>,
    ) -> Result<Response<pb::CreateSessionResponse>, Status> {
        let tenant = tenant(&request)?;
        let settings = request.into_inner().settings.unwrap_or_default();
        Ok(Response::new(
            api::create_session(&self.state, &tenant, settings).await?,
        ))
    }

    type StreamSessionStream = ResponseStream;

    async fn stream_session(
        &self,
        request: Request<Streaming<pb::StreamSessionRequest>>,
    ) -> Result<Response<Self::StreamSessionStream>, Status> {
        let tenant = tenant(&request)?;
        let limit = self.state.config.max_stream_message_bytes();
        let mut inbound = request
            .into_inner()
            .map(move |item| item.map_err(|status| inbound_error(status, limit)));
        let accepted = stream::accept(&self.state, Some(&tenant), &mut inbound).await?;
        tracing::info!(session = %accepted.session.id, device = %accepted.client.device, "stream started");
        // Room for a few messages: the driver waits (and so stops analysing) when the client
        // does not read, instead of buffering without bound.
        let (tx, rx) = mpsc::channel(16);
        stream::spawn(self.state.clone(), accepted, inbound, tx);
        // The driver's error (the stream's last item, counted by the driver) becomes the
        // call's status here.
        let responses =
            ReceiverStream::new(rx).map(|item| item.map_err(|e| crate::error::status_of(&e)));
        Ok(Response::new(Box::pin(responses)))
    }

    async fn get_session_result(
        &self,
        request: Request<pb::GetSessionResultRequest>,
    ) -> Result<Response<pb::SessionResult>, Status> {
        let tenant = tenant(&request)?;
        let id = request.into_inner().session_id;
        Ok(Response::new(
            api::get_session_result(&self.state, &tenant, &id).await?,
        ))
    }

    async fn verify_session(
        &self,
        request: Request<pb::VerifySessionRequest>,
    ) -> Result<Response<pb::VerifySessionResponse>, Status> {
        let tenant = tenant(&request)?;
        let request = request.into_inner();
        Ok(Response::new(
            api::verify_session(
                &self.state,
                &tenant,
                &request.session_id,
                request.confidence_threshold,
            )
            .await?,
        ))
    }
}

pub struct IdentityService {
    state: AppState,
}

impl IdentityService {
    pub fn new(state: AppState) -> Self {
        IdentityService { state }
    }
}

#[tonic::async_trait]
impl Identity for IdentityService {
    async fn compare_faces(
        &self,
        request: Request<pb::CompareFacesRequest>,
    ) -> Result<Response<pb::CompareFacesResponse>, Status> {
        let tenant = tenant(&request)?;
        let answer = identity::compare_faces(&self.state, &tenant, request.into_inner()).await?;
        Ok(Response::new(answer))
    }

    async fn analyze_identity_with_liveness(
        &self,
        request: Request<pb::AnalyzeIdentityRequest>,
    ) -> Result<Response<pb::AnalyzeIdentityResponse>, Status> {
        let tenant = tenant(&request)?;
        let answer = identity::analyze_identity(&self.state, &tenant, request.into_inner()).await?;
        Ok(Response::new(answer))
    }
}

/// What tonic's reading of a request stream failed on, in our terms. Its decoder answers
/// `OUT_OF_RANGE` for a message over the limit and `INTERNAL` for a message it cannot decode
/// (garbage, bad framing, a message cut off): both are the client's doing and end the stream
/// with our code. Anything else is the transport going away.
fn inbound_error(status: Status, limit: usize) -> InboundError {
    match status.code() {
        tonic::Code::OutOfRange => InboundError::Refused(ApiError::MessageTooLarge(limit)),
        tonic::Code::Internal => InboundError::Refused(ApiError::Protocol(format!(
            "a message could not be read: {}",
            status.message()
        ))),
        _ => InboundError::Broken(status.message().to_string()),
    }
}
