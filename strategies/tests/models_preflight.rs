//! Every preflight failure, with its message asserted, on real exported fixtures.

mod models_support;

use gauntlet_strategies::models::{check_bundle, PreflightError, PreflightOptions};
use models_support::{edited_bundle, expected, fixtures};
use serde_json::json;

fn failures_of(path: &std::path::Path, options: &PreflightOptions) -> Vec<String> {
    match check_bundle(path, &expected(), options) {
        Ok(model) => panic!("{} passed preflight", model.name()),
        Err(PreflightError::Runtime(err)) => panic!("ONNX Runtime unavailable: {err}"),
        Err(err) => err.failures(),
    }
}

fn assert_one_contains(failures: &[String], needle: &str) {
    assert!(
        failures.iter().any(|failure| failure.contains(needle)),
        "no failure contains {needle:?}:\n{failures:#?}"
    );
}

#[test]
fn every_good_fixture_passes() {
    for name in ["xgb3", "xgb2", "lgbm3", "mlp3", "lstm3"] {
        let path = fixtures().join(format!("{name}.bundle.json"));
        if let Err(err) = check_bundle(&path, &expected(), &PreflightOptions::default()) {
            panic!("{name}: {err}");
        }
    }
}

#[test]
fn fifty_feature_model_against_core31() {
    let failures = failures_of(
        &fixtures().join("broken/wide50"),
        &PreflightOptions::default(),
    );
    assert_one_contains(
        &failures,
        "model input width 50 != feature set core31 width 31: the model was trained on 50 features, the pipeline makes 31",
    );
    assert_one_contains(
        &failures,
        "missing from the pipeline (model needs; name@bundle position): mtf_5m_return@31, mtf_5m_rsi@32",
    );
    assert_one_contains(&failures, "feature manifest hash differs");
}

#[test]
fn reordered_names_are_listed_with_positions() {
    let failures = failures_of(
        &fixtures().join("broken/reordered.onnx"),
        &PreflightOptions::default(),
    );
    assert_eq!(
        failures,
        vec![
            "feature names differ: reordered (name: bundle position -> pipeline position): \
             session_london: 0 -> 1, session_tokyo: 1 -> 0, macd_diff: 20 -> 23, rsi: 23 -> 20"
        ]
    );
}

#[test]
fn missing_and_extra_names() {
    let (_dir, path) = edited_bundle(&fixtures(), "mlp3", |bundle| {
        bundle["features"]["names"][5] = json!("spread_bps");
    });
    let failures = failures_of(&path, &PreflightOptions::default());
    assert_eq!(
        failures,
        vec![
            "feature names differ: missing from the pipeline (model needs; name@bundle position): spread_bps@5; \
             extra in the pipeline (model was not trained on; name@pipeline position): spread@5"
        ]
    );
}

#[test]
fn manifest_hash_differs() {
    let (_dir, path) = edited_bundle(&fixtures(), "mlp3", |bundle| {
        bundle["features"]["manifest_hash"] = json!("0000");
    });
    let failures = failures_of(&path, &PreflightOptions::default());
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(failures[0].starts_with("feature manifest hash differs: bundle 0000, pipeline "));
}

#[test]
fn scaler_missing() {
    let failures = failures_of(
        &fixtures().join("broken/noscaler"),
        &PreflightOptions::default(),
    );
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(failures[0].starts_with(
        "no scaler in the bundle but scaling is \"standard\": raw features (prices like 79568) would reach the model"
    ));
}

#[test]
fn scaler_length_wrong() {
    let (_dir, path) = edited_bundle(&fixtures(), "mlp3", |bundle| {
        bundle["scaler"]["mean"].as_array_mut().unwrap().pop();
    });
    assert_eq!(
        failures_of(&path, &PreflightOptions::default()),
        vec!["scaler length wrong: mean has 30 values, std has 31, the bundle lists 31 features"]
    );
}

#[test]
fn scaler_std_not_positive() {
    let (_dir, path) = edited_bundle(&fixtures(), "mlp3", |bundle| {
        bundle["scaler"]["std"][7] = json!(0.0);
        bundle["scaler"]["std"][20] = json!(-1.5);
    });
    let failures = failures_of(&path, &PreflightOptions::default());
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(
        failures[0].starts_with("scaler std must be > 0 and finite (and mean finite): atr@7 mean=")
    );
    assert!(
        failures[0].contains("std=0, rsi@20 mean="),
        "{}",
        failures[0]
    );
    assert!(failures[0].ends_with("std=-1.5"), "{}", failures[0]);
}

#[test]
fn class_count_differs_from_output_width() {
    let failures = failures_of(
        &fixtures().join("broken/twoclass"),
        &PreflightOptions::default(),
    );
    assert_eq!(
        failures,
        vec!["class count 2 (down/up) != model output width 3"]
    );
}

