//! How the light step's reflection score behaves on real people's frames: how often a face that
//! nothing lit passes by chance, how much screen light a real face needs to pass, and how a
//! device whose glass reflects the flash fares, per person.
//!
//! Every pixel of the face's middle in up to 15 s of each real clip of the media manifest
//! (franck and five other people) is kept, cell by cell ([`light::cell_rects`]), as counts of
//! levels, so that each row can change its light pixel by pixel and clip it at 255 as a camera
//! does, then measure cells as the engine does ([`light::face_cells`]: mean, clipped share,
//! brightness under the clipped level). The surroundings' pixels ([`light::surround_rects`])
//! are kept the same way and relit and clipped alike, then averaged as
//! [`light::surround_colour`] averages them. For each of N random pairs of sequences,
//! shown from a random moment of the clip, the second 0.6 s after the first (as a repeated step
//! follows):
//! - **unlit**: the frames as they are (a replay, or a face the screen does not reach);
//! - **lit at k**: each pixel × (1 + k × the flash's channel / 255) on the face (light adds to
//!   skin in proportion to its own colour) and × (1 + [`SURROUND_REACH`] × k × …) on the
//!   surroundings: our model of a screen 30 cm from the face and a room behind it, the one
//!   `livegate_specimens::screen_lit` draws. k = 0.10 is a screen adding a tenth of the ambient
//!   light at full channel. *This is our own model of light; no camera here faced a screen.*
//!   The person's own motion, skin, camera and compression are real.
//! - **glass at r**: the flash's colour × r added to face and surroundings alike, as the glass of
//!   a phone or tablet replaying a video reflects it (r = 0.005: 0.5 % of the flash);
//! - **a print**: the picture held up as one diffuse sheet filling the view, lit at k, its
//!   surroundings as much as its face (paper reflects the screen as skin does, but all of it
//!   at one distance);
//! - **spectacles**: lit at k, with r × the flash added over the two cells where spectacle
//!   lenses would mirror the screen ([`LENS_CELLS`]; our model, placed by the face box's
//!   geometry, whether or not the person wears glasses).
//!
//! Each person is shown twice: as filmed, and exposed brighter until [`BLOWN_SHARE`] of the
//! face's middle is clipped in its brightest channel (a camera exposing for a darker room).
//!
//! Each row gives how often the engine's rule passes (`crate::light`'s two stages: one sequence
//! at [`light::LIVE_REFLECTION_AT_ONCE`], or, when it was unclear, both together at
//! [`light::LIVE_REFLECTION`]; and not [`light::Reflection::on_glass`]), how often the glass
//! check stopped a score that had reached the live level, how often the second sequence was
//! shown, and how often a light-only session with that reflection and every other piece of
//! evidence perfect would be live through the engine's own fusion at the default threshold. The
//! last two must agree: the light step is a gate of the verdict (`crate::evidence`), so a
//! flawless rest carries nothing short of the live level over. (Until stop 31 the fusion weighed
//! a weak score by how far it got, and this column ran 1.5–3 times the rule's for unlit faces.)
//!
//!     cargo run --release -p livegate-engine --example light_margins [-- N]

use livegate_engine::light::{
    self, FaceCells, FlashResponse, LightSample, LightSequence, PATTERN_CELLS, ShownFlash,
};
use livegate_engine::models::{Models, cache_dir, default_model_dir};
use livegate_engine::{
    AnalyzerConfig, AttemptConfig, ChallengeKind, ChallengePlan, EvidenceReport, FrameAnalyzer,
    evidence,
};
use opencv::core::{Mat, Vec3b};
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
/// The share of the face's middle that a camera exposing for a darker scene blows out, in the
/// "highlights blown" rows.
const BLOWN_SHARE: f64 = 0.05;

/// A row of the table: how the light changes one sample's face and surround colour.
#[derive(Clone, Copy)]
enum Light {
    /// A screen adding k × the room's light at full channel to the face.
    Lit(f32),
    /// Glass adding r × the flash to every pixel.
    Glass(f32),
    /// A face lit at k behind spectacles whose lenses mirror the screen: r × the flash added
    /// evenly over [`LENS_CELLS`].
    Spectacles(f32, f32),
    /// A print of the picture held to fill the view, lit at k as one diffuse sheet: its
    /// surroundings as much as its face.
    Sheet(f32),
}

