//! 3-D consistency: does the face move like a solid head or like a picture?
//!
//! When a head turns, points move sideways in proportion to their depth. A picture (a print, a
//! phone, a screen), flat or bent round a cylinder, is a surface *extruded along the rotation
//! axis*: its depth, and so its motion across the axis, depends on the position across the axis
//! alone (plus a linear tilt). A real nose tip stands about 2 cm in front of the forehead and
//! chin at the same horizontal position and in front of the cheeks at the same height, so it
//! moves further than any such surface allows, and further *the way the head turns*.
//!
//! **Measure.** In each step that asks for a head rotation, the reference is the first followed
//! frame after the step's [`REACTION_FRAMES`]: the frames before it show the pose being left,
//! and in our stitched live user another moment of the video. Each later frame of the step is
//! measured once the head has rotated by at least [`MIN_ROTATION_DEG`] towards the asked side
//! (yaw for turns, pitch for look-up, by the larger of the two head-pose estimates: solvePnP
//! against a generic face, and the rigid fit of the user's own landmarks, [`crate::pose`]):
//! 1. the image patch around each of [`BODY`] (forehead, chin, lips and cheeks, off the nose)
//!    and [`NOSE_TIP`] is found again by normalised cross-correlation, searching near where the
//!    landmarks put it;
//! 2. the body's **relief**: how far its patches' motion across the rotation axis (x for turns,
//!    y for look-up) departs from an affine motion (RMS, eye spans of the reference). A rotation
//!    moves each point by its depth times the sine of the angle, so this is the face's depth
//!    relief (cheeks behind the centre line) times that sine; a flat picture has almost none
//!    (only perspective's);
//! 3. the nose's **lead**: how far the nose tip moved across the axis beyond the extruded surface
//!    fitted to [`BODY`]'s motion (least squares, a cubic of the position across the axis plus a
//!    linear term along it: the pictures above move exactly so, a plane under perspective very
//!    nearly), signed positive in the direction a point standing out of the face moves when the
//!    head turns the asked way;
//! 4. the frame's value is the lead divided by the relief, once the relief reaches
//!    [`MIN_RELIEF`]: the nose's depth in front of the surface in units of the face's own depth
//!    relief.
//!
//! A step's value is the median over its frames; the session's **parallax** is the largest step
//! value, and 0 when that is negative (a picture shows no lead in any step; a real head's
//! look-up and turns differ). Real heads measured 0.3 – 2.
//!
//! **Why a ratio.** Both the lead and the relief are depths times the sine of the same rotation,
//! so their ratio needs no angle: from an image, a small turn of a deep face and a larger turn
//! of a shallow one look the same (the bas-relief ambiguity), and any estimate of the angle
//! errs in a way that depends on the person. The earlier measure divided the lead by the sine of
//! the larger of the two pose estimates; solvePnP reads its angle largely from the nose's own
//! displacement against the eyes and mouth, so a face whose nose stands out more, or a phone
//! held close (perspective), read a larger angle and so a *smaller* depth. It made a real man's
//! phone-selfie turn (msu_client005: 13° by solvePnP, 5° by the rigid fit) look flat (0.038
//! against a 0.030–0.050 band), where the ratio reads 0.32 in every frame of it (0.26–0.44),
//! his nose's lead growing with the relief. The rigid fit alone was no better a divisor: it
//! sees a print bent round a cylinder turn by a third of its angle, and its noise divided by
//! that small sine looked like a nose.
//!
//! **Why the sign.** The nose stands in *front* of the face, so it leads the surface the way the
//! head turns; tracking noise and a cylinder's misfit by the cubic go either way (our puppets'
//! steps all measured negative leads; the curved print's half of them).
//!
//! **Why a relief floor.** A flat picture (a print, a screen, a 2-D puppet warped to imitate a
//! turn) has no relief to measure against, and noise divided by nothing is anything. A real head
//! shows a relief of about 0.3–0.4 × the sine of its rotation (rigid fit; msu_client005,
//! webcam_office, franck, msu_client022), 0.016–0.021 at 3°; our flat attacks at most 0.007
//! (2-D puppet), 0.010 in family B's nose-shifting puppet. Frames below the floor are not measured: a picture that never shows relief
//! leaves the session without parallax, and the fusion rule reads that as flat. A flat picture
//! turned 30° at 25 cm shows perspective relief up to ~0.044 but no lead (the unit tests below).
//!
//! Measured (`cargo run --release -p livegate-pad --example parallax_probe`, four seeds of each
//! rotation step of each species, 2.5 s of each step; and on other people's own movements,
//! `real_heads_turning_on_their_own_show_parallax` in `engine/tests/engine/real_people.rs`):
//! real turns and look-ups of our live user 0.42–1.04 per step, franck's own largest turn and
//! nod in franck.mp4 1.07 and 1.40, msu_client022 0.61 and 1.82, webcam_office's turn 0.53,
//! msu_client005's turn 0.31; prints bent round a cylinder 0–0.15; 2-D puppets and family B's
//! nose-shifting puppet never reach the relief floor.
//! - **Image patches, not landmarks.** FaceMesh draws a plausible 3-D face on whatever it sees:
//!   run on its landmark positions instead of the tracked patches, the nose's motion beyond the
//!   fitted surface was 0.045–0.051 eye spans for the cylinder print and 0.047–0.131 for real
//!   heads.
//! - **A reference per step**: against one reference per session, taken at another moment, real
//!   turns of our video lost half their parallax.
//!
//! **A small turn is noisy, so a step may ask for more.** At msu_client005's 5° the nose leads
//! the surface by about a pixel; through a poorer camera (blur 0.9 px, noise σ 3, JPEG at 65, as
//! family B's pipeline) his turn read 0.23, at JPEG 50 0.04, while the other people's movements
//! stayed above 0.5. A session's turn needs 9° (rigid fit), nearly twice his, and a rotation
//! step done by its angle is held open with "a bit more" while the meter is
//! [`ParallaxMeter::unsettled`]; it ends done when the evidence settles or the step's time is up.
//! What the device learns from that is only that the step wants more movement, which a flat
//! picture cannot give; a picture settles flat at once or never shows relief, and either way its
//! verdict is the same.
//!
//! [`FLAT_PARALLAX`] and [`LIVE_PARALLAX`] sit between the curved print's 0.15 and the lowest
//! real head's 0.32. That gap is narrow and its real side comes from five people: a person whose
//! nose stands out less against the curve of their cheeks reads lower, and a small turn is noisy.
//! A 3-D mask is a solid face and beyond this measure.
//!
//! Frames re-detected by YuNet are skipped: their landmarks come from a looser box, which moves
//! the search windows by a few percent of the face.

