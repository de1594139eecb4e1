//! Evidence of liveness, and the rule that fuses it into one confidence.
//!
//! Each signal is a number with a documented meaning (see its module):
//!
//! | signal | module | what it measures | range |
//! |---|---|---|---|
//! | challenge | [`crate::challenge`] | steps done in time, and by how much beyond their thresholds | 0–1 per step |
//! | 3-D consistency | [`parallax`] | how far the nose tip leads the extruded surface that moves like the rest of the face, over the face's own relief (tracked image patches) | 0–~2 (real heads 0.3–2) |
//! | blink | [`crate::challenge`], [`crate::eyes`] | deepest eye closure in a blink step | 0–1 |
//! | light reflection | [`crate::light`] | cosine between the face's and the screen's chroma changes, drift taken out, over one sequence or two | −1–1 |
//! | passive texture | [`texture`] | anti-spoofing depth score; moiré peak and glare of face crops | 0–1; ×median; 0–1 |
//! | device outline | [`outline`] | sampled frames where straight edges close round the face, under the chin too | count of measured |
//! | continuity | [`crate::embedding`] | lowest SFace cosine to the session's first face; faces per frame | −1–1; count |
//! | injection | [`injection`] | repeated frames; timestamps against the declared rate | counts |
//!
//! ## Fusion rule
//! `confidence = 100 × C × P × L × F × I × S × T × Q`, where each factor is 1 when its evidence is
//! clean (so a live user loses nothing) and smaller as the evidence points to an attack:
//! - **C, challenge**: mean over the plan's steps of `0.95 + 0.05 × margin` for a step done in
//!   time, 0 for a step not done. A plan not completed cannot reach 90.
//! - **P, parallax** (when the plan turned the head): 1 at or above
//!   [`parallax::LIVE_PARALLAX`], 0.3 at or below [`parallax::FLAT_PARALLAX`], linear between;
//!   0.3 when no frame rotated enough to measure. Reason `NO_PARALLAX` when below the midpoint.
//! - **L, light** (when the plan's light step was shown): 1 at or above the live level
//!   ([`light::LIVE_REFLECTION_AT_ONCE`] for one sequence, [`light::LIVE_REFLECTION`] for two
//!   judged together), 0.3 at or below [`light::FLAT_REFLECTION`], and between them
//!   `0.3 + 0.55 t` (t the way from one to the other), at most 0.85: short of the live level
//!   never reaches 90; 0.3 when too few flashes had a face to measure. Reason
//!   `NO_LIGHT_REFLECTION` when below the midpoint, `WEAK_LIGHT_REFLECTION` between the midpoint
//!   and the live level (the user should turn the screen's brightness up). 0.3 with
//!   `LIGHT_ON_GLASS` instead, from the midpoint up, when the face's change followed the colours
//!   evenly and not in proportion to its brightness ([`light::Reflection::on_glass`]).
//! - **F, continuity**: 0 if the face changed identity (`FACE_CHANGED`); 0.5 if more than one
//!   face was seen on more than 10% of frames (`MULTIPLE_FACES`).
//! - **I, injection**: 0.3 for frozen frames (`FROZEN_FRAMES`), 0.3 for impossible timestamps
//!   (`INJECTION_SUSPECTED`).
//! - **S, screen cues**: 0.6 when moiré is above [`MOIRE_SCREEN`] (`SCREEN_SUSPECTED`). Glare
//!   is measured and reported but does not flag a screen by itself: skin shines too, and a real
//!   woman's phone selfie (the media manifest's `msu_client022.mp4`) had 7 % of her face
//!   saturated and colourless, above the 4 % that used to mean "glass". 0.6 again when the face
//!   was seen inside a device's or a print's outline ([`outline`], `DEVICE_OUTLINE`).
//! - **T, anti-spoofing model**: `1 − 0.04 × (1 − min(1, depth / ANTISPOOF_REAL))`: at most four
//!   points, never enough on its own to turn a clean session's ≥95 below 90.
//! - **Q, quality**: 0.85 when fewer than 30% of the frames with a face were usable
//!   (`LOW_QUALITY`).
//!
//! `is_live` ([`Fusion::is_live`]) = every step done, a light step shown reached its live level
//! and was not on glass, and confidence ≥ the threshold (default 90). Reasons are listed whenever
//! their evidence fired, live or not, so an operator sees why confidence dropped.
//!
//! **The light step is a gate, not a weight.** It is the one check an emissive screen cannot
//! fake, and its rates are measured for its rule (`crate::light`): a face whose colour did not
//! follow the screen to the live level is not live at any threshold and however clean the rest.
//! Weighed instead (a factor of `0.3 + 0.7 t` up to stop 31), a session whose other evidence was
//! perfect, as an injected replay that does every movement makes it, was live from a score of
//! about 0.56 with two sequences: on six real people's clips unlit faces then passed 0.06–0.28 %
//! per person, not the rule's 0.02–0.18 %, and a replay behind glass 5.9 %, not 3.3 %. The price
//! is paid by faint real faces, who were asked for a brighter screen before their second
//! sequence: modelled, the woman of the media manifest lit at 2 % of her room's light passes 13 %
//! of the time, not 26 % (`light_margins`).

