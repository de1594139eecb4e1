//! Livegate's server: gRPC transport, sessions and limits around the liveness engine.
//!
//! Data flows one way: transport ([`service`]) → session ([`sessions`], [`stream`]) → engine →
//! session → transport. The server never looks inside a model; the engine never sees gRPC.

pub mod config;
pub mod convert;
pub mod error;
pub mod service;
pub mod sessions;
pub mod state;
pub mod stream;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use livegate_engine::Models;
use livegate_proto::v1 as pb;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

pub use config::Config;
pub use state::AppState;

/// Loads and checks the models named by the configuration. Fails with a message that names the
/// missing or corrupt file and the command that fetches it.
pub fn load_models(config: &Config) -> Result<Arc<Models>, livegate_engine::EngineError> {
    Models::load(&config.model_dir()).map(Arc::new)
}

/// Serves the gRPC API on `listener` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    models: Arc<Models>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let state = AppState::new(config, models);
    let max_message = state.config.max_frame_bytes as usize * 2 + 64 * 1024;
    let liveness =
        pb::liveness_server::LivenessServer::new(service::LivenessService::new(state.clone()))
            .max_decoding_message_size(max_message)
            .max_encoding_message_size(64 * 1024 * 1024);

    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<pb::liveness_server::LivenessServer<service::LivenessService>>()
        .await;
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

    let result = tonic::transport::Server::builder()
        .trace_fn(|req| tracing::info_span!("grpc", path = %req.uri().path()))
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(liveness)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await;
    purger.abort();
    result.map_err(Into::into)
}

/// Binds `addr`; returns the listener and the address it actually got (for port 0).
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}
