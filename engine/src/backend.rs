//! Running a network: tract (pure Rust, always built in) or onnxruntime (loaded at run time from
//! the pinned library `fetch.py models` places beside the models, when it is there: 1.23.2, see
//! `engine/assets/models.toml` for why not a later one).
//!
//! Every model goes through [`Network::run`]: one f32 input tensor in, f32 outputs back, so the
//! model code (detector, landmarks, eyes, embedding, passive model) does not know which backend
//! runs it. [`BackendChoice::Auto`] gives each model the backend measured faster for it
//! ([`ONNXRUNTIME_FASTER`], from `cargo run --release -p livegate-engine --example backends`),
//! falling back to tract when the library is absent; tract also runs what onnxruntime cannot
//! (YuNet at the small input sizes its file was not exported for).
//!
//! onnxruntime is loaded once per process (its loader is process-wide by nature, hence the one
//! static here). A session runs one inference at a time, so each model keeps one session per
//! core, each on one thread: the server already runs frames of different streams in parallel,
//! and a model spreading one frame over several threads would only take them from another.
//! Every session knows our one custom operator ([`lookup`]), which the int8 Iris file uses.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use tract_onnx::prelude::*;

use crate::error::{EngineError, inference_error};

mod lookup;

/// Models that run faster under onnxruntime than under tract on one core (see the module doc).
pub const ONNXRUNTIME_FASTER: &[&str] = &["yunet", "facemesh", "iris", "sface", "antispoof"];

/// A tract plan for a model with one fixed-size f32 input, optimised and ready to run.
pub(crate) type Plan = std::sync::Arc<tract_onnx::prelude::TypedRunnableModel>;

/// Which backend runs a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Tract,
    OnnxRuntime,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Tract => "tract",
            Backend::OnnxRuntime => "onnxruntime",
        }
    }
}

/// How models are given their backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    /// The faster backend present, per model.
    #[default]
    Auto,
    /// tract for every model.
    Tract,
    /// onnxruntime wherever it can run the model; start-up fails without its library.
    OnnxRuntime,
}

/// The process's onnxruntime, loaded from `library` on first use.
pub(crate) fn onnxruntime(
    library: &Path,
) -> Result<&'static ort::environment::Environment, EngineError> {
    static RUNTIME: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            ort::init_from(library)
                .map_err(|e| e.to_string())?
                .with_name("livegate")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|reason| EngineError::ModelLoad {
            name: "onnxruntime".into(),
            reason: reason.clone(),
        })
}

/// One loaded network and the backend that runs it.
pub struct Network {
    inner: Inner,
}

enum Inner {
    Tract(Plan),
    OnnxRuntime {
        sessions: Vec<Mutex<ort::session::Session>>,
        next: AtomicUsize,
    },
}

/// The outputs of one run, each as f32 values in the model's layout.
pub struct Outputs(OutputsInner);

enum OutputsInner {
    Tract(TVec<TValue>),
    OnnxRuntime(Vec<Vec<f32>>),
}

impl Outputs {
    /// Output `i`'s values.
    pub fn get(&self, i: usize) -> Result<&[f32], EngineError> {
        match &self.0 {
            OutputsInner::Tract(values) => values
                .get(i)
                .ok_or_else(|| inference_error(format!("no output {i}")))?
                .try_as_plain_ram()
                .and_then(|plain| plain.as_slice::<f32>())
                .map_err(inference_error),
            OutputsInner::OnnxRuntime(values) => values
                .get(i)
                .map(Vec::as_slice)
                .ok_or_else(|| inference_error(format!("no output {i}"))),
        }
    }
}

