//! Glue from the engine's [`RunResult`] to the report inputs: the equity curve, the
//! closed-trade records the statistics read, and the per-risk-rule breakdown.
//!
//! # Trades still open when the data ended
//! The engine closes a position that is still open at the end of the data at the last
//! close, without fees, as a trade with exit reason `end_of_data`; the equity curve already
//! holds that mark. [`EndOfDataPolicy::Exclude`] (the default) follows backtesting.py:
//! such trades are **not** counted in the trade statistics (win rate, profit factor, …,
//! per-symbol and per-exit-reason breakdowns) because they never closed, while their value
//! stays in the equity curve and therefore in every equity statistic (total return,
//! Sharpe, drawdown, …). They are still listed in `trades.csv` (column
//! `counted_in_statistics = false`) and summarized in the report. [`EndOfDataPolicy::Include`]
//! counts them like any closed trade. The report states the policy used.

use std::collections::BTreeMap;

use gauntlet_engine::risk::RiskRule;
use gauntlet_engine::{RiskEvent, RunResult, Trade};
use gauntlet_strategies::strategy::Side;
use serde::{Deserialize, Serialize};

use crate::error::ReportsError;
use crate::series::EquitySeries;
use crate::trades::{ExitReason, TradeRecord};

/// Whether trades closed only because the data ended count in the trade statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndOfDataPolicy {
    /// Not counted in trade statistics (backtesting.py); their value stays in equity.
    #[default]
    Exclude,
    /// Counted like any other closed trade.
    Include,
}

/// The report inputs derived from one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConversion {
    /// Equity per timestamp, with the run's initial cash as initial equity.
    pub equity: EquitySeries,
    /// Every trade, converted, in the engine's order.
    pub all_trades: Vec<TradeRecord>,
    /// The trades the trade statistics read (all of them, or all but `end_of_data`).
    pub counted_trades: Vec<TradeRecord>,
    /// The policy that chose `counted_trades`.
    pub end_of_data: EndOfDataPolicy,
}

/// `"long"` or `"short"`.
pub fn side_name(side: Side) -> &'static str {
    match side {
        Side::Long => "long",
        Side::Short => "short",
    }
}

/// Converts one engine trade (`index` = its position, used in errors):
///
/// * `entry_notional = quantity × entry_price`, `exit_notional = quantity × exit_price`;
/// * `return_pct` = the engine's `return_fraction` (= `pnl / entry_notional`);
/// * `mae`, `mfe` = the engine's cash excursions divided by `entry_notional` (fractions of
///   the entry price); 0 when the entry notional is 0;
/// * `bars_held = exit_bar − entry_bar` (bar indices of the symbol's series);
/// * `symbol` = `symbols[trade.symbol_index]` (the run's symbol names).
pub fn trade_record(
    trade: &Trade,
    symbols: &[String],
    index: usize,
) -> Result<TradeRecord, ReportsError> {
    let symbol = symbols
        .get(trade.symbol_index)
        .ok_or(ReportsError::OutOfRange {
            what: "trade symbol index",
            index,
            value: trade.symbol_index as f64,
            expected: "an index into the run's symbols",
        })?;
    let entry_notional = trade.quantity.abs() * trade.entry_price;
    let exit_notional = trade.quantity.abs() * trade.exit_price;
    let per_notional = |cash: f64| {
        if entry_notional > 0.0 {
            cash / entry_notional
        } else {
            0.0
        }
    };
    let bars = trade.exit_bar.saturating_sub(trade.entry_bar);
    let bars_held = u32::try_from(bars).map_err(|_| ReportsError::OutOfRange {
        what: "trade bars held",
        index,
        value: bars as f64,
        expected: "[0, 4294967295]",
    })?;
    let record = TradeRecord {
        symbol: symbol.clone(),
        entry_ts_ms: trade.entry_ts,
        exit_ts_ms: trade.exit_ts,
        bars_held,
        pnl: trade.pnl,
        return_pct: trade.return_fraction,
        fees: trade.fees,
        entry_notional,
        exit_notional,
        exit_reason: trade.exit_reason,
        mae: per_notional(trade.mae),
        mfe: per_notional(trade.mfe),
    };
    record.validate(index)?;
    Ok(record)
}

/// Converts a run: equity curve (initial equity = `initial_cash`) and trade records;
/// `policy` decides whether `end_of_data` trades are counted (see the module docs).
pub fn convert_run(
    run: &RunResult,
    policy: EndOfDataPolicy,
) -> Result<RunConversion, ReportsError> {
    let equity = EquitySeries::new(
        run.initial_cash,
        run.equity.ts.clone(),
        run.equity.equity.clone(),
    )?;
    let all_trades = run
        .trades
        .iter()
        .enumerate()
        .map(|(index, trade)| trade_record(trade, &run.symbols, index))
        .collect::<Result<Vec<_>, _>>()?;
    let counted_trades = all_trades
        .iter()
        .filter(|t| policy == EndOfDataPolicy::Include || t.exit_reason != ExitReason::EndOfData)
        .cloned()
        .collect();
    Ok(RunConversion {
        equity,
        all_trades,
        counted_trades,
        end_of_data: policy,
    })
}

