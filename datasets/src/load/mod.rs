//! Loading candles from Parquet or CSV with polars.
//!
//! Two layouts are read:
//! - **one file per symbol**: a directory of `<SYMBOL>_<interval>.parquet|csv` files (the
//!   interval is the text after the *last* underscore, so symbols may contain `_` or `-`);
//!   files with other extensions and hidden files are ignored, symbolic links are
//!   followed and a broken one named like a candle file is an error;
//! - **one long file** with a `symbol` column (a single file path). A single
//!   `<SYMBOL>_<interval>` file without a `symbol` column is read as a one-symbol directory.
//!
//! Columns are matched case-insensitively: a timestamp column (see [`TIMESTAMP_COLUMNS`];
//! non-negative integer epoch seconds or milliseconds, ISO-8601 text (also
//! dictionary-encoded), or a native date/datetime in any unit, with or without a time
//! zone) and `open high low close volume` (float64, float32 or integer, also
//! dictionary-encoded; read as f64). Other types are refused naming file, column and type:
//! decimal, uint8/uint16, float16, int128 and struct columns cannot be read by polars as
//! built here, anywhere in a Parquet file (see `types`); text, booleans and all-null
//! columns are no prices. A panic inside polars while a file is read becomes an error
//! naming the file (see `guard`); CSV parse errors name the data row (see `csv_error`).
//!
//! Filters are pushed down: with the per-symbol layout only the requested symbols' files
//! are opened; symbol and time-window predicates go into the polars scan, so Parquet row
//! groups whose statistics exclude them are not decoded (text timestamps can only be
//! filtered after parsing). Files are read in parallel (rayon).
//!
//! Rows are kept in file order: sorting, duplicates and value checks belong to
//! [`mod@crate::validate`], which reports them with the file's row numbers ([`FileRows`]).

mod csv_error;
pub(crate) mod guard;
mod read;
mod timestamp;
pub(crate) mod types;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use timestamp::{
    format_iso8601_ms, integer_unit, parse_iso8601_ms, TimestampUnit, SECONDS_THRESHOLD,
    TIMESTAMP_COLUMNS,
};

use crate::{CandleSeries, FileFormat, Interval};
use read::{Bars, FileBars, ReadSpec, Scan};

/// The file-name pattern of the one-file-per-symbol layout, for error messages.
pub const FILE_NAME_PATTERN: &str =
    "<SYMBOL>_<interval>.parquet or <SYMBOL>_<interval>.csv with interval one of 1m, 5m, 15m, 1h, 4h, 1d";

/// Which symbols to load.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SymbolFilter {
    #[default]
    All,
    /// Exactly these symbols; each must exist. An empty list means all symbols.
    Only(Vec<String>),
}

impl SymbolFilter {
    /// The filter with an empty `Only` list normalised to `All`.
    fn selected(&self) -> &SymbolFilter {
        match self {
            SymbolFilter::Only(list) if list.is_empty() => &SymbolFilter::All,
            other => other,
        }
    }
}

/// What to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadRequest {
    /// A directory (one file per symbol) or a single file (long layout).
    pub path: PathBuf,
    /// The expected interval; `None` infers it (file names, or the most common spacing).
    pub interval: Option<Interval>,
    pub symbols: SymbolFilter,
    /// Keep bars whose open time (ms UTC) lies in `[from, to)`.
    pub window: Option<(i64, i64)>,
}

impl LoadRequest {
    /// Everything under `path`, interval inferred.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            interval: None,
            symbols: SymbolFilter::All,
            window: None,
        }
    }
}

/// The 1-based data row (header excluded) in the source file of each bar of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRows {
    /// Bar `i` is file row `first + i`.
    Contiguous { first: u64 },
    /// Bar `i` is file row `rows[i]` (a long file, or rows removed by a filter).
    Listed(Vec<u64>),
}

impl FileRows {
    /// The file row of bar `index`.
    pub fn row(&self, index: usize) -> u64 {
        match self {
            FileRows::Contiguous { first } => first + index as u64,
            FileRows::Listed(rows) => rows.get(index).copied().unwrap_or(index as u64 + 1),
        }
    }