pub mod injection;
pub mod outline;
pub mod parallax;
pub mod texture;

pub use injection::{InjectionMeter, InjectionReport};
pub use outline::{OutlineMeter, OutlineReport};
pub use parallax::ParallaxMeter;
pub use texture::{AntiSpoofModel, ScreenCues};

use crate::challenge::ChallengeKind;
use crate::light;

/// Why a verdict is what it is: codes an operator can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerdictReason {
    /// A step was not completed within its time limit.
    ChallengeTimeout,
    /// The stream ended before every step was done.
    Incomplete,
    /// A blink was asked for and never seen.
    NoBlink,
    /// The head turned but its landmarks moved like a flat picture's.
    NoParallax,
    /// The face changed identity during the session.
    FaceChanged,
    /// More than one face was in view on many frames.
    MultipleFaces,
    /// Frames repeated: a frozen picture between (or instead of) camera frames.
    FrozenFrames,
    /// Timestamps went backwards or ran faster than the declared frame rate.
    InjectionSuspected,
    /// Moiré or glare of a screen on the face.
    ScreenSuspected,
    /// Straight edges close round the face, below the chin too: the outline of a device or a
    /// print held to the camera.
    DeviceOutline,
    /// Too few usable frames (dark, blurred, off-centre, too small).
    LowQuality,
    /// Every step was done but the evidence was weaker than the threshold asks.
    LowConfidence,
    /// The face's colour did not follow the light step's colours.
    NoLightReflection,
    /// The face followed the light step's colours, but weakly: a brighter screen (or a dimmer
    /// room) gives a clear answer. Tell the user so before they try again.
    WeakLightReflection,
    /// The client reported showing other colours or timings than the light step asked.
    LightNotShown,
    /// The light step's colours changed the face evenly, as a reflection on the glass of a
    /// device does, and not in proportion to each part's brightness, as light on skin does.
    LightOnGlass,
}

impl VerdictReason {
    pub fn code(self) -> &'static str {
        match self {
            VerdictReason::ChallengeTimeout => "CHALLENGE_TIMEOUT",
            VerdictReason::Incomplete => "INCOMPLETE",
            VerdictReason::NoBlink => "NO_BLINK",
            VerdictReason::NoParallax => "NO_PARALLAX",
            VerdictReason::FaceChanged => "FACE_CHANGED",
            VerdictReason::MultipleFaces => "MULTIPLE_FACES",
            VerdictReason::FrozenFrames => "FROZEN_FRAMES",
            VerdictReason::InjectionSuspected => "INJECTION_SUSPECTED",
            VerdictReason::ScreenSuspected => "SCREEN_SUSPECTED",
            VerdictReason::DeviceOutline => "DEVICE_OUTLINE",
            VerdictReason::LowQuality => "LOW_QUALITY",
            VerdictReason::LowConfidence => "LOW_CONFIDENCE",
            VerdictReason::NoLightReflection => "NO_LIGHT_REFLECTION",
            VerdictReason::WeakLightReflection => "WEAK_LIGHT_REFLECTION",
            VerdictReason::LightNotShown => "LIGHT_NOT_SHOWN",
            VerdictReason::LightOnGlass => "LIGHT_ON_GLASS",
        }
    }
}

/// Moiré peak (× ring median) above which a crop looks re-photographed from a screen.
pub const MOIRE_SCREEN: f32 = 40.0;
/// Multiple faces on more than this fraction of frames costs confidence.
pub const MULTIPLE_FACES_FRACTION: f32 = 0.1;
/// Usable frames (hint OK) below this fraction of frames with a face is low quality.
pub const MIN_USABLE_FRACTION: f32 = 0.3;

