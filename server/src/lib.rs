//! Livegate's server: gRPC, REST and WebSocket transports, sessions and limits around the
//! liveness engine.
//!
//! Data flows one way: transport ([`service`] for gRPC, [`rest`] for REST and WebSocket) →
//! operations ([`api`]) → session ([`sessions`], [`stream`]) → engine → back. Keys and rate
//! limits are gates, one tower layer ([`gate`]), in front of both transports ([`auth`],
//! [`rate_limit`]). The server
//! never looks inside a model; the engine never sees a transport.

pub mod api;
pub mod attestation;
pub mod auth;
pub mod config;
pub mod connections;
pub mod convert;
pub mod engine;
pub mod error;
pub mod gate;
pub mod grpc_refusals;
pub mod grpc_server;
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

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use livegate_engine::Models;
use livegate_engine::models::ModelLoader;
use tokio::net::TcpListener;
use tokio::sync::watch;

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

/// Serves the APIs on `listeners` until `shutdown` resolves, then drains ([`lifecycle`]).
pub async fn serve(
    config: Config,
    models: Arc<Models>,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let state = AppState::connect(config, models).await?;
    announce_setup(&state);
    let tls = match (&state.config.tls_cert, &state.config.tls_key) {
        (Some(cert), Some(key)) => Some(tls::TlsFiles::read(cert, key)?),
        _ => None,
    };
    let grpc = grpc_server::GrpcServer::new(&state, tls.as_ref())?;
    let purger = sessions::spawn_purger(state.sessions.clone());
    let stopped = state.lifecycle.drain_on(
        shutdown,
        state.config.drain_grace,
        state.config.drain_timeout,
    );
    let until_stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    // One count of open connections for every listener (see `connections`).
    let admission = connections::Admission::new(state.config.connection_limits());
    let rest = match listeners.rest {
        None => None,
        Some(listener) => {
            let router = rest::router(state.clone());
            let acceptor = tls.as_ref().map(|files| files.rest.clone());
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
    let result = grpc
        .serve(admission.incoming(listeners.grpc), until_stopped(stopped))
        .await;
    purger.abort();
    if let Some(rest) = rest {
        rest.await?;
    }
    // WebSocket streams outlive their HTTP connection's bookkeeping: wait for them too.
    state.lifecycle.streams_done().await;
    flush_outcomes(&state).await;
    if let Some(metrics) = metrics {
        metrics.await?;
    }
    result.map_err(Into::into)
}

/// Says at start what the operator must know: an open server, documents that cannot be read.
/// Identity documents need Tesseract's English model (Debian's tesseract-ocr-eng): said now
/// rather than at the first KYC request, and the loaded reader is kept for it.
fn announce_setup(state: &AppState) {
    if state.api_keys.is_open() {
        tracing::warn!(
            "no API keys configured (LIVEGATE_API_KEYS): every caller is the tenant `default`; do not expose this server"
        );
    }
    match livegate_identity::document::zone::ZoneReader::new() {
        Ok(reader) => {
            if !reader.reads_shapes() {
                tracing::warn!(
                    font = livegate_identity::document::glyphs::OCR_B_FONT,
                    "OCR-B is not installed (Debian's fonts-ocr-b): zones are read by Tesseract alone, and misread more often"
                );
            }
            state.engine.zone_readers.put(reader)
        }
        Err(e) => tracing::warn!("identity documents cannot be read (KYC answers 5001): {e}"),
    }
}

/// Outcomes the store could not take yet die with the process: they get the drain time.
async fn flush_outcomes(state: &AppState) {
    if state.outcomes.held() == 0 {
        return;
    }
    let lost = state.outcomes.flushed(state.config.drain_timeout).await;
    if lost > 0 {
        tracing::error!(
            outcomes = lost,
            "stopping with outcomes the session store never took: their sessions end STREAM_LOST"
        );
    }
}

/// Binds `addr`; returns the listener and the address it actually got (for port 0).
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}
