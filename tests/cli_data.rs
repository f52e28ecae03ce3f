//! End-to-end tests of `gauntlet data validate` and `gauntlet data resample`.

mod common;

use std::fs;

use gauntlet_datasets::write::write_universe;
use gauntlet_datasets::{load, CandleSeries, FileFormat, Interval, LoadRequest};

use common::{gauntlet, path_str, text};

const T0: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z
const MIN: i64 = 60_000;

/// `n` clean 1m bars from T0.
fn series(symbol: &str, n: i64) -> CandleSeries {
    let mut s = CandleSeries::with_capacity(symbol, Interval::M1, n as usize);
    for i in 0..n {
        let p = 50.0 + (i % 7) as f64;
        s.push(T0 + i * MIN, p, p + 1.0, p - 1.0, p + 0.5, 1.0 + i as f64);
    }
    s
}

#[test]
fn validate_clean_directory_prints_the_table_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    write_universe(
        dir.path(),
        &[series("BTC-USD", 30), series("ETH-USD", 20)],
        FileFormat::Parquet,
    )
    .unwrap();
    let out = gauntlet(&["data", "validate", path_str(dir.path())]);
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("timestamps: column \"ts\" read as epoch milliseconds"),
        "{stdout}"
    );
    assert!(stdout.contains("symbol"), "{stdout}");
    let btc = stdout
        .lines()
        .find(|l| l.starts_with("BTC-USD"))
        .expect("BTC-USD row");
    let cells: Vec<&str> = btc.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "BTC-USD",
            "30",
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:29:00Z",
            "0",
            "0",
            "0"
        ]
    );
    assert!(stdout.contains("no issues"), "{stdout}");
    // Progress goes to stderr, only on a terminal: `-q` changes nothing here, and no
    // spinner text reaches a pipe.
    let quiet = gauntlet(&["data", "validate", "-q", path_str(dir.path())]);
    assert_eq!(quiet.status.code(), Some(0));
    assert_eq!(quiet.stdout, out.stdout);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn validate_with_filters_only_reads_the_selection() {
    let dir = tempfile::tempdir().unwrap();
    write_universe(
        dir.path(),
        &[series("BTC-USD", 30), series("ETH-USD", 20)],
        FileFormat::Csv,
    )
    .unwrap();
    let out = gauntlet(&[
        "data",
        "validate",
        path_str(dir.path()),
        "--symbols",
        "ETH-USD",
        "--from",
        "2024-01-01T00:05:00Z",
        "--to",
        "2024-01-01 00:10:00",
        "--interval",
        "1m",
    ]);
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("BTC-USD"), "{stdout}");
    let eth = stdout
        .lines()
        .find(|l| l.starts_with("ETH-USD"))
        .expect("ETH-USD row");
    assert!(eth.contains(" 5 "), "{eth}");
    assert!(eth.contains("2024-01-01T00:09:00Z"), "{eth}");
}

#[test]
fn validate_bad_file_names_file_row_and_column_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("SOL-USD_1m.csv"),
        format!(
            "ts,open,high,low,close,volume\n{T0},10,11,9,10.5,1\n{},10,11,9,10.5,1\n{},10,9.5,9,10.5,1\n",
            T0 + MIN,
            T0 + 2 * MIN
        ),
    )
    .unwrap();
    let out = gauntlet(&["data", "validate", path_str(dir.path())]);
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("SOL-USD_1m.csv: row 3, column high: high below max(open, close)"),
        "{stdout}"
    );
    assert!(stdout.contains("1 issues in 1 symbol"), "{stdout}");
}

#[test]
fn validate_missing_path_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir");
    let out = gauntlet(&["data", "validate", path_str(&missing)]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no-such-dir: no such file or directory"),
        "{stderr}"
    );
}

#[test]
fn validate_unreadable_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("BTC-USD_1m.parquet"), b"not parquet at all").unwrap();
    let out = gauntlet(&["data", "validate", path_str(dir.path())]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read"), "{stderr}");
    assert!(stderr.contains("BTC-USD_1m.parquet"), "{stderr}");
}

#[test]
fn resample_end_to_end_writes_files_that_reload() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    let output = dir.path().join("out");
    // 60 bars from 00:00: twelve whole 5m buckets; 58 bars from 00:00: the last cut.
    write_universe(
        &input,
        &[series("BTC-USD", 60), series("ETH-USD", 58)],
        FileFormat::Parquet,
    )
    .unwrap();
    let out = gauntlet(&[
        "data",
        "resample",
        path_str(&input),
        "--to",
        "5m",
        "--out",
        path_str(&output),
        "--format",
        "csv",
    ]);
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout
            .contains("resampled 2 symbols 1m -> 5m: 118 bars in, 23 bars out, 0 partial buckets"),
        "{stdout}"
    );
    assert!(stdout.contains("1 edge buckets dropped"), "{stdout}");
    assert!(output.join("BTC-USD_5m.csv").is_file());
    assert!(output.join("ETH-USD_5m.csv").is_file());

    let reloaded = load(&LoadRequest::new(&output)).unwrap();
    assert_eq!(reloaded.interval, Interval::M5);
    let lengths: Vec<usize> = reloaded.series.iter().map(CandleSeries::len).collect();
    assert_eq!(lengths, [12, 11]);
    // First 5m bar of BTC-USD: volume 1 + 2 + 3 + 4 + 5.
    assert_eq!(reloaded.series[0].volume()[0], 15.0);
}

#[test]
fn resample_defaults_to_the_input_format_and_refuses_bad_data() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    write_universe(&input, &[series("BTC-USD", 10)], FileFormat::Csv).unwrap();
    let output = dir.path().join("out");
    let out = gauntlet(&[
        "data",
        "resample",
        path_str(&input),
        "--to",
        "5m",
        "--out",
        path_str(&output),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(output.join("BTC-USD_5m.csv").is_file());

    let out = gauntlet(&[
        "data",
        "resample",
        path_str(&output),
        "--to",
        "1m",
        "--out",
        path_str(&input),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("must be coarser"), "{}", text(&out));

    let bad = dir.path().join("bad");
    fs::create_dir(&bad).unwrap();
    fs::write(
        bad.join("X_1m.csv"),
        format!("ts,open,high,low,close,volume\n{T0},1,1,1,1,-1\n"),
    )
    .unwrap();
    let out = gauntlet(&[
        "data",
        "resample",
        path_str(&bad),
        "--to",
        "5m",
        "--out",
        path_str(&output),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("X_1m.csv: row 1, column volume"),
        "{}",
        text(&out)
    );
}
