//! Every model the engine runs, loaded once and shared read-only by all sessions. The files and
//! their loading are [`crate::loader`]'s; its public items are also reachable from here, where
//! callers have always found them.

use std::path::Path;

use crate::backend::{Backend, BackendChoice};
use crate::detector::FaceDetector;
use crate::embedding::FaceEmbedder;
use crate::error::EngineError;
use crate::evidence::AntiSpoofModel;
use crate::eyes::EyeLandmarker;
use crate::landmarks::FaceLandmarker;
pub use crate::loader::{
    FETCH_COMMAND, ModelEntry, ModelLoader, ONNXRUNTIME, cache_dir, default_model_dir, manifest,
    onnxruntime_variant, verified_path,
};

/// Every model the engine runs, loaded and optimised once, shared read-only by all sessions.
pub struct Models {
    pub detector: FaceDetector,
    pub landmarker: FaceLandmarker,
    pub eyes: EyeLandmarker,
    pub embedder: FaceEmbedder,
    pub antispoof: AntiSpoofModel,
}

impl Models {
    /// The models in `dir`, each on the faster backend present ([`BackendChoice::Auto`]).
    pub fn load(dir: &Path) -> Result<Self, EngineError> {
        Models::load_with(&ModelLoader::new(dir, BackendChoice::Auto)?)
    }

    pub fn load_with(loader: &ModelLoader) -> Result<Self, EngineError> {
        Ok(Models {
            detector: FaceDetector::load(loader)?,
            landmarker: FaceLandmarker::load(loader)?,
            eyes: EyeLandmarker::load(loader)?,
            embedder: FaceEmbedder::load(loader)?,
            antispoof: AntiSpoofModel::load(loader)?,
        })
    }

    /// Which backend runs each model, for the start-up log; a model onnxruntime runs in another
    /// form (Iris in int8) is named with it.
    pub fn backends(&self) -> Vec<(String, Backend)> {
        let named = |name: &str, backend: Backend| {
            let variant = onnxruntime_variant(name).filter(|_| backend == Backend::OnnxRuntime);
            (variant.unwrap_or_else(|| name.to_string()), backend)
        };
        vec![
            named("yunet (photos)", self.detector.backend()),
            named("yunet (camera frames)", Backend::Tract),
            named("facemesh", self.landmarker.backend()),
            named("iris", self.eyes.backend()),
            named("sface", self.embedder.backend()),
            named("antispoof", self.antispoof.backend()),
        ]
    }
}
