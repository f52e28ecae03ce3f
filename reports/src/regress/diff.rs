//! The regression diff: one [`MetricRow`] per metric of every scope, evaluated by
//! [`evaluate_metric`] under its tolerance; the [`MetadataDifference`]s between the two
//! reports and their [`Severity`]; and the [`RegressionVerdict`] that [`compare`] draws from
//! both (rules in the [`regress`](crate::regress) module doc).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::Preference::MustEqual as Equal;
use super::{MetricTolerance, Tolerances, MAX_CONFIG_DIFFERENCES, REGRESSION_SCHEMA_VERSION};
use crate::gates::{EXIT_ERROR, EXIT_GATE_FAILED, EXIT_PASS};
use crate::render::{iso_time, Report};

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

/// Evaluates one metric with the formulas of the [`regress`](crate::regress) module doc.
/// Non-finite values count as undefined; exactly one side undefined → [`Status::Missing`].
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
/// either report, the metadata differences, and the verdict (see the
/// [`regress`](crate::regress) module doc).
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

    use crate::calibration::CalibrationReport;
    use crate::regress::fixtures::{sample_report, DAY};
    use crate::regress::tolerances::{absolute, relative};
    use crate::regress::Preference::{self, HigherIsBetter as Higher, LowerIsBetter as Lower};
    use crate::regress::REPORT_CHECKS;
    use Status::{Improved, Missing, Regressed, Unchanged, WithinTolerance as Within};

    fn tol(direction: Preference, abs: Option<f64>, rel: Option<f64>) -> MetricTolerance {
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
}