#[test]
fn output_name_absent() {
    let (_dir, path) = edited_bundle(&fixtures(), "mlp3", |bundle| {
        bundle["output"]["name"] = json!("probs");
    });
    assert_eq!(
        failures_of(&path, &PreflightOptions::default()),
        vec!["output name \"probs\" absent from the ONNX graph (outputs: label, probabilities)"]
    );
}

#[test]
fn input_name_absent() {
    let (_dir, path) = edited_bundle(&fixtures(), "mlp3", |bundle| {
        bundle["input"]["name"] = json!("features");
    });
    assert_eq!(
        failures_of(&path, &PreflightOptions::default()),
        vec!["bundle input \"features\" is not an input of the ONNX graph (inputs: input)"]
    );
}

#[test]
fn files_that_are_not_onnx() {
    for (name, reason) in [
        ("truncated", "truncated or not protobuf"),
        (
            "pickle",
            "it looks like a Python pickle (protocol 4), not an ONNX protobuf",
        ),
        ("random", ""),
    ] {
        let failures = failures_of(
            &fixtures().join("broken").join(name),
            &PreflightOptions::default(),
        );
        assert_eq!(failures.len(), 1, "{name}: {failures:#?}");
        let prefix = format!(
            "{} is not a valid ONNX model: ",
            fixtures()
                .join("broken")
                .join(format!("{name}.onnx"))
                .display()
        );
        assert!(failures[0].starts_with(&prefix), "{name}: {}", failures[0]);
        assert!(failures[0].contains(reason), "{name}: {}", failures[0]);
    }
}

#[test]
fn replaced_model_file_is_caught_by_its_hash() {
    let (_dir, path) = edited_bundle(&fixtures(), "mlp3", |bundle| {
        bundle["model_sha256"] = json!("ab".repeat(32));
    });
    let failures = failures_of(&path, &PreflightOptions::default());
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].contains("the model file was replaced or damaged after bundling"),
        "{}",
        failures[0]
    );
}

#[test]
fn backtest_overlapping_the_training_window() {
    let path = fixtures().join("mlp3.bundle.json");
    // 2024-01-04T12:00 .. 2024-01-07T23:55: overlaps training (2024-01-01 .. 2024-01-04T23:55).
    let overlapping = PreflightOptions {
        backtest_window: Some((1_704_369_600_000, 1_704_671_700_000)),
        ..PreflightOptions::default()
    };
    assert_eq!(
        failures_of(&path, &overlapping),
        vec![
            "backtest window 2024-01-04T12:00:00Z .. 2024-01-07T23:55:00Z overlaps the training window \
             2024-01-01T00:00:00Z .. 2024-01-04T23:55:00Z: that is leakage; backtest outside the training \
             window, or accept the overlap with `allow_training_overlap = true` in the run config's \
             [models] section (`--allow-training-overlap` on `models check` and `calibrate`)"
        ]
    );
    let allowed = PreflightOptions {
        allow_training_overlap: true,
        ..overlapping
    };
    assert!(check_bundle(&path, &expected(), &allowed).is_ok());
    // 2024-01-05 .. 2024-01-07T23:55: the rest of the synthetic universe, after training.
    let after = PreflightOptions {
        backtest_window: Some((1_704_412_800_000, 1_704_671_700_000)),
        ..PreflightOptions::default()
    };
    assert!(check_bundle(&path, &expected(), &after).is_ok());
}

#[test]
fn reference_rows_that_the_engine_does_not_reproduce() {
    let (_dir, path) = edited_bundle(&fixtures(), "lgbm3", |bundle| {
        let outputs = &mut bundle["reference"]["outputs"];
        let bump = |value: &serde_json::Value, by: f64| json!(value.as_f64().unwrap() + by);
        outputs[3][1] = bump(&outputs[3][1], 0.01);
        outputs[7][2] = bump(&outputs[7][2], -0.035);
        outputs[150][0] = bump(&outputs[150][0], 2e-6);
    });
    let failures = failures_of(&path, &PreflightOptions::default());
    assert_eq!(failures.len(), 1, "{failures:#?}");
    let message = &failures[0];
    assert!(
        message.starts_with(
            "reference rows re-scored by the native engine differ from the training library's outputs: \
             2 of 200 rows beyond tolerance 1e-5; worst: row 7 class 2: reference "
        ),
        "{message}"
    );
    assert!(
        message.contains("(|diff| 3.500e-2); row 3 class 1: reference"),
        "{message}"
    );
    assert!(!message.contains("row 150"), "{message}");
}

#[test]
fn all_failures_are_collected() {
    let (_dir, path) = edited_bundle(&fixtures(), "mlp3", |bundle| {
        bundle["features"]["manifest_hash"] = json!("0000");
        bundle["output"]["class_labels"] = json!(["down", "up"]);
        bundle["output"]["temperature"] = json!(0.0);
    });
    let failures = failures_of(&path, &PreflightOptions::default());
    assert_eq!(failures.len(), 3, "{failures:#?}");
    assert_one_contains(&failures, "temperature must be finite and > 0, got 0");
}
