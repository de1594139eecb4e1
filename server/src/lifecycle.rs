//! Readiness and graceful shutdown, in one place.
//!
//! On SIGTERM (or Ctrl-C) the server, in order:
//! 1. **drains**: readiness turns false (`GET /ready` 503, gRPC health NOT_SERVING) and new
//!    sessions and streams are refused with SERVER_SHUTTING_DOWN (5002, gRPC UNAVAILABLE); the
//!    listeners stay open for `--drain-grace` (so probes and load balancers see the 503 and
//!    callers the 5002), then stop accepting connections;
//! 2. lets the streams already running go on, up to `--drain-timeout`;
//! 3. **ends** those still running: each answers SERVER_SHUTTING_DOWN and records its session as
//!    failed with that reason, so the caller knows to start a new session elsewhere;
//! 4. returns once every stream has ended.
//!
//! Readiness means: the models are loaded (the server does not listen before they are), the
//! session store answers (the in-memory store always does), and the server is not draining.
//! `GET /ready` asks at each request; gRPC health is kept up to date by one task
//! (`report_readiness` in [`crate::grpc_server`]), so both probes give the same answer.
//! [`Lifecycle::drain_on`] runs the steps; every listener stops on the one signal it returns.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::error::ApiError;

pub struct Lifecycle {
    draining: watch::Sender<bool>,
    ending: watch::Sender<bool>,
    active_streams: watch::Sender<usize>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            draining: watch::channel(false).0,
            ending: watch::channel(false).0,
            active_streams: watch::channel(0).0,
        }
    }
}

impl Lifecycle {
    /// Drains on `shutdown` (the steps in the module doc): the returned signal turns true when
    /// the listeners must stop accepting connections, after `grace`; streams still running at
    /// `timeout` are ended.
    pub fn drain_on(
        self: &Arc<Self>,
        shutdown: impl Future<Output = ()> + Send + 'static,
        grace: Duration,
        timeout: Duration,
    ) -> watch::Receiver<bool> {
        let (stop, stopped) = watch::channel(false);
        let lifecycle = self.clone();
        let grace = grace.min(timeout);
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!(
                streams = lifecycle.active_streams(),
                drain_timeout = ?timeout,
                "draining: no new sessions or streams"
            );
            let drain_started = tokio::time::Instant::now();
            lifecycle.start_draining();
            // Readiness says 503 (and new calls 5002) for a while before connections are refused.
            tokio::time::sleep(grace).await;
            let _ = stop.send(true);
            if tokio::time::timeout_at(drain_started + timeout, lifecycle.streams_done())
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
        stopped
    }

    pub fn is_ready(&self) -> bool {
        !*self.draining.borrow()
    }

    /// Refuses new work while draining.
    pub fn admit(&self) -> Result<(), ApiError> {
        if self.is_ready() {
            Ok(())
        } else {
            Err(ApiError::ShuttingDown)
        }
    }

    /// Counts a stream as running until the guard is dropped. (Streams are refused while
    /// draining before they claim their session, with [`Lifecycle::admit`].)
    pub fn stream_started(self: &Arc<Self>) -> RunningStream {
        self.active_streams.send_modify(|n| *n += 1);
        RunningStream(self.clone())
    }

    /// Resolves when the drain starts.
    pub fn draining_started(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.draining.subscribe();
        async move {
            let _ = rx.wait_for(|draining| *draining).await;
        }
    }

    /// Resolves when running streams must end (the drain deadline has passed).
    pub fn ending(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.ending.subscribe();
        async move {
            let _ = rx.wait_for(|end| *end).await;
        }
    }

    pub fn start_draining(&self) {
        self.draining.send_replace(true);
    }

    pub fn end_streams(&self) {
        self.ending.send_replace(true);
    }

    /// Resolves when no stream runs.
    pub async fn streams_done(&self) {
        let mut rx = self.active_streams.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }

    pub fn active_streams(&self) -> usize {
        *self.active_streams.borrow()
    }
}

/// A running stream; dropping it, however the stream ends, counts it out.
pub struct RunningStream(Arc<Lifecycle>);

impl Drop for RunningStream {
    fn drop(&mut self) {
        self.0.active_streams.send_modify(|n| *n -= 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn draining_refuses_new_work_and_waits_for_running_streams() {
        let lifecycle = Arc::new(Lifecycle::default());
        assert!(lifecycle.admit().is_ok());
        let running = lifecycle.stream_started();
        lifecycle.start_draining();
        assert!(!lifecycle.is_ready());
        assert!(matches!(lifecycle.admit(), Err(ApiError::ShuttingDown)));
        assert_eq!(lifecycle.active_streams(), 1);

        let waiting = tokio::spawn({
            let lifecycle = lifecycle.clone();
            async move { lifecycle.streams_done().await }
        });
        let ending = lifecycle.ending();
        lifecycle.end_streams();
        ending.await;
        assert!(!waiting.is_finished());
        drop(running);
        waiting.await.unwrap();
        assert_eq!(lifecycle.active_streams(), 0);
    }
}
