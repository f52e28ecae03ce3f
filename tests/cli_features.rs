//! `gauntlet features list` end to end.

mod common;

use gauntlet_strategies::features::{FeatureManifest, FeatureSet};

use common::run;

#[test]
fn list_prints_names_parameters_warmup_and_hash() {
    let (code, stdout, stderr) = run(&["features", "list", "--set", "core31"]);
    assert_eq!(code, 0, "{stderr}");
    let manifest = FeatureSet::core31().manifest();
    assert!(stdout.contains(&manifest.hash), "{stdout}");
    assert!(stdout.contains("set core31 v1 (31 features)"), "{stdout}");
    assert!(stdout.contains("warm-up 120 base bars"), "{stdout}");
    let rsi_line = stdout.lines().find(|l| l.contains(" rsi ")).unwrap();
    assert!(
        rsi_line.contains("13") && rsi_line.contains("window=14"),
        "{rsi_line}"
    );
    let bb_line = stdout.lines().find(|l| l.contains("bb_width")).unwrap();
    assert!(bb_line.contains("std=2.0 window=20"), "{bb_line}");
    // Every name, in order.
    let mut pos = 0;
    for name in manifest.names() {
        let at = stdout[pos..]
            .find(name)
            .unwrap_or_else(|| panic!("{name} missing or out of order"));
        pos += at + name.len();
    }
}

#[test]
fn list_without_a_set_shows_every_built_in_set() {
    let (code, stdout, _) = run(&["features", "list"]);
    assert_eq!(code, 0);
    assert!(stdout.contains(&FeatureSet::core31().manifest().hash));
    assert!(stdout.contains(&FeatureSet::mtf50().manifest().hash));
    assert!(stdout.contains("mtf_1h_volume_ratio"));
}

#[test]
fn list_json_is_the_manifest() {
    let (code, stdout, stderr) = run(&["features", "list", "--set", "mtf50", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let manifest = FeatureManifest::from_json(&stdout).unwrap();
    assert_eq!(manifest, FeatureSet::mtf50().manifest());
}

#[test]
fn list_reads_a_custom_set_and_reports_its_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("mine.toml");
    std::fs::write(&good, "name = \"mine\"\nfeatures = [{ sma = [5, 200] }]\n").unwrap();
    let (code, stdout, stderr) = run(&["features", "list", "--set", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("sma_200") && stdout.contains("199"),
        "{stdout}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"bad\"\nfeatures = [\"rsi\", { atr = { windw = 3 } }]\n",
    )
    .unwrap();
    let (code, _, stderr) = run(&["features", "list", "--set", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("atr: unknown parameter `windw`"),
        "{stderr}"
    );
}

#[test]
fn list_rejects_an_unknown_set_name() {
    let (code, _, stderr) = run(&["features", "list", "--set", "core30"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("unknown feature set \"core30\""),
        "{stderr}"
    );
    assert!(stderr.contains("core31, mtf50"), "{stderr}");
}
