//! Prints the eye openness (eye aspect ratio) of every frame of a video and saves the frames where
//! it dips, so that a person can check whether the dips are blinks.
//!
//!     cargo run --release -p livegate-engine --example eye_openness -- VIDEO OUT_DIR

use std::sync::Arc;

use livegate_engine::models::{Models, default_model_dir};
use livegate_engine::{AnalyzerConfig, FrameAnalyzer};
use opencv::core::{Mat, Vector};
use opencv::prelude::*;
use opencv::{imgcodecs, videoio};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (video, out) = (&args[1], &args[2]);
    std::fs::create_dir_all(out).unwrap();
    let models = Arc::new(Models::load(&default_model_dir()).unwrap());
    let mut analyzer = FrameAnalyzer::new(models, AnalyzerConfig::default());
    let mut cap = videoio::VideoCapture::from_file(video, videoio::CAP_ANY).unwrap();
    let fps = cap.get(videoio::CAP_PROP_FPS).unwrap();
    let mut frame = Mat::default();
    let mut series = Vec::new();
    let mut frames = Vec::new();
    while cap.read(&mut frame).unwrap() {
        let a = analyzer.analyze(&frame, true).unwrap();
        series.push(
            a.face
                .as_ref()
                .map(|f| (f.eye_openness.unwrap_or(0.0), f.pose.yaw, f.pose.pitch)),
        );
        frames.push(frame.try_clone().unwrap());
    }
    let window = 30;
    let mut dips = 0;
    for i in 0..series.len() {
        let Some((ear, yaw, pitch)) = series[i] else {
            continue;
        };
        let lo = i.saturating_sub(window);
        let mut recent: Vec<f32> = series[lo..i].iter().flatten().map(|s| s.0).collect();
        if recent.len() < 10 {
            continue;
        }
        recent.sort_by(f32::total_cmp);
        let level = recent[recent.len() / 2];
        let ratio = ear / level;
        if ratio < 0.8 {
            dips += 1;
            println!(
                "frame {i:>5} t={:>7.2}s ear {ear:.3} level {level:.3} ratio {ratio:.2} yaw {yaw:+.0} pitch {pitch:+.0}",
                i as f64 / fps
            );
            let name = format!("{out}/f{i:05}_r{:.0}.png", ratio * 100.0);
            imgcodecs::imwrite(&name, &frames[i], &Vector::new()).unwrap();
        }
    }
    let yaws: Vec<f32> = series.iter().flatten().map(|s| s.1).collect();
    let (lo, hi) = yaws
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &y| (a.min(y), b.max(y)));
    println!(
        "{} frames, {} with a face, {dips} dips below 0.8 of the open level, yaw {lo:.1}..{hi:.1}",
        series.len(),
        yaws.len()
    );
}
