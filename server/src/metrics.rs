//! Prometheus metrics, served at `GET /metrics` on a port of their own (`--metrics-addr`, not the
//! API's), as OpenMetrics text, which Prometheus scrapes as it is. Nothing there needs a key, so
//! the port belongs inside the network, next to the scraper.
//!
//! One registry per process, as Prometheus scrapes processes (and as the tracing subscriber is
//! one per process): [`metrics()`] reaches it from the few places that count, without threading
//! it through every call. The names, documented for operators:
//!
//! | metric | type | labels | what it counts |
//! |---|---|---|---|
//! | `livegate_active_streams` | gauge | | streams between `start` and their end |
//! | `livegate_frames_analysed_total` | counter | | frames the engine analysed |
//! | `livegate_frames_dropped_total` | counter | | frames not analysed (engine busy, or faster than `max_fps`) |
//! | `livegate_stage_seconds` | histogram | `stage` | engine time per analysed frame and stage (`decode`, `detect`, `landmarks`, `pose`, `eyes`, `quality`, `identity`, `parallax`, `light`, `outline`, `verdict`, `total`); `passive`: the passive model's run on its own threads, per crop |
//! | `livegate_passive_total` | counter | `outcome` | passive model crops (with `--antispoof`): `scored` (in the verdict), `late` (the verdict came first), `skipped_busy` (every passive worker busy), `failed` |
//! | `livegate_attestation_total` | counter | `outcome` | streams' client attestations (with `LIVEGATE_ATTESTATION` `observe` or `required`): `valid`, `invalid` (the verifier refused the token), `absent` (no token), `unavailable` (the verifier did not answer in time, or not as agreed) |
//! | `livegate_verdicts_total` | counter | `outcome` | finished streams: `live`, `not_live`, or `error` (ended by a limit or a broken protocol) |
//! | `livegate_verdict_reasons_total` | counter | `reason` | each reason a verdict carried (`CHALLENGE_TIMEOUT`, `NO_PARALLAX`, …, or the error code's name) |
//! | `livegate_sessions_created_total` | counter | | sessions created |
//! | `livegate_sessions_expired_total` | counter | | sessions that expired before anyone streamed into them |
//! | `livegate_errors_total` | counter | `code` | errors answered, by our error code's name (`SESSION_NOT_FOUND`, …) |
//! | `livegate_connections_refused_total` | counter | | connections closed on arrival: over `max_connections` in all or per peer address |
//! | `livegate_outcomes_held` | gauge | | outcomes held in this replica because the session store was away when their stream ended (retried until stored) |
//! | `livegate_outcomes_lost_total` | counter | | outcomes never stored: the hold queue was full, or the store refused them for good |
//! | `livegate_streams_lost_total` | counter | | sessions found FAILED with `STREAM_LOST`: their stream's lease lapsed (counted by the replica that found it) |

use std::sync::LazyLock;

