//! The server's configuration: one typed struct, from flags or environment, with defaults that
//! run on one machine. Printed at start-up; API keys print as `tenant:<redacted>`, a Redis URL's
//! password as `redacted`, and the attestation verifier's token as `<redacted>`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use livegate_engine::backend::BackendChoice;
use livegate_engine::challenge::LightPolicy;
use livegate_engine::{ChallengeKind, PlanConfig};

use crate::attestation::{AttestationPolicy, BearerToken, VerifierUrl};
use crate::auth::ApiKey;
use crate::sessions::{RedisTlsFiles, RedisUrl};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "livegate-server",
    version,
    about = "Livegate face-liveness server (gRPC, REST and WebSocket)"
)]
pub struct Config {
    /// Print the REST API's OpenAPI document (what `/api/openapi.json` serves) and exit.
    #[arg(long, exclusive = true)]
    pub openapi: bool,

    /// Address the gRPC server listens on.
    #[arg(long, env = "LIVEGATE_ADDR", default_value = "0.0.0.0:50051")]
    pub addr: SocketAddr,

    /// Address the REST/JSON API (and its WebSocket stream) listens on.
    #[arg(long, env = "LIVEGATE_REST_ADDR", default_value = "0.0.0.0:8080")]
    pub rest_addr: SocketAddr,

    /// Address Prometheus scrapes `GET /metrics` on: a port of its own, so the metrics stay
    /// inside the network while the APIs face callers (9464: OpenTelemetry's Prometheus port).
    #[arg(long, env = "LIVEGATE_METRICS_ADDR", default_value = "0.0.0.0:9464")]
    pub metrics_addr: SocketAddr,

    /// API keys, comma-separated `tenant:key` (keys of 16 characters or more). Each key belongs
    /// to one tenant, which sees only its own sessions. None: the server runs open, every caller
    /// is the tenant `default` (for development only).
    #[arg(long, env = "LIVEGATE_API_KEYS", value_delimiter = ',')]
    pub api_keys: Vec<ApiKey>,

    /// PEM certificate chain: with `--tls-key`, gRPC and REST are served over TLS (rustls).
    #[arg(long, env = "LIVEGATE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of `--tls-cert`.
    #[arg(long, env = "LIVEGATE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Serve `POST /web/demo-session`: the web page at `/web/` can then create its own sessions
    /// without an API key, owned by `--demo-tenant`. For demonstrations and trials: anyone who
    /// reaches the port can start sessions. Off, the page needs a session from your backend.
    #[arg(long, env = "LIVEGATE_DEMO", default_value_t = false, action = clap::ArgAction::Set)]
    pub demo: bool,

    /// Tenant that owns the demo page's sessions (and whose rate limit they draw on).
    #[arg(long, env = "LIVEGATE_DEMO_TENANT", default_value = "demo")]
    pub demo_tenant: String,

    /// Your apps' origins, comma-separated (`https://app.example.com`): the only sites that may
    /// frame the hosted page at `/web/`, receive its `postMessage` events, and be its return
    /// URL. None: the page cannot be framed by another site and returns nowhere. (The module
    /// `/web/livegate-web.js` can be embedded by any page: it is public code.)
    #[arg(long, env = "LIVEGATE_WEB_ORIGINS", value_delimiter = ',')]
    pub web_origins: Vec<WebOrigin>,

    /// Keep sessions in this Redis (`redis://host:6379`, `rediss://` for TLS,
    /// `redis+unix:///path/redis.sock`; a password as `redis://:password@host`), shared by every
    /// replica that uses it. None: in this process's memory (one replica only).
    #[arg(long, env = "LIVEGATE_REDIS_URL")]
    pub redis_url: Option<RedisUrl>,

    /// PEM certificate of the authority that signed Redis's certificate (`rediss://` only), for
    /// a Redis with its own CA. None: the system's trusted roots.
    #[arg(long, env = "LIVEGATE_REDIS_TLS_CA")]
    pub redis_tls_ca: Option<PathBuf>,