    /// Compresses a list of rows to [`FileRows::Contiguous`] when it is one run.
    pub fn from_list(rows: Vec<u64>) -> Self {
        match rows.first() {
            None => FileRows::Contiguous { first: 1 },
            Some(&first) if rows.windows(2).all(|w| w[1] == w[0] + 1) => {
                FileRows::Contiguous { first }
            }
            Some(_) => FileRows::Listed(rows),
        }
    }
}

/// Where one loaded series came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    pub file: PathBuf,
    pub format: FileFormat,
    /// The timestamp column as named in the file.
    pub timestamp_column: String,
    pub timestamp_unit: TimestampUnit,
    /// File row of each bar.
    pub rows: FileRows,
}

impl SourceInfo {
    /// The source description of a file written by [`crate::write`] (column `ts` in epoch
    /// milliseconds, one row per bar): for validating series that were not loaded.
    pub fn written(file: impl Into<PathBuf>, format: FileFormat) -> Self {
        Self {
            file: file.into(),
            format,
            timestamp_column: "ts".to_string(),
            timestamp_unit: TimestampUnit::EpochMillis,
            rows: FileRows::Contiguous { first: 1 },
        }
    }
}

/// The on-disk layout that was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    PerSymbol,
    Long,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::PerSymbol => "one file per symbol",
            Layout::Long => "one long file",
        })
    }
}

/// Loaded candles: `series[i]` came from `sources[i]`; sorted by symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedUniverse {
    pub layout: Layout,
    pub interval: Interval,
    pub series: Vec<CandleSeries>,
    pub sources: Vec<SourceInfo>,
}

impl LoadedUniverse {
    /// Total number of bars.
    pub fn bars(&self) -> usize {
        self.series.iter().map(CandleSeries::len).sum()
    }
}

