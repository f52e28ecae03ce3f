//! Every column type a candle file can carry: the ones with a clear meaning load to the
//! same series as float64 prices and epoch-millisecond times; the others are refused
//! with the file, the column (and row) and the type found and expected named.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars_arrow::array::{
    Array, BooleanArray, DictionaryArray, NullArray, PrimitiveArray, Utf8Array, Utf8ViewArray,
};
use polars_arrow::datatypes::{ArrowDataType, ArrowSchema, Field, TimeUnit};
use polars_arrow::record_batch::RecordBatchT;
use polars_buffer::Buffer;
use polars_parquet::arrow::write::{FileWriter, WriteOptions};
use polars_parquet::write::{
    CompressionOptions, Encoding, RowGroupIterator, StatisticsOptions, Version,
};
use proptest::prelude::*;
use rstest::rstest;

use gauntlet_datasets::{load, CandleSeries, LoadRequest};

const T0: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z
const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;

/// Writes one row group of `columns` to `path` with polars' own Parquet writer.
fn write_parquet(path: &Path, columns: Vec<(&str, Box<dyn Array>)>) {
    let schema = ArrowSchema::from_iter(
        columns
            .iter()
            .map(|(name, array)| Field::new((*name).into(), array.dtype().clone(), true)),
    );
    let options = WriteOptions {
        statistics: StatisticsOptions::full(),
        compression: CompressionOptions::Uncompressed,
        version: Version::V2,
        data_page_size: None,
    };
    let encodings: Vec<Vec<Encoding>> = schema
        .iter_values()
        .map(|field| match field.dtype {
            ArrowDataType::Dictionary(..) => vec![Encoding::RleDictionary],
            _ => vec![Encoding::Plain],
        })
        .collect();
    let arrays: Vec<Box<dyn Array>> = columns.into_iter().map(|(_, array)| array).collect();
    let batch = RecordBatchT::try_new(arrays[0].len(), Arc::new(schema.clone()), arrays).unwrap();
    let groups = RowGroupIterator::try_new(
        std::iter::once(Ok(batch)),
        &schema,
        options,
        Buffer::from_iter(encodings),
    )
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = FileWriter::try_new(file, schema, options).unwrap();
    for group in groups {
        writer.write(u64::MAX, group.unwrap()).unwrap();
    }
    writer.end(None).unwrap();
}

fn f64s(values: &[f64]) -> Box<dyn Array> {
    Box::new(PrimitiveArray::<f64>::from_slice(values))
}

fn i64s(values: &[i64]) -> Box<dyn Array> {
    Box::new(PrimitiveArray::<i64>::from_slice(values))
}

const CLOSE: [f64; 3] = [1.0, 2.0, 3.0];

/// A 1m file `BTC_1m.parquet` of three bars with `ts` and `close` as given.
fn candle_file(dir: &Path, ts: Box<dyn Array>, close: Box<dyn Array>) -> PathBuf {
    let path = dir.join("BTC_1m.parquet");
    write_parquet(
        &path,
        vec![
            ("ts", ts),
            ("open", f64s(&[1.0, 2.0, 3.0])),
            ("high", f64s(&[4.0, 5.0, 6.0])),
            ("low", f64s(&[0.5, 0.5, 0.5])),
            ("close", close),
            ("volume", f64s(&[1.0, 1.0, 1.0])),
        ],
    );
    path
}

fn ms_times() -> Box<dyn Array> {
    i64s(&[T0, T0 + MIN, T0 + 2 * MIN])
}

fn load_one(path: &Path) -> Result<CandleSeries, String> {
    load(&LoadRequest::new(path))
        .map(|mut universe| universe.series.remove(0))
        .map_err(|err| err.to_string())
}

/// The reference: float64 prices, epoch-millisecond times.
fn reference() -> CandleSeries {
    let dir = tempfile::tempdir().unwrap();
    load_one(&candle_file(dir.path(), ms_times(), f64s(&CLOSE))).unwrap()
}

fn timestamps(unit: TimeUnit, per_ms: i64, zone: Option<&str>) -> Box<dyn Array> {
    let values: Vec<i64> = (0..3).map(|i| (T0 + i * MIN) * per_ms).collect();
    Box::new(
        PrimitiveArray::<i64>::from_vec(values)
            .to(ArrowDataType::Timestamp(unit, zone.map(Into::into))),
    )
}

