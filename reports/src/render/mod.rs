//! Renderers: `report.json`, `report.md`, `report.html`, `trades.csv`, `risk_events.csv`,
//! all from one [`Report`], and the atomic writer [`write_reports`]; also the sweep outputs
//! and the Markdown of a regression diff
//! ([`RegressionReport::to_markdown`](crate::regress::RegressionReport::to_markdown)).
//!
//! Determinism: the JSON is `serde_json` pretty-printed output of [`Report`], whose keys are
//! struct fields in declared order and `BTreeMap` keys in sorted order; finite f64 are
//! written in shortest round-trip form (ryu), `None` as `null`, and no statistic is ever
//! NaN or infinite (they are `None` instead). Nothing machine-dependent (thread count,
//! wall-clock time, absolute paths) is in a [`Report`], so the same inputs give the same
//! bytes.

mod csv_tables;
mod html;
mod markdown;
mod model;
pub(crate) mod regression;
mod svg;
mod sweep;

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use csv_tables::{RISK_EVENT_COLUMNS, TRADE_COLUMNS};
pub use html::render_html;
pub use markdown::render_markdown;
pub use model::{
    build_report, equity_buckets, iso_time, run_statistics, AnnualizationStatement, Breakdowns,
    CalibrationSection, EquityBucket, Notices, Provenance, Report, ReportOptions, RiskEventRow,
    RunMetadata, TradeAccounting, TradeRow, MAX_PLOT_POINTS, SCHEMA_VERSION,
};
pub use sweep::{
    render_sweep_csv, render_sweep_html, render_sweep_json, render_sweep_markdown, sensitivity,
    BestConfig, KeySensitivity, SweepReport, SweepRow, WalkForward, WalkForwardFold,
    SWEEP_SCHEMA_VERSION, SWEEP_STATISTICS,
};

/// Errors of rendering and writing reports; each names the file concerned.
#[derive(Debug, Error)]
pub enum RenderError {
    /// A file or directory could not be created, written, synced or renamed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was attempted (e.g. "write", "rename into place").
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The report could not be serialized as JSON.
    #[error("cannot serialize {file}: {source}")]
    Json {
        /// The file being produced.
        file: &'static str,
        /// The serializer's error.
        source: serde_json::Error,
    },
    /// A CSV table could not be produced.
    #[error("cannot produce {file}: {source}")]
    Csv {
        /// The file being produced.
        file: &'static str,
        /// The CSV writer's error.
        source: csv::Error,
    },
}

/// One output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReportFormat {
    /// `trades.csv`.
    TradesCsv,
    /// `risk_events.csv`.
    RiskEventsCsv,
    /// `report.md`.
    Markdown,
    /// `report.html`.
    Html,
    /// `report.json` — written last, so its presence means the set is complete.
    Json,
}

impl ReportFormat {
    /// Every format, in write order.
    pub const ALL: [ReportFormat; 5] = [
        Self::TradesCsv,
        Self::RiskEventsCsv,
        Self::Markdown,
        Self::Html,
        Self::Json,
    ];

    /// The file name inside the report directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::TradesCsv => "trades.csv",
            Self::RiskEventsCsv => "risk_events.csv",
            Self::Markdown => "report.md",
            Self::Html => "report.html",
            Self::Json => "report.json",
        }
    }

    /// Writes the file for `report` to `out`. The tables and `report.json` are streamed
    /// (their size grows with the trades); the pages are rendered whole first.
    pub fn write(self, report: &Report, mut out: impl Write) -> Result<(), RenderError> {
        let text = match self {
            Self::TradesCsv => return csv_tables::write_trades_csv(report, out),
            Self::RiskEventsCsv => return csv_tables::write_risk_events_csv(report, out),
            Self::Json => return write_json(report, out),
            Self::Markdown => render_markdown(report),
            Self::Html => render_html(report),
        };
        out.write_all(text.as_bytes())
            .map_err(|source| RenderError::Io {
                action: "write",
                path: PathBuf::from(self.file_name()),
                source,
            })
    }

    /// The file's bytes for `report` ([`ReportFormat::write`] into memory).
    pub fn render(self, report: &Report) -> Result<Vec<u8>, RenderError> {
        let mut bytes = Vec::new();
        self.write(report, &mut bytes)?;
        Ok(bytes)
    }
}

/// `report.json`: pretty-printed (two-space indent), keys in declared / sorted order,
/// trailing newline.
fn write_json(report: &Report, mut out: impl Write) -> Result<(), RenderError> {
    let error = |source| RenderError::Json {
        file: "report.json",
        source,
    };
    serde_json::to_writer_pretty(&mut out, report).map_err(error)?;
    out.write_all(b"\n")
        .map_err(|e| error(serde_json::Error::io(e)))
}

/// Writes the requested files into `dir` (created if missing) and returns their paths in
/// write order. Formats are written in [`ReportFormat::ALL`] order whatever the order
/// given (duplicates once), so `report.json` comes last.
///
/// Each file is written atomically: the bytes go to `.<name>.partial` in `dir`, are synced,
/// and the temp file is renamed over `<name>`; on any error the temp file is removed. An
/// interrupted run therefore leaves either the previous file or the complete new one,
/// never a truncated report.
pub fn write_reports(
    dir: &Path,
    report: &Report,
    formats: &[ReportFormat],
) -> Result<Vec<PathBuf>, RenderError> {
    fs::create_dir_all(dir).map_err(|source| RenderError::Io {
        action: "create directory",
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for format in ReportFormat::ALL {
        if !formats.contains(&format) {
            continue;
        }
        let path = dir.join(format.file_name());
        write_atomically_with(&path, |out| format.write(report, out))?;
        written.push(path);
    }
    Ok(written)
}

/// Writes `bytes` to `path` through a temp file in the same directory and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RenderError> {
    write_atomically_with(path, |out| {
        out.write_all(bytes).map_err(|source| RenderError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        })
    })
}

/// Writes what `write` produces to `path` through a temp file in the same directory
/// (buffered, synced) and a rename: `path` is the complete new file or untouched.
pub fn write_atomically_with(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<fs::File>) -> Result<(), RenderError>,
) -> Result<(), RenderError> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{file_name}.partial"));
    let result = (|| {
        let io = |action: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| RenderError::Io {
                action,
                path,
                source,
            }
        };
        let file = fs::File::create(&temp).map_err(io("create", &temp))?;
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        write(&mut out)?;
        let file = out
            .into_inner()
            .map_err(|e| io("write", &temp)(e.into_error()))?;
        file.sync_all().map_err(io("sync", &temp))?;
        drop(file);
        fs::rename(&temp, path).map_err(io("rename into place", path))
    })();
    if result.is_err() {
        // Best effort: the error being returned is the one that matters.
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Bytes [`write_atomically_with`] gathers before each write to the file.
const WRITE_BUFFER: usize = 1 << 16;
