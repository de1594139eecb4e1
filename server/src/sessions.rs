//! Liveness sessions and their one-time rules, kept in memory or in Redis.
//!
//! A session is created with a one-time stream token; exactly one stream may claim it (while it
//! is CREATED and not expired); the stream's outcome is stored once; verifying consumes it.
//! A claim is a lease its replica renews while the stream runs ([`lease`]): a session whose
//! lease lapsed (its replica died, or lost the store for longer than the lease) reads as FAILED
//! with the reason [`STREAM_LOST`] on every replica, instead of IN_PROGRESS until it expires.
//! Its real outcome, if the replica still delivers it, replaces that presumption as long as
//! nobody has verified it yet.
//! Images are dropped when the retention period ends, the rest of the record when the result
//! retention ends. A session belongs to the tenant that created it: to any other tenant it does
//! not exist (SESSION_NOT_FOUND, as for a guessed id). One mutex guards the map: every operation is a few field updates, and the
//! check-and-set of the one-time rules must be atomic.

mod lease;
mod redis;

pub use lease::LeaseKeeper;
pub use redis::{RedisTlsFiles, RedisUrl};

use livegate_engine::PlanConfig;
use livegate_proto::v1 as pb;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rand::Rng;

use crate::auth::Tenant;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    InProgress,
    Succeeded,
    Failed,
    Expired,
}

impl Status {
    pub fn proto(self) -> pb::SessionStatus {
        match self {
            Status::Created => pb::SessionStatus::Created,
            Status::InProgress => pb::SessionStatus::InProgress,
            Status::Succeeded => pb::SessionStatus::Succeeded,
            Status::Failed => pb::SessionStatus::Failed,
            Status::Expired => pb::SessionStatus::Expired,
        }
    }

    /// The status's API name (`IN_PROGRESS`), in answers and stored records.
    pub fn name(self) -> &'static str {
        self.proto().api_name()
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub audit_images_limit: usize,
    pub confidence_threshold: f32,
    /// The session's plan rule (the deployment's, narrowed by the session's settings).
    pub plan: PlanConfig,
}

/// What a finished stream left behind.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub is_live: bool,
    pub confidence: f32,
    pub reasons: Vec<String>,
    pub message: String,
    pub reference_image: Option<Vec<u8>>,
    pub audit_images: Vec<Vec<u8>>,
    pub finished_at: SystemTime,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub tenant: Tenant,
    stream_token: String,
    pub settings: Settings,
    pub status: Status,
    pub created_at: SystemTime,
    pub expires_at: SystemTime,
    pub outcome: Option<Outcome>,
    pub verified: bool,
    /// While IN_PROGRESS: when the stream's claim lapses unless its replica renews it.
    pub lease_until: Option<SystemTime>,
}

/// The reason of a session whose stream's lease lapsed: the replica running it stopped (or
/// lost the session store for longer than the lease) before storing an outcome.
pub const STREAM_LOST: &str = "STREAM_LOST";

/// How long a stream's claim lasts without renewal, unless configured
/// (`LIVEGATE_STREAM_LEASE`).
pub const DEFAULT_STREAM_LEASE: Duration = Duration::from_secs(30);

/// How often expired sessions and images are purged (in memory; Redis expires its keys itself).
pub const PURGE_INTERVAL: Duration = Duration::from_secs(5);

/// Purges `sessions` every [`PURGE_INTERVAL`] until the task is aborted.
pub fn spawn_purger(sessions: Arc<SessionStore>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PURGE_INTERVAL);
        loop {
            tick.tick().await;
            sessions.purge();
        }
    })
}

/// The sessions of this deployment: in this process's memory (the default), or in Redis, shared
/// by every replica ([`redis`]). Both apply the same rules (the functions below), the memory
/// store under one mutex, Redis with a compare-and-set on each record.
pub struct SessionStore {
    backend: Backend,
    ttl: Duration,
    image_retention: Duration,
    result_retention: Duration,
    stream_lease: Duration,
}

enum Backend {
    Memory(Mutex<HashMap<String, Session>>),
    Redis(redis::RedisSessions),
}