/// Why loading failed; every variant names the file (or path) involved.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: no such file or directory")]
    NotFound { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no candle files found; expected files named {FILE_NAME_PATTERN}")]
    EmptyDirectory { path: PathBuf },
    #[error("{file}: file name not understood ({reason}); expected {FILE_NAME_PATTERN}")]
    UnknownFileName { file: PathBuf, reason: String },
    #[error("{file}: unsupported file type; expected a .parquet or .csv file")]
    UnsupportedFormat { file: PathBuf },
    #[error("{path}: broken symbolic link ({source}); it is named like a candle file, so remove it or point it at one")]
    BrokenLink {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {file}: {}", csv_error::polars_message(source))]
    Read {
        file: PathBuf,
        source: polars::prelude::PolarsError,
    },
    #[error("{file}: reading this file crashed the Parquet/CSV reader ({message}); the file may be damaged or hold a column type gauntlet cannot read: check it with pyarrow or polars, or write it again")]
    Panicked { file: PathBuf, message: String },
    #[error("{file}: damaged Parquet file ({detail}); it was probably truncated or overwritten: write it again")]
    DamagedParquet { file: PathBuf, detail: String },
    #[error("{file}: row {row}, column {column:?}: cannot parse {value:?}, expected {expected} (rows are 1-based data rows, header excluded: line {} of the file)", row + 1)]
    CsvField {
        file: PathBuf,
        row: u64,
        column: String,
        value: String,
        expected: String,
    },
    #[error("{file}: row {row} has {found} fields but the header has {header} (rows are 1-based data rows, header excluded: line {} of the file); remove the extra fields or quote values that contain commas", row + 1)]
    CsvFieldCount {
        file: PathBuf,
        row: u64,
        found: usize,
        header: usize,
    },
    #[error(
        "{file}: the file has a header ({columns}) but no data rows; expected at least one bar"
    )]
    NoRows { file: PathBuf, columns: String },
    #[error("{file}: missing required column {column:?} (accepted names: {accepted}; case-insensitive); columns present: {present}")]
    MissingColumn {
        file: PathBuf,
        column: String,
        accepted: String,
        present: String,
    },
    #[error("{file}: column {column:?} has type {found}, expected {expected}")]
    WrongType {
        file: PathBuf,
        column: String,
        found: String,
        expected: String,
    },
    #[error("{file}: column {column:?} has no values (null or empty in every row); expected {expected} in every row")]
    AllNull {
        file: PathBuf,
        column: String,
        expected: String,
    },
    #[error("{file}: row {row}, column {column:?}: {value:?} is not a number; expected a price or volume such as 101.5 (rows are 1-based data rows, header excluded)")]
    NotANumber {
        file: PathBuf,
        column: String,
        row: u64,
        value: String,
    },
    #[error("{file}: row {row}, column {column:?}: null value, expected a value (rows are 1-based data rows, header excluded)")]
    NullValue {
        file: PathBuf,
        column: String,
        row: u64,
    },
    #[error("{file}: row {row}, column {column:?}: cannot parse timestamp {value:?}; expected ISO-8601 such as 2024-01-01T00:00:00Z or 2024-01-01 00:00:00 (no offset = UTC)")]
    BadTimestamp {
        file: PathBuf,
        column: String,
        row: u64,
        value: String,
    },
    #[error("{file}: row {row}, column {column:?}: timestamp {value} is not in {unit} like the first row (|value| < 1e11 means seconds, otherwise milliseconds)")]
    MixedTimestampUnits {
        file: PathBuf,
        column: String,
        row: u64,
        value: i64,
        unit: TimestampUnit,
    },
    #[error("{file}: row {row}, column {column:?}: integer timestamp {value} is before 1970; the unit of integer timestamps is inferred from their size (|value| < 1e11 means epoch seconds, otherwise epoch milliseconds), which is ambiguous before 1970 ({value} would be read as {}: {}), so negative ones are refused; store times before 1970 as ISO-8601 text or a native datetime column", integer_unit(*value), format_iso8601_ms(integer_unit(*value).to_millis(*value)))]
    NegativeTimestamp {
        file: PathBuf,
        column: String,
        row: u64,
        value: i64,
    },
    #[error("symbol(s) {} not found in {path}; available: {}", missing.join(", "), available.join(", "))]
    UnknownSymbols {
        path: PathBuf,
        missing: Vec<String>,
        available: Vec<String>,
    },
    #[error("{path}: interval {expected} requested but the data is {found}")]
    IntervalMismatch {
        path: PathBuf,
        expected: Interval,
        found: String,
    },
    #[error("{path}: files of several intervals ({found}); choose one with an explicit interval")]
    AmbiguousInterval { path: PathBuf, found: String },
    #[error("{file}: the most common spacing between bars is {spacing_ms} ms, which is not one of 1m, 5m, 15m, 1h, 4h, 1d{}", expected.map(|i| format!(" (expected {i})")).unwrap_or_default())]
    UnknownSpacing {
        file: PathBuf,
        spacing_ms: i64,
        expected: Option<Interval>,
    },
    #[error("{file}: cannot infer the interval (no symbol has two bars); give it explicitly")]
    CannotInferInterval { file: PathBuf },
    #[error("symbol {symbol} has two files: {first} and {second}")]
    DuplicateSymbol {
        symbol: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error(transparent)]
    Columns(#[from] crate::CandleSeriesError),
    #[error("invalid time window: from {} must be before to {}", format_iso8601_ms(*from), format_iso8601_ms(*to))]
    InvalidWindow { from: i64, to: i64 },
}

/// Loads the candles described by `request`. See the module docs for layouts and pushdown.
pub fn load(request: &LoadRequest) -> Result<LoadedUniverse, LoadError> {
    if let Some((from, to)) = request.window {
        if from >= to {
            return Err(LoadError::InvalidWindow { from, to });
        }
    }
    let path = &request.path;
    let metadata = std::fs::metadata(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => LoadError::NotFound { path: path.clone() },
        _ => LoadError::Io {
            path: path.clone(),
            source,
        },
    })?;
    if metadata.is_dir() {
        let files = list_candle_files(path)?;
        return load_per_symbol(request, files);
    }
    let format =
        format_of(path).ok_or_else(|| LoadError::UnsupportedFormat { file: path.clone() })?;
    let scan = guard::guarded(path, || Scan::open(path, format))?;
    if !scan.has_symbol_column() {
        if let Ok(file) = CandleFile::from_path(path, format) {
            return load_per_symbol(request, vec![file]);
        }
    }
    guard::guarded(path, || load_long(request, format, &scan))
}