/// The cells the lenses of a pair of spectacles cover: the outer two of the second row (the
/// middle of the face box spans 20–80 % of it; eyes sit at about 35 % of its height and 30 %
/// and 70 % of its width).
const LENS_CELLS: [usize; 2] = [4, 7];

const LIGHTS: [Light; 14] = [
    Light::Lit(0.0),
    Light::Lit(0.01),
    Light::Lit(0.02),
    Light::Lit(0.03),
    Light::Lit(0.05),
    Light::Lit(0.10),
    Light::Glass(0.005),
    Light::Glass(0.01),
    Light::Spectacles(0.02, 0.005),
    Light::Spectacles(0.02, 0.02),
    Light::Spectacles(0.05, 0.04),
    Light::Sheet(0.02),
    Light::Sheet(0.05),
    Light::Sheet(0.10),
];

/// One channel of one cell of one frame, kept so that its mean can be recomputed under any
/// change of light, with the camera's clipping at 255: for each level v, how many of its pixels
/// are darker than v, and their sum.
#[derive(Clone)]
struct Levels {
    below: [u32; 257],
    sum_below: [f32; 257],
}

impl Levels {
    fn of(values: impl Iterator<Item = u8>) -> Self {
        let mut counts = [0u32; 256];
        for v in values {
            counts[v as usize] += 1;
        }
        let mut levels = Levels {
            below: [0; 257],
            sum_below: [0.0; 257],
        };
        for (v, count) in counts.into_iter().enumerate() {
            levels.below[v + 1] = levels.below[v] + count;
            levels.sum_below[v + 1] = levels.sum_below[v] + (v as u32 * count) as f32;
        }
        levels
    }

    /// The first level v at which `gain` × v + `added` reaches `limit`.
    fn first_at(gain: f32, added: f32, limit: f32) -> usize {
        (((limit - added) / gain).ceil().max(0.0) as usize).min(256)
    }

    /// What the engine measures of min(255, `gain` × v + `added`) over the pixels: their mean,
    /// their share at [`light::CLIPPED_LEVEL`] or above, and the sum of those under it over
    /// all the pixels.
    fn seen(&self, gain: f32, added: f32) -> (f32, f32, f32) {
        let n = self.below[256].max(1) as f32;
        let under = |t: usize| gain * self.sum_below[t] + added * self.below[t] as f32;
        let t = Self::first_at(gain, added, 255.0);
        let mean = (under(t) + 255.0 * (self.below[256] - self.below[t]) as f32) / n;
        let c = Self::first_at(gain, added, f32::from(light::CLIPPED_LEVEL));
        (
            mean,
            (self.below[256] - self.below[c]) as f32 / n,
            under(c) / n,
        )
    }
}

/// One frame of a clip as the light step measures it: each cell's channels' levels and the
/// surroundings'.
struct Frame {
    timestamp_ms: i64,
    cells: Vec<[Levels; 3]>,
    surround: [Levels; 3],
}

/// The levels of each channel of the pixels of `rects` of `frame` (offset by `origin`), and
/// each pixel's brightest channel.
fn levels_of(
    frame: &Mat,
    origin: (i32, i32),
    rects: &[opencv::core::Rect],
) -> ([Levels; 3], Vec<u8>) {
    let mut pixels = Vec::new();
    for r in rects {
        for y in origin.1 + r.y..origin.1 + r.y + r.height {
            for x in origin.0 + r.x..origin.0 + r.x + r.width {
                let bgr = *frame.at_2d::<Vec3b>(y, x).unwrap();
                pixels.push([bgr[2], bgr[1], bgr[0]]);
            }
        }
    }
    let brightest = pixels.iter().map(|p| *p.iter().max().unwrap()).collect();
    (
        std::array::from_fn(|k| Levels::of(pixels.iter().map(|p| p[k]))),
        brightest,
    )
}