    /// PEM client certificate presented to Redis (`rediss://` only), for a Redis that asks for
    /// one (`tls-auth-clients yes`, Redis's default when TLS is on).
    #[arg(long, env = "LIVEGATE_REDIS_TLS_CERT", requires = "redis_tls_key")]
    pub redis_tls_cert: Option<PathBuf>,

    /// PEM private key of `--redis-tls-cert`.
    #[arg(long, env = "LIVEGATE_REDIS_TLS_KEY", requires = "redis_tls_cert")]
    pub redis_tls_key: Option<PathBuf>,

    /// OTLP/gRPC endpoint (an OpenTelemetry collector, e.g. `http://otel-collector:4317`) that
    /// receives the server's traces. Without it, the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or
    /// `_TRACES_ENDPOINT`) is used; with neither, no traces are exported (see `telemetry`).
    #[arg(long, env = "LIVEGATE_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// The `service.name` of the exported traces (default: `OTEL_SERVICE_NAME`, else
    /// `livegate`).
    #[arg(long, env = "LIVEGATE_SERVICE_NAME")]
    pub service_name: Option<String>,

    /// Sessions each API key may create per minute, on average.
    #[arg(long, env = "LIVEGATE_SESSIONS_PER_MINUTE", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub sessions_per_minute: u32,

    /// Sessions each API key may create in a burst, above its per-minute rate.
    #[arg(long, env = "LIVEGATE_SESSION_BURST", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub session_burst: u32,

    /// Identity checks (compare-faces, KYC) each API key may make per minute, on average.
    #[arg(
        long,
        env = "LIVEGATE_IDENTITY_CHECKS_PER_MINUTE",
        default_value_t = 120,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub identity_checks_per_minute: u32,

    /// Identity checks each API key may make in a burst, above its per-minute rate.
    #[arg(long, env = "LIVEGATE_IDENTITY_CHECK_BURST", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub identity_check_burst: u32,

    /// Largest REST request body, and largest gRPC or WebSocket message besides frames, bytes.
    #[arg(long, env = "LIVEGATE_MAX_REQUEST_BYTES", default_value_t = 16 * 1024 * 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_request_bytes: u32,

    /// Which backend runs the models: `auto` (onnxruntime for the models it runs faster, when
    /// its pinned library is in the model directory; tract otherwise), `tract` (every model),
    /// `onnxruntime` (refuses to start without the library). The choice is logged at start.
    #[arg(long, env = "LIVEGATE_INFERENCE", value_enum, default_value = "auto")]
    pub inference: InferenceArg,

    /// Directory holding the model files (see engine/assets/models.toml).
    /// Default: $LIVEGATE_CACHE_DIR/models, else ~/.cache/livegate/models.
    #[arg(long, env = "LIVEGATE_MODEL_DIR")]
    pub model_dir: Option<PathBuf>,

    /// How long a created session may wait for its stream.
    #[arg(long, env = "LIVEGATE_SESSION_TTL", default_value = "10m", value_parser = positive_duration)]
    pub session_ttl: Duration,

    /// How long a finished session's images are kept (reference and audit images).
    /// Default: the session TTL, counted from the session's creation.
    #[arg(long, env = "LIVEGATE_IMAGE_RETENTION", value_parser = humantime::parse_duration)]
    pub image_retention: Option<Duration>,

    /// How long a finished session's result (without images) can still be read and verified.
    #[arg(long, env = "LIVEGATE_RESULT_RETENTION", default_value = "24h", value_parser = positive_duration)]
    pub result_retention: Duration,

    /// Default confidence (0-100) at or above which a session is live.
    #[arg(long, env = "LIVEGATE_CONFIDENCE_THRESHOLD", default_value_t = 90.0, value_parser = percent)]
    pub confidence_threshold: f32,

