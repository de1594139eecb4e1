//! Livegate's server: gRPC, REST and WebSocket transports, sessions and limits around the
//! liveness engine.
//!
//! Data flows one way: transport ([`service`] for gRPC, [`rest`] for REST and WebSocket) →
//! operations ([`api`]) → session ([`sessions`], [`stream`]) → engine → back. Keys and rate
//! limits are gates, one tower layer ([`gate`]), in front of both transports ([`auth`],
//! [`rate_limit`]). The server
//! never looks inside a model; the engine never sees a transport.

pub mod api;
pub mod auth;
pub mod config;
pub mod connections;
pub mod convert;
pub mod engine;
pub mod error;
pub mod gate;
pub mod grpc_refusals;
pub mod http_server;
pub mod identity;
pub mod in_flight;
pub mod lifecycle;
pub mod metrics;
pub mod outcomes;
pub mod passive;
pub mod rate_limit;
pub mod rest;
pub mod service;
pub mod sessions;
pub mod state;
pub mod stream;
pub mod telemetry;
pub mod tls;
pub mod zone_readers;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use livegate_engine::Models;
use livegate_engine::models::ModelLoader;
use livegate_proto::v1 as pb;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::Authenticate;
use crate::error::GrpcRejection;
use crate::gate::GateLayer;
use crate::grpc_refusals::TonicRefusalsLayer;
use crate::in_flight::InFlightLayer;
use tower::Layer;

pub use config::Config;
pub use state::AppState;

/// Loads and checks the models named by the configuration. Fails with a message that names the
/// missing or corrupt file and the command that fetches it.
/// Each model runs on the backend the configuration chooses (`LIVEGATE_INFERENCE`); which one
/// is logged.
pub fn load_models(config: &Config) -> Result<Arc<Models>, livegate_engine::EngineError> {
    let loader = ModelLoader::new(&config.model_dir(), config.inference.into())?;
    if let Some(why) = loader.onnxruntime_missing() {
        tracing::warn!("onnxruntime is not used, every model runs on tract (slower): {why}");
    }
    let models = Models::load_with(&loader)?;
    let backends: Vec<String> = models
        .backends()
        .into_iter()
        .map(|(model, backend)| format!("{model}: {}", backend.name()))
        .collect();
    tracing::info!(backends = %backends.join(", "), "models loaded");
    Ok(Arc::new(models))
}

/// The sockets the server answers on.
pub struct Listeners {
    pub grpc: TcpListener,
    /// REST/JSON and WebSocket; None serves gRPC only.
    pub rest: Option<TcpListener>,
    /// Prometheus's `/metrics`; None serves no metrics.
    pub metrics: Option<TcpListener>,
}

/// Calls one gRPC connection may have open at once: a phone has one stream, a backend a few
/// dozen calls in flight; more wait for a free one (HTTP/2 flow control), not refused.
const GRPC_MAX_CONCURRENT_STREAMS: u32 = 100;

