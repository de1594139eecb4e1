//! A real server on a loopback port, and the real media, for end-to-end tests.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use livegate_engine::Models;
use livegate_server::Config;
use tokio::sync::oneshot;

/// A file fetched by `python3 engine/assets/fetch.py media`.
pub fn media(name: &str) -> PathBuf {
    let dir = livegate_engine::models::cache_dir().join("media");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `python3 engine/assets/fetch.py media`",
        path.display()
    );
    path
}

fn models(config: &Config) -> Arc<Models> {
    static MODELS: OnceLock<Arc<Models>> = OnceLock::new();
    MODELS
        .get_or_init(|| {
            livegate_server::load_models(config)
                .expect("models (python3 engine/assets/fetch.py models)")
        })
        .clone()
}

/// A server running on 127.0.0.1 with an ephemeral port; stops when dropped.
pub struct TestServer {
    pub url: String,
    pub addr: std::net::SocketAddr,
    /// `http://127.0.0.1:port` of the REST API.
    pub rest_url: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Default configuration on an ephemeral loopback port, adjusted by `tune`.
pub async fn start_server(tune: impl FnOnce(&mut Config)) -> TestServer {
    let mut config = Config::defaults();
    config.addr = "127.0.0.1:0".parse().unwrap();
    config.rest_addr = "127.0.0.1:0".parse().unwrap();
    tune(&mut config);
    let models = models(&config);
    let (listener, addr) = livegate_server::bind(config.addr).await.unwrap();
    let (rest, rest_addr) = livegate_server::bind(config.rest_addr).await.unwrap();
    let listeners = livegate_server::Listeners {
        grpc: listener,
        rest: Some(rest),
        metrics: None,
    };
    let (stop, stopped) = oneshot::channel();
    tokio::spawn(async move {
        livegate_server::serve(config, models, listeners, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    TestServer {
        url: format!("http://{addr}"),
        addr,
        rest_url: format!("http://{rest_addr}"),
        stop: Some(stop),
    }
}
