//! Reading one Parquet or CSV file with polars: schema resolution, type checks,
//! filter pushdown, and one columnar pass into plain vectors.

use std::path::Path;

use polars::prelude::*;

use super::timestamp::{
    integer_unit, parse_iso8601_ms, TimestampUnit, SECONDS_THRESHOLD, TIMESTAMP_COLUMNS,
};
use super::{csv_error, types, FileRows, LoadError};
use crate::FileFormat;

/// Name of the 1-based row index polars adds when rows may be filtered out.
const ROW_INDEX: &str = "__gauntlet_row";
/// Output names of the projected columns.
const TS: &str = "ts";
const SYMBOL: &str = "symbol";
/// The price and volume columns, in output order.
pub(super) const VALUE_COLUMNS: [&str; 5] = ["open", "high", "low", "close", "volume"];

/// What a price or volume column must hold.
const NUMBER: &str = "a numeric type (float64, float32 or integer)";

/// A lazily scanned file and its schema (for CSV: inferred from the first 100 rows).
pub(super) struct Scan {
    frame: LazyFrame,
    schema: SchemaRef,
    format: FileFormat,
}

impl Scan {
    /// Opens `path` and resolves its schema; a damaged Parquet footer or a column of a
    /// type polars cannot represent is refused first ([`types::check_parquet_footer`]).
    pub(super) fn open(path: &Path, format: FileFormat) -> Result<Self, LoadError> {
        let read_err = |source| read_error(path, format, source);
        if format == FileFormat::Parquet {
            types::check_parquet_footer(path)?;
        }
        let pl_path = PlRefPath::try_from_path(path).map_err(read_err)?;
        let mut frame = match format {
            FileFormat::Parquet => LazyFrame::scan_parquet(
                pl_path,
                ScanArgsParquet {
                    glob: false,
                    ..Default::default()
                },
            ),
            FileFormat::Csv => LazyCsvReader::new(pl_path)
                .with_has_header(true)
                .with_glob(false)
                .finish(),
        }
        .map_err(read_err)?;
        let schema = frame.collect_schema().map_err(read_err)?;
        Ok(Self {
            frame,
            schema,
            format,
        })
    }

    /// The error for a failed polars read of this file.
    fn read_error(&self, path: &Path, source: PolarsError) -> LoadError {
        read_error(path, self.format, source)
    }

    /// Whether the file has no data rows (for CSV: a header only).
    fn is_empty(&self, path: &Path) -> Result<bool, LoadError> {
        let count = self
            .frame
            .clone()
            .select([len()])
            .collect()
            .and_then(|frame| {
                frame
                    .column("len")?
                    .idx()?
                    .get(0)
                    .ok_or_else(|| polars_err!(NoData: "no row count"))
            })
            .map_err(|e| self.read_error(path, e))?;
        Ok(count == 0)
    }

    /// The error for a column whose type is not the expected one: a header without rows,
    /// a column without values, text that is not numbers, or simply the wrong type.
    fn type_error(
        &self,
        path: &Path,
        column: &PlSmallStr,
        dtype: &DataType,
        expected: &str,
    ) -> LoadError {
        if let Some(err) = types::small_unsigned(path, column, dtype) {
            return err;
        }
        match self.is_empty(path) {
            Err(err) => return err,
            Ok(true) if self.format == FileFormat::Csv => {
                return LoadError::NoRows {
                    file: path.to_path_buf(),
                    columns: self.column_names(),
                }
            }
            Ok(_) => {}
        }
        let wrong_type = |found: String| LoadError::WrongType {
            file: path.to_path_buf(),
            column: column.to_string(),
            found,
            expected: expected.to_string(),
        };
        match dtype {
            DataType::Null => self.all_null(path, column, expected),
            d if is_text(d) && expected == NUMBER => match self.first_non_number(path, column) {
                Ok(Some(err)) => err,
                Ok(None) => wrong_type(format!(
                    "{d} (numbers stored as text; write the column as numbers)"
                )),
                Err(err) => err,
            },
            d => wrong_type(d.to_string()),
        }
    }

    fn all_null(&self, path: &Path, column: &PlSmallStr, expected: &str) -> LoadError {
        LoadError::AllNull {
            file: path.to_path_buf(),
            column: column.to_string(),
            expected: expected.to_string(),
        }
    }

