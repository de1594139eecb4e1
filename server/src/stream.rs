//! One `StreamSession` call: the first message claims the session, then frames flow through the
//! engine and events flow back, until a verdict, a limit or the client's end.
//!
//! A `light_shown` report (the client's account of a light step) is handed to the attempt as
//! soon as no frame is being analysed; a report for a step that is not the current light step,
//! or with colours that are not 0xRRGGBB, breaks the protocol (STREAM_PROTOCOL_VIOLATION).
//!
//! Backpressure: the engine analyses one frame of a stream at a time. A frame that arrives while
//! one is being analysed waits in a one-frame slot; a newer frame replaces it and the older one
//! is counted as dropped (reported in feedback). Nothing queues without bound.
//!
//! Limits, each ending the stream with its code: frame size (FRAME_TOO_LARGE), frames in all
//! (TOO_MANY_FRAMES), duration (STREAM_DURATION_EXCEEDED), silence (STREAM_IDLE: no frame for
//! `stream_idle_timeout` while the server waits for one), and rate (FRAME_RATE_EXCEEDED) when
//! more than twice `max_fps` frames fall within one second of the frames' own timestamps, or
//! more than four times `max_fps` arrive within one second of the server's clock while another
//! frame is still waiting or in the engine (a lock-step client that sends a recorded video as
//! fast as it is answered is paced by the engine, however fast that is). Below that, frames
//! closer than `1 / max_fps` by their timestamps are skipped and counted as dropped: cameras
//! jitter. Engine work runs on the blocking pool, at most `engine_workers` frames at once across
//! all streams.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use livegate_engine::attempt::FrameFeedback;
use livegate_engine::challenge::LightPolicy;
use livegate_engine::light::ShownFlash;
use livegate_engine::{
    AttemptConfig, AttemptEvent, ChallengePlan, EngineError, FrameInput, LivenessAttempt, Verdict,
};
use livegate_proto::v1 as pb;
use pb::stream_session_request::Message as In;
use pb::stream_session_response::Message as Out;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_stream::Stream;
use tokio_stream::StreamExt;
use tonic::Status;
use tracing::Instrument;
use tracing::field::Empty;

use crate::auth::Tenant;
use crate::convert;
use crate::error::ApiError;
use crate::metrics::metrics;
use crate::outcomes::Recorded;
use crate::passive::PassiveScoring;
use crate::sessions::{LeaseKeeper, Outcome, Session};
use crate::state::AppState;

pub type Outbound = mpsc::Sender<Result<pb::StreamSessionResponse, Status>>;

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

/// Waits for `start` and claims the session it names with its stream token (and, where the
/// transport authenticated the caller, for its tenant only). Errors here are returned as the
/// call's status, before any response message.
pub async fn accept(
    state: &AppState,
    tenant: Option<&Tenant>,
    inbound: &mut impl Inbound,
) -> Result<(Session, pb::ClientInfo), ApiError> {
    let limit = state.config.start_timeout;
    let first = tokio::time::timeout(limit, inbound.next())
        .await
        .map_err(|_| ApiError::StartTimeout(limit.as_millis() as u64))?;
    let start = match first {
        Some(Ok(pb::StreamSessionRequest {
            message: Some(In::Start(start)),
        })) => start,
        Some(Ok(_)) => {
            return Err(ApiError::Protocol(
                "the first message must be `start`".into(),
            ));
        }
        Some(Err(InboundError::Refused(e))) => return Err(e),
        Some(Err(InboundError::Broken(why))) => {
            return Err(ApiError::Protocol(format!("could not read `start`: {why}")));
        }
        None => return Err(ApiError::Protocol("stream closed before `start`".into())),
    };
    // A draining server claims no session: the caller can stream it to another replica.
    state.lifecycle.admit()?;
    let client = start.client.unwrap_or_default();
    let session = state
        .sessions
        .claim_stream(
            &start.session_id,
            &start.stream_token,
            tenant,
            client.can_show_colour,
        )
        .await?;
    Ok((session, client))
}

/// Runs an accepted stream on its own task, in a `stream` span inside the caller's.
pub fn spawn(
    state: AppState,
    session: Session,
    client: pb::ClientInfo,
    inbound: impl Inbound + 'static,
    out: Outbound,
) {
    let span = tracing::info_span!("stream", session = %session.id);
    tokio::spawn(run(state, session, client, inbound, out).instrument(span));
}

