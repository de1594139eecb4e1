//! Prints what the engine measures on each frame of a range of a video: yaw, pitch, face width.
//! Used to check, after choosing clips by eye (`contact_sheet`), what the engine makes of them.
//!
//!     cargo run --release -p livegate-engine --example clip_trace -- VIDEO FROM TO

use std::sync::Arc;

use livegate_engine::models::{Models, default_model_dir};
use livegate_engine::{AnalyzerConfig, FrameAnalyzer};
use opencv::core::Mat;
use opencv::prelude::*;
use opencv::videoio;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (video, from, to): (&str, usize, usize) =
        (&args[1], args[2].parse().unwrap(), args[3].parse().unwrap());
    let models = Arc::new(Models::load(&default_model_dir()).unwrap());
    let mut analyzer = FrameAnalyzer::new(models, AnalyzerConfig::default());
    let mut cap = videoio::VideoCapture::from_file(video, videoio::CAP_ANY).unwrap();
    cap.set(videoio::CAP_PROP_POS_FRAMES, from as f64).unwrap();
    let mut frame = Mat::default();
    println!("frame   yaw  pitch  roll  width  eyes");
    for index in from..=to {
        if !cap.read(&mut frame).unwrap() {
            break;
        }
        let a = analyzer.analyze(&frame, &[]).unwrap();
        match a.face {
            Some(f) => println!(
                "{index:5} {:5.1} {:6.1} {:5.1} {:6.1} {:5.1}",
                f.pose.yaw,
                f.pose.pitch,
                f.pose.roll,
                f.bbox.width,
                f.landmarks.eye_span()
            ),
            None => println!("{index:5} no face"),
        }
    }
}
