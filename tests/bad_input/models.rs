//! Model bundles: `models bundle` refuses to write what preflight would reject (exit 2),
//! `models check` / `inspect` fail a wrong bundle (exit 1) and refuse an unreadable one
//! (exit 2), each naming the file, key or feature and what was expected. The fixture
//! models are copied into a temporary directory and mutated there. Needs ONNX Runtime
//! (`make venv`) for the MLP and LSTM fixtures, like tests/cli_models.rs.

use std::path::Path;

use gauntlet_datasets::table::{ColumnValues, Table};
use gauntlet_datasets::FileFormat;
use gauntlet_strategies::features::FeatureSet;
use rstest::rstest;
use serde_json::{json, Value};

use super::common::{assert_fails, copy_fixtures, gauntlet_in, text};

/// Where `models bundle` cases write; it must not exist after a refusal.
const OUT: &str = "out.bundle.json";

/// Rewrites the JSON file `dir/name` with `edit`.
fn edit_json(dir: &Path, name: &str, edit: impl FnOnce(&mut Value)) {
    let path = dir.join(name);
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
}

/// A `scaler.json` of `width` features (mean 0, std 1) with `std[zero]` set to 0.
fn scaler(dir: &Path, width: usize, zero: Option<usize>) {
    let mut std = vec![1.0; width];
    if let Some(i) = zero {
        std[i] = 0.0;
    }
    let scaler = json!({ "mean": vec![0.0; width], "std": std });
    std::fs::write(dir.join("scaler.json"), scaler.to_string()).unwrap();
}

/// A core31 training table `train.parquet` (symbol, ts, features, label) without the
/// feature `drop`, with the feature `constant` always 0.
fn training_table(dir: &Path, drop: Option<&str>, constant: Option<&str>) {
    let rows = 20;
    let mut table = Table::new();
    table
        .push("symbol", ColumnValues::Str(vec!["BTC-USD".into(); rows]))
        .unwrap();
    table
        .push(
            "ts",
            ColumnValues::I64((0..rows as i64).map(|i| i * 300_000).collect()),
        )
        .unwrap();
    for (j, name) in FeatureSet::core31()
        .manifest()
        .names()
        .into_iter()
        .enumerate()
    {
        if Some(name) == drop {
            continue;
        }
        let values = (0..rows)
            .map(|i| {
                if Some(name) == constant {
                    0.0
                } else {
                    (i * (j + 1)) as f32
                }
            })
            .collect();
        table.push(name, ColumnValues::F32(values)).unwrap();
    }
    table
        .push("label", ColumnValues::OptStr(vec![Some("up".into()); rows]))
        .unwrap();
    table
        .write(&dir.join("train.parquet"), FileFormat::Parquet)
        .unwrap();
}

/// `models bundle` of `model` against `manifest` with the training facts, then `extra`.
fn bundle_args(model: &str, manifest: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "models",
        "bundle",
        "--model",
        model,
        "--manifest",
        manifest,
        "--horizon",
        "6",
        "--flat-threshold",
        "0.001",
        "--train-from",
        "2024-01-01T00:00:00Z",
        "--train-to",
        "2024-01-04T23:55:00Z",
        "--out",
        OUT,
    ];
    args.extend_from_slice(extra);
    args.into_iter().map(String::from).collect()
}

fn wider_model_than_manifest(dir: &Path) -> Vec<String> {
    copy_fixtures(dir, &["broken/wide50.onnx", "core31.manifest.json"]);
    scaler(dir, 31, None);
    let extra = ["--scaler", "scaler.json", "--kind", "probabilities"];
    bundle_args("wide50.onnx", "core31.manifest.json", &extra)
}

fn scaler_of_wrong_length(dir: &Path) -> Vec<String> {
    copy_fixtures(dir, &["xgb3.onnx", "core31.manifest.json"]);
    scaler(dir, 30, None);
    bundle_args(
        "xgb3.onnx",
        "core31.manifest.json",
        &["--scaler", "scaler.json"],
    )
}

fn scaler_with_std_zero(dir: &Path) -> Vec<String> {
    copy_fixtures(dir, &["xgb3.onnx", "core31.manifest.json"]);
    scaler(dir, 31, Some(7));
    bundle_args(
        "xgb3.onnx",
        "core31.manifest.json",
        &["--scaler", "scaler.json"],
    )
}