use opencv::core::{self, Mat, Point, Rect};
use opencv::imgproc;
use opencv::prelude::*;

use crate::challenge::{REACTION_FRAMES, Rotation, RotationAxis};
use crate::error::EngineError;
use crate::landmarks::FaceLandmarks;
use crate::pose::HeadPose;

/// Rotation about the step's axis (degrees) from the step's reference before a frame is measured.
pub const MIN_ROTATION_DEG: f32 = 8.0;
/// Body relief (eye spans) below which a frame is not measured: twice the largest our flat
/// attacks showed.
pub const MIN_RELIEF: f32 = 0.014;
/// Parallax at or below which the motion looked flat (see the fusion rule).
pub const FLAT_PARALLAX: f32 = 0.16;
/// Parallax at or above which the motion clearly came from a 3-D head.
pub const LIVE_PARALLAX: f32 = 0.28;

/// Measured frames a rotation step needs before its parallax counts as settled.
pub const SETTLED_SAMPLES: usize = 3;

/// Forehead, brow, lips, chin and cheeks: the points the extruded surface is fitted to.
pub const BODY: [usize; 30] = [
    10, 151, 9, 8, 168, 0, 13, 14, 17, 18, 200, 199, 175, 152, 50, 280, 205, 425, 187, 411, 123,
    352, 234, 454, 93, 323, 132, 361, 58, 288,
];
/// The nose tip: the points that stand furthest out of the face.
pub const NOSE_TIP: [usize; 3] = [1, 4, 5];