    /// For a text column that should hold numbers: the error for its first null or
    /// non-number row, `None` if every row is a number written as text.
    fn first_non_number(
        &self,
        path: &Path,
        column: &PlSmallStr,
    ) -> Result<Option<LoadError>, LoadError> {
        let frame = self
            .frame
            .clone()
            .select([col(column.clone()).cast(DataType::String)])
            .collect()
            .map_err(|e| self.read_error(path, e))?;
        let texts = frame
            .column(column)
            .and_then(|c| c.str())
            .map_err(|e| self.read_error(path, e))?;
        if texts.null_count() == texts.len() {
            return Ok(Some(self.all_null(path, column, NUMBER)));
        }
        let bad = texts
            .iter()
            .enumerate()
            .find(|(_, text)| text.is_none_or(|t| t.trim().parse::<f64>().is_err()));
        Ok(bad.map(|(index, text)| match text {
            None => LoadError::NullValue {
                file: path.to_path_buf(),
                column: column.to_string(),
                row: index as u64 + 1,
            },
            Some(text) => LoadError::NotANumber {
                file: path.to_path_buf(),
                column: column.to_string(),
                row: index as u64 + 1,
                value: text.to_string(),
            },
        }))
    }

    fn column_names(&self) -> String {
        self.schema
            .iter_names()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The first column whose name matches one of `accepted` (case-insensitively),
    /// preferring earlier entries of `accepted`.
    fn find(&self, accepted: &[&str]) -> Option<(PlSmallStr, DataType)> {
        accepted.iter().find_map(|want| {
            self.schema
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(want))
                .map(|(name, dtype)| (name.clone(), dtype.clone()))
        })
    }

    pub(super) fn has_symbol_column(&self) -> bool {
        self.find(&[SYMBOL]).is_some()
    }

    /// Every distinct value of the symbol column (used only to explain a missing symbol).
    pub(super) fn distinct_symbols(&self, path: &Path) -> Result<Vec<String>, LoadError> {
        let Some((name, dtype)) = self.find(&[SYMBOL]) else {
            return Ok(Vec::new());
        };
        let read_err = |source| self.read_error(path, source);
        let frame = self
            .frame
            .clone()
            .select([text_expr(&name, &dtype)])
            .collect()
            .map_err(read_err)?;
        let symbols = frame
            .column(&name)
            .and_then(|c| c.str())
            .map_err(read_err)?;
        let set: std::collections::BTreeSet<String> =
            symbols.iter().flatten().map(str::to_string).collect();
        Ok(set.into_iter().collect())
    }

    fn missing(&self, path: &Path, column: &str, accepted: &[&str]) -> LoadError {
        LoadError::MissingColumn {
            file: path.to_path_buf(),
            column: column.to_string(),
            accepted: accepted.join(", "),
            present: self.column_names(),
        }
    }
}

/// What to read from one file.
pub(super) struct ReadSpec<'a> {
    pub path: &'a Path,
    /// `Some(symbols)`: a long file, keep only these symbols (empty slice = all).
    /// `None`: a one-symbol file without a symbol column.
    pub long_symbols: Option<&'a [String]>,
    /// Keep bars with open time in `[from, to)` ms.
    pub window: Option<(i64, i64)>,
}

/// Columns of the bars of one symbol, as read (file order, not yet validated).
pub(super) struct Bars {
    pub rows: FileRows,
    pub ts: Vec<i64>,
    pub values: [Vec<f64>; 5],
}

impl Bars {
    fn with_capacity(capacity: usize) -> (Self, Vec<u64>) {
        (
            Self {
                rows: FileRows::Contiguous { first: 1 },
                ts: Vec::with_capacity(capacity),
                values: std::array::from_fn(|_| Vec::with_capacity(capacity)),
            },
            Vec::with_capacity(capacity),
        )
    }

    /// Keeps the bars with open time in `[from, to)`.
    fn retain_window(&mut self, (from, to): (i64, i64)) {
        if self.ts.iter().all(|&t| t >= from && t < to) {
            return;
        }
        let keep: Vec<usize> = (0..self.ts.len())
            .filter(|&i| self.ts[i] >= from && self.ts[i] < to)
            .collect();
        let rows = keep.iter().map(|&i| self.rows.row(i)).collect();
        self.rows = FileRows::from_list(rows);
        self.ts = keep.iter().map(|&i| self.ts[i]).collect();
        for column in &mut self.values {
            *column = keep.iter().map(|&i| column[i]).collect();
        }
    }
}

/// The result of reading one file.
pub(super) struct FileBars {
    pub timestamp_column: String,
    pub timestamp_unit: TimestampUnit,
    /// One entry per symbol (`None` for a one-symbol file), in order of first appearance.
    pub groups: Vec<(Option<String>, Bars)>,
}

enum TsKind {
    Integer,
    Text,
    Native,
}