#[rstest]
#[case::int8(Box::new(PrimitiveArray::<i8>::from_slice([1, 2, 3])))]
#[case::int16(Box::new(PrimitiveArray::<i16>::from_slice([1, 2, 3])))]
#[case::int32(Box::new(PrimitiveArray::<i32>::from_slice([1, 2, 3])))]
#[case::int64(i64s(&[1, 2, 3]))]
#[case::uint32(Box::new(PrimitiveArray::<u32>::from_slice([1, 2, 3])))]
#[case::uint64(Box::new(PrimitiveArray::<u64>::from_slice([1, 2, 3])))]
#[case::float32(Box::new(PrimitiveArray::<f32>::from_slice([1.0, 2.0, 3.0])))]
#[case::dictionary(Box::new(
    DictionaryArray::<u32>::try_from_keys(
        PrimitiveArray::from_slice([0u32, 1, 2]),
        f64s(&CLOSE),
        false,
    )
    .unwrap()
))]
fn numeric_prices_load_like_float64(#[case] close: Box<dyn Array>) {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load_one(&candle_file(dir.path(), ms_times(), close)).unwrap();
    assert_eq!(loaded, reference());
}

#[rstest]
#[case::uint8(Box::new(PrimitiveArray::<u8>::from_slice([1, 2, 3])), &["uint8", "cast the column to float64"])]
#[case::uint16(Box::new(PrimitiveArray::<u16>::from_slice([1, 2, 3])), &["uint16", "cast the column to float64"])]
#[case::decimal(
    Box::new(PrimitiveArray::<i128>::from_slice([100, 200, 300]).to(ArrowDataType::Decimal(18, 2))),
    &["decimal128(18,2)", "cast the column to float64"]
)]
#[case::numbers_as_text(
    Box::new(Utf8ViewArray::from_slice_values(["1", "2", "3"])),
    &["numbers stored as text", "expected a numeric type"]
)]
#[case::numbers_as_large_text(
    Box::new(Utf8Array::<i64>::from_slice(["1", "2", "3"])),
    &["numbers stored as text"]
)]
#[case::words(
    Box::new(Utf8ViewArray::from_slice_values(["1", "two", "3"])),
    &["row 2", "\"two\" is not a number"]
)]
#[case::boolean(Box::new(BooleanArray::from_slice([true, false, true])), &["type bool", "expected a numeric type"])]
#[case::all_null(Box::new(NullArray::new(ArrowDataType::Null, 3)), &["has no values"])]
#[case::some_null(Box::new(PrimitiveArray::<f64>::from([Some(1.0), None, Some(3.0)])), &["row 2", "null value"])]
#[case::datetime(timestamps(TimeUnit::Millisecond, 1, None), &["type datetime[ms]", "expected a numeric type"])]
fn other_price_types_are_refused(#[case] close: Box<dyn Array>, #[case] needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = candle_file(dir.path(), ms_times(), close);
    let err = load_one(&path).unwrap_err();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("\"close\""), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} missing: {err}");
    }
}

#[rstest]
#[case::epoch_ms_int64(ms_times())]
#[case::epoch_ms_uint64(Box::new(PrimitiveArray::<u64>::from_slice([T0 as u64, (T0 + MIN) as u64, (T0 + 2 * MIN) as u64])))]
#[case::epoch_s_int32(Box::new(PrimitiveArray::<i32>::from_slice([(T0 / 1000) as i32, ((T0 + MIN) / 1000) as i32, ((T0 + 2 * MIN) / 1000) as i32])))]
#[case::timestamp_ms(timestamps(TimeUnit::Millisecond, 1, None))]
#[case::timestamp_us(timestamps(TimeUnit::Microsecond, 1_000, None))]
#[case::timestamp_ns(timestamps(TimeUnit::Nanosecond, 1_000_000, None))]
#[case::timestamp_utc(timestamps(TimeUnit::Millisecond, 1, Some("UTC")))]
#[case::timestamp_new_york(timestamps(TimeUnit::Microsecond, 1_000, Some("America/New_York")))]
#[case::iso_text(Box::new(Utf8ViewArray::from_slice_values(["2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z", "2024-01-01T01:02:00+01:00"])))]
#[case::iso_dictionary(Box::new(
    DictionaryArray::<u32>::try_from_keys(
        PrimitiveArray::from_slice([0u32, 1, 2]),
        Box::new(Utf8ViewArray::from_slice_values(["2024-01-01 00:00:00", "2024-01-01 00:01:00", "2024-01-01 00:02:00"])),
        false,
    )
    .unwrap()
))]
fn time_types_load_as_epoch_milliseconds(#[case] ts: Box<dyn Array>) {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load_one(&candle_file(dir.path(), ts, f64s(&CLOSE))).unwrap();
    assert_eq!(loaded, reference());
}

