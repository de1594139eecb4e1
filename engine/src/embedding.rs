//! Face embeddings with SFace: is this the same person as before?
//!
//! A face is aligned by its five points onto the 112×112 template the model was trained with
//! (a least-squares similarity transform), fed as RGB 0–255 (the graph normalises), and the
//! 128-d output is L2-normalised so that the dot product of two embeddings is their cosine.
//! OpenCV Zoo publishes 0.363 as SFace's same-person cosine threshold (LFW 99.40%).

use opencv::core::{Mat, Scalar, Size};
use opencv::imgproc;

use crate::backend::{Backend, Network};
use crate::error::EngineError;
use crate::geometry::planar_rgb_tensor;
use crate::loader::ModelLoader;

const SIDE: usize = 112;

/// Where the five points (right eye, left eye, nose, right and left mouth corners) sit in the
/// aligned 112×112 crop: the template used to train ArcFace-style models, SFace included.
const TEMPLATE: [(f32, f32); 5] = [
    (38.2946, 51.6963),
    (73.5318, 51.5014),
    (56.0252, 71.7366),
    (41.5493, 92.3655),
    (70.7299, 92.2041),
];

/// Cosine at or above which two embeddings are taken to be the same person, in general (OpenCV
/// Zoo's published SFace threshold; photos taken apart in time, place and camera).
pub const SAME_PERSON_COSINE: f32 = 0.363;

/// Cosine at or above which two embeddings of one session are the same person. Within a session
/// (one camera, one light, seconds apart) the same face scores far higher than across photos, and
/// different people can come close to 0.363: measured with `--example identity_margins`, franck's
/// video frames against his still scored 0.81–0.91 (0.81 at 27° yaw, the most turned), while
/// obama.jpg against the same still scored 0.354.
pub const SESSION_CONTINUITY_COSINE: f32 = 0.5;

pub struct FaceEmbedder {
    net: Network,
}

impl FaceEmbedder {
    pub fn load(loader: &ModelLoader) -> Result<Self, EngineError> {
        Ok(FaceEmbedder {
            net: loader.network("sface", &[1, 3, SIDE, SIDE])?,
        })
    }

    pub fn backend(&self) -> Backend {
        self.net.backend()
    }

    /// The unit-length embedding of the face whose five points are `points` in a BGR image.
    pub fn embed(&self, bgr: &Mat, points: &[(f32, f32); 5]) -> Result<Vec<f32>, EngineError> {
        self.embed_aligned(&align(bgr, points)?)
    }

    /// The unit-length embedding of a face already aligned by [`align`].
    pub fn embed_aligned(&self, aligned: &Mat) -> Result<Vec<f32>, EngineError> {
        self.embed_side(aligned, false)
    }

    /// The unit-length mean of the embeddings of an aligned face and of its mirror image: a
    /// face's two halves differ in light and expression, and the mean leans on neither (one
    /// more run of the model).
    pub fn embed_flip_averaged(&self, aligned: &Mat) -> Result<Vec<f32>, EngineError> {
        Ok(unit_mean([
            self.embed_side(aligned, false)?,
            self.embed_side(aligned, true)?,
        ]))
    }

    /// The unit-length mean of the embeddings of one face aligned several ways (by two sets of
    /// landmarks, say): each alignment errs a little in its own way, and the mean leans on none
    /// (one run of the model each).
    pub fn embed_averaged(&self, alignments: &[&Mat]) -> Result<Vec<f32>, EngineError> {
        let embeddings = alignments
            .iter()
            .map(|aligned| self.embed_side(aligned, false))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(unit_mean(embeddings))
    }

    fn embed_side(&self, aligned: &Mat, mirror: bool) -> Result<Vec<f32>, EngineError> {
        let tensor = planar_rgb_tensor(aligned, SIDE, mirror, f32::from)?;
        let out = self.net.run(tensor)?;
        Ok(unit(out.get(0)?.to_vec()))
    }
}

/// The sum of `embeddings`, scaled to unit length: the direction of their mean.
fn unit_mean(embeddings: impl IntoIterator<Item = Vec<f32>>) -> Vec<f32> {
    let mut sum: Vec<f32> = Vec::new();
    for e in embeddings {
        if sum.is_empty() {
            sum = e;
        } else {
            sum.iter_mut().zip(&e).for_each(|(s, x)| *s += x);
        }
    }
    unit(sum)
}

