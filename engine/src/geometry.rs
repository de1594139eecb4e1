//! Small geometric types shared by the stages: boxes, points and the rotated square regions that
//! the landmark models look at, and turning such a region into a model input.

use opencv::core::{Mat, Scalar, Size};
use opencv::imgproc;
use opencv::prelude::*;
use tract_onnx::prelude::Tensor;

use crate::error::{EngineError, inference_error};

/// Axis-aligned box in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl Rect {
    pub fn center(&self) -> (f32, f32) {
        (self.x + self.width / 2.0, self.y + self.height / 2.0)
    }

    pub fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }

    pub fn iou(&self, other: &Rect) -> f32 {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = (self.x + self.width).min(other.x + other.width);
        let y1 = (self.y + self.height).min(other.y + other.height);
        let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    /// The integer rectangle inside a `width`×`height` image covered by this box grown by
    /// `margin` (a fraction of its size) on every side; `None` if nothing of it is inside.
    pub fn to_pixels(&self, margin: f32, width: i32, height: i32) -> Option<opencv::core::Rect> {
        let mx = self.width * margin;
        let my = self.height * margin;
        let x0 = ((self.x - mx).floor() as i32).clamp(0, width);
        let y0 = ((self.y - my).floor() as i32).clamp(0, height);
        let x1 = ((self.x + self.width + mx).ceil() as i32).clamp(0, width);
        let y1 = ((self.y + self.height + my).ceil() as i32).clamp(0, height);
        (x1 - x0 >= 2 && y1 - y0 >= 2).then(|| opencv::core::Rect::new(x0, y0, x1 - x0, y1 - y0))
    }
}

/// A rotated square region of the frame: centre, side length and the direction of its x axis.
/// The landmark model sees this square warped to its input size, so that the face is upright in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roi {
    pub cx: f32,
    pub cy: f32,
    pub size: f32,
    /// Radians; 0 when the eyes are level, positive when the line from the image-left eye to the
    /// image-right eye points downwards.
    pub angle: f32,
}

impl Roi {
    /// 2×3 affine map from ROI pixel coordinates (0..`side`) to frame coordinates.
    pub fn to_frame_affine(&self, side: f32) -> [[f64; 3]; 2] {
        let (s, c) = self.angle.sin_cos();
        let k = self.size / side;
        let (ux, uy) = (c * k, s * k); // frame step per ROI pixel along the ROI's x axis
        let (vx, vy) = (-s * k, c * k); // ... along its y axis
        let half = side / 2.0;
        let tx = self.cx - half * (ux + vx);
        let ty = self.cy - half * (uy + vy);
        [
            [ux as f64, vx as f64, tx as f64],
            [uy as f64, vy as f64, ty as f64],
        ]
    }
}

pub fn distance(a: (f32, f32), b: (f32, f32)) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

/// The `roi` of a BGR image warped to `side`×`side`, optionally mirrored, as a 1×3×side×side
/// RGB tensor scaled to 0–1 (the input MediaPipe's landmark models expect).
pub fn crop_tensor(bgr: &Mat, roi: &Roi, side: usize, mirror: bool) -> Result<Tensor, EngineError> {
    if roi.size <= MAX_WARMED_SCALE * side as f32 {
        bring_into_cache(bgr, roi);
    }
    let m = Mat::from_slice_2d(&roi.to_frame_affine(side as f32))?;
    let mut crop = Mat::default();
    imgproc::warp_affine(
        bgr,
        &mut crop,
        &m,
        Size::new(side as i32, side as i32),
        imgproc::INTER_LINEAR | imgproc::WARP_INVERSE_MAP,
        opencv::core::BORDER_CONSTANT,
        Scalar::all(0.0),
    )?;
    planar_rgb_tensor(&crop, side, mirror, |v| v as f32 / 255.0)
}

/// How many frame pixels a crop's pixel may span, at most, for [`bring_into_cache`] to pay.
const MAX_WARMED_SCALE: f32 = 3.5;

/// Reads one byte of every cache line under `roi`'s bounding box, row by row, so that the warp
/// that follows finds the region in cache. A frame just decoded is not in it, and `warpAffine`
/// walks its source in tiles, an order the hardware prefetcher does not follow, so each line
/// came in on its own: FaceMesh's 192×192 crop took 0.45–0.5 ms on one core after a decode,
/// against 0.17 ms from a frame in cache. Read in row order first, the region streams in
/// (0.03 ms), and the landmarks stage of a frame fell from 2.27–2.75 ms to 1.89–2.20 (nine
/// runs, old and new builds alternating: `cargo bench -p livegate-engine --bench pipeline`).
/// The crop itself is unchanged, pixel for pixel.
///
/// Only worth it while the warp reads most of the region: shrinking more than
/// [`MAX_WARMED_SCALE`]-fold, it samples a fraction of the rows and warming all of them costs
/// more than it saves. FaceMesh's crop of a face filling a 4000×3000 photo (compare-faces) took
/// 4.4 ms warmed against 1.3 cold, of a 1,500-px region 2.3 against 1.1, of a 770-px one (4-fold)
/// 0.89 against 0.80; of a 600-px one (3.1-fold) 0.53 against 0.77, and of a camera frame's
/// (under 2-fold) 0.33 against 0.50 (throwaway loops, one core).
fn bring_into_cache(bgr: &Mat, roi: &Roi) {
    const LINE: usize = 64;
    if bgr.empty() || bgr.typ() != opencv::core::CV_8UC3 {
        return;
    }
    let (Ok(bytes), Ok(step)) = (bgr.data_bytes(), bgr.step1(0)) else {
        return; // not continuous: the warp simply reads it cold
    };
    // The rotated square lies within a circle of radius size/√2 about its centre.
    let reach = roi.size * std::f32::consts::FRAC_1_SQRT_2 + 1.0;
    let span = |centre: f32, len: i32| {
        let clamp = |v: f32| (v.max(0.0) as usize).min(len as usize - 1);
        (clamp(centre - reach), clamp(centre + reach))
    };
    let ((x0, x1), (y0, y1)) = (span(roi.cx, bgr.cols()), span(roi.cy, bgr.rows()));
    let mut sum = 0u8;
    for y in y0..=y1 {
        let row = &bytes[y * step + 3 * x0..y * step + 3 * (x1 + 1)];
        let last = row.last().copied().unwrap_or(0);
        sum = row
            .iter()
            .step_by(LINE)
            .fold(sum.wrapping_add(last), |s, &b| s.wrapping_add(b));
    }
    std::hint::black_box(sum);
}