/// One clip's frames with one face, how long it lasts, how long measuring a frame's colours
/// took (the light step's own cost per frame), and the gain at which [`BLOWN_SHARE`] of the
/// face's middle would clip.
fn frames(
    models: &std::sync::Arc<Models>,
    file: &str,
) -> (Vec<Frame>, i64, std::time::Duration, f32) {
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
    let (mut frame, mut kept, mut frames) = (Mat::default(), Vec::new(), 0);
    let mut measuring = std::time::Duration::ZERO;
    // How many of the faces' middle pixels have each brightest channel.
    let mut brightest = [0u64; 256];
    while (frames as f64) < 15.0 * fps && capture.read(&mut frame).unwrap() && !frame.empty() {
        let analysis = analyzer.analyze(&frame, &[]).unwrap();
        let face = analysis.face.filter(|_| analysis.faces == 1);
        let started = std::time::Instant::now();
        let measured = face.as_ref().map(|face| {
            (
                light::face_cells(&frame, &face.bbox).unwrap(),
                light::surround_colour(&frame, &face.bbox).unwrap(),
            )
        });
        measuring += started.elapsed();
        if let (Some(face), Some((Some(_), Some(_)))) = (face, measured) {
            let (middle, rects) =
                light::cell_rects(&face.bbox, frame.cols(), frame.rows()).unwrap();
            let mut cells = Vec::new();
            for r in rects {
                let (levels, peaks) = levels_of(&frame, (middle.x, middle.y), &[r]);
                for peak in peaks {
                    brightest[peak as usize] += 1;
                }
                cells.push(levels);
            }
            let bands = light::surround_rects(&face.bbox, frame.cols(), frame.rows());
            kept.push(Frame {
                timestamp_ms: (frames as f64 * 1000.0 / fps) as i64,
                cells,
                surround: levels_of(&frame, (0, 0), &bands).0,
            });
        }
        frames += 1;
    }
    let per_frame = measuring / frames.max(1);
    let total: u64 = brightest.iter().sum();
    let (mut level, mut above) = (255, 0u64);
    while level > 1 && (above + brightest[level]) as f64 <= BLOWN_SHARE * total as f64 {
        above += brightest[level];
        level -= 1;
    }
    let blowing = 255.0 / level as f32;
    (
        kept,
        (frames as f64 * 1000.0 / fps) as i64,
        per_frame,
        blowing,
    )
}

/// The samples the engine would take of `frames` exposed at `gain`, while `shown` plays
/// under `light`.
fn lit(frames: &[Frame], shown: &[ShownFlash], light: Light, gain: f32) -> Vec<LightSample> {
    let (from, to) = (shown[0].start_ms, shown.last().unwrap().end_ms + 200);
    frames
        .iter()
        .filter(|f| (from..to).contains(&f.timestamp_ms))
        .map(|f| {
            let on = shown
                .iter()
                .find(|s| (s.start_ms..s.end_ms).contains(&f.timestamp_ms));
            let flash: [f32; 3] =
                std::array::from_fn(|ch| on.map_or(0.0, |s| s.rgb[ch] as f32 / 255.0));
            // Channel `ch` of a surface that gets `reach` of the face's screen light, seen as
            // gain × v + added (glass adds to every surface alike).
            let seen_as = |ch: usize, reach: f32| match light {
                Light::Lit(k) | Light::Spectacles(k, _) => {
                    (gain * (1.0 + reach * k * flash[ch]), 0.0)
                }
                Light::Sheet(k) => (gain * (1.0 + k * flash[ch]), 0.0),
                Light::Glass(r) => (gain, r * 255.0 * flash[ch]),
            };
            let mut cells = FaceCells::none_clipped([[0.0; 3]; PATTERN_CELLS]);
            for (i, levels) in f.cells.iter().enumerate() {
                for ch in 0..3 {
                    let (g, mut a) = seen_as(ch, 1.0);
                    if let Light::Spectacles(_, r) = light
                        && LENS_CELLS.contains(&i)
                    {
                        a += r * 255.0 * flash[ch];
                    }
                    (
                        cells.colour[i][ch],
                        cells.clipped[i][ch],
                        cells.unclipped[i][ch],
                    ) = levels[ch].seen(g, a);
                }
            }
            LightSample {
                timestamp_ms: f.timestamp_ms,
                cells,
                surround: std::array::from_fn(|ch| {
                    let (g, a) = seen_as(ch, SURROUND_REACH);
                    f.surround[ch].seen(g, a).0
                }),
            }
        })
        .collect()
}

/// How a pair fares under the engine's rule.
struct Outcome {
    passes: bool,
    /// The verdict would be live in a session whose other evidence is all perfect: the check
    /// that the fusion's light gate is the rule, and nothing a flawless rest can carry over.
    verdict_passes: bool,
    /// Its score reached the live level, but the glass check stopped it.
    on_glass: bool,
    /// The second sequence was shown.
    again: bool,
}

