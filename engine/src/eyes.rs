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
//!
//! Each eye is one run of the model (~0.8 ms on onnxruntime, which runs it in int8 with its
//! PReLUs as byte tables: `iris-int8` in `engine/assets/models.toml`; ~2 ms in fp32; ~6 ms on
//! tract), so callers ask for the eyes they need: a blink step measures one eye a frame, in
//! turn (both lids close together in a blink, so every frame still sees it), and a picture for
//! matching measures both.
//!
//! Tried and not kept (2026-12-07): skipping the model for an eye whose aligned 64×64 crop
//! differs from the one last measured by less than τ grey levels on average. On six real
//! people's videos, at τ = 2 every blink was still found but phone-camera noise made it run
//! 1.0–2.0 times a frame (the schedule above: 1.04–1.15); at τ = 3 one of a phone selfie's two
//! blinks was lost. A blink moves too few of a small eye's pixels to stand above sensor noise.

use opencv::core::Mat;
use tract_onnx::prelude::Tensor;

use crate::backend::{Backend, Network};
use crate::error::EngineError;
use crate::geometry::{Roi, crop_tensor, distance};
use crate::landmarks::FaceLandmarks;
use crate::loader::ModelLoader;

const INPUT: usize = 64;
/// Eye ROI side over the corners' extent (MediaPipe's iris_landmark_landmarks_to_roi).
const ROI_SCALE: f32 = 2.3;
/// Contour indices: 0 and 8 are the corners; (upper, lower) lid pairs across the eye.
const CORNERS: (usize, usize) = (0, 8);
const LID_PAIRS: [(usize, usize); 3] = [(11, 3), (12, 4), (13, 5)];
/// One eye, as it appears in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eye {
    ImageLeft = 0,
    ImageRight = 1,
}

impl Eye {
    pub const BOTH: [Eye; 2] = [Eye::ImageLeft, Eye::ImageRight];

    pub fn other(self) -> Eye {
        match self {
            Eye::ImageLeft => Eye::ImageRight,
            Eye::ImageRight => Eye::ImageLeft,
        }
    }

    /// FaceMesh's landmarks of the eye's two corners.
    fn corners(self) -> (usize, usize) {
        match self {
            Eye::ImageLeft => (33, 133),
            Eye::ImageRight => (362, 263),
        }
    }
}

/// Openness of each eye measured on a frame, indexed by [`Eye`]; None where not measured.
pub type EyeOpenness = [Option<f32>; 2];

/// The mean openness of the eyes that were measured.
pub fn mean_openness(eyes: &EyeOpenness) -> Option<f32> {
    let measured: Vec<f32> = eyes.iter().flatten().copied().collect();
    (!measured.is_empty()).then(|| measured.iter().sum::<f32>() / measured.len() as f32)
}

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
        for eye in Eye::BOTH {
            sum += self.eye_openness(bgr, face, eye)?;
        }
        Ok(sum / Eye::BOTH.len() as f32)
    }

    /// Openness of one eye.
    pub fn eye_openness(
        &self,
        bgr: &Mat,
        face: &FaceLandmarks,
        eye: Eye,
    ) -> Result<f32, EngineError> {
        let out = self.net.run(Self::input(bgr, face, eye)?)?;
        let contour = out.get(0)?;
        let p = |k: usize| (contour[k * 3], contour[k * 3 + 1]);
        let width = distance(p(CORNERS.0), p(CORNERS.1)).max(1e-3);
        let lids: f32 = LID_PAIRS.iter().map(|&(u, l)| distance(p(u), p(l))).sum();
        Ok(lids / (LID_PAIRS.len() as f32 * width))
    }

    /// The model's input for one eye: its aligned crop, RGB 0–1, 1×3×64×64 (what the int8
    /// model's activation ranges were measured on: `--example iris_calibration`).
    pub fn input(bgr: &Mat, face: &FaceLandmarks, eye: Eye) -> Result<Tensor, EngineError> {
        let (a, b) = eye.corners();
        let roi = eye_roi(face.xy(a), face.xy(b));
        crop_tensor(bgr, &roi, INPUT, eye == Eye::ImageRight)
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
