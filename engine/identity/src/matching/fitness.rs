//! Whether a picture is fit for matching, and if not, why: a covered eye, dark glasses, a
//! covered mouth, closed eyes, a mouth open wide, a blurred, tiny or turned face. A comparison
//! of an unfit picture says little either way (a hand over one eye took a real genuine pair to
//! similarity 14.9), so the caller is told the reason and asked for a better picture instead of
//! reading a low score as "another person".
//!
//! Each cue is measured on the face the embedding reads (the aligned 112×112 crop), or by the
//! landmark models on the picture, so it means the same thing at any picture size. The limits
//! were set against every real picture we have (`--example picture_cues`: 152 photos and clip
//! frames of 14 people; one named unfit, a frame of franck mid-blink, EYES_CLOSED) and our own
//! renderings of each condition (flat shapes placed by the detector's points): they show that a
//! cue can see the condition, not how often a real hand or real sunglasses are caught.

use opencv::core::Mat;
use opencv::imgproc;
use opencv::prelude::*;

use livegate_engine::error::EngineError;
use livegate_engine::geometry::distance;
use livegate_engine::landmarks::FaceLandmarks;
use livegate_engine::quality::laplacian_variance;

/// What makes a picture unfit for matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PictureIssue {
    /// Eyes closer than [`MIN_EYE_DISTANCE_PX`]: too little of the face to compare.
    FaceTooSmall,
    /// The aligned face has almost no edges (Laplacian variance under [`MIN_SHARPNESS`]), or
    /// the landmark model does not see a face where the detector found one (FaceMesh presence
    /// under [`MIN_FACE_PRESENCE`]): blur, motion or heavy compression.
    Blurred,
    /// The nose is off the eyes' midpoint by more than [`MAX_NOSE_OFFSET`] eye distances
    /// (about a 50° turn).
    TurnedAway,
    /// Eyelids closed: openness below [`MIN_EYE_OPENNESS`].
    EyesClosed,
    /// One eye region holds no eye: its grey spread is under [`MIN_EYE_CONTRAST`] of the
    /// cheeks' brightness (a hand, hair, a patch).
    EyeCovered,
    /// The mouth region's colour is far from the skin's (CIELAB a*b* distance over
    /// [`MAX_MOUTH_COLOUR_SHIFT`]): a mask or a scarf over the mouth.
    MouthCovered,
    /// An eye region without an eye's contrast (as [`PictureIssue::EyeCovered`]) that is also
    /// darker than [`MIN_EYE_BRIGHTNESS`] of the cheeks: sunglasses.
    DarkGlasses,
    /// The mouth open wider than [`MAX_MOUTH_OPENING`] of its width: a scream, a yawn.
    ExtremeExpression,
    /// Part of the face the checks read (brows to mouth, cheek to cheek) lies outside the
    /// picture: a face at the picture's edge, cropped too tightly.
    FaceCutOff,
}

impl PictureIssue {
    /// The name callers see (REST and proto enum names agree).
    pub fn name(self) -> &'static str {
        match self {
            PictureIssue::FaceTooSmall => "FACE_TOO_SMALL",
            PictureIssue::Blurred => "BLURRED",
            PictureIssue::TurnedAway => "TURNED_AWAY",
            PictureIssue::EyesClosed => "EYES_CLOSED",
            PictureIssue::EyeCovered => "EYE_COVERED",
            PictureIssue::DarkGlasses => "DARK_GLASSES",
            PictureIssue::MouthCovered => "MOUTH_COVERED",
            PictureIssue::ExtremeExpression => "EXTREME_EXPRESSION",
            PictureIssue::FaceCutOff => "FACE_CUT_OFF",
        }
    }
}

