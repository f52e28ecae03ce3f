//! Promotion gates: thresholds on reported statistics, loaded from `gates.toml`, evaluated
//! into a verdict table and an exit code.
//!
//! ```toml
//! allow_dropped_members = false   # default: a dropped ensemble member fails the run
//!
//! [gates]                         # on the whole run
//! min_win_rate = 0.68
//! max_ece = 0.05
//! min_sharpe = 1.0
//! max_drawdown = 0.15
//! min_trades = 30
//!
//! [symbols.BTCUSDT]               # optional, per symbol
//! min_win_rate = 0.6
//! ```
//!
//! A gate key is `min_<statistic>` (pass iff actual ≥ threshold) or `max_<statistic>`
//! (pass iff actual ≤ threshold) for any statistic the reports compute, or one of the
//! shorthands in [`SHORTHANDS`]. A statistic that is undefined for the run (`None`) or not
//! reported fails its gate: a gate can never pass on missing evidence.
//!
//! # Relative to a champion
//! A threshold may instead be a [`Threshold::Champion`] expression on the same statistic
//! of the champion's report (the model now in production, run on the same data and risk
//! settings): `"champion"`, `"champion + 0.1"`, `"champion - 0.1"` or `"champion * 1.1"`.
//!
//! ```toml
//! [gates]
//! min_sharpe = "champion + 0.1"     # sharpe ≥ champion's sharpe + 0.1
//! max_drawdown = "champion * 1.1"   # drawdown ≤ 1.1 × champion's drawdown
//! max_ece = "champion"              # ece ≤ champion's ece
//! ```
//!
//! Such a gate fails when the champion's value is undefined or not reported.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::calibration::CalibrationReport;
use crate::error::ReportsError;
use crate::stats::statistic_names;

/// Exit code: every gate passed.
pub const EXIT_PASS: i32 = 0;
/// Exit code: at least one gate failed.
pub const EXIT_GATE_FAILED: i32 = 1;
/// Exit code: the run or the evaluation could not be completed (bad input, bad config).
pub const EXIT_ERROR: i32 = 2;

/// Name of the gate row that checks that no ensemble member was dropped.
pub const MEMBERS_GATE: &str = "ensemble_members_complete";

/// Shorthand gate keys: `(key, statistic, direction)`.
pub const SHORTHANDS: [(&str, &str, Bound); 9] = [
    ("max_drawdown", "max_drawdown", Bound::Max),
    (
        "max_drawdown_duration_days",
        "max_drawdown_duration_days",
        Bound::Max,
    ),
    ("min_trades", "number_of_trades", Bound::Min),
    ("min_consensus", "consensus_rate", Bound::Min),
    ("max_sl_hit_rate", "stop_loss_hit_rate", Bound::Max),
    ("min_sharpe", "sharpe_ratio", Bound::Min),
    ("min_sortino", "sortino_ratio", Bound::Min),
    ("min_psr", "probabilistic_sharpe_ratio", Bound::Min),
    ("min_dsr", "deflated_sharpe_ratio", Bound::Min),
];

/// Which side of the threshold passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// Pass iff actual ≥ threshold; margin = actual − threshold.
    Min,
    /// Pass iff actual ≤ threshold; margin = threshold − actual.
    Max,
}

impl Bound {
    /// `">="` or `"<="`.
    pub fn comparison(self) -> &'static str {
        match self {
            Bound::Min => ">=",
            Bound::Max => "<=",
        }
    }
}

/// One threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    /// The key as written in the spec (e.g. `min_sharpe`).
    pub key: String,
    /// The statistic it reads (e.g. `sharpe_ratio`).
    pub statistic: String,
    /// Which side passes.
    pub direction: Bound,
    /// The threshold.
    pub threshold: Threshold,
}

/// A gate's threshold: a number, or derived from the champion's value `c` of the same
/// statistic as `c × factor + offset`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Threshold {
    Absolute(f64),
    Champion { factor: f64, offset: f64 },
}

impl Threshold {
    /// Parses `champion`, `champion + x`, `champion - x`, `champion * x` (x finite).
    pub fn parse_relative(text: &str) -> Option<Self> {
        let rest = text.trim().strip_prefix("champion")?.trim();
        if rest.is_empty() {
            return Some(Self::Champion {
                factor: 1.0,
                offset: 0.0,
            });
        }
        let (op, number) = rest.split_at(1);
        let x: f64 = number.trim().parse().ok().filter(|x: &f64| x.is_finite())?;
        match op {
            "+" => Some(Self::Champion {
                factor: 1.0,
                offset: x,
            }),
            "-" => Some(Self::Champion {
                factor: 1.0,
                offset: -x,
            }),
            "*" => Some(Self::Champion {
                factor: x,
                offset: 0.0,
            }),
            _ => None,
        }
    }

