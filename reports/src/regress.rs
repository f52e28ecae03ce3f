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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::gates::{gateable_statistics, EXIT_ERROR, EXIT_GATE_FAILED, EXIT_PASS};
use crate::render::{iso_time, Report, ReportFormat, SCHEMA_VERSION};

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

/// Which way a metric should move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Worsening `w = b − c` (e.g. Sharpe ratio).
    HigherIsBetter,
    /// Worsening `w = c − b` (e.g. max drawdown).
    LowerIsBetter,
    /// Worsening `w = |c − b|`: any change counts against the tolerance (e.g. trade count).
    MustEqual,
}

impl Direction {
    /// The worsening `w` of the candidate `c` against the baseline `b` (see the module doc).
    pub fn worsening(self, baseline: f64, candidate: f64) -> f64 {
        match self {
            Direction::HigherIsBetter => baseline - candidate,
            Direction::LowerIsBetter => candidate - baseline,
            Direction::MustEqual => (candidate - baseline).abs(),
        }
    }
}

/// The tolerance of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricTolerance {
    /// Which way is better.
    pub direction: Direction,
    /// Absolute tolerance, in the metric's unit (≥ 0).
    pub abs: Option<f64>,
    /// Relative tolerance, a fraction of `|baseline|` (≥ 0).
    pub rel: Option<f64>,
}

impl MetricTolerance {
    const fn new(direction: Direction, abs: Option<f64>, rel: Option<f64>) -> Self {
        Self {
            direction,
            abs,
            rel,
        }
    }

    /// Allowed worsening for baseline `b`: `max(abs, rel × |b|)`, an omitted part counting
    /// as 0.
    pub fn allowed_worsening(&self, baseline: f64) -> f64 {
        self.abs
            .unwrap_or(0.0)
            .max(self.rel.unwrap_or(0.0) * baseline.abs())
    }
}

use Direction::{HigherIsBetter as Higher, LowerIsBetter as Lower, MustEqual as Equal};

/// A tolerance with only an absolute part.
const fn absolute(direction: Direction, abs: f64) -> MetricTolerance {
    MetricTolerance::new(direction, Some(abs), None)
}

/// A tolerance with only a relative part.
const fn relative(direction: Direction, rel: f64) -> MetricTolerance {
    MetricTolerance::new(direction, None, Some(rel))
}

/// The built-in tolerance of every gateable statistic, calibration value and report check,
/// sorted by name: `(metric, tolerance)`. `configs/tolerances.toml` spells out the same
/// values with the reasoning behind them.
pub const DEFAULT_TOLERANCES: [(&str, MetricTolerance); 41] = [
    ("accuracy", absolute(Higher, 0.005)),
    ("annual_volatility", relative(Lower, 0.10)),
    ("average_confidence", absolute(Equal, 0.01)),
    ("average_drawdown", absolute(Lower, 0.005)),
    ("average_loss", relative(Higher, 0.05)),
    ("average_mae", absolute(Lower, 0.002)),
    ("average_mfe", absolute(Higher, 0.002)),
    ("average_win", relative(Higher, 0.05)),
    ("brier", absolute(Lower, 0.005)),
    ("cagr", absolute(Higher, 0.01)),
    ("calmar_ratio", relative(Higher, 0.10)),
    ("class_bias", absolute(Lower, 0.01)),
    ("consensus_rate", absolute(Higher, 0.01)),
    ("deflated_sharpe_ratio", absolute(Higher, 0.02)),
    ("dominant_class_share", absolute(Lower, 0.02)),
    ("downside_risk", relative(Lower, 0.10)),
    ("dropped_members", absolute(Lower, 0.0)),
    ("ece", absolute(Lower, 0.005)),
    ("expectancy", relative(Higher, 0.05)),
    ("exposure_time", absolute(Equal, 0.02)),
    ("fees_paid", relative(Lower, 0.05)),
    ("gates_passed", absolute(Higher, 0.0)),
    ("log_loss", absolute(Lower, 0.01)),
    ("max_abs_logit", relative(Lower, 0.25)),
    ("max_drawdown", absolute(Lower, 0.01)),
    (
        "max_drawdown_duration_days",
        MetricTolerance::new(Lower, Some(1.0), Some(0.10)),
    ),
    ("mce", absolute(Lower, 0.02)),
    ("number_of_trades", relative(Equal, 0.05)),
    ("overconfident_share", absolute(Lower, 0.005)),
    ("payoff_ratio", absolute(Higher, 0.05)),
    ("probabilistic_sharpe_ratio", absolute(Higher, 0.02)),
    ("profit_factor", absolute(Higher, 0.05)),
    ("roc_auc_macro", absolute(Higher, 0.005)),
    ("sharpe_ratio", absolute(Higher, 0.10)),
    ("sortino_ratio", absolute(Higher, 0.15)),
    ("stop_loss_hit_rate", absolute(Lower, 0.02)),
    ("take_profit_hit_rate", absolute(Equal, 0.02)),
    ("total_return", absolute(Higher, 0.01)),
    ("trailing_stop_rate", absolute(Equal, 0.02)),
    ("turnover", relative(Equal, 0.10)),
    ("win_rate", absolute(Higher, 0.01)),
];

/// Every metric a tolerance can name: the gateable statistics and calibration values
/// ([`gateable_statistics`]) and the [`REPORT_CHECKS`].
pub fn tolerable_metrics() -> BTreeSet<&'static str> {
    let mut names = gateable_statistics();
    names.extend(REPORT_CHECKS);
    names
}

/// Tolerances of every metric, and whether missing metrics are accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tolerances {
    /// When false (the default), a metric reported or defined on one side only fails the
    /// comparison.
    pub allow_missing: bool,
    /// Tolerance per metric name.
    pub metrics: BTreeMap<String, MetricTolerance>,
}