/// Below this, SFace's 35-px template eye distance is upscaled threefold.
pub const MIN_EYE_DISTANCE_PX: f32 = 12.0;
/// Every real picture we have scored 1.000; our blurred renderings (σ = 1/6 of the eye
/// distance) 0.001–0.011 where a face was still detected.
pub const MIN_FACE_PRESENCE: f32 = 0.5;
/// Real pictures: 139 and up (webcam frames of 320×240 included); our blurred renderings 2–5,
/// a face scaled down to 14 px between the eyes 21 and up. Between 20 and 150 the score falls
/// instead (see [`FaceImageQuality::score`]).
pub const MIN_SHARPNESS: f32 = 10.0;
pub const MAX_NOSE_OFFSET: f32 = 0.6;
/// Open eyes read 0.25–0.35 (`eyes.rs`); the least open real photo (a broad smile) 0.118. One
/// man's eyes screwed shut in a grimace read 0.09 (`expressions_one_man.jpg`): not named, and a
/// limit that named them would sit between 0.09 and a smile's 0.118 — nothing to place it on.
pub const MIN_EYE_OPENNESS: f32 = 0.08;
/// Real pictures: 0.19 and up (the less contrasted eye, over 152 photos and clip frames of 14
/// people, the dimmest a webcam's shadowed eye sockets); under our flat hand-coloured ellipse
/// or dark lenses: below 0.10 in 123 of 125 renderings (118 when the crop was aligned by the
/// detector's points instead of FaceMesh's). A real hand or real lenses have
/// shading, edges and highlights that ours lack: how many of them stay under the limit is not
/// measured.
pub const MIN_EYE_CONTRAST: f32 = 0.10;
/// Photos: 0.59–1.02 (the darker eye over the cheeks), but 0.25 for a webcam's deep-set eyes
/// under a ceiling light, which is why darkness only names a hidden eye; our dark lenses:
/// median 0.28.
pub const MIN_EYE_BRIGHTNESS: f32 = 0.45;

/// How well a picture shows its face, for matching. Each part of `score` is 0–1 and `score` is
/// their product, so one bad aspect is enough to lower it; a named issue caps it at
/// [`UNFIT_SCORE`].
#[derive(Debug, Clone, PartialEq)]
pub struct FaceImageQuality {
    /// Distance between the eyes in the picture, pixels. SFace's aligned crop puts them 35 px
    /// apart: a face smaller than that is upscaled and carries less detail.
    pub eye_distance_px: f32,
    /// Variance of the Laplacian of the aligned 112×112 grey crop.
    pub sharpness: f32,
    /// Horizontal offset of the nose from the eyes' midpoint, in eye distances: about 0 for a
    /// frontal face, 0.5 near a 45° turn.
    pub nose_offset: f32,
    /// The detector's score, 0–1.
    pub detector_score: f32,
    /// FaceMesh's probability that the region holds a face.
    pub face_presence: f32,
    /// Both eyes' mean openness (`eyes.rs`): 0.25–0.35 open.
    pub eye_openness: f32,
    /// The less contrasted eye region's grey spread (p90 − p10) over the cheeks' mean grey.
    pub eye_contrast: f32,
    /// The darker eye region's mean grey over the cheeks'.
    pub eye_brightness: f32,
    /// Colour distance (CIELAB a*b*) between the mouth region and the skin between the brows,
    /// leaving out a move towards a deeper shade of the skin's hue (lips).
    pub mouth_colour_shift: f32,
    /// The mouth region's mean lightness over that of the skin between the brows.
    pub mouth_lightness: f32,
    /// [`LandmarkCues::mouth_opening`].
    pub mouth_opening: f32,
    pub issues: Vec<PictureIssue>,
    pub score: f32,
}

/// Real pictures: 0.2–22.9 (lips, beards, lipstick; 152 photos and frames of 14 people); the
/// faces of a group photo, a family of six and 24 portraits up to 23.3 (`--example
/// match_report`), among them two smiling faces of the warm-lit group photo (t1.jpg) at 18.9 and
/// 23.3 that read 39.8 and 30.3, and were named, before a deeper skin tone stopped counting.
/// Our flat light-blue mask: 2.9–65.5, median 46.6. Photographs of four real surgical masks laid
/// over the photos in their shading (`Cover::SurgicalMask`): blue 34.3–79.8 and green
/// 42.2–70.1, every one named; black 7.0–48.6 (median 29.1) and white 8.7–49.6 (31.4): 18 of 40
/// and 19 of 36 named. They differ from skin in lightness more than in colour, and no lightness
/// limit is safe (real mouth regions read 0.36–1.14 of the brows' lightness, our black masks
/// 0.28–0.70, white 1.09–2.30); a colour limit under 23.3 would name real lips. One not named
/// is compared as a face and mostly still matches: 7 of 366 genuine pairs below 90 with a black
/// mask, 8 of 326 with a white one (`--example match_report`).
pub const MAX_MOUTH_COLOUR_SHIFT: f32 = 30.0;

