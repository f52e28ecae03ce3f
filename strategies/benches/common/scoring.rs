//! Inputs shared by the scoring bench (`benches/models.rs`) and the paired scaling
//! measurement (`examples/ensemble_scaling.rs`) through `#[path]` modules, so both score
//! exactly the same models on exactly the same rows: the fixture bundles of
//! `tests/fixtures/models` and the committed reference rows of `xgb3.expected.json`
//! (real feature values of the synthetic universe) tiled to the needed length.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use gauntlet_strategies::ensemble::{CombineMethod, Ensemble, EnsembleMember};
use gauntlet_strategies::models::{
    check_bundle, preflight, read_feature_manifest, CheckedModel, EnginePreference,
    ExpectedFeatures, ModelBundle, OutputKind, PreflightOptions,
};

pub const BATCH_SIZES: [usize; 4] = [1, 256, 4096, 65536];
pub const WORKERS: [usize; 2] = [1, 2];
pub const N_FEATURES: usize = 31;
/// The members of the benchmarked ensemble, equally weighted.
pub const ENSEMBLE_MEMBERS: [&str; 3] = ["xgb3", "lgbm3", "mlp3"];

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/models")
}

fn expected_features() -> ExpectedFeatures {
    ExpectedFeatures::from(
        &read_feature_manifest(&fixtures().join("core31.manifest.json"))
            .expect("tests/fixtures/models/core31.manifest.json"),
    )
}

/// The fixture bundle `name`, checked (engine `auto`), with a scorer per worker.
pub fn load(name: &str, workers: usize) -> CheckedModel {
    load_on(name, workers, EnginePreference::Auto)
}

/// The fixture bundle `name` on `engine`, with a scorer per worker.
pub fn load_on(name: &str, workers: usize, engine: EnginePreference) -> CheckedModel {
    let options = PreflightOptions {
        engine,
        ..PreflightOptions::default()
    };
    let mut model = check_bundle(&fixtures().join(name), &expected_features(), &options)
        .unwrap_or_else(|err| panic!("{name}: {err}"));
    model
        .ensure_workers(workers)
        .expect("ONNX Runtime sessions");
    model
}

/// A bare model file of 31 inputs (`tests/fixtures/models/FILE`, e.g. the 450-tree bench
/// models) on `engine`, with one scorer: its output is what `models score` writes.
pub fn load_file(file: &str, engine: EnginePreference) -> CheckedModel {
    let names: Vec<String> = (0..N_FEATURES).map(|i| format!("f{i}")).collect();
    let bundle = ModelBundle::bare(
        &fixtures().join(file),
        names.clone(),
        "probabilities",
        OutputKind::Probabilities,
    )
    .unwrap_or_else(|err| panic!("{file}: {err}"));
    let expected = ExpectedFeatures {
        set_name: bundle.bundle.features.set_name.clone(),
        manifest_hash: bundle.bundle.features.manifest_hash.clone(),
        names,
    };
    let options = PreflightOptions {
        engine,
        ..PreflightOptions::default()
    };
    preflight(bundle, &expected, &options).unwrap_or_else(|err| panic!("{file}: {err}"))
}

/// `n_rows` rows of independent standard normal values (xorshift64 and Box–Muller:
/// deterministic, dependency-free), the rows of the timings in tests/fixtures/models/bench/README.md.
pub fn normal_rows(n_rows: usize) -> Vec<f32> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n_rows * N_FEATURES)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        })
        .collect()
}

/// The [`ENSEMBLE_MEMBERS`] combined by their mean, with sessions for `workers`.
pub fn ensemble3(workers: usize) -> Ensemble {
    let members = ENSEMBLE_MEMBERS
        .into_iter()
        .map(|name| EnsembleMember {
            name: name.to_string(),
            weight: 1.0,
            model: load(name, workers),
        })
        .collect();
    Ensemble::from_members(CombineMethod::Mean, members, Vec::new()).expect("ensemble")
}

/// `n_rows` rows of real features (the reference inputs of xgb3, tiled).
pub fn feature_matrix(n_rows: usize) -> Vec<f32> {
    let path = fixtures().join("xgb3.expected.json");
    let text = std::fs::read_to_string(&path).expect("xgb3.expected.json");
    let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let rows: Vec<Vec<f32>> =
        serde_json::from_value(value["inputs"].clone()).expect("inputs: [[f32]]");
    rows.iter()
        .cycle()
        .take(n_rows)
        .flat_map(|row| row.iter().copied())
        .collect()
}

/// Rows per symbol for a batch size: enough batches to measure, few enough that one
/// iteration of the slowest model stays well under a second.
pub fn rows_per_symbol(batch_size: usize) -> usize {
    match batch_size {
        1 => 512,
        256 => 4096,
        4096 => 8192,
        _ => batch_size,
    }
}

pub fn pool(workers: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .expect("rayon pool")
}