impl Default for Tolerances {
    /// [`DEFAULT_TOLERANCES`], `allow_missing = false`.
    fn default() -> Self {
        Self {
            allow_missing: false,
            metrics: DEFAULT_TOLERANCES
                .iter()
                .map(|(name, tolerance)| (name.to_string(), *tolerance))
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTolerances {
    #[serde(default)]
    allow_missing: bool,
    /// Kept as TOML values so that each metric's table is checked on its own and every
    /// problem is reported, not only serde's first.
    #[serde(default)]
    metrics: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetricTolerance {
    direction: Option<Direction>,
    abs: Option<f64>,
    rel: Option<f64>,
}

fn check_amount(section: &str, key: &str, value: Option<f64>, problems: &mut Vec<String>) {
    if let Some(v) = value {
        if !(v.is_finite() && v >= 0.0) {
            problems.push(format!(
                "[{section}] `{key}` = {v}: expected a finite number ≥ 0"
            ));
        }
    }
}

impl Tolerances {
    /// Parses and validates a tolerances file's text over the defaults, collecting every
    /// problem (unknown keys anywhere, unknown metrics, invalid directions, negative or
    /// non-finite tolerances) into one error.
    pub fn from_toml_str(text: &str) -> Result<Self, RegressError> {
        let raw: RawTolerances = toml::from_str(text).map_err(|e| RegressError::Tolerances {
            problems: vec![e.to_string().trim_end().to_string()],
        })?;
        let known = tolerable_metrics();
        let mut tolerances = Self {
            allow_missing: raw.allow_missing,
            ..Self::default()
        };
        let mut problems = Vec::new();
        for (metric, value) in raw.metrics {
            let section = format!("metrics.{metric}");
            if !known.contains(metric.as_str()) {
                problems.push(format!(
                    "[{section}] unknown metric `{metric}`: expected one of {}",
                    known.iter().copied().collect::<Vec<_>>().join(", ")
                ));
                continue;
            }
            let entry: RawMetricTolerance = match value.try_into() {
                Ok(entry) => entry,
                Err(e) => {
                    problems.push(format!("[{section}] {}", e.to_string().trim_end()));
                    continue;
                }
            };
            check_amount(&section, "abs", entry.abs, &mut problems);
            check_amount(&section, "rel", entry.rel, &mut problems);
            // Every known metric has a default (a unit test checks it); the fallback only
            // keeps this total.
            let tolerance = tolerances
                .metrics
                .entry(metric)
                .or_insert(MetricTolerance::new(Equal, None, None));
            if let Some(direction) = entry.direction {
                tolerance.direction = direction;
            }
            if entry.abs.is_some() {
                tolerance.abs = entry.abs;
            }
            if entry.rel.is_some() {
                tolerance.rel = entry.rel;
            }
        }
        if problems.is_empty() {
            Ok(tolerances)
        } else {
            Err(RegressError::Tolerances { problems })
        }
    }

    /// Reads and parses a tolerances file; the path is part of any error.
    pub fn from_path(path: &Path) -> Result<Self, RegressError> {
        crate::gates::read_spec(path, |text| match Self::from_toml_str(text) {
            Err(RegressError::Tolerances { problems }) => Err(problems),
            Err(other) => Err(vec![other.to_string()]),
            Ok(tolerances) => Ok(tolerances),
        })
        .map_err(|problems| RegressError::Tolerances { problems })
    }
}

/// Reads `<dir>/report.json`, checks its `schema_version` against [`SCHEMA_VERSION`], and
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

/// Outcome of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Worse than the tolerance allows.
    Regressed,
    /// Reported or defined on one side only.
    Missing,
    /// Worse, but within the tolerance.
    WithinTolerance,
    /// Better.
    Improved,
    /// Exactly equal (or undefined on both sides).
    Unchanged,
}

impl Status {
    /// The snake_case name used in the JSON (`regressed`, `within_tolerance`, …).
    pub fn name(self) -> &'static str {
        match self {
            Status::Regressed => "regressed",
            Status::Missing => "missing",
            Status::WithinTolerance => "within_tolerance",
            Status::Improved => "improved",
            Status::Unchanged => "unchanged",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Status::Regressed => "**REGRESSED**",
            Status::Missing => "**missing**",
            Status::WithinTolerance => "within tolerance",
            Status::Improved => "improved",
            Status::Unchanged => "unchanged",
        }
    }
}

/// The numbers of one metric, from [`evaluate_metric`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricEvaluation {
    /// `c − b`, when both are defined.
    pub diff: Option<f64>,
    /// `(c − b) / |b|`, when both are defined and `b ≠ 0`.
    pub relative_diff: Option<f64>,
    /// `max(abs, rel × |b|)`, when the baseline is defined.
    pub allowed_worsening: Option<f64>,
    /// The outcome.
    pub status: Status,
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// Evaluates one metric with the formulas of the module doc. Non-finite values count as
/// undefined; exactly one side undefined → [`Status::Missing`].
pub fn evaluate_metric(
    baseline: Option<f64>,
    candidate: Option<f64>,
    tolerance: &MetricTolerance,
) -> MetricEvaluation {
    let (baseline, candidate) = (finite(baseline), finite(candidate));
    let allowed_worsening = baseline.map(|b| tolerance.allowed_worsening(b));
    let (Some(b), Some(c)) = (baseline, candidate) else {
        let status = if baseline.is_none() && candidate.is_none() {
            Status::Unchanged
        } else {
            Status::Missing
        };
        return MetricEvaluation {
            diff: None,
            relative_diff: None,
            allowed_worsening,
            status,
        };
    };
    let diff = finite(Some(c - b));
    let relative_diff = if b == 0.0 {
        None
    } else {
        finite(Some((c - b) / b.abs()))
    };
    let worsening = tolerance.direction.worsening(b, c);
    let status = if c == b {
        Status::Unchanged
    } else if worsening < 0.0 {
        Status::Improved
    } else if allowed_worsening.is_some_and(|a| worsening <= a) {
        Status::WithinTolerance
    } else {
        Status::Regressed
    };
    MetricEvaluation {
        diff,
        relative_diff,
        allowed_worsening,
        status,
    }
}

/// One row of the regression table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    /// `run`, `ensemble` or `member:<name>`.
    pub scope: String,
    /// The metric name.
    pub metric: String,
    /// Baseline value; `None` when undefined or not reported.
    pub baseline: Option<f64>,
    /// Candidate value; `None` when undefined or not reported.
    pub candidate: Option<f64>,
    /// `c − b`.
    pub diff: Option<f64>,
    /// `(c − b) / |b|`; `None` when `b = 0`.
    pub relative_diff: Option<f64>,
    /// The tolerance applied.
    pub tolerance: MetricTolerance,
    /// `max(abs, rel × |b|)`.
    pub allowed_worsening: Option<f64>,
    /// The outcome.
    pub status: Status,
    /// Why a value is missing, or that no tolerance was configured.
    pub note: Option<String>,
}

/// How much a metadata difference matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The comparison is meaningless: the verdict is [`RegressionVerdict::Incomparable`].
    Incomparable,
    /// The comparison stands, but something deserves a look.
    Warning,
    /// What changed between the runs (usually the change under test).
    Info,
}

/// One difference between the reports' metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetadataDifference {
    /// The field, e.g. `data_hash` or `config.risk.stop_loss_atr`.
    pub field: String,
    /// Baseline value, as text.
    pub baseline: String,
    /// Candidate value, as text.
    pub candidate: String,
    /// How much it matters.
    pub severity: Severity,
    /// What it means.
    pub message: String,
}

/// The overall outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegressionVerdict {
    /// Nothing regressed (and nothing is missing, unless allowed).
    Pass,
    /// A metric regressed, or one is missing and `allow_missing` is false.
    Regressed,
    /// The reports cannot be compared (see [`Severity::Incomparable`]).
    Incomparable,
}

impl RegressionVerdict {
    /// 0 pass, 1 regressed, 2 incomparable (an input error: the baseline does not match).
    pub fn exit_code(self) -> i32 {
        match self {
            RegressionVerdict::Pass => EXIT_PASS,
            RegressionVerdict::Regressed => EXIT_GATE_FAILED,
            RegressionVerdict::Incomparable => EXIT_ERROR,
        }
    }

    fn label(self) -> &'static str {
        match self {
            RegressionVerdict::Pass => "PASS",
            RegressionVerdict::Regressed => "REGRESSED",
            RegressionVerdict::Incomparable => "NOT COMPARABLE",
        }
    }
}

/// Number of rows per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// Rows with [`Status::Regressed`].
    pub regressed: usize,
    /// Rows with [`Status::Missing`].
    pub missing: usize,
    /// Rows with [`Status::WithinTolerance`].
    pub within_tolerance: usize,
    /// Rows with [`Status::Improved`].
    pub improved: usize,
    /// Rows with [`Status::Unchanged`].
    pub unchanged: usize,
}