    /// Challenge kinds the random plans draw from (comma-separated): turn-left, turn-right,
    /// look-up, blink, move-closer (any case, `_` or `-`).
    #[arg(
        long,
        env = "LIVEGATE_CHALLENGE_KINDS",
        value_delimiter = ',',
        value_parser = plan_kind,
        default_value = "turn-left,turn-right,look-up,blink,move-closer"
    )]
    pub challenge_kinds: Vec<ChallengeKind>,

    /// The light step (the client fills its screen with a random colour sequence and the face
    /// must reflect it): `when-capable` begins the plan of every client whose `start` declares
    /// `can_show_colour` (the web page, phone apps) with it; `required` also refuses clients
    /// that cannot (LIGHT_STEP_UNSUPPORTED, 2017); `off` leaves it to sessions that ask for it
    /// (`lightStep`). `true` and `false` are read as `required` and `off`.
    #[arg(
        long,
        env = "LIVEGATE_LIGHT_STEP",
        value_enum,
        default_value = "when-capable"
    )]
    pub light_step: LightPolicyArg,

    /// Tell the streaming device the verdict: live or not, confidence and reasons. Off by
    /// default: the device is untrusted, and an attacker who learns which attempt passed and
    /// why can tune the next one; the device then learns only that the attempt is complete and
    /// the customer's backend reads the result with its key. `--demo true` turns it on.
    #[arg(long, env = "LIVEGATE_DISCLOSE_VERDICT", default_value_t = false, action = clap::ArgAction::Set)]
    pub disclose_verdict: bool,

    /// Client attestation (README, "Client attestation"): `off` ignores it; `observe` has the
    /// verifier check every token a stream brings and counts the answers
    /// (`livegate_attestation_total`) without changing a verdict; `required` refuses a stream
    /// that brings none (ATTESTATION_REQUIRED, 2020) and makes a session whose token the verifier
    /// did not accept, or did not answer for in time, not live. Off by default: browsers cannot
    /// attest, and the web page would be refused.
    #[arg(long, env = "LIVEGATE_ATTESTATION", value_enum, default_value = "off")]
    pub attestation: AttestationPolicy,

    /// The deployment's attestation verifier, `http://host[:port][/path]`: the server posts it
    /// `{sessionId, challenge, kind, token}` (JSON, token in base64) and reads `{"valid": bool}`.
    #[arg(
        long,
        env = "LIVEGATE_ATTESTATION_VERIFIER",
        required_if_eq_any = [("attestation", "observe"), ("attestation", "required")]
    )]
    pub attestation_verifier: Option<VerifierUrl>,

    /// Sent to the verifier as `Authorization: Bearer …`, so that it answers only this server
    /// (at least 16 characters; never printed).
    #[arg(long, env = "LIVEGATE_ATTESTATION_VERIFIER_TOKEN")]
    pub attestation_verifier_token: Option<BearerToken>,

    /// Longest the verifier may take to answer; no answer by then counts as unavailable (under
    /// `required`, not live). It runs beside the stream, so a session rarely waits for it.
    #[arg(long, env = "LIVEGATE_ATTESTATION_TIMEOUT", default_value = "5s", value_parser = positive_duration)]
    pub attestation_timeout: Duration,

    /// Fewest steps in a plan (2-4). Three by default: a replayed video fulfilled a random
    /// two-step plan (a blink, then a look-up) by chance in 1 of 10 PAD sessions.
    #[arg(long, env = "LIVEGATE_MIN_CHALLENGE_STEPS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..=4))]
    pub min_challenge_steps: u32,

    /// Most steps in a plan (2-4).
    #[arg(long, env = "LIVEGATE_MAX_CHALLENGE_STEPS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..=4))]
    pub max_challenge_steps: u32,

    /// Run the passive anti-spoofing model on each attempt's reference face (0.2–0.4 s of a core
    /// per attempt, on its own threads, see `--passive-workers`; it moves confidence by 4 points
    /// at most). Off by default: in the PAD report it called flat none of the attacks the other
    /// signals let through (`livegate-pad --passive-scores`, clients/pad/README.md), so it cost
    /// every session for nothing.
    #[arg(long, env = "LIVEGATE_ANTISPOOF", default_value_t = false, action = clap::ArgAction::Set)]
    pub antispoof: bool,

    /// Threads for the passive model when `--antispoof` is on, apart from the engine's frame
    /// slots: a session's crop starts when its first step is done, and is skipped (the verdict
    /// goes without it) when all of them are busy.
    #[arg(long, env = "LIVEGATE_PASSIVE_WORKERS", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub passive_workers: u64,

    /// Time allowed for each challenge step. Short on purpose: a replayed video passes a step when
    /// it happens to make the movement in time (3 of 10 replays passed with 10 s), while our
    /// cooperative clips finish each step within 2.7 s of being asked.
    #[arg(long, env = "LIVEGATE_STEP_TIME_LIMIT", default_value = "5s", value_parser = positive_duration)]
    pub step_time_limit: Duration,

    /// Largest frame accepted, in bytes.
    #[arg(long, env = "LIVEGATE_MAX_FRAME_BYTES", default_value_t = 2 * 1024 * 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_frame_bytes: u32,

    /// Frames per second analysed at most; faster frames (by their timestamps) are dropped, and
    /// more than twice this many within a second end the stream with FRAME_RATE_EXCEEDED (2007).
    #[arg(long, env = "LIVEGATE_MAX_FPS", default_value_t = 30.0, value_parser = positive_rate)]
    pub max_fps: f32,

    /// Frames a stream may send in all.
    #[arg(long, env = "LIVEGATE_MAX_FRAMES", default_value_t = 3600, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_frames: u32,

    /// Longest a stream may last; then it ends with STREAM_DURATION_EXCEEDED (2009) and the
    /// session is FAILED.
    #[arg(long, env = "LIVEGATE_MAX_STREAM_DURATION", default_value = "2m", value_parser = positive_duration)]
    pub max_stream_duration: Duration,

    /// On SIGTERM, how long running streams may go on before they are ended (new sessions and
    /// streams are refused at once). Keep it below the orchestrator's grace period.
    #[arg(long, env = "LIVEGATE_DRAIN_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,

    /// Time a stream may go without sending a frame while the server waits for one (after
    /// `start`; a frame being analysed does not count against it).
    #[arg(long, env = "LIVEGATE_STREAM_IDLE_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub stream_idle_timeout: Duration,

    /// On SIGTERM, how long the listeners stay open while readiness reports 503 and new calls
    /// are answered 5002, so that load balancers see the replica leave before its connections
    /// are refused (at most the drain timeout).
    #[arg(long, env = "LIVEGATE_DRAIN_GRACE", default_value = "5s", value_parser = humantime::parse_duration)]
    pub drain_grace: Duration,

    /// How long a stream's claim on its session lasts unless its replica renews it (every third
    /// of it). A replica that dies mid-stream leaves its session FAILED with `STREAM_LOST` this
    /// long after its last renewal, readable on every replica.
    #[arg(long, env = "LIVEGATE_STREAM_LEASE", default_value = "30s", value_parser = parse_lease)]
    pub stream_lease: Duration,

    /// Outcomes held in memory (with their images) while the session store is away, retried
    /// until it takes them; past this many an outcome is lost (logged and counted).
    #[arg(long, env = "LIVEGATE_OUTCOME_QUEUE", default_value_t = crate::outcomes::DEFAULT_QUEUE, value_parser = at_least_one)]
    pub outcome_queue: usize,

    /// Time a stream has to send its `start` message.
    #[arg(long, env = "LIVEGATE_START_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub start_timeout: Duration,

    /// Frames analysed at once across all streams (default: the number of CPU cores).
    #[arg(long, env = "LIVEGATE_ENGINE_WORKERS", value_parser = at_least_one)]
    pub engine_workers: Option<usize>,

    /// Identity checks (compare-faces, KYC) in flight at once, both transports together; more
    /// are refused at once with 5001 (REST 429 and Retry-After). Default: twice the engine
    /// workers.
    #[arg(long, env = "LIVEGATE_MAX_IDENTITY_REQUESTS", value_parser = at_least_one)]
    pub max_identity_requests: Option<usize>,

    /// Open connections in all, gRPC, REST and metrics together; more are closed at once. Keep
    /// it below the process's open-file limit (`ulimit -n`, often 1,024).
    #[arg(long, env = "LIVEGATE_MAX_CONNECTIONS", default_value_t = 900, value_parser = at_least_one)]
    pub max_connections: usize,

    /// Open connections from one peer address; more are closed at once. Behind a proxy or a
    /// load balancer that does not keep client addresses, raise it to `max_connections`.
    #[arg(long, env = "LIVEGATE_MAX_CONNECTIONS_PER_PEER", default_value_t = 64, value_parser = at_least_one)]
    pub max_connections_per_peer: usize,

    /// Time a new connection has to open its first request (and, on REST, to send a request's
    /// headers, or to send another on a kept-alive connection).
    #[arg(long, env = "LIVEGATE_HANDSHAKE_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub handshake_timeout: Duration,
}

