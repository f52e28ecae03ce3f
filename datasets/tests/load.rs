//! Loading: layouts, timestamp forms, pushdown filters and every load-time error.

use std::fs;
use std::path::Path;

use gauntlet_datasets::load::{FileRows, Layout, TimestampUnit};
use gauntlet_datasets::write::{file_name, write_series, write_universe};
use gauntlet_datasets::{
    load, CandleSeries, FileFormat, Interval, LoadError, LoadRequest, SymbolFilter,
};
use polars::prelude::*;

const T0: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z
const MIN: i64 = 60_000;

fn series(symbol: &str, n: i64, base: f64) -> CandleSeries {
    let mut s = CandleSeries::with_capacity(symbol, Interval::M1, n as usize);
    for i in 0..n {
        let p = base + i as f64;
        s.push(T0 + i * MIN, p, p + 1.0, p - 1.0, p + 0.5, 10.0 + i as f64);
    }
    s
}

fn request(path: &Path) -> LoadRequest {
    LoadRequest::new(path)
}

fn write_text(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn per_symbol_parquet_round_trip_sorted_by_symbol() {
    let dir = tempfile::tempdir().unwrap();
    let written = [series("SOL-USD", 5, 20.0), series("BTC-USD", 4, 40_000.0)];
    write_universe(dir.path(), &written, FileFormat::Parquet).unwrap();
    fs::write(dir.path().join("README.md"), "not data").unwrap();

    let loaded = load(&request(dir.path())).unwrap();
    assert_eq!(loaded.layout, Layout::PerSymbol);
    assert_eq!(loaded.interval, Interval::M1);
    assert_eq!(loaded.series, vec![written[1].clone(), written[0].clone()]);
    assert_eq!(loaded.bars(), 9);
    let source = &loaded.sources[0];
    assert_eq!(source.file, dir.path().join("BTC-USD_1m.parquet"));
    assert_eq!(source.timestamp_column, "ts");
    assert_eq!(source.timestamp_unit, TimestampUnit::EpochMillis);
    assert_eq!(source.rows, FileRows::Contiguous { first: 1 });
}

#[test]
fn csv_with_epoch_seconds_and_capitalised_names() {
    let dir = tempfile::tempdir().unwrap();
    let s = T0 / 1000;
    write_text(
        dir.path(),
        "ETH_USD_1m.csv",
        &format!(
            "Timestamp,Open,HIGH,Low,Close,Volume\n{s},1,2,0.5,1.5,10\n{},1.5,2,1,1.8,3\n",
            s + 60
        ),
    );
    let loaded = load(&request(dir.path())).unwrap();
    let series = &loaded.series[0];
    assert_eq!(series.symbol(), "ETH_USD");
    assert_eq!(series.ts(), &[T0, T0 + MIN]);
    assert_eq!(series.close(), &[1.5, 1.8]);
    assert_eq!(series.volume(), &[10.0, 3.0]);
    assert_eq!(loaded.sources[0].timestamp_column, "Timestamp");
    assert_eq!(
        loaded.sources[0].timestamp_unit,
        TimestampUnit::EpochSeconds
    );
}

#[test]
fn csv_with_iso_text_in_several_forms() {
    let dir = tempfile::tempdir().unwrap();
    write_text(
        dir.path(),
        "X_1m.csv",
        "date,open,high,low,close,volume\n\
         2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n\
         2024-01-01 00:01:00,1,2,0.5,1.5,10\n\
         2024-01-01T02:02:00+02:00,1,2,0.5,1.5,10\n",
    );
    let loaded = load(&request(dir.path())).unwrap();
    assert_eq!(loaded.series[0].ts(), &[T0, T0 + MIN, T0 + 2 * MIN]);
    assert_eq!(loaded.sources[0].timestamp_column, "date");
    assert_eq!(loaded.sources[0].timestamp_unit, TimestampUnit::Iso8601);
}

#[test]
fn native_datetime_column_is_read_as_milliseconds() {
    let dir = tempfile::tempdir().unwrap();
    let micros: Vec<i64> = (0..3).map(|i| (T0 + i * MIN) * 1000).collect();
    let ts = Series::new("open_time".into(), micros)
        .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
        .unwrap();
    let ones = |name: &str| Column::new(name.into(), vec![1.0f64; 3]);
    let mut frame = DataFrame::new(
        3,
        vec![
            ts.into(),
            ones("open"),
            ones("high"),
            ones("low"),
            ones("close"),
            Column::new("volume".into(), vec![5i64; 3]),
        ],
    )
    .unwrap();
    let path = dir.path().join("DT_1m.parquet");
    ParquetWriter::new(fs::File::create(&path).unwrap())
        .finish(&mut frame)
        .unwrap();
    let mut req = request(dir.path());
    req.window = Some((T0 + MIN, T0 + 10 * MIN));
    let loaded = load(&req).unwrap();
    assert_eq!(loaded.series[0].ts(), &[T0 + MIN, T0 + 2 * MIN]);
    assert_eq!(loaded.series[0].volume(), &[5.0, 5.0]);
    assert_eq!(
        loaded.sources[0].timestamp_unit,
        TimestampUnit::NativeDatetime
    );
    assert_eq!(loaded.sources[0].rows, FileRows::Contiguous { first: 2 });
}

#[test]
fn symbol_filter_never_opens_other_files() {
    let dir = tempfile::tempdir().unwrap();
    write_universe(
        dir.path(),
        &[series("BTC-USD", 3, 10.0)],
        FileFormat::Parquet,
    )
    .unwrap();
    // A corrupt file for another symbol: loading it would fail.
    fs::write(dir.path().join("ZZZ_1m.parquet"), b"not parquet").unwrap();
    let mut req = request(dir.path());
    req.symbols = SymbolFilter::Only(vec!["BTC-USD".into()]);
    let loaded = load(&req).unwrap();
    assert_eq!(loaded.series.len(), 1);
    assert_eq!(loaded.series[0].symbol(), "BTC-USD");

    // An empty selection means every symbol, so the corrupt file is opened.
    req.symbols = SymbolFilter::Only(Vec::new());
    assert!(matches!(load(&req), Err(LoadError::Read { .. })));

    let err = load(&request(dir.path())).unwrap_err();
    assert!(matches!(err, LoadError::Read { .. }), "{err}");
    assert!(err.to_string().contains("ZZZ_1m.parquet"), "{err}");
}

#[test]
fn unknown_symbol_is_named_with_the_available_ones() {
    let dir = tempfile::tempdir().unwrap();
    write_universe(
        dir.path(),
        &[series("BTC-USD", 3, 10.0), series("ETH-USD", 3, 10.0)],
        FileFormat::Csv,
    )
    .unwrap();
    let mut req = request(dir.path());
    req.symbols = SymbolFilter::Only(vec!["BTC-USD".into(), "DOGE-USD".into()]);
    let err = load(&req).unwrap_err().to_string();
    assert!(err.contains("DOGE-USD"), "{err}");
    assert!(err.contains("available: BTC-USD, ETH-USD"), "{err}");
}

#[test]
fn window_is_half_open_and_keeps_file_rows() {
    let dir = tempfile::tempdir().unwrap();
    for format in [FileFormat::Parquet, FileFormat::Csv] {
        write_universe(dir.path(), &[series("BTC-USD", 10, 10.0)], format).unwrap();
        let path = dir.path().join(file_name("BTC-USD", Interval::M1, format));
        let mut req = request(&path);
        req.window = Some((T0 + 3 * MIN, T0 + 6 * MIN));
        let loaded = load(&req).unwrap();
        let s = &loaded.series[0];
        assert_eq!(
            s.ts(),
            &[T0 + 3 * MIN, T0 + 4 * MIN, T0 + 5 * MIN],
            "{format}"
        );
        assert_eq!(s.open(), &[13.0, 14.0, 15.0]);
        assert_eq!(loaded.sources[0].rows, FileRows::Contiguous { first: 4 });
    }
}

#[test]
fn window_with_epoch_seconds_is_converted_before_pushdown() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("ts,open,high,low,close,volume\n");
    for i in 0..5 {
        text.push_str(&format!("{},1,1,1,1,1\n", T0 / 1000 + i * 60));
    }
    let path = write_text(dir.path(), "S_1m.csv", &text);
    let mut req = request(&path);
    // From mid-bar: the bar at T0 + 1 min opens before it and is excluded.
    req.window = Some((T0 + MIN + 1, T0 + 3 * MIN));
    let loaded = load(&req).unwrap();
    assert_eq!(loaded.series[0].ts(), &[T0 + 2 * MIN]);
}

