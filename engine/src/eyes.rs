//! Eye openness with MediaPipe Iris: 71 eye-contour points from a 64×64 crop of each eye.
//!
//! FaceMesh's own eyelid points barely move when a person blinks at webcam resolution (over
//! 200 s of franck.mp4, where blinks are plainly visible every few seconds, its eye aspect ratio
//! dipped below 0.8 of the open level once), so blinks are measured on each eye's own crop, as
//! MediaPipe's iris pipeline does: a square around the eye corners, 2.3× their extent, turned
//! level, RGB 0–1; the crop of the image-right eye is mirrored, the model knows one eye only.
//!
//! Openness is the eye aspect ratio of the contour: the mean of three lid-to-lid distances
//! over the corner-to-corner distance.

use opencv::core::Mat;

use crate::backend::{Backend, Network};
use crate::error::EngineError;
use crate::geometry::{Roi, crop_tensor, distance};
use crate::landmarks::FaceLandmarks;
use crate::models::ModelLoader;

const INPUT: usize = 64;
/// Eye ROI side over the corners' extent (MediaPipe's iris_landmark_landmarks_to_roi).
const ROI_SCALE: f32 = 2.3;
/// Contour indices: 0 and 8 are the corners; (upper, lower) lid pairs across the eye.
const CORNERS: (usize, usize) = (0, 8);
const LID_PAIRS: [(usize, usize); 3] = [(11, 3), (12, 4), (13, 5)];
/// FaceMesh corner landmarks of the image-left and image-right eye.
const EYES: [(usize, usize); 2] = [(33, 133), (362, 263)];

pub struct EyeLandmarker {
    net: Network,
}

impl EyeLandmarker {
    pub fn load(loader: &ModelLoader) -> Result<Self, EngineError> {
        Ok(EyeLandmarker {
            net: loader.network("iris", &[1, 3, INPUT, INPUT])?,
        })
    }

    pub fn backend(&self) -> Backend {
        self.net.backend()
    }

    /// Openness of both eyes, averaged: about 0.25–0.35 open, towards 0.05 shut.
    pub fn openness(&self, bgr: &Mat, face: &FaceLandmarks) -> Result<f32, EngineError> {
        let mut sum = 0.0;
        for (i, &(a, b)) in EYES.iter().enumerate() {
            let roi = eye_roi(face.xy(a), face.xy(b));
            let tensor = crop_tensor(bgr, &roi, INPUT, i == 1)?;
            let out = self.net.run(tensor)?;
            let contour = out.get(0)?;
            let p = |k: usize| (contour[k * 3], contour[k * 3 + 1]);
            let width = distance(p(CORNERS.0), p(CORNERS.1)).max(1e-3);
            let lids: f32 = LID_PAIRS.iter().map(|&(u, l)| distance(p(u), p(l))).sum();
            sum += lids / (LID_PAIRS.len() as f32 * width);
        }
        Ok(sum / EYES.len() as f32)
    }
}

fn eye_roi(a: (f32, f32), b: (f32, f32)) -> Roi {
    let extent = (a.0 - b.0).abs().max((a.1 - b.1).abs());
    Roi {
        cx: (a.0 + b.0) / 2.0,
        cy: (a.1 + b.1) / 2.0,
        size: extent * ROI_SCALE,
        angle: (b.1 - a.1).atan2(b.0 - a.0),
    }
}