/// Everything an attempt measured, ready to fuse.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvidenceReport {
    /// Each step of the plan: its kind, whether it was done, and its margin (0–1).
    pub steps: Vec<(ChallengeKind, bool, f32)>,
    pub parallax: Option<f32>,
    pub max_rotation_deg: f32,
    /// Deepest eye closure in a blink step (1 − openness / open level).
    pub blink_depth: Option<f32>,
    /// Reflection score of the light steps, when shown and enough flashes were measured.
    pub light_reflection: Option<light::Reflection>,
    pub identity_min_cosine: f32,
    pub identity_threshold: f32,
    pub frames_with_face: u32,
    pub frames_multiple_faces: u32,
    pub usable_frames: u32,
    pub injection: InjectionReport,
    pub outline: OutlineReport,
    pub screen: Option<ScreenCues>,
    /// Anti-spoofing depth score of the reference crop.
    pub antispoof_depth: Option<f32>,
}

/// The fused result: confidence 0–100 and the reasons that lowered it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fusion {
    pub confidence: f32,
    pub reasons: Vec<VerdictReason>,
    pub all_steps_done: bool,
    /// The plan had no light step, or its face followed the colours to the live level and not as
    /// glass does.
    pub light_reached: bool,
}

impl Fusion {
    /// Live: every step done, the light step's gate passed and confidence at `threshold` or more.
    pub fn is_live(&self, threshold: f32) -> bool {
        self.all_steps_done && self.light_reached && self.confidence >= threshold
    }
}

/// The verdict's confidence: the product of one factor per kind of evidence (each 1.0 when it
/// says nothing against the attempt), and the reasons each names, in the order they are weighed.
pub fn fuse(e: &EvidenceReport) -> Fusion {
    let mut reasons = Vec::new();
    let challenge = challenge_factor(e, &mut reasons);
    let (parallax, light, light_reached) = physical_factors(e, &mut reasons);
    let continuity = continuity_factor(e, &mut reasons);
    let injection = injection_factor(e, &mut reasons);
    let screen = screen_factor(e, &mut reasons);
    let texture = e.antispoof_depth.map_or(1.0, |d| {
        1.0 - 0.04 * (1.0 - (d / texture::ANTISPOOF_REAL).min(1.0)).max(0.0)
    });
    let quality = if e.frames_with_face > 0
        && (e.usable_frames as f32) < MIN_USABLE_FRACTION * e.frames_with_face as f32
    {
        reasons.push(VerdictReason::LowQuality);
        0.85
    } else {
        1.0
    };
    let confidence =
        100.0 * challenge * parallax * light * continuity * injection * screen * texture * quality;
    Fusion {
        confidence: (confidence * 100.0).round() / 100.0,
        reasons,
        all_steps_done: e.steps.iter().all(|s| s.1),
        light_reached,
    }
}

/// The steps: each done counts 0.95 plus up to 0.05 for its margin; a missed one nothing.
fn challenge_factor(e: &EvidenceReport, reasons: &mut Vec<VerdictReason>) -> f32 {
    let total = e.steps.len().max(1) as f32;
    if e.steps.iter().any(|s| s.0 == ChallengeKind::Blink && !s.1) {
        reasons.push(VerdictReason::NoBlink);
    }
    e.steps
        .iter()
        .map(|&(_, done, margin)| if done { 0.95 + 0.05 * margin } else { 0.0 })
        .sum::<f32>()
        / total
}

