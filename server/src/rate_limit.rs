//! Per-tenant rate limits: on session creation (taken by `api::create_session`, which every
//! transport calls) and on identity checks (compare-faces, KYC: taken by [`crate::identity`]).
//!
//! Each tenant (API key) has a token bucket per limit: `per_minute` calls a minute on average,
//! with bursts of up to `burst`. A call beyond it is answered with `RATE_LIMITED` (2014): gRPC
//! `RESOURCE_EXHAUSTED`, REST 429 with `Retry-After`. Streams have their own limits
//! ([`crate::stream`]). Both are taken after [`crate::auth`] has put the caller's [`Tenant`]
//! in the request.
//!
//! The buckets live where the sessions do. In memory, for one replica. In Redis when sessions
//! are there, so the limit is the key's across every replica, not multiplied by their number:
//! one hash a tenant and limit, `livegate:ratelimit:{tenant}` (sessions) or
//! `livegate:ratelimit:identity:{tenant}`, refilled and taken in one Lua script on Redis's own
//! clock (replicas' clocks may differ), expiring once it would be full again. A Redis that does
//! not answer refuses the call with 5001, as the call itself would have failed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

use crate::auth::Tenant;
use crate::error::ApiError;

/// Refills `KEYS[1]` (fields `tokens`, `at` in ms) at `ARGV[1]` tokens a millisecond up to
/// `ARGV[2]`, then takes one. Returns 0 when taken, else the milliseconds until one is there
/// (-1: never, at a zero rate).
const TAKE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or burst
local at = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
elseif rate > 0 then
  wait = math.ceil((1 - tokens) / rate)
else
  wait = -1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
local refill = 86400000
if rate > 0 then refill = math.ceil((burst - tokens) / rate) end
redis.call('PEXPIRE', KEYS[1], math.max(refill, 1000))
return wait
";

/// What a limiter limits: its buckets' Redis key and its log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    SessionCreation,
    IdentityChecks,
}

impl Limited {
    fn key(self, tenant: &Tenant) -> String {
        match self {
            Limited::SessionCreation => format!("livegate:ratelimit:{tenant}"),
            Limited::IdentityChecks => format!("livegate:ratelimit:identity:{tenant}"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Limited::SessionCreation => "session creation",
            Limited::IdentityChecks => "identity checks",
        }
    }

    /// The calls counted, as the refusal names them.
    fn calls(self) -> &'static str {
        match self {
            Limited::SessionCreation => "sessions created",
            Limited::IdentityChecks => "identity checks",
        }
    }
}

/// Token buckets by tenant, shared by every transport so the limit is the key's, not the port's.
pub struct RateLimiter {
    limited: Limited,
    per_minute: f64,
    burst: f64,
    buckets: Buckets,
}

enum Buckets {
    Memory(Mutex<HashMap<Tenant, Bucket>>),
    Redis {
        connection: ConnectionManager,
        take: redis::Script,
    },
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// Buckets in this process's memory.
    pub fn new(limited: Limited, per_minute: u32, burst: u32) -> Self {
        Self::with(
            limited,
            per_minute,
            burst,
            Buckets::Memory(Mutex::new(HashMap::new())),
        )
    }

    /// Buckets in Redis, shared with every replica that uses it.
    pub fn shared(
        limited: Limited,
        per_minute: u32,
        burst: u32,
        connection: ConnectionManager,
    ) -> Self {
        let take = redis::Script::new(TAKE);
        Self::with(
            limited,
            per_minute,
            burst,
            Buckets::Redis { connection, take },
        )
    }

    fn with(limited: Limited, per_minute: u32, burst: u32, buckets: Buckets) -> Self {
        RateLimiter {
            limited,
            per_minute: per_minute as f64,
            burst: burst.max(1) as f64,
            buckets,
        }
    }

    /// Takes one call from `tenant`'s bucket; refuses with `RATE_LIMITED` and the seconds until
    /// one is there.
    pub async fn take(&self, tenant: &Tenant) -> Result<(), ApiError> {
        let taken = match &self.buckets {
            Buckets::Memory(buckets) => self.take_in_memory(buckets, tenant, Instant::now()),
            Buckets::Redis { connection, take } => {
                let mut c = connection.clone();
                let wait_ms: i64 = take
                    .key(self.limited.key(tenant))
                    .arg(self.per_minute / 60_000.0)
                    .arg(self.burst)
                    .invoke_async(&mut c)
                    .await
                    .map_err(|e| {
                        ApiError::Service(format!("rate limit (Redis) unavailable: {e}"))
                    })?;
                match wait_ms {
                    0 => Ok(()),
                    w if w < 0 => Err(Duration::MAX),
                    w => Err(Duration::from_millis(w as u64)),
                }
            }
        };
        taken.map_err(|wait| {
            tracing::info!(%tenant, limit = self.limited.name(), "rate-limited");
            ApiError::RateLimited {
                what: self.limited.calls(),
                retry_after_s: wait.as_secs_f64().ceil().min(3600.0) as u64,
            }
        })
    }

    /// Takes from `tenant`'s bucket in `buckets` at `now`, or says how long until a session is
    /// there.
    fn take_in_memory(
        &self,
        buckets: &Mutex<HashMap<Tenant, Bucket>>,
        tenant: &Tenant,
        now: Instant,
    ) -> Result<(), Duration> {
        let rate = self.per_minute / 60.0;
        let mut buckets = buckets.lock().unwrap();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_gets_its_burst_then_its_rate_and_others_are_unaffected() {
        let limiter = RateLimiter::new(Limited::SessionCreation, 60, 3);
        let Buckets::Memory(buckets) = &limiter.buckets else {
            panic!("RateLimiter::new keeps its buckets in memory");
        };
        let take_at = |tenant: &Tenant, now| limiter.take_in_memory(buckets, tenant, now);
        let (a, b) = (Tenant::new("a"), Tenant::new("b"));
        let t0 = Instant::now();
        for _ in 0..3 {
            take_at(&a, t0).unwrap();
        }
        let wait = take_at(&a, t0).unwrap_err();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        take_at(&b, t0).unwrap();
        take_at(&a, t0 + Duration::from_millis(1001)).unwrap();
        assert!(take_at(&a, t0 + Duration::from_millis(1002)).is_err());
    }
}
