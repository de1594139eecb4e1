//! How the light step's reflection score behaves on real people's frames: how often a face that
//! nothing lit passes by chance, how much screen light a real face needs to pass, and how a
//! device whose glass reflects the flash fares, per person.
//!
//! Face and surrounding colours come from up to 15 s of each real clip of the media manifest
//! (franck and five other people), measured as the engine measures them
//! ([`light::face_cells`], [`light::surround_colour`]). For each of N random pairs of sequences,
//! shown from a random moment of the clip, the second 0.6 s after the first (as a repeated step
//! follows):
//! - **unlit**: the frames as they are (a replay, or a face the screen does not reach);
//! - **lit at k**: each colour × (1 + k × the flash's channel / 255) on the face (light adds to
//!   skin in proportion to its own colour) and × (1 + [`SURROUND_REACH`] × k × …) on the
//!   surroundings: our model of a screen 30 cm from the face and a room behind it, the one
//!   `livegate_specimens::screen_lit` draws. k = 0.10 is a screen adding a tenth of the ambient
//!   light at full channel. *This is our own model of light; no camera here faced a screen.*
//!   The person's own motion, skin, camera and compression are real.
//! - **glass at r**: the flash's colour × r added to face and surroundings alike, as the glass of
//!   a phone or tablet replaying a video reflects it (r = 0.005: 0.5 % of the flash).
//!
//! Each row gives how often the engine's rule passes (`crate::light`'s two stages: one sequence
//! at [`light::LIVE_REFLECTION_AT_ONCE`], or, when it was unclear, both together at
//! [`light::LIVE_REFLECTION`]; and not [`light::Reflection::on_glass`]), how often the glass
//! check stopped a score that had reached the live level, how often the second sequence was
//! shown, and, for comparison, how often the rule before the two stages passed (one sequence,
//! drift left in, judged at 0.6, no glass check).
//!
//!     cargo run --release -p livegate-engine --example light_margins [-- N]

use livegate_engine::light::{self, FlashResponse, LightSample, LightSequence, ShownFlash};
use livegate_engine::models::{Models, cache_dir, default_model_dir};
use livegate_engine::{AnalyzerConfig, FrameAnalyzer};
use opencv::core::Mat;
use opencv::prelude::*;
use opencv::videoio;
use rand::{RngExt, SeedableRng};

/// How much of the face's screen light its surroundings get in our model (`screen_lit`'s
/// exp(−d²) falloff at the surround bands, about one face width from the face's centre).
const SURROUND_REACH: f32 = 0.3;
/// The real people's clips, and who is in each.
const PEOPLE: [(&str, &str); 6] = [
    ("franck.mp4", "franck, webcam"),
    ("msu_client005.mp4", "man, phone selfie"),
    ("msu_client022.mp4", "woman, phone selfie, hand in her hair"),
    ("msu_client001.mp4", "man with glasses, phone selfie"),
    ("webcam_office.mov", "man with glasses, office webcam"),
    ("webcam_still.mov", "another man, webcam, almost still"),
];
/// Time between the end of the first sequence and the start of the second.
const GAP_MS: i64 = 600;

/// A row of the table: how the light changes one sample's face and surround colour.
#[derive(Clone, Copy)]
enum Light {
    Lit(f32),
    Glass(f32),
}

const ROWS: [Light; 8] = [
    Light::Lit(0.0),
    Light::Lit(0.01),
    Light::Lit(0.02),
    Light::Lit(0.03),
    Light::Lit(0.05),
    Light::Lit(0.10),
    Light::Glass(0.005),
    Light::Glass(0.01),
];

/// One clip's face and surround colours, how long it lasts, and how long measuring a frame's
/// colours took (the light step's own cost per frame).
fn samples(
    models: &std::sync::Arc<Models>,
    file: &str,
) -> (Vec<LightSample>, i64, std::time::Duration) {
    let mut analyzer = FrameAnalyzer::new(models.clone(), AnalyzerConfig::default());
    let path = cache_dir().join("media").join(file);
    let mut capture =
        videoio::VideoCapture::from_file(path.to_str().unwrap(), videoio::CAP_ANY).unwrap();
    let fps = capture.get(videoio::CAP_PROP_FPS).unwrap();
    let fps = if fps.is_finite() && fps > 1.0 {
        fps
    } else {
        30.0
    };
    let (mut frame, mut samples, mut frames) = (Mat::default(), Vec::new(), 0);
    let mut measuring = std::time::Duration::ZERO;
    while (frames as f64) < 15.0 * fps && capture.read(&mut frame).unwrap() && !frame.empty() {
        let analysis = analyzer.analyze(&frame, &[]).unwrap();
        let started = std::time::Instant::now();
        let colours = analysis.face.filter(|_| analysis.faces == 1).map(|face| {
            (
                light::face_cells(&frame, &face.bbox).unwrap(),
                light::surround_colour(&frame, &face.bbox).unwrap(),
            )
        });
        measuring += started.elapsed();
        if let Some((Some(cells), Some(surround))) = colours {
            samples.push(LightSample {
                timestamp_ms: (frames as f64 * 1000.0 / fps) as i64,
                cells,
                surround,
            });
        }
        frames += 1;
    }
    let per_frame = measuring / frames.max(1);
    (samples, (frames as f64 * 1000.0 / fps) as i64, per_frame)
}

