//! How the light step's reflection score behaves on real frames: how often a face that nothing
//! lit passes by chance, and how much screen light a real face needs to pass.
//!
//! Face colours come from franck.mp4's first 10 s (240 frames at 24 fps), measured as the engine
//! measures them ([`light::face_colour`]). For each of N random sequences, shown from a random
//! moment of those 10 s:
//! - **unlit**: the frames as they are (a replay, or a face the screen does not reach);
//! - **lit at k**: each frame's face colour × (1 + k × the flash's channel / 255), the model the
//!   engine test uses (light adds to skin in proportion to its own colour). k = 0.10 is a screen
//!   adding a tenth of the ambient light at full channel.
//!
//!     cargo run --release -p livegate-engine --example light_margins [-- N]

use livegate_engine::light::{self, LightSequence};
use livegate_engine::models::{Models, cache_dir, default_model_dir};
use livegate_engine::{AnalyzerConfig, FrameAnalyzer};
use opencv::core::Mat;
use opencv::prelude::*;
use opencv::videoio;
use rand::{RngExt, SeedableRng};

const FPS: f64 = 24.0;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("N: a number of sequences"))
        .unwrap_or(1000);
    let models = Models::load(&default_model_dir()).expect("models: run fetch.py models");
    let mut analyzer = FrameAnalyzer::new(std::sync::Arc::new(models), AnalyzerConfig::default());
    let path = cache_dir().join("media/franck.mp4");
    let mut capture =
        videoio::VideoCapture::from_file(path.to_str().unwrap(), videoio::CAP_ANY).unwrap();
    let mut frame = Mat::default();
    let mut samples: Vec<(i64, [f32; 3])> = Vec::new();
    let mut measuring = std::time::Duration::ZERO;
    for i in 0..240 {
        assert!(capture.read(&mut frame).unwrap(), "franck.mp4 has 10 s");
        let analysis = analyzer.analyze(&frame, false).unwrap();
        if let Some(face) = analysis.face.filter(|_| analysis.faces == 1) {
            let started = std::time::Instant::now();
            let colour = light::face_colour(&frame, &face.bbox).unwrap();
            measuring += started.elapsed();
            if let Some(colour) = colour {
                samples.push(((i as f64 * 1000.0 / FPS) as i64, colour));
            }
        }
    }
    println!(
        "{} of 240 frames with one face; the face colour took {:.3} ms a frame; {n} sequences each\n",
        samples.len(),
        measuring.as_secs_f64() * 1000.0 / samples.len().max(1) as f64
    );

    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let strengths = [0.0f32, 0.01, 0.02, 0.03, 0.05, 0.10];
    let mut scores: Vec<Vec<f32>> = vec![Vec::new(); strengths.len()];
    for _ in 0..n {
        let sequence = LightSequence::random(&mut rng);
        let start = rng.random_range(0..10_000 - sequence.duration_ms() as i64 - 200);
        let shown = sequence.shown_from(start);
        for (k, out) in strengths.iter().zip(&mut scores) {
            let lit: Vec<(i64, [f32; 3])> = samples
                .iter()
                .map(|&(ts, c)| {
                    let on = shown.iter().find(|f| (f.start_ms..f.end_ms).contains(&ts));
                    let gain = |ch: usize| on.map_or(1.0, |f| 1.0 + k * f.rgb[ch] as f32 / 255.0);
                    (ts, [c[0] * gain(0), c[1] * gain(1), c[2] * gain(2)])
                })
                .collect();
            if let Some(score) = light::reflection(&sequence, &shown, &lit) {
                out.push(score);
            }
        }
    }

    let midpoint = (light::LIVE_REFLECTION + light::FLAT_REFLECTION) / 2.0;
    println!(
        "| screen light k | scored | score p5 / median / p95 | ≥ {:.1} (live) | < {:.1} (NO_LIGHT_REFLECTION) |",
        light::LIVE_REFLECTION,
        midpoint
    );
    println!("|---|---|---|---|---|");
    for (k, mut s) in strengths.iter().zip(scores) {
        s.sort_by(f32::total_cmp);
        let q = |p: f64| s[((s.len() - 1) as f64 * p).round() as usize];
        let share = |pass: &dyn Fn(f32) -> bool| {
            100.0 * s.iter().filter(|x| pass(**x)).count() as f64 / s.len() as f64
        };
        println!(
            "| {} | {} | {:.2} / {:.2} / {:.2} | {:.1}% | {:.1}% |",
            if *k == 0.0 {
                "0 (unlit)".to_string()
            } else {
                format!("{k:.2}")
            },
            s.len(),
            q(0.05),
            q(0.5),
            q(0.95),
            share(&|x| x >= light::LIVE_REFLECTION),
            share(&|x| x < midpoint),
        );
    }
}