impl StatusCounts {
    fn of(rows: &[MetricRow]) -> Self {
        let mut counts = Self::default();
        for row in rows {
            *match row.status {
                Status::Regressed => &mut counts.regressed,
                Status::Missing => &mut counts.missing,
                Status::WithinTolerance => &mut counts.within_tolerance,
                Status::Improved => &mut counts.improved,
                Status::Unchanged => &mut counts.unchanged,
            } += 1;
        }
        counts
    }
}

/// The comparison of a candidate report with a baseline report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionReport {
    /// [`REGRESSION_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The overall outcome.
    pub verdict: RegressionVerdict,
    /// Rows per status.
    pub counts: StatusCounts,
    /// Whether missing metrics were accepted.
    pub allow_missing: bool,
    /// Metadata differences, most severe first.
    pub metadata: Vec<MetadataDifference>,
    /// One row per metric: scope `run`, then `ensemble`, then members by name; metrics by
    /// name within a scope.
    pub rows: Vec<MetricRow>,
}

/// A section's values: `None` when the section is absent from the report.
type Section = Option<BTreeMap<String, Option<f64>>>;

fn run_values(report: &Report) -> BTreeMap<String, Option<f64>> {
    let mut values = report.statistics.values.clone();
    values.insert(
        "dropped_members".to_string(),
        Some(report.notices.dropped_members.len() as f64),
    );
    values.insert(
        "gates_passed".to_string(),
        report
            .verdict
            .as_ref()
            .map(|v| if v.passed { 1.0 } else { 0.0 }),
    );
    values
}

fn ensemble_values(report: &Report) -> Section {
    report
        .calibration
        .as_ref()
        .and_then(|c| c.ensemble.as_ref())
        .map(|c| c.values())
}

fn member_values(report: &Report, member: &str) -> Section {
    report
        .calibration
        .as_ref()
        .and_then(|c| c.members.get(member))
        .map(|c| c.values())
}

/// Why one side has no value: `None` when it has one.
fn absence(side: &str, section: &Section, metric: &str, what: &str) -> Option<String> {
    match section {
        None => Some(format!("{what} not in the {side}")),
        Some(values) => match values.get(metric) {
            None => Some(format!("not reported by the {side}")),
            Some(v) if finite(*v).is_none() => Some(format!("undefined in the {side}")),
            Some(_) => None,
        },
    }
}

fn compare_section(
    scope: &str,
    what: &str,
    baseline: &Section,
    candidate: &Section,
    tolerances: &Tolerances,
    rows: &mut Vec<MetricRow>,
) {
    let metrics: BTreeSet<&String> = baseline
        .iter()
        .chain(candidate.iter())
        .flat_map(|values| values.keys())
        .collect();
    for metric in metrics {
        let get = |section: &Section| section.as_ref().and_then(|v| v.get(metric)).copied();
        let (b, c) = (get(baseline).flatten(), get(candidate).flatten());
        let configured = tolerances.metrics.get(metric.as_str()).copied();
        let tolerance = configured.unwrap_or(MetricTolerance::new(Equal, None, None));
        let mut evaluation = evaluate_metric(b, c, &tolerance);
        let reported = |section: &Section| get(section).is_some();
        if evaluation.status == Status::Unchanged && reported(baseline) != reported(candidate) {
            // Undefined on one side and not reported at all on the other.
            evaluation.status = Status::Missing;
        }
        let note = match evaluation.status {
            Status::Missing => {
                let reasons: Vec<String> = [
                    absence("baseline", baseline, metric, what),
                    absence("candidate", candidate, metric, what),
                ]
                .into_iter()
                .flatten()
                .collect();
                Some(reasons.join("; "))
            }
            Status::Unchanged if finite(b).is_none() => Some("undefined in both".to_string()),
            _ if configured.is_none() => {
                Some("no tolerance configured for this metric: it must be equal".to_string())
            }
            _ => None,
        };
        rows.push(MetricRow {
            scope: scope.to_string(),
            metric: metric.clone(),
            baseline: finite(b),
            candidate: finite(c),
            diff: evaluation.diff,
            relative_diff: evaluation.relative_diff,
            tolerance,
            allowed_worsening: evaluation.allowed_worsening,
            status: evaluation.status,
            note,
        });
    }
}

fn optional_text(value: Option<&str>) -> String {
    value.unwrap_or("none").to_string()
}

fn time_text(ts_ms: Option<i64>) -> String {
    ts_ms.map_or_else(|| "none".to_string(), iso_time)
}

/// Shortens long values (configs can hold long strings) to keep the diff readable.
fn shorten(text: String) -> String {
    const MAX_CHARS: usize = 80;
    if text.chars().count() <= MAX_CHARS {
        text
    } else {
        let head: String = text.chars().take(MAX_CHARS - 1).collect();
        format!("{head}…")
    }
}

/// Leaf paths where two JSON values differ: objects are walked key by key (sorted), any
/// other value (arrays included) is compared as a whole.
fn json_differences(
    path: &str,
    baseline: Option<&serde_json::Value>,
    candidate: Option<&serde_json::Value>,
    out: &mut Vec<(String, String, String)>,
) {
    use serde_json::Value;
    if let (Some(Value::Object(b)), Some(Value::Object(c))) = (baseline, candidate) {
        let keys: BTreeSet<&String> = b.keys().chain(c.keys()).collect();
        for key in keys {
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            json_differences(&child, b.get(key), c.get(key), out);
        }
    } else if baseline != candidate {
        let text = |v: Option<&Value>| v.map_or_else(|| "absent".to_string(), Value::to_string);
        out.push((
            path.to_string(),
            shorten(text(baseline)),
            shorten(text(candidate)),
        ));
    }
}

