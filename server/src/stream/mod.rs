//! One `StreamSession` call, whichever transport carries it (gRPC, or a WebSocket): the first
//! message claims the session ([`accept`]), then frames flow through the engine and events flow
//! back ([`run`]), until a verdict, a limit or the client's end ([`conclude`]). The driver speaks
//! only our own types: client messages come in as [`Inbound`] items, answers and the error that
//! ends a stream go out as [`Outbound`] items; the gRPC service turns an error into a `Status`,
//! the WebSocket into a close frame.
//!
//! A `light_shown` report (the client's account of a light step) is handed to the attempt as
//! soon as no frame is being analysed; a report for a step that is not the current light step,
//! or with colours that are not 0xRRGGBB, breaks the protocol (STREAM_PROTOCOL_VIOLATION).
//!
//! Backpressure: the engine analyses one frame of a stream at a time. A frame that arrives while
//! one is being analysed waits in a one-frame slot; a newer frame replaces it and the older one
//! is counted as dropped (reported in feedback). Nothing queues without bound.
//!
//! Limits ([`admission`]), each ending the stream with its code: frame size (FRAME_TOO_LARGE),
//! frames in all (TOO_MANY_FRAMES), duration (STREAM_DURATION_EXCEEDED), silence (STREAM_IDLE:
//! no frame for `stream_idle_timeout` while the server waits for one), and rate
//! (FRAME_RATE_EXCEEDED) when more than twice `max_fps` frames fall within one second of the
//! frames' own timestamps, or more than four times `max_fps` arrive within one second of the
//! server's clock while another frame is still waiting or in the engine (a lock-step client that
//! sends a recorded video as fast as it is answered is paced by the engine, however fast that
//! is). Below that, frames closer than `1 / max_fps` by their timestamps are skipped and counted
//! as dropped: cameras jitter. Engine work goes through [`crate::engine::Engine::run`], at most
//! `engine_workers` jobs at once across all streams and identity checks.

mod accept;
mod admission;
mod analysis;
mod conclude;
mod events;

use std::time::SystemTime;

use livegate_engine::challenge::LightPolicy;
use livegate_engine::light::ShownFlash;
use livegate_engine::{AttemptConfig, AttemptEvent, ChallengePlan, LivenessAttempt};
use livegate_proto::v1 as pb;
use pb::stream_session_request::Message as In;
use pb::stream_session_response::Message as Out;
use tokio::sync::mpsc;
use tokio_stream::{Stream, StreamExt};
use tracing::Instrument;

pub use accept::{Accepted, accept};
pub use conclude::UNDISCLOSED_VERDICT;

use crate::convert;
use crate::error::ApiError;
use crate::metrics::metrics;
use crate::passive::PassiveScoring;
use crate::sessions::{LeaseKeeper, Session};
use crate::state::AppState;
use admission::{Admission, FrameAdmission};
use analysis::{Analysed, FrameJob};
use conclude::End;
use events::EventSender;

/// Where a stream's answers go, and at the end, the error that ended it (if one did).
pub type Outbound = mpsc::Sender<Result<pb::StreamSessionResponse, ApiError>>;

/// Why a client message could not be read, in our terms: each transport translates its own
/// errors ([`crate::service`] for gRPC, [`crate::rest::ws`] for WebSocket), so a stream ends
/// with the same code whichever carried it.
#[derive(Debug)]
pub enum InboundError {
    /// The client sent what the protocol refuses (an undecodable or oversized message, a
    /// `start` for another session): the stream ends with this error's code.
    Refused(ApiError),
    /// The transport ended abnormally (the client went away): the stream ends as if the client
    /// had closed it.
    Broken(String),
}

/// Client messages of one stream, from whichever transport carries them (a gRPC stream, or
/// WebSocket binary frames decoded by [`crate::rest::ws`]).
pub trait Inbound:
    Stream<Item = Result<pb::StreamSessionRequest, InboundError>> + Unpin + Send
{
}

impl<T: Stream<Item = Result<pb::StreamSessionRequest, InboundError>> + Unpin + Send> Inbound
    for T
{
}

/// Runs an accepted stream on its own task, in a `stream` span inside the caller's.
pub fn spawn(state: AppState, accepted: Accepted, inbound: impl Inbound + 'static, out: Outbound) {
    let span = tracing::info_span!("stream", session = %accepted.session.id);
    tokio::spawn(run(state, accepted, inbound, out).instrument(span));
}

