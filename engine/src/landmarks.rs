//! 468 dense face landmarks with MediaPipe FaceMesh (v1), on a rotated square region of the frame.
//!
//! The region is warped to the model's 192×192 input (RGB, 0–1, NCHW after conversion); the model
//! answers 468 (x, y, z) points in input pixels and a face-presence logit. Points are mapped back
//! to frame pixels through the same affine transform; z is scaled like x and y (relative depth,
//! smaller is nearer the camera).
//!
//! Index conventions (MediaPipe's canonical mesh): "right" is the person's own right.

use opencv::core::Mat;

use crate::backend::{Backend, Network};
use crate::detector::Detection;
use crate::error::EngineError;
use crate::geometry::{Rect, Roi, crop_tensor};
use crate::loader::ModelLoader;

pub const INPUT: usize = 192;
pub const COUNT: usize = 468;

/// Landmark indices used by the later stages.
pub mod index {
    pub const NOSE_TIP: usize = 1;
    pub const CHIN: usize = 152;
    /// Outer corner of the person's right eye (image left in a camera picture).
    pub const RIGHT_EYE_OUTER: usize = 33;
    pub const RIGHT_EYE_INNER: usize = 133;
    pub const LEFT_EYE_OUTER: usize = 263;
    pub const LEFT_EYE_INNER: usize = 362;
    pub const MOUTH_RIGHT: usize = 61;
    pub const MOUTH_LEFT: usize = 291;
}

/// The landmarks of one face, in frame pixels.
#[derive(Debug, Clone)]
pub struct FaceLandmarks {
    pub points: Vec<[f32; 3]>,
    /// Probability (0–1) that the region holds a face.
    pub presence: f32,
}

impl FaceLandmarks {
    pub fn xy(&self, i: usize) -> (f32, f32) {
        (self.points[i][0], self.points[i][1])
    }

    /// Distance between the outer eye corners, pixels: the face's scale, steadier than its box
    /// because it does not depend on where the model puts the jaw line.
    pub fn eye_span(&self) -> f32 {
        crate::geometry::distance(
            self.xy(index::RIGHT_EYE_OUTER),
            self.xy(index::LEFT_EYE_OUTER),
        )
    }

    /// The axis-aligned box around all points.
    pub fn bounding_box(&self) -> Rect {
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for p in &self.points {
            x0 = x0.min(p[0]);
            y0 = y0.min(p[1]);
            x1 = x1.max(p[0]);
            y1 = y1.max(p[1]);
        }
        Rect {
            x: x0,
            y: y0,
            width: x1 - x0,
            height: y1 - y0,
        }
    }

    /// The five points face alignment uses (eye centres, nose tip, mouth corners), in the
    /// detector's order: right eye, left eye, nose, right mouth corner, left mouth corner.
    pub fn five_points(&self) -> [(f32, f32); 5] {
        use index::*;
        let mid = |a: usize, b: usize| {
            let (p, q) = (self.xy(a), self.xy(b));
            ((p.0 + q.0) / 2.0, (p.1 + q.1) / 2.0)
        };
        [
            mid(RIGHT_EYE_OUTER, RIGHT_EYE_INNER),
            mid(LEFT_EYE_OUTER, LEFT_EYE_INNER),
            self.xy(NOSE_TIP),
            self.xy(MOUTH_RIGHT),
            self.xy(MOUTH_LEFT),
        ]
    }

    /// The region the next frame's landmarks should be looked for in (MediaPipe's tracking rule:
    /// the landmarks' box in the face's own rotation, enlarged 1.5×).
    pub fn next_roi(&self) -> Roi {
        use index::*;
        let (r, l) = (self.xy(RIGHT_EYE_OUTER), self.xy(LEFT_EYE_OUTER));
        let angle = (l.1 - r.1).atan2(l.0 - r.0);
        roi_around(self.points.iter().map(|p| (p[0], p[1])), angle)
    }
}

