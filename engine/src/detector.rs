//! Face detection with YuNet (2023mar): boxes, scores and five landmarks for every face.
//!
//! A frame is scaled to fit the model's input and padded (letterboxed). Input is BGR 0–255,
//! NCHW. The model is anchor-free: for each stride (8, 16, 32) and grid cell it predicts class
//! and objectness scores (score = √(cls·obj)), a box as an offset of the cell's centre and a log
//! size, and five keypoints as offsets of the cell, all in stride units.
//!
//! The file was exported for 640×640, but the network is fully convolutional: with its recorded
//! shapes forgotten ([`crate::models`]) it runs at any size whose sides are multiples of 32, and
//! its cost falls with the pixels. Two uses, two costs (`cargo run --release -p livegate-engine
//! --example detector_sizes`, one core, 640×480 frames of six real people):
//! - **Photos** ([`FaceDetector::detect`]: ID documents, selfies to match, group photos) run at
//!   640×640, ~85 ms, and find faces down to ~10 px.
//! - **Camera frames** ([`FaceDetector::detect_near`]) run at 160×128 (~5 ms), which finds every
//!   face of ~60 px or more, and only when that finds none at 320×256 (~17 ms, faces down to
//!   ~40 px). A liveness session needs a face far larger than that (the quality hints ask a
//!   smaller one to come closer), so nothing it can use is lost, and a re-detection no longer
//!   costs a frame 70–85 ms.

use opencv::core::{Mat, Size};
use opencv::imgproc;
use opencv::prelude::*;
use tract_onnx::prelude::*;

use crate::backend::{Backend, Network};
use crate::error::{EngineError, inference_error};
use crate::geometry::Rect;
use crate::loader::ModelLoader;

/// The input the model file was exported for.
const EXPORTED: (usize, usize) = (640, 640);
/// Camera frames: the quick input first, the larger one when it finds no face.
const NEAR: [(usize, usize); 2] = [(160, 128), (320, 256)];
const STRIDES: [usize; 3] = [8, 16, 32];
/// Minimum score of a face (0–1).
const SCORE_THRESHOLD: f32 = 0.7;
/// Boxes overlapping a better one by more than this IoU are the same face.
const NMS_IOU: f32 = 0.3;

/// One face found by the detector, in frame pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub bbox: Rect,
    pub score: f32,
    /// Subject's right eye, left eye, nose tip, right and left mouth corners. "Right" is the
    /// person's own right, which is the image's left in an unmirrored camera picture.
    pub keypoints: [(f32, f32); 5],
}

/// The largest of `detections` (by box area): the face a picture or a frame is about.
pub fn largest(detections: &[Detection]) -> Option<&Detection> {
    detections
        .iter()
        .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
}

/// YuNet at one input size.
pub struct YuNet {
    net: Network,
    /// Width × height, both multiples of the largest stride.
    input: (usize, usize),
}

/// The face detector: YuNet at full size for photos and at small sizes for camera frames.
pub struct FaceDetector {
    full: YuNet,
    near: [YuNet; 2],
}

impl FaceDetector {
    pub fn load(loader: &ModelLoader) -> Result<Self, EngineError> {
        Ok(FaceDetector {
            full: YuNet::load(loader, EXPORTED)?,
            near: [YuNet::load(loader, NEAR[0])?, YuNet::load(loader, NEAR[1])?],
        })
    }

    /// The backend of the photo detector (camera frames' small sizes always run on tract).
    pub fn backend(&self) -> Backend {
        self.full.net.backend()
    }

    /// Every face in a photo, down to ~10 px, best first.
    pub fn detect(&self, bgr: &Mat) -> Result<Vec<Detection>, EngineError> {
        self.full.detect(bgr)
    }

    /// The faces of a camera frame that are large enough to judge (~40 px and more), best
    /// first, at a fifth of [`FaceDetector::detect`]'s cost or less (see the module doc).
    pub fn detect_near(&self, bgr: &Mat) -> Result<Vec<Detection>, EngineError> {
        let faces = self.near[0].detect(bgr)?;
        if !faces.is_empty() {
            return Ok(faces);
        }
        self.near[1].detect(bgr)
    }
}

