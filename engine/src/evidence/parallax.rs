//! 3-D consistency: does the face move like a solid head or like a picture?
//!
//! However a flat picture (a print, a phone, a screen) is moved, tilted or rotated, the camera
//! sees it through one homography: every landmark of frame B is the same projective map of its
//! position in frame A. A real head is not flat: when it turns, the nose tip (about 3 cm in front
//! of the cheeks) shifts more than the face's outline, and no single homography fits them all.
//!
//! **Measure.** In each step that asks for a head rotation (turns, look up), the step's first
//! followed frame is its reference. For each later frame of the step whose head pose differs
//! from the reference by at least [`MIN_ROTATION_DEG`], fit one homography by least squares to
//! the face's outline and eye corners, and measure how far the nose points lie from where it puts
//! them, divided by the reference's eye span. The session's **parallax** is the median of the
//! [`TOP_FRAMES`] frames that rotated most. Range 0 – ~0.2.
//!
//! Choices, measured on our media (`cargo test -p livegate-pad --test species`):
//! - The nose, not all 468 points: FaceMesh draws a plausible 3-D face even on a tilted photo,
//!   so the RMS residual over all points was as large on a tilted print (0.020) as on a real turn
//!   (0.024).
//! - A reference per step, not one per session: against one session reference (taken from a
//!   different moment) real turns measured 0.042–0.151 and a flat 2-D puppet up to 0.050; within
//!   the step, real turns and look-ups measured 0.072–0.115, flat puppets 0.024–0.047 and tilted
//!   prints 0.027–0.035.
//!
//! [`FLAT_PARALLAX`] and [`LIVE_PARALLAX`] sit in that gap, which is narrow and comes from one real
//! person. A print bent round a cylinder (the `curved print` species) measured 0.013–0.095: its
//! sides foreshorten as a head's do, and the landmark model alone cannot always tell its nose
//! from a real one.
//!
//! Frames re-detected by YuNet are skipped: their landmarks come from a looser box and differ by a
//! few percent in scale, which is not parallax.

use opencv::calib3d;
use opencv::core::{Mat, Point2f, Vector};
use opencv::prelude::*;

use crate::error::EngineError;
use crate::landmarks::FaceLandmarks;
use crate::pose::HeadPose;

/// Pose change (|Δyaw| + |Δpitch|, degrees) from the step's reference before a frame is measured.
pub const MIN_ROTATION_DEG: f32 = 8.0;
/// How many of the most-rotated frames the session's parallax is the median of.
pub const TOP_FRAMES: usize = 5;
/// Parallax at or below which the motion looked flat (see the fusion rule).
pub const FLAT_PARALLAX: f32 = 0.050;
/// Parallax at or above which the motion clearly came from a 3-D head.
pub const LIVE_PARALLAX: f32 = 0.065;

/// Face outline and eye corners: the points a picture's homography is fitted to.
const RING: [usize; 40] = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
    148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109, 33, 133, 362,
    263,
];
/// Nose tip and the ridge just above it: the points that stand furthest out of the face.
const NOSE: [usize; 6] = [1, 4, 5, 2, 98, 327];

struct Reference {
    points: Vector<Point2f>,
    pose: HeadPose,
    scale: f32,
}

/// Collects the parallax evidence of one session.
#[derive(Default)]
pub struct ParallaxMeter {
    /// Whether the current step asks for a head rotation.
    in_rotation_step: bool,
    /// First followed frame of the current head-rotation step.
    reference: Option<Reference>,
    /// (rotation from the step's reference, nose offset) of measured frames.
    samples: Vec<(f32, f32)>,
}

impl ParallaxMeter {
    /// A challenge step starts; `rotates` says whether it asks for a head rotation.
    pub fn begin_step(&mut self, rotates: bool) {
        self.in_rotation_step = rotates;
        self.reference = None;
    }

