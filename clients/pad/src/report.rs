//! Runs sessions of every species through a real Livegate server over gRPC and tallies them the
//! ISO/IEC 30107-3 way.
//!
//! - **APCER** (per species): attack presentations wrongly accepted as live / attacks presented.
//! - **BPCER**: live presentations wrongly rejected / live presentations.
//! - **BPCER20 / BPCER100**: the BPCER at the confidence threshold where the worst species'
//!   APCER is at most 5% / 1% (the lowest such threshold, so the fewest live users rejected).
//! - Every rate comes with its exact (Clopper–Pearson) 95 % interval: 0 of 30 is "at most
//!   11.6 %", not zero.
//!
//! With `light`, the client declares that it can show colours, so under the server's default
//! policy every plan begins with the light step: the client then lights each frame of the
//! subject as its physics says ([`crate::light`]) while each colour is on, and reports what it
//! showed when the sequence ends, as the web page does.

use std::time::{Duration, Instant};

pub use livegate_engine::stats::clopper_pearson;
use livegate_proto::v1 as pb;
use pb::stream_session_request::Message as In;
use pb::stream_session_response::Message as Out;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use crate::attacks::Family;
use crate::light::apply;
use crate::{Species, Step, Subject};

/// What one session gave.
#[derive(Debug, Clone)]
pub struct SessionOutcome {
    pub session_id: String,
    pub species: Species,
    pub plan: Vec<String>,
    pub is_live: bool,
    pub confidence: f32,
    pub reasons: Vec<String>,
    pub frames: u32,
    pub elapsed: Duration,
    /// The passive model's depth score of the session's reference image, when the report
    /// measured it ([`crate::passive`]).
    pub passive_depth: Option<f32>,
}

fn step(kind: i32) -> Option<Step> {
    match pb::ChallengeKind::try_from(kind).ok()? {
        pb::ChallengeKind::TurnLeft => Some(Step::TurnLeft),
        pb::ChallengeKind::TurnRight => Some(Step::TurnRight),
        pb::ChallengeKind::LookUp => Some(Step::LookUp),
        pb::ChallengeKind::Blink => Some(Step::Blink),
        pb::ChallengeKind::MoveCloser => Some(Step::MoveCloser),
        // The PAD subjects are videos: they cannot light their face with a screen.
        pb::ChallengeKind::Light | pb::ChallengeKind::Unspecified => None,
    }
}

/// One session: create it, stream the subject in lock-step with the server's answers (the
/// subject sees each challenge as soon as the server announces it), return the verdict.
pub async fn run_session(
    client: &mut livegate_cli::Client,
    species: Species,
    seed: u64,
    light: bool,
) -> Result<SessionOutcome, Box<dyn std::error::Error + Send + Sync>> {
    let started = Instant::now();
    let created = livegate_cli::create_session(client, 0).await?;
    let mut subject = species.subject(seed)?;
    let (tx, rx) = mpsc::channel(4);
    tx.send(start_request(&created, species, subject.fps(), light))
        .await?;
    let mut responses = client
        .stream_session(ReceiverStream::new(rx))
        .await?
        .into_inner();
    let mut run = LockStep::new(tx);
    loop {
        if run.sending && !run.awaiting_answer {
            run.send_next(subject.as_mut()).await?;
        }
        let Some(message) = responses.next().await else {
            let frames = run.frames;
            return Err(format!("the stream ended after {frames} frames without a verdict").into());
        };
        if let Some(v) = run.read(message?.message) {
            let v = livegate_cli::disclosed(client, &created.session_id, v).await?;
            return Ok(SessionOutcome {
                session_id: created.session_id.clone(),
                species,
                plan: run.plan,
                is_live: v.is_live,
                confidence: v.confidence,
                reasons: v.reasons,
                frames: run.frames,
                elapsed: started.elapsed(),
                passive_depth: None,
            });
        }
    }
}

/// A session streamed in lock-step: the next frame goes once the server has answered the last
/// one, so the subject reacts to each challenge at the frame after it was announced.
struct LockStep {
    tx: mpsc::Sender<pb::StreamSessionRequest>,
    /// The step the subject is asked to do.
    asked: Option<Step>,
    /// The plan's step names, as the API writes them, with a light step shown again.
    plan: Vec<String>,
    frames: u32,
    awaiting_answer: bool,
    /// False once the server stopped reading (it has concluded).
    sending: bool,
    /// A light step being shown.
    showing: Option<LightShow>,
}

impl LockStep {
    fn new(tx: mpsc::Sender<pb::StreamSessionRequest>) -> Self {
        LockStep {
            tx,
            asked: None,
            plan: Vec::new(),
            frames: 0,
            awaiting_answer: false,
            sending: true,
            showing: None,
        }
    }