/// A duration that must not be zero: a limit or a lifetime of nothing would refuse every
/// session, stream or connection while the server looked up.
fn positive_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if d.is_zero() {
        return Err("must be longer than 0s".into());
    }
    Ok(d)
}

/// A count that must be at least one (workers, connections, queue places).
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A confidence on the API's 0–100 scale.
fn percent(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(v),
        Ok(v) => Err(format!("{v} is not in 0-100")),
        Err(e) => Err(e.to_string()),
    }
}

/// A rate above zero (frames a second).
fn positive_rate(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(v) => Err(format!("{v} is not above 0")),
        Err(e) => Err(e.to_string()),
    }
}

/// A stream lease: at least a second, so that renewals (a third of it) are not a busy loop.
fn parse_lease(s: &str) -> Result<Duration, String> {
    let lease = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if lease < Duration::from_secs(1) {
        return Err("a stream lease is at least 1s".into());
    }
    Ok(lease)
}

/// The inference backend choice as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InferenceArg {
    Auto,
    Tract,
    Onnxruntime,
}

impl From<InferenceArg> for BackendChoice {
    fn from(i: InferenceArg) -> Self {
        match i {
            InferenceArg::Auto => BackendChoice::Auto,
            InferenceArg::Tract => BackendChoice::Tract,
            InferenceArg::Onnxruntime => BackendChoice::OnnxRuntime,
        }
    }
}