/// The square region around `points`, aligned with `angle`, 1.5× their extent.
fn roi_around(points: impl Iterator<Item = (f32, f32)> + Clone, angle: f32) -> Roi {
    let (s, c) = angle.sin_cos();
    let (mut u0, mut v0, mut u1, mut v1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for (x, y) in points {
        let (u, v) = (x * c + y * s, -x * s + y * c);
        u0 = u0.min(u);
        u1 = u1.max(u);
        v0 = v0.min(v);
        v1 = v1.max(v);
    }
    let (cu, cv) = ((u0 + u1) / 2.0, (v0 + v1) / 2.0);
    Roi {
        cx: cu * c - cv * s,
        cy: cu * s + cv * c,
        size: (u1 - u0).max(v1 - v0) * 1.5,
        angle,
    }
}

/// The region to look for landmarks in, from a detection: its box, turned so the eyes are level.
pub fn roi_from_detection(d: &Detection) -> Roi {
    let (r, l) = (d.keypoints[0], d.keypoints[1]);
    let angle = (l.1 - r.1).atan2(l.0 - r.0);
    let (cx, cy) = d.bbox.center();
    let corners = [
        (d.bbox.x, d.bbox.y),
        (d.bbox.x + d.bbox.width, d.bbox.y),
        (d.bbox.x, d.bbox.y + d.bbox.height),
        (d.bbox.x + d.bbox.width, d.bbox.y + d.bbox.height),
    ];
    let roi = roi_around(corners.into_iter(), angle);
    // Centre on the box itself: the rotated extent of a box is symmetric about its centre.
    Roi { cx, cy, ..roi }
}

pub struct FaceLandmarker {
    net: Network,
}

impl FaceLandmarker {
    pub fn load(loader: &ModelLoader) -> Result<Self, EngineError> {
        Ok(FaceLandmarker {
            net: loader.network("facemesh", &[1, 3, INPUT, INPUT])?,
        })
    }

    pub fn backend(&self) -> Backend {
        self.net.backend()
    }

    /// Landmarks of the face inside `roi` of a BGR image.
    pub fn landmarks(&self, bgr: &Mat, roi: &Roi) -> Result<FaceLandmarks, EngineError> {
        let tensor = crop_tensor(bgr, roi, INPUT, false)?;
        let out = self.net.run(tensor)?;
        let coords = out.get(0)?;
        let logit = out.get(1)?[0];

        let [[a, b, tx], [c, d, ty]] = roi.to_frame_affine(INPUT as f32);
        let zscale = (roi.size / INPUT as f32) as f64;
        let points = coords
            .chunks_exact(3)
            .take(COUNT)
            .map(|p| {
                let (u, v) = (p[0] as f64, p[1] as f64);
                [
                    (a * u + b * v + tx) as f32,
                    (c * u + d * v + ty) as f32,
                    (p[2] as f64 * zscale) as f32,
                ]
            })
            .collect();
        Ok(FaceLandmarks {
            points,
            presence: 1.0 / (1.0 + (-logit).exp()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roi_affine_maps_centre_and_corners() {
        let roi = Roi {
            cx: 100.0,
            cy: 50.0,
            size: 96.0,
            angle: 0.0,
        };
        let [[a, b, tx], [c, d, ty]] = roi.to_frame_affine(192.0);
        let map = |u: f64, v: f64| (a * u + b * v + tx, c * u + d * v + ty);
        assert_eq!(map(96.0, 96.0), (100.0, 50.0));
        assert_eq!(map(0.0, 0.0), (52.0, 2.0));

        let turned = Roi {
            angle: std::f32::consts::FRAC_PI_2,
            ..roi
        };
        let [[a, b, tx], [c, d, ty]] = turned.to_frame_affine(192.0);
        let (x, y) = (a * 192.0 + b * 96.0 + tx, c * 192.0 + d * 96.0 + ty);
        assert!(
            (x - 100.0).abs() < 1e-3 && (y - 98.0).abs() < 1e-3,
            "ROI x axis points down: {x},{y}"
        );
    }

    #[test]
    fn roi_around_level_points_is_centred_and_enlarged() {
        let pts = [(0.0, 0.0), (10.0, 0.0), (0.0, 20.0), (10.0, 20.0)];
        let roi = roi_around(pts.into_iter(), 0.0);
        assert!((roi.cx - 5.0).abs() < 1e-4 && (roi.cy - 10.0).abs() < 1e-4);
        assert!((roi.size - 30.0).abs() < 1e-4);
    }
}
