//! `gauntlet models check` and `gauntlet models inspect` end to end on the committed
//! fixtures: exit codes (0 pass, 1 a bundle failed, 2 error) and messages. Needs ONNX
//! Runtime (`make venv`), like the models tests of the strategies crate.

mod common;

use std::path::Path;

use gauntlet_strategies::features::FeatureSet;

use common::{fixtures, run};

fn fixture(name: &str) -> String {
    fixtures().join(name).display().to_string()
}

#[test]
fn check_passes_every_good_bundle_against_the_builtin_set() {
    let bundles: Vec<String> = ["xgb3", "xgb2", "lgbm3", "mlp3", "lstm3"]
        .iter()
        .map(|name| fixture(&format!("{name}.bundle.json")))
        .collect();
    let mut args = vec!["models", "check", "--set", "core31"];
    args.extend(bundles.iter().map(String::as_str));
    let (code, stdout, stderr) = run(&args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("ok      xgb3 ("), "{stdout}");
    assert!(
        stdout.contains("5 of 5 bundles passed preflight against feature set core31"),
        "{stdout}"
    );
}

#[test]
fn check_accepts_a_manifest_file_too() {
    let manifest = fixture("core31.manifest.json");
    let bundle = fixture("mlp3.bundle.json");
    let (code, stdout, stderr) = run(&["models", "check", "--manifest", &manifest, &bundle]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("1 of 1 bundles passed"), "{stdout}");
}