    /// Whether the threshold needs a champion.
    pub fn is_relative(&self) -> bool {
        matches!(self, Self::Champion { .. })
    }

    /// The number to compare against, given the champion's value (`None` when a
    /// relative threshold has no champion value).
    pub fn resolve(&self, champion: Option<f64>) -> Option<f64> {
        match *self {
            Self::Absolute(x) => Some(x),
            Self::Champion { factor, offset } => champion.map(|c| c * factor + offset),
        }
    }
}

/// A threshold as written: a number or a champion expression.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawThreshold {
    Number(f64),
    Expression(String),
}

/// A validated gate specification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateSpec {
    /// When false (the default), a run with a dropped ensemble member fails.
    pub allow_dropped_members: bool,
    /// Gates on the whole run, sorted by key.
    pub overall: Vec<Gate>,
    /// Gates per symbol, sorted by symbol then key.
    pub per_symbol: BTreeMap<String, Vec<Gate>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGateSpec {
    #[serde(default)]
    allow_dropped_members: bool,
    #[serde(default)]
    gates: BTreeMap<String, RawThreshold>,
    #[serde(default)]
    symbols: BTreeMap<String, BTreeMap<String, RawThreshold>>,
}

/// Every statistic a gate can name: the performance statistics and the calibration values.
pub fn gateable_statistics() -> BTreeSet<&'static str> {
    statistic_names()
        .into_iter()
        .chain(CalibrationReport::VALUE_NAMES)
        .collect()
}

fn resolve(key: &str, known: &BTreeSet<&'static str>) -> Option<(String, Bound)> {
    if let Some((_, stat, dir)) = SHORTHANDS.iter().find(|(k, _, _)| *k == key) {
        return Some((stat.to_string(), *dir));
    }
    let (direction, name) = if let Some(name) = key.strip_prefix("min_") {
        (Bound::Min, name)
    } else {
        (Bound::Max, key.strip_prefix("max_")?)
    };
    known.contains(name).then(|| (name.to_string(), direction))
}

fn build_gates(
    section: &str,
    raw: BTreeMap<String, RawThreshold>,
    known: &BTreeSet<&'static str>,
    problems: &mut Vec<String>,
) -> Vec<Gate> {
    let mut gates = Vec::new();
    for (key, threshold) in raw {
        let Some((statistic, direction)) = resolve(&key, known) else {
            problems.push(format!(
                "[{section}] unknown gate `{key}`: expected min_<statistic> or max_<statistic> with <statistic> one of {}; or a shorthand: {}",
                known.iter().copied().collect::<Vec<_>>().join(", "),
                SHORTHANDS.iter().map(|(k, _, _)| *k).collect::<Vec<_>>().join(", "),
            ));
            continue;
        };
        let threshold = match threshold {
            RawThreshold::Number(x) if x.is_finite() => Threshold::Absolute(x),
            RawThreshold::Number(x) => {
                problems.push(format!(
                    "[{section}] `{key}` = {x}: expected a finite number"
                ));
                continue;
            }
            RawThreshold::Expression(text) => match Threshold::parse_relative(&text) {
                Some(threshold) => threshold,
                None => {
                    problems.push(format!(
                        "[{section}] `{key}` = {text:?}: expected a number or \"champion\", \"champion + x\", \"champion - x\", \"champion * x\""
                    ));
                    continue;
                }
            },
        };
        gates.push(Gate {
            key,
            statistic,
            direction,
            threshold,
        });
    }
    gates
}

impl GateSpec {
    /// Whether any gate is relative to a champion.
    pub fn needs_champion(&self) -> bool {
        self.overall
            .iter()
            .chain(self.per_symbol.values().flatten())
            .any(|g| g.threshold.is_relative())
    }