/// Metadata differences between the reports, most severe first (stable within a severity).
pub fn compare_metadata(baseline: &Report, candidate: &Report) -> Vec<MetadataDifference> {
    let mut out = Vec::new();
    let mut push = |field: &str, b: String, c: String, severity: Severity, message: &str| {
        out.push(MetadataDifference {
            field: field.to_string(),
            baseline: b,
            candidate: c,
            severity,
            message: message.to_string(),
        });
    };
    let (bm, cm) = (&baseline.metadata, &candidate.metadata);
    let (bp, cp) = (&bm.provenance, &cm.provenance);

    match (&bp.data_hash, &cp.data_hash) {
        (Some(b), Some(c)) if b != c => push(
            "data_hash",
            b.clone(),
            c.clone(),
            Severity::Incomparable,
            "the runs read different data",
        ),
        (Some(_), Some(_)) => {}
        (b, c) => push(
            "data_hash",
            optional_text(b.as_deref()),
            optional_text(c.as_deref()),
            Severity::Warning,
            "a data hash is unknown: cannot confirm that both runs read the same data",
        ),
    }
    let (b_symbols, c_symbols): (BTreeSet<&String>, BTreeSet<&String>) =
        (bm.symbols.iter().collect(), cm.symbols.iter().collect());
    if b_symbols != c_symbols {
        let list = |set: BTreeSet<&&String>| {
            let names: Vec<&str> = set.iter().map(|s| s.as_str()).collect();
            if names.is_empty() {
                "none".to_string()
            } else {
                shorten(names.join(", "))
            }
        };
        push(
            "symbols",
            format!(
                "only in baseline: {}",
                list(b_symbols.difference(&c_symbols).collect())
            ),
            format!(
                "only in candidate: {}",
                list(c_symbols.difference(&b_symbols).collect())
            ),
            Severity::Incomparable,
            "the runs traded different symbols",
        );
    } else if bm.symbols != cm.symbols {
        push(
            "symbols",
            "same symbols".to_string(),
            "in another order".to_string(),
            Severity::Info,
            "the symbols are listed in another order",
        );
    }
    let window = [
        ("first_bar", bm.first_bar_ts_ms, cm.first_bar_ts_ms),
        ("last_bar", bm.last_bar_ts_ms, cm.last_bar_ts_ms),
    ];
    for (field, b, c) in window {
        if b != c {
            push(
                field,
                time_text(b),
                time_text(c),
                Severity::Incomparable,
                "the runs cover different windows",
            );
        }
    }
    if bm.bars != cm.bars {
        push(
            "bars",
            bm.bars.to_string(),
            cm.bars.to_string(),
            Severity::Incomparable,
            "the equity curves have different numbers of timestamps",
        );
    }
    if bm.candles != cm.candles {
        push(
            "candles",
            bm.candles.to_string(),
            cm.candles.to_string(),
            Severity::Incomparable,
            "the runs processed different numbers of candles",
        );
    }
    if bm.initial_cash != cm.initial_cash {
        push(
            "initial_cash",
            bm.initial_cash.to_string(),
            cm.initial_cash.to_string(),
            Severity::Incomparable,
            "the runs started with different capital, so money-valued metrics differ in scale",
        );
    }
    if baseline.annualization != candidate.annualization {
        push(
            "annualization",
            baseline.annualization.description.clone(),
            candidate.annualization.description.clone(),
            Severity::Incomparable,
            "annualized statistics use different conventions",
        );
    }
    let (b_policy, c_policy) = (
        baseline.trade_accounting.end_of_data,
        candidate.trade_accounting.end_of_data,
    );
    if b_policy != c_policy {
        push(
            "trade_accounting.end_of_data",
            format!("{b_policy:?}").to_lowercase(),
            format!("{c_policy:?}").to_lowercase(),
            Severity::Incomparable,
            "trade statistics count different trades",
        );
    }

    let b_warnings: BTreeSet<&String> = baseline
        .notices
        .input_distribution_warnings
        .iter()
        .collect();
    for warning in &candidate.notices.input_distribution_warnings {
        if !b_warnings.contains(warning) {
            push(
                "input_distribution_warning",
                "absent".to_string(),
                shorten(warning.clone()),
                Severity::Warning,
                "new input-distribution warning: check the feature scaling",
            );
        }
    }

    if bm.gauntlet_version != cm.gauntlet_version {
        push(
            "gauntlet_version",
            bm.gauntlet_version.clone(),
            cm.gauntlet_version.clone(),
            Severity::Info,
            "produced by different gauntlet versions",
        );
    }
    if bm.strategy != cm.strategy {
        push(
            "strategy",
            bm.strategy.clone(),
            cm.strategy.clone(),
            Severity::Info,
            "different strategies",
        );
    }
    if bp.manifest_hash != cp.manifest_hash {
        push(
            "manifest_hash",
            optional_text(bp.manifest_hash.as_deref()),
            optional_text(cp.manifest_hash.as_deref()),
            Severity::Info,
            "different feature manifests",
        );
    }
    for (field, b_map, c_map, reason) in [
        (
            "bundle_hashes",
            &bp.bundle_hashes,
            &cp.bundle_hashes,
            "different model bundle",
        ),
        (
            "scoring_engines",
            &bp.scoring_engines,
            &cp.scoring_engines,
            "scored by another engine",
        ),
    ] {
        let members: BTreeSet<&String> = b_map.keys().chain(c_map.keys()).collect();
        for member in members {
            let (b, c) = (b_map.get(member), c_map.get(member));
            if b != c {
                push(
                    &format!("{field}.{member}"),
                    optional_text(b.map(String::as_str)),
                    optional_text(c.map(String::as_str)),
                    Severity::Info,
                    reason,
                );
            }
        }
    }
    let mut config = Vec::new();
    json_differences("", Some(&bp.config), Some(&cp.config), &mut config);
    let hidden = config.len().saturating_sub(MAX_CONFIG_DIFFERENCES);
    for (key, b, c) in config.into_iter().take(MAX_CONFIG_DIFFERENCES) {
        let field = if key.is_empty() {
            "config".to_string()
        } else {
            format!("config.{key}")
        };
        push(&field, b, c, Severity::Info, "different run configuration");
    }
    if hidden > 0 {
        push(
            "config",
            String::new(),
            String::new(),
            Severity::Info,
            &format!("{hidden} more configuration differences not listed"),
        );
    }
    // Stable: keeps the order above within a severity.
    out.sort_by_key(|d| d.severity);
    out
}

/// Compares `candidate` with `baseline`: one row per metric of every scope present in
/// either report, the metadata differences, and the verdict (see the module doc).
pub fn compare(baseline: &Report, candidate: &Report, tolerances: &Tolerances) -> RegressionReport {
    let mut rows = Vec::new();
    compare_section(
        "run",
        "statistics",
        &Some(run_values(baseline)),
        &Some(run_values(candidate)),
        tolerances,
        &mut rows,
    );
    let (b_ensemble, c_ensemble) = (ensemble_values(baseline), ensemble_values(candidate));
    if b_ensemble.is_some() || c_ensemble.is_some() {
        compare_section(
            "ensemble",
            "ensemble calibration",
            &b_ensemble,
            &c_ensemble,
            tolerances,
            &mut rows,
        );
    }
    let members: BTreeSet<&String> = [baseline, candidate]
        .iter()
        .filter_map(|r| r.calibration.as_ref())
        .flat_map(|c| c.members.keys())
        .collect();
    for member in members {
        compare_section(
            &format!("member:{member}"),
            "member",
            &member_values(baseline, member),
            &member_values(candidate, member),
            tolerances,
            &mut rows,
        );
    }
    let metadata = compare_metadata(baseline, candidate);
    let counts = StatusCounts::of(&rows);
    let verdict = if metadata
        .iter()
        .any(|d| d.severity == Severity::Incomparable)
    {
        RegressionVerdict::Incomparable
    } else if counts.regressed > 0 || (counts.missing > 0 && !tolerances.allow_missing) {
        RegressionVerdict::Regressed
    } else {
        RegressionVerdict::Pass
    };
    RegressionReport {
        schema_version: REGRESSION_SCHEMA_VERSION,
        verdict,
        counts,
        allow_missing: tolerances.allow_missing,
        metadata,
        rows,
    }
}

