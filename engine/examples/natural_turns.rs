//! The parallax measure ([`livegate_engine::evidence::parallax`]) on the head turns people make
//! on their own, in clips of people other than franck: its thresholds were placed on franck and
//! on our renderings, and a real head must never look flat.
//!
//! For each video, the largest change of yaw within 2.5 s (by the larger of the two pose
//! estimates, as a session measures rotation) is taken as a turn step: the meter gets the
//! step's reaction frames and then the frames of that window, as a session would feed it. It
//! prints the turn, the frames measured and the parallax against `FLAT_PARALLAX` (0.030) and
//! `LIVE_PARALLAX` (0.050).
//!
//!     cargo run --release -p livegate-engine --example natural_turns -- VIDEO...
//!
//! `SERIES=1` adds each measured frame's rotation and depth.

use std::sync::Arc;

use livegate_engine::challenge::{ChallengeKind, REACTION_FRAMES};
use livegate_engine::evidence::ParallaxMeter;
use livegate_engine::evidence::parallax::{FLAT_PARALLAX, LIVE_PARALLAX};
use livegate_engine::landmarks::FaceLandmarks;
use livegate_engine::models::{Models, default_model_dir};
use livegate_engine::pose::{self, HeadPose};
use livegate_engine::{AnalyzerConfig, FrameAnalyzer};
use opencv::core::Mat;
use opencv::prelude::*;
use opencv::videoio;

/// What the analyser made of one frame: `None` without a followed face.
struct Seen {
    image: Mat,
    face: Option<(FaceLandmarks, HeadPose)>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let models = Arc::new(Models::load(&default_model_dir())?);
    println!(
        "| video | fps | frames | turn window | yaw change (solvePnP / rigid fit) | frames measured | parallax | verdict |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for video in std::env::args().skip(1) {
        let mut cap = videoio::VideoCapture::from_file(&video, videoio::CAP_ANY)?;
        let fps = cap.get(videoio::CAP_PROP_FPS)?.clamp(1.0, 120.0);
        let mut analyzer = FrameAnalyzer::new(models.clone(), AnalyzerConfig::default());
        let mut seen = Vec::new();
        let mut frame = Mat::default();
        while cap.read(&mut frame)? && !frame.empty() {
            let analysis = analyzer.analyze(&frame, &[])?;
            let face = analysis
                .face
                .filter(|_| !analysis.detected && analysis.faces == 1)
                .map(|f| (f.landmarks, f.pose));
            seen.push(Seen {
                image: frame.clone(),
                face,
            });
        }
        let rest = seen
            .iter()
            .find_map(|s| s.face.as_ref().map(|f| f.0.clone()));
        let Some(rest) = rest else {
            println!("| {video} | no face |");
            continue;
        };
        // Each frame's yaw by both estimates, against the clip's first face.
        let yaw: Vec<Option<[f32; 2]>> = seen
            .iter()
            .map(|s| {
                s.face
                    .as_ref()
                    .map(|(l, p)| [p.yaw, pose::relative(&rest, l).yaw])
            })
            .collect();
        let window = (2.5 * fps) as usize;
        let change = |i: usize, j: usize| -> Option<f32> {
            let (a, b) = (yaw[i]?, yaw[j]?);
            let d = [b[0] - a[0], b[1] - a[1]];
            // The larger of the two, with its sign, as the session's rotation is.
            Some(if d[0].abs() > d[1].abs() { d[0] } else { d[1] })
        };
        let mut best = (0, 0, 0.0f32);
        for i in REACTION_FRAMES as usize..seen.len() {
            for j in i + 1..(i + window).min(seen.len()) {
                if let Some(d) = change(i, j)
                    && d.abs() > best.2.abs()
                {
                    best = (i, j, d);
                }
            }
        }
        let (from, to, turned) = best;
        let kind = [ChallengeKind::TurnLeft, ChallengeKind::TurnRight]
            .into_iter()
            .find(|k| k.rotation().is_some_and(|r| r.sign * turned > 0.0))
            .unwrap_or(ChallengeKind::TurnLeft);
        let mut meter = ParallaxMeter::default();
        meter.begin_step(kind.rotation());
        // The step's reaction frames come first, so that its reference is the window's start.
        let mut fed = 0;
        for s in &seen[from.saturating_sub(REACTION_FRAMES as usize)..=to] {
            if let Some((landmarks, pose)) = &s.face {
                let rotation = pose::relative(&rest, landmarks);
                meter.observe(&s.image, landmarks, &[*pose, rotation])?;
                fed += 1;
            }
        }
        let (pnp, rigid) = match (yaw[from], yaw[to]) {
            (Some(a), Some(b)) => (b[0] - a[0], b[1] - a[1]),
            _ => (0.0, 0.0),
        };
        if std::env::var("SERIES").is_ok() {
            let series: Vec<String> = meter
                .samples()
                .map(|(r, v)| format!("{r:.0}°:{v:.3}"))
                .collect();
            eprintln!("{video}: {}", series.join(" "));
        }
        let parallax = meter.parallax();
        let verdict = match parallax {
            None => "not measured",
            Some(p) if p <= FLAT_PARALLAX => "FLAT (would be NO_PARALLAX)",
            Some(p) if p < LIVE_PARALLAX => "between",
            Some(_) => "a 3-D head",
        };
        println!(
            "| {} | {fps:.0} | {} | {:.1}-{:.1} s ({fed} fed) | {pnp:+.1}° / {rigid:+.1}° | {} | {} | {verdict} |",
            std::path::Path::new(&video)
                .file_name()
                .map_or(video.clone(), |n| n.to_string_lossy().into_owned()),
            seen.len(),
            from as f64 / fps,
            to as f64 / fps,
            meter.samples().count(),
            parallax.map_or("-".to_string(), |p| format!("{p:.3}")),
        );
    }
    Ok(())
}
