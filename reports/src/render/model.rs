//! The [`Report`]: everything the renderers print, built once from a run.

use std::collections::BTreeMap;

use chrono::DateTime;
use gauntlet_engine::result::AmbiguityStats;
use gauntlet_engine::RunResult;
use serde::{Deserialize, Serialize};

use crate::annualization::Annualization;
use crate::breakdown::{monthly_returns, per_exit_reason, per_symbol, MonthlyReturn, TradeGroup};
use crate::calibration::CalibrationReport;
use crate::error::ReportsError;
use crate::gates::{evaluate, GateInputs, GateSpec, RunValues, StatisticValues, Verdict};
use crate::halts::{halts, Halt};
use crate::run::{
    convert_run, risk_rule_breakdown, rule_details, rule_name, side_name, EndOfDataPolicy,
    RiskRuleSummary,
};
use crate::series::EquitySeries;
use crate::stats::{compute_statistics, PerformanceInput, StatisticsConfig, StatisticsReport};
use crate::trades::ExitReason;

/// Version of the `report.json` schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// At most this many points of the equity curve are kept for plots (see [`EquityBucket`]).
pub const MAX_PLOT_POINTS: usize = 1000;

/// Provenance supplied by the caller. Nothing here may depend on the machine (no thread
/// count, no wall-clock time, no absolute paths): it is part of the compared JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The run configuration as given (echoed verbatim).
    pub config: serde_json::Value,
    /// Content hash of the input data.
    pub data_hash: Option<String>,
    /// Content hash of the feature manifest.
    pub manifest_hash: Option<String>,
    /// Content hash per model bundle, by member name.
    pub bundle_hashes: BTreeMap<String, String>,
    /// The engine that scored each member and what it ran or why, by member name
    /// (`native (…)` or `onnxruntime (…)`).
    #[serde(default)]
    pub scoring_engines: BTreeMap<String, String>,
}

/// Run metadata: who produced the report, from what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMetadata {
    /// `CARGO_PKG_VERSION` of gauntlet-reports (the workspace version).
    pub gauntlet_version: String,
    /// Strategy name.
    pub strategy: String,
    /// Symbols of the run, in the engine's order.
    pub symbols: Vec<String>,
    /// First and last timestamp of the equity curve (bar open time, ms UTC).
    pub first_bar_ts_ms: Option<i64>,
    /// Last timestamp of the equity curve.
    pub last_bar_ts_ms: Option<i64>,
    /// Timestamps in the equity curve.
    pub bars: usize,
    /// Candles processed (all symbols).
    pub candles: u64,
    /// Cash at the start.
    pub initial_cash: f64,
    /// Equity after the last bar (open positions marked at the last close).
    pub final_equity: f64,
    /// Caller-supplied provenance.
    pub provenance: Provenance,
}

/// Lines that must be seen before any number.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Notices {
    /// The ensemble's dropped-members notice (`Ensemble::dropped_notice`), if any.
    pub dropped_members_notice: Option<String>,
    /// Names of the dropped members (they fail the members gate unless allowed).
    pub dropped_members: Vec<String>,
    /// Input-distribution warnings of the models (`InputDistribution::warning`).
    pub input_distribution_warnings: Vec<String>,
}

/// Calibration and model diagnostics, for the ensemble and per member.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CalibrationSection {
    /// Diagnostics of the ensemble's output.
    pub ensemble: Option<CalibrationReport>,
    /// Diagnostics per member, by member name.
    pub members: BTreeMap<String, CalibrationReport>,
    /// Class names in the models' output order (`down`, `flat`, `up`); empty in reports
    /// written before they were recorded, whose classes show by index.
    #[serde(default)]
    pub class_labels: Vec<String>,
}

impl CalibrationSection {
    /// The name of class `k` (its index when unnamed).
    pub fn class_name(&self, k: usize) -> String {
        self.class_labels
            .get(k)
            .cloned()
            .unwrap_or_else(|| k.to_string())
    }
}

/// The annualization convention, stated in words as well.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnualizationStatement {
    /// The convention.
    pub convention: Annualization,
    /// Periods per year P.
    pub periods_per_year: f64,
    /// E.g. `"daily returns, 365 periods/year"`.
    pub description: String,
}

/// How trades entered the trade statistics (see [`crate::run`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeAccounting {
    /// Policy for trades closed only because the data ended.
    pub end_of_data: EndOfDataPolicy,
    /// All trades of the run.
    pub trades_total: usize,
    /// Trades counted in the trade statistics.
    pub trades_counted: usize,
    /// Trades closed by the end of the data (still open when it ended).
    pub open_at_end: usize,
    /// `Σ pnl` of those trades (already in the final equity).
    pub open_at_end_pnl: f64,
}

