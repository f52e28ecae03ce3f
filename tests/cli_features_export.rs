//! `gauntlet features export` end to end: the Parquet table reads back with the
//! pipeline's own values, in manifest order, with labels and the manifest beside it.

use std::path::Path;
use std::process::Command;

use gauntlet_datasets::table::{ColumnValues, Table};
use gauntlet_datasets::{load, LoadRequest};
use gauntlet_strategies::features::{compute, FeatureManifest, FeatureSet};

const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/sample");

fn export(out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args([
            "features", "export", "--data", SAMPLE, "--set", "core31", "--out",
        ])
        .arg(out)
        .args(extra)
        .output()
        .expect("run gauntlet")
}

#[test]
fn export_round_trips_values_labels_and_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/features.parquet");
    let run = export(
        &out,
        &[
            "--label-horizon",
            "15",
            "--flat-threshold",
            "0.001",
            "--symbols",
            "ETH-USD",
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let set = FeatureSet::core31();
    let manifest_text =
        std::fs::read_to_string(dir.path().join("nested/features.manifest.json")).unwrap();
    let manifest = FeatureManifest::from_json(&manifest_text).unwrap();
    assert_eq!(manifest.hash, set.manifest().hash);

    let table = Table::read_parquet(&out).unwrap();
    let names: Vec<&str> = table.columns().iter().map(|(n, _)| n.as_str()).collect();
    let mut expected = vec!["symbol", "ts"];
    expected.extend(set.names());
    expected.push("label");
    assert_eq!(names, expected);

    let universe = load(&LoadRequest {
        symbols: gauntlet_datasets::SymbolFilter::Only(vec!["ETH-USD".into()]),
        ..LoadRequest::new(SAMPLE)
    })
    .unwrap();
    let matrix = compute(&set, &universe.series[0]).unwrap();
    let ready: Vec<usize> = (0..matrix.rows()).filter(|&i| matrix.ready[i]).collect();
    assert_eq!(table.height(), ready.len());

    let Some(ColumnValues::I64(ts)) = table.column("ts") else {
        panic!("ts is i64")
    };
    let Some(ColumnValues::F32(rsi)) = table.column("rsi") else {
        panic!("rsi is f32")
    };
    let rsi_col = matrix.column_index("rsi").unwrap();
    for (k, &row) in ready.iter().enumerate() {
        assert_eq!(ts[k], matrix.ts[row]);
        assert_eq!(rsi[k].to_bits(), matrix.values[[row, rsi_col]].to_bits());
    }

    // The last 15 bars have no close 15 bars ahead: unlabelled, never filled.
    let Some(ColumnValues::OptStr(labels)) = table.column("label") else {
        panic!("label is nullable text")
    };
    assert!(labels[labels.len() - 15..].iter().all(Option::is_none));
    assert!(labels[..labels.len() - 15]
        .iter()
        .all(|l| matches!(l.as_deref(), Some("down" | "flat" | "up"))));
}

#[test]
fn f64_precision_and_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f.parquet");
    let run = export(&out, &["--precision", "f64", "--symbols", "BTC-USD"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let table = Table::read_parquet(&out).unwrap();
    assert!(matches!(table.column("atr"), Some(ColumnValues::F64(_))));
    assert!(table.column("label").is_none());

    let run = export(&dir.path().join("f.csv"), &[]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("must name a .parquet file"));

    let run = export(&out, &["--label-horizon", "5"]);
    assert_eq!(
        run.status.code(),
        Some(2),
        "a horizon needs a flat threshold"
    );

    let run = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args([
            "features", "export", "--data", SAMPLE, "--set", "core99", "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("core99"));
}
