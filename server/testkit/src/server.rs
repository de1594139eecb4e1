//! A real server on ephemeral loopback ports, on the shared models.

use livegate_server::{Config, Listeners};
use tokio::sync::oneshot;

use crate::models;

/// A server on ephemeral loopback ports (gRPC, REST and metrics); stops when dropped.
pub struct TestServer {
    pub grpc_addr: std::net::SocketAddr,
    pub rest_addr: std::net::SocketAddr,
    /// `http://127.0.0.1:port` of the gRPC API.
    pub grpc_url: String,
    pub rest_url: String,
    pub ws_url: String,
    /// Prometheus's `/metrics`, on its own port.
    pub metrics_url: String,
    stop: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// What SIGTERM does to the binary: the server starts draining.
    pub fn signal_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits until `serve` has returned.
    pub async fn stopped(&mut self) {
        if let Some(served) = self.served.take() {
            served.await.unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A server with the defaults (the passive model off) adjusted by `tune`, on the shared models.
pub async fn start(tune: impl FnOnce(&mut Config)) -> TestServer {
    let mut config = Config::defaults();
    config.addr = "127.0.0.1:0".parse().unwrap();
    config.rest_addr = "127.0.0.1:0".parse().unwrap();
    config.metrics_addr = "127.0.0.1:0".parse().unwrap();
    config.antispoof = false;
    tune(&mut config);
    let (grpc, grpc_addr) = livegate_server::bind(config.addr).await.unwrap();
    let (rest, rest_addr) = livegate_server::bind(config.rest_addr).await.unwrap();
    let (metrics, metrics_addr) = livegate_server::bind(config.metrics_addr).await.unwrap();
    let (stop, stopped) = oneshot::channel();
    let served = tokio::spawn(async move {
        let listeners = Listeners {
            grpc,
            rest: Some(rest),
            metrics: Some(metrics),
        };
        let served = livegate_server::serve(config, models(), listeners, async {
            let _ = stopped.await;
        })
        .await;
        // A test that ends without waiting for `stopped` drops its runtime while the server
        // shuts down; the REST task it then joins was cancelled, which is not the server's fault.
        if let Err(e) = served {
            let runtime_ended = e
                .downcast_ref::<tokio::task::JoinError>()
                .is_some_and(|e| e.is_cancelled());
            assert!(runtime_ended, "serve failed: {e}");
        }
    });
    TestServer {
        grpc_addr,
        rest_addr,
        grpc_url: format!("http://{grpc_addr}"),
        rest_url: format!("http://{rest_addr}"),
        ws_url: format!("ws://{rest_addr}"),
        metrics_url: format!("http://{metrics_addr}/metrics"),
        stop: Some(stop),
        served: Some(served),
    }
}
