//! Undoing a camera's defocus on a document page, for its barcode: Wiener deconvolution of a
//! Gaussian blur. PDF417's narrowest bars are two or three pixels wide on a phone photo of a
//! card, and a defocus of 1–2 px (σ) merges them; unsharp masking does not separate them again,
//! dividing the blur out in the frequency domain does. The blur's width is not known, so the
//! likeliest widths are tried in turn, each checked by the barcode's own error correction.

use opencv::core::{self, Mat, Scalar, Size};
use opencv::prelude::*;

use livegate_engine::error::EngineError;

/// Blur widths (Gaussian σ, px, at the page's working size) tried in turn: from a slightly soft
/// focus to a plainly blurred one.
pub const LIKELY_BLUR_PX: [f64; 6] = [1.0, 1.2, 1.4, 1.6, 1.8, 2.0];

/// Noise-to-signal ratios of the Wiener filter tried in turn, each with every blur width: larger
/// keeps noise down and sharpens less. The gentler one decodes most blurred barcodes; some
/// whose narrowest bars it leaves merged decode only sharper (2 of the first 50 blurred specimen
/// licences). A wrong decode is not the risk of sharpening harder: PDF417's error correction
/// refuses a misread symbol; the cost is time, on back pages that have failed every try before.
pub const NOISE_TO_SIGNAL: [f64; 2] = [0.005, 0.001];

/// `grey` (8-bit) with a Gaussian blur of `sigma` px divided out, by a Wiener filter of
/// noise-to-signal ratio `noise_to_signal`.
pub fn deconvolved(grey: &Mat, sigma: f64, noise_to_signal: f64) -> Result<Mat, EngineError> {
    let (h, w) = (grey.rows(), grey.cols());
    let mut image = Mat::default();
    grey.convert_to(&mut image, core::CV_32F, 1.0 / 255.0, 0.0)?;
    // The blur kernel, centred on the origin and wrapped around, the image's size.
    let mut kernel = Mat::zeros(h, w, core::CV_32F)?.to_mat()?;
    let reach = (3.0 * sigma).ceil() as i32;
    let mut total = 0.0;
    for dy in -reach..=reach {
        for dx in -reach..=reach {
            let v = (-((dx * dx + dy * dy) as f64) / (2.0 * sigma * sigma)).exp();
            *kernel.at_2d_mut::<f32>(dy.rem_euclid(h), dx.rem_euclid(w))? += v as f32;
            total += v;
        }
    }
    let mut kernel_n = Mat::default();
    kernel.convert_to(&mut kernel_n, core::CV_32F, 1.0 / total, 0.0)?;
    let (mut spectrum, mut blur) = (Mat::default(), Mat::default());
    core::dft(&image, &mut spectrum, core::DFT_COMPLEX_OUTPUT, 0)?;
    core::dft(&kernel_n, &mut blur, core::DFT_COMPLEX_OUTPUT, 0)?;
    // Wiener: F · conj(H) / (|H|² + k). A Gaussian's spectrum is real, so |H|² is the real
    // part of H · conj(H).
    let (mut numerator, mut power) = (Mat::default(), Mat::default());
    core::mul_spectrums(&spectrum, &blur, &mut numerator, 0, true)?;
    core::mul_spectrums(&blur, &blur, &mut power, 0, true)?;
    let mut parts = core::Vector::<Mat>::new();
    core::split(&power, &mut parts)?;
    let mut denominator = Mat::default();
    core::add(
        &parts.get(0)?,
        &Scalar::all(noise_to_signal),
        &mut denominator,
        &core::no_array(),
        -1,
    )?;
    let both = core::Vector::<Mat>::from_iter([denominator.clone(), denominator]);
    let mut denominator2 = Mat::default();
    core::merge(&both, &mut denominator2)?;
    let mut restored = Mat::default();
    core::divide2(&numerator, &denominator2, &mut restored, 1.0, -1)?;
    let mut back = Mat::default();
    core::dft(
        &restored,
        &mut back,
        core::DFT_INVERSE | core::DFT_REAL_OUTPUT | core::DFT_SCALE,
        0,
    )?;
    let mut out = Mat::default();
    back.convert_to(&mut out, core::CV_8U, 255.0, 0.0)?;
    debug_assert_eq!(out.size()?, Size::new(w, h));
    Ok(out)
}
