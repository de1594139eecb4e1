//! Blinks found in real videos three ways: the mean of both eyes against its own median (blink
//! steps before the schedule), both eyes on every frame each against its own level, and as blink
//! steps do ([`livegate_engine::challenge::EyeSchedule`]: one eye a frame in turn, both while the eyes
//! are not fully open; each eye against its own open level). Both eyes are measured on every
//! frame; the schedule sees only the eyes it would have measured. Blinks are the
//! blink step's rule ([`livegate_engine::challenge`]): openness below 0.7 of the open level,
//! then above 0.85 within a second. Frames can be dropped to a camera's pace (FPS), and with
//! OUT_DIR the frames where an eye dips are saved, so that a person can check they are blinks;
//! `--list` prints when each blink the schedule found began (to compare two model files).
//!
//!     cargo run --release -p livegate-engine --example eye_openness -- [--fps 10] [--list] VIDEO... [--out OUT_DIR]

use std::sync::Arc;

use livegate_engine::challenge::{
    BLINK_CLOSED_RATIO, BLINK_MAX_CLOSED_MS, BLINK_REOPEN_RATIO, EyeSchedule, OpennessLevel,
};
use livegate_engine::eyes::{Eye, EyeOpenness, mean_openness};
use livegate_engine::models::{Models, default_model_dir};
use livegate_engine::{AnalyzerConfig, FrameAnalyzer};
use opencv::core::{Mat, Vector};
use opencv::prelude::*;
use opencv::{imgcodecs, videoio};

/// Follows the blink rule over a series of (time, openness ratio), counting blinks.
#[derive(Default)]
struct Blinks {
    closed_since: Option<i64>,
    at_ms: Vec<i64>,
}

impl Blinks {
    fn observe(&mut self, t: i64, ratio: Option<f32>) {
        let Some(ratio) = ratio else { return };
        match self.closed_since {
            None if ratio < BLINK_CLOSED_RATIO => self.closed_since = Some(t),
            Some(since) if ratio > BLINK_REOPEN_RATIO => {
                self.closed_since = None;
                if t - since <= BLINK_MAX_CLOSED_MS {
                    self.at_ms.push(since);
                }
            }
            _ => {}
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut fps, mut out, mut videos) = (None::<f64>, None::<String>, Vec::new());
    let mut list = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--fps" => fps = Some(args.next().expect("fps").parse().expect("a number")),
            "--out" => out = Some(args.next().expect("a folder")),
            "--list" => list = true,
            _ => videos.push(a),
        }
    }
    let models = Arc::new(Models::load(&default_model_dir()).unwrap());
    println!(
        "| video | frames | blinks, mean of both eyes (before) | blinks, both eyes every frame | blinks, blink-step schedule | found by both | both-eye blinks missed | iris runs a frame |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for video in &videos {
        let mut analyzer = FrameAnalyzer::new(models.clone(), AnalyzerConfig::default());
        let mut cap = videoio::VideoCapture::from_file(video, videoio::CAP_ANY).unwrap();
        let native = cap.get(videoio::CAP_PROP_FPS).unwrap().max(1.0);
        let step = fps.map_or(1.0, |f| (native / f).max(1.0));
        let (mut frame, mut index, mut next) = (Mat::default(), 0usize, 0.0f64);
        let (mut both_level, mut turn_level) = (OpennessLevel::default(), OpennessLevel::default());
        let (mut both, mut turn) = (Blinks::default(), Blinks::default());
        let mut schedule = EyeSchedule::default();
        let (mut before, mut means) = (Blinks::default(), std::collections::VecDeque::new());
        let mut used = 0;
        let mut trace = Vec::new();
        let mut iris_runs = 0;
        while cap.read(&mut frame).unwrap() {
            index += 1;
            if ((index - 1) as f64) < next {
                continue;
            }
            next += step;
            used += 1;
            let t = ((index - 1) as f64 * 1000.0 / native) as i64;
            let Some(face) = analyzer.analyze(&frame, &Eye::BOTH).unwrap().face else {
                continue;
            };
            let eyes = face.eye_openness;
            // Before the schedule: both eyes' mean against the median of that mean.
            if let Some(mean) = mean_openness(&eyes) {
                let level = (means.len() >= 5).then(|| {
                    let mut v: Vec<f32> = means.iter().copied().collect();
                    v.sort_by(f32::total_cmp);
                    v[v.len() / 2]
                });
                before.observe(t, level.map(|l| mean / l.max(1e-3)));
                if means.len() == 30 {
                    means.pop_front();
                }
                means.push_back(mean);
            }
            let ratio = both_level.ratio(&eyes);
            let per_eye = |e: Eye| Some(eyes[e as usize]? / both_level.level(e)?);
            trace.push((t, per_eye(Eye::ImageLeft), per_eye(Eye::ImageRight), ratio));
            both.observe(t, ratio);
            both_level.push_all(&eyes);
            // What a blink step would have measured of this frame.
            let mut seen = EyeOpenness::default();
            let measured = schedule.next(&turn_level);
            iris_runs += measured.len();
            for &eye in measured {
                seen[eye as usize] = eyes[eye as usize];
            }
            let turn_ratio = turn_level.ratio(&seen);
            turn.observe(t, turn_ratio);
            schedule.observed(turn_ratio);
            turn_level.push_all(&seen);
            if let (Some(dir), Some(r)) = (&out, ratio)
                && r < BLINK_CLOSED_RATIO
            {
                std::fs::create_dir_all(dir).unwrap();
                let name = format!("{dir}/t{t:06}_r{:.0}.png", r * 100.0);
                imgcodecs::imwrite(&name, &frame, &Vector::new()).unwrap();
            }
        }
        // A blink is the same one when the two closures start within 300 ms.
        let common = both
            .at_ms
            .iter()
            .filter(|a| turn.at_ms.iter().any(|b| (*a - b).abs() <= 300))
            .count();
        let name = std::path::Path::new(video)
            .file_name()
            .unwrap()
            .to_string_lossy();
        for a in &both.at_ms {
            if !turn.at_ms.iter().any(|b| (a - b).abs() <= 300) {
                eprintln!("{name}: both-eye blink at {a} ms not found by the schedule");
                for (t, l, r, ratio) in trace.iter().filter(|(t, ..)| (t - a).abs() <= 400) {
                    eprintln!("  {t:>6} left {l:?} right {r:?} both-eye ratio {ratio:?}");
                }
            }
        }
        println!(
            "| {name} | {used} | {} | {} | {} | {common} | {} | {:.2} |",
            before.at_ms.len(),
            both.at_ms.len(),
            turn.at_ms.len(),
            both.at_ms.len() - common,
            iris_runs as f64 / used.max(1) as f64
        );
        if list {
            eprintln!("{name}: blink-step blinks at {:?} ms", turn.at_ms);
        }
    }
}
