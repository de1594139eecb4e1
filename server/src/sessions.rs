//! Liveness sessions and their one-time rules, kept in memory.
//!
//! A session is created with a one-time stream token; exactly one stream may claim it (while it
//! is CREATED and not expired); the stream's outcome is stored once; verifying consumes it.
//! Images are dropped when the retention period ends, the rest of the record when the result
//! retention ends. A session belongs to the tenant that created it: to any other tenant it does
//! not exist (SESSION_NOT_FOUND, as for a guessed id). One mutex guards the map: every operation is a few field updates, and the
//! check-and-set of the one-time rules must be atomic.

use livegate_engine::PlanConfig;
use std::collections::HashMap;
use std::sync::Mutex;
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
    pub fn name(self) -> &'static str {
        match self {
            Status::Created => "CREATED",
            Status::InProgress => "IN_PROGRESS",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::Expired => "EXPIRED",
        }
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
}

/// How often expired sessions and images are purged.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(5);

pub struct SessionStore {
    sessions: Mutex<HashMap<String, Session>>,
    ttl: Duration,
    image_retention: Duration,
    result_retention: Duration,
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

/// Compares secrets without stopping at the first difference.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl SessionStore {
    pub fn new(ttl: Duration, image_retention: Duration, result_retention: Duration) -> Self {
        SessionStore {
            sessions: Mutex::new(HashMap::new()),
            ttl,
            image_retention,
            result_retention,
        }
    }

    /// Creates a session; returns it with its stream token.
    pub fn create(&self, tenant: &Tenant, settings: Settings) -> (Session, String) {
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
        };
        self.sessions
            .lock()
            .unwrap()
            .insert(session.id.clone(), session.clone());
        (session, token)
    }

    /// A copy of the session, with its status brought up to date.
    pub fn get(&self, tenant: &Tenant, id: &str) -> Result<Session, ApiError> {
        let mut map = self.sessions.lock().unwrap();
        let s = owned(&mut map, tenant, id)?;
        refresh(s, SystemTime::now());
        Ok(s.clone())
    }

    /// Lets one stream into the session: CREATED → IN_PROGRESS, once. The stream token is the
    /// credential; a caller that also presented an API key (gRPC) must be the session's tenant.
    pub fn claim_stream(
        &self,
        id: &str,
        token: &str,
        tenant: Option<&Tenant>,
    ) -> Result<Session, ApiError> {
        let mut map = self.sessions.lock().unwrap();
        let s = match tenant {
            Some(t) => owned(&mut map, t, id)?,
            None => map.get_mut(id).ok_or(ApiError::SessionNotFound)?,
        };
        refresh(s, SystemTime::now());
        if !constant_time_eq(&s.stream_token, token) {
            return Err(ApiError::InvalidStreamToken);
        }
        match s.status {
            Status::Created => {
                s.status = Status::InProgress;
                Ok(s.clone())
            }
            Status::Expired => Err(ApiError::SessionExpired),
            _ => Err(ApiError::SessionAlreadyStreamed),
        }
    }

    /// Stores the stream's outcome: IN_PROGRESS → SUCCEEDED (live) or FAILED.
    pub fn finish(&self, id: &str, outcome: Outcome) {
        let mut map = self.sessions.lock().unwrap();
        if let Some(s) = map.get_mut(id)
            && s.status == Status::InProgress
        {
            s.status = if outcome.is_live {
                Status::Succeeded
            } else {
                Status::Failed
            };
            s.outcome = Some(outcome);
        }
    }

    /// Checks the result against `threshold` (or the session's) and consumes it.
    pub fn verify(
        &self,
        tenant: &Tenant,
        id: &str,
        threshold: Option<f32>,
    ) -> Result<(Session, f32), ApiError> {
        let mut map = self.sessions.lock().unwrap();
        let s = owned(&mut map, tenant, id)?;
        refresh(s, SystemTime::now());
        match s.status {
            Status::Succeeded | Status::Failed => {}
            Status::Expired => return Err(ApiError::SessionExpired),
            other => return Err(ApiError::ResultNotReady(other.name())),
        }
        if s.verified {
            return Err(ApiError::AlreadyVerified);
        }
        s.verified = true;
        let threshold = threshold.unwrap_or(s.settings.confidence_threshold);
        Ok((s.clone(), threshold))
    }

    /// Drops images whose retention ended and records whose result retention ended.
    pub fn purge(&self) {
        let now = SystemTime::now();
        let mut map = self.sessions.lock().unwrap();
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

/// The session `id` if `tenant` owns it.
fn owned<'a>(
    map: &'a mut HashMap<String, Session>,
    tenant: &Tenant,
    id: &str,
) -> Result<&'a mut Session, ApiError> {
    map.get_mut(id)
        .filter(|s| &s.tenant == tenant)
        .ok_or(ApiError::SessionNotFound)
}