/// Half the side of a tracked patch, and how far from the landmarks' guess it is searched, in
/// eye spans.
const PATCH_HALF: f32 = 0.10;
const SEARCH_RADIUS: f32 = 0.12;

struct Reference {
    grey: Mat,
    /// [`BODY`] then [`NOSE_TIP`], frame pixels.
    points: Vec<(f32, f32)>,
    /// The asked angle (sign × yaw or pitch) of the reference by each pose estimate, degrees.
    angles: Vec<f32>,
    scale: f32,
}

/// Collects the parallax evidence of one session.
#[derive(Default)]
pub struct ParallaxMeter {
    /// The current step's rotation, if it asks for one.
    rotation: Option<Rotation>,
    /// Followed frames seen in the current step.
    frames_in_step: u32,
    /// The current head-rotation step's reference frame.
    reference: Option<Reference>,
    /// Steps begun so far.
    step: usize,
    /// (step, rotation from the step's reference, nose lead over body relief) of measured frames.
    samples: Vec<(usize, f32, f32)>,
}

impl ParallaxMeter {
    /// A challenge step starts; `rotation` says which rotation it asks for, if any.
    pub fn begin_step(&mut self, rotation: Option<Rotation>) {
        self.rotation = rotation;
        self.reference = None;
        self.frames_in_step = 0;
        self.step += 1;
    }

    /// Measures one followed (not re-detected) frame against its step's reference. `poses` are
    /// the head's pose by each estimate the caller has (each against a fixed reference of its
    /// own, the same for every frame of the session): the rotation since the step's reference is
    /// the largest any of them measures. It only decides when to start measuring; the measure
    /// itself needs no angle.
    pub fn observe(
        &mut self,
        bgr: &Mat,
        landmarks: &FaceLandmarks,
        poses: &[HeadPose],
    ) -> Result<(), EngineError> {
        let Some(asked) = self.rotation else {
            return Ok(());
        };
        self.frames_in_step += 1;
        if self.frames_in_step <= REACTION_FRAMES {
            return Ok(());
        }
        let angles: Vec<f32> = poses
            .iter()
            .map(|pose| {
                asked.sign
                    * match asked.axis {
                        RotationAxis::Vertical => pose.yaw,
                        RotationAxis::Horizontal => pose.pitch,
                    }
            })
            .collect();
        let Some(reference) = &self.reference else {
            self.reference = Some(Reference {
                grey: grey(bgr)?,
                points: tracked_points(landmarks),
                angles,
                scale: landmarks.eye_span().max(1.0),
            });
            return Ok(());
        };
        let rotation = angles
            .iter()
            .zip(&reference.angles)
            .map(|(a, r)| a - r)
            .fold(f32::MIN, f32::max);
        if rotation < MIN_ROTATION_DEG {
            return Ok(());
        }
        let current = grey(bgr)?;
        let half = ((PATCH_HALF * reference.scale).round() as i32).max(3);
        let radius = ((SEARCH_RADIUS * reference.scale).round() as i32).max(3);
        let mut moved = Vec::with_capacity(reference.points.len());
        for (&from, guess) in reference.points.iter().zip(tracked_points(landmarks)) {
            match find_patch(&reference.grey, &current, from, guess, half, radius)? {
                Some(p) => moved.push(p),
                // A patch left the frame: this frame cannot be measured.
                None => return Ok(()),
            }
        }
        let motion = measure_motion(&reference.points, &moved, asked, reference.scale)?;
        if motion.relief < MIN_RELIEF {
            return Ok(());
        }
        self.samples
            .push((self.step, rotation, motion.nose_lead / motion.relief));
        Ok(())
    }

