//! The gRPC server: the two API services behind their layers (keys, tonic's refusals in our
//! codes, the identity checks' in-flight cap), health kept equal to readiness, and reflection.

use std::time::Duration;

use livegate_proto::v1 as pb;
use tokio::task::JoinHandle;
use tokio_stream::Stream;
use tower::Layer;

use crate::auth::Authenticate;
use crate::error::GrpcRejection;
use crate::gate::GateLayer;
use crate::grpc_refusals::TonicRefusalsLayer;
use crate::in_flight::InFlightLayer;
use crate::state::AppState;
use crate::{connections, service, telemetry, tls};

/// Calls one gRPC connection may have open at once: a phone has one stream, a backend a few
/// dozen calls in flight; more wait for a free one (HTTP/2 flow control), not refused.
const GRPC_MAX_CONCURRENT_STREAMS: u32 = 100;

/// How often gRPC health re-checks readiness (a Redis ping).
const READINESS_INTERVAL: Duration = Duration::from_secs(2);

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The services, ready to serve; health is reported from now on.
pub struct GrpcServer {
    router: tonic::transport::server::Router,
    readiness: JoinHandle<()>,
}

impl GrpcServer {
    pub fn new(state: &AppState, tls: Option<&tls::TlsFiles>) -> Result<Self, Error> {
        let max_message = state.config.max_stream_message_bytes();
        // The two API services need a key; health checks and reflection, added beside them, do
        // not.
        let authenticate =
            GateLayer::<_, GrpcRejection>::new(Authenticate::new(state.api_keys.clone()));
        // tonic's own refusals of a request (undecodable, too large) get our codes
        // (`grpc_refusals`).
        let liveness = authenticate.layer(
            TonicRefusalsLayer.layer(
                pb::liveness_server::LivenessServer::new(service::LivenessService::new(
                    state.clone(),
                ))
                .max_decoding_message_size(max_message)
                .max_encoding_message_size(64 * 1024 * 1024),
            ),
        );
        // Document pictures and selfies arrive in one message: the REST body limit applies, and
        // only so many at once (refused before they are read, and after the key is checked).
        let identity = authenticate.layer(
            InFlightLayer::<GrpcRejection>::new(state.identity_slots.clone()).layer(
                TonicRefusalsLayer.layer(
                    pb::identity_server::IdentityServer::new(service::IdentityService::new(
                        state.clone(),
                    ))
                    .max_decoding_message_size(state.config.max_request_bytes as usize),
                ),
            ),
        );

        let (health_reporter, health) = tonic_health::server::health_reporter();
        let readiness = tokio::spawn(report_readiness(state.clone(), health_reporter));
        // grpcurl and older tools speak reflection v1alpha, newer ones v1: offer both.
        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;

        let mut server = tonic::transport::Server::builder()
            .http2_keepalive_interval(Some(connections::KEEPALIVE_INTERVAL))
            .http2_keepalive_timeout(Some(connections::KEEPALIVE_TIMEOUT))
            .max_concurrent_streams(Some(GRPC_MAX_CONCURRENT_STREAMS));
        if let Some(files) = tls {
            server = server.tls_config(files.grpc())?;
        }
        let router = server
            .trace_fn(|req| {
                let span = tracing::info_span!("grpc", path = %req.uri().path());
                telemetry::adopt_caller_trace(&span, req.headers());
                span
            })
            .add_service(health)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(liveness)
            .add_service(identity);
        Ok(GrpcServer { router, readiness })
    }

    /// Serves the connections `incoming` gives until `stopped` resolves.
    pub async fn serve(
        self,
        incoming: impl Stream<Item = std::io::Result<connections::Admitted>> + Send + 'static,
        stopped: impl Future<Output = ()> + Send,
    ) -> Result<(), tonic::transport::Error> {
        let result = self
            .router
            .serve_with_incoming_shutdown(incoming, stopped)
            .await;
        self.readiness.abort();
        result
    }
}
/// Keeps gRPC health equal to readiness ([`AppState::ready`]): checked every
/// [`READINESS_INTERVAL`] (so a lost Redis turns a replica NOT_SERVING, and its return SERVING
/// again), and at once when the drain starts, after which it stays NOT_SERVING. The only writer
/// of the health status.
async fn report_readiness(state: AppState, reporter: tonic_health::server::HealthReporter) {
    let draining = state.lifecycle.draining_started();
    tokio::pin!(draining);
    let mut tick = tokio::time::interval(READINESS_INTERVAL);
    // A Redis that times out (3 s) must not leave a burst of overdue checks behind it.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut serving = None;
    loop {
        tokio::select! {
            _ = &mut draining => break,
            _ = tick.tick() => {
                let ready = state.ready().await;
                if serving != Some(ready) {
                    match (serving, ready) {
                        (Some(_), false) => tracing::warn!("not ready: the session store does not answer"),
                        (Some(_), true) => tracing::info!("ready again"),
                        (None, _) => {}
                    }
                    set_health(&reporter, ready).await;
                    serving = Some(ready);
                }
            }
        }
    }
    set_health(&reporter, false).await;
}

/// Readiness as gRPC health reports it: the whole server (`""`) and each service.
async fn set_health(reporter: &tonic_health::server::HealthReporter, serving: bool) {
    use tonic_health::ServingStatus;
    let status = if serving {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    reporter.set_service_status("", status).await;
    reporter
        .set_service_status(
            <pb::liveness_server::LivenessServer<service::LivenessService> as tonic::server::NamedService>::NAME,
            status,
        )
        .await;
    reporter
        .set_service_status(
            <pb::identity_server::IdentityServer<service::IdentityService> as tonic::server::NamedService>::NAME,
            status,
        )
        .await;
}
