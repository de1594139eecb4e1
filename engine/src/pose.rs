//! Head pose (yaw, pitch, roll) from landmarks, by solvePnP against a generic 3-D face.
//!
//! Six landmarks (nose tip, chin, outer eye corners, mouth corners) are matched to an average
//! adult face in millimetres, in camera axes: x to the image's right, y down, z away from the
//! camera, nose tip at the origin. The camera is a pinhole with focal length = frame width,
//! centred, without distortion — exact intrinsics barely change the angles at these distances.
//!
//! Sign convention (the person's own directions, on an unmirrored camera frame):
//! - yaw > 0: the person turns to their own left (the nose moves to the image's right);
//! - pitch > 0: the person looks up;
//! - roll > 0: the head tilts towards the person's own left shoulder.
//!
//! A horizontally mirrored frame therefore flips the sign of yaw and roll.

use opencv::calib3d;
use opencv::core::{Mat, Point2f, Point3f, Vector};
use opencv::prelude::*;

use crate::error::EngineError;
use crate::landmarks::{FaceLandmarks, index};

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HeadPose {
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
}

/// (landmark index, model point in mm).
const MODEL: [(usize, [f32; 3]); 6] = [
    (index::NOSE_TIP, [0.0, 0.0, 0.0]),
    (index::CHIN, [0.0, 63.6, 12.5]),
    (index::RIGHT_EYE_OUTER, [-43.3, -32.7, 26.0]),
    (index::LEFT_EYE_OUTER, [43.3, -32.7, 26.0]),
    (index::MOUTH_RIGHT, [-28.9, 28.9, 24.1]),
    (index::MOUTH_LEFT, [28.9, 28.9, 24.1]),
];

/// The head pose of a face in a `width`×`height` frame.
pub fn estimate(
    landmarks: &FaceLandmarks,
    width: i32,
    height: i32,
) -> Result<HeadPose, EngineError> {
    let object: Vector<Point3f> = MODEL
        .iter()
        .map(|(_, p)| Point3f::new(p[0], p[1], p[2]))
        .collect();
    let image: Vector<Point2f> = MODEL
        .iter()
        .map(|(i, _)| {
            let (x, y) = landmarks.xy(*i);
            Point2f::new(x, y)
        })
        .collect();
    let f = width as f64;
    let camera = Mat::from_slice_2d(&[
        [f, 0.0, width as f64 / 2.0],
        [0.0, f, height as f64 / 2.0],
        [0.0, 0.0, 1.0],
    ])?;
    let dist = Mat::default();
    let (mut rvec, mut tvec) = (Mat::default(), Mat::default());
    calib3d::solve_pnp(
        &object,
        &image,
        &camera,
        &dist,
        &mut rvec,
        &mut tvec,
        false,
        calib3d::SOLVEPNP_ITERATIVE,
    )?;
    let mut r = Mat::default();
    calib3d::rodrigues_def(&rvec, &mut r)?;
    let at = |i: i32, j: i32| -> Result<f64, EngineError> { Ok(*r.at_2d::<f64>(i, j)?) };

    // The face's forward direction (out of the face, towards the camera when frontal) is the
    // model's -z axis: f = -R[:, 2].
    let (fx, fy, fz) = (-at(0, 2)?, -at(1, 2)?, -at(2, 2)?);
    let yaw = fx.atan2(-fz);
    let pitch = (-fy).atan2((fx * fx + fz * fz).sqrt());
    // The face's x axis (from its right eye to its left eye) is R[:, 0].
    let roll = at(1, 0)?.atan2(at(0, 0)?);
    Ok(HeadPose {
        yaw: yaw.to_degrees() as f32,
        pitch: pitch.to_degrees() as f32,
        roll: roll.to_degrees() as f32,
    })
}
