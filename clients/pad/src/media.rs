//! The real media the subjects are made of, read once per process and shared.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use opencv::core::Mat;
use opencv::prelude::*;
use opencv::{imgcodecs, videoio};

pub const FRANCK_FPS: f64 = 24.0;

/// A file of the media cache (`python3 engine/assets/fetch.py media`).
pub fn path(name: &str) -> PathBuf {
    livegate_engine::models::cache_dir()
        .join("media")
        .join(name)
}

/// A still image, decoded.
pub fn image(name: &str) -> opencv::Result<Mat> {
    let m = imgcodecs::imread(&*path(name).to_string_lossy(), imgcodecs::IMREAD_COLOR)?;
    if m.empty() {
        return Err(opencv::Error::new(
            opencv::core::StsError,
            format!("{name} is missing: run `python3 engine/assets/fetch.py media`"),
        ));
    }
    Ok(m)
}

pub const FRANCK_STILLS: [&str; 11] = [
    "franck_01829.jpg",
    "franck_02045.jpg",
    "franck_02159.jpg",
    "franck_02221.jpg",
    "franck_02683.jpg",
    "franck_02888.jpg",
    "franck_03909.jpg",
    "franck_03979.jpg",
    "franck_04000.jpg",
    "franck_04035.jpg",
    "franck_04117.jpg",
];

/// Frames `from..=to` of franck.mp4, cached for the whole process.
pub fn franck(from: usize, to: usize) -> opencv::Result<Arc<Vec<Mat>>> {
    type Cache = Mutex<HashMap<(usize, usize), Arc<Vec<Mat>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(frames) = cache.lock().unwrap().get(&(from, to)) {
        return Ok(frames.clone());
    }
    let file = path("franck.mp4");
    let mut cap = videoio::VideoCapture::from_file(&*file.to_string_lossy(), videoio::CAP_ANY)?;
    if !cap.is_opened()? {
        return Err(opencv::Error::new(
            opencv::core::StsError,
            format!(
                "{} is missing: run `python3 engine/assets/fetch.py media`",
                file.display()
            ),
        ));
    }
    // Seek a little early and read forward: H.264 seeks land on key frames.
    let mut index = from.saturating_sub(48);
    cap.set(videoio::CAP_PROP_POS_FRAMES, index as f64)?;
    index = cap.get(videoio::CAP_PROP_POS_FRAMES)? as usize;
    let mut frames = Vec::with_capacity(to + 1 - from);
    let mut m = Mat::default();
    while index <= to && cap.read(&mut m)? {
        if index >= from {
            frames.push(m.try_clone()?);
        }
        index += 1;
    }
    let frames = Arc::new(frames);
    cache.lock().unwrap().insert((from, to), frames.clone());
    Ok(frames)
}