/// Per-group breakdowns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdowns {
    /// Trade statistics per symbol.
    pub per_symbol: BTreeMap<String, TradeGroup>,
    /// Trade statistics per exit reason (every reason present).
    pub per_exit_reason: BTreeMap<ExitReason, TradeGroup>,
    /// Risk rules that fired, with the P&L around them.
    pub per_risk_rule: BTreeMap<String, RiskRuleSummary>,
    /// Returns per UTC calendar month.
    pub monthly: Vec<MonthlyReturn>,
}

/// One plot point summarizing consecutive bars: the curve is cut into at most
/// [`MAX_PLOT_POINTS`] buckets of `ceil(bars / MAX_PLOT_POINTS)` bars.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EquityBucket {
    /// Time of the bucket's last bar.
    pub ts_ms: i64,
    /// Equity of the bucket's last bar.
    pub equity: f64,
    /// Lowest equity in the bucket.
    pub min_equity: f64,
    /// Highest equity in the bucket.
    pub max_equity: f64,
    /// Deepest drawdown in the bucket: `max (M_t − E_t) / M_t`, with `M_t` the running
    /// peak of `[initial equity, E_0 … E_t]`.
    pub drawdown: f64,
}

/// One trade as listed in `trades.csv` and the JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeRow {
    /// Symbol.
    pub symbol: String,
    /// `long` or `short`.
    pub side: String,
    /// Entry bar open time (ms UTC).
    pub entry_ts_ms: i64,
    /// Exit bar open time (ms UTC).
    pub exit_ts_ms: i64,
    /// Entry time, ISO 8601 UTC.
    pub entry_time: String,
    /// Exit time, ISO 8601 UTC.
    pub exit_time: String,
    /// Bars between entry and exit.
    pub bars_held: u32,
    /// Units (absolute).
    pub quantity: f64,
    /// Volume-weighted entry price.
    pub entry_price: f64,
    /// Volume-weighted exit price.
    pub exit_price: f64,
    /// Entry + exit fees.
    pub fees: f64,
    /// Net P&L after fees.
    pub pnl: f64,
    /// `pnl / entry notional`.
    pub return_pct: f64,
    /// Why it closed.
    pub exit_reason: ExitReason,
    /// Maximum adverse excursion, fraction of the entry price.
    pub mae: f64,
    /// Maximum favourable excursion, fraction of the entry price.
    pub mfe: f64,
    /// Whether it is counted in the trade statistics.
    pub counted_in_statistics: bool,
}

/// One risk event as listed in `risk_events.csv` and the JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskEventRow {
    /// Bar open time (ms UTC) at which the rule fired.
    pub ts_ms: i64,
    /// The same, ISO 8601 UTC.
    pub time: String,
    /// Symbol concerned; empty for portfolio-wide rules.
    pub symbol: String,
    /// Rule name (snake_case).
    pub rule: String,
    /// The values that made it fire (`key=value; …`).
    pub details: String,
}

/// Everything a report shows. Serialized as `report.json` with keys in declared order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Run metadata and provenance.
    pub metadata: RunMetadata,
    /// Dropped members and input warnings.
    pub notices: Notices,
    /// Gate verdict, when gates were given.
    pub verdict: Option<Verdict>,
    /// Annualization of the annualized statistics.
    pub annualization: AnnualizationStatement,
    /// Which trades the trade statistics count.
    pub trade_accounting: TradeAccounting,
    /// Every performance statistic.
    pub statistics: StatisticsReport,
    /// Per symbol / exit reason / risk rule / month.
    pub breakdowns: Breakdowns,
    /// When a portfolio rule stopped new entries, and for how long (absent in reports
    /// written before it was added).
    #[serde(default)]
    pub halts: Vec<Halt>,
    /// Calibration, when predictions were given.
    pub calibration: Option<CalibrationSection>,
    /// Bars where stop and target were both reachable.
    pub ambiguity: AmbiguityStats,
    /// Downsampled equity and drawdown for plots.
    pub equity_plot: Vec<EquityBucket>,
    /// Every trade.
    pub trades: Vec<TradeRow>,
    /// Every risk event, in the engine's order.
    pub risk_events: Vec<RiskEventRow>,
}

