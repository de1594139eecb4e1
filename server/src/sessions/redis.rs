//! Sessions in Redis, shared by every replica.
//!
//! One key a session, `livegate:session:{id}`: a JSON record without images, whose TTL is the
//! record's lifetime (expiry or result retention, whichever is later), so Redis forgets it when
//! the memory store would. Images live apart, `livegate:images:{id}`, with the image retention
//! as their TTL: biometric data leaves Redis on time without anyone purging it.
//!
//! The one-time rules (claim a stream once, verify once) are the store's own functions, applied
//! here as compare-and-set: read the record, apply the rule, and write the result only if the
//! record is still what was read (a Lua script, atomic in Redis); otherwise read again. Two
//! replicas verifying at the same instant: one write wins, the other reads a verified record.
//!
//! A `rediss://` URL speaks TLS (rustls): Redis's certificate is checked against the system's
//! trusted roots, or against the operator's own authority (`--redis-tls-ca`), and a client
//! certificate is presented when one is configured (Redis's own default, `tls-auth-clients yes`,
//! asks for one). There is no switch to skip the check.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use livegate_engine::PlanConfig;
use livegate_engine::challenge::LightPolicy;
use livegate_proto::v1 as pb;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, IntoConnectionInfo};
use serde::{Deserialize, Serialize};

use super::{Outcome, Session, Settings, Status};
use crate::auth::Tenant;
use crate::convert;
use crate::error::ApiError;

/// Writes `ARGV[2]` over `KEYS[1]`, keeping its TTL, only if it still holds `ARGV[1]`.
const COMPARE_AND_SET: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0
";

/// Rounds of read-apply-write before giving up on a session that keeps changing.
const MAX_ATTEMPTS: usize = 16;

/// A Redis that does not answer within this is unavailable: the request fails with 5001 and
/// readiness turns false, instead of a stream or a probe hanging on it.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Reconnection attempts after the first, 100 ms then 200 ms apart: a request made while Redis
/// refuses connections waits for them, so they are few (the crate's six took a result read to
/// 9.4 s). The next request tries again.
const RECONNECT_RETRIES: usize = 2;

pub struct RedisSessions {
    /// Reconnects by itself after Redis restarts or a connection drops; requests made meanwhile
    /// fail (5001) rather than wait.
    connection: ConnectionManager,
    compare_and_set: redis::Script,
}

fn unavailable(e: redis::RedisError) -> ApiError {
    ApiError::Service(format!("session store (Redis) unavailable: {e}"))
}

fn record_key(id: &str) -> String {
    format!("livegate:session:{id}")
}

fn images_key(id: &str) -> String {
    format!("livegate:images:{id}")
}

/// A Redis URL as configured. Its password (`redis://:secret@host`, or `?pass=` on a socket)
/// never reaches a log: the configuration is printed at start-up.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(String);

impl RedisUrl {
    /// Whether the URL asks for TLS (`rediss://`, `valkeys://`).
    pub fn is_tls(&self) -> bool {
        redis::parse_redis_url(&self.0)
            .is_some_and(|url| matches!(url.scheme(), "rediss" | "valkeys"))
    }
}

impl FromStr for RedisUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The crate's own parser decides what is a Redis URL; its message names no password.
        s.into_connection_info()
            .map_err(|e| format!("not a Redis URL ({e})"))?;
        Ok(RedisUrl(s.to_string()))
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(mut url) = redis::parse_redis_url(&self.0) else {
            return f.write_str("<not a URL>");
        };
        if url.password().is_some() {
            let _ = url.set_password(Some("redacted"));
        }
        if url.query_pairs().any(|(k, _)| k == "pass") {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "pass" { "redacted".into() } else { v };
                    (k.into_owned(), v.into_owned())
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        write!(f, "{url}")
    }
}

/// The files of a TLS connection to Redis (all PEM), each optional.
#[derive(Debug, Clone, Default)]
pub struct RedisTlsFiles {
    /// The authority that signed Redis's certificate, instead of the system's roots.
    pub ca: Option<PathBuf>,
    /// A client certificate and its key, for a Redis that asks for one.
    pub client: Option<(PathBuf, PathBuf)>,
}

impl RedisTlsFiles {
    fn is_empty(&self) -> bool {
        self.ca.is_none() && self.client.is_none()
    }

    fn load(&self) -> Result<redis::TlsCertificates, ApiError> {
        let read = |path: &PathBuf| {
            std::fs::read(path).map_err(|e| {
                ApiError::Service(format!(
                    "cannot read Redis TLS file {}: {e}",
                    path.display()
                ))
            })
        };
        Ok(redis::TlsCertificates {
            root_cert: self.ca.as_ref().map(read).transpose()?,
            client_tls: match &self.client {
                Some((cert, key)) => Some(redis::ClientTlsConfig {
                    client_cert: read(cert)?,
                    client_key: read(key)?,
                }),
                None => None,
            },
        })
    }
}

