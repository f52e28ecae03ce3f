//! Bad candle files: column types that cannot be read, nulls, CSV fields that do not
//! parse, times before 1970, broken symbolic links, a Parquet footer that makes polars
//! panic, and candles that `data validate` rejects given to `features export` and
//! `calibrate`. Every case exits 2 naming the file and the column or row.

use std::path::Path;

use rstest::rstest;

use crate::common::{assert_fails, gauntlet_in, text};

const T0: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z
const CALIBRATION_START: i64 = 1_704_412_800_000; // 2024-01-05T00:00:00Z
const XGB3_NATIVE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/models/xgb3_native.bundle.json"
);

/// One entry of the data directory.
enum Entry {
    Text(String),
    /// A Parquet file as hex (written with polars' Arrow writer: the types polars cannot
    /// build itself).
    Parquet(&'static str),
    /// A symbolic link to this target (relative to the directory).
    Link(&'static str),
}

/// A CSV of `rows` bars `interval_ms` apart from `start`; `bad` replaces the fields after
/// `ts` of one 1-based data row.
fn csv_from(start: i64, interval_ms: i64, rows: i64, bad: Option<(i64, &str)>) -> Entry {
    let mut text = String::from("ts,open,high,low,close,volume\n");
    for row in 1..=rows {
        let fields = match bad {
            Some((at, fields)) if at == row => fields,
            _ => "1,2,0.5,1.5,10",
        };
        text.push_str(&format!("{},{fields}\n", start + (row - 1) * interval_ms));
    }
    Entry::Text(text)
}

/// A 1m CSV from 2024-01-01.
fn csv(rows: i64, bad: Option<(i64, &str)>) -> Entry {
    csv_from(T0, 60_000, rows, bad)
}

/// A 5m CSV over the calibration window of the fixture members.
fn csv_5m(bad: &str) -> Entry {
    csv_from(CALIBRATION_START, 300_000, 5, Some((2, bad)))
}

fn text_file(text: &str) -> Entry {
    Entry::Text(text.to_string())
}

fn write(dir: &Path, entries: Vec<(&str, Entry)>) {
    for (name, entry) in entries {
        let path = dir.join(name);
        match entry {
            Entry::Text(text) => std::fs::write(path, text).unwrap(),
            Entry::Parquet(hex) => std::fs::write(path, unhex(hex)).unwrap(),
            Entry::Link(target) => std::os::unix::fs::symlink(dir.join(target), path).unwrap(),
        }
    }
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

const VALIDATE: &[&str] = &["data", "validate", "."];
const BACKTEST: &[&str] = &["backtest", "--config", "run.toml", "--out", "out", "-q"];
const EXPORT: &[&str] = &[
    "features",
    "export",
    "--data",
    ".",
    "--set",
    "core31",
    "--out",
    "x.parquet",
];
const CALIBRATE: &[&str] = &[
    "calibrate",
    "--data",
    ".",
    "--interval",
    "5m",
    "--set",
    "core31",
    "--from",
    "2024-01-05",
    "--to",
    "2024-01-08T00:00:00Z",
    "--bundle",
    XGB3_NATIVE,
    "--out-dir",
    "out",
];
const RUN_TOML: &str = "initial_cash = 100000\n\n[data]\npath = \".\"\ninterval = \"1m\"\n\n[strategy]\nkind = \"sma_cross\"\nfast = 10\nslow = 30\n";

#[rstest]
#[case::decimal_close(
    vec![("BTC-USD_1m.parquet", Entry::Parquet(DECIMAL_CLOSE))],
    VALIDATE,
    &["BTC-USD_1m.parquet", "column \"close\" has type decimal128(18,2)", "cast the column to float64"]
)]
#[case::decimal_close_backtest(
    vec![("BTC-USD_1m.parquet", Entry::Parquet(DECIMAL_CLOSE)), ("run.toml", text_file(RUN_TOML))],
    BACKTEST,
    &["BTC-USD_1m.parquet", "column \"close\" has type decimal128(18,2)"]
)]
#[case::uint8_close(
    vec![("BTC-USD_1m.parquet", Entry::Parquet(UINT8_CLOSE))],
    VALIDATE,
    &["BTC-USD_1m.parquet", "column \"close\" has type uint8", "cast the column to float64"]
)]
#[case::uint16_volume(
    vec![("BTC-USD_1m.parquet", Entry::Parquet(UINT16_VOLUME))],
    VALIDATE,
    &["BTC-USD_1m.parquet", "column \"volume\" has type uint16"]
)]
#[case::numbers_as_text_in_parquet(
    vec![("BTC-USD_1m.parquet", Entry::Parquet(TEXT_CLOSE))],
    VALIDATE,
    &["BTC-USD_1m.parquet", "column \"close\" has type str (numbers stored as text", "expected a numeric type"]
)]
#[case::parquet_footer_that_panics_polars(
    vec![("BTC-USD_1m.parquet", Entry::Parquet(PANICKING_FOOTER))],
    VALIDATE,
    &["BTC-USD_1m.parquet", "crashed the Parquet/CSV reader", "write it again"]
)]
#[case::boolean_close(
    vec![("BTC-USD_1m.csv", text_file("ts,open,high,low,close,volume\n1704067200000,1,2,0.5,true,10\n1704067260000,1,2,0.5,false,10\n"))],
    VALIDATE,
    &["BTC-USD_1m.csv", "column \"close\" has type bool", "expected a numeric type"]
)]
#[case::word_in_close(
    vec![("BTC-USD_1m.csv", csv(3, Some((2, "1,2,0.5,abc,10"))))],
    VALIDATE,
    &["BTC-USD_1m.csv", "row 2, column \"close\"", "\"abc\" is not a number"]
)]
#[case::all_null_close(
    vec![("BTC-USD_1m.csv", text_file("ts,open,high,low,close,volume\n1704067200000,1,2,0.5,,10\n1704067260000,1,2,0.5,,10\n"))],
    VALIDATE,
    &["BTC-USD_1m.csv", "column \"close\" has no values"]
)]
#[case::some_null_close(
    vec![("BTC-USD_1m.csv", csv(3, Some((2, "1,2,0.5,,10"))))],
    VALIDATE,
    &["BTC-USD_1m.csv", "row 2, column \"close\": null value"]
)]
#[case::float_timestamps(
    vec![("BTC-USD_1m.csv", text_file("ts,open,high,low,close,volume\n1704067200000.5,1,2,0.5,1.5,10\n"))],
    VALIDATE,
    &["BTC-USD_1m.csv", "column \"ts\" has type f64", "expected integer epoch seconds/milliseconds"]
)]
#[case::negative_epoch_ms(
    vec![("BTC-USD_1m.csv", csv_from(-31_536_000_000, 60_000, 3, None))],
    VALIDATE,
    &["BTC-USD_1m.csv", "row 1, column \"ts\"", "-31536000000 is before 1970", "epoch seconds: 0970-", "ISO-8601 text"]
)]
#[case::dangling_symlink(
    vec![("ETH-USD_1m.csv", csv(2, None)), ("BTC-USD_1m.parquet", Entry::Link("nowhere"))],
    VALIDATE,
    &["BTC-USD_1m.parquet", "broken symbolic link"]
)]
#[case::self_looping_symlink(
    vec![("ETH-USD_1m.csv", csv(2, None)), ("BTC-USD_1m.parquet", Entry::Link("BTC-USD_1m.parquet"))],
    VALIDATE,
    &["BTC-USD_1m.parquet", "broken symbolic link"]
)]
#[case::csv_parse_error_past_type_inference(
    vec![("BTC-USD_1m.csv", csv(150, Some((141, "1,2,0.5,abc,10"))))],
    VALIDATE,
    &["BTC-USD_1m.csv", "row 141, column \"close\"", "cannot parse \"abc\"", "header excluded: line 142"]
)]
#[case::csv_row_with_extra_field(
    vec![("BTC-USD_1m.csv", csv(3, Some((2, "1,2,0.5,1.5,10,7"))))],
    VALIDATE,
    &["BTC-USD_1m.csv", "row 2 has 7 fields but the header has 6"]
)]
#[case::header_only_csv(
    vec![("BTC-USD_1m.csv", text_file("ts,open,high,low,close,volume\n"))],
    VALIDATE,
    &["BTC-USD_1m.csv", "has a header (ts, open, high, low, close, volume) but no data rows"]
)]
#[case::nan_close_export(
    vec![("BTC-USD_5m.csv", csv_5m("1,2,0.5,NaN,10"))],
    EXPORT,
    &["the data has 1 problem(s)", "BTC-USD_5m.csv: row 2, column close", "NaN"]
)]
#[case::negative_volume_export(
    vec![("BTC-USD_5m.csv", csv_5m("1,2,0.5,1.5,-3"))],
    EXPORT,
    &["BTC-USD_5m.csv: row 2, column volume"]
)]
#[case::high_below_low_export(
    vec![("BTC-USD_5m.csv", csv_5m("1,0.4,0.5,0.45,10"))],
    EXPORT,
    &["BTC-USD_5m.csv: row 2, column high"]
)]
#[case::nan_close_calibrate(
    vec![("BTC-USD_5m.csv", csv_5m("1,2,0.5,NaN,10"))],
    CALIBRATE,
    &["the data has 1 problem(s)", "BTC-USD_5m.csv: row 2, column close", "NaN"]
)]
#[case::negative_volume_calibrate(
    vec![("BTC-USD_5m.csv", csv_5m("1,2,0.5,1.5,-3"))],
    CALIBRATE,
    &["BTC-USD_5m.csv: row 2, column volume"]
)]
#[case::high_below_low_calibrate(
    vec![("BTC-USD_5m.csv", csv_5m("1,0.4,0.5,0.45,10"))],
    CALIBRATE,
    &["BTC-USD_5m.csv: row 2, column high"]
)]
fn bad_candle_files(
    #[case] entries: Vec<(&str, Entry)>,
    #[case] args: &[&str],
    #[case] needles: &[&str],
) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), entries);
    let output = gauntlet_in(dir.path(), args);
    assert_fails(&output, 2, needles);
    let said = text(&output);
    for advice in [
        "infer_schema_length",
        "offset in the file",
        "RUST_BACKTRACE",
    ] {
        assert!(!said.contains(advice), "{advice:?} in:\n{said}");
    }
    assert!(
        !dir.path().join("x.parquet").exists(),
        "export wrote output"
    );
}