/// What a timestamp column must hold.
const TIMESTAMP_TYPES: &str = "integer epoch seconds/milliseconds, ISO-8601 text or a datetime";

impl TsKind {
    /// How a timestamp column of type `dtype` is read; `None` if it cannot be.
    fn of(dtype: &DataType) -> Option<Self> {
        match dtype {
            DataType::UInt8 | DataType::UInt16 => None,
            d if d.is_integer() => Some(TsKind::Integer),
            d if is_text(d) => Some(TsKind::Text),
            DataType::Date | DataType::Datetime(_, _) => Some(TsKind::Native),
            _ => None,
        }
    }
}

/// Whether a price or volume column of type `dtype` can be read as f64: every integer
/// and float type polars can build here (not uint8/uint16, see [`types`]).
fn is_number(dtype: &DataType) -> bool {
    dtype.is_primitive_numeric() && !matches!(dtype, DataType::UInt8 | DataType::UInt16)
}

/// Text, plain or dictionary-encoded (polars' categorical and enum).
fn is_text(dtype: &DataType) -> bool {
    dtype.is_string() || dtype.is_categorical() || dtype.is_enum()
}

/// A text column as plain strings (dictionary-encoded text is decoded).
fn text_expr(name: &PlSmallStr, dtype: &DataType) -> Expr {
    match dtype {
        DataType::String => col(name.clone()),
        _ => col(name.clone()).cast(DataType::String),
    }
}

/// The error for a failed polars read of `path`; CSV errors are located by row.
fn read_error(path: &Path, format: FileFormat, source: PolarsError) -> LoadError {
    match format {
        FileFormat::Csv => csv_error::explain(path, source),
        FileFormat::Parquet => LoadError::Read {
            file: path.to_path_buf(),
            source,
        },
    }
}

