//! The tolerances spec: which way each metric should move ([`Preference`]), how much it may
//! worsen ([`MetricTolerance`]), the built-in [`DEFAULT_TOLERANCES`], and [`Tolerances`]
//! read from a tolerances file such as `configs/tolerances.toml` (format in the
//! [`regress`](crate::regress) module doc).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{RegressError, REPORT_CHECKS};
use crate::gates::gateable_statistics;

/// Which way a metric should move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preference {
    /// Worsening `w = b − c` (e.g. Sharpe ratio).
    HigherIsBetter,
    /// Worsening `w = c − b` (e.g. max drawdown).
    LowerIsBetter,
    /// Worsening `w = |c − b|`: any change counts against the tolerance (e.g. trade count).
    MustEqual,
}

impl Preference {
    /// The worsening `w` of the candidate `c` against the baseline `b` (see the
    /// [`regress`](crate::regress) module doc).
    pub fn worsening(self, baseline: f64, candidate: f64) -> f64 {
        match self {
            Preference::HigherIsBetter => baseline - candidate,
            Preference::LowerIsBetter => candidate - baseline,
            Preference::MustEqual => (candidate - baseline).abs(),
        }
    }
}

/// The tolerance of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricTolerance {
    /// Which way is better.
    pub direction: Preference,
    /// Absolute tolerance, in the metric's unit (≥ 0).
    pub abs: Option<f64>,
    /// Relative tolerance, a fraction of `|baseline|` (≥ 0).
    pub rel: Option<f64>,
}

impl MetricTolerance {
    pub(super) const fn new(direction: Preference, abs: Option<f64>, rel: Option<f64>) -> Self {
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

use Preference::{HigherIsBetter as Higher, LowerIsBetter as Lower, MustEqual as Equal};

/// A tolerance with only an absolute part.
pub(super) const fn absolute(direction: Preference, abs: f64) -> MetricTolerance {
    MetricTolerance::new(direction, Some(abs), None)
}

/// A tolerance with only a relative part.
pub(super) const fn relative(direction: Preference, rel: f64) -> MetricTolerance {
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
    direction: Option<Preference>,
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
#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            t.metrics["sharpe_ratio"],
            MetricTolerance::new(Higher, Some(0.25), None)
        );
        assert_eq!(
            t.metrics["turnover"],
            MetricTolerance::new(Lower, None, Some(0.0))
        );
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
}
