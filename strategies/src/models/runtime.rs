//! ONNX Runtime, loaded at run time from a shared library (never downloaded).
//!
//! The library is found, in this order:
//! 1. the `ORT_DYLIB_PATH` environment variable (a path to `libonnxruntime.so*`);
//! 2. the repository's Python venv: starting from the current directory and from the
//!    directory of the running executable, each ancestor directory `D` is tried for
//!    `D/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1`
//!    (the PyPI wheel ships no plain `libonnxruntime.so`), so `gauntlet` finds it from
//!    any sub-directory of the repo and from `target/debug/`;
//! 3. otherwise an error telling the user to run `make venv` or set `ORT_DYLIB_PATH`.
//!
//! One ONNX Runtime environment exists per process ([`runtime`]); sessions are created
//! per worker thread with one intra-op and one inter-op thread each, so parallelism
//! comes only from running different symbols on different workers.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;

/// The ONNX Runtime version whose shared library the repo's venv provides
/// (`requirements.txt` pins `onnxruntime==1.31.1`).
pub const ONNXRUNTIME_VERSION: &str = "1.31.1";

/// Name of the shared library inside the onnxruntime wheel.
pub const ONNXRUNTIME_LIBRARY: &str = "libonnxruntime.so.1.31.1";

/// ONNX Runtime could not be found or initialised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "ORT_DYLIB_PATH is set to {path} but that file does not exist; point it at \
         libonnxruntime.so.{ONNXRUNTIME_VERSION} (e.g. .venv/lib/python3.11/site-packages/onnxruntime/capi/{ONNXRUNTIME_LIBRARY}) \
         or unset it and run `make venv`"
    )]
    EnvPathMissing { path: PathBuf },
    #[error(
        "ONNX Runtime {ONNXRUNTIME_VERSION} was not found: looked for ORT_DYLIB_PATH (unset) and for \
         .venv/lib/python3*/site-packages/onnxruntime/capi/{ONNXRUNTIME_LIBRARY} above {searched}. \
         Fix: run `make venv` in the gauntlet repository, or set \
         ORT_DYLIB_PATH=/path/to/{ONNXRUNTIME_LIBRARY}"
    )]
    NotFound { searched: String },
    #[error(
        "failed to load ONNX Runtime from {path}: {reason}. Fix: run `make venv` (installs \
         onnxruntime=={ONNXRUNTIME_VERSION}) or set ORT_DYLIB_PATH to a libonnxruntime.so of version >= 1.31"
    )]
    Load { path: PathBuf, reason: String },
    #[error("failed to create the ONNX Runtime environment: {0}")]
    Environment(String),
}

/// The process-wide ONNX Runtime: the loaded library and its single environment.
#[derive(Debug)]
pub struct OrtRuntime {
    environment: Environment,
    library: PathBuf,
}

impl OrtRuntime {
    /// Path of the loaded `libonnxruntime` shared library.
    pub fn library(&self) -> &Path {
        &self.library
    }

    /// Creates a session for one worker thread: one intra-op thread, one inter-op
    /// thread, full graph optimisation, from the model's bytes.
    pub fn session(&self, onnx_bytes: &[u8]) -> Result<Session, ort::Error> {
        let mut builder = Session::builder(&self.environment)?
            .with_intra_threads(1)?
            .with_inter_threads(1)?
            .with_optimization_level(GraphOptimizationLevel::All)?;
        builder.commit_from_memory(onnx_bytes)
    }
}

static RUNTIME: OnceLock<Result<OrtRuntime, RuntimeError>> = OnceLock::new();

/// The process-wide ONNX Runtime, loaded on first use (see the module docs for
/// where the library is looked for). Later calls return the same runtime or the
/// same error.
pub fn runtime() -> Result<&'static OrtRuntime, RuntimeError> {
    RUNTIME
        .get_or_init(init_runtime)
        .as_ref()
        .map_err(Clone::clone)
}

fn init_runtime() -> Result<OrtRuntime, RuntimeError> {
    let library = locate_onnxruntime()?;
    let builder = ort::init_from(&library).map_err(|err| RuntimeError::Load {
        path: library.clone(),
        reason: err.to_string(),
    })?;
    let environment = builder
        .with_name("gauntlet")
        .with_telemetry(false)
        .build()
        .map_err(|err| RuntimeError::Environment(err.to_string()))?;
    Ok(OrtRuntime {
        environment,
        library,
    })
}

/// Finds the ONNX Runtime shared library: `ORT_DYLIB_PATH`, else the repo venv
/// above the current directory or the executable's directory.
pub fn locate_onnxruntime() -> Result<PathBuf, RuntimeError> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|value| !value.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(RuntimeError::EnvPathMissing { path })
        };
    }
    let mut starts = Vec::new();
    if let Ok(dir) = std::env::current_dir() {
        starts.push(dir);
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        starts.push(dir);
    }
    for start in &starts {
        if let Some(found) = start.ancestors().find_map(venv_library) {
            return Ok(found);
        }
    }
    let searched = starts
        .iter()
        .map(|dir| dir.display().to_string())
        .collect::<Vec<_>>()
        .join(" and ");
    Err(RuntimeError::NotFound { searched })
}

/// `dir/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1`,
/// if present (the python3.N directories are tried in sorted order).
fn venv_library(dir: &Path) -> Option<PathBuf> {
    let lib = dir.join(".venv").join("lib");
    let mut pythons: Vec<PathBuf> = std::fs::read_dir(&lib)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("python3"))
        .map(|entry| entry.path())
        .collect();
    pythons.sort();
    pythons
        .into_iter()
        .map(|python| {
            python
                .join("site-packages")
                .join("onnxruntime")
                .join("capi")
                .join(ONNXRUNTIME_LIBRARY)
        })
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venv_library_is_found_under_any_python3_directory() {
        let dir = tempfile::tempdir().unwrap();
        let capi = dir
            .path()
            .join(".venv/lib/python3.12/site-packages/onnxruntime/capi");
        std::fs::create_dir_all(&capi).unwrap();
        assert_eq!(venv_library(dir.path()), None);
        std::fs::write(capi.join(ONNXRUNTIME_LIBRARY), b"").unwrap();
        assert_eq!(
            venv_library(dir.path()),
            Some(capi.join(ONNXRUNTIME_LIBRARY))
        );
    }

    #[test]
    fn not_found_error_says_how_to_fix_it() {
        let message = RuntimeError::NotFound {
            searched: "/x".into(),
        }
        .to_string();
        assert!(message.contains("make venv"), "{message}");
        assert!(message.contains("ORT_DYLIB_PATH="), "{message}");
    }
}