fn long_frame() -> DataFrame {
    // Interleaved rows: A, B, A, B, ... (8 rows, 4 per symbol).
    let n = 8;
    let symbols: Vec<&str> = (0..n).map(|i| if i % 2 == 0 { "A" } else { "B" }).collect();
    let ts: Vec<i64> = (0..n).map(|i| T0 + (i / 2) * MIN).collect();
    let price: Vec<f64> = (0..n).map(|i| 100.0 + i as f64).collect();
    DataFrame::new(
        n as usize,
        vec![
            Column::new("Symbol".into(), symbols),
            Column::new("time".into(), ts),
            Column::new("open".into(), price.clone()),
            Column::new("high".into(), price.clone()),
            Column::new("low".into(), price.clone()),
            Column::new("close".into(), price.clone()),
            Column::new("volume".into(), price),
        ],
    )
    .unwrap()
}

#[test]
fn long_parquet_file_groups_filters_and_infers_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("universe.parquet");
    ParquetWriter::new(fs::File::create(&path).unwrap())
        .finish(&mut long_frame())
        .unwrap();

    let all = load(&request(&path)).unwrap();
    assert_eq!(all.layout, Layout::Long);
    assert_eq!(all.interval, Interval::M1);
    let symbols: Vec<&str> = all.series.iter().map(|s| s.symbol()).collect();
    assert_eq!(symbols, ["A", "B"]);
    assert_eq!(all.series[1].open(), &[101.0, 103.0, 105.0, 107.0]);
    assert_eq!(all.sources[1].rows, FileRows::Listed(vec![2, 4, 6, 8]));
    assert_eq!(all.sources[1].timestamp_column, "time");

    let mut req = request(&path);
    req.symbols = SymbolFilter::Only(vec!["B".into()]);
    req.window = Some((T0 + MIN, T0 + 3 * MIN));
    let some = load(&req).unwrap();
    assert_eq!(some.series.len(), 1);
    assert_eq!(some.series[0].ts(), &[T0 + MIN, T0 + 2 * MIN]);
    assert_eq!(some.sources[0].rows, FileRows::Listed(vec![4, 6]));

    req.symbols = SymbolFilter::Only(vec!["C".into()]);
    let err = load(&req).unwrap_err().to_string();
    assert!(err.contains("symbol(s) C not found"), "{err}");
    assert!(err.contains("available: A, B"), "{err}");

    req.symbols = SymbolFilter::All;
    req.window = None;
    req.interval = Some(Interval::M5);
    let err = load(&req).unwrap_err().to_string();
    assert!(err.contains("interval 5m requested"), "{err}");
}