const DECIMAL_CLOSE: &str = concat!(
    "504152311500151c151c2c1502150015061506000002000000020100f451c28c01000015041925000619180274731500",
    "1602163e163e2608001500151c151c2c15021500150615060000020000000201000000000000f03f150a192500061918",
    "046f70656e15001602163e163e2672001500151c151c2c15021500150615060000020000000201000000000000004015",
    "0a192500061918046869676815001602163e163e26e001001500151c151c2c1502150015061506000002000000020100",
    "0000000000e03f150a192500061918036c6f7715001602163e163e26d002001500151c151c2c15021500150615060000",
    "0200000002019600000000000000150419250006191805636c6f736515001602163e163e26be03001500151c151c2c15",
    "021500150615060000020000000201000000000000f03f150a19250006191806766f6c756d6515001602163e163e26b0",
    "0400191c1608153e16000000191c1672153e16000000191c16e001153e16000000191c16d002153e16000000191c16be",
    "03153e16000000191c16b004153e160000001502197c4804726f6f74150c00150425021802747300150a250218046f70",
    "656e00150a250218046869676800150a250218036c6f7700150425021805636c6f7365250a150415242c5c1504152400",
    "0000150a25021806766f6c756d65001602191c196c26461c150419250006191802747315001602163e163e26080016a4",
    "0515140026b0011c150a192500061918046f70656e15001602163e163e26720016b805151400269e021c150a19250006",
    "1918046869676815001602163e163e26e0010016cc05151600268e031c150a192500061918036c6f7715001602163e16",
    "3e26d0020016e20515160026fc031c150419250006191805636c6f736515001602163e163e26be030016f80515160026",
    "ee041c150a19250006191806766f6c756d6515001602163e163e26b00400168e0615160016f4021602260816f4021400",
    "00190c1806506f6c617273196c1c00001c00001c00001c00001c00001c0000005e01000050415231",
);