    /// The session's parallax, once some frame rotated enough and showed relief.
    pub fn parallax(&self) -> Option<f32> {
        (1..=self.step)
            .filter_map(|step| median(&self.of_step(step)))
            .reduce(f32::max)
            .map(|p| p.max(0.0))
    }

    /// (rotation, value) of the frames measured in `step`.
    fn of_step(&self, step: usize) -> Vec<(f32, f32)> {
        self.samples
            .iter()
            .filter(|s| s.0 == step)
            .map(|s| (s.1, s.2))
            .collect()
    }

    /// Whether the 3-D evidence is still open: no step has shown a head yet, and the current
    /// step has fewer than [`SETTLED_SAMPLES`] measured frames or its median lies between
    /// [`FLAT_PARALLAX`] and [`LIVE_PARALLAX`]. A rotation step that is done by its angle but
    /// unsettled asks the user to go on: a wider turn shows the nose's lead further above the
    /// noise. A picture settles flat or never shows relief; either way its verdict is the same.
    pub fn unsettled(&self) -> bool {
        if self.parallax().is_some_and(|p| p >= LIVE_PARALLAX) {
            return false;
        }
        let current = self.of_step(self.step);
        current.len() < SETTLED_SAMPLES || median(&current).is_some_and(|m| m > FLAT_PARALLAX)
    }

    /// (rotation, value) of every frame measured so far, in order: for calibration tools.
    pub fn samples(&self) -> impl Iterator<Item = (f32, f32)> + '_ {
        self.samples.iter().map(|s| (s.1, s.2))
    }

    /// Largest rotation measured, degrees.
    pub fn max_rotation(&self) -> f32 {
        self.samples.iter().map(|s| s.1).fold(0.0, f32::max)
    }
}

/// Median value of a step's samples.
fn median(samples: &[(f32, f32)]) -> Option<f32> {
    crate::stats::median(samples.iter().map(|s| s.1))
}

/// How a frame's tracked points moved since the step's reference, across the rotation axis.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Motion {
    /// RMS departure of [`BODY`]'s motion from an affine motion, eye spans.
    relief: f32,
    /// The nose tip's motion beyond the extruded surface fitted to [`BODY`], eye spans; positive
    /// when it leads the way a point in front of the face moves in the asked rotation.
    nose_lead: f32,
}

/// Measures the relief and the nose's lead of one frame. `from` and `to` hold [`BODY`] then
/// [`NOSE_TIP`].
fn measure_motion(
    from: &[(f32, f32)],
    to: &[(f32, f32)],
    asked: Rotation,
    scale: f32,
) -> Result<Motion, EngineError> {
    let n = from.len() as f32;
    let centre = (
        from.iter().map(|p| p.0).sum::<f32>() / n,
        from.iter().map(|p| p.1).sum::<f32>() / n,
    );
    // (position across the axis, position along it, motion across it), in eye spans.
    let sample = |a: (f32, f32), b: (f32, f32)| {
        let (dx, dy) = ((a.0 - centre.0) / scale, (a.1 - centre.1) / scale);
        match asked.axis {
            RotationAxis::Vertical => (dx, dy, (b.0 - a.0) / scale),
            RotationAxis::Horizontal => (dy, dx, (b.1 - a.1) / scale),
        }
    };
    let samples: Vec<(f32, f32, f32)> = from.iter().zip(to).map(|(&a, &b)| sample(a, b)).collect();
    let (body, nose) = samples.split_at(BODY.len());
    let surface = least_squares(body, |u, v| vec![1.0, u, u * u, u * u * u, v, u * v])?;
    let affine = least_squares(body, |u, v| vec![1.0, u, v])?;
    let relief = (body
        .iter()
        .map(|&(u, v, d)| (d - affine(u, v)).powi(2))
        .sum::<f32>()
        / body.len() as f32)
        .sqrt();
    let beyond = nose.iter().map(|&(u, v, d)| d - surface(u, v)).sum::<f32>() / nose.len() as f32;
    // Yaw > 0 moves what stands in front of the face to the image's right (+x), pitch > 0 (look
    // up) moves it up (−y): see `crate::pose`.
    let forward = match asked.axis {
        RotationAxis::Vertical => asked.sign,
        RotationAxis::Horizontal => -asked.sign,
    };
    Ok(Motion {
        relief,
        nose_lead: beyond * forward,
    })
}

