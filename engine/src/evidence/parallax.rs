//! 3-D consistency: does the face move like a solid head or like a picture?
//!
//! When a head turns, points move sideways in proportion to their depth. A picture (a print, a
//! phone, a screen), flat or bent round a cylinder, is a surface *extruded along the rotation
//! axis*: its depth, and so its motion across the axis, depends on the position across the axis
//! alone (plus a linear tilt). A real nose tip stands about 2 cm in front of the forehead and
//! chin at the same horizontal position and in front of the cheeks at the same height, so it
//! moves further than any such surface allows.
//!
//! **Measure.** In each step that asks for a head rotation, the reference is the first followed
//! frame after the step's [`REACTION_FRAMES`]: the frames before it show the pose being left,
//! and in our stitched live user another moment of the video. In each later frame of the step that rotated by at least [`MIN_ROTATION_DEG`]
//! towards the asked side (yaw for turns, pitch for look-up, the larger of the two head-pose
//! estimates: solvePnP against a generic face, and the rigid fit of the user's own landmarks,
//! [`crate::pose`]):
//! 1. the image patch around each of [`BODY`] (forehead, chin, lips and cheeks, off the nose)
//!    and [`NOSE_TIP`] is found again by normalised cross-correlation, searching near where the
//!    landmarks put it;
//! 2. the patches' motion across the rotation axis (x for turns, y for look-up) is fitted, over
//!    [`BODY`] only, by least squares as a cubic of the position across the axis plus a linear
//!    term along it; the extruded surfaces above move exactly so (a plane under perspective
//!    very nearly);
//! 3. how far the nose tip moved beyond that fit, in eye spans of the reference, divided by the
//!    sine of the rotation, is the frame's estimate of the nose's **depth** in front of the
//!    surface: relief grows with the sine of the rotation, so a turn that stops at 10° counts
//!    as much as one of 30°.
//!
//! A step's value is the median over its frames; the session's **parallax** is the largest step
//! value (a picture shows no relief in any step; a real head's look-up and turns differ). Range
//! 0 – ~0.7 eye spans.
//!
//! Choices, measured on our media (`cargo run -p livegate-pad --example parallax_probe`, four
//! seeds of each rotation step of each species, 2.5 s of each step): real turns and look-ups
//! 0.102–0.672; tilted prints, 2-D puppets and prints bent round a cylinder 0.003–0.022. In
//! sessions, where a step ends as soon as it is done (about 10–15° for franck), real first-step
//! turns measured 0.064–0.173 and a look-up 0.60.
//! - **Image patches, not landmarks.** FaceMesh draws a plausible 3-D face on whatever it sees:
//!   run on its landmark positions instead of the tracked patches, the same fit (before the
//!   division by the sine) gave the cylinder print 0.045–0.051 and real heads 0.047–0.131.
//! - **The nose against its own row and column, not a homography of the outline.** The earlier
//!   measure (the nose's offset from the outline's homography) could not tell a cylinder's
//!   foreshortened sides from a head's: curved prints measured 0.013–0.095 against real turns'
//!   0.072–0.115.
//! - **Divided by the sine.** Undivided, franck's turns measured 0.011–0.026 at the 9–12° where
//!   a session's step ends, below a cylinder print's 0.013 at 36°.
//! - **A reference per step**: against one reference per session, taken at another moment, real
//!   turns of our video lost half their parallax.
//! - **The larger of two rotation estimates.** Each errs its own way. solvePnP's scale depends on
//!   the person (it read some real turns at 5–10° where the rigid fit reads 13–17°), so with it
//!   alone a real turn may leave no frame past [`MIN_ROTATION_DEG`], and the session no
//!   parallax. The rigid fit sees a print bent round a cylinder turn by only about 10° while
//!   solvePnP sees its 30°, and divided by the sine of 10° the print's small residue looked like
//!   a nose (0.017–0.063). The larger of the two never inflates an attack's depth and never
//!   leaves a real turn unmeasured.
//!
//! [`FLAT_PARALLAX`] and [`LIVE_PARALLAX`] sit in the gap between 0.022 and 0.064. The gap comes
//! from one real person and from synthetic attacks whose warps are exactly extruded surfaces; a
//! real bent print adds lighting changes, and a 3-D mask is a solid face and beyond this measure.
//!
//! **On other people** (`cargo run --release -p livegate-engine --example natural_turns`: the
//! largest turn and nod each made on their own within 2.5 s; none moved on request): a woman's
//! phone selfie (msu_client022) turn 0.151 and nod 0.444, an office webcam (webcam_office) turn
//! 0.089 and nod 0.663 (one frame), all above [`LIVE_PARALLAX`]; **but a man's phone selfie
//! (msu_client005) turn measured 0.038** (13° by solvePnP, 5° by the rigid fit), its frames
//! 0.022-0.045 until the last few: a turn step ending there would be called `NO_PARALLAX`. There
//! the two rotation estimates disagree (a close phone camera under a generic focal length
//! inflates solvePnP's angle), and dividing by the larger one shrinks a real nose's depth: the
//! rule that keeps bent prints out costs this real head. Not changed on one clip; it is why a
//! real user can be refused here.
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
/// Parallax at or below which the motion looked flat (see the fusion rule).
pub const FLAT_PARALLAX: f32 = 0.030;
/// Parallax at or above which the motion clearly came from a 3-D head.
pub const LIVE_PARALLAX: f32 = 0.050;

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
    /// (step, rotation from the step's reference, nose depth) of measured frames.
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
    /// the largest any of them measures. A rotation underestimated would inflate the depth (it
    /// is divided by the rotation's sine) and let a print through; one overestimated only makes
    /// a real head's depth look smaller.
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
        let axis = asked.axis;
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
        let beyond = nose_beyond_surface(&reference.points, &moved, axis, reference.scale)?;
        // Relief grows with the sine of the rotation; divided by it, every frame of a step
        // estimates the same depth, and a turn that stops at 10° counts as much as one of 30°.
        let depth = beyond / rotation.to_radians().sin();
        self.samples.push((self.step, rotation, depth));
        Ok(())
    }

    /// The session's parallax, once some frame rotated enough.
    pub fn parallax(&self) -> Option<f32> {
        (1..=self.step)
            .filter_map(|step| {
                let of_step: Vec<(f32, f32)> = self
                    .samples
                    .iter()
                    .filter(|s| s.0 == step)
                    .map(|s| (s.1, s.2))
                    .collect();
                median(&of_step)
            })
            .reduce(f32::max)
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
    let mut values: Vec<f32> = samples.iter().map(|s| s.1).collect();
    values.sort_by(f32::total_cmp);
    values.get(values.len() / 2).copied()
}