#[test]
fn second_timestamps_are_scaled() {
    let dir = tempfile::tempdir().unwrap();
    let seconds: Vec<i64> = (0..3).map(|i| (T0 + i * MIN) / 1000).collect();
    let ts = Box::new(
        PrimitiveArray::<i64>::from_vec(seconds)
            .to(ArrowDataType::Timestamp(TimeUnit::Second, None)),
    );
    assert_eq!(
        load_one(&candle_file(dir.path(), ts, f64s(&CLOSE))).unwrap(),
        reference()
    );
}

#[test]
fn dates_are_midnight_utc() {
    let dir = tempfile::tempdir().unwrap();
    let days = (T0 / DAY) as i32;
    let path = dir.path().join("BTC_1d.parquet");
    write_parquet(
        &path,
        vec![
            (
                "date",
                Box::new(
                    PrimitiveArray::<i32>::from_slice([days, days + 1, days + 2])
                        .to(ArrowDataType::Date32),
                ),
            ),
            ("open", f64s(&[1.0, 2.0, 3.0])),
            ("high", f64s(&[4.0, 5.0, 6.0])),
            ("low", f64s(&[0.5, 0.5, 0.5])),
            ("close", f64s(&CLOSE)),
            ("volume", f64s(&[1.0, 1.0, 1.0])),
        ],
    );
    let loaded = load_one(&path).unwrap();
    assert_eq!(loaded.ts(), &[T0, T0 + DAY, T0 + 2 * DAY]);
}

#[rstest]
#[case::float(f64s(&[T0 as f64, (T0 + MIN) as f64, (T0 + 2 * MIN) as f64]), &["type f64", "expected integer epoch"])]
#[case::boolean(Box::new(BooleanArray::from_slice([true, false, true])), &["type bool"])]
#[case::all_null(Box::new(NullArray::new(ArrowDataType::Null, 3)), &["has no values"])]
#[case::some_null(Box::new(PrimitiveArray::<i64>::from([Some(T0), None, Some(T0 + 2 * MIN)])), &["row 2", "null value"])]
#[case::uint8(Box::new(PrimitiveArray::<u8>::from_slice([1, 2, 3])), &["uint8"])]
#[case::negative_ms(i64s(&[-31_536_000_000, -31_535_940_000, -31_535_880_000]), &["row 1", "-31536000000 is before 1970", "epoch seconds: 0970-", "ISO-8601 text"])]
#[case::negative_later_row(i64s(&[0, -60, 60]), &["row 2", "-60 is before 1970"])]
#[case::decimal(
    Box::new(PrimitiveArray::<i128>::from_slice([1, 2, 3]).to(ArrowDataType::Decimal(38, 0))),
    &["decimal128(38,0)"]
)]
fn other_time_types_are_refused(#[case] ts: Box<dyn Array>, #[case] needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = candle_file(dir.path(), ts, f64s(&CLOSE));
    let err = load_one(&path).unwrap_err();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("\"ts\""), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} missing: {err}");
    }
}

/// A valid 1m CSV of `rows` bars, with `bad` replacing the close of row `bad_row`.
fn csv_text(rows: i64, bad_row: Option<(i64, &str)>) -> String {
    let mut text = String::from("ts,open,high,low,close,volume\n");
    for row in 1..=rows {
        let close = match bad_row {
            Some((r, value)) if r == row => value.to_string(),
            _ => "1.5".to_string(),
        };
        text.push_str(&format!("{},1,2,0.5,{close},10\n", T0 + (row - 1) * MIN));
    }
    text
}

