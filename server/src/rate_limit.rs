//! A per-tenant limit on session creation, as a gate ([`crate::gate`]) in front of both
//! transports.
//!
//! Each tenant (API key) has a token bucket: `per_minute` sessions a minute on average, with
//! bursts of up to `burst`. A create-session request beyond it is answered by the layer itself
//! with `RATE_LIMITED` (2014): gRPC `RESOURCE_EXHAUSTED`, REST 429. Other calls pass untouched;
//! streams have their own limits ([`crate::stream`]). The layer runs after [`crate::auth`], which
//! put the caller's [`Tenant`] in the request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{Method, Request};

use crate::auth::Tenant;
use crate::error::ApiError;
use crate::gate::Gate;

/// Token buckets by tenant, shared by every transport so the limit is the key's, not the port's.
pub struct SessionRateLimiter {
    per_minute: f64,
    burst: f64,
    buckets: Mutex<HashMap<Tenant, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl SessionRateLimiter {
    pub fn new(per_minute: u32, burst: u32) -> Self {
        SessionRateLimiter {
            per_minute: per_minute as f64,
            burst: burst.max(1) as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one session from `tenant`'s bucket, or says how long until one is there.
    pub fn take(&self, tenant: &Tenant, now: Instant) -> Result<(), Duration> {
        let rate = self.per_minute / 60.0;
        let mut buckets = self.buckets.lock().unwrap();
        let bucket = buckets.entry(tenant.clone()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else if rate > 0.0 {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        } else {
            Err(Duration::MAX)
        }
    }
}

/// Applies a [`SessionRateLimiter`] (as a [`GateLayer`](crate::gate::GateLayer)) to the
/// requests `(method, path)` that create sessions.
#[derive(Clone)]
pub struct LimitSessionCreation {
    limiter: Arc<SessionRateLimiter>,
    creates: &'static [(Method, &'static str)],
}

impl LimitSessionCreation {
    pub fn new(
        limiter: Arc<SessionRateLimiter>,
        creates: &'static [(Method, &'static str)],
    ) -> Self {
        LimitSessionCreation { limiter, creates }
    }
}

impl Gate for LimitSessionCreation {
    fn admit<B>(&self, request: &mut Request<B>) -> Result<(), ApiError> {
        let creates = self
            .creates
            .iter()
            .any(|(m, p)| request.method() == m && request.uri().path() == *p);
        if !creates {
            return Ok(());
        }
        let tenant = request
            .extensions()
            .get::<Tenant>()
            .cloned()
            .unwrap_or_else(Tenant::open);
        self.limiter.take(&tenant, Instant::now()).map_err(|wait| {
            tracing::info!(%tenant, "session creation rate-limited");
            ApiError::RateLimited {
                retry_after_s: wait.as_secs_f64().ceil().min(3600.0) as u64,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_gets_its_burst_then_its_rate_and_others_are_unaffected() {
        let limiter = SessionRateLimiter::new(60, 3);
        let (a, b) = (Tenant::new("a"), Tenant::new("b"));
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.take(&a, t0).unwrap();
        }
        let wait = limiter.take(&a, t0).unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        limiter.take(&b, t0).unwrap();
        limiter.take(&a, t0 + Duration::from_millis(1001)).unwrap();
        assert!(limiter.take(&a, t0 + Duration::from_millis(1002)).is_err());
    }
}