/// What [`build_report`] needs besides the run.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions<'a> {
    /// Provenance echoed into the metadata.
    pub provenance: Provenance,
    /// Annualization of the statistics (`None` = calendar days, 365/year).
    pub annualization: Option<Annualization>,
    /// Parameters of Sharpe / PSR / DSR.
    pub statistics: StatisticsConfig,
    /// Whether `end_of_data` trades count in trade statistics.
    pub end_of_data: EndOfDataPolicy,
    /// Dropped members and input warnings.
    pub notices: Notices,
    /// Calibration diagnostics.
    pub calibration: Option<CalibrationSection>,
    /// Gates to evaluate.
    pub gates: Option<&'a GateSpec>,
    /// The champion's values for relative gates ([`Report::gate_values`] of its report).
    pub champion: Option<&'a RunValues>,
}

/// What gates read: the performance statistics merged with the ensemble's calibration
/// values for the whole run, and the per-symbol trade statistics.
fn gate_values(
    statistics: &StatisticsReport,
    calibration: Option<&CalibrationSection>,
    breakdowns: &Breakdowns,
) -> RunValues {
    let mut overall: StatisticValues = statistics.values.clone();
    if let Some(ensemble) = calibration.and_then(|c| c.ensemble.as_ref()) {
        overall.extend(ensemble.values());
    }
    let per_symbol = breakdowns
        .per_symbol
        .iter()
        .map(|(s, g)| (s.clone(), g.statistics.clone()))
        .collect();
    RunValues {
        overall,
        per_symbol,
    }
}

impl Report {
    /// The values this report's gates were (or would be) evaluated on; a champion's
    /// report provides them to relative gates.
    pub fn gate_values(&self) -> RunValues {
        gate_values(
            &self.statistics,
            self.calibration.as_ref(),
            &self.breakdowns,
        )
    }
}

/// ISO 8601 UTC (`2024-01-31T00:00:00Z`) for a ms timestamp; the number itself when it is
/// outside chrono's range.
pub fn iso_time(ts_ms: i64) -> String {
    DateTime::from_timestamp_millis(ts_ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| ts_ms.to_string())
}

/// The performance statistics of `run` alone — what [`build_report`] computes before its
/// tables — for callers that need only the numbers (the configs of a sweep).
pub fn run_statistics(
    run: &RunResult,
    annualization: Annualization,
    end_of_data: EndOfDataPolicy,
    config: &StatisticsConfig,
) -> Result<StatisticsReport, ReportsError> {
    let converted = convert_run(run, end_of_data)?;
    let input = PerformanceInput::new(&converted.equity, &converted.counted_trades, annualization)?;
    Ok(compute_statistics(&input, config))
}

/// Builds the report of `run`: statistics over the counted trades, breakdowns, the verdict
/// (overall values = performance statistics ∪ the ensemble's calibration values; per-symbol
/// values = the per-symbol trade statistics), and the tables.
pub fn build_report(run: &RunResult, options: ReportOptions<'_>) -> Result<Report, ReportsError> {
    let annualization = options.annualization.unwrap_or(Annualization::CalendarDays);
    let converted = convert_run(run, options.end_of_data)?;
    let input = PerformanceInput::new(&converted.equity, &converted.counted_trades, annualization)?;
    let statistics = compute_statistics(&input, &options.statistics);
    let breakdowns = Breakdowns {
        per_symbol: per_symbol(&input)?,
        per_exit_reason: per_exit_reason(&input)?,
        per_risk_rule: risk_rule_breakdown(run),
        monthly: monthly_returns(&converted.equity)?,
    };
    let values = gate_values(&statistics, options.calibration.as_ref(), &breakdowns);
    let verdict = options.gates.map(|spec| {
        evaluate(
            spec,
            GateInputs {
                champion: options.champion,
                overall: &values.overall,
                per_symbol: &values.per_symbol,
                dropped_members: &options.notices.dropped_members,
            },
        )
    });
    let open_at_end: Vec<f64> = converted
        .all_trades
        .iter()
        .filter(|t| t.exit_reason == ExitReason::EndOfData)
        .map(|t| t.pnl)
        .collect();
    let trades = run
        .trades
        .iter()
        .zip(&converted.all_trades)
        .map(|(t, r)| TradeRow {
            symbol: r.symbol.clone(),
            side: side_name(t.side).to_string(),
            entry_ts_ms: t.entry_ts,
            exit_ts_ms: t.exit_ts,
            entry_time: iso_time(t.entry_ts),
            exit_time: iso_time(t.exit_ts),
            bars_held: r.bars_held,
            quantity: t.quantity,
            entry_price: t.entry_price,
            exit_price: t.exit_price,
            fees: t.fees,
            pnl: t.pnl,
            return_pct: r.return_pct,
            exit_reason: r.exit_reason,
            mae: r.mae,
            mfe: r.mfe,
            counted_in_statistics: options.end_of_data == EndOfDataPolicy::Include
                || r.exit_reason != ExitReason::EndOfData,
        })
        .collect();
    let risk_events = run
        .risk_events
        .iter()
        .map(|e| RiskEventRow {
            ts_ms: e.ts,
            time: iso_time(e.ts),
            symbol: e
                .symbol
                .and_then(|s| run.symbols.get(s))
                .cloned()
                .unwrap_or_default(),
            rule: rule_name(&e.rule).to_string(),
            details: rule_details(&e.rule),
        })
        .collect();
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        metadata: RunMetadata {
            gauntlet_version: env!("CARGO_PKG_VERSION").to_string(),
            strategy: run.strategy.clone(),
            symbols: run.symbols.clone(),
            first_bar_ts_ms: run.equity.ts.first().copied(),
            last_bar_ts_ms: run.equity.ts.last().copied(),
            bars: run.equity.ts.len(),
            candles: run.candles,
            initial_cash: run.initial_cash,
            final_equity: converted.equity.final_equity(),
            provenance: options.provenance,
        },
        notices: options.notices,
        verdict,
        annualization: AnnualizationStatement {
            convention: annualization,
            periods_per_year: annualization.periods_per_year(),
            description: annualization.describe(),
        },
        trade_accounting: TradeAccounting {
            end_of_data: options.end_of_data,
            trades_total: converted.all_trades.len(),
            trades_counted: converted.counted_trades.len(),
            open_at_end: open_at_end.len(),
            open_at_end_pnl: crate::stats::sum(open_at_end.iter().copied()),
        },
        statistics,
        breakdowns,
        halts: halts(run),
        calibration: options.calibration,
        ambiguity: run.ambiguity.clone(),
        equity_plot: equity_buckets(&converted.equity),
        trades,
        risk_events,
    })
}

