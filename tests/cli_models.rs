//! `gauntlet models check` and `gauntlet models inspect` end to end on the committed
//! fixtures: exit codes (0 pass, 1 a bundle failed, 2 error) and messages. Needs ONNX
//! Runtime (`make venv`), like the models tests of the strategies crate.

use std::path::{Path, PathBuf};
use std::process::Command;

use gauntlet_strategies::features::FeatureSet;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models")
}

fn fixture(name: &str) -> String {
    fixtures().join(name).display().to_string()
}

fn gauntlet(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn check_passes_every_good_bundle_against_the_builtin_set() {
    let bundles: Vec<String> = ["xgb3", "xgb2", "lgbm3", "mlp3", "lstm3"]
        .iter()
        .map(|name| fixture(&format!("{name}.bundle.json")))
        .collect();
    let mut args = vec!["models", "check", "--set", "core31"];
    args.extend(bundles.iter().map(String::as_str));
    let (code, stdout, stderr) = gauntlet(&args);
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
    let (code, stdout, stderr) = gauntlet(&["models", "check", "--manifest", &manifest, &bundle]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("1 of 1 bundles passed"), "{stdout}");
}

#[test]
fn check_fails_with_exit_1_and_lists_what_is_wrong() {
    let good = fixture("mlp3.bundle.json");
    let wide = fixture("broken/wide50.bundle.json");
    let reordered = fixture("broken/reordered.bundle.json");
    let (code, stdout, stderr) = gauntlet(&[
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
    let (code, stdout, _) = gauntlet(&["models", "check", "--set", "mtf50", &bundle]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("model input width 31 != feature set mtf50 width 50"),
        "{stdout}"
    );
    // The wide model is an mtf50 model: it passes there.
    let wide = fixture("broken/wide50.bundle.json");
    let (code, stdout, stderr) = gauntlet(&["models", "check", "--set", "mtf50", &wide]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn check_errors_with_exit_2() {
    let bundle = fixture("mlp3.bundle.json");
    // No pipeline named.
    let (code, _, stderr) = gauntlet(&["models", "check", &bundle]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--set core31"), "{stderr}");
    // Unknown feature set.
    let (code, _, stderr) = gauntlet(&["models", "check", "--set", "core99", &bundle]);
    assert_eq!(code, 2);
    assert!(stderr.contains("core99"), "{stderr}");
    // Both --set and --manifest.
    let manifest = fixture("core31.manifest.json");
    let (code, _, _) = gauntlet(&[
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
    let (code, stdout, _) = gauntlet(&[
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
    let (code, stdout, _) = gauntlet(&[
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
    let (code, stdout, stderr) = gauntlet(&["models", "inspect", &bundle]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("input       input"), "{stdout}");
    assert!(stdout.contains("layout Sequence window 32"), "{stdout}");
    assert!(
        stdout.contains("training  2024-01-01T00:00:00Z .. 2024-01-04T23:55:00Z"),
        "{stdout}"
    );
    assert!(!stdout.contains("compatible"), "{stdout}");

    let (code, stdout, stderr) = gauntlet(&["models", "inspect", "--set", "core31", &bundle]);
    assert_eq!(code, 0, "{stderr}");
    let hash = FeatureSet::core31().manifest().hash;
    assert!(
        stdout.contains(&format!(
            "compatible  yes, with feature set core31 ({hash})"
        )),
        "{stdout}"
    );

    let wide = fixture("broken/wide50.bundle.json");
    let (code, stdout, _) = gauntlet(&["models", "inspect", "--set", "core31", &wide]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("compatible  NO, with feature set core31:"),
        "{stdout}"
    );
    assert!(stdout.contains("  - model input width 50"), "{stdout}");
}
