//! `gauntlet demo` end to end: synthetic universe + the bundled real models through
//! backtest and gates, reports written; the same run is byte-identical at 1 and 2
//! threads, with the prediction cache cold and warm.

mod common;

use common::{gauntlet, text};

#[test]
fn demo_runs_the_ensemble_through_backtest_and_gates_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let demo_str = demo.to_str().unwrap();
    let run = gauntlet(&["demo", "--out", demo_str]);
    assert!(run.status.success(), "{}", text(&run));
    let message = text(&run);
    for expected in [
        "model xgb3: scored",
        "verdict",
        "ensemble          accuracy",
        "report.html",
    ] {
        assert!(
            message.contains(expected),
            "missing {expected:?} in:\n{message}"
        );
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(demo.join("reports/report.json")).unwrap())
            .unwrap();
    let members = report["calibration"]["members"].as_object().unwrap();
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(report["calibration"]["ensemble"]["accuracy"].is_number());
    assert!(report["verdict"]["rows"].as_array().unwrap().len() > 1);
    let hashes = report["metadata"]["provenance"]["bundle_hashes"]
        .as_object()
        .unwrap();
    assert_eq!(hashes.len(), 3);

    // The demo's config again, cache warm, at 1 and 2 threads: the same bytes.
    let config = demo.join("run.toml");
    let mut outputs = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("t{threads}"));
        let run = gauntlet(&[
            "gate",
            "-c",
            config.to_str().unwrap(),
            "--gates",
            demo.join("gates.toml").to_str().unwrap(),
            "--threads",
            threads,
            "--out",
            out.to_str().unwrap(),
            "-q",
        ]);
        assert!(matches!(run.status.code(), Some(0 | 1)), "{}", text(&run));
        outputs.push(std::fs::read(out.join("report.json")).unwrap());
    }
    let first = std::fs::read(demo.join("reports/report.json")).unwrap();
    assert!(
        outputs[0] == first,
        "warm-cache run differs from the demo's"
    );
    assert!(outputs[0] == outputs[1], "1 and 2 threads differ");

    // A logits member (the LSTM fixture): its logit range is reported, from the raw
    // outputs the prediction cache keeps, identically with the cache cold and warm.
    let lstm = format!(
        "{}/tests/fixtures/models/lstm3.bundle.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let lstm_text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("models/mlp3.bundle.json", &lstm)
        .replace("cache = \"cache\"", "cache = \"cache-lstm\"");
    let lstm_config = demo.join("lstm.toml");
    std::fs::write(&lstm_config, lstm_text).unwrap();
    let mut runs = Vec::new();
    for pass in ["cold", "warm"] {
        let out = dir.path().join(pass);
        let run = gauntlet(&[
            "backtest",
            "-c",
            lstm_config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
        ]);
        assert!(run.status.success(), "{}", text(&run));
        runs.push(std::fs::read(out.join("report.json")).unwrap());
    }
    assert!(runs[0] == runs[1], "cold and warm prediction cache differ");
    let report: serde_json::Value = serde_json::from_slice(&runs[0]).unwrap();
    let range = &report["calibration"]["members"]["lstm3"]["logit_range"];
    assert!(range["max_abs"].as_f64().unwrap() > 0.0, "{range}");
    assert!(report["calibration"]["members"]["xgb3"]["logit_range"].is_null());
}

#[test]
fn demo_says_which_engine_scored_each_member_and_the_engines_agree() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let run = gauntlet(&["demo", "--out", demo.to_str().unwrap()]);
    assert!(run.status.success(), "{}", text(&run));
    let message = text(&run);
    for expected in [
        "model xgb3: scored by native (ONNX TreeEnsembleClassifier: 300 trees",
        "model lgbm3: scored by native (ONNX TreeEnsembleClassifier: 300 trees",
        "model mlp3: scored by onnxruntime (ONNX Runtime 1.31.1: node MatMul",
    ] {
        assert!(
            message.contains(expected),
            "missing {expected:?} in:\n{message}"
        );
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(demo.join("reports/report.json")).unwrap())
            .unwrap();
    let engines = &report["metadata"]["provenance"]["scoring_engines"];
    assert!(
        engines["xgb3"].as_str().unwrap().starts_with("native ("),
        "{engines}"
    );
    assert!(
        engines["mlp3"]
            .as_str()
            .unwrap()
            .starts_with("onnxruntime ("),
        "{engines}"
    );

    // The same run with every member on ONNX Runtime: within the regression tolerances.
    let config = demo.join("run.toml");
    let onnxruntime = std::fs::read_to_string(&config)
        .unwrap()
        .replace("engine = \"auto\"", "engine = \"onnxruntime\"");
    let onnxruntime_config = demo.join("onnxruntime.toml");
    std::fs::write(&onnxruntime_config, onnxruntime).unwrap();
    let out = dir.path().join("onnxruntime");
    let run = gauntlet(&[
        "gate",
        "-c",
        onnxruntime_config.to_str().unwrap(),
        "--gates",
        demo.join("gates.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(matches!(run.status.code(), Some(0 | 1)), "{}", text(&run));
    assert!(
        text(&run).contains("model xgb3: scored by onnxruntime (ONNX Runtime 1.31.1: the run asks for ONNX Runtime)"),
        "{}",
        text(&run)
    );
    let regress = gauntlet(&[
        "regress",
        "--baseline",
        demo.join("reports").to_str().unwrap(),
        "--candidate",
        out.to_str().unwrap(),
        "--tolerances",
        concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tolerances.toml"),
    ]);
    assert_eq!(regress.status.code(), Some(0), "{}", text(&regress));
    assert!(
        text(&regress).contains("scoring_engines.xgb3"),
        "{}",
        text(&regress)
    );
}
