//! Regression diffs: compare a candidate report with a baseline report, metric by metric,
//! under per-metric tolerances, and decide whether the candidate regressed.
//!
//! # What is compared
//! Every row is one metric in one *scope*:
//! - `run`: every performance statistic of `report.statistics`, plus the two report checks
//!   [`REPORT_CHECKS`]: `dropped_members` (number of ensemble members dropped because they
//!   could not load) and `gates_passed` (1 if the report's gate verdict passed, 0 if it
//!   failed, undefined without a verdict);
//! - `ensemble`: every calibration value of the ensemble
//!   ([`crate::calibration::CalibrationReport::values`]);
//! - `member:<name>`: the same values for each ensemble member.
//!
//! A metric reported on one side only, or defined on one side only, is a `missing` row: it
//! is never skipped, and it fails the comparison unless `allow_missing = true`.
//!
//! # Formulas (b = baseline, c = candidate, both finite)
//! - `diff = c − b`;
//! - `relative_diff = (c − b) / |b|`, undefined when `b = 0`;
//! - worsening `w = b − c` (higher is better), `c − b` (lower is better), `|c − b|` (must
//!   equal);
//! - allowed worsening `a = max(abs, rel × |b|)` with an omitted `abs` or `rel` counting as
//!   0 (so with `b = 0` only `abs` allows anything);
//! - status: `c = b` → unchanged; `w < 0` → improved; `0 < w ≤ a` → within tolerance;
//!   `w > a` → regressed.
//!
//! A NaN or infinite value counts as undefined (reports never contain one; the JSON cannot
//! hold one). Both undefined → unchanged.
//!
//! # Comparability
//! Some metadata differences make every number meaningless (different data hash, symbols,
//! window, bar or candle count, initial cash, annualization or end-of-data policy): they are
//! listed first and make the verdict [`RegressionVerdict::Incomparable`] (exit code 2).
//! Others are stated so the reader knows what changed (gauntlet version, strategy, feature
//! manifest and bundle hashes, run configuration, new input-distribution warnings).
//!
//! # Tolerances file
//! ```toml
//! allow_missing = false              # default: a missing metric fails the comparison
//!
//! [metrics.sharpe_ratio]             # any metric; omitted fields keep their default
//! direction = "higher_is_better"     # higher_is_better | lower_is_better | must_equal
//! abs = 0.10                         # absolute tolerance (same unit as the metric)
//! rel = 0.0                          # relative tolerance, a fraction of |baseline|
//! ```
//! Every metric not listed keeps its default ([`DEFAULT_TOLERANCES`]).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::render::{Report, ReportFormat, SCHEMA_VERSION};

mod diff;
#[cfg(test)]
mod fixtures;
mod tolerances;

pub use crate::render::regression::format_value;
pub use diff::{
    compare, compare_metadata, evaluate_metric, MetadataDifference, MetricEvaluation, MetricRow,
    RegressionReport, RegressionVerdict, Severity, Status, StatusCounts,
};
pub use tolerances::{
    tolerable_metrics, MetricTolerance, Preference, Tolerances, DEFAULT_TOLERANCES,
};

/// Version of the `regress.json` schema; bumped on any incompatible change.
pub const REGRESSION_SCHEMA_VERSION: u32 = 1;

/// File name of the Markdown diff in the output directory.
pub const MARKDOWN_FILE: &str = "regress.md";

/// File name of the JSON diff in the output directory.
pub const JSON_FILE: &str = "regress.json";

/// At most this many differing configuration keys are listed one by one.
pub const MAX_CONFIG_DIFFERENCES: usize = 20;

/// Metrics derived from the report itself rather than from a statistic: the number of
/// dropped ensemble members and whether the gates passed (1) or failed (0).
pub const REPORT_CHECKS: [&str; 2] = ["dropped_members", "gates_passed"];