/// Cuts the curve into at most [`MAX_PLOT_POINTS`] buckets; see [`EquityBucket`].
pub fn equity_buckets(curve: &EquitySeries) -> Vec<EquityBucket> {
    let n = curve.len();
    if n == 0 {
        return Vec::new();
    }
    let size = n.div_ceil(MAX_PLOT_POINTS);
    let mut peak = curve.initial_equity();
    let mut buckets = Vec::with_capacity(n.div_ceil(size));
    for (ts, equity) in curve.ts_ms().chunks(size).zip(curve.equity().chunks(size)) {
        let mut bucket = EquityBucket {
            ts_ms: ts[ts.len() - 1],
            equity: equity[equity.len() - 1],
            min_equity: f64::INFINITY,
            max_equity: f64::NEG_INFINITY,
            drawdown: 0.0,
        };
        for &e in equity {
            peak = peak.max(e);
            bucket.min_equity = bucket.min_equity.min(e);
            bucket.max_equity = bucket.max_equity.max(e);
            if peak > 0.0 {
                bucket.drawdown = bucket.drawdown.max((peak - e) / peak);
            }
        }
        buckets.push(bucket);
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_keep_extremes_and_drawdown() {
        let n = 2 * MAX_PLOT_POINTS + 1;
        let ts: Vec<i64> = (0..n as i64).collect();
        let mut equity = vec![100.0; n];
        equity[5] = 80.0;
        equity[6] = 120.0;
        let curve = EquitySeries::new(100.0, ts, equity).unwrap();
        let buckets = equity_buckets(&curve);
        assert_eq!(buckets.len(), n.div_ceil(3));
        // bars 3,4,5 and 6,7,8
        assert_eq!(buckets[1].min_equity, 80.0);
        assert!((buckets[1].drawdown - 0.2).abs() < 1e-15);
        assert_eq!(buckets[2].max_equity, 120.0);
        // After the new peak of 120, equity 100 is a drawdown of 1/6.
        assert!((buckets[2].drawdown - 20.0 / 120.0).abs() < 1e-15);
        assert_eq!(buckets.last().unwrap().ts_ms, n as i64 - 1);
        let empty = EquitySeries::new(1.0, vec![], vec![]).unwrap();
        assert!(equity_buckets(&empty).is_empty());
    }

    #[test]
    fn iso_time_formats_utc() {
        assert_eq!(iso_time(1_706_659_200_000), "2024-01-31T00:00:00Z");
        assert_eq!(iso_time(i64::MAX), i64::MAX.to_string());
    }
}