/// A session nobody streamed into before its expiry is EXPIRED.
fn refresh(s: &mut Session, now: SystemTime) {
    if s.status == Status::Created && now >= s.expires_at {
        s.status = Status::Expired;
        crate::metrics::metrics().session_expired();
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

    #[test]
    fn ids_are_unique_128_bit_and_tokens_secret() {
        let s = store(1000);
        let (a, ta) = s.create(&acme(), settings());
        let (b, tb) = s.create(&acme(), settings());
        assert_ne!(a.id, b.id);
        assert_eq!(a.id.replace('-', "").len(), 32);
        assert_ne!(ta, tb);
        assert_eq!(ta.len(), 64);
    }

    #[test]
    fn one_stream_per_session_with_its_token() {
        let s = store(10_000);
        let (a, token) = s.create(&acme(), settings());
        assert!(matches!(
            s.claim_stream(&a.id, "wrong", None),
            Err(ApiError::InvalidStreamToken)
        ));
        assert!(matches!(
            s.claim_stream("nope", &token, None),
            Err(ApiError::SessionNotFound)
        ));
        assert_eq!(
            s.claim_stream(&a.id, &token, None).unwrap().status,
            Status::InProgress
        );
        assert!(matches!(
            s.claim_stream(&a.id, &token, None),
            Err(ApiError::SessionAlreadyStreamed)
        ));
    }

    #[test]
    fn unused_session_expires() {
        let s = store(20);
        let (a, token) = s.create(&acme(), settings());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(s.get(&acme(), &a.id).unwrap().status, Status::Expired);
        assert!(matches!(
            s.claim_stream(&a.id, &token, None),
            Err(ApiError::SessionExpired)
        ));
    }

    #[test]
    fn verify_needs_a_result_and_consumes_it() {
        let s = store(10_000);
        let (a, token) = s.create(&acme(), settings());
        assert!(matches!(
            s.verify(&acme(), &a.id, None),
            Err(ApiError::ResultNotReady("CREATED"))
        ));
        s.claim_stream(&a.id, &token, None).unwrap();
        s.finish(&a.id, outcome(true, 97.0));
        let (session, threshold) = s.verify(&acme(), &a.id, None).unwrap();
        assert_eq!(session.status, Status::Succeeded);
        assert_eq!(threshold, 90.0);
        assert!(matches!(
            s.verify(&acme(), &a.id, None),
            Err(ApiError::AlreadyVerified)
        ));
    }

    #[test]
    fn images_are_purged_after_retention_but_result_stays() {
        let s = store(20);
        let (a, token) = s.create(&acme(), settings());
        s.claim_stream(&a.id, &token, None).unwrap();
        s.finish(&a.id, outcome(false, 40.0));
        std::thread::sleep(Duration::from_millis(40));
        s.purge();
        let o = s.get(&acme(), &a.id).unwrap().outcome.unwrap();
        assert!(o.reference_image.is_none() && o.audit_images.is_empty());
        assert_eq!(o.confidence, 40.0);
    }

    #[test]
    fn another_tenant_sees_no_session() {
        let s = store(10_000);
        let (a, token) = s.create(&acme(), settings());
        let other = Tenant::new("globex");
        assert!(matches!(
            s.get(&other, &a.id),
            Err(ApiError::SessionNotFound)
        ));
        assert!(matches!(
            s.verify(&other, &a.id, None),
            Err(ApiError::SessionNotFound)
        ));
        assert!(matches!(
            s.claim_stream(&a.id, &token, Some(&other)),
            Err(ApiError::SessionNotFound)
        ));
        s.claim_stream(&a.id, &token, Some(&acme())).unwrap();
    }
}
