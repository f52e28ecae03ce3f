//! End-to-end tests of `gauntlet data synth`.

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::gauntlet;

fn synth(out: &Path, extra: &[&str]) -> Output {
    let out = out.to_str().unwrap();
    let mut args = vec![
        "data",
        "synth",
        "--symbols",
        "3",
        "--days",
        "1",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    gauntlet(&args)
}

fn sorted_file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn writes_one_file_per_symbol_and_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = synth(dir.path(), &["--format", "csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        sorted_file_names(dir.path()),
        ["BTC-USD_1m.csv", "ETH-USD_1m.csv", "SOL-USD_1m.csv"]
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("3 symbols"), "{stdout}");
    assert!(stdout.contains("3 csv files"), "{stdout}");
    assert!(stdout.contains("elapsed"), "{stdout}");
    let csv = fs::read_to_string(dir.path().join("BTC-USD_1m.csv")).unwrap();
    assert!(
        csv.starts_with("ts,open,high,low,close,volume\n1704067200000,80000.0,"),
        "{csv:.200}"
    );
}

#[test]
fn same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    for (dir, seed) in [(&a, "11"), (&b, "11"), (&c, "12")] {
        let out = synth(dir.path(), &["--seed", seed, "--interval", "5m"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let names = sorted_file_names(a.path());
    assert_eq!(
        names,
        [
            "BTC-USD_5m.parquet",
            "ETH-USD_5m.parquet",
            "SOL-USD_5m.parquet"
        ]
    );
    for name in &names {
        let bytes = fs::read(a.path().join(name)).unwrap();
        assert_eq!(bytes, fs::read(b.path().join(name)).unwrap(), "{name}");
        assert_ne!(bytes, fs::read(c.path().join(name)).unwrap(), "{name}");
    }
}

#[test]
fn bad_arguments_exit_with_code_2_and_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let cases: [(&[&str], &str); 8] = [
        (&["--symbols", "0", "--days", "1"], "symbols is 0"),
        (&["--symbols", "101", "--days", "1"], "only 100 names"),
        (&["--symbols", "1", "--days", "0"], "days is 0"),
        (
            &["--symbols", "1", "--days", "1", "--signal", "-0.5"],
            "signal_strength is -0.5",
        ),
        (
            &[
                "--symbols",
                "1",
                "--days",
                "1",
                "--missing-bar-probability",
                "1",
            ],
            "missing_bar_probability is 1",
        ),
        (
            &["--symbols", "1", "--days", "1", "--interval", "2m"],
            "expected one of 1m, 5m",
        ),
        (
            &[
                "--symbols",
                "1",
                "--days",
                "1",
                "--start",
                "2024-01-01T00:00:30Z",
            ],
            "not aligned to the 1m interval",
        ),
        (
            &["--symbols", "1", "--days", "1", "--start", "yesterday"],
            "RFC 3339",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["data", "synth", "--out", out];
        args.extend_from_slice(extra);
        let output = gauntlet(&args);
        assert_eq!(output.status.code(), Some(2), "{extra:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
    }
    let output = gauntlet(&["data", "synth", "--symbols", "2"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--out"));
    assert!(sorted_file_names(dir.path()).is_empty());
}

#[test]
fn committed_sample_is_what_the_generator_makes() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sample");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    // The command in tests/fixtures/sample/README.md.
    let output = gauntlet(&[
        "data",
        "synth",
        "--symbols",
        "4",
        "--days",
        "3",
        "--interval",
        "1m",
        "--seed",
        "7",
        "--format",
        "csv",
        "--out",
        out,
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let names = sorted_file_names(dir.path());
    assert_eq!(
        names,
        [
            "BTC-USD_1m.csv",
            "ETH-USD_1m.csv",
            "JASMY-USD_1m.csv",
            "SOL-USD_1m.csv"
        ]
    );
    for name in &names {
        let expected = fs::read(fixture.join(name)).unwrap();
        let actual = fs::read(dir.path().join(name)).unwrap();
        assert!(
            expected == actual,
            "{name} differs from the committed sample: regenerate it (see its README.md)"
        );
    }
}