#[test]
fn long_csv_with_iso_timestamps_and_window() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_text(
        dir.path(),
        "long.csv",
        "symbol,timestamp,open,high,low,close,volume\n\
         X,2024-01-01T00:00:00Z,1,1,1,1,1\n\
         X,2024-01-01T00:05:00Z,2,2,2,2,2\n\
         Y,2024-01-01T00:00:00Z,3,3,3,3,3\n\
         X,2024-01-01T00:10:00Z,4,4,4,4,4\n\
         Y,2024-01-01T00:05:00Z,5,5,5,5,5\n",
    );
    let mut req = request(&path);
    req.window = Some((T0 + 5 * MIN, T0 + 60 * MIN));
    let loaded = load(&req).unwrap();
    assert_eq!(loaded.interval, Interval::M5);
    assert_eq!(loaded.series[0].open(), &[2.0, 4.0]);
    assert_eq!(loaded.sources[0].rows, FileRows::Listed(vec![2, 4]));
    assert_eq!(loaded.series[1].open(), &[5.0]);
    assert_eq!(loaded.sources[1].rows, FileRows::Contiguous { first: 5 });
}

fn load_err(path: &Path) -> String {
    load(&request(path)).unwrap_err().to_string()
}

#[test]
fn missing_column_lists_the_columns_present() {
    let dir = tempfile::tempdir().unwrap();
    write_text(
        dir.path(),
        "X_1m.csv",
        "ts,open,high,low,close\n0,1,1,1,1\n",
    );
    let err = load_err(dir.path());
    assert!(err.contains("X_1m.csv"), "{err}");
    assert!(err.contains("missing required column \"volume\""), "{err}");
    assert!(
        err.contains("columns present: ts, open, high, low, close"),
        "{err}"
    );

    write_text(
        dir.path(),
        "X_1m.csv",
        "when,open,high,low,close,volume\n0,1,1,1,1,1\n",
    );
    let err = load_err(dir.path());
    assert!(err.contains("\"timestamp\""), "{err}");
    assert!(
        err.contains("ts, timestamp, time, date, open_time"),
        "{err}"
    );
}

#[test]
fn text_in_a_price_column_names_the_row() {
    let dir = tempfile::tempdir().unwrap();
    write_text(
        dir.path(),
        "X_1m.csv",
        "ts,open,high,low,close,volume\n0,1,1,1,abc,1\n",
    );
    let err = load_err(dir.path());
    assert!(err.contains("X_1m.csv"), "{err}");
    assert!(err.contains("row 1, column \"close\""), "{err}");
    assert!(err.contains("\"abc\" is not a number"), "{err}");
}

#[test]
fn null_value_names_file_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    write_text(
        dir.path(),
        "X_1m.csv",
        "ts,open,high,low,close,volume\n0,1,1,1,1,1\n60000,1,1,1,1,\n",
    );
    let err = load_err(dir.path());
    assert!(
        err.contains("X_1m.csv: row 2, column \"volume\": null value"),
        "{err}"
    );
}