/// Reads one file. Symbol and integer/native time-window filters are pushed into the
/// polars scan (Parquet row groups outside them are skipped by their statistics); text
/// timestamps are filtered after parsing.
pub(super) fn read(scan: &Scan, spec: &ReadSpec<'_>) -> Result<FileBars, LoadError> {
    let path = spec.path;
    let read_err = |source| scan.read_error(path, source);
    let (ts_name, ts_dtype) = scan
        .find(&TIMESTAMP_COLUMNS)
        .ok_or_else(|| scan.missing(path, "timestamp", &TIMESTAMP_COLUMNS))?;
    let ts_kind = TsKind::of(&ts_dtype)
        .ok_or_else(|| scan.type_error(path, &ts_name, &ts_dtype, TIMESTAMP_TYPES))?;
    let mut value_names = Vec::with_capacity(VALUE_COLUMNS.len());
    for canonical in VALUE_COLUMNS {
        let (name, dtype) = scan
            .find(&[canonical])
            .ok_or_else(|| scan.missing(path, canonical, &[canonical]))?;
        if !is_number(&dtype) {
            return Err(scan.type_error(path, &name, &dtype, NUMBER));
        }
        value_names.push(name);
    }
    let symbol = match spec.long_symbols {
        None => None,
        Some(_) => {
            let (name, dtype) = scan
                .find(&[SYMBOL])
                .ok_or_else(|| scan.missing(path, SYMBOL, &[SYMBOL]))?;
            if !is_text(&dtype) {
                return Err(scan.type_error(path, &name, &dtype, "text (str)"));
            }
            Some((name, dtype))
        }
    };
    let symbol_name = symbol.as_ref().map(|(name, _)| name.clone());

    let ts_expr = match &ts_dtype {
        DataType::Datetime(_, tz) => col(ts_name.clone())
            .cast(DataType::Datetime(TimeUnit::Milliseconds, tz.clone()))
            .cast(DataType::Int64),
        DataType::Date => col(ts_name.clone())
            .cast(DataType::Datetime(TimeUnit::Milliseconds, None))
            .cast(DataType::Int64),
        d if d.is_integer() => col(ts_name.clone()).cast(DataType::Int64),
        d => text_expr(&ts_name, d),
    };

    // Integer times before 1970 have no unambiguous unit (see `NegativeTimestamp`).
    let negative = |row: u64, value: i64| LoadError::NegativeTimestamp {
        file: path.to_path_buf(),
        column: ts_name.to_string(),
        row,
        value,
    };
    // The window predicate in the file's own unit, so Parquet statistics apply.
    let mut integer_unit_seen = None;
    let window_predicate = match (spec.window, &ts_kind) {
        (Some((from, to)), TsKind::Integer) => {
            let probe = scan
                .frame
                .clone()
                .select([ts_expr.clone().alias(TS)])
                .limit(1)
                .collect()
                .map_err(read_err)?;
            let first = probe
                .column(TS)
                .and_then(|c| c.i64())
                .map_err(read_err)?
                .get(0);
            if let Some(value) = first.filter(|&v| v < 0) {
                return Err(negative(1, value));
            }
            first.map(|value| {
                let unit = integer_unit(value);
                integer_unit_seen = Some(unit);
                let (lo, hi) = match unit {
                    TimestampUnit::EpochSeconds => (ceil_div(from, 1000), ceil_div(to, 1000)),
                    _ => (from, to),
                };
                col(ts_name.clone())
                    .gt_eq(lit(lo))
                    .and(col(ts_name.clone()).lt(lit(hi)))
            })
        }
        (Some((from, to)), TsKind::Native) => Some(
            ts_expr
                .clone()
                .gt_eq(lit(from))
                .and(ts_expr.clone().lt(lit(to))),
        ),
        _ => None,
    };
    let symbol_predicate = match (spec.long_symbols, &symbol) {
        (Some(wanted), Some((name, dtype))) if !wanted.is_empty() => wanted
            .iter()
            .map(|s| text_expr(name, dtype).eq(lit(s.as_str())))
            .reduce(|a, b| a.or(b)),
        _ => None,
    };
    let window_pushed = window_predicate.is_some();
    let predicate = match (window_predicate, symbol_predicate) {
        (Some(a), Some(b)) => Some(a.and(b)),
        (a, b) => a.or(b),
    };

    // Row numbers are needed when rows can be dropped (filters) or regrouped (long file).
    let with_rows = predicate.is_some() || symbol_name.is_some();
    let mut frame = scan.frame.clone();
    let mut projection = Vec::with_capacity(8);
    if with_rows {
        frame = frame.with_row_index(ROW_INDEX, Some(1));
        projection.push(col(ROW_INDEX));
    }
    if let Some(predicate) = predicate {
        frame = frame.filter(predicate);
    }
    if let Some((name, dtype)) = &symbol {
        projection.push(text_expr(name, dtype).alias(SYMBOL));
    }
    projection.push(ts_expr.alias(TS));
    for (name, canonical) in value_names.iter().zip(VALUE_COLUMNS) {
        projection.push(col(name.clone()).cast(DataType::Float64).alias(canonical));
    }
    let frame = frame.select(projection).collect().map_err(read_err)?;

    let rows: Option<Vec<u64>> = if with_rows {
        let index = frame
            .column(ROW_INDEX)
            .and_then(|c| c.idx())
            .map_err(read_err)?
            .rechunk();
        Some(
            index
                .cont_slice()
                .map_err(read_err)?
                .iter()
                .map(|&r| u64::from(r))
                .collect(),
        )
    } else {
        None
    };
    let row_of = |i: usize| rows.as_ref().map_or(i as u64 + 1, |r| r[i]);
    let null_at = |column: &PlSmallStr, index: usize| LoadError::NullValue {
        file: path.to_path_buf(),
        column: column.to_string(),
        row: row_of(index),
    };

    let mut values: [Vec<f64>; 5] = Default::default();
    for ((slot, canonical), source_name) in values.iter_mut().zip(VALUE_COLUMNS).zip(&value_names) {
        let column = frame
            .column(canonical)
            .and_then(|c| c.f64())
            .map_err(read_err)?;
        if let Some(index) = column.first_null() {
            return Err(null_at(source_name, index));
        }
        *slot = values_of(column);
    }

    let (ts, timestamp_unit) = match ts_kind {
        TsKind::Text => {
            let column = frame.column(TS).and_then(|c| c.str()).map_err(read_err)?;
            let mut ts = Vec::with_capacity(column.len());
            for (index, text) in column.iter().enumerate() {
                let text = text.ok_or_else(|| null_at(&ts_name, index))?;
                let ms = parse_iso8601_ms(text).ok_or_else(|| LoadError::BadTimestamp {
                    file: path.to_path_buf(),
                    column: ts_name.to_string(),
                    row: row_of(index),
                    value: text.to_string(),
                })?;
                ts.push(ms);
            }
            (ts, TimestampUnit::Iso8601)
        }
        TsKind::Integer | TsKind::Native => {
            let column = frame.column(TS).and_then(|c| c.i64()).map_err(read_err)?;
            if let Some(index) = column.first_null() {
                return Err(null_at(&ts_name, index));
            }
            let mut ts = values_of(column);
            if let (TsKind::Integer, Some(index)) = (&ts_kind, ts.iter().position(|&v| v < 0)) {
                return Err(negative(row_of(index), ts[index]));
            }
            let unit = if matches!(ts_kind, TsKind::Native) {
                TimestampUnit::NativeDatetime
            } else {
                let unit = integer_unit_seen
                    .or_else(|| ts.first().map(|&v| integer_unit(v)))
                    .unwrap_or(TimestampUnit::EpochMillis);
                to_millis(&mut ts, unit, |index, value| {
                    LoadError::MixedTimestampUnits {
                        file: path.to_path_buf(),
                        column: ts_name.to_string(),
                        row: row_of(index),
                        value,
                        unit,
                    }
                })?;
                unit
            };
            (ts, unit)
        }
    };

    let groups = match &symbol_name {
        None => {
            let mut bars = Bars {
                rows: rows.map_or(FileRows::Contiguous { first: 1 }, FileRows::from_list),
                ts,
                values,
            };
            if let (Some(window), false) = (spec.window, window_pushed) {
                bars.retain_window(window);
            }
            vec![(None, bars)]
        }
        Some(source_name) => {
            let symbols = frame
                .column(SYMBOL)
                .and_then(|c| c.str())
                .map_err(read_err)?;
            if let Some(index) = symbols.first_null() {
                return Err(null_at(source_name, index));
            }
            let rows = rows.unwrap_or_default();
            let mut groups = split_by_symbol(symbols, &rows, &ts, &values);
            if let (Some(window), false) = (spec.window, window_pushed) {
                for (_, bars) in &mut groups {
                    bars.retain_window(window);
                }
            }
            groups
                .into_iter()
                .map(|(symbol, bars)| (Some(symbol), bars))
                .collect()
        }
    };
    Ok(FileBars {
        timestamp_column: ts_name.to_string(),
        timestamp_unit,
        groups,
    })
}