/// One file of the per-symbol layout.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CandleFile {
    symbol: String,
    interval: Interval,
    path: PathBuf,
    format: FileFormat,
}

impl CandleFile {
    fn from_path(path: &Path, format: FileFormat) -> Result<Self, LoadError> {
        let unknown = |reason: String| LoadError::UnknownFileName {
            file: path.to_path_buf(),
            reason,
        };
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| unknown("not valid UTF-8".to_string()))?;
        let (symbol, interval) = parse_file_stem(stem).map_err(|err| unknown(err.to_string()))?;
        Ok(Self {
            symbol,
            interval,
            path: path.to_path_buf(),
            format,
        })
    }
}

/// A candle file name that is not `SYMBOL_INTERVAL` ([`parse_file_stem`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileStemError {
    #[error("no '_' before the interval in {0:?}")]
    NoInterval(String),
    #[error("empty symbol in {0:?}")]
    EmptySymbol(String),
    #[error("{0:?} is not an interval")]
    NotAnInterval(String),
}

/// Splits `BTC-USD_1m` into symbol and interval at the last underscore.
pub fn parse_file_stem(stem: &str) -> Result<(String, Interval), FileStemError> {
    let (symbol, interval) = stem
        .rsplit_once('_')
        .ok_or_else(|| FileStemError::NoInterval(stem.to_string()))?;
    if symbol.is_empty() {
        return Err(FileStemError::EmptySymbol(stem.to_string()));
    }
    let interval = interval
        .parse::<Interval>()
        .map_err(|_| FileStemError::NotAnInterval(interval.to_string()))?;
    Ok((symbol.to_string(), interval))
}

fn format_of(path: &Path) -> Option<FileFormat> {
    let extension = path.extension()?.to_str()?;
    extension.parse().ok()
}

/// The `.parquet`/`.csv` files of a directory, sorted by file name.
fn list_candle_files(dir: &Path) -> Result<Vec<CandleFile>, LoadError> {
    let io = |source| LoadError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let Some(format) = format_of(&path).filter(|_| !hidden) else {
            continue;
        };
        if is_file(&path, entry.file_type().map_err(io)?)? {
            paths.push((path, format));
        }
    }
    paths.sort_by(|a, b| a.0.cmp(&b.0));
    if paths.is_empty() {
        return Err(LoadError::EmptyDirectory {
            path: dir.to_path_buf(),
        });
    }
    paths
        .into_iter()
        .map(|(path, format)| CandleFile::from_path(&path, format))
        .collect()
}

/// Whether a directory entry named like a candle file is a file, following symbolic
/// links; a link that leads nowhere (or to itself) is an error, not a symbol dropped
/// without a word.
fn is_file(path: &Path, file_type: std::fs::FileType) -> Result<bool, LoadError> {
    if !file_type.is_symlink() {
        return Ok(file_type.is_file());
    }
    std::fs::metadata(path)
        .map(|target| target.is_file())
        .map_err(|source| LoadError::BrokenLink {
            path: path.to_path_buf(),
            source,
        })
}