#[test]
fn unparseable_timestamp_names_file_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    write_text(
        dir.path(),
        "X_1m.csv",
        "time,open,high,low,close,volume\n2024-01-01 00:00:00,1,1,1,1,1\nsoon,1,1,1,1,1\n",
    );
    let err = load_err(dir.path());
    assert!(err.contains("X_1m.csv: row 2, column \"time\""), "{err}");
    assert!(err.contains("\"soon\""), "{err}");
}

#[test]
fn mixed_second_and_millisecond_timestamps_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    write_text(
        dir.path(),
        "X_1m.csv",
        &format!(
            "ts,open,high,low,close,volume\n{T0},1,1,1,1,1\n{},1,1,1,1,1\n",
            T0 / 1000
        ),
    );
    let err = load_err(dir.path());
    assert!(err.contains("row 2, column \"ts\""), "{err}");
    assert!(err.contains("epoch milliseconds"), "{err}");
}

#[test]
fn corrupt_file_is_a_read_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("BAD_1m.parquet");
    fs::write(&path, b"PAR1 garbage").unwrap();
    let err = load_err(dir.path());
    assert!(err.starts_with("cannot read"), "{err}");
    assert!(err.contains("BAD_1m.parquet"), "{err}");
}

#[test]
fn empty_directory_and_missing_path() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_err(dir.path());
    assert!(err.contains("no candle files found"), "{err}");
    assert!(err.contains("<SYMBOL>_<interval>.parquet"), "{err}");

    let err = load_err(&dir.path().join("nope"));
    assert!(err.contains("no such file or directory"), "{err}");
}

#[test]
fn unknown_file_name_states_the_pattern() {
    let dir = tempfile::tempdir().unwrap();
    write_text(dir.path(), "prices.csv", "ts,open,high,low,close,volume\n");
    let err = load_err(dir.path());
    assert!(err.contains("prices.csv"), "{err}");
    assert!(
        err.contains("expected <SYMBOL>_<interval>.parquet"),
        "{err}"
    );

    write_text(dir.path(), "prices.csv", "x\n");
    fs::rename(dir.path().join("prices.csv"), dir.path().join("BTC_2m.csv")).unwrap();
    let err = load_err(dir.path());
    assert!(err.contains("\"2m\" is not an interval"), "{err}");
}

#[test]
fn interval_is_taken_from_file_names_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let s = series("BTC-USD", 3, 10.0);
    write_series(&dir.path().join("BTC-USD_1m.csv"), &s, FileFormat::Csv).unwrap();
    let mut req = request(dir.path());
    req.interval = Some(Interval::M5);
    let err = load(&req).unwrap_err().to_string();
    assert!(
        err.contains("interval 5m requested but the data is 1m"),
        "{err}"
    );

    // A 1m file named 5m: the spacing disagrees with the name.
    fs::rename(
        dir.path().join("BTC-USD_1m.csv"),
        dir.path().join("BTC-USD_5m.csv"),
    )
    .unwrap();
    let err = load_err(dir.path());
    assert!(err.contains("BTC-USD_5m.csv"), "{err}");
    assert!(err.contains("1m (most common spacing"), "{err}");

    // Two intervals in one directory: ambiguous unless one is chosen.
    write_series(&dir.path().join("BTC-USD_1m.csv"), &s, FileFormat::Csv).unwrap();
    let mut req = request(dir.path());
    req.interval = Some(Interval::M1);
    assert_eq!(load(&req).unwrap().series[0], s);
    let err = load_err(dir.path());
    assert!(err.contains("several intervals (1m, 5m)"), "{err}");
    fs::remove_file(dir.path().join("BTC-USD_5m.csv")).unwrap();

    // Irregular spacing that is no interval loads; validation reports it row by row.
    let mut sparse = CandleSeries::with_capacity("ODD", Interval::M1, 4);
    for k in [0, 2, 4, 6] {
        sparse.push(T0 + k * MIN + k * 1000, 1.0, 1.0, 1.0, 1.0, 1.0);
    }
    write_series(&dir.path().join("ODD_1m.csv"), &sparse, FileFormat::Csv).unwrap();
    assert_eq!(load(&request(dir.path())).unwrap().series.len(), 2);
}

#[test]
fn duplicate_symbol_in_two_formats_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let s = series("BTC-USD", 3, 10.0);
    write_universe(dir.path(), std::slice::from_ref(&s), FileFormat::Csv).unwrap();
    write_universe(dir.path(), &[s], FileFormat::Parquet).unwrap();
    let err = load_err(dir.path());
    assert!(err.contains("symbol BTC-USD has two files"), "{err}");
}

#[test]
fn inverted_window_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(dir.path());
    req.window = Some((T0, T0));
    let err = load(&req).unwrap_err().to_string();
    assert!(
        err.contains("from 2024-01-01T00:00:00Z must be before"),
        "{err}"
    );
}