fn output_the_graph_lacks(dir: &Path) -> Vec<String> {
    copy_fixtures(dir, &["lstm3.onnx", "core31.manifest.json"]);
    let extra = [
        "--no-scaling",
        "--layout",
        "sequence",
        "--window",
        "32",
        "--output",
        "probabilities",
    ];
    bundle_args("lstm3.onnx", "core31.manifest.json", &extra)
}

fn logits_declared_for_a_softmax_at_bundle(dir: &Path) -> Vec<String> {
    copy_fixtures(dir, &["mlp3.onnx", "core31.manifest.json"]);
    let extra = ["--no-scaling", "--kind", "logits"];
    bundle_args("mlp3.onnx", "core31.manifest.json", &extra)
}

fn duplicate_classes_at_bundle(dir: &Path) -> Vec<String> {
    copy_fixtures(dir, &["xgb3.onnx", "core31.manifest.json"]);
    let extra = ["--no-scaling", "--classes", "down,down,up"];
    bundle_args("xgb3.onnx", "core31.manifest.json", &extra)
}

fn fit_scaler_on_a_constant_feature(dir: &Path) -> Vec<String> {
    copy_fixtures(dir, &["xgb3.onnx", "core31.manifest.json"]);
    training_table(dir, None, Some("is_weekend"));
    let extra = ["--fit-scaler-from", "train.parquet"];
    bundle_args("xgb3.onnx", "core31.manifest.json", &extra)
}

fn fit_scaler_on_a_table_lacking_a_feature(dir: &Path) -> Vec<String> {
    copy_fixtures(dir, &["xgb3.onnx", "core31.manifest.json"]);
    training_table(dir, Some("rsi"), None);
    let extra = ["--fit-scaler-from", "train.parquet"];
    bundle_args("xgb3.onnx", "core31.manifest.json", &extra)
}

fn fit_scaler_and_a_scaler_file(dir: &Path) -> Vec<String> {
    copy_fixtures(dir, &["xgb3.onnx", "core31.manifest.json"]);
    training_table(dir, None, None);
    scaler(dir, 31, None);
    let extra = [
        "--fit-scaler-from",
        "train.parquet",
        "--scaler",
        "scaler.json",
    ];
    bundle_args("xgb3.onnx", "core31.manifest.json", &extra)
}

/// `models check --set core31` of `bundle` copied with its model and edited.
fn check_edited(dir: &Path, name: &str, edit: impl FnOnce(&mut Value)) -> Vec<String> {
    copy_fixtures(
        dir,
        &[&format!("{name}.bundle.json"), &format!("{name}.onnx")],
    );
    edit_json(dir, &format!("{name}.bundle.json"), edit);
    [
        "models",
        "check",
        "--set",
        "core31",
        &format!("{name}.bundle.json"),
    ]
    .map(String::from)
    .to_vec()
}

fn probabilities_declared_logits(dir: &Path) -> Vec<String> {
    check_edited(dir, "mlp3", |b| b["output"]["kind"] = json!("logits"))
}

fn logits_declared_probabilities(dir: &Path) -> Vec<String> {
    check_edited(dir, "lstm3", |b| {
        b["output"]["kind"] = json!("probabilities")
    })
}

fn duplicate_class_labels(dir: &Path) -> Vec<String> {
    check_edited(dir, "mlp3", |b| {
        b["output"]["class_labels"] = json!(["down", "down", "up"])
    })
}

fn hundreds_of_missing_features(dir: &Path) -> Vec<String> {
    check_edited(dir, "mlp3", |b| {
        b["features"]["names"] = json!((0..31).map(|i| format!("x{i}")).collect::<Vec<_>>())
    })
}

fn missing_bundle_file(_dir: &Path) -> Vec<String> {
    ["models", "check", "--set", "core31", "nope.bundle.json"]
        .map(String::from)
        .to_vec()
}

fn backtest_overlapping_training(dir: &Path) -> Vec<String> {
    let mut args = check_edited(dir, "mlp3", |_| {});
    args.extend(
        [
            "--backtest-from",
            "2024-01-04T00:00:00Z",
            "--backtest-to",
            "2024-01-07T23:55:00Z",
        ]
        .map(String::from),
    );
    args
}