impl RedisSessions {
    pub async fn connect(url: &RedisUrl, tls: &RedisTlsFiles) -> Result<Self, ApiError> {
        let client = if tls.is_empty() {
            redis::Client::open(url.0.as_str()).map_err(unavailable)?
        } else if url.is_tls() {
            redis::Client::build_with_tls(url.0.as_str(), tls.load()?).map_err(unavailable)?
        } else {
            return Err(ApiError::Service(
                "Redis TLS files are configured but the Redis URL is not rediss://".into(),
            ));
        };
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(RECONNECT_RETRIES);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        Ok(RedisSessions {
            connection,
            compare_and_set: redis::Script::new(COMPARE_AND_SET),
        })
    }

    pub fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    pub async fn ping(&self) -> bool {
        let mut c = self.connection.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut c)
            .await
            .is_ok()
    }

    pub async fn insert(&self, session: &Session, lifetime: Duration) -> Result<(), ApiError> {
        let mut c = self.connection.clone();
        let record = Record::from(session).encode();
        let millis = lifetime.as_millis().max(1) as u64;
        c.pset_ex::<_, _, ()>(record_key(&session.id), record, millis)
            .await
            .map_err(unavailable)
    }

    /// Keeps the outcome's images for `keep` (nothing when it is zero).
    pub async fn put_images(
        &self,
        id: &str,
        outcome: &Outcome,
        keep: Duration,
    ) -> Result<(), ApiError> {
        if keep.is_zero() {
            return Ok(());
        }
        let images = Images {
            reference: outcome.reference_image.as_ref().map(|i| BASE64.encode(i)),
            audit: outcome
                .audit_images
                .iter()
                .map(|i| BASE64.encode(i))
                .collect(),
        };
        let mut c = self.connection.clone();
        c.pset_ex::<_, _, ()>(
            images_key(id),
            serde_json::to_string(&images).unwrap_or_default(),
            keep.as_millis().max(1) as u64,
        )
        .await
        .map_err(unavailable)
    }

    /// Applies `rule` to the session as compare-and-set (see the module doc).
    pub async fn update<T>(
        &self,
        id: &str,
        rule: impl Fn(&mut Session) -> Result<T, ApiError>,
    ) -> Result<(Session, T), ApiError> {
        for _ in 0..MAX_ATTEMPTS {
            let (record, raw) = self.read(id).await?;
            let mut session = record.into_session(id)?;
            let out = rule(&mut session);
            let next = Record::from(&session).encode();
            if next != raw {
                let mut c = self.connection.clone();
                let written: i32 = self
                    .compare_and_set
                    .key(record_key(id))
                    .arg(&raw)
                    .arg(&next)
                    .invoke_async(&mut c)
                    .await
                    .map_err(unavailable)?;
                if written == 0 {
                    continue; // another replica changed it first: read again
                }
            }
            let out = out?;
            self.attach_images(id, &mut session).await?;
            return Ok((session, out));
        }
        Err(ApiError::Service(format!(
            "session {id} kept changing under {MAX_ATTEMPTS} attempts"
        )))
    }

    async fn read(&self, id: &str) -> Result<(Record, String), ApiError> {
        let mut c = self.connection.clone();
        let raw: Option<String> = c.get(record_key(id)).await.map_err(unavailable)?;
        let raw = raw.ok_or(ApiError::SessionNotFound)?;
        let record = serde_json::from_str(&raw)
            .map_err(|e| ApiError::Service(format!("session record {id} unreadable: {e}")))?;
        Ok((record, raw))
    }

    async fn attach_images(&self, id: &str, session: &mut Session) -> Result<(), ApiError> {
        let Some(outcome) = session.outcome.as_mut() else {
            return Ok(());
        };
        let mut c = self.connection.clone();
        let raw: Option<String> = c.get(images_key(id)).await.map_err(unavailable)?;
        if let Some(images) = raw.and_then(|r| serde_json::from_str::<Images>(&r).ok()) {
            outcome.reference_image = images.reference.and_then(|i| BASE64.decode(i).ok());
            outcome.audit_images = images
                .audit
                .iter()
                .filter_map(|i| BASE64.decode(i).ok())
                .collect();
        }
        Ok(())
    }
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