/// A number for the tables: `0`; `{:.4e}` when `|v| < 1e-4` or `|v| ≥ 1e9`; otherwise
/// `{:.6}` without trailing zeros. `−0` prints as `0`.
pub fn format_value(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    if !(1e-4..1e9).contains(&v.abs()) {
        return format!("{v:.4e}");
    }
    let text = format!("{v:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

fn format_signed(v: f64) -> String {
    let text = format_value(v);
    if v > 0.0 {
        format!("+{text}")
    } else {
        text
    }
}

fn format_optional(v: Option<f64>, format: fn(f64) -> String) -> String {
    v.map_or_else(|| "n/a".to_string(), format)
}

fn format_percent(v: f64) -> String {
    format!("{:+.2}%", v * 100.0)
}

/// The tolerance in words: the allowed worsening when the baseline is known
/// (`drop ≤ 0.1`, `rise ≤ 0.01`, `±5`; `no drop` / `no rise` / `exact` when 0), else the
/// configured parts (`drop ≤ 0.1 or 5%`).
fn describe_tolerance(tolerance: &MetricTolerance, allowed: Option<f64>) -> String {
    let (word, zero) = match tolerance.direction {
        Higher => ("drop ≤ ", "no drop"),
        Lower => ("rise ≤ ", "no rise"),
        Equal => ("±", "exact"),
    };
    let amount = match allowed {
        Some(0.0) => return zero.to_string(),
        Some(a) => format_value(a),
        None => {
            let parts: Vec<String> = [
                tolerance.abs.filter(|&a| a > 0.0).map(format_value),
                tolerance
                    .rel
                    .filter(|&r| r > 0.0)
                    .map(|r| format!("{}%", format_value(r * 100.0))),
            ]
            .into_iter()
            .flatten()
            .collect();
            if parts.is_empty() {
                return zero.to_string();
            }
            parts.join(" or ")
        }
    };
    format!("{word}{amount}")
}

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

const TABLE_HEADER: &str = "| scope | metric | baseline | candidate | diff | rel. diff | tolerance | status | note |\n|---|---|---:|---:|---:|---:|---|---|---|\n";

fn write_rows<'a>(
    out: &mut String,
    rows: impl Iterator<Item = &'a MetricRow>,
    allow_missing: bool,
) {
    out.push_str(TABLE_HEADER);
    for row in rows {
        let status = if row.status == Status::Missing && allow_missing {
            "missing (allowed)"
        } else {
            row.status.label()
        };
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&row.scope),
            cell(&row.metric),
            format_optional(row.baseline, format_value),
            format_optional(row.candidate, format_value),
            format_optional(row.diff, format_signed),
            format_optional(row.relative_diff, format_percent),
            describe_tolerance(&row.tolerance, row.allowed_worsening),
            status,
            cell(row.note.as_deref().unwrap_or("")),
        );
    }
}

fn write_metadata(out: &mut String, title: &str, differences: &[&MetadataDifference]) {
    if differences.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}\n");
    for d in differences {
        if d.baseline.is_empty() && d.candidate.is_empty() {
            let _ = writeln!(out, "- `{}`: {}", d.field, d.message);
        } else {
            let _ = writeln!(
                out,
                "- `{}`: {} (baseline `{}`, candidate `{}`)",
                d.field, d.message, d.baseline, d.candidate
            );
        }
    }
    out.push('\n');
}

impl RegressionReport {
    /// The rows that fail or need a look: regressed and missing.
    pub fn failures(&self) -> impl Iterator<Item = &MetricRow> {
        self.rows
            .iter()
            .filter(|r| matches!(r.status, Status::Regressed | Status::Missing))
    }

    /// The process exit code of the verdict (see [`RegressionVerdict::exit_code`]).
    pub fn exit_code(&self) -> i32 {
        self.verdict.exit_code()
    }

    /// Markdown for a CI comment or job summary: the verdict and counts first, then the
    /// differences that make the reports incomparable, warnings, the regressed and missing
    /// metrics, what changed between the runs, and every other metric in a collapsed
    /// `<details>` block (within tolerance, improved, unchanged). The labels name the two
    /// reports (e.g. their directories).
    pub fn to_markdown(&self, baseline_label: &str, candidate_label: &str) -> String {
        let c = &self.counts;
        let total = c.regressed + c.missing + c.within_tolerance + c.improved + c.unchanged;
        let mut out = String::new();
        let _ = writeln!(out, "## gauntlet regress: {}\n", self.verdict.label());
        // Bold only what needs attention.
        let loud = |count: usize, what: &str| {
            if count > 0 {
                format!("**{count} {what}**")
            } else {
                format!("{count} {what}")
            }
        };
        let _ = writeln!(
            out,
            "Candidate `{candidate_label}` against baseline `{baseline_label}`: {}, {}{}, {} within tolerance, {} improved, {} unchanged ({total} metrics).\n",
            loud(c.regressed, "regressed"),
            loud(c.missing, "missing"),
            if self.allow_missing && c.missing > 0 { " (allowed)" } else { "" },
            c.within_tolerance,
            c.improved,
            c.unchanged,
        );
        let of = |severity: Severity| -> Vec<&MetadataDifference> {
            self.metadata
                .iter()
                .filter(|d| d.severity == severity)
                .collect()
        };
        write_metadata(
            &mut out,
            "**The reports are not comparable**: regenerate the baseline on the same data and settings before trusting any number below.",
            &of(Severity::Incomparable),
        );
        write_metadata(&mut out, "**Warnings**:", &of(Severity::Warning));
        let failures: Vec<&MetricRow> = self.failures().collect();
        if failures.is_empty() {
            out.push_str("No metric regressed and none is missing.\n\n");
        } else {
            out.push_str("### Regressed and missing metrics\n\n");
            let mut sorted = failures;
            // Stable: scope order within a status.
            sorted.sort_by_key(|r| r.status);
            write_rows(&mut out, sorted.into_iter(), self.allow_missing);
            out.push('\n');
        }
        write_metadata(
            &mut out,
            "### What changed between the runs",
            &of(Severity::Info),
        );
        let mut others: Vec<&MetricRow> = self
            .rows
            .iter()
            .filter(|r| !matches!(r.status, Status::Regressed | Status::Missing))
            .collect();
        if !others.is_empty() {
            others.sort_by_key(|r| r.status);
            let _ = writeln!(
                out,
                "<details>\n<summary>Other metrics ({}): {} within tolerance, {} improved, {} unchanged</summary>\n",
                others.len(),
                c.within_tolerance,
                c.improved,
                c.unchanged
            );
            write_rows(&mut out, others.into_iter(), self.allow_missing);
            out.push_str("\n</details>\n");
        }
        out
    }

    /// `regress.json`: pretty-printed, keys in declared order, trailing newline.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use gauntlet_engine::result::{AmbiguityStats, EquityCurve as EngineCurve};
    use gauntlet_engine::{ExitReason as EngineExitReason, RunResult, Trade};
    use gauntlet_strategies::strategy::Side;
    use rstest::rstest;

    use crate::calibration::{CalibrationReport, PredictionSet};
    use crate::render::{build_report, CalibrationSection, Provenance, ReportOptions};
    use Status::{Improved, Missing, Regressed, Unchanged, WithinTolerance as Within};

    const DAY: i64 = 86_400_000;

    fn tol(direction: Direction, abs: Option<f64>, rel: Option<f64>) -> MetricTolerance {
        MetricTolerance::new(direction, abs, rel)
    }