fn load_per_symbol(
    request: &LoadRequest,
    files: Vec<CandleFile>,
) -> Result<LoadedUniverse, LoadError> {
    let path = &request.path;
    let intervals: BTreeSet<Interval> = files.iter().map(|f| f.interval).collect();
    let interval = match request.interval {
        Some(wanted) if intervals.contains(&wanted) => wanted,
        Some(wanted) => {
            return Err(LoadError::IntervalMismatch {
                path: path.clone(),
                expected: wanted,
                found: join(&intervals),
            })
        }
        None => match intervals.first() {
            Some(&only) if intervals.len() == 1 => only,
            _ => {
                return Err(LoadError::AmbiguousInterval {
                    path: path.clone(),
                    found: join(&intervals),
                })
            }
        },
    };
    let mut by_symbol: BTreeMap<String, CandleFile> = BTreeMap::new();
    for file in files.into_iter().filter(|f| f.interval == interval) {
        if let Some(existing) = by_symbol.get(&file.symbol) {
            return Err(LoadError::DuplicateSymbol {
                symbol: file.symbol.clone(),
                first: existing.path.clone(),
                second: file.path,
            });
        }
        by_symbol.insert(file.symbol.clone(), file);
    }
    if let SymbolFilter::Only(wanted) = request.symbols.selected() {
        let wanted: BTreeSet<&String> = wanted.iter().collect();
        let missing: Vec<String> = wanted
            .iter()
            .filter(|s| !by_symbol.contains_key(s.as_str()))
            .map(|s| s.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(LoadError::UnknownSymbols {
                path: path.clone(),
                missing,
                available: by_symbol.keys().cloned().collect(),
            });
        }
        by_symbol.retain(|symbol, _| wanted.contains(symbol));
    }
    let files: Vec<CandleFile> = by_symbol.into_values().collect();
    let loaded: Vec<(CandleSeries, SourceInfo)> = files
        .par_iter()
        .map(|file| {
            let FileBars {
                timestamp_column,
                timestamp_unit,
                groups,
            } = guard::guarded(&file.path, || {
                let scan = Scan::open(&file.path, file.format)?;
                read::read(
                    &scan,
                    &ReadSpec {
                        path: &file.path,
                        long_symbols: None,
                        window: request.window,
                    },
                )
            })?;
            let bars = groups
                .into_iter()
                .next()
                .map(|(_, bars)| bars)
                .unwrap_or_else(empty_bars);
            // A mislabelled file (5m data named 1m) is a load error; an irregular spacing
            // that is no interval at all is left to validation, which reports each row.
            match check_spacing(&file.path, &[&bars.ts], Some(interval)) {
                Ok(_) | Err(LoadError::UnknownSpacing { .. }) => {}
                Err(err) => return Err(err),
            }
            assemble(
                &file.symbol,
                interval,
                bars,
                SourceInfo {
                    file: file.path.clone(),
                    format: file.format,
                    timestamp_column,
                    timestamp_unit,
                    rows: FileRows::Contiguous { first: 1 },
                },
            )
        })
        .collect::<Result<_, LoadError>>()?;
    let (series, sources) = loaded.into_iter().unzip();
    Ok(LoadedUniverse {
        layout: Layout::PerSymbol,
        interval,
        series,
        sources,
    })
}

fn load_long(
    request: &LoadRequest,
    format: FileFormat,
    scan: &Scan,
) -> Result<LoadedUniverse, LoadError> {
    let path = &request.path;
    let wanted: Vec<String> = match request.symbols.selected() {
        SymbolFilter::All => Vec::new(),
        SymbolFilter::Only(symbols) => symbols
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    };
    let FileBars {
        timestamp_column,
        timestamp_unit,
        groups,
    } = read::read(
        scan,
        &ReadSpec {
            path,
            long_symbols: Some(&wanted),
            window: request.window,
        },
    )?;
    let mut groups: BTreeMap<String, Bars> = groups
        .into_iter()
        .map(|(symbol, bars)| (symbol.unwrap_or_default(), bars))
        .collect();
    let missing: Vec<String> = wanted
        .iter()
        .filter(|s| !groups.contains_key(s.as_str()))
        .cloned()
        .collect();
    if !missing.is_empty() {
        // A symbol may be absent only because the window filtered its rows out.
        let available = scan.distinct_symbols(path)?;
        let missing: Vec<String> = missing
            .into_iter()
            .filter(|s| !available.contains(s))
            .collect();
        if !missing.is_empty() {
            return Err(LoadError::UnknownSymbols {
                path: path.clone(),
                missing,
                available,
            });
        }
        for symbol in &wanted {
            groups.entry(symbol.clone()).or_insert_with(empty_bars);
        }
    }
    let all_ts: Vec<&[i64]> = groups.values().map(|b| b.ts.as_slice()).collect();
    let interval = match check_spacing(path, &all_ts, request.interval)? {
        Some(interval) => interval,
        None => request
            .interval
            .ok_or_else(|| LoadError::CannotInferInterval { file: path.clone() })?,
    };
    let loaded: Vec<(CandleSeries, SourceInfo)> = groups
        .into_iter()
        .map(|(symbol, bars)| {
            assemble(
                &symbol,
                interval,
                bars,
                SourceInfo {
                    file: path.clone(),
                    format,
                    timestamp_column: timestamp_column.clone(),
                    timestamp_unit,
                    rows: FileRows::Contiguous { first: 1 },
                },
            )
        })
        .collect::<Result<_, LoadError>>()?;
    let (series, sources) = loaded.into_iter().unzip();
    Ok(LoadedUniverse {
        layout: Layout::Long,
        interval,
        series,
        sources,
    })
}