#[test]
fn check_fails_with_exit_1_and_lists_what_is_wrong() {
    let good = fixture("mlp3.bundle.json");
    let wide = fixture("broken/wide50.bundle.json");
    let reordered = fixture("broken/reordered.bundle.json");
    let (code, stdout, stderr) = run(&[
        "models", "check", "--set", "core31", &good, &wide, &reordered,
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("ok      mlp3 ("), "{stdout}");
    assert!(
        stdout.contains(
            "model input width 50 != feature set core31 width 31: the model was trained on 50 features, the pipeline makes 31"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("session_london: 0 -> 1, session_tokyo: 1 -> 0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 of 3 bundles passed preflight against feature set core31"),
        "{stdout}"
    );
}

#[test]
fn check_against_another_set_fails_on_the_manifest() {
    let bundle = fixture("xgb3.bundle.json");
    let (code, stdout, _) = run(&["models", "check", "--set", "mtf50", &bundle]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("model input width 31 != feature set mtf50 width 50"),
        "{stdout}"
    );
    // The wide model is an mtf50 model: it passes there.
    let wide = fixture("broken/wide50.bundle.json");
    let (code, stdout, stderr) = run(&["models", "check", "--set", "mtf50", &wide]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn check_errors_with_exit_2() {
    let bundle = fixture("mlp3.bundle.json");
    // No pipeline named.
    let (code, _, stderr) = run(&["models", "check", &bundle]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--set core31"), "{stderr}");
    // Unknown feature set.
    let (code, _, stderr) = run(&["models", "check", "--set", "core99", &bundle]);
    assert_eq!(code, 2);
    assert!(stderr.contains("core99"), "{stderr}");
    // Both --set and --manifest.
    let manifest = fixture("core31.manifest.json");
    let (code, _, _) = run(&[
        "models",
        "check",
        "--set",
        "core31",
        "--manifest",
        &manifest,
        &bundle,
    ]);
    assert_eq!(code, 2);
}

#[test]
fn check_refuses_a_backtest_overlapping_training() {
    let bundle = fixture("mlp3.bundle.json");
    let (code, stdout, _) = run(&[
        "models",
        "check",
        "--set",
        "core31",
        "--backtest-from",
        "2024-01-04T00:00:00Z",
        "--backtest-to",
        "2024-01-07T23:55:00Z",
        &bundle,
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("that is leakage"), "{stdout}");
    let (code, stdout, _) = run(&[
        "models",
        "check",
        "--set",
        "core31",
        "--backtest-from",
        "2024-01-05T00:00:00Z",
        "--backtest-to",
        "2024-01-07T23:55:00Z",
        &bundle,
    ]);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn inspect_shows_the_bundle_and_compatibility_with_a_set() {
    let bundle = fixture("lstm3.bundle.json");
    let (code, stdout, stderr) = run(&["models", "inspect", &bundle]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("input       input"), "{stdout}");
    assert!(stdout.contains("layout Sequence window 32"), "{stdout}");
    assert!(
        stdout.contains("training  2024-01-01T00:00:00Z .. 2024-01-04T23:55:00Z"),
        "{stdout}"
    );
    assert!(!stdout.contains("compatible"), "{stdout}");

    let (code, stdout, stderr) = run(&["models", "inspect", "--set", "core31", &bundle]);
    assert_eq!(code, 0, "{stderr}");
    let hash = FeatureSet::core31().manifest().hash;
    assert!(
        stdout.contains(&format!(
            "compatible  yes, with feature set core31 ({hash})"
        )),
        "{stdout}"
    );

    let wide = fixture("broken/wide50.bundle.json");
    let (code, stdout, _) = run(&["models", "inspect", "--set", "core31", &wide]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("compatible  NO, with feature set core31 (4 problems; exit 1):"),
        "{stdout}"
    );
    assert!(stdout.contains("  - model input width 50"), "{stdout}");
}

#[test]
fn check_says_which_engine_scores_each_bundle_and_honours_engine() {
    let native: Vec<String> = ["xgb3_native", "xgb2_native", "lgbm3_native", "xgb3"]
        .iter()
        .map(|name| fixture(&format!("{name}.bundle.json")))
        .collect();
    let mut args = vec!["models", "check", "--set", "core31"];
    args.extend(native.iter().map(String::as_str));
    let (code, stdout, stderr) = run(&args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    for expected in [
        "ok      xgb3_native (",
        "engine native (XGBoost JSON: 300 trees, depth ≤ 2",
        "engine native (LightGBM text: 300 trees, depth ≤ 3",
        "engine native (ONNX TreeEnsembleClassifier: 300 trees",
        "4 of 4 bundles passed",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?}:\n{stdout}");
    }

    // An MLP is not a tree ensemble: ONNX Runtime scores it, and `--engine native`
    // refuses it; an XGBoost file has no graph for ONNX Runtime.
    let mlp = fixture("mlp3.bundle.json");
    let (code, stdout, _) = run(&["models", "check", "--set", "core31", &mlp]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("engine onnxruntime (ONNX Runtime 1.31.1: node MatMul (MatMul1) between the inputs and output \"probabilities\" is not one the native evaluator reproduces)"),
        "{stdout}"
    );
    let (code, stdout, _) = run(&[
        "models", "check", "--set", "core31", "--engine", "native", &mlp,
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("engine native cannot score this model: node MatMul"),
        "{stdout}"
    );
    let (code, stdout, _) = run(&[
        "models",
        "check",
        "--set",
        "core31",
        "--engine",
        "onnxruntime",
        &native[0],
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(
            "engine onnxruntime cannot score this model: a xgboost_json file has no ONNX graph"
        ),
        "{stdout}"
    );
}

#[test]
fn inspect_shows_the_engine_and_why() {
    let (code, stdout, stderr) = run(&["models", "inspect", &fixture("lgbm3.bundle.json")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("format      onnx"), "{stdout}");
    assert!(
        stdout.contains(
            "operators   ai.onnx.ml:TreeEnsembleClassifier, Identity, Identity, Cast, Mul"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("output      probabilities: FLOAT [?, 3]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("engine      native (ONNX TreeEnsembleClassifier: 300 trees, depth ≤ 3"),
        "{stdout}"
    );
    let (code, stdout, stderr) = run(&[
        "models",
        "inspect",
        "--engine",
        "onnxruntime",
        &fixture("lgbm3.bundle.json"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(
            "engine      onnxruntime (ONNX Runtime 1.31.1: the run asks for ONNX Runtime)"
        ),
        "{stdout}"
    );
    // A training library's own file, bare and bundled.
    let (code, stdout, stderr) = run(&["models", "inspect", &fixture("bench/lgb_model.txt")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("format      lightgbm_text"), "{stdout}");
    assert!(
        stdout.contains("trees       LightGBM text: 450 trees, depth ≤ 21"),
        "{stdout}"
    );
    let (code, stdout, stderr) = run(&["models", "inspect", &fixture("xgb3_native.bundle.json")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("format      xgboost_json"), "{stdout}");
    assert!(
        stdout.contains("engine      native (XGBoost JSON"),
        "{stdout}"
    );
}

#[test]
fn bundle_infers_the_output_fits_the_scaler_and_writes_what_check_passes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("xgb3.onnx"), dir.path().join("xgb3.onnx")).unwrap();
    let names: Vec<String> = FeatureSet::core31()
        .manifest()
        .names()
        .into_iter()
        .map(String::from)
        .collect();
    // Feature j takes the values j and j + 2 (population std 1, sample std √2).
    let rows: Vec<Vec<f32>> = (0..2)
        .map(|i| (0..names.len()).map(|j| (j + 2 * i) as f32).collect())
        .collect();
    let table = dir.path().join("train.parquet");
    feature_table(&table, &names, &rows);
    let model = dir.path().join("xgb3.onnx").display().to_string();
    let (code, stdout, stderr) = run(&[
        "models",
        "bundle",
        "--model",
        &model,
        "--manifest",
        &fixture("core31.manifest.json"),
        "--fit-scaler-from",
        &table.display().to_string(),
        "--horizon",
        "6",
        "--flat-threshold",
        "0.001",
        "--train-from",
        "2024-01-01T00:00:00Z",
        "--train-to",
        "2024-01-04T23:55:00Z",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    for expected in [
        "output      probabilities (inferred: the graph's only float tensor output",
        "kind        probabilities (inferred:",
        "scaler      mean and population std (ddof=0) fitted on 2 rows of",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?}:\n{stdout}");
    }
    let bundle = dir.path().join("xgb3.bundle.json");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    assert_eq!(written["scaler"]["mean"][3], 4.0);
    assert_eq!(written["scaler"]["std"][3], 1.0);
    let (code, stdout, _) = run(&[
        "models",
        "check",
        "--set",
        "core31",
        &bundle.display().to_string(),
    ]);
    assert_eq!(code, 0, "{stdout}");
}

/// A Parquet table of `rows` under `names`, with `symbol` and `ts` columns.
fn feature_table(path: &Path, names: &[String], rows: &[Vec<f32>]) {
    use gauntlet_datasets::table::{ColumnValues, Table};
    let mut table = Table::new();
    table
        .push(
            "symbol",
            ColumnValues::Str(vec!["BTC-USD".into(); rows.len()]),
        )
        .unwrap();
    table
        .push("ts", ColumnValues::I64((0..rows.len() as i64).collect()))
        .unwrap();
    for (column, name) in names.iter().enumerate() {
        let values = rows.iter().map(|row| row[column]).collect();
        table
            .push(name.as_str(), ColumnValues::F32(values))
            .unwrap();
    }
    table
        .write(path, gauntlet_datasets::FileFormat::Parquet)
        .unwrap();
}

fn scores(path: &Path, classes: &[&str]) -> Vec<Vec<f32>> {
    use gauntlet_datasets::table::{ColumnValues, Table};
    let table = Table::read_parquet(path).unwrap();
    let columns: Vec<&Vec<f32>> = classes
        .iter()
        .map(|class| match table.column(class) {
            Some(ColumnValues::F32(values)) => values,
            other => panic!("column {class}: {other:?}"),
        })
        .collect();
    (0..table.height())
        .map(|row| columns.iter().map(|c| c[row]).collect())
        .collect()
}

#[test]
fn score_matches_onnxruntime_and_the_training_library() {
    let dir = tempfile::tempdir().unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("xgb3.expected.json")).unwrap(),
    )
    .unwrap();
    let inputs: Vec<Vec<f32>> = serde_json::from_value(expected["inputs"].clone()).unwrap();
    let raw: Vec<Vec<f32>> = serde_json::from_value(expected["raw"].clone()).unwrap();
    let manifest = FeatureSet::core31().manifest();
    let names: Vec<String> = manifest.names().iter().map(|n| n.to_string()).collect();
    let table = dir.path().join("rows.parquet");
    feature_table(&table, &names, &inputs);
    // The bundle: raw features by name, scaled by its scaler, on both engines.
    for engine in ["native", "onnxruntime"] {
        let out = dir.path().join(format!("{engine}.parquet"));
        let (code, stdout, stderr) = run(&[
            "models",
            "score",
            "--model",
            &fixture("xgb3.bundle.json"),
            "--input",
            table.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--engine",
            engine,
        ]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        assert!(
            stdout.contains(&format!("scored 64 of 64 rows with xgb3 ({engine} (")),
            "{stdout}"
        );
        for (row, (got, want)) in scores(&out, &["down", "flat", "up"])
            .iter()
            .zip(&raw)
            .enumerate()
        {
            for (g, w) in got.iter().zip(want) {
                assert!(
                    (g - w).abs() <= 1e-6,
                    "{engine} row {row}: {got:?} vs {want:?}"
                );
            }
        }
    }

    // A bare LightGBM file: the table's float columns are its inputs, unscaled.
    let library: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("native/lgbm3.txt.expected.json")).unwrap(),
    )
    .unwrap();
    let mut inputs: Vec<Vec<f32>> = serde_json::from_value(library["inputs"].clone()).unwrap();
    let outputs: Vec<Vec<f64>> = serde_json::from_value(library["outputs"].clone()).unwrap();
    inputs[5][3] = f32::NAN;
    let bare = dir.path().join("bare.parquet");
    feature_table(&bare, &names, &inputs);
    let out = dir.path().join("lgbm3.csv");
    let (code, stdout, stderr) = run(&[
        "models",
        "score",
        "--model",
        &fixture("lgbm3.txt"),
        "--input",
        bare.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("1 rows have a non-finite feature"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("symbol,ts,c0,c1,c2"));
    for (row, (line, want)) in lines.zip(&outputs).enumerate() {
        let got: Vec<f64> = line
            .split(',')
            .skip(2)
            .map(|v| v.parse().unwrap_or(f64::NAN))
            .collect();
        if row == 5 {
            assert!(got.iter().all(|v| v.is_nan()), "{line}");
            continue;
        }
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-6, "row {row}: {line} vs {want:?}");
        }
    }
}