/// The snake_case name of a risk rule (the `rule` tag of its serde form).
pub fn rule_name(rule: &RiskRule) -> &'static str {
    match rule {
        RiskRule::StopLoss { .. } => "stop_loss",
        RiskRule::TakeProfit { .. } => "take_profit",
        RiskRule::TrailingStop { .. } => "trailing_stop",
        RiskRule::TimeStop { .. } => "time_stop",
        RiskRule::DailyDrawdown { .. } => "daily_drawdown",
        RiskRule::CircuitBreaker { .. } => "circuit_breaker",
        RiskRule::CircuitBreakerResumed { .. } => "circuit_breaker_resumed",
        RiskRule::ConsecutiveLosses { .. } => "consecutive_losses",
        RiskRule::CapitalRamp { .. } => "capital_ramp",
        RiskRule::EntryRefused { .. } => "entry_refused",
        RiskRule::QuantityCapped { .. } => "quantity_capped",
    }
}

/// The values that made a rule fire, as `key=value` pairs joined by `"; "` in the field
/// order of [`RiskRule`] (numbers in Rust's shortest round-trip form).
pub fn rule_details(rule: &RiskRule) -> String {
    fn num(x: f64) -> String {
        format!("{x}")
    }
    let pairs: Vec<(&str, String)> = match *rule {
        RiskRule::StopLoss {
            level,
            trigger,
            fill_price,
        }
        | RiskRule::TakeProfit {
            level,
            trigger,
            fill_price,
        }
        | RiskRule::TrailingStop {
            level,
            trigger,
            fill_price,
        } => vec![
            ("level", num(level)),
            ("trigger", num(trigger)),
            ("fill_price", num(fill_price)),
        ],
        RiskRule::TimeStop { bars_held, limit } => vec![
            ("bars_held", bars_held.to_string()),
            ("limit", limit.to_string()),
        ],
        RiskRule::DailyDrawdown {
            equity,
            day_start_equity,
            limit,
        } => vec![
            ("equity", num(equity)),
            ("day_start_equity", num(day_start_equity)),
            ("limit", num(limit)),
        ],
        RiskRule::CircuitBreaker {
            equity,
            peak,
            limit,
            halted_until,
        } => vec![
            ("equity", num(equity)),
            ("peak", num(peak)),
            ("limit", num(limit)),
            (
                "halted_until",
                halted_until.map_or_else(|| "end_of_run".to_string(), |t| t.to_string()),
            ),
        ],
        RiskRule::CircuitBreakerResumed { equity } => vec![("equity", num(equity))],
        RiskRule::ConsecutiveLosses { losses, limit } => {
            vec![("losses", losses.to_string()), ("limit", limit.to_string())]
        }
        RiskRule::CapitalRamp { fraction } => vec![("fraction", num(fraction))],
        RiskRule::EntryRefused { reason } => {
            let reason = serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            vec![("reason", reason)]
        }
        RiskRule::QuantityCapped {
            requested,
            allowed,
            binding,
        } => {
            let binding = serde_json::to_value(binding)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            vec![
                ("requested", num(requested)),
                ("allowed", num(allowed)),
                ("binding", binding),
            ]
        }
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// How often one risk rule fired and what the trades around it earned.
///
/// Definitions (all trades of the run, `end_of_data` ones included, P&L net of fees):
/// * `firings` — number of events of the rule; `symbols` — distinct symbols concerned
///   (0 for portfolio-wide rules); `first_ts_ms` / `last_ts_ms` — first and last firing;
/// * `exits_caused`, `exits_caused_pnl` — trades the rule closed, and `Σ pnl` over them:
///   stop_loss / take_profit / trailing_stop / time_stop own the trades with that exit
///   reason; a `risk_flatten` trade belongs to the latest `daily_drawdown` or
///   `circuit_breaker` firing with `ts ≤ exit_ts` (the flatten is decided at that close
///   and fills later); other rules close nothing;
/// * `trades_after`, `pnl_after` — trades *entered* strictly after a firing of the rule in
///   the trade's scope, i.e. `entry_ts > min { ts of firings that concern the trade's
///   symbol }`, each trade counted once; a per-symbol firing concerns its symbol, a
///   portfolio-wide firing every symbol. It answers "was trading after this rule fired
///   profitable?" (re-entries after a stop, trades after a halt lifted or a ramp step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskRuleSummary {
    /// Number of firings.
    pub firings: usize,
    /// Distinct symbols concerned (0 for portfolio-wide rules).
    pub symbols: usize,
    /// First firing (bar open time, ms UTC).
    pub first_ts_ms: i64,
    /// Last firing (bar open time, ms UTC).
    pub last_ts_ms: i64,
    /// Trades this rule closed.
    pub exits_caused: usize,
    /// `Σ pnl` of the trades this rule closed.
    pub exits_caused_pnl: f64,
    /// Trades entered after a firing (see the type docs).
    pub trades_after: usize,
    /// `Σ pnl` of those trades.
    pub pnl_after: f64,
}

/// The per-risk-rule breakdown, keyed by [`rule_name`]; only rules that fired appear.
pub fn risk_rule_breakdown(run: &RunResult) -> BTreeMap<String, RiskRuleSummary> {
    let mut by_rule: BTreeMap<&'static str, Vec<&RiskEvent>> = BTreeMap::new();
    for event in &run.risk_events {
        by_rule
            .entry(rule_name(&event.rule))
            .or_default()
            .push(event);
    }
    let flatten_owner = |trade: &Trade| -> Option<&'static str> {
        run.risk_events
            .iter()
            .filter(|e| {
                e.ts <= trade.exit_ts
                    && matches!(
                        e.rule,
                        RiskRule::DailyDrawdown { .. } | RiskRule::CircuitBreaker { .. }
                    )
            })
            .max_by_key(|e| e.ts)
            .map(|e| rule_name(&e.rule))
    };
    by_rule
        .into_iter()
        .map(|(name, events)| {
            let mut symbols: Vec<usize> = events.iter().filter_map(|e| e.symbol).collect();
            symbols.sort_unstable();
            symbols.dedup();
            let caused: Vec<&Trade> = run
                .trades
                .iter()
                .filter(|t| match t.exit_reason {
                    ExitReason::StopLoss => name == "stop_loss",
                    ExitReason::TakeProfit => name == "take_profit",
                    ExitReason::TrailingStop => name == "trailing_stop",
                    ExitReason::TimeStop => name == "time_stop",
                    ExitReason::RiskFlatten => flatten_owner(t) == Some(name),
                    ExitReason::Signal | ExitReason::EndOfData => false,
                })
                .collect();
            let after: Vec<&Trade> = run
                .trades
                .iter()
                .filter(|t| entered_after_a_firing(t, &events))
                .collect();
            let summary = RiskRuleSummary {
                firings: events.len(),
                symbols: symbols.len(),
                first_ts_ms: events.iter().map(|e| e.ts).min().unwrap_or_default(),
                last_ts_ms: events.iter().map(|e| e.ts).max().unwrap_or_default(),
                exits_caused: caused.len(),
                exits_caused_pnl: crate::stats::sum(caused.iter().map(|t| t.pnl)),
                trades_after: after.len(),
                pnl_after: crate::stats::sum(after.iter().map(|t| t.pnl)),
            };
            (name.to_string(), summary)
        })
        .collect()
}

