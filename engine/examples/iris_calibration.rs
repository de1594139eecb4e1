//! Eye crops from real videos, exactly as the engine feeds them to MediaPipe Iris, saved as one
//! NumPy array (N×3×64×64, f32): the calibration set from which the int8 Iris model's activation
//! ranges are measured (`engine/assets/calibrate_int8.py`, which writes the ranges that
//! `fetch.py models` quantises with; see `engine/assets/models.toml`, "iris-int8").
//!
//! Both eyes of every analysed frame at FPS frames a second (default 10), at most MAX frames a
//! video (default 300), so that each person weighs about the same.
//!
//!     cargo run --release -p livegate-engine --example iris_calibration -- \
//!         --out crops.npy [--fps 10] [--max 300] VIDEO...

use std::io::Write;
use std::sync::Arc;

use livegate_engine::eyes::{Eye, EyeLandmarker};
use livegate_engine::models::{Models, default_model_dir};
use livegate_engine::{AnalyzerConfig, FrameAnalyzer};
use opencv::core::Mat;
use opencv::prelude::*;
use opencv::videoio;

/// Side of an eye crop.
const SIDE: usize = 64;

/// Writes `values` as a NumPy `.npy` file (format 1.0) of little-endian f32 in `shape`.
fn write_npy(path: &str, shape: &[usize], values: &[f32]) -> std::io::Result<()> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}",
        dims.join(", ")
    );
    // Magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64 and
    // ended by a newline.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    file.write_all(b"\x93NUMPY\x01\x00")?;
    file.write_all(&(header.len() as u16).to_le_bytes())?;
    file.write_all(header.as_bytes())?;
    for v in values {
        file.write_all(&v.to_le_bytes())?;
    }
    file.flush()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut fps, mut max, mut out, mut videos) = (10.0f64, 300usize, None::<String>, Vec::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--fps" => fps = args.next().expect("fps").parse().expect("a number"),
            "--max" => max = args.next().expect("frames").parse().expect("a number"),
            "--out" => out = Some(args.next().expect("a file")),
            _ => videos.push(a),
        }
    }
    let out = out.expect("--out FILE.npy");
    let models = Arc::new(Models::load(&default_model_dir()).expect("run fetch.py models"));
    let mut values: Vec<f32> = Vec::new();
    let mut crops = 0;
    for video in &videos {
        let mut analyzer = FrameAnalyzer::new(models.clone(), AnalyzerConfig::default());
        let mut cap = videoio::VideoCapture::from_file(video, videoio::CAP_ANY).unwrap();
        let native = cap.get(videoio::CAP_PROP_FPS).unwrap().max(1.0);
        let step = (native / fps).max(1.0);
        let (mut frame, mut index, mut next, mut used) = (Mat::default(), 0usize, 0.0f64, 0);
        while used < max && cap.read(&mut frame).unwrap() {
            index += 1;
            if ((index - 1) as f64) < next {
                continue;
            }
            next += step;
            let Some(face) = analyzer.analyze(&frame, &[]).unwrap().face else {
                continue;
            };
            used += 1;
            for eye in Eye::BOTH {
                let tensor = EyeLandmarker::input(&frame, &face.landmarks, eye).unwrap();
                let plain = tensor.try_as_plain_ram().unwrap();
                values.extend_from_slice(plain.as_slice::<f32>().unwrap());
                crops += 1;
            }
        }
        println!("{video}: {used} frames with a face");
    }
    write_npy(&out, &[crops, 3, SIDE, SIDE], &values).unwrap();
    println!("{crops} eye crops -> {out}");
}
