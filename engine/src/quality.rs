//! Image quality of the face region: is the picture good enough to judge liveness from?

use opencv::core::{self, Mat, Size};
use opencv::imgproc;
use opencv::prelude::*;

use crate::error::EngineError;
use crate::geometry::Rect;
use crate::resample;

/// Measures of one frame's face; ranges and meanings are those of the public API's `Quality`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Quality {
    /// Mean luma of the face region, 0–255.
    pub brightness: f32,
    /// Standard deviation of luma in the face region, 0–128.
    pub contrast: f32,
    /// Variance of the Laplacian of the face region scaled to 128 px wide. Resizing first makes
    /// it comparable between near and far faces; sharp faces score in the hundreds, blurred < 20.
    pub sharpness: f32,
    /// Face width over frame width, 0–1.
    pub face_size: f32,
    /// Distance of the face centre from the frame centre over the half diagonal, 0–1.
    pub centering: f32,
}

/// Width the face region is scaled to before measuring sharpness.
const SHARPNESS_WIDTH: i32 = 128;

pub fn measure(bgr: &Mat, face: &Rect) -> Result<Quality, EngineError> {
    let (w, h) = (bgr.cols(), bgr.rows());
    let region = face
        .to_pixels(0.0, w, h)
        .ok_or_else(|| EngineError::Analysis("face outside frame".into()))?;
    let roi = Mat::roi(bgr, region)?;
    let mut gray = Mat::default();
    imgproc::cvt_color_def(&roi, &mut gray, imgproc::COLOR_BGR2GRAY)?;
    let (mut mean, mut std) = (Mat::default(), Mat::default());
    core::mean_std_dev(&gray, &mut mean, &mut std, &core::no_array())?;

    let scaled_h = ((region.height as f32 * SHARPNESS_WIDTH as f32 / region.width as f32).round()
        as i32)
        .max(8);
    let small = resample::resize_area(&gray, Size::new(SHARPNESS_WIDTH, scaled_h), 0.0, 0.0)?;
    let (cx, cy) = face.center();
    let half_diag = ((w * w + h * h) as f32).sqrt() / 2.0;
    let off = ((cx - w as f32 / 2.0).powi(2) + (cy - h as f32 / 2.0).powi(2)).sqrt();
    Ok(Quality {
        brightness: *mean.at::<f64>(0)? as f32,
        contrast: *std.at::<f64>(0)? as f32,
        sharpness: laplacian_variance(&small)?,
        face_size: (face.width / w as f32).clamp(0.0, 1.0),
        centering: (off / half_diag).clamp(0.0, 1.0),
    })
}

/// Variance of the Laplacian of a grey image: high where there are sharp edges, low when blurred.
pub fn laplacian_variance(grey: &Mat) -> Result<f32, EngineError> {
    let mut lap = Mat::default();
    imgproc::laplacian(
        grey,
        &mut lap,
        core::CV_32F,
        1,
        1.0,
        0.0,
        core::BORDER_DEFAULT,
    )?;
    let (mut mean, mut std) = (Mat::default(), Mat::default());
    core::mean_std_dev(&lap, &mut mean, &mut std, &core::no_array())?;
    let sd = *std.at::<f64>(0)? as f32;
    Ok(sd * sd)
}