/// 128 random bits from a cryptographic generator seeded by the OS, laid out like a UUID.
fn new_session_id() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn new_stream_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Compares secrets in time that does not depend on where they differ (`subtle`, whose
/// comparison the optimiser cannot turn back into an early exit).
fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

impl SessionStore {
    /// Sessions in this process's memory.
    pub fn new(ttl: Duration, image_retention: Duration, result_retention: Duration) -> Self {
        SessionStore {
            backend: Backend::Memory(Mutex::new(HashMap::new())),
            ttl,
            image_retention,
            result_retention,
            stream_lease: DEFAULT_STREAM_LEASE,
        }
    }

    /// The same store with stream claims that last `lease` between renewals.
    pub fn with_stream_lease(mut self, lease: Duration) -> Self {
        self.stream_lease = lease;
        self
    }

    /// How long a stream's claim lasts between renewals.
    pub fn stream_lease(&self) -> Duration {
        self.stream_lease
    }

    /// Sessions in the Redis at `url`, shared with every replica that uses it.
    pub async fn redis(
        url: &RedisUrl,
        tls: &RedisTlsFiles,
        ttl: Duration,
        image_retention: Duration,
        result_retention: Duration,
    ) -> Result<Self, ApiError> {
        Ok(SessionStore {
            backend: Backend::Redis(redis::RedisSessions::connect(url, tls).await?),
            ttl,
            image_retention,
            result_retention,
            stream_lease: DEFAULT_STREAM_LEASE,
        })
    }

    /// The Redis connection when sessions live there, for what replicas share besides them (the
    /// rate limit's buckets).
    pub fn redis_connection(&self) -> Option<::redis::aio::ConnectionManager> {
        match &self.backend {
            Backend::Memory(_) => None,
            Backend::Redis(r) => Some(r.connection()),
        }
    }

    /// Whether the store answers (readiness).
    pub async fn reachable(&self) -> bool {
        match &self.backend {
            Backend::Memory(_) => true,
            Backend::Redis(r) => r.ping().await,
        }
    }

    /// Creates a session; returns it with its stream token.
    pub async fn create(
        &self,
        tenant: &Tenant,
        settings: Settings,
    ) -> Result<(Session, String), ApiError> {
        let now = SystemTime::now();
        let token = new_stream_token();
        let session = Session {
            id: new_session_id(),
            tenant: tenant.clone(),
            stream_token: token.clone(),
            settings,
            status: Status::Created,
            created_at: now,
            expires_at: now + self.ttl,
            outcome: None,
            verified: false,
            lease_until: None,
        };
        match &self.backend {
            Backend::Memory(map) => {
                map.lock()
                    .unwrap()
                    .insert(session.id.clone(), session.clone());
            }
            Backend::Redis(r) => r.insert(&session, self.record_lifetime(&session)).await?,
        }
        Ok((session, token))
    }

    /// A copy of the session, with its status brought up to date.
    pub async fn get(&self, tenant: &Tenant, id: &str) -> Result<Session, ApiError> {
        self.update(id, |s| owned(s, Some(tenant)))
            .await
            .map(|(s, ())| s)
    }

    /// Lets one stream into the session: CREATED → IN_PROGRESS, once. The stream token is the
    /// credential; a caller that also presented an API key (gRPC) must be the session's tenant.
    /// A client that cannot show colours is refused a session that requires the light step,
    /// and the session stays CREATED for a client that can.
    pub async fn claim_stream(
        &self,
        id: &str,
        token: &str,
        tenant: Option<&Tenant>,
        can_show_colour: bool,
    ) -> Result<Session, ApiError> {
        let lease = self.stream_lease;
        self.update(id, |s| {
            owned(s, tenant)?;
            if !constant_time_eq(&s.stream_token, token) {
                return Err(ApiError::InvalidStreamToken);
            }
            if s.status == Status::Created
                && s.settings.plan.light.for_client(can_show_colour).is_none()
            {
                return Err(ApiError::LightStepUnsupported);
            }
            match s.status {
                Status::Created => {
                    s.status = Status::InProgress;
                    s.lease_until = Some(SystemTime::now() + lease);
                    Ok(())
                }
                Status::Expired => Err(ApiError::SessionExpired),
                _ => Err(ApiError::SessionAlreadyStreamed),
            }
        })
        .await
        .map(|(s, ())| s)
    }

    /// Extends the stream's claim on session `id` by the lease; false once the session is no
    /// longer IN_PROGRESS (nothing left to hold).
    pub async fn renew_lease(&self, id: &str) -> Result<bool, ApiError> {
        let lease = self.stream_lease;
        self.update(id, |s| {
            if s.status != Status::InProgress {
                return Ok(false);
            }
            s.lease_until = Some(SystemTime::now() + lease);
            Ok(true)
        })
        .await
        .map(|(_, held)| held)
    }

    /// Stores the outcome of `session`'s stream: IN_PROGRESS → SUCCEEDED (live) or FAILED.
    /// An outcome that arrives after its lease lapsed replaces the presumed [`STREAM_LOST`],
    /// unless that was verified already (then the backend has acted on it, and it stays).
    pub async fn finish(&self, session: &Session, outcome: &Outcome) -> Result<(), ApiError> {
        let id = &session.id;
        if let Backend::Redis(r) = &self.backend {
            // Images first, under their own (shorter) lifetime; the record then says finished.
            let keep = (session.created_at + self.image_retention)
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            r.put_images(id, outcome, keep).await?;
        }
        self.update(id, |s| {
            let presumed_lost = s.status == Status::Failed
                && !s.verified
                && s.outcome
                    .as_ref()
                    .is_some_and(|o| o.reasons.iter().any(|r| r == STREAM_LOST));
            if s.status == Status::InProgress || presumed_lost {
                s.lease_until = None;
                s.status = if outcome.is_live {
                    Status::Succeeded
                } else {
                    Status::Failed
                };
                s.outcome = Some(outcome.clone());
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// Checks the result against `threshold` (or the session's) and consumes it.
    pub async fn verify(
        &self,
        tenant: &Tenant,
        id: &str,
        threshold: Option<f32>,
    ) -> Result<(Session, f32), ApiError> {
        let (s, ()) = self
            .update(id, |s| {
                owned(s, Some(tenant))?;
                match s.status {
                    Status::Succeeded | Status::Failed => {}
                    Status::Expired => return Err(ApiError::SessionExpired),
                    other => return Err(ApiError::ResultNotReady(other.name())),
                }
                if s.verified {
                    return Err(ApiError::AlreadyVerified);
                }
                s.verified = true;
                Ok(())
            })
            .await?;
        let threshold = threshold.unwrap_or(s.settings.confidence_threshold);
        Ok((s, threshold))
    }

    /// Brings session `id` up to date (expiry), applies `rule` to it atomically, and returns the
    /// session as it left it. Rules change a session only on their way to `Ok`.
    async fn update<T>(
        &self,
        id: &str,
        rule: impl Fn(&mut Session) -> Result<T, ApiError>,
    ) -> Result<(Session, T), ApiError> {
        let step = |s: &mut Session| {
            refresh(s, SystemTime::now());
            rule(s)
        };
        match &self.backend {
            Backend::Memory(map) => {
                let mut map = map.lock().unwrap();
                let s = map.get_mut(id).ok_or(ApiError::SessionNotFound)?;
                let out = step(s)?;
                Ok((s.clone(), out))
            }
            Backend::Redis(r) => r.update(id, step).await,
        }
    }

    /// How long a record is kept: until its expiry or its result retention, whichever is later.
    fn record_lifetime(&self, s: &Session) -> Duration {
        s.expires_at
            .max(s.created_at + self.result_retention)
            .duration_since(SystemTime::now())
            .unwrap_or_default()
    }

    /// Drops images whose retention ended and records whose result retention ended (in memory;
    /// Redis keys carry these lifetimes as TTLs).
    pub fn purge(&self) {
        let Backend::Memory(map) = &self.backend else {
            return;
        };
        let now = SystemTime::now();
        let mut map = map.lock().unwrap();
        map.retain(|_, s| {
            refresh(s, now);
            if now >= s.created_at + self.image_retention
                && let Some(o) = s.outcome.as_mut()
            {
                o.reference_image = None;
                o.audit_images.clear();
            }
            now < s.expires_at.max(s.created_at + self.result_retention)
        });
    }
}

/// Refuses a session that belongs to another tenant (when the caller has one), as if it did
/// not exist.
fn owned(s: &Session, tenant: Option<&Tenant>) -> Result<(), ApiError> {
    match tenant {
        Some(t) if &s.tenant != t => Err(ApiError::SessionNotFound),
        _ => Ok(()),
    }
}

/// A session nobody streamed into before its expiry is EXPIRED; one whose stream's lease
/// lapsed is FAILED ([`STREAM_LOST`]).
fn refresh(s: &mut Session, now: SystemTime) {
    if s.status == Status::Created && now >= s.expires_at {
        s.status = Status::Expired;
        crate::metrics::metrics().session_expired();
    }
    if s.status == Status::InProgress
        && let Some(lapsed) = s.lease_until.filter(|until| now >= *until)
    {
        s.status = Status::Failed;
        s.lease_until = None;
        s.outcome = Some(Outcome {
            is_live: false,
            confidence: 0.0,
            reasons: vec![STREAM_LOST.to_string()],
            message: "The stream ended without an outcome: the server running it stopped.".into(),
            reference_image: None,
            audit_images: Vec::new(),
            finished_at: lapsed,
        });
        crate::metrics::metrics().stream_lost();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(ttl_ms: u64) -> SessionStore {
        SessionStore::new(
            Duration::from_millis(ttl_ms),
            Duration::from_millis(ttl_ms),
            Duration::from_secs(60),
        )
    }

    fn acme() -> Tenant {
        Tenant::new("acme")
    }

    fn settings() -> Settings {
        Settings {
            audit_images_limit: 2,
            confidence_threshold: 90.0,
            plan: PlanConfig::default(),
        }
    }

    fn outcome(live: bool, confidence: f32) -> Outcome {
        Outcome {
            is_live: live,
            confidence,
            reasons: vec![],
            message: String::new(),
            reference_image: Some(vec![1, 2, 3]),
            audit_images: vec![vec![4]],
            finished_at: SystemTime::now(),
        }
    }

    #[tokio::test]
    async fn ids_are_unique_128_bit_and_tokens_secret() {
        let s = store(1000);
        let (a, ta) = s.create(&acme(), settings()).await.unwrap();
        let (b, tb) = s.create(&acme(), settings()).await.unwrap();
        assert_ne!(a.id, b.id);
        assert_eq!(a.id.replace('-', "").len(), 32);
        assert_ne!(ta, tb);
        assert_eq!(ta.len(), 64);
    }

    #[tokio::test]
    async fn one_stream_per_session_with_its_token() {
        let s = store(10_000);
        let (a, token) = s.create(&acme(), settings()).await.unwrap();
        assert!(matches!(
            s.claim_stream(&a.id, "wrong", None, false).await,
            Err(ApiError::InvalidStreamToken)
        ));
        assert!(matches!(
            s.claim_stream("nope", &token, None, false).await,
            Err(ApiError::SessionNotFound)
        ));
        assert_eq!(
            s.claim_stream(&a.id, &token, None, false)
                .await
                .unwrap()
                .status,
            Status::InProgress
        );
        assert!(matches!(
            s.claim_stream(&a.id, &token, None, false).await,
            Err(ApiError::SessionAlreadyStreamed)
        ));
    }

    #[tokio::test]
    async fn unused_session_expires() {
        let s = store(20);
        let (a, token) = s.create(&acme(), settings()).await.unwrap();
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(s.get(&acme(), &a.id).await.unwrap().status, Status::Expired);
        assert!(matches!(
            s.claim_stream(&a.id, &token, None, false).await,
            Err(ApiError::SessionExpired)
        ));
    }

    #[tokio::test]
    async fn verify_needs_a_result_and_consumes_it() {
        let s = store(10_000);
        let (a, token) = s.create(&acme(), settings()).await.unwrap();
        assert!(matches!(
            s.verify(&acme(), &a.id, None).await,
            Err(ApiError::ResultNotReady("CREATED"))
        ));
        s.claim_stream(&a.id, &token, None, false).await.unwrap();
        s.finish(&a, &outcome(true, 97.0)).await.unwrap();
        let (session, threshold) = s.verify(&acme(), &a.id, None).await.unwrap();
        assert_eq!(session.status, Status::Succeeded);
        assert_eq!(threshold, 90.0);
        assert!(matches!(
            s.verify(&acme(), &a.id, None).await,
            Err(ApiError::AlreadyVerified)
        ));
    }

    #[tokio::test]
    async fn images_are_purged_after_retention_but_result_stays() {
        let s = store(20);
        let (a, token) = s.create(&acme(), settings()).await.unwrap();
        s.claim_stream(&a.id, &token, None, false).await.unwrap();
        s.finish(&a, &outcome(false, 40.0)).await.unwrap();
        std::thread::sleep(Duration::from_millis(40));
        s.purge();
        let o = s.get(&acme(), &a.id).await.unwrap().outcome.unwrap();
        assert!(o.reference_image.is_none() && o.audit_images.is_empty());
        assert_eq!(o.confidence, 40.0);
    }

    #[tokio::test]
    async fn another_tenant_sees_no_session() {
        let s = store(10_000);
        let (a, token) = s.create(&acme(), settings()).await.unwrap();
        let other = Tenant::new("globex");
        assert!(matches!(
            s.get(&other, &a.id).await,
            Err(ApiError::SessionNotFound)
        ));
        assert!(matches!(
            s.verify(&other, &a.id, None).await,
            Err(ApiError::SessionNotFound)
        ));
        assert!(matches!(
            s.claim_stream(&a.id, &token, Some(&other), false).await,
            Err(ApiError::SessionNotFound)
        ));
        s.claim_stream(&a.id, &token, Some(&acme()), false)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_stream_whose_lease_lapses_ends_failed_and_its_late_outcome_still_counts() {
        let s = store(10_000).with_stream_lease(Duration::from_millis(60));
        let (a, token) = s.create(&acme(), settings()).await.unwrap();
        s.claim_stream(&a.id, &token, None, false).await.unwrap();
        // Renewed, the claim holds past its first lease.
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(30));
            assert!(s.renew_lease(&a.id).await.unwrap());
        }
        assert_eq!(
            s.get(&acme(), &a.id).await.unwrap().status,
            Status::InProgress
        );
        // Not renewed (the replica died), it lapses: FAILED, with its own reason.
        std::thread::sleep(Duration::from_millis(80));
        let lost = s.get(&acme(), &a.id).await.unwrap();
        assert_eq!(lost.status, Status::Failed);
        assert_eq!(lost.outcome.unwrap().reasons, vec![STREAM_LOST]);
        assert!(!s.renew_lease(&a.id).await.unwrap());
        // The replica was only cut off: its real outcome replaces the presumption.
        s.finish(&a, &outcome(true, 97.0)).await.unwrap();
        let (found, _) = s.verify(&acme(), &a.id, None).await.unwrap();
        assert_eq!(found.status, Status::Succeeded);
    }

    #[tokio::test]
    async fn a_verified_stream_lost_stays_as_the_backend_saw_it() {
        let s = store(10_000).with_stream_lease(Duration::from_millis(20));
        let (a, token) = s.create(&acme(), settings()).await.unwrap();
        s.claim_stream(&a.id, &token, None, false).await.unwrap();
        std::thread::sleep(Duration::from_millis(40));
        let (lost, _) = s.verify(&acme(), &a.id, None).await.unwrap();
        assert_eq!(lost.status, Status::Failed);
        s.finish(&a, &outcome(true, 97.0)).await.unwrap();
        let after = s.get(&acme(), &a.id).await.unwrap();
        assert_eq!(after.status, Status::Failed);
        assert_eq!(after.outcome.unwrap().reasons, vec![STREAM_LOST]);
    }
}
