//! Per-stage latency of the engine at 640×480 on one core, printed as a table.
//!
//!     taskset -c 0 cargo bench -p livegate-engine --bench pipeline
//!
//! Frames are the first seconds of franck.mp4 (real webcam video) scaled to 640×480 and
//! JPEG-encoded, as a client would send them. Two configurations: the production one (the face is
//! followed by the landmark model, the detector runs when it is lost and every 30 frames) and one
//! that detects on every frame (the shape of a naive pipeline). Eye openness (MediaPipe Iris, one
//! run per eye) is measured only during blink steps, so that case is timed separately: one eye a
//! frame in turn, as blink steps run, and both eyes on every frame, as they ran before. The four
//! cases take turns, [`ROUNDS`] times over the frames, and the blink step's ratio to a turn step
//! is printed for each round. All of it runs with the models on tract and then on onnxruntime
//! (when its library has been fetched).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use livegate_engine::backend::BackendChoice;
use livegate_engine::eyes::Eye;
use livegate_engine::models::{ModelLoader, Models, default_model_dir};
use livegate_engine::{AnalyzerConfig, FrameAnalyzer, FrameInput, StageTimings, frame};
use opencv::core::{Mat, Size};
use opencv::prelude::*;
use opencv::{imgproc, videoio};

const FRAMES: usize = 300;
/// Times every case runs over the frames, in turn with the others.
const ROUNDS: usize = 3;

fn media(name: &str) -> PathBuf {
    livegate_engine::models::cache_dir()
        .join("media")
        .join(name)
}

fn frames() -> Vec<Vec<u8>> {
    let path = media("franck.mp4");
    let mut cap =
        videoio::VideoCapture::from_file(path.to_str().unwrap(), videoio::CAP_ANY).unwrap();
    assert!(
        cap.is_opened().unwrap(),
        "{} missing: python3 engine/assets/fetch.py media",
        path.display()
    );
    let mut out = Vec::new();
    let mut m = Mat::default();
    while out.len() < FRAMES && cap.read(&mut m).unwrap() {
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
        out.push(frame::encode_jpeg(&big, 85).unwrap());
    }
    out
}

/// Reads one stage's time out of a frame's timings.
type Stage = fn(&StageTimings) -> u64;

struct Stats(Vec<f64>);