    /// Parses and validates a `gates.toml` text, collecting every problem (unknown keys
    /// anywhere, unknown statistics, non-finite thresholds) into one error.
    pub fn from_toml_str(text: &str) -> Result<Self, ReportsError> {
        let raw: RawGateSpec = toml::from_str(text).map_err(|e| ReportsError::GateSpec {
            problems: vec![e.to_string().trim_end().to_string()],
        })?;
        let known = gateable_statistics();
        let mut problems = Vec::new();
        let overall = build_gates("gates", raw.gates, &known, &mut problems);
        let per_symbol = raw
            .symbols
            .into_iter()
            .map(|(symbol, gates)| {
                let section = format!("symbols.{symbol}");
                let gates = build_gates(&section, gates, &known, &mut problems);
                (symbol, gates)
            })
            .collect::<BTreeMap<_, Vec<Gate>>>();
        if problems.is_empty() && overall.is_empty() && per_symbol.values().all(Vec::is_empty) {
            // A spec without a threshold would pass every run.
            problems.push(
                "no gates: add at least one threshold under [gates] or [symbols.SYMBOL], \
                 e.g. `min_sharpe = 1.0`"
                    .to_string(),
            );
        }
        if problems.is_empty() {
            Ok(Self {
                allow_dropped_members: raw.allow_dropped_members,
                overall,
                per_symbol,
            })
        } else {
            Err(ReportsError::GateSpec { problems })
        }
    }

    /// Reads and parses a gates file; the path is part of any error.
    pub fn from_path(path: &Path) -> Result<Self, ReportsError> {
        read_spec(path, |text| match Self::from_toml_str(text) {
            Err(ReportsError::GateSpec { problems }) => Err(problems),
            Err(other) => Err(vec![other.to_string()]),
            Ok(spec) => Ok(spec),
        })
        .map_err(|problems| ReportsError::GateSpec { problems })
    }
}

/// Reads a TOML spec file (gates, tolerances) and parses it with `parse`; a read failure
/// and every problem `parse` reports are prefixed with the path.
pub(crate) fn read_spec<T>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, Vec<String>>,
) -> Result<T, Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![format!("cannot read {}: {e}", path.display())])?;
    parse(&text).map_err(|problems| {
        problems
            .into_iter()
            .map(|p| format!("{}: {p}", path.display()))
            .collect()
    })
}

/// Named statistic values of one run (performance and calibration, merged).
pub type StatisticValues = BTreeMap<String, Option<f64>>;

/// The values gates read from one run: the whole run and per symbol.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunValues {
    pub overall: StatisticValues,
    pub per_symbol: BTreeMap<String, StatisticValues>,
}

/// What a verdict is computed from.
#[derive(Debug, Clone, Copy)]
pub struct GateInputs<'a> {
    /// The champion's values, for relative gates.
    pub champion: Option<&'a RunValues>,
    /// Statistics of the whole run.
    pub overall: &'a StatisticValues,
    /// Statistics per symbol.
    pub per_symbol: &'a BTreeMap<String, StatisticValues>,
    /// Names of ensemble members dropped because they could not load.
    pub dropped_members: &'a [String],
}

/// One row of the verdict table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateRow {
    /// The gate key (or [`MEMBERS_GATE`]).
    pub gate: String,
    /// The symbol for per-symbol gates.
    pub symbol: Option<String>,
    /// The statistic read.
    pub statistic: String,
    /// `">="` or `"<="`.
    pub comparison: String,
    /// The threshold (for the members gate: 0 dropped members); for a relative gate the
    /// resolved number, `None` when the champion's value is missing.
    pub threshold: Option<f64>,
    /// For a relative gate: the expression (e.g. `champion + 0.1`) and the champion's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub champion: Option<f64>,
    /// The actual value; `None` when undefined or not reported.
    pub actual: Option<f64>,
    /// Headroom: positive when passing (`actual − threshold` for min gates,
    /// `threshold − actual` for max gates); `None` without an actual value.
    pub margin: Option<f64>,
    /// Whether the gate passed.
    pub passed: bool,
    /// Why, when the numbers alone do not say it.
    pub note: Option<String>,
}

/// The verdict: every row and the overall outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The members gate first, then overall gates, then per-symbol gates.
    pub rows: Vec<GateRow>,
    /// True iff every row passed.
    pub passed: bool,
}

impl Verdict {
    /// [`EXIT_PASS`] or [`EXIT_GATE_FAILED`].
    pub fn exit_code(&self) -> i32 {
        if self.passed {
            EXIT_PASS
        } else {
            EXIT_GATE_FAILED
        }
    }

    /// The failed rows.
    pub fn failures(&self) -> impl Iterator<Item = &GateRow> {
        self.rows.iter().filter(|r| !r.passed)
    }
}