    /// Sends the subject's next frame, lit by the light step's colour while one is shown.
    async fn send_next(
        &mut self,
        subject: &mut dyn Subject,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let Some(shot) = tokio::task::block_in_place(|| subject.next(self.asked))? else {
            return Err("the subject ran out of frames before the verdict".into());
        };
        let mut image = shot.image;
        match self.showing.as_mut().map(|s| s.at(shot.timestamp_ms)) {
            Some(LightAt::On(rgb)) => image = apply(&image, rgb, subject.light_response())?,
            Some(LightAt::Over(report)) => {
                // The sequence has played: say what was shown, as the page does.
                self.showing = None;
                let report = pb::StreamSessionRequest {
                    message: Some(In::LightShown(report)),
                };
                self.tx.send(report).await.ok();
            }
            Some(LightAt::Between) | None => {}
        }
        let frame = pb::StreamSessionRequest {
            message: Some(In::Frame(frame_message(&image, shot.timestamp_ms)?)),
        };
        if self.tx.send(frame).await.is_err() {
            // The server stopped reading (it has concluded): its verdict is on the way.
            self.sending = false;
        } else {
            self.frames += 1;
        }
        self.awaiting_answer = true;
        Ok(())
    }

    /// Takes in one answer of the server; returns the verdict when it is one.
    fn read(&mut self, message: Option<Out>) -> Option<pb::Verdict> {
        match message {
            Some(Out::SessionStarted(s)) => {
                self.plan = s
                    .plan
                    .iter()
                    .map(|k| {
                        let kind = pb::ChallengeKind::try_from(*k).unwrap_or_default();
                        kind.api_name().to_string()
                    })
                    .collect();
            }
            Some(Out::Challenge(c)) => {
                // A light step shown again is not in the plan the session started with: the
                // plan as played has it.
                if c.again {
                    let kind = pb::ChallengeKind::try_from(c.kind).unwrap_or_default();
                    let at = (c.index as usize).min(self.plan.len());
                    self.plan.insert(at, kind.api_name().to_string());
                }
                self.asked = step(c.kind);
                if !c.light_sequence.is_empty() {
                    self.showing = Some(LightShow {
                        index: c.index,
                        flashes: c.light_sequence,
                        start_ms: None,
                    });
                }
            }
            Some(Out::Feedback(_)) => self.awaiting_answer = false,
            Some(Out::Verdict(v)) => return Some(v),
            None => {}
        }
        None
    }
}

/// The `start` message of a session for `species`.
fn start_request(
    created: &pb::CreateSessionResponse,
    species: Species,
    fps: f64,
    light: bool,
) -> pb::StreamSessionRequest {
    pb::StreamSessionRequest {
        message: Some(In::Start(pb::StreamStart {
            session_id: created.session_id.clone(),
            stream_token: created.stream_token.clone(),
            client: Some(pb::ClientInfo {
                device: format!("livegate-pad {}", species.name()),
                fps: fps as f32,
                can_show_colour: light,
                ..Default::default()
            }),
            // The report measures what the pictures show; attestation is the platform's word
            // (server/src/attestation.rs), which no rendering can speak to.
            attestation: None,
        })),
    }
}

/// A picture of the subject as the protocol's frame, a JPEG as a camera app sends it.
fn frame_message(
    image: &opencv::core::Mat,
    timestamp_ms: i64,
) -> Result<pb::Frame, livegate_engine::EngineError> {
    Ok(pb::Frame {
        timestamp_ms,
        encoding: pb::FrameEncoding::Jpeg as i32,
        width: image.cols() as u32,
        height: image.rows() as u32,
        rotation: 0,
        data: livegate_engine::frame::encode_jpeg(image, 90)?,
    })
}

/// A light step's colours as the subject's screen shows them, from its first frame on.
struct LightShow {
    index: u32,
    flashes: Vec<pb::LightFlash>,
    /// When the first colour was shown.
    start_ms: Option<i64>,
}

/// What the screen shows at a moment of a light step.
enum LightAt {
    /// This colour (0xRRGGBB as bytes).
    On([u8; 3]),
    /// Nothing any more: the sequence has played, and this is what the client reports.
    Over(pb::LightShown),
    /// Nothing yet (a frame older than the first colour's).
    Between,
}

impl LightShow {
    fn at(&mut self, timestamp_ms: i64) -> LightAt {
        let start = *self.start_ms.get_or_insert(timestamp_ms);
        let mut t = start;
        let mut shown = Vec::new();
        let mut on = None;
        for f in &self.flashes {
            let end = t + f.duration_ms as i64;
            if (t..end).contains(&timestamp_ms) {
                on = Some(livegate_server::convert::rgb_bytes(f.rgb));
            }
            shown.push(pb::ShownFlash {
                rgb: f.rgb,
                start_ms: t,
                end_ms: end,
            });
            t = end;
        }
        match on {
            Some(rgb) => LightAt::On(rgb),
            None if timestamp_ms >= t => LightAt::Over(pb::LightShown {
                challenge_index: self.index,
                flashes: shown,
            }),
            None => LightAt::Between,
        }
    }
}

use opencv::prelude::MatTraitConst;