/// Drives an accepted stream to its end and records the outcome in the session store: read a
/// message, let the driver take it, until something ends the stream.
pub async fn run(state: AppState, accepted: Accepted, mut inbound: impl Inbound, out: Outbound) {
    let Accepted {
        session,
        client,
        attestation,
    } = accepted;
    let _active = metrics().stream_started();
    let _running = state.lifecycle.stream_started();
    // Held until the outcome is recorded (or the task ends some other way).
    let lease = LeaseKeeper::start(state.sessions.clone(), session.id.clone());
    let config = &state.config;
    let mut driver = Driver::begin(&state, &session, &client, EventSender::new(out)).await;

    let ending = state.lifecycle.ending();
    tokio::pin!(ending);
    let deadline = tokio::time::sleep(config.max_stream_duration);
    tokio::pin!(deadline);
    // Reset by every message, and by every answer (a lock-step client waits for it).
    let idle_deadline = || tokio::time::Instant::now() + config.stream_idle_timeout;
    let idle = tokio::time::sleep_until(idle_deadline());
    tokio::pin!(idle);
    let end = loop {
        if let Err(e) = driver.hand_over_light_report() {
            break End::Failed(e);
        }
        driver.start_next_frame();
        if driver.job.is_none() && !driver.inbound_open {
            break End::Left;
        }
        let step = tokio::select! {
            message = inbound.next(), if driver.inbound_open => driver.on_message(message),
            analysed = driver.analysed(), if driver.job.is_some() => driver.on_analysed(analysed).await,
            _ = &mut deadline => Step::End(End::Failed(ApiError::StreamDurationExceeded(
                config.max_stream_duration.as_secs(),
            ))),
            _ = &mut idle, if driver.waits_for_client() => Step::End(End::Failed(
                ApiError::StreamIdle(config.stream_idle_timeout.as_millis() as u64),
            )),
            _ = &mut ending => Step::End(End::Failed(ApiError::ShuttingDown)),
        };
        match step {
            Step::Active => idle.as_mut().reset(idle_deadline()),
            Step::Quiet => {}
            Step::End(end) => break end,
        }
    };

    let (attempt, passive, events) = driver.stop().await;
    let last = conclude::conclude(&state, &session, attempt, passive, attestation, end).await;
    drop(lease);
    match last {
        Ok(message) => events.send(message).await,
        Err(e) => events.fail(e).await,
    }
}

/// What one event meant for the stream.
enum Step {
    /// Activity: the idle timer starts again.
    Active,
    /// Nothing the idle timer counts (the client's side closed).
    Quiet,
    End(End),
}

/// One stream between its messages: the attempt (or the engine job holding it), the newest
/// frame waiting for the engine, a light report waiting for the attempt, the passive score.
struct Driver<'a> {
    state: &'a AppState,
    session_id: &'a str,
    mirrored: bool,
    admission: FrameAdmission,
    events: EventSender,
    /// `None` exactly while `job` holds it, or after the engine failed on it.
    attempt: Option<LivenessAttempt>,
    job: Option<FrameJob>,
    /// The newest frame not yet analysed.
    pending: Option<pb::Frame>,
    /// A light report not yet handed to the attempt (it arrived while a frame was analysed).
    light_report: Option<pb::LightShown>,
    /// The passive model's crop and score, when it is on ([`crate::passive`]).
    passive: PassiveScoring,
    inbound_open: bool,
}