impl Stats {
    fn mean(&self) -> f64 {
        self.0.iter().sum::<f64>() / self.0.len().max(1) as f64
    }
    fn pct(&self, p: f64) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v.get(((v.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    }
}

/// Which eyes each frame measures.
#[derive(Clone, Copy)]
enum Eyes {
    None,
    /// One a frame, in turn: blink steps.
    InTurn,
    Both,
}

fn run(
    models: &Arc<Models>,
    jpegs: &[Vec<u8>],
    redetect_every: u32,
    eyes: Eyes,
) -> (Vec<StageTimings>, f64, usize) {
    let config = AnalyzerConfig {
        redetect_every,
        ..AnalyzerConfig::default()
    };
    let mut analyzer = FrameAnalyzer::new(models.clone(), config);
    let mut timings = Vec::new();
    let mut faces = 0;
    let start = Instant::now();
    for (i, jpeg) in jpegs.iter().enumerate() {
        let measured: &[Eye] = match eyes {
            Eyes::None => &[],
            Eyes::Both => &Eye::BOTH,
            Eyes::InTurn if i % 2 == 0 => &[Eye::ImageLeft],
            Eyes::InTurn => &[Eye::ImageRight],
        };
        let t = Instant::now();
        let input = FrameInput::jpeg(jpeg);
        let img = frame::decode(&input).unwrap();
        let decode_us = t.elapsed().as_micros() as u64;
        let mut a = analyzer.analyze(&img, measured).unwrap();
        a.timings.decode_us = decode_us;
        faces += a.face.is_some() as usize;
        timings.push(a.timings);
    }
    (timings, start.elapsed().as_secs_f64(), faces)
}

/// The median time of a whole frame, µs.
fn total_p50(timings: &[StageTimings]) -> f64 {
    Stats(timings.iter().map(|t| t.total_us() as f64).collect()).pct(0.5)
}

fn report(name: &str, timings: &[StageTimings], wall: f64, faces: usize) {
    let stage =
        |f: fn(&StageTimings) -> u64| Stats(timings.iter().map(|t| f(t) as f64 / 1000.0).collect());
    println!(
        "\n{name}: {} frames at 640x480, face found in {faces}",
        timings.len()
    );
    println!(
        "{:<12} {:>9} {:>9} {:>9}",
        "stage", "mean ms", "p50 ms", "p95 ms"
    );
    let rows: [(&str, Stage); 7] = [
        ("decode", |t| t.decode_us),
        ("detect", |t| t.detect_us),
        ("landmarks", |t| t.landmarks_us),
        ("pose", |t| t.pose_us),
        ("eyes", |t| t.eyes_us),
        ("quality", |t| t.quality_us),
        ("total", |t| t.total_us()),
    ];
    for (label, f) in rows {
        let s = stage(f);
        println!(
            "{label:<12} {:>9.2} {:>9.2} {:>9.2}",
            s.mean(),
            s.pct(0.5),
            s.pct(0.95)
        );
    }
    println!(
        "throughput   {:.1} frames/s on one core ({:.2} ms/frame wall)",
        timings.len() as f64 / wall,
        wall * 1000.0 / timings.len() as f64
    );
}

fn main() {
    // One core: OpenCV must not fan out to its own thread pool.
    opencv::core::set_num_threads(1).unwrap();
    let jpegs = frames();
    // Both backends in one run, so the machine's noise is the same for both.
    // BACKENDS=onnxruntime (or tract) runs one, to profile it alone.
    let only = std::env::var("BACKENDS").ok();
    for choice in [BackendChoice::Tract, BackendChoice::OnnxRuntime] {
        if only
            .as_deref()
            .is_some_and(|b| !format!("{choice:?}").eq_ignore_ascii_case(b))
        {
            continue;
        }
        let loaded = ModelLoader::new(&default_model_dir(), choice)
            .and_then(|loader| Models::load_with(&loader));
        let models = match loaded {
            Ok(m) => Arc::new(m),
            Err(e) => {
                println!("\n## {choice:?}: not measured ({e})");
                continue;
            }
        };
        println!("\n## models on {choice:?}");
        // Warm-up over every frame: a shorter one left the first case measured ~20 % slower than
        // the same stages in the cases after it.
        run(&models, &jpegs, 30, Eyes::Both);
        // The cases take turns, ROUNDS times over, so that the machine's drift (minutes of a
        // busier or quieter host) falls on all of them alike: run one after the other, the
        // blink step's ratio to a turn step moved by 0.2 between runs.
        let cases: [(&str, u32, Eyes); 4] = [
            (
                "followed, turn steps (production: detect when lost and every 30 frames)",
                30,
                Eyes::None,
            ),
            (
                "followed, blink step (production: one eye a frame, in turn)",
                30,
                Eyes::InTurn,
            ),
            ("followed, blink step measuring both eyes", 30, Eyes::Both),
            ("detect on every frame", 1, Eyes::None),
        ];
        let mut measured: Vec<(Vec<StageTimings>, f64, usize)> =
            cases.iter().map(|_| (Vec::new(), 0.0, 0)).collect();
        let mut ratios = Vec::new();
        for _ in 0..ROUNDS {
            let mut p50 = Vec::new();
            for ((_, redetect_every, eyes), total) in cases.iter().zip(&mut measured) {
                let (t, wall, faces) = run(&models, &jpegs, *redetect_every, *eyes);
                p50.push(total_p50(&t));
                total.0.extend(t);
                total.1 += wall;
                total.2 += faces;
            }
            ratios.push(p50[1] / p50[0]);
        }
        for ((name, ..), (t, wall, faces)) in cases.iter().zip(&measured) {
            report(name, t, *wall, *faces);
        }
        let rounds: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        println!(
            "\nblink step / turn step, p50: {:.2} over all rounds; {} round by round (issue 16: at \
             most 1.5)",
            total_p50(&measured[1].0) / total_p50(&measured[0].0),
            rounds.join(", ")
        );
    }
}