/// Sets the calling thread to flush denormal numbers to zero (SSE's FTZ and DAZ bits), as every
/// thread that runs a model must: the passive model's weights make denormals, and with them it
/// runs 10–25× slower (5.4 s instead of 0.2 s a crop, measured on the passive pool's thread).
/// onnxruntime's own setting ([`single_threaded_session`]) reaches only the threads it starts
/// or creates a session on, and a session here runs on whichever thread asks. Setting the bits
/// again each run costs a few nanoseconds.
fn flush_denormals() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: writes the calling thread's own SSE control register, keeping every bit but the
    // two that make denormal results and inputs zero; no memory is touched.
    #[allow(deprecated)]
    unsafe {
        use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
        const FLUSH_TO_ZERO: u32 = 0x8000;
        const DENORMALS_ARE_ZERO: u32 = 0x0040;
        _mm_setcsr(_mm_getcsr() | FLUSH_TO_ZERO | DENORMALS_ARE_ZERO);
    }
}

/// A session for the model at `path` that runs on its caller's thread, with denormal numbers
/// flushed to zero (the passive model's weights make them: with them it ran 25× slower).
fn single_threaded_session(
    env: &ort::environment::Environment,
    path: &Path,
) -> Result<ort::session::Session, String> {
    use ort::session::builder::GraphOptimizationLevel;
    let text = |e: ort::Error<_>| e.to_string();
    ort::session::Session::builder(env)
        .map_err(|e| e.to_string())?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(text)?
        .with_intra_threads(1)
        .map_err(text)?
        .with_inter_threads(1)
        .map_err(text)?
        .with_intra_op_spinning(false)
        .map_err(text)?
        .with_flush_to_zero()
        .map_err(text)?
        .with_operators(lookup::domain().map_err(|e| e.to_string())?)
        .map_err(text)?
        .commit_from_file(path)
        .map_err(|e| e.to_string())
}

impl Network {
    pub(crate) fn tract(plan: Plan) -> Self {
        Network {
            inner: Inner::Tract(plan),
        }
    }

    /// Model `name` at `path` under the onnxruntime at `library`: one single-threaded session
    /// per core.
    pub(crate) fn onnxruntime(
        name: &str,
        path: &Path,
        library: &Path,
    ) -> Result<Self, EngineError> {
        let env = onnxruntime(library)?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let sessions = (0..cores)
            .map(|_| {
                single_threaded_session(env, path)
                    .map(Mutex::new)
                    .map_err(|reason| EngineError::ModelLoad {
                        name: name.into(),
                        reason,
                    })
            })
            .collect::<Result<_, EngineError>>()?;
        Ok(Network {
            inner: Inner::OnnxRuntime {
                sessions,
                next: AtomicUsize::new(0),
            },
        })
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::Tract(_) => Backend::Tract,
            Inner::OnnxRuntime { .. } => Backend::OnnxRuntime,
        }
    }

    /// Runs the network on one f32 tensor.
    pub fn run(&self, input: Tensor) -> Result<Outputs, EngineError> {
        flush_denormals();
        match &self.inner {
            Inner::Tract(plan) => plan
                .run(tvec!(input.into()))
                .map(|values| Outputs(OutputsInner::Tract(values)))
                .map_err(inference_error),
            Inner::OnnxRuntime { sessions, next } => {
                // A free session if there is one, else wait for the next in turn.
                let start = next.fetch_add(1, Ordering::Relaxed);
                let mut session = (0..sessions.len())
                    .find_map(|k| sessions[(start + k) % sessions.len()].try_lock().ok())
                    .map_or_else(|| sessions[start % sessions.len()].lock(), Ok)
                    .map_err(|_| inference_error("an onnxruntime session was poisoned"))?;
                let shape: Vec<i64> = input.shape().iter().map(|&d| d as i64).collect();
                let plain = input.try_as_plain_ram().map_err(inference_error)?;
                let data = plain.as_slice::<f32>().map_err(inference_error)?;
                let value = ort::value::TensorRef::from_array_view((shape, data))
                    .map_err(inference_error)?;
                let outputs = session.run(ort::inputs![value]).map_err(inference_error)?;
                let values = outputs
                    .values()
                    .map(|v| {
                        v.try_extract_tensor::<f32>()
                            .map(|(_, data)| data.to_vec())
                            .map_err(inference_error)
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Outputs(OutputsInner::OnnxRuntime(values)))
            }
        }
    }
}