/// Serves the APIs on `listeners` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    models: Arc<Models>,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let state = AppState::connect(config, models).await?;
    if state.api_keys.is_open() {
        tracing::warn!(
            "no API keys configured (LIVEGATE_API_KEYS): every caller is the tenant `default`; do not expose this server"
        );
    }
    // Identity documents need Tesseract's English model (Debian's tesseract-ocr-eng): say so at
    // start rather than at the first KYC request, and keep the loaded reader for it.
    match livegate_engine::document::zone::ZoneReader::new() {
        Ok(reader) => {
            if !reader.reads_shapes() {
                tracing::warn!(
                    font = livegate_engine::document::glyphs::OCR_B_FONT,
                    "OCR-B is not installed (Debian's fonts-ocr-b): zones are read by Tesseract alone, and misread more often"
                );
            }
            state.engine.zone_readers.put(reader)
        }
        Err(e) => tracing::warn!("identity documents cannot be read (KYC answers 5001): {e}"),
    }
    let tls = match (&state.config.tls_cert, &state.config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::TlsFiles::read(cert, key)?),
        _ => None,
    };
    let max_message = state.config.max_stream_message_bytes();
    // The two API services need a key; health checks and reflection, added beside them, do not.
    let authenticate =
        GateLayer::<_, GrpcRejection>::new(Authenticate::new(state.api_keys.clone()));
    // tonic's own refusals of a request (undecodable, too large) get our codes (`grpc_refusals`).
    let liveness = authenticate.layer(
        TonicRefusalsLayer.layer(
            pb::liveness_server::LivenessServer::new(service::LivenessService::new(state.clone()))
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

    let sessions = state.sessions.clone();
    let purger = tokio::spawn(async move {
        let mut tick = tokio::time::interval(sessions::PURGE_INTERVAL);
        loop {
            tick.tick().await;
            sessions.purge();
        }
    });

    // On the signal: drain (see `lifecycle`). One stop signal for every listener.
    let (stop, stopped) = watch::channel(false);
    let lifecycle = state.lifecycle.clone();
    let drain_timeout = state.config.drain_timeout;
    let drain_grace = state.config.drain_grace.min(drain_timeout);
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!(
            streams = lifecycle.active_streams(),
            ?drain_timeout,
            "draining: no new sessions or streams"
        );
        let drain_started = tokio::time::Instant::now();
        lifecycle.start_draining();
        // Readiness says 503 (and new calls 5002) for a while before connections are refused.
        tokio::time::sleep(drain_grace).await;
        let _ = stop.send(true);
        if tokio::time::timeout_at(drain_started + drain_timeout, lifecycle.streams_done())
            .await
            .is_err()
        {
            tracing::warn!(
                streams = lifecycle.active_streams(),
                "drain time is up: ending the streams still running"
            );
            lifecycle.end_streams();
        }
    });
    let until_stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    // One count of open connections for every listener (see `connections`).
    let admission = connections::Admission::new(state.config.connection_limits());
    let rest = match listeners.rest {
        None => None,
        Some(listener) => {
            let router = rest::router(state.clone());
            let acceptor = tls.as_ref().map(|files| files.rest()).transpose()?;
            Some(tokio::spawn(http_server::serve(
                listener,
                router,
                admission.clone(),
                acceptor,
                until_stopped(stopped.clone()),
            )))
        }
    };

    let metrics = listeners.metrics.map(|listener| {
        // Scraped through the drain as well: streams running down to zero is what the operator
        // watches then.
        let stopped = until_stopped(stopped.clone());
        let lifecycle = state.lifecycle.clone();
        let drained = async move {
            stopped.await;
            lifecycle.streams_done().await;
        };
        tokio::spawn(http_server::serve(
            listener,
            metrics::router(),
            admission.clone(),
            None,
            drained,
        ))
    });

    let mut grpc = tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(connections::KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(connections::KEEPALIVE_TIMEOUT))
        .max_concurrent_streams(Some(GRPC_MAX_CONCURRENT_STREAMS));
    if let Some(files) = &tls {
        grpc = grpc.tls_config(files.grpc())?;
    }
    let result = grpc
        .trace_fn(|req| {
            let span = tracing::info_span!("grpc", path = %req.uri().path());
            telemetry::adopt_caller_trace(&span, req.headers());
            span
        })
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(liveness)
        .add_service(identity)
        .serve_with_incoming_shutdown(admission.incoming(listeners.grpc), until_stopped(stopped))
        .await;
    purger.abort();
    readiness.abort();
    if let Some(rest) = rest {
        rest.await?;
    }
    // WebSocket streams outlive their HTTP connection's bookkeeping: wait for them too.
    state.lifecycle.streams_done().await;
    // Outcomes the store could not take yet die with the process: give them the drain time.
    if state.outcomes.held() > 0 {
        let lost = state.outcomes.flushed(state.config.drain_timeout).await;
        if lost > 0 {
            tracing::error!(
                outcomes = lost,
                "stopping with outcomes the session store never took: their sessions end STREAM_LOST"
            );
        }
    }
    if let Some(metrics) = metrics {
        metrics.await?;
    }
    result.map_err(Into::into)
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

/// How often gRPC health re-checks readiness (a Redis ping).
const READINESS_INTERVAL: Duration = Duration::from_secs(2);

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

/// Binds `addr`; returns the listener and the address it actually got (for port 0).
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}
