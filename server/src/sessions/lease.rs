//! Keeps a running stream's claim on its session alive.
//!
//! A claim lasts the store's stream lease (`LIVEGATE_STREAM_LEASE`, 30 s by default); the
//! replica running the stream renews it every third of that. If the replica dies (or is cut off
//! from the store for longer than the lease), renewals stop, the lease lapses, and every replica
//! then reads the session as FAILED with `STREAM_LOST`: the backend gets an answer within the
//! lease instead of IN_PROGRESS for a day. A renewal the store refuses is retried at the next
//! tick; the stream itself never waits on one.

use std::sync::Arc;

use tokio::task::JoinHandle;

use super::SessionStore;

/// Renews the lease of one stream's session until dropped (however the stream ends).
pub struct LeaseKeeper(JoinHandle<()>);

impl LeaseKeeper {
    /// Starts renewing the lease on session `id` (claimed just now, so the first renewal is a
    /// third of a lease away).
    pub fn start(sessions: Arc<SessionStore>, id: String) -> Self {
        let every = sessions.stream_lease() / 3;
        LeaseKeeper(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match sessions.renew_lease(&id).await {
                    Ok(true) => {}
                    // Finished, or presumed lost already: nothing left to hold.
                    Ok(false) => return,
                    Err(e) => {
                        tracing::warn!(session = %id, error = %e, "the stream's lease was not renewed")
                    }
                }
            }
        }))
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}
