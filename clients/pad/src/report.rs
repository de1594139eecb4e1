//! Runs sessions of every species through a real Livegate server over gRPC and tallies them the
//! ISO/IEC 30107-3 way.
//!
//! - **APCER** (per species): attack presentations wrongly accepted as live / attacks presented.
//! - **BPCER**: live presentations wrongly rejected / live presentations.
//! - **BPCER20 / BPCER100**: the BPCER at the confidence threshold where the worst species'
//!   APCER is at most 5% / 1% (the lowest such threshold, so the fewest live users rejected).

use std::time::{Duration, Instant};

use livegate_proto::v1 as pb;
use pb::stream_session_request::Message as In;
use pb::stream_session_response::Message as Out;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use crate::{Species, Step};

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
}

fn step(kind: i32) -> Option<Step> {
    match pb::ChallengeKind::try_from(kind).ok()? {
        pb::ChallengeKind::TurnLeft => Some(Step::TurnLeft),
        pb::ChallengeKind::TurnRight => Some(Step::TurnRight),
        pb::ChallengeKind::LookUp => Some(Step::LookUp),
        pb::ChallengeKind::Blink => Some(Step::Blink),
        pb::ChallengeKind::ComeCloser => Some(Step::MoveCloser),
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
) -> Result<SessionOutcome, Box<dyn std::error::Error + Send + Sync>> {
    let started = Instant::now();
    let created = livegate_cli::create_session(client, 0).await?;
    let mut subject = species.subject(seed)?;
    let (tx, rx) = mpsc::channel(4);
    tx.send(pb::StreamSessionRequest {
        message: Some(In::Start(pb::StreamStart {
            session_id: created.session_id.clone(),
            stream_token: created.stream_token.clone(),
            client: Some(pb::ClientInfo {
                device: format!("livegate-pad {}", species.name()),
                fps: subject.fps() as f32,
                ..Default::default()
            }),
        })),
    })
    .await?;
    let mut responses = client
        .stream_session(ReceiverStream::new(rx))
        .await?
        .into_inner();
    let mut asked = None;
    let mut plan = Vec::new();
    let mut frames = 0;
    // Read until the server waits for a frame (it has answered the last one), then send one.
    let mut awaiting_answer = false;
    let mut sending = true;
    loop {
        if sending && !awaiting_answer {
            let Some(shot) = tokio::task::block_in_place(|| subject.next(asked))? else {
                return Err("the subject ran out of frames before the verdict".into());
            };
            let jpeg = livegate_engine::frame::encode_jpeg(&shot.image, 90)?;
            let frame = pb::Frame {
                timestamp_ms: shot.timestamp_ms,
                encoding: pb::FrameEncoding::Jpeg as i32,
                width: shot.image.cols() as u32,
                height: shot.image.rows() as u32,
                rotation: 0,
                data: jpeg,
            };
            if tx
                .send(pb::StreamSessionRequest {
                    message: Some(In::Frame(frame)),
                })
                .await
                .is_err()
            {
                // The server stopped reading (it has concluded): its verdict is on the way.
                sending = false;
            } else {
                frames += 1;
            }
            awaiting_answer = true;
        }
        let Some(message) = responses.next().await else {
            return Err(format!("the stream ended after {frames} frames without a verdict").into());
        };
        match message?.message {
            Some(Out::SessionStarted(s)) => {
                plan = s
                    .plan
                    .iter()
                    .map(|k| format!("{:?}", pb::ChallengeKind::try_from(*k).unwrap_or_default()))
                    .collect();
            }
            Some(Out::Challenge(c)) => asked = step(c.kind),
            Some(Out::Feedback(_)) => awaiting_answer = false,
            Some(Out::Verdict(v)) => {
                return Ok(SessionOutcome {
                    session_id: created.session_id.clone(),
                    species,
                    plan,
                    is_live: v.is_live,
                    confidence: v.confidence,
                    reasons: v.reasons,
                    frames,
                    elapsed: started.elapsed(),
                });
            }
            None => {}
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
        out += "| species | sessions | accepted as live | APCER / BPCER | mean confidence | main reasons | time per session |\n";
        out += "|---|---|---|---|---|---|---|\n";
        for species in Species::ALL {
            let of = self.of(species);
            if of.is_empty() {
                continue;
            }
            let live = of.iter().filter(|o| o.is_live).count();
            let rate = if species.is_attack() {
                format!("APCER {:.1}%", 100.0 * live as f32 / of.len() as f32)
            } else {
                format!(
                    "BPCER {:.1}%",
                    100.0 * (of.len() - live) as f32 / of.len() as f32
                )
            };
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
                "| {} | {} | {} | {} | {:.1} | {} | {:.1} s |\n",
                species.name(),
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