fn inspect_incompatible(dir: &Path) -> Vec<String> {
    copy_fixtures(dir, &["broken/wide50.bundle.json", "broken/wide50.onnx"]);
    ["models", "inspect", "--set", "core31", "wide50.bundle.json"]
        .map(String::from)
        .to_vec()
}

#[rstest]
#[case::model_wider_than_manifest(
    wider_model_than_manifest,
    2,
    &["refusing to write out.bundle.json", "model input width 50 != feature set core31 width 31"]
)]
#[case::scaler_of_wrong_length(
    scaler_of_wrong_length,
    2,
    &["refusing to write", "scaler length wrong: mean has 30 values, std has 30, the bundle lists 31 features"]
)]
#[case::scaler_with_std_zero(
    scaler_with_std_zero,
    2,
    &["refusing to write", "scaler std must be > 0", "atr@7 mean=0 std=0"]
)]
#[case::output_the_graph_lacks(
    output_the_graph_lacks,
    2,
    &["refusing to write", "output name \"probabilities\" absent from the ONNX graph (outputs: logits)"]
)]
#[case::logits_declared_for_a_softmax_at_bundle(
    logits_declared_for_a_softmax_at_bundle,
    2,
    &["refusing to write", "output.kind is \"logits\" but output \"probabilities\" holds probabilities", "Softmax"]
)]
#[case::duplicate_classes_at_bundle(
    duplicate_classes_at_bundle,
    2,
    &["--classes: \"down\" is listed twice (columns 0 and 1"]
)]
#[case::fit_scaler_on_a_constant_feature(
    fit_scaler_on_a_constant_feature,
    2,
    &["--fit-scaler-from train.parquet", "is_weekend@4 (always 0)", "--zero-variance-std-one"]
)]
#[case::fit_scaler_on_a_table_lacking_a_feature(
    fit_scaler_on_a_table_lacking_a_feature,
    2,
    &["--fit-scaler-from train.parquet", "no column \"rsi\" (position 20 in the manifest)"]
)]
#[case::fit_scaler_and_a_scaler_file(
    fit_scaler_and_a_scaler_file,
    2,
    &["--fit-scaler-from", "cannot be used with", "--scaler"]
)]
#[case::probabilities_declared_logits(
    probabilities_declared_logits,
    1,
    &["FAILED  model mlp3 (mlp3.bundle.json)", "output.kind is \"logits\" but output \"probabilities\" holds probabilities", "reference output rows"]
)]
#[case::logits_declared_probabilities(
    logits_declared_probabilities,
    1,
    &["FAILED  model lstm3 (lstm3.bundle.json)", "output.kind is \"probabilities\" but output \"logits\" holds logits"]
)]
#[case::duplicate_class_labels(
    duplicate_class_labels,
    2,
    &["mlp3.bundle.json", "output.class_labels: \"down\" is listed twice"]
)]
#[case::hundreds_of_missing_features(
    hundreds_of_missing_features,
    1,
    &["missing from the pipeline (model needs; name@bundle position): x0@0,", "x9@9 … and 21 more (31 in all)", "--verbose lists every name"]
)]
#[case::missing_bundle_file(missing_bundle_file, 2, &["nope.bundle.json", "cannot read"])]
#[case::backtest_overlapping_training(
    backtest_overlapping_training,
    1,
    &["that is leakage", "allow_training_overlap = true", "--allow-training-overlap"]
)]
#[case::inspect_incompatible(
    inspect_incompatible,
    1,
    &["compatible  NO, with feature set core31", "model input width 50 != feature set core31 width 31"]
)]
fn bad_model_input(
    #[case] setup: fn(&Path) -> Vec<String>,
    #[case] code: i32,
    #[case] needles: &[&str],
) {
    let dir = tempfile::tempdir().unwrap();
    let args = setup(dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = gauntlet_in(dir.path(), &args);
    assert_fails(&output, code, needles);
    assert!(
        !dir.path().join(OUT).exists(),
        "a refused bundle was written"
    );
    let said = text(&output);
    assert!(
        said.lines().all(|line| line.len() < 2000),
        "a giant line:\n{said}"
    );
}

#[test]
fn verbose_lists_every_missing_feature() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = hundreds_of_missing_features(dir.path());
    args.push("--verbose".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = gauntlet_in(dir.path(), &args);
    assert_fails(&output, 1, &["x30@30"]);
    assert!(!text(&output).contains("in all)"), "{}", text(&output));
}
