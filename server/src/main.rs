//! `livegate-server`: runs the Livegate gRPC and REST APIs on its configuration (flags or
//! environment; `livegate-server --help` lists them). With no configuration at all it listens on
//! port 50051 (gRPC), 8080 (REST, WebSocket) and 9464 (Prometheus metrics).

use clap::{CommandFactory, Parser};
use livegate_server::{Config, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    if let Err(why) = config.check() {
        Config::command()
            .error(clap::error::ErrorKind::ArgumentConflict, why)
            .exit();
    }
    if config.openapi {
        print!("{}", livegate_server::rest::openapi::document());
        return std::process::ExitCode::SUCCESS;
    }
    let telemetry = match telemetry::init(
        config.otlp_endpoint.as_deref(),
        config.service_name.as_deref(),
    ) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("livegate-server: cannot set up telemetry: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!(?config, "configuration");

    let models = match livegate_server::load_models(&config) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!("cannot start: {e}");
            eprintln!("livegate-server: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let bound = async {
        Ok::<_, (std::net::SocketAddr, std::io::Error)>((
            bind(config.addr).await?,
            bind(config.rest_addr).await?,
            bind(config.metrics_addr).await?,
        ))
    };
    let ((grpc, addr), (rest, rest_addr), (metrics, metrics_addr)) = match bound.await {
        Ok(b) => b,
        Err((addr, e)) => {
            eprintln!("livegate-server: cannot listen on {addr}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!(%addr, "listening (gRPC, reflection, grpc.health.v1)");
    tracing::info!(addr = %rest_addr, "listening (REST/JSON, WebSocket)");
    tracing::info!(addr = %metrics_addr, "listening (Prometheus /metrics)");
    let listeners = livegate_server::Listeners {
        grpc,
        rest: Some(rest),
        metrics: Some(metrics),
    };
    let served = livegate_server::serve(config, models, listeners, shutdown_signal()).await;
    // The last spans (the drain's) go out before the process ends.
    telemetry.shutdown();
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("livegate-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Binds `addr`, or says which address failed.
async fn bind(
    addr: std::net::SocketAddr,
) -> Result<(tokio::net::TcpListener, std::net::SocketAddr), (std::net::SocketAddr, std::io::Error)>
{
    livegate_server::bind(addr).await.map_err(|e| (addr, e))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