/// An origin of the deployment's own apps (`--web-origins`): `scheme://host[:port]`, http or
/// https, nothing after the host. Kept as the browser writes origins (lower case, no default
/// port), since the page compares it with `URL.origin` and CSP with the framing page's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebOrigin(String);

impl WebOrigin {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for WebOrigin {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wrong = || format!("{s:?} is not an origin like https://app.example.com[:port]");
        let lower = s.trim().trim_end_matches('/').to_ascii_lowercase();
        let (scheme, rest) = lower.split_once("://").ok_or_else(wrong)?;
        let default_port = match scheme {
            "https" => "443",
            "http" => "80",
            _ => return Err(wrong()),
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && !port.contains(']') => (host, Some(port)),
            _ => (rest, None),
        };
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.[]:".contains(c));
        let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
        if !host_ok || !port_ok {
            return Err(wrong());
        }
        Ok(WebOrigin(match port {
            Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
            _ => format!("{scheme}://{host}"),
        }))
    }
}

/// The light policy as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LightPolicyArg {
    #[value(alias = "false")]
    Off,
    WhenCapable,
    #[value(alias = "true")]
    Required,
}

impl From<LightPolicyArg> for LightPolicy {
    fn from(p: LightPolicyArg) -> Self {
        match p {
            LightPolicyArg::Off => LightPolicy::Off,
            LightPolicyArg::WhenCapable => LightPolicy::WhenCapable,
            LightPolicyArg::Required => LightPolicy::Required,
        }
    }
}