/// `v` scaled to unit length.
fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// Cosine similarity of two unit-length embeddings.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Warps the face onto the template by the similarity transform (scale, rotation, shift) that
/// best maps its five points onto the template's, in the least-squares sense: the 112×112 BGR
/// crop SFace reads.
pub fn align(bgr: &Mat, points: &[(f32, f32); 5]) -> Result<Mat, EngineError> {
    let m = similarity(points, &TEMPLATE);
    let m = Mat::from_slice_2d(&m)?;
    let mut out = Mat::default();
    imgproc::warp_affine(
        bgr,
        &mut out,
        &m,
        Size::new(SIDE as i32, SIDE as i32),
        imgproc::INTER_LINEAR,
        opencv::core::BORDER_CONSTANT,
        Scalar::all(0.0),
    )?;
    Ok(out)
}

/// Where the point `(u, v)` of the crop [`align`] makes from `points` lies in the picture it was
/// warped from (the inverse of its similarity transform).
pub fn crop_to_picture(points: &[(f32, f32); 5], (u, v): (f32, f32)) -> (f32, f32) {
    let [[a, nb, tx], [b, _, ty]] = similarity(points, &TEMPLATE);
    debug_assert_eq!(nb, -b);
    let (dx, dy) = (u as f64 - tx, v as f64 - ty);
    let det = (a * a + b * b).max(1e-12);
    (
        ((a * dx + b * dy) / det) as f32,
        ((a * dy - b * dx) / det) as f32,
    )
}

/// Closed-form least-squares similarity transform from `src` to `dst` points, as a 2×3 matrix.
fn similarity(src: &[(f32, f32); 5], dst: &[(f32, f32); 5]) -> [[f64; 3]; 2] {
    let n = src.len() as f64;
    let mean = |p: &[(f32, f32); 5]| {
        let (sx, sy) = p
            .iter()
            .fold((0.0, 0.0), |a, q| (a.0 + q.0 as f64, a.1 + q.1 as f64));
        (sx / n, sy / n)
    };
    let (ms, md) = (mean(src), mean(dst));
    let (mut a, mut b, mut norm) = (0.0, 0.0, 0.0);
    for (s, d) in src.iter().zip(dst) {
        let (sx, sy) = (s.0 as f64 - ms.0, s.1 as f64 - ms.1);
        let (dx, dy) = (d.0 as f64 - md.0, d.1 as f64 - md.1);
        a += sx * dx + sy * dy;
        b += sx * dy - sy * dx;
        norm += sx * sx + sy * sy;
    }
    let (a, b) = (a / norm.max(1e-12), b / norm.max(1e-12));
    // [a -b; b a] is scale × rotation; the shift maps the source centroid onto the target's.
    [
        [a, -b, md.0 - (a * ms.0 - b * ms.1)],
        [b, a, md.1 - (b * ms.0 + a * ms.1)],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_recovers_a_known_transform() {
        let (s, t) = (1.7f32, 0.3f32);
        let src = TEMPLATE;
        let mut dst = [(0.0, 0.0); 5];
        for (d, p) in dst.iter_mut().zip(src) {
            *d = (
                s * (t.cos() * p.0 - t.sin() * p.1) + 5.0,
                s * (t.sin() * p.0 + t.cos() * p.1) - 3.0,
            );
        }
        let m = similarity(&src, &dst);
        assert!((m[0][0] - (s * t.cos()) as f64).abs() < 1e-4);
        assert!((m[1][0] - (s * t.sin()) as f64).abs() < 1e-4);
        assert!((m[0][2] - 5.0).abs() < 1e-3 && (m[1][2] + 3.0).abs() < 1e-3);
    }

    #[test]
    fn crop_points_map_back_to_where_the_face_was() {
        // A face twice the template's size, turned by 0.2 rad and moved: each template point
        // of the crop lies at that face's point in the picture.
        let (s, t) = (2.0f32, 0.2f32);
        let face = TEMPLATE.map(|p| {
            (
                s * (t.cos() * p.0 - t.sin() * p.1) + 300.0,
                s * (t.sin() * p.0 + t.cos() * p.1) + 120.0,
            )
        });
        for (template, expected) in TEMPLATE.into_iter().zip(face) {
            let (x, y) = crop_to_picture(&face, template);
            assert!((x - expected.0).abs() < 1e-2 && (y - expected.1).abs() < 1e-2);
        }
    }
}
