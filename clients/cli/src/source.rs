//! Where frames come from: a camera, a video file, a folder of images, or one image repeated (a
//! still photo held up to the camera). Every frame is JPEG-encoded, as a phone camera would send
//! it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use opencv::core::{Mat, Vector};
use opencv::prelude::*;
use opencv::{imgcodecs, videoio};

/// One frame ready to send.
pub struct SourceFrame {
    pub timestamp_ms: i64,
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot open {0}")]
    Open(PathBuf),
    #[error("no such file or folder: {0}")]
    Missing(PathBuf),
    #[error("cannot open camera {0} (is there one, and may this user read it?)")]
    Camera(i32),
    #[error("{0} holds no images")]
    Empty(PathBuf),
    #[error("opencv: {0}")]
    OpenCv(#[from] opencv::Error),
}

pub enum FrameSource {
    /// A live camera: frames come at its own pace, stamped with the time they were read.
    Camera {
        capture: videoio::VideoCapture,
        fps: f64,
        started: Instant,
    },
    Video {
        capture: videoio::VideoCapture,
        fps: f64,
        index: u64,
    },
    Images {
        files: Vec<PathBuf>,
        fps: f64,
        index: usize,
    },
    Still {
        image: Mat,
        fps: f64,
        remaining: u32,
        index: u64,
    },
}

const JPEG_QUALITY: i32 = 85;

impl FrameSource {
    /// A video file, or a folder of images (sorted by name) played at `fps`.
    pub fn open(path: &Path, fps: Option<f64>) -> Result<Self, SourceError> {
        // Said plainly here, before OpenCV's backends each log their own attempt at the name.
        if !path.exists() {
            return Err(SourceError::Missing(path.into()));
        }
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|_| SourceError::Open(path.into()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let ext = p
                        .extension()
                        .and_then(|e| e.to_str())
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    matches!(ext.as_str(), "jpg" | "jpeg" | "png" | "bmp")
                })
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(SourceError::Empty(path.into()));
            }
            return Ok(FrameSource::Images {
                files,
                fps: fps.unwrap_or(15.0),
                index: 0,
            });
        }
        let capture =
            videoio::VideoCapture::from_file(path.to_str().unwrap_or_default(), videoio::CAP_ANY)?;
        if !capture.is_opened()? {
            return Err(SourceError::Open(path.into()));
        }
        let native = capture.get(videoio::CAP_PROP_FPS)?;
        let fps = fps.unwrap_or(if native > 0.0 { native } else { 25.0 });
        Ok(FrameSource::Video {
            capture,
            fps,
            index: 0,
        })
    }

    /// Camera `index` (0: the first) through OpenCV's videoio, asked for 640×480.
    pub fn camera(index: i32) -> Result<Self, SourceError> {
        let mut capture = videoio::VideoCapture::new(index, videoio::CAP_ANY)?;
        if !capture.is_opened()? {
            return Err(SourceError::Camera(index));
        }
        // Requests, not guarantees: the camera picks its nearest mode.
        capture.set(videoio::CAP_PROP_FRAME_WIDTH, 640.0)?;
        capture.set(videoio::CAP_PROP_FRAME_HEIGHT, 480.0)?;
        let native = capture.get(videoio::CAP_PROP_FPS)?;
        Ok(FrameSource::Camera {
            capture,
            fps: if native > 0.0 { native } else { 30.0 },
            started: Instant::now(),
        })
    }

    /// Frames come in real time (a camera): they are sent as they arrive.
    pub fn is_live(&self) -> bool {
        matches!(self, FrameSource::Camera { .. })
    }

    /// The instant a camera's timestamps count from; None for files, whose timestamps are their
    /// own timeline.
    pub fn clock(&self) -> Option<Instant> {
        match self {
            FrameSource::Camera { started, .. } => Some(*started),
            _ => None,
        }
    }

    /// One image, sent `count` times at `fps`.
    pub fn still(path: &Path, count: u32, fps: f64) -> Result<Self, SourceError> {
        if !path.exists() {
            return Err(SourceError::Missing(path.into()));
        }
        let image = imgcodecs::imread(path.to_str().unwrap_or_default(), imgcodecs::IMREAD_COLOR)?;
        if image.empty() {
            return Err(SourceError::Open(path.into()));
        }
        Ok(FrameSource::Still {
            image,
            fps,
            remaining: count,
            index: 0,
        })
    }

    pub fn fps(&self) -> f64 {
        match self {
            FrameSource::Camera { fps, .. }
            | FrameSource::Video { fps, .. }
            | FrameSource::Images { fps, .. }
            | FrameSource::Still { fps, .. } => *fps,
        }
    }

    /// The next frame, or `None` at the end.
    pub fn next_frame(&mut self) -> Result<Option<SourceFrame>, SourceError> {
        let fps = self.fps();
        let ts = |i: u64| (i as f64 * 1000.0 / fps).round() as i64;
        let (mat, timestamp_ms) = match self {
            FrameSource::Camera {
                capture, started, ..
            } => {
                let mut m = Mat::default();
                if !capture.read(&mut m)? || m.empty() {
                    return Ok(None);
                }
                (m, started.elapsed().as_millis() as i64)
            }
            FrameSource::Video { capture, index, .. } => {
                let mut m = Mat::default();
                if !capture.read(&mut m)? || m.empty() {
                    return Ok(None);
                }
                *index += 1;
                (m, ts(*index - 1))
            }
            FrameSource::Images { files, index, .. } => {
                let Some(path) = files.get(*index) else {
                    return Ok(None);
                };
                let m =
                    imgcodecs::imread(path.to_str().unwrap_or_default(), imgcodecs::IMREAD_COLOR)?;
                if m.empty() {
                    return Err(SourceError::Open(path.clone()));
                }
                *index += 1;
                (m, ts(*index as u64 - 1))
            }
            FrameSource::Still {
                image,
                remaining,
                index,
                ..
            } => {
                if *remaining == 0 {
                    return Ok(None);
                }
                *remaining -= 1;
                *index += 1;
                (image.clone(), ts(*index - 1))
            }
        };
        let mut buf = Vector::<u8>::new();
        let params = Vector::<i32>::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, JPEG_QUALITY]);
        imgcodecs::imencode(".jpg", &mat, &mut buf, &params)?;
        Ok(Some(SourceFrame {
            timestamp_ms,
            jpeg: buf.to_vec(),
            width: mat.cols() as u32,
            height: mat.rows() as u32,
        }))
    }
}
