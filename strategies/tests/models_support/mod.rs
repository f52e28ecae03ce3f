//! Helpers shared by the models_* integration tests. The tests need ONNX Runtime: run
//! them with `make test` (which runs `make venv` first); without it they fail with the
//! message telling how to install it, they never skip.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};

use gauntlet_strategies::models::{read_feature_manifest, ExpectedFeatures};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/models")
}

pub fn expected() -> ExpectedFeatures {
    ExpectedFeatures::from(
        &read_feature_manifest(&fixtures().join("core31.manifest.json")).unwrap(),
    )
}

/// Copies bundle `name` (json + model file) from `from` into a temp dir, letting `edit`
/// change the JSON; returns the dir (keep it alive) and the new bundle.json path.
pub fn edited_bundle(
    from: &Path,
    name: &str,
    edit: impl FnOnce(&mut serde_json::Value),
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let json_path = from.join(format!("{name}.bundle.json"));
    let mut bundle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json_path).unwrap()).unwrap();
    let model = bundle["model_file"].as_str().unwrap().to_string();
    std::fs::copy(from.join(&model), dir.path().join(&model)).unwrap();
    edit(&mut bundle);
    let out = dir.path().join(format!("{name}.bundle.json"));
    std::fs::write(&out, serde_json::to_string(&bundle).unwrap()).unwrap();
    (dir, out)
}

/// The committed Python-onnxruntime reference for model `name`.
pub struct Expected {
    pub inputs: Vec<f32>,
    pub n_rows: usize,
    pub first_scored_row: usize,
    pub probabilities: Vec<Vec<f32>>,
}

pub fn python_expected(name: &str) -> Expected {
    let path = fixtures().join(format!("{name}.expected.json"));
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let rows: Vec<Vec<f32>> = serde_json::from_value(value["inputs"].clone()).unwrap();
    Expected {
        n_rows: rows.len(),
        inputs: rows.concat(),
        first_scored_row: value["first_scored_row"].as_u64().unwrap() as usize,
        probabilities: serde_json::from_value(value["probabilities"].clone()).unwrap(),
    }
}