impl<'a> Driver<'a> {
    /// Draws the session's plan, starts its attempt, and tells the client both.
    async fn begin(
        state: &'a AppState,
        session: &'a Session,
        client: &pb::ClientInfo,
        events: EventSender,
    ) -> Driver<'a> {
        let config = &state.config;
        let mut plan_config = session.settings.plan.clone();
        // `accept` refused a client that cannot take a required light step.
        plan_config.light = plan_config
            .light
            .for_client(client.can_show_colour)
            .unwrap_or(LightPolicy::Off);
        let plan = ChallengePlan::random(&mut rand::rng(), &plan_config);
        let mut attempt_config = AttemptConfig::new(plan);
        attempt_config.confidence_threshold = session.settings.confidence_threshold;
        attempt_config.audit_images_limit = session.settings.audit_images_limit;
        attempt_config.declared_fps = Some(client.fps).filter(|f| f.is_finite() && *f > 0.0);
        attempt_config.antispoof = config.antispoof;
        let mut attempt = LivenessAttempt::new(state.engine.models().clone(), attempt_config);
        let first_events = attempt.begin();
        let started = pb::SessionStarted {
            session_id: session.id.clone(),
            plan: attempt
                .plan()
                .steps
                .iter()
                .map(|k| convert::challenge_kind(*k) as i32)
                .collect(),
            limits: Some(pb::StreamLimits {
                max_fps: config.max_fps,
                max_frame_bytes: config.max_frame_bytes,
                max_frames: config.max_frames,
                deadline: Some(convert::timestamp(
                    SystemTime::now() + config.max_stream_duration,
                )),
            }),
        };
        events.send(Out::SessionStarted(started)).await;
        events.send_events(first_events).await;
        Driver {
            state,
            session_id: &session.id,
            mirrored: client.mirrored,
            admission: FrameAdmission::new(config),
            events,
            attempt: Some(attempt),
            job: None,
            pending: None,
            light_report: None,
            passive: PassiveScoring::default(),
            inbound_open: true,
        }
    }

    /// Hands a waiting light report to the attempt, once no frame holds it.
    fn hand_over_light_report(&mut self) -> Result<(), ApiError> {
        let Some(attempt) = self.attempt.as_mut() else {
            return Ok(());
        };
        let Some(report) = self.light_report.take() else {
            return Ok(());
        };
        let shown = shown_flashes(&report).map_err(ApiError::Protocol)?;
        attempt
            .light_shown(report.challenge_index as usize, &shown)
            .map_err(|e| ApiError::Protocol(e.to_string()))
    }

    /// Sends the waiting frame to the engine, once no frame is there.
    fn start_next_frame(&mut self) {
        if self.job.is_some() {
            return;
        }
        let Some(frame) = self.pending.take() else {
            return;
        };
        let mut attempt = self
            .attempt
            .take()
            .expect("the attempt is here while no job runs");
        self.passive.collect(&mut attempt);
        self.job = Some(analysis::analyse(
            &self.state.engine,
            attempt,
            frame,
            self.mirrored,
        ));
    }

    /// Whether the server is waiting for the client (the idle limit runs only then).
    fn waits_for_client(&self) -> bool {
        self.job.is_none() && self.pending.is_none() && self.inbound_open
    }

    /// The frame in the engine, once analysed (only polled while there is one).
    async fn analysed(&mut self) -> Analysed {
        let job = self.job.as_mut().expect("polled only while a job runs");
        job.await
            .unwrap_or_else(|e| Err(ApiError::Service(format!("engine task failed: {e}"))))
    }

    fn on_message(
        &mut self,
        message: Option<Result<pb::StreamSessionRequest, InboundError>>,
    ) -> Step {
        match message {
            Some(Ok(pb::StreamSessionRequest {
                message: Some(In::Frame(frame)),
            })) => {
                tracing::trace!(session = %self.session_id, ts = frame.timestamp_ms, bytes = frame.data.len(), "frame received");
                let waits = self.job.is_some() || self.pending.is_some();
                match self.admission.admit(&frame, waits) {
                    Ok(Admission::Analyse) => {
                        if self.pending.replace(frame).is_some() {
                            self.events.drop_frame();
                        }
                    }
                    Ok(Admission::Skip) => self.events.drop_frame(),
                    Err(e) => return Step::End(End::Failed(e)),
                }
                Step::Active
            }
            Some(Ok(pb::StreamSessionRequest {
                message: Some(In::LightShown(report)),
            })) => {
                self.light_report = Some(report);
                Step::Active
            }
            Some(Ok(pb::StreamSessionRequest {
                message: Some(In::Start(_)),
            })) => Step::End(End::Failed(ApiError::Protocol(
                "`start` may only be sent once".into(),
            ))),
            Some(Ok(pb::StreamSessionRequest { message: None })) => {
                Step::End(End::Failed(ApiError::Protocol(
                    "a message with none of `start`, `frame` or `light_shown` in it".into(),
                )))
            }
            Some(Err(InboundError::Refused(e))) => Step::End(End::Failed(e)),
            Some(Err(InboundError::Broken(why))) => {
                tracing::debug!(session = %self.session_id, error = %why, "client stream broke");
                self.inbound_open = false;
                self.pending = None;
                Step::Quiet
            }
            None => {
                self.inbound_open = false;
                Step::Quiet
            }
        }
    }

    /// Takes the attempt back from the engine and sends what the frame gave.
    async fn on_analysed(&mut self, analysed: Analysed) -> Step {
        self.job = None;
        let (mut attempt, result) = match analysed {
            Ok(done) => done,
            Err(e) => return Step::End(End::Failed(e)),
        };
        self.passive.offer(&self.state.engine.passive, &mut attempt);
        self.attempt = Some(attempt);
        let events = match result {
            Ok(events) => events,
            Err(e) => return Step::End(End::Failed(e.into())),
        };
        let verdict = events.iter().find_map(|e| match e {
            AttemptEvent::Verdict(v) => Some(v.clone()),
            _ => None,
        });
        self.events.send_events(events).await;
        match verdict {
            Some(v) => Step::End(End::Verdict(Box::new(v))),
            None => Step::Active,
        }
    }

    /// The stream is over: the attempt back from a frame still in the engine (it must come back
    /// to conclude), with its passive score and the channel to the client.
    async fn stop(mut self) -> (Option<LivenessAttempt>, PassiveScoring, EventSender) {
        if self.job.is_some() {
            self.attempt = self.analysed().await.ok().map(|(attempt, _)| attempt);
        }
        (self.attempt, self.passive, self.events)
    }
}

/// A light report's flashes, or why it is not one: colours are 0xRRGGBB.
fn shown_flashes(report: &pb::LightShown) -> Result<Vec<ShownFlash>, String> {
    report
        .flashes
        .iter()
        .map(|f| {
            if f.rgb > 0xff_ffff {
                return Err(format!(
                    "light_shown: {:#x} is not a 0xRRGGBB colour",
                    f.rgb
                ));
            }
            Ok(ShownFlash {
                rgb: convert::rgb_bytes(f.rgb),
                start_ms: f.start_ms,
                end_ms: f.end_ms,
            })
        })
        .collect()
}
