//! Serves an axum router (the REST API with its WebSocket, or the metrics) on a listener:
//! admitted connections only ([`crate::connections`]), TLS when configured, HTTP/1.1 and HTTP/2
//! with their timeouts, and a graceful end: when `shutdown` resolves the listener closes, and
//! open connections finish the requests under way and close.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::connections::{Admission, ConnectionLimits, KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT};

/// Requests one HTTP/2 connection may have open at once (REST calls and the metrics are short).
const MAX_CONCURRENT_STREAMS: u32 = 64;

pub async fn serve(
    listener: TcpListener,
    router: Router,
    admission: Arc<Admission>,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let limits = admission.limits();
    let builder = Arc::new(builder(&limits));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (conn, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = admission.accept(&listener) => accepted,
        };
        let watcher = graceful.watcher();
        let (builder, router, tls) = (builder.clone(), router.clone(), tls.clone());
        tokio::spawn(async move {
            let service = TowerToHyperService::new(router);
            let served = match tls {
                None => {
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(conn), service);
                    watcher.watch(conn.into_owned()).await
                }
                Some(acceptor) => {
                    let handshake = acceptor.accept(conn);
                    let stream =
                        match tokio::time::timeout(limits.handshake_timeout, handshake).await {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, "TLS handshake failed: {e}");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        };
                    let conn =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    watcher.watch(conn.into_owned()).await
                }
            };
            if let Err(e) = served {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// HTTP/1.1 with a header-read timeout (the whole request head, and the silence of a kept-alive
/// connection between requests), HTTP/2 with keep-alive pings and a stream cap.
fn builder(limits: &ConnectionLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.handshake_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS);
    builder
}