    /// Hand-computed cases: `(tolerance, baseline, candidate, status, diff, relative diff,
    /// allowed worsening)`.
    #[allow(clippy::type_complexity)]
    #[rustfmt::skip]
    const CASES: [(MetricTolerance, Option<f64>, Option<f64>, Status, Option<f64>, Option<f64>, Option<f64>); 22] = [
        // higher is better, abs 0.1, b = 1.5: allowed 0.1
        (absolute(Higher, 0.1), Some(1.5), Some(1.5), Unchanged, Some(0.0), Some(0.0), Some(0.1)),
        (absolute(Higher, 0.1), Some(1.5), Some(1.8), Improved, Some(0.3), Some(0.2), Some(0.1)),
        (absolute(Higher, 0.1), Some(1.5), Some(1.45), Within, Some(-0.05), Some(-1.0 / 30.0), Some(0.1)),
        (absolute(Higher, 0.1), Some(1.5), Some(1.3), Regressed, Some(-0.2), Some(-0.2 / 1.5), Some(0.1)),
        // lower is better, abs 0.01: max drawdown 10% → 10.5% within, → 12% regressed
        (absolute(Lower, 0.01), Some(0.10), Some(0.105), Within, Some(0.005), Some(0.05), Some(0.01)),
        (absolute(Lower, 0.01), Some(0.10), Some(0.12), Regressed, Some(0.02), Some(0.2), Some(0.01)),
        (absolute(Lower, 0.01), Some(0.10), Some(0.05), Improved, Some(-0.05), Some(-0.5), Some(0.01)),
        // must equal, rel 5%: 100 trades allow ±5 either way
        (relative(Equal, 0.05), Some(100.0), Some(105.0), Within, Some(5.0), Some(0.05), Some(5.0)),
        (relative(Equal, 0.05), Some(100.0), Some(94.0), Regressed, Some(-6.0), Some(-0.06), Some(5.0)),
        // abs 1 and rel 10%: allowed = max(1, 0.1 × 20) = 2, max(1, 0.1 × 5) = 1
        (DAYS, Some(20.0), Some(22.0), Within, Some(2.0), Some(0.1), Some(2.0)),
        (DAYS, Some(5.0), Some(6.5), Regressed, Some(1.5), Some(0.3), Some(1.0)),
        // negative baseline: relative diff over |b|; average loss −10 → −10.4 is worse
        (relative(Higher, 0.05), Some(-10.0), Some(-10.4), Within, Some(-0.4), Some(-0.04), Some(0.5)),
        (relative(Higher, 0.05), Some(-10.0), Some(-9.0), Improved, Some(1.0), Some(0.1), Some(0.5)),
        // zero baseline: relative diff undefined, rel allows nothing, abs still does
        (relative(Higher, 0.05), Some(0.0), Some(-0.01), Regressed, Some(-0.01), None, Some(0.0)),
        (BOTH, Some(0.0), Some(-0.01), Within, Some(-0.01), None, Some(0.02)),
        (relative(Equal, 0.05), Some(0.0), Some(0.0), Unchanged, Some(0.0), None, Some(0.0)),
        // no tolerance: any worsening regresses
        (NONE, Some(0.0), Some(1.0), Regressed, Some(1.0), None, Some(0.0)),
        // undefined values (None or non-finite)
        (absolute(Higher, 0.1), None, None, Unchanged, None, None, None),
        (absolute(Higher, 0.1), Some(f64::NAN), None, Unchanged, None, None, None),
        (absolute(Higher, 0.1), Some(1.0), None, Missing, None, None, Some(0.1)),
        (absolute(Higher, 0.1), None, Some(1.0), Missing, None, None, None),
        (absolute(Higher, 0.1), Some(1.0), Some(f64::INFINITY), Missing, None, None, Some(0.1)),
    ];
    const DAYS: MetricTolerance = MetricTolerance::new(Lower, Some(1.0), Some(0.1));
    const BOTH: MetricTolerance = MetricTolerance::new(Higher, Some(0.02), Some(0.05));
    const NONE: MetricTolerance = MetricTolerance::new(Lower, None, None);

    #[test]
    fn evaluates_hand_computed_cases() {
        let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-12,
            (a, b) => a == b,
        };
        for (i, (tolerance, b, c, status, diff, relative, allowed)) in CASES.into_iter().enumerate()
        {
            let e = evaluate_metric(b, c, &tolerance);
            assert_eq!(e.status, status, "case {i}: {e:?}");
            assert!(close(e.diff, diff), "case {i} diff: {e:?}");
            assert!(close(e.relative_diff, relative), "case {i} relative: {e:?}");
            assert!(
                close(e.allowed_worsening, allowed),
                "case {i} allowed: {e:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn status_invariants(
            b in -1e6f64..1e6,
            c in -1e6f64..1e6,
            abs in proptest::option::of(0.0f64..10.0),
            rel in proptest::option::of(0.0f64..1.0),
        ) {
            let higher = evaluate_metric(Some(b), Some(c), &tol(Higher, abs, rel));
            let allowed = abs.unwrap_or(0.0).max(rel.unwrap_or(0.0) * b.abs());
            proptest::prop_assert_eq!(higher.allowed_worsening, Some(allowed));
            proptest::prop_assert_eq!(higher.status == Improved, c > b);
            proptest::prop_assert_eq!(higher.status == Regressed, b - c > allowed);
            // Lower is better on (b, c) is higher is better on (−b, −c).
            let lower = evaluate_metric(Some(-b), Some(-c), &tol(Lower, abs, rel));
            proptest::prop_assert_eq!(lower.status, higher.status);
            // Must-equal never improves, and regresses iff either direction would.
            let equal = evaluate_metric(Some(b), Some(c), &tol(Equal, abs, rel));
            proptest::prop_assert!(equal.status != Improved);
            let reverse = evaluate_metric(Some(b), Some(c), &tol(Lower, abs, rel));
            proptest::prop_assert_eq!(
                equal.status == Regressed,
                higher.status == Regressed || reverse.status == Regressed
            );
            if let (Some(d), Some(r)) = (higher.diff, higher.relative_diff) {
                proptest::prop_assert!(d.signum() == r.signum() || d == 0.0);
            }
        }
    }

    #[test]
    fn defaults_cover_every_metric_exactly_once_in_sorted_order() {
        let names: Vec<&str> = DEFAULT_TOLERANCES.iter().map(|(n, _)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted, "sorted and unique");
        let known: Vec<&str> = tolerable_metrics().into_iter().collect();
        assert_eq!(names, known);
        for (name, t) in DEFAULT_TOLERANCES {
            assert!(t.abs.is_some() || t.rel.is_some(), "{name} has a tolerance");
        }
    }

    #[test]
    fn a_file_overrides_defaults_field_by_field() {
        let t = Tolerances::from_toml_str(
            "allow_missing = true\n[metrics.sharpe_ratio]\nabs = 0.25\n[metrics.turnover]\ndirection = \"lower_is_better\"\nrel = 0\n",
        )
        .unwrap();
        assert!(t.allow_missing);
        assert_eq!(t.metrics["sharpe_ratio"], tol(Higher, Some(0.25), None));
        assert_eq!(t.metrics["turnover"], tol(Lower, None, Some(0.0)));
        assert_eq!(
            t.metrics["win_rate"],
            Tolerances::default().metrics["win_rate"]
        );
        assert_eq!(
            Tolerances::from_toml_str("").unwrap(),
            Tolerances::default()
        );
    }

    #[test]
    fn collects_every_tolerance_problem_with_key_names() {
        let err = Tolerances::from_toml_str(
            "[metrics.sharp]\nabs = 1\n[metrics.ece]\nabss = 0.1\n[metrics.win_rate]\nabs = -0.1\nrel = nan\n[metrics.cagr]\ndirection = \"up\"\n",
        )
        .unwrap_err();
        let RegressError::Tolerances { problems } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(problems.len(), 5, "{problems:#?}");
        // Metrics are checked in sorted order.
        assert!(problems[0].contains("[metrics.cagr]") && problems[0].contains("up"));
        assert!(problems[1].contains("[metrics.ece]") && problems[1].contains("abss"));
        assert!(problems[2].contains("[metrics.sharp]") && problems[2].contains("sharpe_ratio"));
        assert!(problems[3].contains("`abs` = -0.1"));
        assert!(problems[4].contains("`rel` = NaN"));
        let top = Tolerances::from_toml_str("allow_missings = true\n")
            .unwrap_err()
            .to_string();
        assert!(top.contains("unknown field `allow_missings`"), "{top}");
    }

