//! How well the head-rotation measures behave on real people, and the depth scale of the rigid
//! fit ([`pose::DEPTH_SCALE`]).
//!
//! For every real clip of the media manifest (franck and the other people), every followed frame
//! is compared with the clip's frames 4, 8 and 12 frames earlier: the rigid fit of all 468
//! FaceMesh points ([`pose::rigid_fit`]) is computed at several depth scales, and the residual
//! (how far the motion is from a rotation) is averaged over the pairs that rotated by 4° or
//! more. The scale with the smallest residual is the one at which FaceMesh's depth moves with
//! its image coordinates as a solid head does.
//!
//! It also prints, for franck's turn clips (the PAD live user's), the yaw each measure sees from
//! the clip's first frame to its furthest: solvePnP of six points against a generic face
//! ([`pose::estimate`]) and the rigid fit ([`pose::relative`]).
//!
//!     cargo run --release -p livegate-engine --example pose_calibration

use std::sync::Arc;

use livegate_engine::models::{Models, cache_dir, default_model_dir};
use livegate_engine::pose;
use livegate_engine::{AnalyzerConfig, FrameAnalyzer};
use opencv::core::Mat;
use opencv::prelude::*;
use opencv::videoio;

const SCALES: [f32; 7] = [0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0];
const CLIPS: [&str; 6] = [
    "franck.mp4",
    "msu_client005.mp4",
    "msu_client022.mp4",
    "msu_client001.mp4",
    "webcam_office.mov",
    "webcam_still.mov",
];
/// (first, last) frames of franck's head turns, as the PAD live user plays them.
const FRANCK_TURNS: [(usize, usize, &str); 3] = [
    (1040, 1092, "turn left"),
    (3870, 3890, "turn left"),
    (3844, 3878, "turn right (played reversed)"),
];

/// The landmarks of every followed single-face frame of `file` (None where there was none), up
/// to `max` frames.
fn landmarks(
    analyzer: &mut FrameAnalyzer,
    file: &str,
    max: usize,
) -> Vec<Option<(livegate_engine::landmarks::FaceLandmarks, f32)>> {
    let path = cache_dir().join("media").join(file);
    let mut capture =
        videoio::VideoCapture::from_file(path.to_str().unwrap(), videoio::CAP_ANY).unwrap();
    let mut frame = Mat::default();
    let mut out = Vec::new();
    while out.len() < max && capture.read(&mut frame).unwrap_or(false) && !frame.empty() {
        let analysis = analyzer.analyze(&frame, &[]).unwrap();
        out.push(
            analysis
                .face
                .filter(|_| analysis.faces == 1 && !analysis.detected)
                .map(|f| (f.landmarks, f.pose.yaw)),
        );
    }
    out
}

fn main() {
    let models = Arc::new(Models::load(&default_model_dir()).expect("models: run fetch.py models"));
    println!(
        "| clip | frames with a face | pairs rotated ≥ 4° | residual at depth scale {} | best |",
        SCALES.map(|s| s.to_string()).join(" / ")
    );
    println!("|---|---|---|---|---|");
    let mut franck = Vec::new();
    for file in CLIPS {
        let mut analyzer = FrameAnalyzer::new(models.clone(), AnalyzerConfig::default());
        // franck: the first 160 s hold every clip the live user plays.
        let max = if file == "franck.mp4" { 4000 } else { 600 };
        let frames = landmarks(&mut analyzer, file, max);
        let mut sums = [0.0f64; SCALES.len()];
        let mut pairs = 0usize;
        for (i, current) in frames.iter().enumerate() {
            for lag in [4, 8, 12] {
                let (Some((b, _)), Some(Some((a, _)))) =
                    (current, i.checked_sub(lag).map(|j| &frames[j]))
                else {
                    continue;
                };
                let p = pose::relative(a, b);
                if p.yaw.abs().max(p.pitch.abs()) < 4.0 {
                    continue;
                }
                pairs += 1;
                for (k, s) in SCALES.iter().enumerate() {
                    sums[k] += pose::rigid_fit(&a.points, &b.points, *s).1;
                }
            }
        }
        let means: Vec<f64> = sums.iter().map(|s| s / pairs.max(1) as f64).collect();
        let best = (0..SCALES.len())
            .min_by(|&x, &y| means[x].total_cmp(&means[y]))
            .map(|k| SCALES[k])
            .unwrap_or(f32::NAN);
        println!(
            "| {file} | {} | {pairs} | {} | {best} |",
            frames.iter().filter(|f| f.is_some()).count(),
            means
                .iter()
                .map(|m| format!("{m:.4}"))
                .collect::<Vec<_>>()
                .join(" / ")
        );
        if file == "franck.mp4" {
            franck = frames;
        }
    }

    println!("\nfranck's turns: yaw from the clip's first frame to its furthest\n");
    println!("| clip | solvePnP, 6 points | rigid fit, 468 points |");
    println!("|---|---|---|");
    for (from, to, what) in FRANCK_TURNS {
        let Some((first, first_yaw)) = franck[from..=to].iter().flatten().next() else {
            continue;
        };
        let (mut pnp, mut rigid) = (0.0f32, 0.0f32);
        for (l, yaw) in franck[from..=to].iter().flatten() {
            let d = yaw - first_yaw;
            if d.abs() > pnp.abs() {
                pnp = d;
            }
            let r = pose::relative(first, l).yaw;
            if r.abs() > rigid.abs() {
                rigid = r;
            }
        }
        println!("| {from}–{to} {what} | {pnp:+.1}° | {rigid:+.1}° |");
    }
}
