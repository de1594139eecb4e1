//! What one frame of each kind of step costs the engine as a session runs it
//! ([`LivenessAttempt::process`]: decoding, analysis, and the step's own evidence: Iris in a
//! blink step, the parallax meter's patch tracking in a head rotation), on the live user's
//! clips (franck doing each step, `src/live.rs`) scaled to 640×480 and sent as JPEG.
//!
//! The pipeline bench (`engine/benches/pipeline.rs`) times the analysis alone, so its "turn
//! step" has no parallax in it; this tool times a step's frames whole.
//!
//!     taskset -c 0 cargo run --release -p livegate-pad --example step_costs
//!
//! Each step kind runs in a plan of two steps of that kind, SEEDS live users each, the kinds
//! taking turns ROUNDS times, and only the second step's frames are timed: the first frame of an
//! attempt detects the face and takes the session's first identity embedding, which a real
//! session pays once, in whichever step comes first. Later frames pay the detector and an
//! identity check every 30 frames in every kind alike, as sessions do. The frame that ends the
//! plan (the verdict: screen cues, fusion) is left out: every plan has one.

use std::sync::Arc;
use std::time::Instant;

use livegate_engine::challenge::{ChallengeKind, ChallengePlan};
use livegate_engine::frame::{self, FrameEncoding, FrameInput};
use livegate_engine::models::{Models, default_model_dir};
use livegate_engine::{AttemptConfig, AttemptEvent, LivenessAttempt, StageTimings};
use livegate_pad::{Species, Step};
use opencv::core::Size;
use opencv::imgproc;

const SEEDS: u64 = 10;
const ROUNDS: usize = 3;
/// Frames sent at most per step (the step's time limit is 5 s; franck's clips are 24 fps).
const MAX_FRAMES: usize = 120;

const KINDS: [(ChallengeKind, Step); 5] = [
    (ChallengeKind::TurnLeft, Step::TurnLeft),
    (ChallengeKind::TurnRight, Step::TurnRight),
    (ChallengeKind::LookUp, Step::LookUp),
    (ChallengeKind::MoveCloser, Step::MoveCloser),
    (ChallengeKind::Blink, Step::Blink),
];

#[derive(Default)]
struct Costs {
    frames_us: Vec<u64>,
    stages: StageTimings,
}

/// One step by one live user, its frames' costs added to `costs`.
fn run_step(
    models: &Arc<Models>,
    kind: ChallengeKind,
    step: Step,
    seed: u64,
    costs: &mut Costs,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut subject = Species::Live.subject(seed)?;
    let plan = ChallengePlan::movements(&[kind, kind], 5000);
    let mut attempt = LivenessAttempt::new(models.clone(), AttemptConfig::new(plan));
    attempt.begin();
    // The step being answered, and whether the subject has been told of the second one yet (a
    // frame between the two steps, so that it starts its clip again).
    let (mut index, mut told) = (0, true);
    for _ in 0..2 * MAX_FRAMES {
        let asked = if told { Some(step) } else { None };
        told = true;
        let Some(shot) = subject.next(asked)? else {
            break;
        };
        let mut big = opencv::core::Mat::default();
        imgproc::resize(
            &shot.image,
            &mut big,
            Size::new(640, 480),
            0.0,
            0.0,
            imgproc::INTER_LINEAR,
        )?;
        let jpeg = frame::encode_jpeg(&big, 90)?;
        let input = FrameInput {
            encoding: FrameEncoding::Jpeg,
            width: 0,
            height: 0,
            rotation: 0,
            mirrored: false,
            data: &jpeg,
        };
        let start = Instant::now();
        let events = attempt.process(&input, shot.timestamp_ms)?;
        let took = start.elapsed().as_micros() as u64;
        if events.iter().any(|e| matches!(e, AttemptEvent::Verdict(_))) {
            break;
        }
        let timed = index == 1;
        if let Some(i) = events.iter().find_map(|e| match e {
            AttemptEvent::Challenge { index, .. } => Some(*index),
            _ => None,
        }) {
            (index, told) = (i, false);
        }
        if !timed {
            continue;
        }
        if let Some(AttemptEvent::Feedback(f)) = events.first() {
            let t = &f.timings;
            let s = &mut costs.stages;
            s.decode_us += t.decode_us;
            s.detect_us += t.detect_us;
            s.landmarks_us += t.landmarks_us;
            s.pose_us += t.pose_us;
            s.eyes_us += t.eyes_us;
            s.quality_us += t.quality_us;
            s.identity_us += t.identity_us;
            s.parallax_us += t.parallax_us;
            s.light_us += t.light_us;
            s.outline_us += t.outline_us;
        }
        costs.frames_us.push(took);
    }
    Ok(())
}

fn p50(v: &[u64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).map_or(0.0, |&us| us as f64 / 1000.0)
}

fn mean(v: &[u64]) -> f64 {
    v.iter().sum::<u64>() as f64 / v.len().max(1) as f64 / 1000.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let models = Arc::new(Models::load(&default_model_dir())?);
    // Warm up: every kind once, not counted.
    for (kind, step) in KINDS {
        run_step(&models, kind, step, 99, &mut Costs::default())?;
    }
    let mut costs: Vec<Costs> = KINDS.iter().map(|_| Costs::default()).collect();
    for _ in 0..ROUNDS {
        for seed in 0..SEEDS {
            for (i, (kind, step)) in KINDS.into_iter().enumerate() {
                run_step(&models, kind, step, seed, &mut costs[i])?;
            }
        }
    }
    println!(
        "{SEEDS} live users a kind, {ROUNDS} rounds, frames at 640×480 (JPEG 90), the second step of a plan of two; \
         FaceMesh on {:?}, Iris on {:?}; ms per frame",
        models.landmarker.backend(),
        models.eyes.backend()
    );
    println!("| step | frames | p50 | mean | mean by stage |");
    println!("|---|---|---|---|---|");
    for ((kind, _), c) in KINDS.iter().zip(&costs) {
        let n = c.frames_us.len().max(1) as f64;
        let stages: Vec<String> = c
            .stages
            .stages()
            .iter()
            .filter(|(_, us)| *us as f64 / n >= 10.0)
            .map(|(name, us)| format!("{name} {:.2}", *us as f64 / n / 1000.0))
            .collect();
        println!(
            "| {} | {} | {:.2} | {:.2} | {} |",
            kind.name(),
            c.frames_us.len(),
            p50(&c.frames_us),
            mean(&c.frames_us),
            stages.join(", ")
        );
    }
    let turns: Vec<u64> = costs[0]
        .frames_us
        .iter()
        .chain(&costs[1].frames_us)
        .copied()
        .collect();
    let blink = &costs[4].frames_us;
    println!(
        "blink step / turn step (left and right pooled): p50 {:.2}, mean {:.2}",
        p50(blink) / p50(&turns),
        mean(blink) / mean(&turns)
    );
    Ok(())
}