/// The report's rows and operating points.
pub struct PadTable {
    pub outcomes: Vec<SessionOutcome>,
    pub threshold: f32,
}

impl PadTable {
    fn of(&self, species: Species) -> Vec<&SessionOutcome> {
        self.outcomes
            .iter()
            .filter(|o| o.species == species)
            .collect()
    }

    /// Share of `species`' sessions accepted at `threshold` (confidence ≥ threshold).
    fn accepted(&self, species: Species, threshold: f32) -> f32 {
        let of = self.of(species);
        let n = of.iter().filter(|o| o.confidence >= threshold).count();
        n as f32 / of.len().max(1) as f32
    }

    fn worst_apcer(&self, threshold: f32) -> f32 {
        Species::ALL
            .iter()
            .filter(|s| s.is_attack())
            .map(|&s| self.accepted(s, threshold))
            .fold(0.0, f32::max)
    }

    /// BPCER at the lowest threshold where every species' APCER ≤ `apcer`.
    pub fn bpcer_at(&self, apcer: f32) -> (f32, f32) {
        let mut t = 0.0;
        while t <= 100.0 && self.worst_apcer(t) > apcer {
            t += 0.5;
        }
        (t, 1.0 - self.accepted(Species::Live, t))
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let t = self.threshold;
        out += &format!("PAD report: ISO/IEC 30107-3 style, decision threshold {t}\n\n");
        out += "| species | family | sessions | accepted as live | APCER / BPCER [95% CI] | mean confidence | main reasons | time per session |\n";
        out += "|---|---|---|---|---|---|---|---|\n";
        for species in Species::ALL {
            let of = self.of(species);
            if of.is_empty() {
                continue;
            }
            let live = of.iter().filter(|o| o.is_live).count();
            let errors = if species.is_attack() {
                live
            } else {
                of.len() - live
            };
            let (low, high) = clopper_pearson(errors, of.len());
            let rate = format!(
                "{} {:.1}% [{:.1}, {:.1}]",
                if species.is_attack() {
                    "APCER"
                } else {
                    "BPCER"
                },
                100.0 * errors as f32 / of.len() as f32,
                100.0 * low,
                100.0 * high
            );
            let mean = of.iter().map(|o| o.confidence).sum::<f32>() / of.len() as f32;
            let mut reasons: Vec<(String, usize)> = Vec::new();
            for r in of.iter().flat_map(|o| o.reasons.iter()) {
                match reasons.iter_mut().find(|(name, _)| name == r) {
                    Some((_, n)) => *n += 1,
                    None => reasons.push((r.clone(), 1)),
                }
            }
            reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
            let reasons: Vec<String> = reasons
                .iter()
                .take(3)
                .map(|(r, n)| format!("{r}×{n}"))
                .collect();
            let secs = of.iter().map(|o| o.elapsed.as_secs_f32()).sum::<f32>() / of.len() as f32;
            out += &format!(
                "| {} | {} | {} | {} | {} | {:.1} | {} | {:.1} s |\n",
                species.name(),
                match species.family() {
                    Family::Live => "bona fide",
                    Family::A => "A",
                    Family::B => "B (independent)",
                },
                of.len(),
                live,
                rate,
                mean,
                if reasons.is_empty() {
                    "—".into()
                } else {
                    reasons.join(", ")
                },
                secs
            );
        }
        out += &self.render_passive();
        for (name, apcer) in [("BPCER20", 0.05), ("BPCER100", 0.01)] {
            let (threshold, bpcer) = self.bpcer_at(apcer);
            out += &format!(
                "\n{name}: {:.1}% (threshold {threshold:.1}: every species' APCER ≤ {:.0}%)",
                100.0 * bpcer,
                100.0 * apcer
            );
        }
        out.push('\n');
        out
    }
}

impl PadTable {
    /// The passive model's scores per species, when they were measured: what it would add to
    /// the verdict (attacks accepted that it calls flat) and what it would cost (live users it
    /// calls flat).
    fn render_passive(&self) -> String {
        let rows: Vec<(Species, crate::passive::PassiveRow)> = Species::ALL
            .into_iter()
            .filter_map(|s| crate::passive::row(&self.of(s)).map(|r| (s, r)))
            .collect();
        if rows.is_empty() {
            return String::new();
        }
        let mut out = format!(
            "\nPassive model (CDCN++ depth of the reference image; the package calls < {} flat):\n\n",
            livegate_engine::evidence::texture::ANTISPOOF_REAL
        );
        out += "| species | measured | depth min / median / max | flat and accepted by the server | flat and rejected anyway |\n";
        out += "|---|---|---|---|---|\n";
        for (species, r) in rows {
            out += &format!(
                "| {} | {} | {:.3} / {:.3} / {:.3} | {} | {} |\n",
                species.name(),
                r.measured,
                r.min,
                r.median,
                r.max,
                r.flat_accepted,
                r.flat_rejected
            );
        }
        out
    }
}