    #[test]
    fn tolerance_files_are_named_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("tol.toml");
        std::fs::write(&bad, "[metrics.sharp]\nabs = 1\n").unwrap();
        let err = Tolerances::from_path(&bad).unwrap_err().to_string();
        assert!(err.contains("tol.toml: [metrics.sharp]"), "{err}");
        let missing = Tolerances::from_path(&dir.path().join("nope.toml"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("cannot read") && missing.contains("nope.toml"));
    }

    fn trade(symbol_index: usize, entry_ts: i64, exit_ts: i64, pnl: f64) -> Trade {
        Trade {
            symbol_index,
            side: Side::Long,
            entry_ts,
            entry_bar: 0,
            exit_ts,
            exit_bar: 1,
            entry_price: 100.0,
            exit_price: 100.0 + pnl,
            quantity: 1.0,
            fees: 0.0,
            pnl,
            return_fraction: pnl / 100.0,
            exit_reason: EngineExitReason::Signal,
            mae: 1.0,
            mfe: 2.0,
            atr_multiple_at_exit: None,
            model_at_entry: None,
        }
    }

    /// Five daily bars, two trades (+30, −10), ensemble and one member calibration.
    fn sample_report() -> Report {
        let equity = vec![1000.0, 1030.0, 1010.0, 1020.0, 1020.0];
        let run = RunResult {
            strategy: "test".into(),
            symbols: vec!["AAA".into(), "BBB".into()],
            initial_cash: 1000.0,
            final_equity: 1020.0,
            total_fees: 0.0,
            equity: EngineCurve {
                ts: (0..5).map(|i| i * DAY).collect(),
                cash: equity.clone(),
                gross_exposure: vec![0.0; 5],
                net_exposure: vec![0.0; 5],
                equity,
            },
            trades: vec![trade(0, 0, DAY, 30.0), trade(1, DAY, 2 * DAY, -10.0)],
            orders: vec![],
            fills: vec![],
            risk_events: vec![],
            ambiguity: AmbiguityStats::default(),
            candles: 10,
        };
        let labels = vec![1, 0, 1, 0];
        let ensemble = PredictionSet::from_binary(&[0.9, 0.2, 0.6, 0.7], labels.clone())
            .unwrap()
            .report();
        let member = PredictionSet::from_binary(&[0.8, 0.4, 0.4, 0.6], labels)
            .unwrap()
            .report();
        build_report(
            &run,
            ReportOptions {
                provenance: Provenance {
                    config: serde_json::json!({"risk": {"stop_loss_atr": 1.2}, "data": {"interval": "1d"}}),
                    data_hash: Some("data-1".into()),
                    manifest_hash: Some("manifest-1".into()),
                    bundle_hashes: BTreeMap::from([("xgb".to_string(), "bundle-1".to_string())]),
                    scoring_engines: BTreeMap::from([("xgb".to_string(), "onnxruntime".to_string())]),
                },
                calibration: Some(CalibrationSection {
                    ensemble: Some(ensemble),
                    members: BTreeMap::from([("xgb".to_string(), member)]),
                }),
                ..ReportOptions::default()
            },
        )
        .unwrap()
    }

    fn set(report: &mut Report, metric: &str, value: Option<f64>) {
        report.statistics.values.insert(metric.to_string(), value);
    }