impl YuNet {
    /// The model at `(width, height)`, both multiples of 32.
    pub fn load(
        loader: &ModelLoader,
        (width, height): (usize, usize),
    ) -> Result<Self, EngineError> {
        let shape = [1, 3, height, width];
        let net = if (width, height) == EXPORTED {
            loader.network("yunet", &shape)?
        } else {
            loader.resized_network("yunet", &shape)?
        };
        Ok(YuNet {
            net,
            input: (width, height),
        })
    }

    /// Every face in a BGR image, best first.
    pub fn detect(&self, bgr: &Mat) -> Result<Vec<Detection>, EngineError> {
        let (iw, ih) = self.input;
        let (w, h) = (bgr.cols() as f32, bgr.rows() as f32);
        let scale = (iw as f32 / w).min(ih as f32 / h);
        let (sw, sh) = (
            ((w * scale).round() as i32).max(1),
            ((h * scale).round() as i32).max(1),
        );
        let mut resized = Mat::default();
        imgproc::resize(
            bgr,
            &mut resized,
            Size::new(sw, sh),
            0.0,
            0.0,
            imgproc::INTER_LINEAR,
        )?;

        // Letterbox into the top-left corner of a zeroed planar tensor.
        let mut input = vec![0f32; 3 * iw * ih];
        let bytes = resized.data_bytes()?;
        let plane = iw * ih;
        for y in 0..sh as usize {
            let row = &bytes[y * sw as usize * 3..(y + 1) * sw as usize * 3];
            let base = y * iw;
            for (x, px) in row.chunks_exact(3).enumerate() {
                input[base + x] = px[0] as f32;
                input[plane + base + x] = px[1] as f32;
                input[2 * plane + base + x] = px[2] as f32;
            }
        }
        let tensor = tract_ndarray::Array4::from_shape_vec((1, 3, ih, iw), input)
            .map_err(inference_error)?
            .into_tensor();
        let outputs = self.net.run(tensor)?;
        let view = |i: usize| outputs.get(i);

        let mut faces = Vec::new();
        for (level, &stride) in STRIDES.iter().enumerate() {
            let (cls, obj) = (view(level)?, view(3 + level)?);
            let (bbox, kps) = (view(6 + level)?, view(9 + level)?);
            let cols = iw / stride;
            for idx in 0..cls.len() {
                let score = (cls[idx].clamp(0.0, 1.0) * obj[idx].clamp(0.0, 1.0)).sqrt();
                if score < SCORE_THRESHOLD {
                    continue;
                }
                let (r, c) = ((idx / cols) as f32, (idx % cols) as f32);
                let s = stride as f32;
                let cx = (c + bbox[idx * 4]) * s;
                let cy = (r + bbox[idx * 4 + 1]) * s;
                let bw = bbox[idx * 4 + 2].exp() * s;
                let bh = bbox[idx * 4 + 3].exp() * s;
                let mut keypoints = [(0.0, 0.0); 5];
                for (n, kp) in keypoints.iter_mut().enumerate() {
                    *kp = (
                        (kps[idx * 10 + 2 * n] + c) * s / scale,
                        (kps[idx * 10 + 2 * n + 1] + r) * s / scale,
                    );
                }
                faces.push(Detection {
                    bbox: Rect {
                        x: (cx - bw / 2.0) / scale,
                        y: (cy - bh / 2.0) / scale,
                        width: bw / scale,
                        height: bh / scale,
                    },
                    score,
                    keypoints,
                });
            }
        }
        Ok(non_max_suppression(faces, NMS_IOU))
    }
}

/// Keeps the best-scoring box of every group of overlapping ones.
fn non_max_suppression(mut faces: Vec<Detection>, iou: f32) -> Vec<Detection> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for f in faces {
        if kept.iter().all(|k| k.bbox.iou(&f.bbox) <= iou) {
            kept.push(f);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x: f32, score: f32) -> Detection {
        Detection {
            bbox: Rect {
                x,
                y: 0.0,
                width: 10.0,
                height: 10.0,
            },
            score,
            keypoints: [(0.0, 0.0); 5],
        }
    }

    #[test]
    fn nms_keeps_best_of_overlapping_and_all_disjoint() {
        let kept = non_max_suppression(vec![det(0.0, 0.8), det(1.0, 0.9), det(50.0, 0.75)], 0.3);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.9);
        assert_eq!(kept[1].bbox.x, 50.0);
    }
}