/// A kind random plans may draw, by name (`turn-left`, `MOVE_CLOSER`: see
/// [`ChallengeKind`]'s `FromStr`): any but the light step, which `--light-step` governs.
fn plan_kind(text: &str) -> Result<ChallengeKind, String> {
    match text.parse()? {
        ChallengeKind::Light => Err("the light step is set by --light-step, not drawn".into()),
        kind => Ok(kind),
    }
}

impl Config {
    /// What no single flag can say wrong: the plan's step counts against each other and against
    /// the kinds it may draw (each step is a different kind), and images kept no longer than
    /// their session. Checked at start, so that a deployment never runs shorter plans than it was
    /// told to, nor keeps a face after the session it belongs to is gone.
    pub fn check(&self) -> Result<(), String> {
        // A session's record lives until the later of its TTL and its result retention, both
        // counted from its creation; in Redis its images are keys of their own, with their own
        // lifetime, which nothing would then cut short.
        let record = self.session_ttl.max(self.result_retention);
        if self.image_retention() > record {
            return Err(format!(
                "--image-retention ({}) is longer than a session is kept (--session-ttl {}, --result-retention {}): its images would outlive it",
                humantime::format_duration(self.image_retention()),
                humantime::format_duration(self.session_ttl),
                humantime::format_duration(self.result_retention)
            ));
        }
        let kinds = self.distinct_kinds();
        if self.min_challenge_steps > self.max_challenge_steps {
            return Err(format!(
                "--min-challenge-steps ({}) is above --max-challenge-steps ({})",
                self.min_challenge_steps, self.max_challenge_steps
            ));
        }
        if kinds.len() < self.min_challenge_steps as usize {
            return Err(format!(
                "--challenge-kinds names {} kind(s), fewer than the {} steps of --min-challenge-steps: each step is a different kind",
                kinds.len(),
                self.min_challenge_steps
            ));
        }
        Ok(())
    }