/// Real pictures: at most 0.36 (152 photos and clip frames of 14 people: talking, smiling;
/// franck laughing, `franck_laughing.mp4`, 0.20). A scream or a yawn opens the mouth more than
/// half its width. What such a picture costs a comparison is not measured: no real picture we
/// have shows one (an independent evaluation found neutral against screaming at similarity
/// 81.9); openings of 0.2–0.3 cost franck 0.03 of cosine to his stills
/// (`--example expression_cost`), far from his margin. Set above everything real, it names only
/// what none of our real pictures does; a grimace with the mouth closed is not caught, nor one
/// man's tongue out at 0.48 (`expressions_one_man.jpg`, `--example match_report`).
pub const MAX_MOUTH_OPENING: f32 = 0.5;

/// The highest score of a picture with a named issue: below any sensible acceptance.
pub const UNFIT_SCORE: f32 = 0.3;

/// What the landmark models saw of the face, measured by the caller.
pub struct LandmarkCues {
    pub face_presence: f32,
    pub eye_openness: f32,
    /// The gap between the inner lips over the mouth's width (FaceMesh points 13–14 over 61–291).
    pub mouth_opening: f32,
}

impl LandmarkCues {
    /// The cues of FaceMesh's landmarks of a face, with its eyes' openness.
    pub fn measure(landmarks: &FaceLandmarks, eye_openness: f32) -> Self {
        let span = |a: usize, b: usize| distance(landmarks.xy(a), landmarks.xy(b));
        LandmarkCues {
            face_presence: landmarks.presence,
            eye_openness,
            mouth_opening: span(13, 14) / span(61, 291).max(1e-3),
        }
    }
}

impl FaceImageQuality {
    /// Assesses the face whose five points are `points`, whose aligned crop is `aligned`;
    /// `cut_off`: part of what the checks read lies outside the picture ([`cut_off`]).
    pub fn assess(
        points: &[(f32, f32); 5],
        detector_score: f32,
        aligned: &Mat,
        cues: LandmarkCues,
        cut_off: bool,
    ) -> Result<Self, EngineError> {
        let (re, le, nose) = (points[0], points[1], points[2]);
        let eye_distance_px = distance(re, le);
        // The nose's offset along the eye line, so that a rolled head is not taken for a turn.
        let (ux, uy) = (
            (le.0 - re.0) / eye_distance_px.max(1e-3),
            (le.1 - re.1) / eye_distance_px.max(1e-3),
        );
        let (mx, my) = ((re.0 + le.0) / 2.0, (re.1 + le.1) / 2.0);
        let nose_offset =
            ((nose.0 - mx) * ux + (nose.1 - my) * uy).abs() / eye_distance_px.max(1e-3);
        let mut grey = Mat::default();
        imgproc::cvt_color_def(aligned, &mut grey, imgproc::COLOR_BGR2GRAY)?;
        let sharpness = laplacian_variance(&grey)?;
        let (eye_contrast, eye_brightness) = eye_regions(&grey)?;
        let (mouth_colour_shift, mouth_lightness) = mouth_region(aligned)?;

        // An eye region without an eye's contrast is hidden: by dark lenses when it is also
        // dark, else by something else. Darkness alone is not enough: a brow's shadow darkens
        // deep-set eyes under a ceiling light as much as sunglasses (a real webcam picture:
        // brightness 0.25), but the eye in it keeps its contrast (0.51).
        // Outside the picture the crop is black: an eye there reads as a dark lens and a cheek
        // as nothing (two real portraits at a mosaic's edge were named `DARK_GLASSES`). The
        // region checks then say nothing; the cut itself is named.
        let hidden = !cut_off && eye_contrast < MIN_EYE_CONTRAST;
        let dark_glasses = hidden && eye_brightness < MIN_EYE_BRIGHTNESS;
        let eye_covered = hidden && !dark_glasses;
        let mouth_covered = !cut_off && mouth_colour_shift > MAX_MOUTH_COLOUR_SHIFT;
        let checks = [
            (
                eye_distance_px < MIN_EYE_DISTANCE_PX,
                PictureIssue::FaceTooSmall,
            ),
            (
                cues.face_presence < MIN_FACE_PRESENCE || sharpness < MIN_SHARPNESS,
                PictureIssue::Blurred,
            ),
            (nose_offset > MAX_NOSE_OFFSET, PictureIssue::TurnedAway),
            (dark_glasses, PictureIssue::DarkGlasses),
            (mouth_covered, PictureIssue::MouthCovered),
            (eye_covered, PictureIssue::EyeCovered),
            // The lips' landmarks under a mask are the model's guess.
            (
                cues.mouth_opening > MAX_MOUTH_OPENING && !mouth_covered,
                PictureIssue::ExtremeExpression,
            ),
            // Openness is read from the eyes' crops: meaningless when an eye is hidden.
            (
                cues.eye_openness < MIN_EYE_OPENNESS && !dark_glasses && !eye_covered,
                PictureIssue::EyesClosed,
            ),
        ];
        let issues: Vec<PictureIssue> = checks
            .into_iter()
            .chain([(cut_off, PictureIssue::FaceCutOff)])
            .filter_map(|(bad, issue)| bad.then_some(issue))
            .collect();

        let ramp = |x: f32, lo: f32, hi: f32| ((x - lo) / (hi - lo)).clamp(0.0, 1.0);
        let size = ramp(eye_distance_px, MIN_EYE_DISTANCE_PX, 35.0);
        let sharp = ramp(sharpness, 20.0, 150.0);
        let frontal = 1.0 - ramp(nose_offset, 0.15, MAX_NOSE_OFFSET);
        let detected = ramp(detector_score, 0.5, 0.9);
        let mut score = size * sharp * frontal * detected;
        if !issues.is_empty() {
            score = score.min(UNFIT_SCORE);
        }
        Ok(FaceImageQuality {
            eye_distance_px,
            sharpness,
            nose_offset,
            detector_score,
            face_presence: cues.face_presence,
            eye_openness: cues.eye_openness,
            eye_contrast,
            eye_brightness,
            mouth_colour_shift,
            mouth_lightness,
            mouth_opening: cues.mouth_opening,
            issues,
            score,
        })
    }