fn evaluate_gate(
    gate: &Gate,
    symbol: Option<&str>,
    values: Option<&StatisticValues>,
    champion_values: Option<&StatisticValues>,
) -> GateRow {
    let reported = values.and_then(|v| v.get(&gate.statistic));
    let actual = reported.copied().flatten();
    let champion = champion_values
        .and_then(|v| v.get(&gate.statistic))
        .copied()
        .flatten();
    let threshold = gate.threshold.resolve(champion);
    let (passed, margin, note) = match (actual, threshold) {
        (Some(a), Some(t)) => {
            let margin = match gate.direction {
                Bound::Min => a - t,
                Bound::Max => t - a,
            };
            (margin >= 0.0, Some(margin), None)
        }
        (Some(_), None) => {
            let why = if champion_values.is_none() {
                "relative gate without a champion report (--champion)"
            } else {
                "champion's value undefined or not reported"
            };
            (false, None, Some(why.to_string()))
        }
        (None, _) => {
            let why = match (values, reported) {
                (None, _) => "symbol not in the run",
                (Some(_), None) => "statistic not reported",
                (Some(_), Some(_)) => "statistic undefined for this run",
            };
            (false, None, Some(why.to_string()))
        }
    };
    GateRow {
        gate: gate.key.clone(),
        symbol: symbol.map(str::to_string),
        statistic: gate.statistic.clone(),
        comparison: gate.direction.comparison().to_string(),
        threshold,
        relative: match gate.threshold {
            Threshold::Champion { factor, offset } => Some(describe_relative(factor, offset)),
            Threshold::Absolute(_) => None,
        },
        champion: champion.filter(|_| gate.threshold.is_relative()),
        actual,
        margin,
        passed,
        note,
    }
}

fn describe_relative(factor: f64, offset: f64) -> String {
    if factor != 1.0 {
        format!("champion * {factor}")
    } else if offset > 0.0 {
        format!("champion + {offset}")
    } else if offset < 0.0 {
        format!("champion - {}", -offset)
    } else {
        "champion".to_string()
    }
}