    /// `--challenge-kinds` without repeats, in the order given.
    fn distinct_kinds(&self) -> Vec<ChallengeKind> {
        let mut kinds: Vec<ChallengeKind> = Vec::new();
        for &k in &self.challenge_kinds {
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        kinds
    }

    /// The deployment's plan rule: which kinds, how many steps, how long each may take.
    pub fn plan_config(&self) -> PlanConfig {
        let kinds = self.distinct_kinds();
        let max = (self.max_challenge_steps as usize).min(kinds.len());
        PlanConfig {
            min_steps: (self.min_challenge_steps as usize).min(max),
            max_steps: max,
            kinds,
            step_time_limit_ms: self.step_time_limit.as_millis() as u32,
            light: self.light_step.into(),
        }
    }

    /// Largest message a stream may send: a frame at its limit plus room for the envelope.
    pub fn max_stream_message_bytes(&self) -> usize {
        self.max_frame_bytes as usize * 2 + 64 * 1024
    }

    /// The files of the TLS connection to Redis, as configured.
    pub fn redis_tls(&self) -> RedisTlsFiles {
        RedisTlsFiles {
            ca: self.redis_tls_ca.clone(),
            client: self.redis_tls_cert.clone().zip(self.redis_tls_key.clone()),
        }
    }

    pub fn image_retention(&self) -> Duration {
        self.image_retention.unwrap_or(self.session_ttl)
    }

    pub fn engine_workers(&self) -> usize {
        // At least one either way: the flag refuses 0, and a machine has a core.
        self.engine_workers.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
    }

    pub fn model_dir(&self) -> PathBuf {
        self.model_dir
            .clone()
            .unwrap_or_else(livegate_engine::models::default_model_dir)
    }

    /// Whether stream verdicts carry the outcome (see `disclose_verdict`).
    pub fn discloses_verdict(&self) -> bool {
        self.disclose_verdict || self.demo
    }

    pub fn max_identity_requests(&self) -> usize {
        self.max_identity_requests
            .unwrap_or(2 * self.engine_workers())
            .max(1)
    }

    /// The bounds on connections ([`crate::connections`]).
    pub fn connection_limits(&self) -> crate::connections::ConnectionLimits {
        crate::connections::ConnectionLimits {
            max_open: self.max_connections,
            max_per_peer: self.max_connections_per_peer,
            handshake_timeout: self.handshake_timeout,
        }
    }

    /// The defaults, as `livegate-server` with no flags and no environment would run.
    pub fn defaults() -> Self {
        Config::parse_from(["livegate-server"])
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Config, WebOrigin};

    fn parse(args: &[&str]) -> Result<Config, String> {
        let config =
            Config::try_parse_from(std::iter::once("livegate-server").chain(args.iter().copied()))
                .map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    #[test]
    fn a_configuration_that_could_never_serve_is_refused_at_start() {
        assert!(parse(&[]).is_ok(), "the defaults");
        for args in [
            &["--confidence-threshold", "150"][..],
            &["--max-fps", "0"],
            &["--engine-workers", "0"],
            &["--max-connections", "0"],
            &["--max-frame-bytes", "0"],
            &["--max-frames", "0"],
            &["--sessions-per-minute", "0"],
            &["--session-ttl", "0s"],
            &["--step-time-limit", "0s"],
            &["--stream-idle-timeout", "0s"],
            &["--outcome-queue", "0"],
        ] {
            let refused = parse(args).expect_err(&format!("{args:?} was accepted"));
            assert!(refused.contains(args[0]), "{args:?}: {refused}");
        }
        // Zero is a real choice where it means "at once": drain, keep no images.
        assert!(parse(&["--drain-timeout", "0s", "--image-retention", "0s"]).is_ok());
    }

    #[test]
    fn images_are_never_kept_longer_than_their_session() {
        assert!(
            parse(&["--image-retention", "24h"]).is_ok(),
            "as long as the result"
        );
        let refused = parse(&["--image-retention", "48h"]).unwrap_err();
        assert!(refused.contains("would outlive it"), "{refused}");
        let refused = parse(&[
            "--image-retention",
            "2h",
            "--result-retention",
            "1h",
            "--session-ttl",
            "10m",
        ])
        .unwrap_err();
        assert!(refused.contains("--image-retention (2h)"), "{refused}");
    }

    #[test]
    fn plans_are_never_shorter_than_the_deployment_says() {
        let refused = parse(&["--challenge-kinds", "blink,turn-left"]).unwrap_err();
        assert!(
            refused.contains("--challenge-kinds names 2 kind(s)"),
            "{refused}"
        );
        let refused =
            parse(&["--min-challenge-steps", "4", "--max-challenge-steps", "3"]).unwrap_err();
        assert!(refused.contains("above --max-challenge-steps"), "{refused}");
        // Two kinds for a two-step deployment is enough.
        let config = parse(&[
            "--challenge-kinds",
            "blink,look-up",
            "--min-challenge-steps",
            "2",
            "--max-challenge-steps",
            "2",
        ])
        .unwrap();
        assert_eq!(config.plan_config().min_steps, 2);
    }

    fn origin(s: &str) -> Result<String, String> {
        s.parse::<WebOrigin>().map(|o| o.as_str().to_string())
    }

    #[test]
    fn web_origins_are_kept_as_browsers_write_them() {
        assert_eq!(
            origin("https://App.Example.com/").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            origin("https://app.example.com:443").unwrap(),
            "https://app.example.com"
        );
        assert_eq!(
            origin("http://127.0.0.1:8081").unwrap(),
            "http://127.0.0.1:8081"
        );
        assert_eq!(origin("http://[::1]:9000").unwrap(), "http://[::1]:9000");
    }

    #[test]
    fn anything_but_an_origin_is_refused() {
        for bad in [
            "app.example.com",
            "ftp://app.example.com",
            "https://app.example.com/path",
            "https://app.example.com:0",
            "https://app.example.com:99999",
            "https://",
            "https://a b.com",
            "https://app.example.com;script-src *",
        ] {
            assert!(origin(bad).is_err(), "{bad} was accepted");
        }
    }
}