/// The values of a column without nulls, copied once (chunk by chunk, no rechunk).
fn values_of<T: PolarsNumericType>(column: &ChunkedArray<T>) -> Vec<T::Native> {
    let mut values = Vec::with_capacity(column.len());
    for chunk in column.downcast_iter() {
        values.extend_from_slice(chunk.values());
    }
    values
}

/// Splits a long file's rows by symbol, keeping file order within each symbol.
fn split_by_symbol(
    symbols: &StringChunked,
    rows: &[u64],
    ts: &[i64],
    values: &[Vec<f64>; 5],
) -> Vec<(String, Bars)> {
    let mut groups: Vec<(String, Bars, Vec<u64>)> = Vec::new();
    let mut index_of: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut current: Option<(&str, usize)> = None;
    for (i, symbol) in symbols.iter().enumerate() {
        let symbol = symbol.unwrap_or_default();
        // Long files are usually sorted by symbol: most rows hit this fast path.
        let group = match current {
            Some((last, g)) if last == symbol => g,
            _ => {
                let g = *index_of.entry(symbol).or_insert_with(|| {
                    let (bars, rows) = Bars::with_capacity(0);
                    groups.push((symbol.to_string(), bars, rows));
                    groups.len() - 1
                });
                current = Some((symbol, g));
                g
            }
        };
        let (_, bars, group_rows) = &mut groups[group];
        group_rows.push(rows.get(i).copied().unwrap_or(i as u64 + 1));
        bars.ts.push(ts[i]);
        for (column, source) in bars.values.iter_mut().zip(values) {
            column.push(source[i]);
        }
    }
    groups
        .into_iter()
        .map(|(symbol, mut bars, rows)| {
            bars.rows = FileRows::from_list(rows);
            (symbol, bars)
        })
        .collect()
}

/// Converts integer timestamps in `unit` to ms in place, failing on the first value whose
/// magnitude says it is in the other unit.
fn to_millis(
    ts: &mut [i64],
    unit: TimestampUnit,
    mixed: impl Fn(usize, i64) -> LoadError,
) -> Result<(), LoadError> {
    let is_seconds = |v: i64| v.unsigned_abs() < SECONDS_THRESHOLD.unsigned_abs();
    if unit == TimestampUnit::EpochSeconds {
        for (index, value) in ts.iter_mut().enumerate() {
            // Every seconds value is below the threshold, so `* 1000` cannot overflow.
            if !is_seconds(*value) {
                return Err(mixed(index, *value));
            }
            *value *= 1000;
        }
    } else if let Some(index) = ts.iter().position(|&v| is_seconds(v)) {
        return Err(mixed(index, ts[index]));
    }
    Ok(())
}

/// `ceil(a / b)` for `b > 0`.
fn ceil_div(a: i64, b: i64) -> i64 {
    -(a.saturating_neg().div_euclid(b))
}
