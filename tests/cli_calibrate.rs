//! `gauntlet calibrate` end to end: the committed fixture members on the synthetic
//! universe they were trained on (same synth arguments), calibrated on the period after
//! their training window. Needs ONNX Runtime (`make venv`).

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gauntlet_strategies::models::ModelBundle;

use common::{fixtures, run};

/// The fixtures' universe at 5m (synth 1m with `make demo`'s arguments, resampled),
/// made once per test binary.
fn data_5m() -> &'static Path {
    static DATA: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DATA
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let one = dir.path().join("1m");
            let five = dir.path().join("5m");
            let (code, _, stderr) = run(&[
                "data",
                "synth",
                "--symbols",
                "12",
                "--days",
                "7",
                "--interval",
                "1m",
                "--seed",
                "7",
                "--out",
                one.to_str().unwrap(),
            ]);
            assert_eq!(code, 0, "{stderr}");
            let (code, _, stderr) = run(&[
                "data",
                "resample",
                one.to_str().unwrap(),
                "--to",
                "5m",
                "--out",
                five.to_str().unwrap(),
            ]);
            assert_eq!(code, 0, "{stderr}");
            (dir, five)
        })
        .1
}

/// Copies bundles (json + onnx) into a fresh directory.
fn members(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        for ext in ["bundle.json", "onnx"] {
            let file = format!("{name}.{ext}");
            std::fs::copy(fixtures().join(&file), dir.path().join(&file)).unwrap();
        }
    }
    dir
}

fn calibrate(dir: &Path, names: &[&str], from: &str, extra: &[&str]) -> (i32, String, String) {
    let data = data_5m().to_str().unwrap().to_string();
    let bundles: Vec<String> = names
        .iter()
        .map(|name| {
            dir.join(format!("{name}.bundle.json"))
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec![
        "calibrate",
        "--data",
        &data,
        "--interval",
        "5m",
        "--set",
        "core31",
        "--from",
        from,
        "--to",
        "2024-01-08T00:00:00Z",
        "--bundle",
    ];
    args.extend(bundles.iter().map(String::as_str));
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn overconfident_member_gets_a_larger_temperature_and_a_new_bundle() {
    let dir = members(&["lstm3", "xgb3"]);
    let (code, stdout, stderr) = calibrate(dir.path(), &["lstm3", "xgb3"], "2024-01-05", &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("calibration window 2024-01-05T00:00:00Z .. 2024-01-08T00:00:00Z"),
        "{stdout}"
    );

    let original = ModelBundle::load(&dir.path().join("lstm3.bundle.json")).unwrap();
    let calibrated = ModelBundle::load(&dir.path().join("lstm3.calibrated.bundle.json")).unwrap();
    // The LSTM's logits are 2.5x too large and its bundle only divides them by 1.5.
    let fitted = calibrated.bundle.output.temperature;
    assert!(fitted > 1.5, "lstm3 fitted T = {fitted}");
    let record = calibrated.bundle.calibration.clone().unwrap();
    assert_eq!(record.previous_temperature, 1.5);
    assert_eq!(record.from, "2024-01-05T00:00:00Z");
    assert_eq!(record.to, "2024-01-08T00:00:00Z");
    assert_eq!(record.calibrated_from, "lstm3.bundle.json");
    assert!(record.rows > 1000, "{record:?}");
    // Same ONNX file (referenced, not copied), different bundle identity.
    assert_eq!(calibrated.model_path, original.model_path);
    assert_ne!(calibrated.content_hash(), original.content_hash());
    let mut unchanged = calibrated.bundle.clone();
    unchanged.output.temperature = 1.5;
    unchanged.calibration = None;
    assert_eq!(unchanged, original.bundle);

    // The printed summary: temperature, NLL and ECE before/after, rows.
    let line = stdout
        .lines()
        .find(|l| l.starts_with("lstm3: temperature 1.5 -> "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        line.ends_with(&format!("on {} rows", record.rows)),
        "{line}"
    );
    let nll_line = stdout
        .lines()
        .skip_while(|l| !l.starts_with("lstm3: "))
        .nth(1)
        .unwrap();
    let numbers: Vec<f64> = nll_line
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    let [nll_before, nll_after, ece_before, ece_after, _accuracy] = numbers[..] else {
        panic!("{nll_line}");
    };
    assert!(nll_after < nll_before, "{nll_line}");
    assert!(ece_after < ece_before, "{nll_line}");
    assert!(stdout.contains("xgb3: temperature 1 -> "), "{stdout}");
    assert!(dir.path().join("xgb3.calibrated.bundle.json").is_file());

    // The calibrated bundle passes preflight like any other.
    let path = dir.path().join("lstm3.calibrated.bundle.json");
    let (code, stdout, _) = run(&["models", "check", "--set", "core31", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");

    // A rerun refuses to overwrite, before writing anything.
    let before = std::fs::read(&path).unwrap();
    let (code, _, stderr) = calibrate(dir.path(), &["lstm3", "xgb3"], "2024-01-05", &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(
            "lstm3.calibrated.bundle.json already exists; calibrate never overwrites a bundle"
        ),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn out_dir_gets_a_copy_of_the_model_file() {
    let dir = members(&["mlp3"]);
    let out = dir.path().join("calibrated");
    let out_arg = out.display().to_string();
    let (code, stdout, stderr) = calibrate(
        dir.path(),
        &["mlp3"],
        "2024-01-05",
        &["--out-dir", &out_arg],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let calibrated = ModelBundle::load(&out.join("mlp3.calibrated.bundle.json")).unwrap();
    assert_eq!(calibrated.model_path, out.join("mlp3.onnx"));
    assert!(!dir.path().join("mlp3.calibrated.bundle.json").exists());
}

#[test]
fn a_window_overlapping_training_is_refused() {
    let dir = members(&["mlp3"]);
    let (code, _, stderr) = calibrate(dir.path(), &["mlp3"], "2024-01-04T12:00:00Z", &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("that is leakage"), "{stderr}");
    assert!(!dir.path().join("mlp3.calibrated.bundle.json").exists());
}