/// What a device that is not told the outcome reads at the end of its stream.
pub const UNDISCLOSED_VERDICT: &str = "Done. Your provider will confirm the result.";

/// Result of one engine run: the attempt comes back with it.
type EngineJob = JoinHandle<(LivenessAttempt, Result<Vec<AttemptEvent>, EngineError>)>;

/// Drives an accepted stream to its end and records the outcome in the session store.
pub async fn run(
    state: AppState,
    session: Session,
    client: pb::ClientInfo,
    mut inbound: impl Inbound,
    out: Outbound,
) {
    let _active = metrics().stream_started();
    let _running = state.lifecycle.stream_started();
    // Held until the outcome is recorded (or the task ends some other way).
    let lease = LeaseKeeper::start(state.sessions.clone(), session.id.clone());
    let ending = state.lifecycle.ending();
    tokio::pin!(ending);
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
    let mut first = LivenessAttempt::new(state.models.clone(), attempt_config);
    let first_events = first.begin();

    let deadline_start = Instant::now();
    let deadline = deadline_start + config.max_stream_duration;
    let started = pb::SessionStarted {
        session_id: session.id.clone(),
        plan: first
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
    let mut attempt = Some(first);
    let mut sender = EventSender {
        out: out.clone(),
        dropped: 0,
    };
    sender.send(Out::SessionStarted(started)).await;
    sender.send_events(first_events).await;

    let min_interval_ms = if config.max_fps > 0.0 {
        (1000.0 / config.max_fps) as i64
    } else {
        0
    };
    let mut last_accepted_ts: Option<i64> = None;
    let mut received: u32 = 0;
    let most_per_second = (2.0 * config.max_fps).ceil().max(1.0) as u32;
    let most_arriving_per_second = 2 * most_per_second;
    let mut by_timestamp = RateWindow::default();
    let mut by_arrival = RateWindow::default();
    // The newest frame not yet analysed.
    let mut pending: Option<pb::Frame> = None;
    // A light report not yet handed to the attempt (it arrived while a frame was analysed).
    let mut light_report: Option<pb::LightShown> = None;
    let mut job: Option<EngineJob> = None;
    // The passive model's crop and score, when it is on ([`crate::passive`]).
    let mut passive = PassiveScoring::default();
    let mut inbound_open = true;
    let mut failure: Option<ApiError> = None;
    let mut verdict: Option<Verdict> = None;

    let sleep = tokio::time::sleep_until(deadline.into());
    tokio::pin!(sleep);
    // Reset by every message, and by every answer (a lock-step client waits for it).
    let idle_deadline = || tokio::time::Instant::now() + config.stream_idle_timeout;
    let idle = tokio::time::sleep_until(idle_deadline());
    tokio::pin!(idle);
    loop {
        // `attempt` is `None` exactly while a job holds it.
        if let Some(a) = attempt.as_mut()
            && let Some(report) = light_report.take()
            && let Err(e) = shown_flashes(&report).and_then(|shown| {
                a.light_shown(report.challenge_index as usize, &shown)
                    .map_err(|e| e.to_string())
            })
        {
            failure = Some(ApiError::Protocol(e));
            break;
        }
        if job.is_none()
            && let Some(next) = pending.take()
        {
            let mut a = attempt
                .take()
                .expect("the attempt is here while no job runs");
            passive.collect(&mut a);
            job = Some(spawn_analysis(
                state.engine_slots.clone(),
                a,
                next,
                client.mirrored,
            ));
        }
        if job.is_none() && !inbound_open {
            break;
        }
        tokio::select! {
            msg = inbound.next(), if inbound_open => match msg {
                Some(Ok(pb::StreamSessionRequest { message: Some(In::Frame(frame)) })) => {
                    idle.as_mut().reset(idle_deadline());
                    received += 1;
                    tracing::trace!(session = %session.id, ts = frame.timestamp_ms, bytes = frame.data.len(), "frame received");
                    if received > config.max_frames {
                        failure = Some(ApiError::TooManyFrames(config.max_frames));
                        break;
                    }
                    if frame.data.len() > config.max_frame_bytes as usize {
                        failure = Some(ApiError::FrameTooLarge { size: frame.data.len(), limit: config.max_frame_bytes });
                        break;
                    }
                    let arrived_ms = deadline_start.elapsed().as_millis() as i64;
                    // By the server's clock only frames that must wait count: a lock-step client
                    // (the next frame once the last is answered) is paced by the engine itself.
                    let waits = job.is_some() || pending.is_some();
                    if config.max_fps > 0.0
                        && (by_timestamp.count(frame.timestamp_ms) > most_per_second
                            || (waits && by_arrival.count(arrived_ms) > most_arriving_per_second))
                    {
                        failure = Some(ApiError::FrameRateExceeded(most_per_second));
                        break;
                    }
                    // Frames faster than the allowed rate (by the client's clock) are skipped.
                    if let Some(last) = last_accepted_ts
                        && frame.timestamp_ms - last < min_interval_ms
                    {
                        sender.drop_frame();
                        continue;
                    }
                    last_accepted_ts = Some(frame.timestamp_ms);
                    if pending.replace(frame).is_some() {
                        sender.drop_frame();
                    }
                }
                Some(Ok(pb::StreamSessionRequest { message: Some(In::LightShown(report)) })) => {
                    idle.as_mut().reset(idle_deadline());
                    light_report = Some(report);
                }
                Some(Ok(_)) => {
                    failure = Some(ApiError::Protocol("`start` may only be sent once".into()));
                    break;
                }
                Some(Err(InboundError::Refused(e))) => {
                    failure = Some(e);
                    break;
                }
                Some(Err(InboundError::Broken(why))) => {
                    tracing::debug!(session = %session.id, error = %why, "client stream broke");
                    inbound_open = false;
                    pending = None;
                }
                None => inbound_open = false,
            },
            done = async { job.as_mut().unwrap().await }, if job.is_some() => {
                job = None;
                idle.as_mut().reset(idle_deadline());
                let (mut a, result) = done.unwrap_or_else(|e| panic!("engine task panicked: {e}"));
                passive.offer(&state.passive, &mut a);
                attempt = Some(a);
                match result {
                    Ok(events) => {
                        let finished = events.iter().find_map(|e| match e {
                            AttemptEvent::Verdict(v) => Some(v.clone()),
                            _ => None,
                        });
                        sender.send_events(events).await;
                        if let Some(v) = finished {
                            verdict = Some(v);
                            break;
                        }
                    }
                    Err(e) => {
                        failure = Some(e.into());
                        break;
                    }
                }
            },
            _ = &mut sleep => {
                failure = Some(ApiError::StreamDurationExceeded(config.max_stream_duration.as_secs()));
                break;
            }
            _ = &mut idle, if job.is_none() && pending.is_none() && inbound_open => {
                failure = Some(ApiError::StreamIdle(config.stream_idle_timeout.as_millis() as u64));
                break;
            }
            _ = &mut ending => {
                failure = Some(ApiError::ShuttingDown);
                break;
            }
        }
    }

    // A frame still in the engine finishes first: the attempt must come back to conclude.
    if let Some(j) = job.take() {
        let (a, _) = j
            .await
            .unwrap_or_else(|e| panic!("engine task panicked: {e}"));
        attempt = Some(a);
    }
    let mut attempt = attempt.expect("the attempt is back once no job runs");
    // A passive score that came after the last frame was judged is weighed now.
    let rejudge = passive.finish(&mut attempt).await;
    let Finished {
        verdict,
        reference_image,
        audit_images,
    } = finish(state.engine_slots.clone(), attempt, verdict, rejudge).await;
    let outcome = Outcome {
        is_live: verdict.is_live && failure.is_none(),
        confidence: verdict.confidence,
        reasons: match &failure {
            Some(e) => vec![e.code().as_str_name().to_string()],
            None => verdict
                .reasons
                .iter()
                .map(|r| r.code().to_string())
                .collect(),
        },
        message: match &failure {
            Some(e) => format!("Stream ended with an error: {e}"),
            None => verdict.message.clone(),
        },
        reference_image,
        audit_images,
        finished_at: SystemTime::now(),
    };
    let live = outcome.is_live;
    let judged = match (&failure, live) {
        (Some(_), _) => "error",
        (None, true) => "live",
        (None, false) => "not_live",
    };
    metrics().verdict(judged, &outcome.reasons);
    tracing::info!(session = %session.id, live, confidence = outcome.confidence, reasons = ?outcome.reasons, "session finished");
    // The verdict reaches the client however the store answers; it says when the result cannot
    // be read yet.
    let result_pending = state.outcomes.record(&session, outcome).await != Recorded::Stored;
    drop(lease);
    match failure {
        Some(e) => {
            let _ = out.send(Err(e.into())).await;
        }
        None if config.discloses_verdict() => {
            let status = if live {
                pb::SessionStatus::Succeeded
            } else {
                pb::SessionStatus::Failed
            };
            sender
                .send(Out::Verdict(pb::Verdict {
                    is_live: live,
                    confidence: verdict.confidence,
                    status: status as i32,
                    reasons: verdict
                        .reasons
                        .iter()
                        .map(|r| r.code().to_string())
                        .collect(),
                    message: verdict.message,
                    result_pending,
                }))
                .await;
        }
        // The device is untrusted: it learns that the attempt is over, not how it went.
        None => {
            sender
                .send(Out::Verdict(pb::Verdict {
                    status: pb::SessionStatus::Completed as i32,
                    message: UNDISCLOSED_VERDICT.into(),
                    result_pending,
                    ..Default::default()
                }))
                .await;
        }
    }
}

/// Frames counted in one-second windows of a clock (the frames' timestamps or the server's).
#[derive(Default)]
struct RateWindow {
    start_ms: Option<i64>,
    frames: u32,
}

impl RateWindow {
    /// Counts a frame at `now_ms`; returns the frames in its window so far. A clock that goes
    /// backwards opens a new window, as a second that has passed does.
    fn count(&mut self, now_ms: i64) -> u32 {
        match self.start_ms {
            Some(start) if (start..start + 1000).contains(&now_ms) => self.frames += 1,
            _ => {
                self.start_ms = Some(now_ms);
                self.frames = 1;
            }
        }
        self.frames
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

/// What an attempt leaves behind: its verdict and its images, JPEG-encoded.
struct Finished {
    verdict: Verdict,
    reference_image: Option<Vec<u8>>,
    audit_images: Vec<Vec<u8>>,
}

/// Ends an attempt on the blocking pool, holding an engine slot, like a frame: an attempt the
/// stream left without a verdict fuses its evidence there, one whose passive score came after
/// its verdict is judged again with it (`rejudge`), and the images are encoded there, never on
/// the async runtime.
async fn finish(
    slots: Arc<Semaphore>,
    mut attempt: LivenessAttempt,
    verdict: Option<Verdict>,
    rejudge: bool,
) -> Finished {
    on_engine_slot(slots, move || Finished {
        verdict: match verdict {
            Some(_) if rejudge => attempt.rejudge(),
            Some(verdict) => verdict,
            None => attempt.abandon(),
        },
        reference_image: attempt.reference_image().unwrap_or_default(),
        audit_images: attempt.audit_images().unwrap_or_default(),
    })
    .await
}

/// Runs `job` on the blocking pool once an engine slot is free, holding the slot until it is
/// done. A panic in the engine is a bug: it is not hidden.
async fn on_engine_slot<T: Send + 'static>(
    slots: Arc<Semaphore>,
    job: impl FnOnce() -> T + Send + 'static,
) -> T {
    let _permit = slots
        .acquire_owned()
        .await
        .expect("engine semaphore is never closed");
    tokio::task::spawn_blocking(job)
        .await
        .expect("engine task panicked")
}

/// Runs one frame through the engine on the blocking pool, holding an engine slot.
fn spawn_analysis(
    slots: Arc<Semaphore>,
    mut attempt: LivenessAttempt,
    frame: pb::Frame,
    mirrored: bool,
) -> EngineJob {
    // Created here, inside the stream's span, which becomes its parent.
    let span = tracing::info_span!(
        "frame",
        timestamp_ms = frame.timestamp_ms,
        faces = Empty,
        hint = Empty,
        decode_us = Empty,
        detect_us = Empty,
        landmarks_us = Empty,
        pose_us = Empty,
        eyes_us = Empty,
        quality_us = Empty,
        identity_us = Empty,
        parallax_us = Empty,
        light_us = Empty,
        outline_us = Empty,
        verdict_us = Empty,
        total_us = Empty,
    );
    tokio::spawn(on_engine_slot(slots, move || {
        let _entered = span.enter();
        let result = match convert::frame_encoding(frame.encoding) {
            Some(encoding) => {
                let input = FrameInput {
                    encoding,
                    width: frame.width,
                    height: frame.height,
                    rotation: frame.rotation,
                    mirrored,
                    data: &frame.data,
                };
                attempt.process(&input, frame.timestamp_ms)
            }
            None => Err(EngineError::InvalidFrame(
                "frame encoding is not set".into(),
            )),
        };
        if let Ok(events) = &result {
            record_frame(&span, events);
        }
        (attempt, result)
    }))
}

/// What the engine measured of a frame, as its span's attributes.
fn record_frame(span: &tracing::Span, events: &[AttemptEvent]) {
    let Some(f) = events.iter().find_map(|e| match e {
        AttemptEvent::Feedback(f) => Some(f),
        _ => None,
    }) else {
        return;
    };
    let t = &f.timings;
    span.record("faces", f.faces);
    span.record("hint", tracing::field::debug(f.hint));
    for (stage, us) in t.stages() {
        span.record(format!("{stage}_us").as_str(), us);
    }
    span.record("total_us", t.total_us());
}

/// Turns engine events into protocol messages on the outbound channel.
struct EventSender {
    out: Outbound,
    dropped: u32,
}

impl EventSender {
    /// A frame received and not analysed.
    fn drop_frame(&mut self) {
        self.dropped += 1;
        metrics().frame_dropped();
    }

    async fn send(&self, message: Out) {
        // A client that went away cannot be told anything; the stream ends on its side.
        let _ = self
            .out
            .send(Ok(pb::StreamSessionResponse {
                message: Some(message),
            }))
            .await;
    }

    async fn send_events(&self, events: Vec<AttemptEvent>) {
        for event in events {
            match event {
                AttemptEvent::Challenge {
                    index,
                    kind,
                    time_limit_ms,
                    light,
                } => {
                    self.send(Out::Challenge(pb::Challenge {
                        index: index as u32,
                        kind: convert::challenge_kind(kind) as i32,
                        instruction: kind.instruction().to_string(),
                        time_limit_ms,
                        light_sequence: light
                            .iter()
                            .flat_map(|s| &s.flashes)
                            .map(|f| pb::LightFlash {
                                rgb: convert::rgb_word(f.rgb),
                                duration_ms: f.duration_ms,
                            })
                            .collect(),
                    }))
                    .await
                }
                AttemptEvent::Feedback(f) => {
                    metrics().frame_analysed(&f.timings);
                    self.send(Out::Feedback(self.feedback(f))).await
                }
                // The verdict is sent by `run` once the outcome is stored, so that a client that
                // reads its result right after the verdict finds it.
                AttemptEvent::Verdict(_) => {}
            }
        }
    }

    fn feedback(&self, f: FrameFeedback) -> pb::FrameFeedback {
        pb::FrameFeedback {
            frame_timestamp_ms: f.timestamp_ms,
            faces: f.faces as u32,
            face: f.face.map(|(b, score)| pb::FaceBox {
                x: b.x,
                y: b.y,
                width: b.width,
                height: b.height,
                score,
            }),
            pose: f.pose.map(|p| pb::HeadPose {
                yaw: p.yaw,
                pitch: p.pitch,
                roll: p.roll,
            }),
            quality: f.quality.map(|q| pb::Quality {
                brightness: q.brightness,
                contrast: q.contrast,
                sharpness: q.sharpness,
                face_size: q.face_size,
                centering: q.centering,
            }),
            hint: convert::hint(f.hint) as i32,
            challenge: f.challenge.map(|c| pb::ChallengeProgress {
                index: c.index as u32,
                kind: convert::challenge_kind(c.kind) as i32,
                progress: c.progress,
                completed: c.completed,
                time_left_ms: c.time_left_ms,
            }),
            dropped_frames: self.dropped,
            eye_openness: f.eye_openness.unwrap_or_default(),
            analysis_ms: f.timings.total_us() as f32 / 1000.0,
        }
    }
}
