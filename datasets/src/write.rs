//! Writing candle series to Parquet or CSV, one `<SYMBOL>_<interval>.<ext>` file per
//! symbol: the layout the loaders read back.
//!
//! Every file is written to a temporary name beside its destination and renamed into
//! place, so an interrupted write never leaves a file that looks complete.

use std::fmt;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use polars::prelude::*;
use rayon::prelude::*;

use crate::{CandleSeries, Interval};

/// On-disk format of candle files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    Parquet,
    Csv,
}

impl FileFormat {
    /// The file extension without the dot.
    pub const fn extension(self) -> &'static str {
        match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Csv => "csv",
        }
    }
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// A format name other than `parquet` or `csv`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown file format {0:?}: expected parquet or csv")]
pub struct ParseFileFormatError(pub String);

impl FromStr for FileFormat {
    type Err = ParseFileFormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "parquet" => Ok(FileFormat::Parquet),
            "csv" => Ok(FileFormat::Csv),
            _ => Err(ParseFileFormatError(s.to_string())),
        }
    }
}

/// Failure to write a candle file.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot create output directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode {path} as {format}: {source}")]
    Encode {
        path: PathBuf,
        format: FileFormat,
        source: PolarsError,
    },
}

/// The file name of one symbol's candles in the one-file-per-symbol layout:
/// `<SYMBOL>_<interval>.<ext>`, e.g. `BTC-USD_1m.parquet`.
pub fn file_name(symbol: &str, interval: Interval, format: FileFormat) -> String {
    format!("{symbol}_{interval}.{}", format.extension())
}

/// The columns `ts` (i64 ms UTC, bar open) and `open high low close volume` (f64).
fn to_frame(series: &CandleSeries) -> PolarsResult<DataFrame> {
    DataFrame::new(
        series.len(),
        vec![
            Column::new("ts".into(), series.ts()),
            Column::new("open".into(), series.open()),
            Column::new("high".into(), series.high()),
            Column::new("low".into(), series.low()),
            Column::new("close".into(), series.close()),
            Column::new("volume".into(), series.volume()),
        ],
    )
}

/// Writes one series to `path` (atomically: temp file + rename).
pub fn write_series(
    path: &Path,
    series: &CandleSeries,
    format: FileFormat,
) -> Result<(), WriteError> {
    let frame = to_frame(series).map_err(|source| WriteError::Encode {
        path: path.to_path_buf(),
        format,
        source,
    })?;
    write_frame(path, frame, format)
}

/// Encodes `frame` into `path.tmp` and renames it to `path`, so a reader never sees
/// a half-written file under the final name.
pub(crate) fn write_frame(
    path: &Path,
    mut frame: DataFrame,
    format: FileFormat,
) -> Result<(), WriteError> {
    let io = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let file = File::create(&tmp).map_err(io)?;
    let mut writer = BufWriter::new(file);
    let written = match format {
        FileFormat::Parquet => ParquetWriter::new(&mut writer).finish(&mut frame).map(drop),
        FileFormat::Csv => CsvWriter::new(&mut writer).finish(&mut frame),
    };
    if let Err(source) = written {
        // Best effort: the temp file is useless, the encode error is what matters.
        let _ = fs::remove_file(&tmp);
        return Err(WriteError::Encode {
            path: path.to_path_buf(),
            format,
            source,
        });
    }
    writer.into_inner().map_err(|e| io(e.into_error()))?;
    fs::rename(&tmp, path).map_err(io)
}

/// Writes every series into `dir` (created if needed), one file per symbol, in
/// parallel. Returns the written paths in the order of `series`.
pub fn write_universe(
    dir: &Path,
    series: &[CandleSeries],
    format: FileFormat,
) -> Result<Vec<PathBuf>, WriteError> {
    fs::create_dir_all(dir).map_err(|source| WriteError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    series
        .par_iter()
        .map(|s| {
            let path = dir.join(file_name(s.symbol(), s.interval(), format));
            write_series(&path, s, format).map(|()| path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CandleSeries {
        let mut s = CandleSeries::with_capacity("ETH-USD", Interval::M1, 3);
        for i in 0..3 {
            let p = 100.0 + i as f64;
            s.push(i * 60_000, p, p + 1.0, p - 1.0, p + 0.5, 10.0);
        }
        s
    }

    #[test]
    fn writes_one_file_per_symbol_in_both_formats() {
        let dir = tempfile::tempdir().unwrap();
        for format in [FileFormat::Parquet, FileFormat::Csv] {
            let paths = write_universe(dir.path(), &[sample()], format).unwrap();
            let expected = dir.path().join(format!("ETH-USD_1m.{format}"));
            assert_eq!(paths, vec![expected.clone()]);
            assert!(fs::metadata(&expected).unwrap().len() > 0);
        }
        let csv = fs::read_to_string(dir.path().join("ETH-USD_1m.csv")).unwrap();
        assert!(
            csv.starts_with("ts,open,high,low,close,volume\n0,100.0,101.0,99.0,100.5,10.0\n"),
            "{csv}"
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn parses_format_names() {
        assert_eq!(
            "Parquet".parse::<FileFormat>().unwrap(),
            FileFormat::Parquet
        );
        assert!("feather"
            .parse::<FileFormat>()
            .unwrap_err()
            .to_string()
            .contains("parquet or csv"));
    }
}