/// The engine's rule: the first sequence alone, or both when the first was unclear; a score at
/// the live level passes unless the face changed as glass makes it.
fn passes(first: &[FlashResponse], second: &[FlashResponse], threshold: f32) -> Outcome {
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
        verdict_passes: judged.is_some_and(|r| verdict_passes(r, threshold)),
        on_glass,
        again,
    }
}

/// Whether a light-only session measuring `reflection`, with every other piece of evidence
/// perfect, reaches the default threshold through the engine's own fusion.
fn verdict_passes(reflection: light::Reflection, threshold: f32) -> bool {
    let perfect = EvidenceReport {
        steps: vec![(ChallengeKind::Light, true, 1.0)],
        light_reflection: Some(reflection),
        identity_min_cosine: 1.0,
        frames_with_face: 100,
        usable_frames: 100,
        ..EvidenceReport::default()
    };
    evidence::fuse(&perfect).is_live(threshold)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("N: a number of sequence pairs"))
        .unwrap_or(2000);
    let models = std::sync::Arc::new(Models::load(&default_model_dir()).expect("run fetch.py"));
    // The verdict's default threshold.
    let threshold = AttemptConfig::new(ChallengePlan::movements(&[], 0)).confidence_threshold;
    println!("{n} random pairs of sequences per person\n");
    println!(
        "| person | exposure | light | passes | stopped by the glass check | second sequence shown | verdict live, the rest perfect |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut costs = Vec::new();
    for (file, who) in PEOPLE {
        let (frames, span, per_frame, blowing) = frames(&models, file);
        costs.push(format!("{who} {:.3} ms", per_frame.as_secs_f64() * 1000.0));
        let needed = 2 * (light::FLASHES as i64 * light::FLASH_MS as i64) + GAP_MS + 200;
        if span <= needed {
            println!(
                "| {who} | — | — | clip of {:.1} s, too short for two sequences | | | |",
                span as f64 / 1000.0
            );
            continue;
        }
        let exposures = [
            (1.0, "as filmed".to_string()),
            (
                blowing,
                format!("× {blowing:.2}: {:.0} % blown", BLOWN_SHARE * 100.0),
            ),
        ];
        for (gain, exposure) in exposures {
            let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
            // Per light: passes, stopped as glass, second shown, verdict live, pairs.
            let mut counts = [[0usize; 5]; LIGHTS.len()];
            for _ in 0..n {
                let (a, b) = (
                    LightSequence::random(&mut rng),
                    LightSequence::random(&mut rng),
                );
                let start = rng.random_range(0..span - needed);
                let shown_a = a.shown_from(start);
                let shown_b = b.shown_from(shown_a.last().unwrap().end_ms + GAP_MS);
                let both: Vec<ShownFlash> = shown_a.iter().chain(&shown_b).copied().collect();
                for (row, light) in counts.iter_mut().zip(LIGHTS) {
                    let samples = lit(&frames, &both, light, gain);
                    let first = light::responses(&a, &shown_a, &samples);
                    let second = light::responses(&b, &shown_b, &samples);
                    let outcome = passes(&first, &second, threshold);
                    row[0] += outcome.passes as usize;
                    row[1] += outcome.on_glass as usize;
                    row[2] += outcome.again as usize;
                    row[3] += outcome.verdict_passes as usize;
                    row[4] += 1;
                }
            }
            for (row, light) in counts.iter().zip(LIGHTS) {
                let share = |k: usize| 100.0 * row[k] as f64 / row[4].max(1) as f64;
                println!(
                    "| {who} | {exposure} | {} | {:.2}% | {:.2}% | {:.1}% | {:.2}% |",
                    match light {
                        Light::Lit(0.0) => "unlit".to_string(),
                        Light::Lit(k) => format!("face lit, k = {k:.2}"),
                        Light::Glass(r) => format!("glass, r = {:.1}%", r * 100.0),
                        Light::Spectacles(k, r) =>
                            format!("face lit, k = {k:.2}, lenses mirror {:.1}%", r * 100.0),
                        Light::Sheet(k) => format!("print lit as one sheet, k = {k:.2}"),
                    },
                    share(0),
                    share(1),
                    share(2),
                    share(3),
                );
            }
        }
    }
    println!(
        "\nMeasuring a frame's colours (16 cells, their clipped shares and the surroundings), per frame: {}",
        costs.join(", ")
    );
}
