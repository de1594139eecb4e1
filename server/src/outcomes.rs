//! Stores each stream's outcome, and keeps it until the store takes it.
//!
//! The session store can be away when a stream ends (Redis restarting, a network blip). The
//! outcome is then held in this replica's memory and retried with backoff (100 ms doubling to
//! 5 s, jittered so replicas do not retry in step) until the store answers, instead of being
//! dropped while the session stays IN_PROGRESS. The queue is bounded
//! (`LIVEGATE_OUTCOME_QUEUE` outcomes, each with its images): past it an outcome is lost, logged
//! and counted, and the session ends by its lease ([`crate::sessions::LeaseKeeper`]) as
//! `STREAM_LOST`. Held outcomes die with the process: on SIGTERM the server waits for them
//! within its drain timeout.
//!
//! The stream's verdict says when its outcome is not stored yet (`result_pending`): the backend
//! may read IN_PROGRESS for a while.

use std::sync::Arc;
use std::time::Duration;

use rand::RngExt;
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::metrics::metrics;
use crate::sessions::{Outcome, Session, SessionStore};

/// First wait before a retry.
const FIRST_RETRY: Duration = Duration::from_millis(100);
/// Longest wait between retries.
const LONGEST_RETRY: Duration = Duration::from_secs(5);

/// Outcomes held by default while the store is away.
pub const DEFAULT_QUEUE: usize = 256;

/// Where an outcome went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// In the store now.
    Stored,
    /// Held here, retried until the store takes it.
    Queued,
    /// Neither: the queue was full, or the store refused it for good (e.g. its record is gone).
    Lost,
}

pub struct OutcomeRecorder {
    sessions: Arc<SessionStore>,
    /// One permit per outcome that may be held.
    queue: Arc<Semaphore>,
    capacity: usize,
}

impl OutcomeRecorder {
    pub fn new(sessions: Arc<SessionStore>, capacity: usize) -> Self {
        let capacity = capacity.clamp(1, Semaphore::MAX_PERMITS);
        OutcomeRecorder {
            sessions,
            queue: Arc::new(Semaphore::new(capacity)),
            capacity,
        }
    }

    /// Stores `outcome` for `session`, or holds it for retries when the store is away.
    pub async fn record(&self, session: &Session, outcome: Outcome) -> Recorded {
        let id = session.id.clone();
        let Err(e) = self.sessions.finish(session, &outcome).await else {
            return Recorded::Stored;
        };
        if !is_transient(&e) {
            tracing::error!(session = %id, error = %e, "the session's outcome was refused by the store; it is lost");
            metrics().outcome_lost();
            return Recorded::Lost;
        }
        let Ok(permit) = self.queue.clone().try_acquire_owned() else {
            tracing::error!(session = %id, error = %e, capacity = self.capacity, "the session store is away and the outcome queue is full: the outcome is lost");
            metrics().outcome_lost();
            return Recorded::Lost;
        };
        tracing::warn!(session = %id, error = %e, "the session store is away: the outcome is held and retried");
        let sessions = self.sessions.clone();
        let session = session.clone();
        let held = metrics().outcome_held();
        tokio::spawn(async move {
            let _permit = permit;
            let _held = held;
            let mut wait = FIRST_RETRY;
            loop {
                let jitter = rand::rng().random_range(0.75..1.25);
                tokio::time::sleep(wait.mul_f64(jitter)).await;
                match sessions.finish(&session, &outcome).await {
                    Ok(()) => {
                        tracing::info!(session = %session.id, "the held outcome is stored");
                        return;
                    }
                    Err(e) if is_transient(&e) => wait = (wait * 2).min(LONGEST_RETRY),
                    Err(e) => {
                        tracing::error!(session = %session.id, error = %e, "the held outcome was refused by the store; it is lost");
                        metrics().outcome_lost();
                        return;
                    }
                }
            }
        });
        Recorded::Queued
    }

    /// Outcomes held now.
    pub fn held(&self) -> usize {
        self.capacity - self.queue.available_permits()
    }

    /// Waits until no outcome is held, or `within` has passed; returns how many still are.
    pub async fn flushed(&self, within: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + within;
        while self.held() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(FIRST_RETRY).await;
        }
        self.held()
    }
}

/// Whether the store may take it later: it did not answer, rather than refusing.
fn is_transient(e: &ApiError) -> bool {
    matches!(e, ApiError::Service(_))
}
