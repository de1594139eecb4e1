//! The engine as the server holds it: the models, the slots that bound how much engine work runs
//! at once, the passive model's threads and the document readers, in one handle (the way
//! text-embeddings-inference's `Infer` holds its backend and its semaphore).
//!
//! Every piece of engine work — a stream's frame, the end of an attempt, a face comparison, a
//! KYC check — goes through [`Engine::run`]: it waits for a slot (tokio's semaphore is fair, so
//! frames of all streams and identity checks take turns in arrival order), runs on the blocking
//! pool, never on the async runtime, and holds the slot until the work is done. One panic policy
//! for all of it: a panic in the engine is a bug, logged as an error, and fails that one request
//! or stream with LIVENESS_SERVICE_ERROR; the server and every other stream go on.

use std::sync::Arc;

use livegate_engine::Models;
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::passive::PassivePool;
use livegate_identity::readers::ZoneReaders;

#[derive(Clone)]
pub struct Engine {
    models: Arc<Models>,
    /// Engine jobs that may run at once, across all streams and identity checks.
    slots: Arc<Semaphore>,
    /// The passive anti-spoofing model's own threads ([`crate::passive`]): they never take a slot.
    pub passive: Arc<PassivePool>,
    /// Tesseract readers for identity documents, reused between requests.
    pub zone_readers: Arc<ZoneReaders>,
}

impl Engine {
    /// `workers` jobs at once; `passive_workers` threads for the passive model.
    pub fn new(models: Arc<Models>, workers: usize, passive_workers: usize) -> Self {
        Engine {
            slots: Arc::new(Semaphore::new(workers)),
            passive: Arc::new(PassivePool::new(models.clone(), passive_workers)),
            zone_readers: Arc::default(),
            models,
        }
    }

    pub fn models(&self) -> &Arc<Models> {
        &self.models
    }

    /// Runs `job` on the blocking pool once a slot is free, holding the slot until it is done.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Arc<Models>) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Service("the engine is shutting down".into()))?;
        let models = self.models.clone();
        tokio::task::spawn_blocking(move || job(&models))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "an engine job panicked");
                ApiError::Service("the engine failed on this request".into())
            })
    }

    /// [`Engine::run`] for work that fails with our errors.
    pub async fn try_run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Arc<Models>) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.run(job).await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Option<Engine> {
        let models = Models::load(&livegate_engine::models::default_model_dir()).ok()?;
        Some(Engine::new(Arc::new(models), 1, 0))
    }

    #[tokio::test]
    async fn a_panicking_job_fails_its_caller_and_the_engine_goes_on() {
        let Some(engine) = engine() else {
            panic!("models missing: python3 engine/assets/fetch.py models")
        };
        let failed = engine.run(|_| -> u32 { panic!("a bug") }).await;
        assert!(
            matches!(failed, Err(ApiError::Service(_))),
            "{:?}",
            failed.err()
        );
        // The slot came back: the one slot there is serves the next job.
        assert_eq!(engine.run(|_| 7).await.unwrap(), 7);
    }
}