use livegate_engine::StageTimings;
use livegate_proto::v1::ErrorCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The metrics port's routes: `GET /metrics`, and nothing else.
pub fn router() -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            (
                [(http::header::CONTENT_TYPE, CONTENT_TYPE)],
                metrics().render(),
            )
        }),
    )
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Stage {
    stage: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Code {
    code: &'static str,
}

/// 0.5 ms to ~4 s, doubling: a followed frame's landmarks take a few ms, a detection tens, the
/// anti-spoofing model seconds.
fn stage_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

pub struct Metrics {
    registry: Registry,
    active_streams: Gauge,
    frames_analysed: Counter,
    frames_dropped: Counter,
    stage_seconds: Family<Stage, Histogram>,
    verdicts: Family<Outcome, Counter>,
    verdict_reasons: Family<Reason, Counter>,
    sessions_created: Counter,
    sessions_expired: Counter,
    errors: Family<Code, Counter>,
    connections_refused: Counter,
    outcomes_held: Gauge,
    outcomes_lost: Counter,
    streams_lost: Counter,
    passive: Family<Outcome, Counter>,
    attestations: Family<Outcome, Counter>,
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

impl Metrics {
    /// Long only by its list: one handle and one registration per metric, in the order
    /// `/metrics` shows them.
    fn new() -> Self {
        // Each handle shares its value with the clone the registry keeps.
        let active_streams = Gauge::default();
        let frames_analysed = Counter::default();
        let frames_dropped = Counter::default();
        let stage_seconds = Family::new_with_constructor(stage_histogram as fn() -> Histogram);
        let verdicts = Family::default();
        let verdict_reasons = Family::default();
        let sessions_created = Counter::default();
        let sessions_expired = Counter::default();
        let errors = Family::default();
        let passive = Family::default();
        let attestations = Family::default();
        let connections_refused = Counter::default();
        let outcomes_held = Gauge::default();
        let outcomes_lost = Counter::default();
        let streams_lost = Counter::default();
        let mut registry = Registry::with_prefix("livegate");
        registry.register(
            "active_streams",
            "Streams between start and their end",
            active_streams.clone(),
        );
        registry.register(
            "frames_analysed",
            "Frames the engine analysed",
            frames_analysed.clone(),
        );
        registry.register(
            "frames_dropped",
            "Frames received but not analysed (engine busy, or faster than max_fps)",
            frames_dropped.clone(),
        );
        registry.register(
            "stage_seconds",
            "Engine time per analysed frame, by stage",
            stage_seconds.clone(),
        );
        registry.register(
            "verdicts",
            "Finished streams by outcome: live, not_live, error",
            verdicts.clone(),
        );
        registry.register(
            "verdict_reasons",
            "Reasons carried by verdicts (or the error that ended the stream)",
            verdict_reasons.clone(),
        );
        registry.register(
            "sessions_created",
            "Sessions created",
            sessions_created.clone(),
        );
        registry.register(
            "sessions_expired",
            "Sessions that expired before a stream claimed them",
            sessions_expired.clone(),
        );
        registry.register("errors", "Errors answered, by error code", errors.clone());
        registry.register(
            "passive",
            "Passive model crops by outcome: scored, late, skipped_busy, failed",
            passive.clone(),
        );
        registry.register(
            "attestation",
            "Client attestations verified, by outcome: valid, invalid, absent, unavailable",
            attestations.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections closed on arrival: over the open-connection cap, in all or per peer",
            connections_refused.clone(),
        );
        registry.register(
            "outcomes_held",
            "Outcomes held in this replica until the session store takes them",
            outcomes_held.clone(),
        );
        registry.register(
            "outcomes_lost",
            "Outcomes never stored: hold queue full, or refused by the store",
            outcomes_lost.clone(),
        );
        registry.register(
            "streams_lost",
            "Sessions found FAILED with STREAM_LOST: their stream's lease lapsed",
            streams_lost.clone(),
        );
        Metrics {
            registry,
            active_streams,
            frames_analysed,
            frames_dropped,
            stage_seconds,
            verdicts,
            verdict_reasons,
            sessions_created,
            sessions_expired,
            errors,
            connections_refused,
            outcomes_held,
            outcomes_lost,
            streams_lost,
            passive,
            attestations,
        }
    }

    /// Counts a stream as active until the guard is dropped.
    pub fn stream_started(&'static self) -> ActiveStream {
        self.active_streams.inc();
        ActiveStream(self)
    }

    pub fn frame_analysed(&self, timings: &StageTimings) {
        self.frames_analysed.inc();
        let stages = timings.stages();
        for (stage, us) in stages.into_iter().chain([("total", timings.total_us())]) {
            self.stage_seconds
                .get_or_create(&Stage { stage })
                .observe(us as f64 / 1e6);
        }
    }

    /// A passive model crop's outcome (see the table above).
    pub fn passive(&self, outcome: &'static str) {
        self.passive.get_or_create(&Outcome { outcome }).inc();
    }

    /// A stream's client attestation, as the verifier judged it (see the table above).
    pub fn attestation(&self, outcome: &'static str) {
        self.attestations.get_or_create(&Outcome { outcome }).inc();
    }

    /// Time the passive model took on one crop, on its own thread.
    pub fn passive_stage(&self, took: std::time::Duration) {
        self.stage_seconds
            .get_or_create(&Stage { stage: "passive" })
            .observe(took.as_secs_f64());
    }

    pub fn connection_refused(&self) {
        self.connections_refused.inc();
    }

    /// Counts an outcome as held until the guard is dropped.
    pub fn outcome_held(&'static self) -> HeldOutcome {
        self.outcomes_held.inc();
        HeldOutcome(self)
    }

    pub fn outcome_lost(&self) {
        self.outcomes_lost.inc();
    }

    pub fn stream_lost(&self) {
        self.streams_lost.inc();
    }

    pub fn frame_dropped(&self) {
        self.frames_dropped.inc();
    }

    /// A finished stream: `live`, or not, or ended by an error; with its reasons.
    pub fn verdict(&self, outcome: &'static str, reasons: &[String]) {
        self.verdicts.get_or_create(&Outcome { outcome }).inc();
        for reason in reasons {
            self.verdict_reasons
                .get_or_create(&Reason {
                    reason: reason.clone(),
                })
                .inc();
        }
    }

    pub fn session_created(&self) {
        self.sessions_created.inc();
    }

    pub fn session_expired(&self) {
        self.sessions_expired.inc();
    }

    pub fn error(&self, code: ErrorCode) {
        self.errors
            .get_or_create(&Code {
                code: code.api_name(),
            })
            .inc();
    }

    /// The metrics as OpenMetrics text.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// An active stream; dropping it (however the stream ends) counts it out.
pub struct ActiveStream(&'static Metrics);

impl Drop for ActiveStream {
    fn drop(&mut self) {
        self.0.active_streams.dec();
    }
}

/// An outcome held for retries; dropping it (stored or given up) counts it out.
pub struct HeldOutcome(&'static Metrics);

impl Drop for HeldOutcome {
    fn drop(&mut self) {
        self.0.outcomes_held.dec();
    }
}