const UINT8_CLOSE: &str = concat!(
    "504152311500151c151c2c1502150015061506000002000000020100f451c28c01000015041925000619180274731500",
    "1602163e163e2608001500151c151c2c15021500150615060000020000000201000000000000f03f150a192500061918",
    "046f70656e15001602163e163e2672001500151c151c2c15021500150615060000020000000201000000000000004015",
    "0a192500061918046869676815001602163e163e26e001001500151c151c2c1502150015061506000002000000020100",
    "0000000000e03f150a192500061918036c6f7715001602163e163e26d002001500151415142c15021500150615060000",
    "02000000020101000000150219250006191805636c6f7365150016021636163626be03001500151c151c2c1502150015",
    "0615060000020000000201000000000000f03f150a19250006191806766f6c756d6515001602163e163e26a80400191c",
    "1608153e16000000191c1672153e16000000191c16e001153e16000000191c16d002153e16000000191c16be03153616",
    "000000191c16a804153e160000001502197c4804726f6f74150c00150425021802747300150a250218046f70656e0015",
    "0a250218046869676800150a250218036c6f7700150225021805636c6f736525164cac130812000000150a2502180676",
    "6f6c756d65001602191c196c26461c150419250006191802747315001602163e163e260800169c0515140026b0011c15",
    "0a192500061918046f70656e15001602163e163e26720016b005151400269e021c150a19250006191804686967681500",
    "1602163e163e26e0010016c405151600268e031c150a192500061918036c6f7715001602163e163e26d0020016da0515",
    "160026f4031c150219250006191805636c6f7365150016021636163626be030016f00515160026e6041c150a19250006",
    "191806766f6c756d6515001602163e163e26a8040016860615160016ec021602260816ec02140000190c1806506f6c61",
    "7273196c1c00001c00001c00001c00001c00001c0000005901000050415231",
);