#[rstest]
#[case::parse_error_past_inference(csv_text(150, Some((141, "abc"))), &["row 141, column \"close\"", "cannot parse \"abc\"", "line 142"])]
#[case::not_a_number(csv_text(3, Some((2, "abc"))), &["row 2, column \"close\"", "\"abc\" is not a number"])]
#[case::empty_cell(csv_text(3, Some((2, ""))), &["row 2, column \"close\"", "null value"])]
#[case::boolean_column("ts,open,high,low,close,volume\n1704067200000,1,2,0.5,true,10\n".to_string(), &["column \"close\" has type bool"])]
#[case::empty_column("ts,open,high,low,close,volume\n1704067200000,1,2,0.5,,10\n".to_string(), &["column \"close\" has no values"])]
#[case::header_only("ts,open,high,low,close,volume\n".to_string(), &["has a header (ts, open, high, low, close, volume) but no data rows"])]
#[case::extra_field(format!("{}1704070800000,1,2,0.5,1.5,10,7\n", csv_text(2, None)), &["row 3 has 7 fields but the header has 6", "line 4"])]
fn csv_errors_name_row_and_column(#[case] text: String, #[case] needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("BTC_1m.csv");
    std::fs::write(&path, text).unwrap();
    let err = load_one(&path).unwrap_err();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(!err.contains("infer_schema_length"), "Python advice: {err}");
    assert!(!err.contains("offset"), "byte offset: {err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} missing: {err}");
    }
}

#[cfg(unix)]
#[rstest]
#[case::dangling("nowhere.parquet")]
#[case::self_loop("BTC-USD_1m.parquet")]
fn broken_links_named_like_candle_files_are_errors(#[case] target: &str) {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("BTC-USD_1m.parquet");
    std::os::unix::fs::symlink(dir.path().join(target), &link).unwrap();
    let err = load(&LoadRequest::new(dir.path())).unwrap_err().to_string();
    assert!(err.contains(&link.display().to_string()), "{err}");
    assert!(err.contains("broken symbolic link"), "{err}");
}

#[cfg(unix)]
#[test]
fn links_to_candle_files_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let target = candle_file(data.path(), ms_times(), f64s(&CLOSE));
    std::os::unix::fs::symlink(&target, dir.path().join("BTC_1m.parquet")).unwrap();
    assert_eq!(load_one(dir.path()).unwrap(), reference());
}

/// The bytes of a valid candle file of `format` ("csv" or "parquet").
fn valid_bytes(format: &str) -> Vec<u8> {
    match format {
        "csv" => csv_text(5, None).into_bytes(),
        _ => {
            let dir = tempfile::tempdir().unwrap();
            std::fs::read(candle_file(dir.path(), ms_times(), f64s(&CLOSE))).unwrap()
        }
    }
}

/// Arbitrary bytes, or a valid file with a few bytes overwritten and perhaps truncated.
fn damaged(format: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let valid = valid_bytes(format);
    let mutated = (
        proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        any::<Option<usize>>(),
    )
        .prop_map(move |(edits, cut)| {
            let mut bytes = valid.clone();
            for (at, byte) in edits {
                let len = bytes.len();
                bytes[at % len] = byte;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut % (bytes.len() + 1));
            }
            bytes
        });
    prop_oneof![proptest::collection::vec(any::<u8>(), 0..300), mutated]
}

/// Loading `bytes` as `BTC_1m.<format>` returns Ok or an error naming the file, without
/// panicking, quickly. (polars does panic on some damaged Parquet footers, e.g. "thrift
/// bool field"; the loader turns that into an error naming the file.)
fn loads_or_fails(format: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("BTC_1m.{format}"));
    std::fs::write(&path, bytes).unwrap();
    let started = std::time::Instant::now();
    let outcome = std::panic::catch_unwind(|| load(&LoadRequest::new(&path)).map(|_| ()));
    prop_assert!(outcome.is_ok(), "load panicked");
    if let Ok(Err(err)) = &outcome {
        prop_assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
    prop_assert!(started.elapsed() < std::time::Duration::from_secs(5));
    Ok(())
}

