//! Test support: the real media fetched by `engine/assets/fetch.py media`, and the models.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use livegate_engine::models::{Models, default_model_dir};
use opencv::core::Mat;
use opencv::prelude::*;
use opencv::{imgcodecs, videoio};

/// A file fetched by `python3 engine/assets/fetch.py media`.
pub fn media(name: &str) -> PathBuf {
    let dir = livegate_engine::models::cache_dir().join("media");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `python3 engine/assets/fetch.py media`",
        path.display()
    );
    path
}

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

pub fn image(name: &str) -> Mat {
    let m = imgcodecs::imread(media(name).to_str().unwrap(), imgcodecs::IMREAD_COLOR).unwrap();
    assert!(!m.empty(), "{name} decodes");
    m
}

pub fn jpeg(img: &Mat) -> Vec<u8> {
    livegate_engine::frame::encode_jpeg(img, 92).unwrap()
}

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