/// How far (eye spans) the nose tip moved across `axis` beyond the extruded surface fitted to
/// [`BODY`]'s motion. `from` and `to` hold [`BODY`] then [`NOSE_TIP`].
fn nose_beyond_surface(
    from: &[(f32, f32)],
    to: &[(f32, f32)],
    axis: RotationAxis,
    scale: f32,
) -> Result<f32, EngineError> {
    let n = from.len() as f32;
    let centre = (
        from.iter().map(|p| p.0).sum::<f32>() / n,
        from.iter().map(|p| p.1).sum::<f32>() / n,
    );
    // (position across the axis, position along it, motion across it), in eye spans.
    let sample = |a: (f32, f32), b: (f32, f32)| {
        let (dx, dy) = ((a.0 - centre.0) / scale, (a.1 - centre.1) / scale);
        match axis {
            RotationAxis::Vertical => (dx, dy, (b.0 - a.0) / scale),
            RotationAxis::Horizontal => (dy, dx, (b.1 - a.1) / scale),
        }
    };
    let basis = |u: f32, v: f32| [1.0, u, u * u, u * u * u, v, u * v];
    let mut design = Mat::zeros(BODY.len() as i32, 6, core::CV_32F)?.to_mat()?;
    let mut motion = Mat::zeros(BODY.len() as i32, 1, core::CV_32F)?.to_mat()?;
    for i in 0..BODY.len() {
        let (u, v, d) = sample(from[i], to[i]);
        for (j, b) in basis(u, v).into_iter().enumerate() {
            *design.at_2d_mut::<f32>(i as i32, j as i32)? = b;
        }
        *motion.at_2d_mut::<f32>(i as i32, 0)? = d;
    }
    let mut coef = Mat::default();
    core::solve(&design, &motion, &mut coef, core::DECOMP_SVD)?;
    let mut beyond = 0.0;
    for i in BODY.len()..from.len() {
        let (u, v, d) = sample(from[i], to[i]);
        let mut fitted = 0.0;
        for (j, b) in basis(u, v).into_iter().enumerate() {
            fitted += b * *coef.at_2d::<f32>(j as i32, 0)?;
        }
        beyond += d - fitted;
    }
    Ok((beyond / NOSE_TIP.len() as f32).abs())
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

    /// [`BODY`] and [`NOSE_TIP`] of a face-sized grid (mm) whose depth is `depth(x, y)` plus
    /// `nose_mm` at the nose, seen by a pinhole camera 500 mm away after turning by `yaw`
    /// degrees about the vertical axis.
    fn face(depth: impl Fn(f32, f32) -> f32, nose_mm: f32, yaw: f32) -> Vec<(f32, f32)> {
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
                let z = -depth(x, y) - if nose { nose_mm } else { 0.0 };
                let (x, z) = (x * c + z * s, -x * s + z * c + 500.0);
                (600.0 * x / z + 320.0, 600.0 * y / z + 240.0)
            })
            .collect()
    }

    fn beyond(depth: impl Fn(f32, f32) -> f32 + Copy, nose_mm: f32) -> f32 {
        let from = face(depth, nose_mm, 0.0);
        let to = face(depth, nose_mm, 15.0);
        // An eye span of 90 mm at 500 mm is 108 px.
        nose_beyond_surface(&from, &to, RotationAxis::Vertical, 108.0).unwrap()
    }

    #[test]
    fn flat_and_cylindrical_pictures_have_no_relief_and_a_nose_has_some() {
        let flat = beyond(|_, y| 0.2 * y, 0.0);
        let cylinder = beyond(|x, _| (90f32.powi(2) - x * x).max(0.0).sqrt() - 90.0, 0.0);
        let nosed = beyond(|x, _| (90f32.powi(2) - x * x).max(0.0).sqrt() - 90.0, 20.0);
        assert!(flat < 0.005, "{flat}");
        assert!(cylinder < 0.01, "{cylinder}");
        assert!(nosed / 15f32.to_radians().sin() > LIVE_PARALLAX, "{nosed}");
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