const UINT16_VOLUME: &str = concat!(
    "504152311500151c151c2c1502150015061506000002000000020100f451c28c01000015041925000619180274731500",
    "1602163e163e2608001500151c151c2c15021500150615060000020000000201000000000000f03f150a192500061918",
    "046f70656e15001602163e163e2672001500151c151c2c15021500150615060000020000000201000000000000004015",
    "0a192500061918046869676815001602163e163e26e001001500151c151c2c1502150015061506000002000000020100",
    "0000000000e03f150a192500061918036c6f7715001602163e163e26d002001500151c151c2c15021500150615060000",
    "020000000201000000000000f83f150a19250006191805636c6f736515001602163e163e26be03001500151415142c15",
    "02150015061506000002000000020101000000150219250006191806766f6c756d65150016021636163626b00400191c",
    "1608153e16000000191c1672153e16000000191c16e001153e16000000191c16d002153e16000000191c16be03153e16",
    "000000191c16b0041536160000001502197c4804726f6f74150c00150425021802747300150a250218046f70656e0015",
    "0a250218046869676800150a250218036c6f7700150a25021805636c6f736500150225021806766f6c756d6525184cac",
    "1310120000001602191c196c26461c150419250006191802747315001602163e163e260800169c0515140026b0011c15",
    "0a192500061918046f70656e15001602163e163e26720016b005151400269e021c150a19250006191804686967681500",
    "1602163e163e26e0010016c405151600268e031c150a192500061918036c6f7715001602163e163e26d0020016da0515",
    "160026fc031c150a19250006191805636c6f736515001602163e163e26be030016f00515160026e6041c150219250006",
    "191806766f6c756d65150016021636163626b0040016860615160016ec021602260816ec02140000190c1806506f6c61",
    "7273196c1c00001c00001c00001c00001c00001c0000005901000050415231",
);