fn from_millis(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// A session as stored: plain fields, no images.
#[derive(Serialize, Deserialize)]
struct Record {
    tenant: String,
    token: String,
    status: String,
    created_ms: u64,
    expires_ms: u64,
    verified: bool,
    audit_images_limit: usize,
    confidence_threshold: f32,
    min_steps: usize,
    max_steps: usize,
    /// Movement kinds by their proto names.
    kinds: Vec<String>,
    step_time_limit_ms: u32,
    /// The light policy: `light` is "required"; records written before the policy had three
    /// values lack `light_when_capable` and read as they meant (required or off).
    light: bool,
    #[serde(default)]
    light_when_capable: bool,
    outcome: Option<OutcomeRecord>,
    /// While IN_PROGRESS, when the stream's claim lapses (records written before leases have
    /// none, and never lapse).
    #[serde(default)]
    lease_ms: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct OutcomeRecord {
    is_live: bool,
    confidence: f32,
    reasons: Vec<String>,
    message: String,
    finished_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct Images {
    reference: Option<String>,
    audit: Vec<String>,
}

impl From<&Session> for Record {
    fn from(s: &Session) -> Self {
        Record {
            tenant: s.tenant.as_str().to_string(),
            token: s.stream_token.clone(),
            status: s.status.name().to_string(),
            created_ms: millis(s.created_at),
            expires_ms: millis(s.expires_at),
            verified: s.verified,
            audit_images_limit: s.settings.audit_images_limit,
            confidence_threshold: s.settings.confidence_threshold,
            min_steps: s.settings.plan.min_steps,
            max_steps: s.settings.plan.max_steps,
            kinds: s
                .settings
                .plan
                .kinds
                .iter()
                .map(|k| convert::challenge_kind(*k).api_name().to_string())
                .collect(),
            step_time_limit_ms: s.settings.plan.step_time_limit_ms,
            light: s.settings.plan.light == LightPolicy::Required,
            light_when_capable: s.settings.plan.light == LightPolicy::WhenCapable,
            outcome: s.outcome.as_ref().map(|o| OutcomeRecord {
                is_live: o.is_live,
                confidence: o.confidence,
                reasons: o.reasons.clone(),
                message: o.message.clone(),
                finished_ms: millis(o.finished_at),
            }),
            lease_ms: s.lease_until.map(millis),
        }
    }
}

impl Record {
    fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn into_session(self, id: &str) -> Result<Session, ApiError> {
        let bad = |what: &str| ApiError::Service(format!("session record {id}: bad {what}"));
        let status = [
            Status::Created,
            Status::InProgress,
            Status::Succeeded,
            Status::Failed,
            Status::Expired,
        ]
        .into_iter()
        .find(|s| s.name() == self.status)
        .ok_or_else(|| bad("status"))?;
        let kinds = self
            .kinds
            .iter()
            .map(|name| {
                pb::ChallengeKind::from_api_name(name)
                    .and_then(convert::engine_challenge_kind)
                    .ok_or_else(|| bad("challenge kind"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Session {
            id: id.to_string(),
            tenant: Tenant::new(&self.tenant),
            stream_token: self.token,
            settings: Settings {
                audit_images_limit: self.audit_images_limit,
                confidence_threshold: self.confidence_threshold,
                plan: PlanConfig {
                    min_steps: self.min_steps,
                    max_steps: self.max_steps,
                    kinds,
                    step_time_limit_ms: self.step_time_limit_ms,
                    light: match (self.light, self.light_when_capable) {
                        (true, _) => LightPolicy::Required,
                        (false, true) => LightPolicy::WhenCapable,
                        (false, false) => LightPolicy::Off,
                    },
                },
            },
            status,
            created_at: from_millis(self.created_ms),
            expires_at: from_millis(self.expires_ms),
            outcome: self.outcome.map(|o| Outcome {
                is_live: o.is_live,
                confidence: o.confidence,
                reasons: o.reasons,
                message: o.message,
                reference_image: None,
                audit_images: Vec::new(),
                finished_at: from_millis(o.finished_ms),
            }),
            verified: self.verified,
            lease_until: self.lease_ms.map(from_millis),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::RedisUrl;

    fn shown(url: &str) -> String {
        format!("{:?}", url.parse::<RedisUrl>().unwrap())
    }

    #[test]
    fn a_redis_url_prints_without_its_password() {
        assert_eq!(
            shown("redis://:s3cret@redis:6379/2"),
            "redis://:redacted@redis:6379/2"
        );
        assert_eq!(
            shown("rediss://livegate:s3cret@redis.example.com"),
            "rediss://livegate:redacted@redis.example.com"
        );
        let socket = shown("redis+unix:///run/redis.sock?db=1&pass=s3cret");
        assert!(
            !socket.contains("s3cret") && socket.contains("db=1"),
            "{socket}"
        );
        assert_eq!(shown("redis://redis:6379"), "redis://redis:6379");
    }

    #[test]
    fn tls_is_told_by_the_scheme_and_other_urls_are_refused() {
        assert!("rediss://redis:6380".parse::<RedisUrl>().unwrap().is_tls());
        assert!(!"redis://redis:6379".parse::<RedisUrl>().unwrap().is_tls());
        assert!("http://redis:6379".parse::<RedisUrl>().is_err());
        assert!("redis-6379".parse::<RedisUrl>().is_err());
    }
}
