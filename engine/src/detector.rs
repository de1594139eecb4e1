//! Face detection with YuNet (2023mar): boxes, scores and five landmarks for every face.
//!
//! The model file's reshapes are fixed to a 640×640 input, so a frame is scaled to fit 640 on its
//! long side and padded (letterboxed). Input is BGR 0–255, NCHW. The model is anchor-free: for
//! each stride (8, 16, 32) and grid cell it predicts class and objectness scores (score =
//! √(cls·obj)), a box as an offset of the cell's centre and a log size, and five keypoints as
//! offsets of the cell, all in stride units.

use std::path::Path;

use opencv::core::{Mat, Size};
use opencv::imgproc;
use opencv::prelude::*;
use tract_onnx::prelude::*;

use crate::error::{EngineError, inference_error};
use crate::geometry::Rect;
use crate::models::{Plan, load_plan, output_f32};

const INPUT: usize = 640;
const STRIDES: [usize; 3] = [8, 16, 32];

/// One face found by the detector, in frame pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub bbox: Rect,
    pub score: f32,
    /// Subject's right eye, left eye, nose tip, right and left mouth corners. "Right" is the
    /// person's own right, which is the image's left in an unmirrored camera picture.
    pub keypoints: [(f32, f32); 5],
}

pub struct FaceDetector {
    plan: Plan,
    /// Minimum score of a face (0–1).
    pub score_threshold: f32,
    /// Boxes overlapping a better one by more than this IoU are the same face.
    pub nms_iou: f32,
}

impl FaceDetector {
    pub fn load(path: &Path) -> Result<Self, EngineError> {
        Ok(FaceDetector {
            plan: load_plan("yunet", path, &[1, 3, INPUT, INPUT])?,
            score_threshold: 0.7,
            nms_iou: 0.3,
        })
    }

    /// Every face in a BGR image, best first.
    pub fn detect(&self, bgr: &Mat) -> Result<Vec<Detection>, EngineError> {
        let (w, h) = (bgr.cols() as f32, bgr.rows() as f32);
        let scale = (INPUT as f32 / w).min(INPUT as f32 / h);
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

        // Letterbox into the top-left corner of a zeroed 640×640 planar tensor.
        let mut input = vec![0f32; 3 * INPUT * INPUT];
        let bytes = resized.data_bytes()?;
        let plane = INPUT * INPUT;
        for y in 0..sh as usize {
            let row = &bytes[y * sw as usize * 3..(y + 1) * sw as usize * 3];
            let base = y * INPUT;
            for (x, px) in row.chunks_exact(3).enumerate() {
                input[base + x] = px[0] as f32;
                input[plane + base + x] = px[1] as f32;
                input[2 * plane + base + x] = px[2] as f32;
            }
        }
        let tensor = tract_ndarray::Array4::from_shape_vec((1, 3, INPUT, INPUT), input)
            .map_err(inference_error)?
            .into_tensor();
        let outputs = self
            .plan
            .run(tvec!(tensor.into()))
            .map_err(inference_error)?;
        let view = |i: usize| output_f32(&outputs[i]);

        let mut faces = Vec::new();
        for (level, &stride) in STRIDES.iter().enumerate() {
            let (cls, obj) = (view(level)?, view(3 + level)?);
            let (bbox, kps) = (view(6 + level)?, view(9 + level)?);
            let cols = INPUT / stride;
            for idx in 0..cls.len() {
                let score = (cls[idx].clamp(0.0, 1.0) * obj[idx].clamp(0.0, 1.0)).sqrt();
                if score < self.score_threshold {
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
        Ok(non_max_suppression(faces, self.nms_iou))
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
