//! What every request handler shares: configuration, the engine, sessions, limits.

use std::sync::Arc;

use livegate_engine::{Models, PlanConfig};
use tokio::sync::Semaphore;

use crate::attestation::Verifier;
use crate::auth::ApiKeys;
use crate::config::Config;
use crate::engine::Engine;
use crate::lifecycle::Lifecycle;
use crate::outcomes::OutcomeRecorder;
use crate::rate_limit::{Limited, RateLimiter};
use crate::sessions::SessionStore;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The models and every thread and slot that runs them ([`crate::engine`]).
    pub engine: Engine,
    pub sessions: Arc<SessionStore>,
    /// Stores streams' outcomes, holding them while the store is away.
    pub outcomes: Arc<OutcomeRecorder>,
    pub plan_config: Arc<PlanConfig>,
    /// Identity checks that may be in flight at once ([`crate::in_flight`]).
    pub identity_slots: Arc<Semaphore>,
    pub api_keys: Arc<ApiKeys>,
    /// One limiter for every transport: the limit belongs to the key, not the port.
    pub session_limiter: Arc<RateLimiter>,
    /// The per-key limit on compare-faces and KYC, taken by [`crate::identity`].
    pub identity_limiter: Arc<RateLimiter>,
    /// Readiness, draining and the streams still running.
    pub lifecycle: Arc<Lifecycle>,
    /// Where streams' attestation tokens are verified, when the configuration names a verifier.
    pub attestation_verifier: Option<Arc<Verifier>>,
}

impl AppState {
    /// Ready for new sessions: not draining, and the session store answers (see `lifecycle`).
    pub async fn ready(&self) -> bool {
        self.lifecycle.is_ready() && self.sessions.reachable().await
    }

    /// The state with sessions in memory.
    pub fn new(config: Config, models: Arc<Models>) -> Self {
        let sessions = SessionStore::new(
            config.session_ttl,
            config.image_retention(),
            config.result_retention,
        );
        AppState::with_sessions(config, models, sessions)
    }

    /// The state with the sessions the configuration names: Redis when `redis_url` is set.
    pub async fn connect(
        config: Config,
        models: Arc<Models>,
    ) -> Result<Self, crate::error::ApiError> {
        let sessions = match &config.redis_url {
            Some(url) => {
                SessionStore::redis(
                    url,
                    &config.redis_tls(),
                    config.session_ttl,
                    config.image_retention(),
                    config.result_retention,
                )
                .await?
            }
            None => SessionStore::new(
                config.session_ttl,
                config.image_retention(),
                config.result_retention,
            ),
        };
        Ok(AppState::with_sessions(config, models, sessions))
    }

    fn with_sessions(config: Config, models: Arc<Models>, sessions: SessionStore) -> Self {
        let sessions = Arc::new(sessions.with_stream_lease(config.stream_lease));
        let plan_config = config.plan_config();
        // Where the sessions are shared, so are the buckets: the limit is the key's.
        let (per_minute, burst) = (config.sessions_per_minute, config.session_burst);
        let limiter = |limited, per_minute, burst| match sessions.redis_connection() {
            Some(connection) => RateLimiter::shared(limited, per_minute, burst, connection),
            None => RateLimiter::new(limited, per_minute, burst),
        };
        let session_limiter = limiter(Limited::SessionCreation, per_minute, burst);
        let identity_limiter = limiter(
            Limited::IdentityChecks,
            config.identity_checks_per_minute,
            config.identity_check_burst,
        );
        AppState {
            outcomes: Arc::new(OutcomeRecorder::new(sessions.clone(), config.outcome_queue)),
            sessions,
            engine: Engine::new(
                models,
                config.engine_workers(),
                config.passive_workers as usize,
            ),
            identity_slots: Arc::new(Semaphore::new(config.max_identity_requests())),
            api_keys: Arc::new(ApiKeys::new(&config.api_keys)),
            session_limiter: Arc::new(session_limiter),
            identity_limiter: Arc::new(identity_limiter),
            plan_config: Arc::new(plan_config),
            lifecycle: Arc::default(),
            attestation_verifier: config.attestation_verifier.clone().map(|url| {
                Arc::new(Verifier::new(
                    url,
                    config.attestation_verifier_token.clone(),
                    config.attestation_timeout,
                ))
            }),
            config: Arc::new(config),
        }
    }
}