/// A `side`×`side` BGR image as a 1×3×side×side RGB tensor, each byte mapped by `value` (the
/// models differ only in their scaling), optionally mirrored left to right.
pub fn planar_rgb_tensor(
    square_bgr: &Mat,
    side: usize,
    mirror: bool,
    value: impl Fn(u8) -> f32,
) -> Result<Tensor, EngineError> {
    let bytes = square_bgr.data_bytes()?;
    let plane = side * side;
    // Filled in place: building an ndarray first and turning it into a tensor copied it again.
    let mut tensor = Tensor::zero::<f32>(&[1, 3, side, side]).map_err(inference_error)?;
    let mut plain = tensor.try_as_plain_ram_mut().map_err(inference_error)?;
    let input = plain.as_slice_mut::<f32>().map_err(inference_error)?;
    let (red, rest) = input.split_at_mut(plane);
    let (green, blue) = rest.split_at_mut(plane);
    // Row by row into three separate planes: a per-pixel index into one buffer cost 66 µs for a
    // 192×192 crop (135 µs mirrored).
    let rows = bytes
        .chunks_exact(3 * side)
        .zip(red.chunks_exact_mut(side))
        .zip(green.chunks_exact_mut(side))
        .zip(blue.chunks_exact_mut(side));
    for (((src, r), g), b) in rows {
        let pixels = src.chunks_exact(3);
        let out = r.iter_mut().zip(g.iter_mut()).zip(b.iter_mut());
        if mirror {
            for (px, ((r, g), b)) in pixels.zip(out.rev()) {
                (*r, *g, *b) = (value(px[2]), value(px[1]), value(px[0]));
            }
        } else {
            for (px, ((r, g), b)) in pixels.zip(out) {
                (*r, *g, *b) = (value(px[2]), value(px[1]), value(px[0]));
            }
        }
    }
    Ok(tensor)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2×2 BGR image whose every byte is distinct: (row, column, channel) → 100·row + 10·column
    /// + channel.
    fn two_by_two() -> Mat {
        let bytes: Vec<u8> = (0..2)
            .flat_map(|y| (0..2).flat_map(move |x| (0..3).map(move |c| 100 * y + 10 * x + c)))
            .collect();
        Mat::new_rows_cols_with_data(2, 6, &bytes)
            .unwrap()
            .reshape(3, 2)
            .unwrap()
            .try_clone()
            .unwrap()
    }

    #[test]
    fn a_region_reaching_past_the_frame_is_black_there() {
        let frame =
            Mat::new_rows_cols_with_default(40, 60, opencv::core::CV_8UC3, Scalar::all(200.0))
                .unwrap();
        // Centred on the frame's top-left corner and 120 px across: only part of its
        // lower-right quarter lies on the frame.
        let roi = Roi {
            cx: 0.0,
            cy: 0.0,
            size: 120.0,
            angle: 0.0,
        };
        let t = crop_tensor(&frame, &roi, 8, false).unwrap();
        let plain = t.try_as_plain_ram().unwrap();
        let red = &plain.as_slice::<f32>().unwrap()[..64];
        assert_eq!(red[0], 0.0, "the far corner is off the frame");
        // Pixel (6, 6) samples the frame at (30, 30).
        assert!(
            (red[6 * 8 + 6] - 200.0 / 255.0).abs() < 1e-6,
            "the inner part is on it"
        );

        let away = Roi {
            cx: -1e6,
            cy: f32::NAN,
            ..roi
        };
        let t = crop_tensor(&frame, &away, 8, false).unwrap();
        let plain = t.try_as_plain_ram().unwrap();
        assert!(plain.as_slice::<f32>().unwrap().iter().all(|&v| v == 0.0));
    }

    #[test]
    fn tensor_planes_are_red_green_blue_in_reading_order() {
        let t = planar_rgb_tensor(&two_by_two(), 2, false, f32::from).unwrap();
        let plain = t.try_as_plain_ram().unwrap();
        let v = plain.as_slice::<f32>().unwrap();
        // Red is the third byte of a BGR pixel.
        assert_eq!(&v[0..4], &[2.0, 12.0, 102.0, 112.0]);
        assert_eq!(&v[4..8], &[1.0, 11.0, 101.0, 111.0]);
        assert_eq!(&v[8..12], &[0.0, 10.0, 100.0, 110.0]);
    }

    #[test]
    fn a_mirrored_tensor_swaps_columns_within_each_row() {
        let t = planar_rgb_tensor(&two_by_two(), 2, true, |v| f32::from(v) / 2.0).unwrap();
        let plain = t.try_as_plain_ram().unwrap();
        let v = plain.as_slice::<f32>().unwrap();
        assert_eq!(&v[0..4], &[6.0, 1.0, 56.0, 51.0]);
        assert_eq!(&v[8..12], &[5.0, 0.0, 55.0, 50.0]);
    }
}
