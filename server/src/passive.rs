//! The passive anti-spoofing model, off the frame path.
//!
//! It costs 0.2 s (onnxruntime) to 0.4 s (tract) of a core a crop, far more than a frame's turn,
//! so it never runs in an engine slot or on the async runtime: an attempt offers its reference
//! crop once its first step is done, and the crop goes to one of this pool's own threads,
//! started once and handed a crop only while waiting for one. When every thread is busy the
//! crop is skipped (the verdict then goes without the model, as it does with the model off)
//! rather than queued behind other sessions' crops, which would only add to the load that
//! filled the pool. The score comes back through a ticket the stream reads between frames.

use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use livegate_engine::attempt::PassiveCrop;
use livegate_engine::{LivenessAttempt, Models};
use tokio::sync::oneshot;

use crate::metrics::metrics;

/// The passive model's threads, shared by all streams: started once, each waiting for a crop.
pub struct PassivePool {
    /// A rendezvous channel: a crop is taken only by a worker waiting for one.
    jobs: SyncSender<Job>,
}

struct Job {
    crop: PassiveCrop,
    reply: oneshot::Sender<Option<f32>>,
}

/// A crop being scored; [`PassiveTicket::try_take`] gives the score once it is there.
pub struct PassiveTicket(oneshot::Receiver<Option<f32>>);

impl PassivePool {
    /// A pool of `workers` threads (none when the model is off: nothing is ever submitted).
    pub fn new(models: Arc<Models>, workers: usize) -> Self {
        let (jobs, waiting) = mpsc::sync_channel::<Job>(0);
        let waiting = Arc::new(Mutex::new(waiting));
        for i in 0..workers {
            let (models, waiting) = (models.clone(), waiting.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("livegate-passive-{i}"))
                .spawn(move || {
                    loop {
                        // One worker at a time waits on the channel; the others on the lock.
                        let next = waiting.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok(job) = next else { break };
                        score(&models, job);
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "no thread for the passive anti-spoofing model");
            }
        }
        PassivePool { jobs }
    }

    /// Hands `crop` to a waiting worker; None (counted as skipped) when every worker is busy.
    pub fn submit(&self, crop: PassiveCrop) -> Option<PassiveTicket> {
        let (reply, ticket) = oneshot::channel();
        match self.jobs.try_send(Job { crop, reply }) {
            Ok(()) => Some(PassiveTicket(ticket)),
            Err(TrySendError::Full(_)) => {
                metrics().passive("skipped_busy");
                None
            }
            Err(TrySendError::Disconnected(_)) => {
                metrics().passive("failed");
                None
            }
        }
    }
}

/// Runs the model on one crop, on a pool thread, and sends the score back.
fn score(models: &Models, job: Job) {
    let start = Instant::now();
    let depth = match job.crop.score(models) {
        Ok(depth) => Some(depth),
        Err(e) => {
            tracing::warn!(error = %e, "passive anti-spoofing model failed");
            None
        }
    };
    metrics().passive_stage(start.elapsed());
    // The stream may have ended meanwhile; the score is then not needed.
    let _ = job.reply.send(depth);
}

impl PassiveTicket {
    /// The score once the model is done: `Some(Some(depth))`, or `Some(None)` when the model
    /// failed; None while it runs.
    pub fn try_take(&mut self) -> Option<Option<f32>> {
        match self.0.try_recv() {
            Ok(depth) => Some(depth),
            Err(oneshot::error::TryRecvError::Empty) => None,
            Err(oneshot::error::TryRecvError::Closed) => Some(None),
        }
    }
}

/// How long an attempt's verdict waits for a score still under way (the model takes 0.2–0.4 s
/// of a core): a user who finishes the last step soon after the first still has it weighed.
pub const PASSIVE_WAIT: Duration = Duration::from_secs(1);

/// One attempt's passive scoring: its crop handed to the pool, its score handed back. Both
/// steps only move a crop or read a channel, so the stream does them between engine jobs.
#[derive(Default)]
pub struct PassiveScoring {
    ticket: Option<PassiveTicket>,
}

impl PassiveScoring {
    /// Sends the attempt's crop to the pool, once the attempt offers one.
    pub fn offer(&mut self, pool: &PassivePool, attempt: &mut LivenessAttempt) {
        if let Some(crop) = attempt.take_passive_crop() {
            self.ticket = pool.submit(crop);
        }
    }

    /// Hands a score that has arrived to the attempt (before a frame, and before the verdict
    /// of an attempt the stream left).
    pub fn collect(&mut self, attempt: &mut LivenessAttempt) {
        let Some(depth) = self.ticket.as_mut().and_then(PassiveTicket::try_take) else {
            return;
        };
        self.ticket = None;
        match depth {
            Some(depth) => {
                attempt.passive_scored(depth);
                metrics().passive("scored");
            }
            None => metrics().passive("failed"),
        }
    }

    /// The attempt is over: hands over a score that came after the last frame, waiting up to
    /// [`PASSIVE_WAIT`] for one still under way; true when it did, so that the verdict is
    /// judged again with it. A score later than that is counted `late` and left out.
    pub async fn finish(mut self, attempt: &mut LivenessAttempt) -> bool {
        let Some(ticket) = self.ticket.take() else {
            return false;
        };
        match tokio::time::timeout(PASSIVE_WAIT, ticket.0).await {
            Ok(Ok(Some(depth))) => {
                attempt.passive_scored(depth);
                metrics().passive("scored");
                true
            }
            Ok(_) => {
                metrics().passive("failed");
                false
            }
            Err(_) => {
                metrics().passive("late");
                false
            }
        }
    }
}