/// Evaluates every gate of `spec`. A dropped ensemble member fails the members gate unless
/// `spec.allow_dropped_members`; the row is always present so the check is visible.
pub fn evaluate(spec: &GateSpec, inputs: GateInputs<'_>) -> Verdict {
    let dropped = inputs.dropped_members.len();
    let members_ok = dropped == 0 || spec.allow_dropped_members;
    let mut rows = vec![GateRow {
        gate: MEMBERS_GATE.to_string(),
        symbol: None,
        statistic: "dropped_members".to_string(),
        comparison: "<=".to_string(),
        threshold: Some(0.0),
        relative: None,
        champion: None,
        actual: Some(dropped as f64),
        // 0 − n, not −n: no dropped member is a margin of +0, not −0.
        margin: Some(0.0 - dropped as f64),
        passed: members_ok,
        note: (dropped > 0).then(|| {
            let names = inputs.dropped_members.join(", ");
            if spec.allow_dropped_members {
                format!("dropped: {names} (allowed by allow_dropped_members)")
            } else {
                format!("dropped: {names}; set allow_dropped_members = true to accept")
            }
        }),
    }];
    rows.extend(spec.overall.iter().map(|g| {
        evaluate_gate(
            g,
            None,
            Some(inputs.overall),
            inputs.champion.map(|c| &c.overall),
        )
    }));
    for (symbol, gates) in &spec.per_symbol {
        let values = inputs.per_symbol.get(symbol);
        let champion = inputs.champion.and_then(|c| c.per_symbol.get(symbol));
        rows.extend(
            gates
                .iter()
                .map(|g| evaluate_gate(g, Some(symbol), values, champion)),
        );
    }
    let passed = rows.iter().all(|r| r.passed);
    Verdict { rows, passed }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_GATES: &str = r#"
        [gates]
        min_win_rate = 0.68
        max_ece = 0.05
        min_sharpe = 1.0
        max_drawdown = 0.15
        min_trades = 30

        [symbols.BTCUSDT]
        min_win_rate = 0.6
    "#;

    fn values(pairs: &[(&str, Option<f64>)]) -> StatisticValues {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn parses_shorthands_and_generic_keys() {
        let spec = GateSpec::from_toml_str(SEED_GATES).unwrap();
        assert!(!spec.allow_dropped_members);
        let resolved: Vec<(&str, &str, Bound)> = spec
            .overall
            .iter()
            .map(|g| (g.key.as_str(), g.statistic.as_str(), g.direction))
            .collect();
        assert_eq!(
            resolved,
            vec![
                ("max_drawdown", "max_drawdown", Bound::Max),
                ("max_ece", "ece", Bound::Max),
                ("min_sharpe", "sharpe_ratio", Bound::Min),
                ("min_trades", "number_of_trades", Bound::Min),
                ("min_win_rate", "win_rate", Bound::Min),
            ]
        );
        assert_eq!(
            spec.per_symbol["BTCUSDT"][0].threshold,
            Threshold::Absolute(0.6)
        );
    }

    /// An empty spec would pass every run: refused.
    #[test]
    fn a_spec_without_gates_is_refused() {
        for empty in [
            "",
            "[gates]\n",
            "allow_dropped_members = true\n[symbols.BTC]\n",
        ] {
            let err = GateSpec::from_toml_str(empty).unwrap_err().to_string();
            assert!(err.contains("no gates"), "{empty:?}: {err}");
        }
    }

    #[test]
    fn collects_every_problem_and_lists_valid_names() {
        let err = GateSpec::from_toml_str(
            "[gates]\nmin_sharp = 1.0\nmax_ece = nan\n[symbols.ETH]\nmin_winrate = 0.5\n",
        )
        .unwrap_err();
        let ReportsError::GateSpec { problems } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(problems.len(), 3, "{problems:?}");
        // Keys are checked in sorted order.
        assert!(problems[0].contains("`max_ece` = NaN"));
        assert!(problems[1].contains("`min_sharp`") && problems[1].contains("sharpe_ratio"));
        assert!(problems[2].contains("[symbols.ETH]") && problems[2].contains("`min_winrate`"));
        let err = GateSpec::from_toml_str("allow_dropped = true\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `allow_dropped`"), "{err}");
    }

    #[test]
    fn verdict_rows_margins_and_exit_codes() {
        let spec = GateSpec::from_toml_str(SEED_GATES).unwrap();
        let overall = values(&[
            ("win_rate", Some(0.70)),
            ("ece", Some(0.08)),
            ("sharpe_ratio", Some(1.5)),
            ("max_drawdown", Some(0.10)),
            ("number_of_trades", Some(30.0)),
        ]);
        let per_symbol =
            BTreeMap::from([("BTCUSDT".to_string(), values(&[("win_rate", Some(0.5))]))]);
        let verdict = evaluate(
            &spec,
            GateInputs {
                champion: None,
                overall: &overall,
                per_symbol: &per_symbol,
                dropped_members: &[],
            },
        );
        assert_eq!(verdict.rows.len(), 7);
        assert!(verdict.rows[0].passed);
        let failed: Vec<(&str, Option<&str>)> = verdict
            .failures()
            .map(|r| (r.gate.as_str(), r.symbol.as_deref()))
            .collect();
        assert_eq!(
            failed,
            vec![("max_ece", None), ("min_win_rate", Some("BTCUSDT"))]
        );
        let ece = &verdict.rows[2];
        assert!((ece.margin.unwrap() + 0.03).abs() < 1e-15);
        let trades = verdict
            .rows
            .iter()
            .find(|r| r.gate == "min_trades")
            .unwrap();
        assert_eq!((trades.passed, trades.margin), (true, Some(0.0)));
        assert_eq!(verdict.exit_code(), EXIT_GATE_FAILED);

        let relaxed = GateSpec::from_toml_str("[gates]\nmin_sharpe = 1.0\n").unwrap();
        let pass = evaluate(
            &relaxed,
            GateInputs {
                champion: None,
                overall: &overall,
                per_symbol: &per_symbol,
                dropped_members: &[],
            },
        );
        assert_eq!(pass.exit_code(), EXIT_PASS);
    }

    #[test]
    fn missing_or_undefined_statistics_fail() {
        let spec = GateSpec::from_toml_str(
            "[gates]\nmin_sharpe = 1.0\nmin_dsr = 0.9\n[symbols.ETH]\nmin_trades = 1\n",
        )
        .unwrap();
        let overall = values(&[("sharpe_ratio", None)]);
        let verdict = evaluate(
            &spec,
            GateInputs {
                champion: None,
                overall: &overall,
                per_symbol: &BTreeMap::new(),
                dropped_members: &[],
            },
        );
        let notes: Vec<Option<&str>> = verdict.rows[1..]
            .iter()
            .map(|r| r.note.as_deref())
            .collect();
        assert_eq!(
            notes,
            vec![
                Some("statistic not reported"),
                Some("statistic undefined for this run"),
                Some("symbol not in the run")
            ]
        );
        assert!(!verdict.passed);
    }

    #[test]
    fn dropped_member_fails_unless_allowed() {
        let overall = values(&[("sharpe_ratio", Some(2.0))]);
        let dropped = vec!["lstm_b".to_string()];
        let spec = GateSpec::from_toml_str("[gates]\nmin_sharpe = 1.0\n").unwrap();
        let inputs = GateInputs {
            champion: None,
            overall: &overall,
            per_symbol: &BTreeMap::new(),
            dropped_members: &dropped,
        };
        let verdict = evaluate(&spec, inputs);
        assert!(!verdict.passed);
        assert_eq!(verdict.rows[0].gate, MEMBERS_GATE);
        assert!(verdict.rows[0].note.as_deref().unwrap().contains("lstm_b"));
        let allowed =
            GateSpec::from_toml_str("allow_dropped_members = true\n[gates]\nmin_sharpe = 1.0\n")
                .unwrap();
        let verdict = evaluate(&allowed, inputs);
        assert!(verdict.passed);
        assert!(verdict.rows[0].note.as_deref().unwrap().contains("allowed"));
    }

    #[test]
    fn relative_gates_resolve_against_the_champion() {
        let spec = GateSpec::from_toml_str(
            "[gates]\nmin_sharpe = \"champion + 0.1\"\nmax_drawdown = \"champion * 1.1\"\nmax_ece = \"champion\"\nmin_trades = 10\n",
        )
        .unwrap();
        assert!(spec.needs_champion());
        let challenger = values(&[
            ("sharpe_ratio", Some(1.25)),
            ("max_drawdown", Some(0.12)),
            ("ece", Some(0.05)),
            ("number_of_trades", Some(40.0)),
        ]);
        let champion = RunValues {
            overall: values(&[
                ("sharpe_ratio", Some(1.2)),
                ("max_drawdown", Some(0.10)),
                ("ece", Some(0.05)),
            ]),
            per_symbol: BTreeMap::new(),
        };
        let inputs = GateInputs {
            champion: Some(&champion),
            overall: &challenger,
            per_symbol: &BTreeMap::new(),
            dropped_members: &[],
        };
        let verdict = evaluate(&spec, inputs);
        let row = |gate: &str| verdict.rows.iter().find(|r| r.gate == gate).unwrap();
        // 1.25 >= 1.2 + 0.1 fails by 0.05; 0.12 <= 0.10 * 1.1 = 0.11 fails by 0.01.
        let sharpe = row("min_sharpe");
        assert!(!sharpe.passed);
        assert!((sharpe.threshold.unwrap() - 1.3).abs() < 1e-12);
        assert!((sharpe.margin.unwrap() + 0.05).abs() < 1e-12);
        assert_eq!(sharpe.relative.as_deref(), Some("champion + 0.1"));
        assert_eq!(sharpe.champion, Some(1.2));
        let drawdown = row("max_drawdown");
        assert!(!drawdown.passed);
        assert!((drawdown.margin.unwrap() + 0.01).abs() < 1e-12);
        assert!(row("max_ece").passed);
        assert!(row("min_trades").passed && row("min_trades").champion.is_none());

        let alone = evaluate(
            &spec,
            GateInputs {
                champion: None,
                ..inputs
            },
        );
        let sharpe = alone.rows.iter().find(|r| r.gate == "min_sharpe").unwrap();
        assert!(!sharpe.passed);
        assert!(sharpe.note.as_deref().unwrap().contains("--champion"));

        let err = GateSpec::from_toml_str("[gates]\nmin_sharpe = \"champ + 1\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`min_sharpe`") && err.contains("champion + x"),
            "{err}"
        );
    }

    #[test]
    fn loads_from_a_file_and_names_it_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("gates.toml");
        std::fs::write(&good, SEED_GATES).unwrap();
        assert_eq!(GateSpec::from_path(&good).unwrap().overall.len(), 5);
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[gates]\nmin_sharp = 1\n").unwrap();
        let err = GateSpec::from_path(&bad).unwrap_err().to_string();
        assert!(
            err.contains("bad.toml") && err.contains("`min_sharp`"),
            "{err}"
        );
        let missing = GateSpec::from_path(&dir.path().join("missing.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("cannot read") && missing.contains("missing.toml"),
            "{missing}"
        );
    }
}
