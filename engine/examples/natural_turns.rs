//! The parallax measure ([`livegate_engine::evidence::parallax`]) on the head movements people
//! make on their own, in clips of people other than franck: its thresholds were placed on
//! franck and on our renderings, and a real head must never look flat.
//!
//! For each video and each axis, the largest change of angle within 2.5 s (by the rigid fit of
//! the person's own landmarks) is taken as a rotation step: a turn for yaw, a nod (up or down:
//! the physics is the same, the challenge only asks up) for pitch. The meter gets the step's reaction frames and then the frames of that window, as a session would
//! feed it. It prints the movement, the frames measured, the parallax, and what the fusion rule
//! would make of it: `NO_PARALLAX` below the midpoint of `FLAT_PARALLAX` (0.030) and
//! `LIVE_PARALLAX` (0.050), a smaller confidence without a reason up to the latter.
//!
//!     cargo run --release -p livegate-engine --example natural_turns -- VIDEO...
//!
//! `SERIES=1` adds each measured frame's rotation and depth.

use std::sync::Arc;

use livegate_engine::challenge::{REACTION_FRAMES, Rotation, RotationAxis};
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
    face: Option<Face>,
}

struct Face {
    landmarks: FaceLandmarks,
    /// By solvePnP, and by the rigid fit against the clip's first face: the two estimates a
    /// session takes the larger of.
    poses: [HeadPose; 2],
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let models = Arc::new(Models::load(&default_model_dir())?);
    println!(
        "| video | movement | fps | window | change (solvePnP / rigid fit) | frames measured | parallax | a session would say |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for video in std::env::args().skip(1) {
        let mut cap = videoio::VideoCapture::from_file(&video, videoio::CAP_ANY)?;
        let fps = cap.get(videoio::CAP_PROP_FPS)?.clamp(1.0, 120.0);
        let mut analyzer = FrameAnalyzer::new(models.clone(), AnalyzerConfig::default());
        let (mut seen, mut rest) = (Vec::new(), None::<FaceLandmarks>);
        let mut frame = Mat::default();
        while cap.read(&mut frame)? && !frame.empty() {
            let analysis = analyzer.analyze(&frame, &[])?;
            let face = analysis
                .face
                .filter(|_| !analysis.detected && analysis.faces == 1)
                .map(|f| {
                    let rest = rest.get_or_insert_with(|| f.landmarks.clone());
                    let rigid = pose::relative(rest, &f.landmarks);
                    Face {
                        poses: [f.pose, rigid],
                        landmarks: f.landmarks,
                    }
                });
            seen.push(Seen {
                image: frame.clone(),
                face,
            });
        }
        if rest.is_none() {
            println!("| {video} | no face |");
            continue;
        }
        let name = std::path::Path::new(&video)
            .file_name()
            .map_or(video.clone(), |n| n.to_string_lossy().into_owned());
        for axis in [RotationAxis::Vertical, RotationAxis::Horizontal] {
            let step = largest_rotation(&seen, axis, fps);
            let mut meter = ParallaxMeter::default();
            meter.begin_step(Some(Rotation {
                axis,
                sign: step.by_estimate[1].signum(),
            }));
            // The step's reaction frames come first, so that its reference is the window's start.
            let mut fed = 0;
            for s in &seen[step.from.saturating_sub(REACTION_FRAMES as usize)..=step.to] {
                if let Some(face) = &s.face {
                    meter.observe(&s.image, &face.landmarks, &face.poses)?;
                    fed += 1;
                }
            }
            if std::env::var("SERIES").is_ok() {
                let series: Vec<String> = meter
                    .samples()
                    .map(|(r, v)| format!("{r:.0}°:{v:.3}"))
                    .collect();
                eprintln!("{name} {axis:?}: {}", series.join(" "));
            }
            let parallax = meter.parallax();
            // As the fusion rule reads it (`physical_factors` in evidence/mod.rs): its reason
            // below the midpoint of the flat and live levels.
            let verdict = match parallax {
                None => "not measured",
                Some(p) if p < (FLAT_PARALLAX + LIVE_PARALLAX) / 2.0 => "NO_PARALLAX",
                Some(p) if p < LIVE_PARALLAX => "weaker, no reason",
                Some(_) => "a 3-D head",
            };
            println!(
                "| {name} | {} | {fps:.0} | {:.1}-{:.1} s ({fed} fed) | {:+.1}° / {:+.1}° | {} | {} | {verdict} |",
                match axis {
                    RotationAxis::Vertical => "turn",
                    RotationAxis::Horizontal => "nod",
                },
                step.from as f64 / fps,
                step.to as f64 / fps,
                step.by_estimate[0],
                step.by_estimate[1],
                meter.samples().count(),
                parallax.map_or("-".to_string(), |p| format!("{p:.3}")),
            );
        }
    }
    Ok(())
}

/// The largest rotation about `axis` within 2.5 s of a clip, by the rigid fit.
struct Window {
    from: usize,
    to: usize,
    /// The change by solvePnP and by the rigid fit.
    by_estimate: [f32; 2],
}

fn largest_rotation(seen: &[Seen], axis: RotationAxis, fps: f64) -> Window {
    let angle = |p: &HeadPose| match axis {
        RotationAxis::Vertical => p.yaw,
        RotationAxis::Horizontal => p.pitch,
    };
    let angles: Vec<Option<[f32; 2]>> = seen
        .iter()
        .map(|s| s.face.as_ref().map(|f| f.poses.map(|p| angle(&p))))
        .collect();
    let span = (2.5 * fps) as usize;
    let mut best = Window {
        from: 0,
        to: 0,
        by_estimate: [0.0; 2],
    };
    for from in REACTION_FRAMES as usize..seen.len() {
        for to in from + 1..(from + span).min(seen.len()) {
            let (Some(a), Some(b)) = (angles[from], angles[to]) else {
                continue;
            };
            let d = [b[0] - a[0], b[1] - a[1]];
            // Chosen by the rigid fit of the person's own landmarks: solvePnP alone jumps
            // (franck's pitch by 58° in 0.4 s once), which is no movement to measure.
            if d[1].abs() > best.by_estimate[1].abs() {
                best = Window {
                    from,
                    to,
                    by_estimate: d,
                };
            }
        }
    }
    best
}