/// The least-squares fit of the motions `d` of `points` (u, v, d) by a linear combination of
/// `basis(u, v)`, as a function of (u, v).
fn least_squares(
    points: &[(f32, f32, f32)],
    basis: impl Fn(f32, f32) -> Vec<f32>,
) -> Result<impl Fn(f32, f32) -> f32, EngineError> {
    let terms = basis(0.0, 0.0).len();
    let mut design = Mat::zeros(points.len() as i32, terms as i32, core::CV_32F)?.to_mat()?;
    let mut motion = Mat::zeros(points.len() as i32, 1, core::CV_32F)?.to_mat()?;
    for (i, &(u, v, d)) in points.iter().enumerate() {
        for (j, b) in basis(u, v).into_iter().enumerate() {
            *design.at_2d_mut::<f32>(i as i32, j as i32)? = b;
        }
        *motion.at_2d_mut::<f32>(i as i32, 0)? = d;
    }
    let mut solution = Mat::default();
    core::solve(&design, &motion, &mut solution, core::DECOMP_SVD)?;
    let coefficients: Vec<f32> = (0..terms as i32)
        .map(|j| solution.at_2d::<f32>(j, 0).copied())
        .collect::<Result<_, _>>()?;
    Ok(move |u, v| {
        basis(u, v)
            .iter()
            .zip(&coefficients)
            .map(|(b, c)| b * c)
            .sum()
    })
}

/// Where the patch of `reference` around `at` lies in `current`, searched within `radius` of
/// `guess`; None when the patch or the search window leaves the frame.
fn find_patch(
    reference: &Mat,
    current: &Mat,
    at: (f32, f32),
    guess: (f32, f32),
    half: i32,
    radius: i32,
) -> Result<Option<(f32, f32)>, EngineError> {
    let (ax, ay) = (at.0.round() as i32, at.1.round() as i32);
    let (gx, gy) = (guess.0.round() as i32, guess.1.round() as i32);
    let patch = Rect::new(ax - half, ay - half, 2 * half + 1, 2 * half + 1);
    let reach = half + radius;
    let window = Rect::new(gx - reach, gy - reach, 2 * reach + 1, 2 * reach + 1);
    let inside = |r: Rect, m: &Mat| {
        r.x >= 0 && r.y >= 0 && r.x + r.width <= m.cols() && r.y + r.height <= m.rows()
    };
    if !inside(patch, reference) || !inside(window, current) {
        return Ok(None);
    }
    let mut score = Mat::default();
    imgproc::match_template(
        &Mat::roi(current, window)?,
        &Mat::roi(reference, patch)?,
        &mut score,
        imgproc::TM_CCOEFF_NORMED,
        &core::no_array(),
    )?;
    let mut best = Point::default();
    core::min_max_loc(&score, None, None, None, Some(&mut best), &core::no_array())?;
    // Sub-pixel: the vertex of a parabola through the peak and its neighbours.
    let at_score = |x: i32, y: i32| score.at_2d::<f32>(y, x).copied();
    let vertex = |l: f32, c: f32, r: f32| {
        let curvature = l - 2.0 * c + r;
        if curvature.abs() < 1e-6 {
            0.0
        } else {
            (0.5 * (l - r) / curvature).clamp(-0.5, 0.5)
        }
    };
    let (bx, by) = (best.x, best.y);
    let peak = at_score(bx, by)?;
    let sub_x = if bx > 0 && bx + 1 < score.cols() {
        vertex(at_score(bx - 1, by)?, peak, at_score(bx + 1, by)?)
    } else {
        0.0
    };
    let sub_y = if by > 0 && by + 1 < score.rows() {
        vertex(at_score(bx, by - 1)?, peak, at_score(bx, by + 1)?)
    } else {
        0.0
    };
    // The patch's centre moves with it; keep the reference point's fraction of a pixel.
    Ok(Some((
        (window.x + bx + half) as f32 + sub_x + (at.0 - ax as f32),
        (window.y + by + half) as f32 + sub_y + (at.1 - ay as f32),
    )))
}