/// Parallax and light reflection, and whether the light step's gate passed. A physical signal
/// counts only where its step was done: parallax needs a head rotation, light reflection a light
/// step shown as asked. Below the midpoint it names its reason. Parallax is weighed all the way
/// to its live level; light short of its live level names `WEAK_LIGHT_REFLECTION` and weighs at
/// most 0.85, since it is also a gate.
fn physical_factors(e: &EvidenceReport, reasons: &mut Vec<VerdictReason>) -> (f32, f32, bool) {
    // How far a done step's signal got from flat (0) to live (1), its reasons named.
    let mut progress = |done: bool,
                        value: f32,
                        (flat, live): (f32, f32),
                        reason: VerdictReason,
                        weak: Option<VerdictReason>| {
        if !done {
            return None;
        }
        let t = (value - flat) / (live - flat);
        if t < 0.5 {
            reasons.push(reason);
        } else if t < 1.0 {
            reasons.extend(weak);
        }
        Some(t)
    };
    let parallax = progress(
        e.steps.iter().any(|s| s.0.rotates_head() && s.1),
        e.parallax.unwrap_or(0.0),
        (parallax::FLAT_PARALLAX, parallax::LIVE_PARALLAX),
        VerdictReason::NoParallax,
        None,
    )
    .map_or(1.0, |t| 0.3 + 0.7 * t.clamp(0.0, 1.0));
    // One sequence must reach a higher level than two judged together (`crate::light`).
    let reflection = e.light_reflection.unwrap_or(light::Reflection {
        score: light::FLAT_REFLECTION,
        surface: 0.0,
        glare: 0.0,
        sequences: 0,
    });
    let light_done = e.steps.iter().any(|s| s.0 == ChallengeKind::Light && s.1);
    // The glass check explains why a face whose colour did follow is refused: one that did not
    // follow is named as such, whatever small, even change it showed.
    let midpoint = (light::FLAT_REFLECTION + reflection.live_level()) / 2.0;
    let on_glass = light_done && reflection.score >= midpoint && reflection.on_glass();
    // How far a shown light step got; None when it was not shown, or was glass.
    let light_progress = if on_glass {
        reasons.push(VerdictReason::LightOnGlass);
        None
    } else {
        progress(
            light_done,
            reflection.score,
            (light::FLAT_REFLECTION, reflection.live_level()),
            VerdictReason::NoLightReflection,
            Some(VerdictReason::WeakLightReflection),
        )
    };
    let light = match light_progress {
        _ if on_glass => 0.3,
        None => 1.0,
        Some(t) if t >= 1.0 => 1.0,
        Some(t) => 0.3 + 0.55 * t.max(0.0),
    };
    let light_planned = e.steps.iter().any(|s| s.0 == ChallengeKind::Light);
    let light_reached = !light_planned || light_progress.is_some_and(|t| t >= 1.0);
    (parallax, light, light_reached)
}

/// One person throughout: the same face as at the start, and alone in the picture.
fn continuity_factor(e: &EvidenceReport, reasons: &mut Vec<VerdictReason>) -> f32 {
    let mut continuity = 1.0;
    if e.identity_min_cosine < e.identity_threshold {
        reasons.push(VerdictReason::FaceChanged);
        continuity = 0.0;
    }
    if e.frames_multiple_faces as f32 > MULTIPLE_FACES_FRACTION * e.frames_with_face.max(1) as f32 {
        reasons.push(VerdictReason::MultipleFaces);
        continuity *= 0.5;
    }
    continuity
}

/// Frames that are not a camera's: repeated, or timed as no camera times them.
fn injection_factor(e: &EvidenceReport, reasons: &mut Vec<VerdictReason>) -> f32 {
    let mut injection = 1.0;
    if e.injection.frozen() {
        reasons.push(VerdictReason::FrozenFrames);
        injection *= 0.3;
    }
    if e.injection.implausible_timing() {
        reasons.push(VerdictReason::InjectionSuspected);
        injection *= 0.3;
    }
    injection
}