    pub fn is_fit(&self) -> bool {
        self.issues.is_empty()
    }
}

/// The part of the aligned crop the region checks read (left, top, right, bottom): brows to
/// mouth, the eyes' outer edges to the cheeks'.
const MEASURED: (f32, f32, f32, f32) = (29.0, 34.0, 83.0, 100.0);

/// Whether part of what the checks read of a face aligned by `points` lies outside a
/// `width`×`height` picture.
pub fn cut_off(points: &[(f32, f32); 5], width: i32, height: i32) -> bool {
    let (l, t, r, b) = MEASURED;
    [(l, t), (r, t), (l, b), (r, b)].into_iter().any(|corner| {
        let (x, y) = livegate_engine::embedding::crop_to_picture(points, corner);
        x < 0.0 || y < 0.0 || x > (width - 1) as f32 || y > (height - 1) as f32
    })
}

/// Centres of the eyes in the aligned crop (SFace's template) and of the cheeks below them.
const EYES: [(i32, i32); 2] = [(38, 51), (73, 51)];
const CHEEKS: [(i32, i32); 2] = [(38, 80), (74, 80)];
/// The box measured around each eye: the eye itself (iris and white) and its lids, without the
/// brow or the cheek, which stay visible around a lens or a hand.
const EYE_BOX: (i32, i32) = (18, 10);

/// (a*b* distance, lightness ratio) of the mouth region against the skin between the brows,
/// the distance without the part that is lips: see [`unlike_skin`].
fn mouth_region(aligned: &Mat) -> Result<(f32, f32), EngineError> {
    let mut lab = Mat::default();
    imgproc::cvt_color_def(aligned, &mut lab, imgproc::COLOR_BGR2Lab)?;
    // OpenCV stores a* and b* offset by 128.
    let mean = |r: opencv::core::Rect| -> Result<[f32; 3], EngineError> {
        let m = opencv::core::mean(&Mat::roi(&lab, r)?, &opencv::core::no_array())?;
        Ok([m[0] as f32, m[1] as f32 - 128.0, m[2] as f32 - 128.0])
    };
    let brows = mean(opencv::core::Rect::new(48, 34, 16, 10))?;
    let mouth = mean(opencv::core::Rect::new(42, 86, 28, 14))?;
    let shift = unlike_skin((brows[1], brows[2]), (mouth[1], mouth[2]));
    Ok((shift, mouth[0] / brows[0].max(1.0)))
}