fn empty_bars() -> Bars {
    Bars {
        rows: FileRows::Contiguous { first: 1 },
        ts: Vec::new(),
        values: Default::default(),
    }
}

fn assemble(
    symbol: &str,
    interval: Interval,
    bars: Bars,
    mut source: SourceInfo,
) -> Result<(CandleSeries, SourceInfo), LoadError> {
    let Bars { rows, ts, values } = bars;
    let [open, high, low, close, volume] = values;
    source.rows = rows;
    let series = CandleSeries::new(symbol, interval, ts, open, high, low, close, volume)?;
    Ok((series, source))
}

/// How many leading spacings are sampled to find the most common one.
const SPACING_SAMPLE: usize = 10_000;

/// The most common positive spacing between consecutive bars over the first
/// [`SPACING_SAMPLE`] spacings of each timestamp column (ties: the smaller spacing), as an
/// interval. Fails if it is no interval or differs from `expected`; `None` if no column
/// has two bars.
fn check_spacing(
    file: &Path,
    columns: &[&[i64]],
    expected: Option<Interval>,
) -> Result<Option<Interval>, LoadError> {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for ts in columns {
        for pair in ts.windows(2).take(SPACING_SAMPLE) {
            let spacing = pair[1] - pair[0];
            if spacing > 0 {
                *counts.entry(spacing).or_default() += 1;
            }
        }
    }
    let Some((&spacing_ms, _)) = counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
    else {
        return Ok(None);
    };
    let found = Interval::ALL
        .into_iter()
        .find(|i| i.millis() == spacing_ms)
        .ok_or_else(|| LoadError::UnknownSpacing {
            file: file.to_path_buf(),
            spacing_ms,
            expected,
        })?;
    match expected {
        Some(expected) if expected != found => Err(LoadError::IntervalMismatch {
            path: file.to_path_buf(),
            expected,
            found: format!("{found} (most common spacing between bars)"),
        }),
        _ => Ok(Some(found)),
    }
}

fn join<T: fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stem_splits_at_the_last_underscore() {
        assert_eq!(
            parse_file_stem("BTC-USD_1m").unwrap(),
            ("BTC-USD".to_string(), Interval::M1)
        );
        assert_eq!(
            parse_file_stem("MY_COIN_4h").unwrap(),
            ("MY_COIN".to_string(), Interval::H4)
        );
        assert_eq!(
            parse_file_stem("BTCUSD"),
            Err(FileStemError::NoInterval("BTCUSD".into()))
        );
        assert_eq!(
            parse_file_stem("BTC_2m"),
            Err(FileStemError::NotAnInterval("2m".into()))
        );
        assert_eq!(
            parse_file_stem("_1m"),
            Err(FileStemError::EmptySymbol("_1m".into()))
        );
    }

    #[test]
    fn file_rows_compress_runs() {
        assert_eq!(
            FileRows::from_list(vec![3, 4, 5]),
            FileRows::Contiguous { first: 3 }
        );
        let listed = FileRows::from_list(vec![1, 3, 5]);
        assert_eq!(listed.row(2), 5);
        assert_eq!(FileRows::Contiguous { first: 10 }.row(2), 12);
    }

    #[test]
    fn spacing_mode_names_the_interval_or_fails() {
        let ts = [0, 60_000, 120_000, 300_000, 360_000];
        assert_eq!(
            check_spacing(Path::new("f"), &[&ts], None).unwrap(),
            Some(Interval::M1)
        );
        let err = check_spacing(Path::new("f"), &[&ts], Some(Interval::M5)).unwrap_err();
        assert!(err.to_string().contains("interval 5m requested"), "{err}");
        let odd = [0, 7_000, 14_000];
        let err = check_spacing(Path::new("f"), &[&odd], None).unwrap_err();
        assert!(err.to_string().contains("7000 ms"), "{err}");
        assert_eq!(check_spacing(Path::new("f"), &[&[5]], None).unwrap(), None);
    }
}