    fn row<'a>(r: &'a RegressionReport, scope: &str, metric: &str) -> &'a MetricRow {
        r.rows
            .iter()
            .find(|row| row.scope == scope && row.metric == metric)
            .unwrap_or_else(|| panic!("no row {scope}/{metric}"))
    }

    #[test]
    fn identical_reports_pass_with_every_metric_unchanged() {
        let report = sample_report();
        let r = compare(&report, &report, &Tolerances::default());
        assert_eq!(r.verdict, RegressionVerdict::Pass);
        assert_eq!(r.exit_code(), 0);
        assert!(r.metadata.is_empty(), "{:?}", r.metadata);
        let statistics = report.statistics.values.len();
        let calibration = CalibrationReport::VALUE_NAMES.len();
        assert_eq!(
            r.rows.len(),
            statistics + REPORT_CHECKS.len() + 2 * calibration
        );
        assert_eq!(r.counts.unchanged, r.rows.len());
        assert_eq!(row(&r, "run", "dropped_members").baseline, Some(0.0));
        assert_eq!(
            row(&r, "run", "gates_passed").note.as_deref(),
            Some("undefined in both")
        );
        assert!(r.rows.iter().any(|row| row.scope == "member:xgb"));
    }

    #[test]
    fn a_worse_candidate_regresses_and_is_listed_first() {
        let baseline = sample_report();
        let mut candidate = baseline.clone();
        set(&mut candidate, "sharpe_ratio", Some(-5.0));
        set(&mut candidate, "win_rate", Some(0.9));
        candidate.notices.dropped_members = vec!["lgbm".into()];
        let r = compare(&baseline, &candidate, &Tolerances::default());
        assert_eq!(r.verdict, RegressionVerdict::Regressed);
        assert_eq!(r.exit_code(), 1);
        assert_eq!(row(&r, "run", "sharpe_ratio").status, Status::Regressed);
        assert_eq!(row(&r, "run", "dropped_members").status, Status::Regressed);
        assert_eq!(row(&r, "run", "win_rate").status, Status::Improved);
        assert_eq!((r.counts.regressed, r.counts.improved), (2, 1));
        let failed: Vec<&str> = r.failures().map(|row| row.metric.as_str()).collect();
        assert_eq!(failed, vec!["dropped_members", "sharpe_ratio"]);
        let md = r.to_markdown("base/", "cand/");
        assert!(md.starts_with("## gauntlet regress: REGRESSED\n"), "{md}");
        let regressions = md.find("### Regressed and missing metrics").unwrap();
        let details = md.find("<details>").unwrap();
        let sharpe = md.find("| run | sharpe_ratio |").unwrap();
        let win = md.find("| run | win_rate |").unwrap();
        assert!(
            regressions < sharpe && sharpe < details && details < win,
            "{md}"
        );
        assert!(
            md.contains("**2 regressed**") && md.contains("`cand/`"),
            "{md}"
        );
        assert!(md.trim_end().ends_with("</details>"));
    }

    #[test]
    fn missing_metrics_fail_unless_allowed() {
        let baseline = sample_report();
        let mut candidate = baseline.clone();
        candidate.statistics.values.remove("cagr");
        set(&mut candidate, "profit_factor", None);
        candidate.calibration.as_mut().unwrap().members.clear();
        let r = compare(&baseline, &candidate, &Tolerances::default());
        assert_eq!(r.verdict, RegressionVerdict::Regressed);
        assert_eq!(
            row(&r, "run", "cagr").note.as_deref(),
            Some("not reported by the candidate")
        );
        assert_eq!(
            row(&r, "run", "profit_factor").note.as_deref(),
            Some("undefined in the candidate")
        );
        let member = row(&r, "member:xgb", "ece");
        assert_eq!(member.status, Status::Missing);
        assert_eq!(member.note.as_deref(), Some("member not in the candidate"));
        assert_eq!(r.counts.missing, 2 + CalibrationReport::VALUE_NAMES.len());

        let allowed = Tolerances {
            allow_missing: true,
            ..Tolerances::default()
        };
        let r = compare(&baseline, &candidate, &allowed);
        assert_eq!(r.verdict, RegressionVerdict::Pass);
        assert!(r.to_markdown("b", "c").contains("missing (allowed)"));
    }

    #[test]
    fn different_data_or_window_makes_reports_incomparable() {
        let baseline = sample_report();
        let mut candidate = baseline.clone();
        candidate.metadata.provenance.data_hash = Some("data-2".into());
        candidate.metadata.symbols.push("CCC".into());
        candidate.metadata.last_bar_ts_ms = Some(9 * DAY);
        candidate
            .metadata
            .provenance
            .bundle_hashes
            .insert("xgb".into(), "bundle-2".into());
        candidate
            .metadata
            .provenance
            .scoring_engines
            .insert("xgb".into(), "native".into());
        candidate.metadata.provenance.config =
            serde_json::json!({"risk": {"stop_loss_atr": 1.6}, "data": {"interval": "1d"}});
        let r = compare(&baseline, &candidate, &Tolerances::default());
        assert_eq!(r.verdict, RegressionVerdict::Incomparable);
        assert_eq!(r.exit_code(), 2);
        let fields: Vec<(&str, Severity)> = r
            .metadata
            .iter()
            .map(|d| (d.field.as_str(), d.severity))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("data_hash", Severity::Incomparable),
                ("symbols", Severity::Incomparable),
                ("last_bar", Severity::Incomparable),
                ("bundle_hashes.xgb", Severity::Info),
                ("scoring_engines.xgb", Severity::Info),
                ("config.risk.stop_loss_atr", Severity::Info),
            ]
        );
        assert_eq!(r.metadata[1].candidate, "only in candidate: CCC");
        assert_eq!(r.metadata[2].candidate, "1970-01-10T00:00:00Z");
        assert_eq!(
            (
                r.metadata[5].baseline.as_str(),
                r.metadata[5].candidate.as_str()
            ),
            ("1.2", "1.6")
        );
        let md = r.to_markdown("b", "c");
        assert!(
            md.starts_with("## gauntlet regress: NOT COMPARABLE"),
            "{md}"
        );
        let loud = md.find("**The reports are not comparable**").unwrap();
        assert!(loud < md.find("No metric regressed").unwrap(), "{md}");
        assert!(md.contains("- `data_hash`: the runs read different data (baseline `data-1`, candidate `data-2`)"), "{md}");
    }

    #[test]
    fn unknown_data_hash_and_new_input_warnings_are_warnings() {
        let mut baseline = sample_report();
        baseline.metadata.provenance.data_hash = None;
        let mut candidate = baseline.clone();
        candidate.notices.input_distribution_warnings =
            vec!["close: mean 79568 outside the scaler's range".into()];
        let r = compare(&baseline, &candidate, &Tolerances::default());
        assert_eq!(r.verdict, RegressionVerdict::Pass);
        let fields: Vec<(&str, Severity)> = r
            .metadata
            .iter()
            .map(|d| (d.field.as_str(), d.severity))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("data_hash", Severity::Warning),
                ("input_distribution_warning", Severity::Warning)
            ]
        );
        assert!(r.to_markdown("b", "c").contains("**Warnings**:"));
    }

    #[test]
    fn metrics_without_a_configured_tolerance_must_be_equal() {
        let mut baseline = sample_report();
        set(&mut baseline, "new_statistic", Some(1.0));
        let mut candidate = baseline.clone();
        set(&mut candidate, "new_statistic", Some(1.5));
        let r = compare(&baseline, &candidate, &Tolerances::default());
        let new = row(&r, "run", "new_statistic");
        assert_eq!(new.status, Status::Regressed);
        assert!(new
            .note
            .as_deref()
            .unwrap()
            .contains("no tolerance configured"));
    }

    #[test]
    fn a_gate_verdict_turning_to_fail_regresses() {
        use crate::gates::{evaluate, GateInputs, GateSpec};
        let spec = GateSpec::from_toml_str("[gates]\nmin_sharpe = 0\n").unwrap();
        let verdict = |sharpe: f64| {
            let overall = BTreeMap::from([("sharpe_ratio".to_string(), Some(sharpe))]);
            evaluate(
                &spec,
                GateInputs {
                    champion: None,
                    overall: &overall,
                    per_symbol: &BTreeMap::new(),
                    dropped_members: &[],
                },
            )
        };
        let mut baseline = sample_report();
        baseline.verdict = Some(verdict(1.0));
        let mut candidate = baseline.clone();
        candidate.verdict = Some(verdict(-1.0));
        let r = compare(&baseline, &candidate, &Tolerances::default());
        let gates = row(&r, "run", "gates_passed");
        assert_eq!((gates.baseline, gates.candidate), (Some(1.0), Some(0.0)));
        assert_eq!(gates.status, Status::Regressed);
    }

    #[test]
    fn status_names_are_the_json_names() {
        for status in [Regressed, Missing, Within, Improved, Unchanged] {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.name()));
        }
    }

    #[test]
    fn json_round_trips_and_has_no_non_finite_numbers() {
        let baseline = sample_report();
        let mut candidate = baseline.clone();
        set(&mut candidate, "sharpe_ratio", Some(f64::NAN));
        let r = compare(&baseline, &candidate, &Tolerances::default());
        let json = r.to_json().unwrap();
        assert!(json.ends_with("}\n"));
        let back: RegressionReport = serde_json::from_str(&json).unwrap();
        // serde_json's default float parsing may differ from the written value in the last
        // bit, so the structure is compared, not every number.
        assert_eq!(
            (back.verdict, back.counts, &back.metadata),
            (r.verdict, r.counts, &r.metadata)
        );
        let statuses = |r: &RegressionReport| -> Vec<(String, String, Status)> {
            r.rows
                .iter()
                .map(|row| (row.scope.clone(), row.metric.clone(), row.status))
                .collect()
        };
        assert_eq!(statuses(&back), statuses(&r));
        assert_eq!(row(&back, "run", "sharpe_ratio").candidate, None);
        assert!(json.find("\"schema_version\"").unwrap() < json.find("\"verdict\"").unwrap());
    }

    #[rstest]
    #[case(0.0, "0")]
    #[case(-0.0, "0")]
    #[case(1.5, "1.5")]
    #[case(-0.125, "-0.125")]
    #[case(1234.0, "1234")]
    #[case(0.1234567, "0.123457")]
    #[case(0.00001234, "1.2340e-5")]
    #[case(2.5e9, "2.5000e9")]
    fn formats_values(#[case] v: f64, #[case] expected: &str) {
        assert_eq!(format_value(v), expected);
    }

    #[rstest]
    #[case(tol(Higher, Some(0.1), None), Some(0.1), "drop ≤ 0.1")]
    #[case(tol(Lower, Some(0.0), None), Some(0.0), "no rise")]
    #[case(tol(Equal, None, Some(0.05)), Some(5.0), "±5")]
    #[case(tol(Higher, Some(0.1), Some(0.05)), None, "drop ≤ 0.1 or 5%")]
    #[case(tol(Equal, None, None), None, "exact")]
    fn describes_tolerances(
        #[case] tolerance: MetricTolerance,
        #[case] allowed: Option<f64>,
        #[case] expected: &str,
    ) {
        assert_eq!(describe_tolerance(&tolerance, allowed), expected);
    }

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