/// A footer whose column chunk lies past the end of the file (one byte of a valid
/// file's footer overwritten: the chunk's size grows from a few hundred bytes to 8 KB) is
/// refused before polars reads it: polars would slice its memory map out of bounds,
/// which aborts the process.
#[test]
fn a_footer_pointing_past_the_end_of_the_file_is_refused() {
    let mut bytes = valid_bytes("parquet");
    assert_eq!(
        bytes.len(),
        2040,
        "the fixture file changed: find another byte to damage"
    );
    bytes[1441] = 0x7f;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("BTC_1m.parquet");
    std::fs::write(&path, &bytes).unwrap();
    let err = load(&LoadRequest::new(&path)).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: damaged Parquet file (row group 0 claims bytes 4..8240 of a 2040-byte file); \
             it was probably truncated or overwritten: write it again",
            path.display()
        )
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn damaged_csv_never_panics(bytes in damaged("csv")) {
        loads_or_fails("csv", &bytes)?;
    }

    #[test]
    fn damaged_parquet_never_panics(bytes in damaged("parquet")) {
        loads_or_fails("parquet", &bytes)?;
    }
}

#[test]
fn an_unreadable_column_gauntlet_does_not_use_is_named_too() {
    // polars fails on the whole schema, so even an extra column must be castable.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("BTC_1m.parquet");
    write_parquet(
        &path,
        vec![
            ("ts", ms_times()),
            ("open", f64s(&[1.0, 2.0, 3.0])),
            ("high", f64s(&[4.0, 5.0, 6.0])),
            ("low", f64s(&[0.5, 0.5, 0.5])),
            ("close", f64s(&CLOSE)),
            ("volume", f64s(&[1.0, 1.0, 1.0])),
            (
                "vwap",
                Box::new(
                    PrimitiveArray::<i128>::from_slice([1, 2, 3]).to(ArrowDataType::Decimal(10, 4)),
                ),
            ),
        ],
    );
    let err = load_one(&path).unwrap_err();
    assert!(
        err.contains("column \"vwap\" has type decimal128(10,4)"),
        "{err}"
    );
    assert!(err.contains("or drop it"), "{err}");
}

#[test]
fn negative_times_are_refused_before_a_window_is_pushed_down() {
    let dir = tempfile::tempdir().unwrap();
    let path = candle_file(dir.path(), i64s(&[-120_000, -60_000, 0]), f64s(&CLOSE));
    let request = LoadRequest {
        window: Some((T0, T0 + MIN)),
        ..LoadRequest::new(&path)
    };
    let err = load(&request).unwrap_err().to_string();
    assert!(err.contains("row 1, column \"ts\""), "{err}");
    assert!(err.contains("-120000 is before 1970"), "{err}");
}

#[test]
fn dictionary_encoded_symbols_of_a_long_file_are_filtered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("universe.parquet");
    let symbols = DictionaryArray::<u32>::try_from_keys(
        PrimitiveArray::from_slice([0u32, 1, 0, 1, 0, 1]),
        Box::new(Utf8ViewArray::from_slice_values(["BTC", "ETH"])),
        false,
    )
    .unwrap();
    let ts: Vec<i64> = (0..6).map(|i| T0 + (i / 2) * MIN).collect();
    write_parquet(
        &path,
        vec![
            ("symbol", Box::new(symbols)),
            ("ts", i64s(&ts)),
            ("open", f64s(&[1.0, 9.0, 2.0, 9.0, 3.0, 9.0])),
            ("high", f64s(&[4.0, 9.0, 5.0, 9.0, 6.0, 9.0])),
            ("low", f64s(&[0.5, 9.0, 0.5, 9.0, 0.5, 9.0])),
            ("close", f64s(&[1.0, 9.0, 2.0, 9.0, 3.0, 9.0])),
            ("volume", f64s(&[1.0; 6])),
        ],
    );
    let request = LoadRequest {
        symbols: gauntlet_datasets::SymbolFilter::Only(vec!["BTC".to_string()]),
        ..LoadRequest::new(&path)
    };
    let mut loaded = load(&request).unwrap();
    assert_eq!(loaded.series.len(), 1);
    let btc = loaded.series.remove(0);
    assert_eq!(btc.symbol(), "BTC");
    assert_eq!(btc.close(), reference().close());
}
