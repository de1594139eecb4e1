//! tract against onnxruntime on every model the engine runs: milliseconds per run on one core,
//! and how far apart their outputs are on the same input (so a faster backend is not a
//! different model). `ONNXRUNTIME_FASTER` in `engine/src/backend.rs` is chosen from this table.
//!
//!     python3 engine/assets/fetch.py models    # the models and the onnxruntime library
//!     cargo build --release -p livegate-engine --example backends
//!     taskset -c 0 /var/tmp/livegate-target/release/examples/backends
//!
//! Inputs are a fixed pseudo-random pattern in each model's input range: speed does not depend
//! on the picture, and the output comparison needs only the same input on both sides.

use std::time::Instant;

use livegate_engine::backend::{BackendChoice, Network};
use livegate_engine::models::{ModelLoader, default_model_dir};
use tract_onnx::prelude::*;

/// Model, input shape, input range.
const MODELS: [(&str, [usize; 4], (f32, f32)); 5] = [
    ("yunet", [1, 3, 640, 640], (0.0, 255.0)),
    ("facemesh", [1, 3, 192, 192], (0.0, 1.0)),
    ("iris", [1, 3, 64, 64], (0.0, 1.0)),
    ("sface", [1, 3, 112, 112], (0.0, 255.0)),
    ("antispoof", [1, 3, 128, 128], (-1.0, 1.0)),
];

fn input(shape: [usize; 4], (lo, hi): (f32, f32)) -> Tensor {
    let n: usize = shape.iter().product();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let values: Vec<f32> = (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            lo + (hi - lo) * (state >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect();
    tract_ndarray::Array4::from_shape_vec(shape, values)
        .unwrap()
        .into_tensor()
}

/// Median milliseconds per run over `runs`, after two warm-up runs.
fn time(net: &Network, tensor: &Tensor, runs: usize) -> f64 {
    for _ in 0..2 {
        net.run(tensor.clone()).unwrap();
    }
    let mut ms: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            net.run(tensor.clone()).unwrap();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms[ms.len() / 2]
}

fn main() {
    let dir = default_model_dir();
    let tract = ModelLoader::new(&dir, BackendChoice::Tract).unwrap();
    let ort = ModelLoader::new(&dir, BackendChoice::OnnxRuntime)
        .expect("the onnxruntime library: python3 engine/assets/fetch.py models");
    println!(
        "| model | input | tract ms p50 | onnxruntime ms p50 | tract / onnxruntime | largest output difference |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, shape, range) in MODELS {
        let tensor = input(shape, range);
        let (a, b) = (
            tract.network(name, &shape).unwrap(),
            ort.network(name, &shape).unwrap(),
        );
        let runs = if name == "antispoof" { 7 } else { 31 };
        let (ta, tb) = (time(&a, &tensor, runs), time(&b, &tensor, runs));
        let (oa, ob) = (
            a.run(tensor.clone()).unwrap(),
            b.run(tensor.clone()).unwrap(),
        );
        let mut diff = 0f32;
        let mut i = 0;
        while let (Ok(x), Ok(y)) = (oa.get(i), ob.get(i)) {
            assert_eq!(x.len(), y.len(), "{name} output {i}");
            diff = x
                .iter()
                .zip(y)
                .map(|(p, q)| (p - q).abs())
                .fold(diff, f32::max);
            i += 1;
        }
        println!(
            "| {name} | {}×{} | {ta:.2} | {tb:.2} | {:.1}× | {diff:.2e} ({i} outputs) |",
            shape[3],
            shape[2],
            ta / tb
        );
    }
}