const TEXT_CLOSE: &str = concat!(
    "504152311500151c151c2c1502150015061506000002000000020100f451c28c01000015041925000619180274731500",
    "1602163e163e2608001500151c151c2c15021500150615060000020000000201000000000000f03f150a192500061918",
    "046f70656e15001602163e163e2672001500151c151c2c15021500150615060000020000000201000000000000004015",
    "0a192500061918046869676815001602163e163e26e001001500151c151c2c1502150015061506000002000000020100",
    "0000000000e03f150a192500061918036c6f7715001602163e163e26d002001500151a151a2c15021500150615060000",
    "02000000020103000000312e35150c19250006191805636c6f736515001602163c163c26be03001500151c151c2c1502",
    "1500150615060000020000000201000000000000f03f150a19250006191806766f6c756d6515001602163e163e26ae04",
    "00191c1608153e16000000191c1672153e16000000191c16e001153e16000000191c16d002153e16000000191c16be03",
    "153c16000000191c16ae04153e160000001502197c4804726f6f74150c00150425021802747300150a250218046f7065",
    "6e00150a250218046869676800150a250218036c6f7700150c25021805636c6f736525004c1c000000150a2502180676",
    "6f6c756d65001602191c196c26461c150419250006191802747315001602163e163e26080016a20515140026b0011c15",
    "0a192500061918046f70656e15001602163e163e26720016b605151400269e021c150a19250006191804686967681500",
    "1602163e163e26e0010016ca05151600268e031c150a192500061918036c6f7715001602163e163e26d0020016e00515",
    "160026fa031c150c19250006191805636c6f736515001602163c163c26be030016f60515160026ec041c150a19250006",
    "191806766f6c756d6515001602163e163e26ae0400168c0615160016f2021602260816f202140000190c1806506f6c61",
    "7273196c1c00001c00001c00001c00001c00001c0000005601000050415231",
);

const PANICKING_FOOTER: &str = concat!(
    "504152311500151c151c2c1502150015061506000002000000020100f451c28c01000015041925000619180274731500",
    "1602163e163e2608001500151c151c2c15021500150615060000020000000201000000000000f03f150a192500061918",
    "046f70656e15001602163e163e2672001500151c151c2c15021500150615060000020000000201000000000000004015",
    "0a192500061918046869676815001602163e163e26e001001500151c151c2c1502150015061506000002000000020100",
    "0000000000e03f150a192500061918036c6f7715001602163e163e26d002001500151c151c2c15021500150615060000",
    "020000000201000000000000f83f150a19250006191805636c6f736515001602163e163e26be03001500151415142c15",
    "02150015061506000002000000020101000000150219250006191806766f6c756d65150016021636163626b00400191c",
    "1608153e16000000191c1672153e16000000191c16e001153e16000000191c16d002153e16000000191c16be03153e16",
    "000000191c16b0041536160000001502197c4804726f6f74150c00150425021802747300150a250218046f70656e0015",
    "0a250218046869676800150a250218036c6f7700150a25021805636c6f736500150225021806766f6c756d6525184cac",
    "1310120000001602191c196c26461c150419250006191802747315001602163e163e260800169c0515140026b0011c15",
    "0a192500061918046f70656e15001602163e163e26720016b005151400269e021c150a19250006a21804686967681500",
    "1602163e163e26e0010016c405151600268e031c150a192500061918036c6f7715001602163e163e26d0020016da0515",
    "160026fc031c150a19250006191805636c6f736515001602163e163e26be030016f00515160026e6041c150219250006",
    "191806766f6c756d65150016021636163626b0040016860615160016ec021602260816ec02140000190c1806506f6c61",
    "7273196c1c00001c00001c00001c00001c00001c0000005901000050415231",
);
