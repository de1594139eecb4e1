//! YuNet at smaller inputs: time per detection and faces found against the full 640×640 input,
//! on real video frames scaled to 640×480 (franck and the other real people in the media cache).
//!
//!     taskset -c 0 cargo run --release -p livegate-engine --example detector_sizes

use std::time::Instant;

use livegate_engine::detector::YuNet;
use livegate_engine::models::{cache_dir, default_model_dir};
use opencv::core::{Mat, Size};
use opencv::prelude::*;
use opencv::{imgproc, videoio};

const CLIPS: [&str; 6] = [
    "franck.mp4",
    "msu_client005.mp4",
    "msu_client022.mp4",
    "msu_client001.mp4",
    "webcam_office.mov",
    "webcam_still.mov",
];

fn frames(file: &str, every: usize, most: usize) -> Vec<Mat> {
    let path = cache_dir().join("media").join(file);
    let mut cap =
        videoio::VideoCapture::from_file(path.to_str().unwrap(), videoio::CAP_ANY).unwrap();
    let (mut out, mut m, mut i) = (Vec::new(), Mat::default(), 0);
    while out.len() < most && cap.read(&mut m).unwrap() && !m.empty() {
        if i % every == 0 {
            let mut big = Mat::default();
            imgproc::resize(
                &m,
                &mut big,
                Size::new(640, 480),
                0.0,
                0.0,
                imgproc::INTER_LINEAR,
            )
            .unwrap();
            out.push(big);
        }
        i += 1;
    }
    out
}

fn main() {
    opencv::core::set_num_threads(1).unwrap();
    // tract at every size, as the sizes are compared here (onnxruntime: `--example backends`).
    let loader = livegate_engine::models::ModelLoader::new(
        &default_model_dir(),
        livegate_engine::backend::BackendChoice::Tract,
    )
    .unwrap();
    let sizes = [(640, 640), (320, 256), (160, 128)];
    let detectors: Vec<YuNet> = sizes
        .iter()
        .map(|&size| YuNet::load(&loader, size).unwrap())
        .collect();
    println!(
        "| clip | frames | input | ms p50 | frames with a face | face width px (640 input) | centre offset px vs 640 |"
    );
    println!("|---|---|---|---|---|---|---|");
    // Smaller faces: franck's frames shrunk onto a grey 640×480 canvas.
    let shrunk = |k: f64| -> Vec<Mat> {
        frames("franck.mp4", 5, 40)
            .iter()
            .map(|f| {
                let mut small = Mat::default();
                imgproc::resize(f, &mut small, Size::new(0, 0), k, k, imgproc::INTER_AREA).unwrap();
                let mut canvas = Mat::new_rows_cols_with_default(
                    480,
                    640,
                    opencv::core::CV_8UC3,
                    opencv::core::Scalar::all(128.0),
                )
                .unwrap();
                let roi = opencv::core::Rect::new(100, 80, small.cols(), small.rows());
                small
                    .copy_to(&mut Mat::roi_mut(&mut canvas, roi).unwrap())
                    .unwrap();
                canvas
            })
            .collect()
    };
    let sets: Vec<(String, Vec<Mat>)> = CLIPS
        .iter()
        .map(|c| (c.to_string(), frames(c, 5, 40)))
        .chain([0.4, 0.3, 0.25, 0.2].map(|k| (format!("franck at {k}×"), shrunk(k))))
        .collect();
    for (clip, frames) in sets {
        let full: Vec<_> = frames
            .iter()
            .map(|f| detectors[0].detect(f).unwrap())
            .collect();
        for (d, (w, h)) in detectors.iter().zip(sizes) {
            let mut times = Vec::new();
            let (mut found, mut offset) = (0, 0f32);
            for (f, reference) in frames.iter().zip(&full) {
                let t = Instant::now();
                let faces = d.detect(f).unwrap();
                times.push(t.elapsed().as_secs_f64() * 1e3);
                if let (Some(a), Some(b)) = (faces.first(), reference.first()) {
                    found += 1;
                    let (ax, ay) = a.bbox.center();
                    let (bx, by) = b.bbox.center();
                    offset = offset.max(((ax - bx).powi(2) + (ay - by).powi(2)).sqrt());
                }
            }
            times.sort_by(f64::total_cmp);
            let widths: Vec<f32> = full
                .iter()
                .filter_map(|r| r.first().map(|d| d.bbox.width))
                .collect();
            println!(
                "| {clip} | {} | {w}×{h} | {:.1} | {found} of {} | {:.0}–{:.0} | {offset:.1} |",
                frames.len(),
                times[times.len() / 2],
                full.iter().filter(|r| !r.is_empty()).count(),
                widths.iter().cloned().fold(f32::MAX, f32::min),
                widths.iter().cloned().fold(0.0, f32::max),
            );
        }
    }
}