/// Errors of loading reports and tolerances; each names the file concerned.
#[derive(Debug, Error)]
pub enum RegressError {
    /// The report directory does not exist.
    #[error("report directory {path} does not exist; expected the output directory of `gauntlet backtest`")]
    MissingDirectory {
        /// The directory given.
        path: PathBuf,
    },
    /// The path exists but is not a directory.
    #[error("{path} is not a directory; expected a report directory containing report.json")]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// The report directory has no `report.json`.
    #[error("{path} does not exist; expected the report.json written by `gauntlet backtest`")]
    MissingReport {
        /// The missing file.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// `report.json` is not valid JSON or not a report.
    #[error("{path} is not a valid report: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error (with line and column).
        source: serde_json::Error,
    },
    /// `report.json` was written with another schema version.
    #[error("{path} has {}, but this gauntlet reads schema_version {expected}; regenerate the report with this version", .found.map_or_else(|| "no schema_version".to_string(), |v| format!("schema_version {v}")))]
    SchemaVersion {
        /// The file.
        path: PathBuf,
        /// Its `schema_version`, if it has one.
        found: Option<u64>,
        /// [`SCHEMA_VERSION`].
        expected: u32,
    },
    /// A tolerances file could not be parsed or validated; all problems are listed.
    #[error("invalid tolerances:\n  - {}", .problems.join("\n  - "))]
    Tolerances {
        /// Every problem found (not only the first).
        problems: Vec<String>,
    },
}

/// deserializes it. Every error names the directory or file.
pub fn load_report(dir: &Path) -> Result<Report, RegressError> {
    if !dir.exists() {
        return Err(RegressError::MissingDirectory {
            path: dir.to_path_buf(),
        });
    }
    if !dir.is_dir() {
        return Err(RegressError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let path = dir.join(ReportFormat::Json.file_name());
    let text = std::fs::read_to_string(&path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            RegressError::MissingReport { path: path.clone() }
        } else {
            RegressError::Read {
                path: path.clone(),
                source,
            }
        }
    })?;
    // The version is checked before the full parse: a report of another schema would
    // otherwise fail with a confusing "missing field" error.
    #[derive(Deserialize)]
    struct Versioned {
        schema_version: Option<u64>,
    }
    let versioned: Versioned =
        serde_json::from_str(&text).map_err(|source| RegressError::Json {
            path: path.clone(),
            source,
        })?;
    if versioned.schema_version != Some(u64::from(SCHEMA_VERSION)) {
        return Err(RegressError::SchemaVersion {
            path,
            found: versioned.schema_version,
            expected: SCHEMA_VERSION,
        });
    }
    serde_json::from_str(&text).map_err(|source| RegressError::Json { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::fixtures::sample_report;

    #[test]
    fn loads_reports_and_names_the_path_in_every_error() {
        let dir = tempfile::tempdir().unwrap();
        let report = sample_report();
        crate::render::write_reports(dir.path(), &report, &[ReportFormat::Json]).unwrap();
        let loaded = load_report(dir.path()).unwrap();
        assert_eq!(loaded.metadata, report.metadata);
        assert_eq!(
            loaded.statistics.values.len(),
            report.statistics.values.len()
        );

        let missing_dir = dir.path().join("nope");
        let err = load_report(&missing_dir).unwrap_err();
        assert!(matches!(err, RegressError::MissingDirectory { .. }));
        assert!(err.to_string().contains("nope"));
        let file = dir.path().join("report.json");
        assert!(matches!(
            load_report(&file).unwrap_err(),
            RegressError::NotADirectory { .. }
        ));

        let empty = tempfile::tempdir().unwrap();
        let err = load_report(empty.path()).unwrap_err().to_string();
        assert!(
            err.contains("report.json") && err.contains("does not exist"),
            "{err}"
        );

        std::fs::write(empty.path().join("report.json"), "{\"schema_version\": 1,").unwrap();
        let err = load_report(empty.path()).unwrap_err().to_string();
        assert!(
            err.contains("report.json is not a valid report") && err.contains("line"),
            "{err}"
        );

        std::fs::write(empty.path().join("report.json"), "{\"schema_version\": 1}").unwrap();
        let err = load_report(empty.path()).unwrap_err().to_string();
        assert!(err.contains("missing field"), "{err}");

        std::fs::write(empty.path().join("report.json"), "{\"schema_version\": 99}").unwrap();
        let err = load_report(empty.path()).unwrap_err().to_string();
        assert!(
            err.contains("schema_version 99")
                && err.contains(&format!("reads schema_version {SCHEMA_VERSION}")),
            "{err}"
        );
        std::fs::write(empty.path().join("report.json"), "{}").unwrap();
        let err = load_report(empty.path()).unwrap_err().to_string();
        assert!(err.contains("has no schema_version"), "{err}");
    }
}
