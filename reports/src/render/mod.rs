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
use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use csv_tables::{
    render_risk_events_csv, render_trades_csv, RISK_EVENT_COLUMNS, TRADE_COLUMNS,
};
pub use html::render_html;
pub use markdown::render_markdown;
pub use model::{
    build_report, equity_buckets, iso_time, run_statistics, AnnualizationStatement, Breakdowns,
    CalibrationSection, EquityBucket, Notices, Provenance, Report, ReportOptions, RiskEventRow,
    RunMetadata, TradeAccounting, TradeRow, MAX_PLOT_POINTS, SCHEMA_VERSION,
};
pub use sweep::{
    render_sweep_csv, render_sweep_html, render_sweep_json, render_sweep_markdown, BestConfig,
    SweepReport, SweepRow, WalkForward, WalkForwardFold, SWEEP_SCHEMA_VERSION, SWEEP_STATISTICS,
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

    /// The file's bytes for `report`.
    pub fn render(self, report: &Report) -> Result<Vec<u8>, RenderError> {
        Ok(match self {
            Self::TradesCsv => render_trades_csv(report)?,
            Self::RiskEventsCsv => render_risk_events_csv(report)?,
            Self::Markdown => render_markdown(report).into_bytes(),
            Self::Html => render_html(report).into_bytes(),
            Self::Json => render_json(report)?.into_bytes(),
        })
    }
}

/// `report.json`: pretty-printed (two-space indent), keys in declared / sorted order,
/// trailing newline.
pub fn render_json(report: &Report) -> Result<String, RenderError> {
    let mut text = serde_json::to_string_pretty(report).map_err(|source| RenderError::Json {
        file: "report.json",
        source,
    })?;
    text.push('\n');
    Ok(text)
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
        let bytes = format.render(report)?;
        let path = dir.join(format.file_name());
        write_atomically(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// Writes `bytes` to `path` through a temp file in the same directory and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RenderError> {
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
        let mut file = fs::File::create(&temp).map_err(io("create", &temp))?;
        file.write_all(bytes).map_err(io("write", &temp))?;
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