    /// Measures one followed (not re-detected) frame against its step's reference.
    pub fn observe(
        &mut self,
        landmarks: &FaceLandmarks,
        pose: &HeadPose,
    ) -> Result<(), EngineError> {
        if !self.in_rotation_step {
            return Ok(());
        }
        let Some(reference) = &self.reference else {
            self.reference = Some(Reference {
                points: points(landmarks),
                pose: *pose,
                scale: landmarks.eye_span().max(1.0),
            });
            return Ok(());
        };
        let rotation =
            (pose.yaw - reference.pose.yaw).abs() + (pose.pitch - reference.pose.pitch).abs();
        if rotation >= MIN_ROTATION_DEG {
            let nose = nose_offset(&reference.points, &points(landmarks))? / reference.scale;
            self.samples.push((rotation, nose));
        }
        Ok(())
    }

    /// The session's parallax, once some frame rotated enough.
    pub fn parallax(&self) -> Option<f32> {
        top_median(&self.samples)
    }

    /// Largest rotation measured, degrees.
    pub fn max_rotation(&self) -> f32 {
        self.samples.iter().map(|s| s.0).fold(0.0, f32::max)
    }
}

/// Median value of the [`TOP_FRAMES`] samples with the largest rotation.
fn top_median(samples: &[(f32, f32)]) -> Option<f32> {
    if samples.is_empty() {
        return None;
    }
    let mut by_rotation = samples.to_vec();
    by_rotation.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut top: Vec<f32> = by_rotation.iter().take(TOP_FRAMES).map(|s| s.1).collect();
    top.sort_by(f32::total_cmp);
    Some(top[top.len() / 2])
}

/// Mean distance (pixels) of the nose points from where the outline's homography puts them.
fn nose_offset(from: &Vector<Point2f>, to: &Vector<Point2f>) -> Result<f32, EngineError> {
    let pick = |v: &Vector<Point2f>, idx: &[usize]| -> Vector<Point2f> {
        idx.iter().filter_map(|&i| v.get(i).ok()).collect()
    };
    let h = calib3d::find_homography(
        &pick(from, &RING),
        &pick(to, &RING),
        &mut Mat::default(),
        0,
        3.0,
    )?;
    if h.empty() {
        return Ok(0.0);
    }
    let (nose_from, nose_to) = (pick(from, &NOSE), pick(to, &NOSE));
    let mut mapped = Vector::<Point2f>::new();
    opencv::core::perspective_transform(&nose_from, &mut mapped, &h)?;
    let sum: f32 = mapped
        .iter()
        .zip(nose_to.iter())
        .map(|(a, b)| ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt())
        .sum();
    Ok(sum / NOSE.len() as f32)
}

fn points(landmarks: &FaceLandmarks) -> Vector<Point2f> {
    landmarks
        .points
        .iter()
        .map(|p| Point2f::new(p[0], p[1]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 468 points of a face-sized grid (mm); the nose points stand `nose_mm` off it. Seen by a
    /// pinhole camera 500 mm away after the head turns by `yaw` degrees.
    fn face(nose_mm: f32, yaw: f32) -> Vector<Point2f> {
        let (s, c) = yaw.to_radians().sin_cos();
        (0..crate::landmarks::COUNT)
            .map(|i| {
                let (x, y) = ((i % 22) as f32 * 7.0 - 75.0, (i / 22) as f32 * 7.0 - 75.0);
                let z = if NOSE.contains(&i) { -nose_mm } else { 0.0 };
                let (x, z) = (x * c + z * s, -x * s + z * c + 500.0);
                Point2f::new(600.0 * x / z + 320.0, 600.0 * y / z + 240.0)
            })
            .collect()
    }

    #[test]
    fn a_flat_face_has_no_nose_offset_and_a_real_nose_has_one() {
        let flat = nose_offset(&face(0.0, 0.0), &face(0.0, 20.0)).unwrap();
        let nosed = nose_offset(&face(30.0, 0.0), &face(30.0, 20.0)).unwrap();
        assert!(flat < 0.01, "{flat}");
        assert!(nosed > 10.0, "{nosed}");
    }
}