/// `samples` as `light` changes them while `shown` plays.
fn lit(samples: &[LightSample], shown: &[ShownFlash], light: Light) -> Vec<LightSample> {
    samples
        .iter()
        .map(|s| {
            let on = shown
                .iter()
                .find(|f| (f.start_ms..f.end_ms).contains(&s.timestamp_ms));
            let flash: [f32; 3] =
                std::array::from_fn(|ch| on.map_or(0.0, |f| f.rgb[ch] as f32 / 255.0));
            LightSample {
                timestamp_ms: s.timestamp_ms,
                cells: s.cells.map(|c| changed(c, light, flash, 1.0)),
                surround: changed(s.surround, light, flash, SURROUND_REACH),
            }
        })
        .collect()
}

/// A colour as `light` changes it while `flash` (0–1 a channel) is on screen; `reach` is the
/// share of the face's screen light this surface gets (glass adds to every surface alike).
fn changed(colour: [f32; 3], light: Light, flash: [f32; 3], reach: f32) -> [f32; 3] {
    match light {
        Light::Lit(k) => std::array::from_fn(|ch| colour[ch] * (1.0 + reach * k * flash[ch])),
        Light::Glass(r) => std::array::from_fn(|ch| colour[ch] + r * 255.0 * flash[ch]),
    }
}

/// How a pair fares under the engine's rule.
struct Outcome {
    passes: bool,
    /// Its score reached the live level, but the glass check stopped it.
    on_glass: bool,
    /// The second sequence was shown.
    again: bool,
}

/// The engine's rule: the first sequence alone, or both when the first was unclear; a score at
/// the live level passes unless the face changed as glass makes it.
fn passes(first: &[FlashResponse], second: &[FlashResponse]) -> Outcome {
    let once = light::reflection(&[first]);
    let again = !once.is_some_and(|r| r.score >= r.live_level())
        && light::worth_again(once.map(|r| r.score));
    let judged = if again {
        light::reflection(&[first, second])
    } else {
        once
    };
    let reached = judged.is_some_and(|r| r.score >= r.live_level());
    let on_glass = reached && judged.is_some_and(|r| r.on_glass());
    Outcome {
        passes: reached && !on_glass,
        on_glass,
        again,
    }
}

/// The rule before this one, for comparison: the first sequence's cosine with each channel's
/// mean taken out (drift left in), judged at 0.6.
fn passed_before(first: &[FlashResponse]) -> bool {
    if first.len() < light::MIN_FLASHES_MEASURED {
        return false;
    }
    let deviations = |rows: Vec<[f32; 3]>| -> Vec<f32> {
        let n = rows.len() as f32;
        let mean: [f32; 3] = std::array::from_fn(|k| rows.iter().map(|r| r[k]).sum::<f32>() / n);
        rows.iter()
            .flat_map(|r| (0..3).map(move |k| r[k] - mean[k]))
            .collect()
    };
    let e = deviations(first.iter().map(|r| r.screen).collect());
    let o = deviations(first.iter().map(|r| r.face).collect());
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let dot: f32 = e.iter().zip(&o).map(|(a, b)| a * b).sum();
    dot >= 0.6 * norm(&e) * norm(&o) && dot > 0.0
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("N: a number of sequence pairs"))
        .unwrap_or(2000);
    let models = std::sync::Arc::new(Models::load(&default_model_dir()).expect("run fetch.py"));
    println!("{n} random pairs of sequences per person\n");
    println!(
        "| person | light | passes | stopped by the glass check | second sequence shown | passed before |"
    );
    println!("|---|---|---|---|---|---|");
    let mut costs = Vec::new();
    for (file, who) in PEOPLE {
        let (samples, span, per_frame) = samples(&models, file);
        costs.push(format!("{who} {:.3} ms", per_frame.as_secs_f64() * 1000.0));
        let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
        // Per row: passes, stopped as glass, second shown, passed before, pairs measured.
        let mut counts = [[0usize; 5]; ROWS.len()];
        let needed = 2 * (light::FLASHES as i64 * light::FLASH_MS as i64) + GAP_MS + 200;
        if span <= needed {
            println!(
                "| {who} | — | clip of {:.1} s, too short for two sequences | | |",
                span as f64 / 1000.0
            );
            continue;
        }
        for _ in 0..n {
            let (a, b) = (
                LightSequence::random(&mut rng),
                LightSequence::random(&mut rng),
            );
            let start = rng.random_range(0..span - needed);
            let shown_a = a.shown_from(start);
            let shown_b = b.shown_from(shown_a.last().unwrap().end_ms + GAP_MS);
            let both: Vec<ShownFlash> = shown_a.iter().chain(&shown_b).copied().collect();
            for (row, light) in counts.iter_mut().zip(ROWS) {
                let frames = lit(&samples, &both, light);
                let first = light::responses(&a, &shown_a, &frames);
                let second = light::responses(&b, &shown_b, &frames);
                let outcome = passes(&first, &second);
                row[0] += outcome.passes as usize;
                row[1] += outcome.on_glass as usize;
                row[2] += outcome.again as usize;
                row[3] += passed_before(&first) as usize;
                row[4] += 1;
            }
        }
        for (row, light) in counts.iter().zip(ROWS) {
            let share = |k: usize| 100.0 * row[k] as f64 / row[4].max(1) as f64;
            println!(
                "| {who} | {} | {:.2}% | {:.2}% | {:.1}% | {:.2}% |",
                match light {
                    Light::Lit(0.0) => "unlit".to_string(),
                    Light::Lit(k) => format!("face lit, k = {k:.2}"),
                    Light::Glass(r) => format!("glass, r = {:.1}%", r * 100.0),
                },
                share(0),
                share(1),
                share(2),
                share(3),
            );
        }
    }
    println!(
        "\nMeasuring a frame's colours (16 cells and the surroundings), per frame: {}",
        costs.join(", ")
    );
}
