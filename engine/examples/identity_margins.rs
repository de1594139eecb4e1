//! How far apart SFace puts one person across a session and two different people: embeds a
//! frontal franck still, every third frame of franck.mp4 that is frontal or turned past 18°, and
//! obama.jpg, and prints the cosines. It is where `SESSION_CONTINUITY_COSINE` comes from.
//!
//!     cargo run --release -p livegate-engine --example identity_margins

use livegate_engine::embedding::cosine;
use livegate_engine::models::{Models, default_model_dir};
use livegate_engine::{AnalyzerConfig, FrameAnalyzer};
use opencv::core::Mat;
use opencv::prelude::*;
use opencv::{imgcodecs, videoio};
use std::sync::Arc;
fn main() {
    let media = livegate_engine::models::cache_dir().join("media");
    let models = Arc::new(Models::load(&default_model_dir()).unwrap());
    let still = imgcodecs::imread(
        media.join("franck_02159.jpg").to_str().unwrap(),
        imgcodecs::IMREAD_COLOR,
    )
    .unwrap();
    let mut an = FrameAnalyzer::new(models.clone(), AnalyzerConfig::default());
    let f = an.analyze(&still, &[]).unwrap().face.unwrap();
    let anchor = models
        .embedder
        .embed(&still, &f.landmarks.five_points())
        .unwrap();
    let obama = imgcodecs::imread(
        media.join("obama.jpg").to_str().unwrap(),
        imgcodecs::IMREAD_COLOR,
    )
    .unwrap();
    let fo = FrameAnalyzer::new(models.clone(), AnalyzerConfig::default())
        .analyze(&obama, &[])
        .unwrap()
        .face
        .unwrap();
    println!(
        "impostor (obama) cos {:.3}",
        cosine(
            &anchor,
            &models
                .embedder
                .embed(&obama, &fo.landmarks.five_points())
                .unwrap()
        )
    );
    let mut cap = videoio::VideoCapture::from_file(
        media.join("franck.mp4").to_str().unwrap(),
        videoio::CAP_ANY,
    )
    .unwrap();
    let mut an = FrameAnalyzer::new(models.clone(), AnalyzerConfig::default());
    let mut m = Mat::default();
    let mut rows = Vec::new();
    let mut i = 0;
    while cap.read(&mut m).unwrap() {
        if i % 3 == 0
            && let Some(face) = an.analyze(&m, &[]).unwrap().face
        {
            let yaw = face.pose.yaw;
            if yaw.abs() > 18.0 || i % 300 == 0 {
                let e = models
                    .embedder
                    .embed(&m, &face.landmarks.five_points())
                    .unwrap();
                rows.push((yaw, cosine(&anchor, &e)));
            }
        }
        i += 1;
    }
    rows.sort_by(|a, b| a.0.abs().total_cmp(&b.0.abs()));
    let frontal: Vec<f32> = rows
        .iter()
        .filter(|r| r.0.abs() < 10.0)
        .map(|r| r.1)
        .collect();
    let turned: Vec<f32> = rows
        .iter()
        .filter(|r| r.0.abs() > 20.0)
        .map(|r| r.1)
        .collect();
    let min = |v: &[f32]| v.iter().cloned().fold(f32::MAX, f32::min);
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len().max(1) as f32;
    println!(
        "frontal frames: n {} min {:.3} mean {:.3}",
        frontal.len(),
        min(&frontal),
        mean(&frontal)
    );
    println!(
        "|yaw|>20 frames: n {} min {:.3} mean {:.3}",
        turned.len(),
        min(&turned),
        mean(&turned)
    );
    for r in rows.iter().rev().take(8) {
        println!("yaw {:+.1} cos {:.3}", r.0, r.1);
    }
}
