//! What an open mouth costs a genuine comparison, on real pictures of one man, and how wide real
//! mouths open: franck's frames (talking in `franck.mp4`, laughing in `franck_laughing.mp4`)
//! against his 11 stills, by the mouth's opening (FaceMesh's inner lips over its corners, the
//! measure of `EXTREME_EXPRESSION`); then the opening of every still photo we have.
//!
//!     cargo run --release -p livegate-identity --example expression_cost
//!
//! Frames named unfit for another reason (eyes closed mid-laugh) are left out of the cosine
//! table and counted apart.

use livegate_engine::embedding::cosine;
use livegate_engine::models::{Models, cache_dir, default_model_dir};
use livegate_identity::matching::{self, MAX_MOUTH_OPENING};
use livegate_specimens::people::media_files;
use opencv::core::Mat;
use opencv::prelude::*;
use opencv::{imgcodecs, videoio};

/// Openings are binned by this much.
const BIN: f32 = 0.1;

fn main() {
    let media = cache_dir().join("media");
    let models = Models::load(&default_model_dir()).expect("models: run fetch.py models");
    let files: Vec<String> = media_files()
        .into_iter()
        .filter(|f| f.ends_with(".jpg"))
        .collect();
    let mut stills = Vec::new();
    let mut widest = (0.0f32, String::new());
    for f in &files {
        let path = media.join(f);
        let img = imgcodecs::imread(path.to_str().unwrap(), imgcodecs::IMREAD_COLOR).unwrap();
        let Ok(face) = matching::largest_face(&models, &img) else {
            continue;
        };
        if face.quality.mouth_opening > widest.0 {
            widest = (face.quality.mouth_opening, f.clone());
        }
        if f.starts_with("franck_") {
            stills.push(face.embedding);
        }
    }
    println!(
        "{} still photos: widest mouth {:.3} ({}); limit {MAX_MOUTH_OPENING}",
        files.len(),
        widest.0,
        widest.1
    );
    for (clip, step) in [("franck.mp4", 12), ("franck_laughing.mp4", 2)] {
        let path = media.join(clip);
        let mut cap = videoio::VideoCapture::from_file(path.to_str().unwrap(), videoio::CAP_ANY)
            .expect("run fetch.py media");
        let mut frame = Mat::default();
        let mut bins: Vec<Vec<f32>> = Vec::new();
        let (mut n, mut unfit, mut widest) = (0, 0, 0.0f32);
        while cap.read(&mut frame).unwrap() {
            n += 1;
            if n % step != 0 {
                continue;
            }
            let Ok(face) = matching::largest_face(&models, &frame) else {
                continue;
            };
            widest = widest.max(face.quality.mouth_opening);
            if !face.quality.is_fit() {
                unfit += 1;
                continue;
            }
            let mean = stills
                .iter()
                .map(|s| cosine(s, &face.embedding))
                .sum::<f32>()
                / stills.len() as f32;
            let bin = (face.quality.mouth_opening / BIN) as usize;
            if bins.len() <= bin {
                bins.resize(bin + 1, Vec::new());
            }
            bins[bin].push(mean);
        }
        println!(
            "\n{clip}, a frame in {step}: widest mouth {widest:.3}; {unfit} frames unfit for another reason"
        );
        println!("| mouth opening | frames | mean cosine to franck's stills | lowest |");
        println!("|---|---|---|---|");
        for (i, b) in bins.iter().enumerate().filter(|(_, b)| !b.is_empty()) {
            let mean = b.iter().sum::<f32>() / b.len() as f32;
            let low = b.iter().copied().fold(f32::MAX, f32::min);
            let lo = i as f32 * BIN;
            println!(
                "| {lo:.1}–{:.1} | {} | {mean:.3} | {low:.3} |",
                lo + BIN,
                b.len()
            );
        }
    }
}