/// A screen in front of the camera: its moiré, and a device's outline around the face.
fn screen_factor(e: &EvidenceReport, reasons: &mut Vec<VerdictReason>) -> f32 {
    let mut screen = match e.screen {
        Some(s) if s.moire > MOIRE_SCREEN => {
            reasons.push(VerdictReason::ScreenSuspected);
            0.6
        }
        _ => 1.0,
    };
    if e.outline.outlined() {
        reasons.push(VerdictReason::DeviceOutline);
        screen *= 0.6;
    }
    screen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean() -> EvidenceReport {
        EvidenceReport {
            steps: vec![
                (ChallengeKind::TurnLeft, true, 0.1),
                (ChallengeKind::Blink, true, 0.5),
            ],
            parallax: Some(0.5),
            identity_min_cosine: 0.8,
            identity_threshold: 0.5,
            frames_with_face: 100,
            usable_frames: 90,
            antispoof_depth: Some(0.3),
            screen: Some(ScreenCues {
                moire: 5.0,
                glare: 0.0,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn clean_evidence_is_live_with_no_reasons() {
        let f = fuse(&clean());
        assert!(f.confidence >= 95.0, "{f:?}");
        assert!(f.reasons.is_empty());
    }

    #[test]
    fn a_flat_turn_or_a_frozen_stream_cannot_pass() {
        let mut flat = clean();
        flat.parallax = Some(0.05);
        let f = fuse(&flat);
        assert!(
            f.confidence < 50.0 && f.reasons == [VerdictReason::NoParallax],
            "{f:?}"
        );

        let mut frozen = clean();
        frozen.injection.frames = 100;
        frozen.injection.repeated_frames = 40;
        let f = fuse(&frozen);
        assert!(
            f.confidence < 50.0 && f.reasons == [VerdictReason::FrozenFrames],
            "{f:?}"
        );
    }

    #[test]
    fn a_light_step_counts_only_by_its_reflection() {
        let mut lit = clean();
        lit.steps.insert(0, (ChallengeKind::Light, true, 0.5));
        let measured = |score, sequences| {
            Some(light::Reflection {
                score,
                surface: score,
                glare: 0.0,
                sequences,
            })
        };
        lit.light_reflection = measured(0.8, 1);
        let f = fuse(&lit);
        assert!(f.confidence >= 95.0 && f.reasons.is_empty(), "{f:?}");
        assert!(f.is_live(90.0));

        let mut unlit = lit.clone();
        unlit.light_reflection = measured(0.05, 1);
        let f = fuse(&unlit);
        assert!(f.confidence < 35.0, "{f:?}");
        assert_eq!(f.reasons, [VerdictReason::NoLightReflection]);

        // A weak reflection says so: the user is told to turn the screen up, not left guessing.
        // And it is a gate: just short of the live level, with every other piece of evidence
        // perfect (an injected replay doing every movement), is not live at any threshold.
        let mut weak = lit.clone();
        weak.light_reflection = measured(0.5, 1);
        let f = fuse(&weak);
        assert!(f.confidence < 90.0, "{f:?}");
        assert_eq!(f.reasons, [VerdictReason::WeakLightReflection]);
        let mut perfect = lit.clone();
        perfect.steps = vec![(ChallengeKind::Light, true, 1.0)];
        perfect.antispoof_depth = None;
        perfect.light_reflection = measured(0.59, 2);
        let f = fuse(&perfect);
        assert!(f.confidence < 85.0, "{f:?}");
        assert!(!f.is_live(50.0), "{f:?}");
        assert_eq!(f.reasons, [VerdictReason::WeakLightReflection]);
        perfect.light_reflection = measured(0.6, 2);
        assert!(fuse(&perfect).is_live(90.0));

        // One sequence must do better than two judged together.
        let mut one = lit.clone();
        one.light_reflection = measured(0.65, 1);
        let f = fuse(&one);
        assert!(f.confidence < 90.0, "{f:?}");
        assert_eq!(f.reasons, [VerdictReason::WeakLightReflection]);
        one.light_reflection = measured(0.65, 2);
        let f = fuse(&one);
        assert!(f.confidence >= 90.0 && f.reasons.is_empty(), "{f:?}");

        // A face whose colour followed evenly, as glass in front of a picture makes it, fails
        // however well it followed; one that did not follow is named for that.
        let mut glass = lit.clone();
        glass.light_reflection = Some(light::Reflection {
            score: 0.9,
            surface: 0.05,
            glare: 0.8,
            sequences: 1,
        });
        let f = fuse(&glass);
        assert!(f.confidence < 35.0, "{f:?}");
        assert_eq!(f.reasons, [VerdictReason::LightOnGlass]);
        glass.light_reflection = glass
            .light_reflection
            .map(|r| light::Reflection { score: 0.1, ..r });
        assert_eq!(fuse(&glass).reasons, [VerdictReason::NoLightReflection]);

        // Too few frames to measure is no evidence, not a pass.
        unlit.light_reflection = None;
        assert!(fuse(&unlit).confidence < 35.0);
    }

    #[test]
    fn a_face_inside_a_device_outline_cannot_pass() {
        let mut e = clean();
        e.outline = OutlineReport {
            measured: 20,
            framed: 15,
        };
        let f = fuse(&e);
        assert!(f.confidence < 90.0, "{f:?}");
        assert_eq!(f.reasons, [VerdictReason::DeviceOutline]);
    }

    #[test]
    fn the_antispoof_model_alone_cannot_fail_a_clean_session() {
        let mut e = clean();
        e.antispoof_depth = Some(0.0);
        let f = fuse(&e);
        assert!(f.confidence >= 90.0, "{f:?}");
    }

    #[test]
    fn a_step_not_done_fails_whatever_else() {
        let mut e = clean();
        e.steps[1].1 = false;
        let f = fuse(&e);
        assert!(!f.all_steps_done && f.confidence < 50.0);
        assert_eq!(f.reasons, [VerdictReason::NoBlink]);
    }
}