/// How far colour `other` (a*, b*) is from skin of colour `skin`, not counting a move towards a
/// deeper shade of the skin's own hue. Lips are that: the skin's hue, more saturated and a
/// little redder, and warm light deepens both; a smile's teeth only pale the region. Counted,
/// it named two smiling faces of a warm-lit group photo (t1.jpg) `MOUTH_COVERED` (39.8 and
/// 30.3; 18.9 and 23.3 without it). Cloth is not that: blue and green move away from the skin's
/// hue, white, black and grey towards no hue at all, each of which counts in full. What it
/// gives up is a mask of a deeper skin tone, red or orange, which reads as lips (no such mask
/// is in our renderings).
fn unlike_skin(skin: (f32, f32), other: (f32, f32)) -> f32 {
    let (da, db) = (other.0 - skin.0, other.1 - skin.1);
    let chroma = skin.0.hypot(skin.1);
    if chroma < 1.0 {
        // A grey picture: the skin has no hue to follow.
        return da.hypot(db);
    }
    let (ua, ub) = (skin.0 / chroma, skin.1 / chroma);
    let along = da * ua + db * ub;
    let across = -da * ub + db * ua;
    along.min(0.0).hypot(across)
}

/// (contrast of the less contrasted eye, brightness of the darker eye), each relative to the
/// cheeks' mean grey, from a 112×112 grey aligned crop.
fn eye_regions(grey: &Mat) -> Result<(f32, f32), EngineError> {
    let values = |(x, y): (i32, i32), w: i32, h: i32| -> Result<Vec<f32>, EngineError> {
        let r = opencv::core::Rect::new(x - w / 2, y - h / 2, w, h);
        let roi = Mat::roi(grey, r)?;
        let mut v = Vec::with_capacity((w * h) as usize);
        for row in 0..h {
            v.extend(roi.at_row::<u8>(row)?.iter().map(|&g| g as f32));
        }
        Ok(v)
    };
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len().max(1) as f32;
    let mut cheeks = 0.0;
    for c in CHEEKS {
        cheeks += mean(&values(c, 14, 10)?) / CHEEKS.len() as f32;
    }
    let cheeks = cheeks.max(1.0);
    let (mut contrast, mut brightness) = (f32::MAX, f32::MAX);
    for e in EYES {
        let mut v = values(e, EYE_BOX.0, EYE_BOX.1)?;
        v.sort_by(f32::total_cmp);
        let spread = v[v.len() * 9 / 10] - v[v.len() / 10];
        contrast = contrast.min(spread / cheeks);
        brightness = brightness.min(mean(&v) / cheeks);
    }
    Ok((contrast, brightness))
}

#[cfg(test)]
mod tests {
    use super::unlike_skin;

    /// Skin of a typical a*, b* (hue about 55°, chroma 25).
    const SKIN: (f32, f32) = (14.0, 20.7);

    #[test]
    fn a_deeper_shade_of_the_skin_is_not_unlike_it() {
        // Lips: the same hue, twice as saturated.
        assert!(unlike_skin(SKIN, (28.0, 41.4)) < 1e-3);
    }

    #[test]
    fn blue_cloth_and_paler_or_greyer_colour_count_in_full() {
        let full = |o: (f32, f32)| (o.0 - SKIN.0).hypot(o.1 - SKIN.1);
        for cloth in [(-8.0, -25.0), (0.0, 0.0), (7.0, 10.3)] {
            assert!(
                (unlike_skin(SKIN, cloth) - full(cloth)).abs() < 1e-3,
                "{cloth:?}"
            );
        }
    }

    #[test]
    fn a_redder_hue_counts_only_for_its_turn_away_from_the_skins() {
        // Lipstick: deeper and turned towards red (a*); only the turn counts.
        let lipstick = (35.0, 20.7);
        let shift = unlike_skin(SKIN, lipstick);
        let full = (lipstick.0 - SKIN.0).hypot(0.0);
        assert!(shift > 0.5 * full && shift < full, "{shift} of {full}");
    }

    #[test]
    fn without_a_skin_hue_every_colour_counts() {
        assert!((unlike_skin((0.2, 0.3), (10.0, 0.0)) - 9.8f32.hypot(0.3)).abs() < 1e-3);
    }
}
