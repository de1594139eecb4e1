//! How the light step's reflection score behaves on real frames: how often a face that nothing
//! lit passes by chance, how much screen light a real face needs to pass, and how a device whose
//! glass reflects the flash fares.
//!
//! Face and surrounding colours come from franck.mp4's first 10 s (240 frames at 24 fps),
//! measured as the engine measures them ([`light::face_colour`], [`light::surround_colour`]). For
//! each of N random sequences, shown from a random moment of those 10 s:
//! - **unlit**: the frames as they are (a replay, or a face the screen does not reach);
//! - **lit at k**: each colour × (1 + k × the flash's channel / 255) on the face (light adds to
//!   skin in proportion to its own colour) and × (1 + [`SURROUND_REACH`] × k × …) on the
//!   surroundings: our model of a screen 30 cm from the face and a room behind it, the one
//!   `livegate_specimens::screen_lit` draws. k = 0.10 is a screen adding a tenth of the ambient
//!   light at full channel. *This is our own model of light; no camera here faced a screen.*
//! - **glass at r**: the flash's colour × r added to face and surroundings alike, as the glass of
//!   a phone or tablet replaying a video reflects it (r = 0.005: 0.5 % of the flash).
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
/// How much of the face's screen light its surroundings get in our model (`screen_lit`'s
/// exp(−d²) falloff at the surround bands, about one face width from the face's centre).
const SURROUND_REACH: f32 = 0.3;

/// A row of the table: how the light changes one sample's face and surround colour.
enum Light {
    Lit(f32),
    Glass(f32),
}

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
    let mut samples: Vec<light::LightSample> = Vec::new();
    let mut measuring = std::time::Duration::ZERO;
    for i in 0..240 {
        assert!(capture.read(&mut frame).unwrap(), "franck.mp4 has 10 s");
        let analysis = analyzer.analyze(&frame, &[]).unwrap();
        if let Some(face) = analysis.face.filter(|_| analysis.faces == 1) {
            let started = std::time::Instant::now();
            let colour = light::face_colour(&frame, &face.bbox).unwrap();
            let surround = light::surround_colour(&frame, &face.bbox).unwrap();
            measuring += started.elapsed();
            if let (Some(face), Some(surround)) = (colour, surround) {
                samples.push(light::LightSample {
                    timestamp_ms: (i as f64 * 1000.0 / FPS) as i64,
                    face,
                    surround,
                });
            }
        }
    }
    println!(
        "{} of 240 frames with one face; the face colour took {:.3} ms a frame; {n} sequences each\n",
        samples.len(),
        measuring.as_secs_f64() * 1000.0 / samples.len().max(1) as f64
    );

    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let strengths = [
        Light::Lit(0.0),
        Light::Lit(0.01),
        Light::Lit(0.02),
        Light::Lit(0.03),
        Light::Lit(0.05),
        Light::Lit(0.10),
        Light::Glass(0.002),
        Light::Glass(0.005),
        Light::Glass(0.01),
        Light::Glass(0.03),
    ];
    let mut scores: Vec<Vec<f32>> = vec![Vec::new(); strengths.len()];
    for _ in 0..n {
        let sequence = LightSequence::random(&mut rng);
        let start = rng.random_range(0..10_000 - sequence.duration_ms() as i64 - 200);
        let shown = sequence.shown_from(start);
        for (k, out) in strengths.iter().zip(&mut scores) {
            let lit: Vec<light::LightSample> = samples
                .iter()
                .map(|s| {
                    let on = shown
                        .iter()
                        .find(|f| (f.start_ms..f.end_ms).contains(&s.timestamp_ms));
                    let flash = |ch: usize| on.map_or(0.0, |f| f.rgb[ch] as f32 / 255.0);
                    let (face, surround) = match k {
                        Light::Lit(k) => (
                            std::array::from_fn(|ch| s.face[ch] * (1.0 + k * flash(ch))),
                            std::array::from_fn(|ch| {
                                s.surround[ch] * (1.0 + SURROUND_REACH * k * flash(ch))
                            }),
                        ),
                        Light::Glass(r) => (
                            std::array::from_fn(|ch| s.face[ch] + r * 255.0 * flash(ch)),
                            std::array::from_fn(|ch| s.surround[ch] + r * 255.0 * flash(ch)),
                        ),
                    };
                    light::LightSample {
                        timestamp_ms: s.timestamp_ms,
                        face,
                        surround,
                    }
                })
                .collect();
            if let Some(score) = light::reflection(&sequence, &shown, &lit) {
                out.push(score);
            }
        }
    }

    let midpoint = (light::LIVE_REFLECTION + light::FLAT_REFLECTION) / 2.0;
    println!(
        "| light | scored | score p5 / median / p95 | ≥ {:.1} (live) | < {:.1} (NO_LIGHT_REFLECTION) |",
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
            match k {
                Light::Lit(k) if *k == 0.0 => "unlit".to_string(),
                Light::Lit(k) => format!("face lit, k = {k:.2}"),
                Light::Glass(r) => format!("glass, r = {:.1}%", r * 100.0),
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