fn tracked_points(landmarks: &FaceLandmarks) -> Vec<(f32, f32)> {
    BODY.iter()
        .chain(NOSE_TIP.iter())
        .map(|&i| landmarks.xy(i))
        .collect()
}

fn grey(bgr: &Mat) -> Result<Mat, EngineError> {
    let mut grey = Mat::default();
    imgproc::cvt_color_def(bgr, &mut grey, imgproc::COLOR_BGR2GRAY)?;
    Ok(grey)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenge::ChallengeKind;

    /// [`BODY`] and [`NOSE_TIP`] of a face-sized grid (mm) whose height towards the camera is
    /// `height(x, y)`, plus `nose_mm` at the nose, seen by a pinhole camera `distance` mm away
    /// after the head turned by `yaw` degrees ([`HeadPose`]'s sign: the nose moves to the image's
    /// right for yaw > 0).
    fn face(
        height: impl Fn(f32, f32) -> f32,
        nose_mm: f32,
        yaw: f32,
        distance: f32,
    ) -> Vec<(f32, f32)> {
        let (s, c) = yaw.to_radians().sin_cos();
        let n = BODY.len() + NOSE_TIP.len();
        (0..n)
            .map(|i| {
                let nose = i >= BODY.len();
                let (x, y) = if nose {
                    (i as f32 - 31.0, 10.0)
                } else {
                    ((i % 6) as f32 * 30.0 - 75.0, (i / 6) as f32 * 30.0 - 70.0)
                };
                // z away from the camera.
                let z = -height(x, y) - if nose { nose_mm } else { 0.0 };
                let (x, z) = (x * c - z * s, x * s + z * c + distance);
                (600.0 * x / z + 320.0, 600.0 * y / z + 240.0)
            })
            .collect()
    }

    /// A surface curved round a vertical axis like the cheeks (radius 90 mm).
    fn cheeks(x: f32, _: f32) -> f32 {
        (90f32.powi(2) - x * x).max(0.0).sqrt() - 90.0
    }

    /// The motion of a turn by `yaw` degrees, measured for the asked side `sign`.
    fn turn(
        height: impl Fn(f32, f32) -> f32 + Copy,
        nose_mm: f32,
        yaw: f32,
        distance: f32,
        sign: f32,
    ) -> Motion {
        let from = face(height, nose_mm, 0.0, distance);
        let to = face(height, nose_mm, yaw, distance);
        // An eye span of 90 mm.
        let scale = 600.0 * 90.0 / distance;
        let asked = Rotation {
            axis: RotationAxis::Vertical,
            sign,
        };
        measure_motion(&from, &to, asked, scale).unwrap()
    }

    #[test]
    fn a_head_leads_with_its_nose_whichever_way_it_turns() {
        for (yaw, sign) in [(15.0, 1.0), (-15.0, -1.0), (5.0, 1.0)] {
            let head = turn(cheeks, 20.0, yaw, 500.0, sign);
            assert!(head.relief > MIN_RELIEF, "{yaw}: {head:?}");
            assert!(
                head.nose_lead / head.relief > LIVE_PARALLAX,
                "{yaw}: {head:?}"
            );
        }
        // Measured for the other side, the same motion leads backwards.
        let wrong = turn(cheeks, 20.0, 15.0, 500.0, -1.0);
        assert!(wrong.nose_lead < 0.0, "{wrong:?}");
    }

    #[test]
    fn pictures_flat_or_bent_show_no_lead() {
        // Bent round a cylinder: as much relief as a head, no nose in front of it.
        let bent = turn(cheeks, 0.0, 15.0, 500.0, 1.0);
        assert!(bent.relief > MIN_RELIEF, "{bent:?}");
        assert!(bent.nose_lead / bent.relief < FLAT_PARALLAX, "{bent:?}");
        // Flat and tilted, held close: perspective alone gives it relief, but still no lead.
        let close = turn(|_, y| 0.2 * y, 0.0, 30.0, 250.0, 1.0);
        assert!(close.relief > MIN_RELIEF, "{close:?}");
        assert!(close.nose_lead.abs() / close.relief < 0.05, "{close:?}");
        // Flat and far: no relief to measure against.
        let far = turn(|_, y| 0.2 * y, 0.0, 15.0, 800.0, 1.0);
        assert!(far.relief < MIN_RELIEF, "{far:?}");
    }

    #[test]
    fn a_squeezed_photo_has_no_relief() {
        // A 2-D puppet: the photo squeezed and sheared in the image, as if turning.
        let from = face(|_, _| 0.0, 0.0, 0.0, 500.0);
        let to: Vec<(f32, f32)> = from
            .iter()
            .map(|&(x, y)| (320.0 + 0.9 * (x - 320.0) + 0.05 * (y - 240.0) + 6.0, y))
            .collect();
        let asked = Rotation {
            axis: RotationAxis::Vertical,
            sign: 1.0,
        };
        let squeezed = measure_motion(&from, &to, asked, 108.0).unwrap();
        assert!(squeezed.relief < 1e-4, "{squeezed:?}");
    }

    #[test]
    fn a_step_stays_unsettled_until_its_frames_say_head_or_picture() {
        let mut meter = ParallaxMeter::default();
        meter.begin_step(ChallengeKind::TurnLeft.rotation());
        // Nothing measured yet (a picture without relief stays here until its time is up).
        assert!(meter.unsettled());
        meter.samples.extend([(1, 10.0, 0.2), (1, 11.0, 0.22)]);
        assert!(meter.unsettled(), "two frames are too few");
        meter.samples.push((1, 12.0, 0.21));
        assert!(
            meter.unsettled(),
            "between flat and live: a wider turn may tell"
        );
        meter.samples.extend([
            (1, 14.0, 0.4),
            (1, 15.0, 0.45),
            (1, 16.0, 0.5),
            (1, 16.0, 0.42),
        ]);
        assert!(!meter.unsettled(), "a head: {:?}", meter.parallax());
        // A later step that reads flat does not reopen what an earlier one showed.
        meter.begin_step(ChallengeKind::TurnRight.rotation());
        meter.samples.push((2, 10.0, 0.0));
        assert!(!meter.unsettled());

        let mut picture = ParallaxMeter::default();
        picture.begin_step(ChallengeKind::TurnLeft.rotation());
        picture
            .samples
            .extend([(1, 10.0, 0.05), (1, 12.0, -0.1), (1, 15.0, 0.1)]);
        assert!(!picture.unsettled(), "settled flat: nothing to ask for");
    }

    #[test]
    fn a_textured_patch_is_found_where_it_moved() {
        let mut reference = Mat::zeros(120, 160, core::CV_8UC1)
            .unwrap()
            .to_mat()
            .unwrap();
        core::randu(
            &mut reference,
            &core::Scalar::all(0.0),
            &core::Scalar::all(255.0),
        )
        .unwrap();
        let mut shift = Mat::eye(2, 3, core::CV_64F).unwrap().to_mat().unwrap();
        *shift.at_2d_mut::<f64>(0, 2).unwrap() = 4.0;
        *shift.at_2d_mut::<f64>(1, 2).unwrap() = -3.0;
        let mut current = Mat::default();
        imgproc::warp_affine_def(&reference, &mut current, &shift, reference.size().unwrap())
            .unwrap();
        let found = find_patch(&reference, &current, (80.0, 60.0), (80.0, 60.0), 8, 6)
            .unwrap()
            .unwrap();
        assert!(
            (found.0 - 84.0).abs() < 0.3 && (found.1 - 57.0).abs() < 0.3,
            "{found:?}"
        );
    }
}