/// True if some firing in the trade's scope happened strictly before its entry.
fn entered_after_a_firing(trade: &Trade, events: &[&RiskEvent]) -> bool {
    events.iter().any(|e| {
        let in_scope = e.symbol.is_none_or(|s| s == trade.symbol_index);
        in_scope && e.ts < trade.entry_ts
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gauntlet_engine::result::{AmbiguityStats, EquityCurve as EngineCurve};

    pub(crate) fn engine_trade(
        symbol_index: usize,
        entry_ts: i64,
        exit_ts: i64,
        pnl: f64,
        reason: ExitReason,
    ) -> Trade {
        Trade {
            symbol_index,
            side: Side::Long,
            entry_ts,
            entry_bar: entry_ts as usize,
            exit_ts,
            exit_bar: exit_ts as usize,
            entry_price: 100.0,
            exit_price: 100.0 + pnl / 2.0,
            quantity: 2.0,
            fees: 0.0,
            pnl,
            return_fraction: pnl / 200.0,
            exit_reason: reason,
            mae: 4.0,
            mfe: 6.0,
            atr_multiple_at_exit: None,
            model_at_entry: None,
        }
    }

    fn run_with(trades: Vec<Trade>, risk_events: Vec<RiskEvent>) -> RunResult {
        RunResult {
            strategy: "test".into(),
            symbols: vec!["AAA".into(), "BBB".into()],
            initial_cash: 1000.0,
            final_equity: 1000.0,
            total_fees: 0.0,
            equity: EngineCurve {
                ts: vec![0, 10],
                equity: vec![1000.0, 1000.0],
                cash: vec![1000.0, 1000.0],
                gross_exposure: vec![0.0, 0.0],
                net_exposure: vec![0.0, 0.0],
            },
            trades,
            orders: vec![],
            fills: vec![],
            risk_events,
            ambiguity: AmbiguityStats::default(),
            candles: 4,
        }
    }

    #[test]
    fn converts_trades_and_applies_the_end_of_data_policy() {
        let run = run_with(
            vec![
                engine_trade(0, 0, 2, 10.0, ExitReason::Signal),
                engine_trade(1, 1, 9, -4.0, ExitReason::EndOfData),
            ],
            vec![],
        );
        let excluded = convert_run(&run, EndOfDataPolicy::Exclude).unwrap();
        assert_eq!(excluded.all_trades.len(), 2);
        assert_eq!(excluded.counted_trades.len(), 1);
        let t = &excluded.all_trades[0];
        assert_eq!(t.entry_notional, 200.0);
        assert_eq!(t.exit_notional, 210.0);
        assert_eq!(t.mae, 0.02);
        assert_eq!(t.mfe, 0.03);
        assert_eq!(t.bars_held, 2);
        assert_eq!(t.return_pct, 0.05);
        let included = convert_run(&run, EndOfDataPolicy::Include).unwrap();
        assert_eq!(included.counted_trades.len(), 2);
        assert_eq!(included.equity.initial_equity(), 1000.0);
    }

    #[test]
    fn bad_trades_are_errors_naming_the_index() {
        let mut bad = engine_trade(0, 0, 2, 10.0, ExitReason::Signal);
        bad.pnl = f64::NAN;
        let run = run_with(
            vec![engine_trade(0, 0, 2, 1.0, ExitReason::Signal), bad],
            vec![],
        );
        assert!(matches!(
            convert_run(&run, EndOfDataPolicy::Exclude),
            Err(ReportsError::NonFinite {
                what: "trade pnl",
                index: 1,
                ..
            })
        ));
    }

    #[test]
    fn risk_rule_breakdown_attributes_exits_and_later_trades() {
        let stop = RiskRule::StopLoss {
            level: 95.0,
            trigger: 94.0,
            fill_price: 95.0,
        };
        let daily = RiskRule::DailyDrawdown {
            equity: 900.0,
            day_start_equity: 1000.0,
            limit: 0.08,
        };
        let events = vec![
            RiskEvent {
                ts: 2,
                symbol: Some(0),
                rule: stop,
            },
            RiskEvent {
                ts: 5,
                symbol: None,
                rule: daily,
            },
        ];
        let trades = vec![
            engine_trade(0, 0, 2, -5.0, ExitReason::StopLoss),
            // Re-entry on AAA after the stop: "after" for stop_loss; closed by the flatten.
            engine_trade(0, 3, 6, -7.0, ExitReason::RiskFlatten),
            // BBB entered before anything fired, flattened too.
            engine_trade(1, 1, 6, 2.0, ExitReason::RiskFlatten),
            // After the daily limit (portfolio scope) and after AAA's stop.
            engine_trade(0, 8, 9, 3.0, ExitReason::Signal),
            // BBB after the daily limit, not in the stop's scope.
            engine_trade(1, 8, 9, 1.0, ExitReason::Signal),
        ];
        let breakdown = risk_rule_breakdown(&run_with(trades, events));
        assert_eq!(
            breakdown.keys().collect::<Vec<_>>(),
            vec!["daily_drawdown", "stop_loss"]
        );
        let s = &breakdown["stop_loss"];
        assert_eq!((s.firings, s.symbols), (1, 1));
        assert_eq!((s.exits_caused, s.exits_caused_pnl), (1, -5.0));
        assert_eq!((s.trades_after, s.pnl_after), (2, -4.0));
        let d = &breakdown["daily_drawdown"];
        assert_eq!((d.firings, d.symbols, d.first_ts_ms), (1, 0, 5));
        assert_eq!((d.exits_caused, d.exits_caused_pnl), (2, -5.0));
        assert_eq!((d.trades_after, d.pnl_after), (2, 4.0));
    }

    #[test]
    fn rule_details_list_the_trigger_values() {
        assert_eq!(
            rule_details(&RiskRule::CircuitBreaker {
                equity: 880.0,
                peak: 1000.0,
                limit: 0.12,
                halted_until: None
            }),
            "equity=880; peak=1000; limit=0.12; halted_until=end_of_run"
        );
        assert_eq!(
            rule_details(&RiskRule::EntryRefused {
                reason: gauntlet_engine::risk::RefusalReason::MaxOpenPositions
            }),
            "reason=max_open_positions"
        );
    }
}
