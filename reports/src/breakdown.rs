//! Breakdowns of a run: per symbol, per exit reason, per calendar month.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike};
use serde::{Deserialize, Serialize};

use crate::error::ReportsError;
use crate::series::EquitySeries;
use crate::stats::{trade_statistics, PerformanceInput};
use crate::trades::{ExitReason, TradeRecord};

/// Trade statistics of one group of trades (a symbol, an exit reason).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeGroup {
    /// Number of trades in the group.
    pub trades: usize,
    /// `trades / all trades of the run`.
    pub share_of_trades: f64,
    /// `Σ pnl` of the group (net of fees).
    pub total_pnl: f64,
    /// The trade-only statistics ([`crate::stats::trade_statistics`]) over the group, by name.
    pub statistics: BTreeMap<String, Option<f64>>,
}

fn group_summary(
    input: &PerformanceInput<'_>,
    trades: &[TradeRecord],
    total: usize,
) -> Result<TradeGroup, ReportsError> {
    let group_input = PerformanceInput::new(input.equity(), trades, input.annualization())?;
    let statistics = trade_statistics()
        .iter()
        .map(|s| (s.name().to_string(), s.calculate(&group_input)))
        .collect();
    Ok(TradeGroup {
        trades: trades.len(),
        share_of_trades: if total == 0 {
            0.0
        } else {
            trades.len() as f64 / total as f64
        },
        total_pnl: crate::stats::sum(trades.iter().map(|t| t.pnl)),
        statistics,
    })
}

/// Trade statistics per symbol (sorted by symbol).
pub fn per_symbol(
    input: &PerformanceInput<'_>,
) -> Result<BTreeMap<String, TradeGroup>, ReportsError> {
    let mut groups: BTreeMap<&str, Vec<TradeRecord>> = BTreeMap::new();
    for trade in input.trades() {
        groups
            .entry(trade.symbol.as_str())
            .or_default()
            .push(trade.clone());
    }
    let total = input.trades().len();
    groups
        .into_iter()
        .map(|(symbol, trades)| Ok((symbol.to_string(), group_summary(input, &trades, total)?)))
        .collect()
}

/// Trade statistics per exit reason; every reason is present (with 0 trades if none).
pub fn per_exit_reason(
    input: &PerformanceInput<'_>,
) -> Result<BTreeMap<ExitReason, TradeGroup>, ReportsError> {
    let total = input.trades().len();
    ExitReason::ALL
        .iter()
        .map(|&reason| {
            let trades: Vec<TradeRecord> = input
                .trades()
                .iter()
                .filter(|t| t.exit_reason == reason)
                .cloned()
                .collect();
            Ok((reason, group_summary(input, &trades, total)?))
        })
        .collect()
}

/// The return of one UTC calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MonthlyReturn {
    /// Calendar year (UTC).
    pub year: i32,
    /// Month 1–12 (UTC).
    pub month: u32,
    /// `E_month / E_previous_month − 1`, E the last equity of the month; the first month's
    /// reference is the initial equity (as for daily returns).
    pub simple_return: f64,
}

/// Simple returns per UTC calendar month (months without bars are absent). Errors on a
/// timestamp outside chrono's range or a non-positive reference equity.
pub fn monthly_returns(curve: &EquitySeries) -> Result<Vec<MonthlyReturn>, ReportsError> {
    let mut months: Vec<MonthlyReturn> = Vec::new();
    let mut reference = curve.initial_equity();
    let mut current: Option<((i32, u32), f64, usize)> = None;
    for (index, (&ts, &e)) in curve.ts_ms().iter().zip(curve.equity()).enumerate() {
        let date = DateTime::from_timestamp_millis(ts).ok_or(ReportsError::OutOfRange {
            what: "bar timestamp (ms)",
            index,
            value: ts as f64,
            expected: "the range of calendar dates chrono supports",
        })?;
        let key = (date.year(), date.month());
        if let Some((open_key, last_equity, last_index)) = current {
            if open_key != key {
                months.push(close_month(open_key, last_equity, reference, last_index)?);
                reference = last_equity;
            }
        }
        current = Some((key, e, index));
    }
    if let Some((key, last_equity, last_index)) = current {
        months.push(close_month(key, last_equity, reference, last_index)?);
    }
    Ok(months)
}

fn close_month(
    key: (i32, u32),
    last_equity: f64,
    reference: f64,
    index: usize,
) -> Result<MonthlyReturn, ReportsError> {
    if reference <= 0.0 {
        return Err(ReportsError::NonPositiveEquity {
            what: "equity (reference of a monthly return)",
            index,
            value: reference,
        });
    }
    Ok(MonthlyReturn {
        year: key.0,
        month: key.1,
        simple_return: last_equity / reference - 1.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annualization::Annualization;
    use crate::series::MS_PER_DAY;
    use crate::trades::fixtures::trade;

    #[test]
    fn monthly_returns_chain_from_initial_equity() {
        // 2024-01-31, 2024-02-01, 2024-02-29, 2024-04-01 (March has no bar).
        let jan31 = 1_706_659_200_000;
        let ts = vec![
            jan31,
            jan31 + MS_PER_DAY,
            jan31 + 29 * MS_PER_DAY,
            jan31 + 61 * MS_PER_DAY,
        ];
        let curve = EquitySeries::new(100.0, ts, vec![110.0, 50.0, 121.0, 60.5]).unwrap();
        let months = monthly_returns(&curve).unwrap();
        let keys: Vec<(i32, u32)> = months.iter().map(|m| (m.year, m.month)).collect();
        assert_eq!(keys, vec![(2024, 1), (2024, 2), (2024, 4)]);
        assert!((months[0].simple_return - 0.1).abs() < 1e-15);
        assert!((months[1].simple_return - 0.1).abs() < 1e-15);
        assert!((months[2].simple_return + 0.5).abs() < 1e-15);
        let empty = EquitySeries::new(100.0, vec![], vec![]).unwrap();
        assert!(monthly_returns(&empty).unwrap().is_empty());
    }

    #[test]
    fn per_symbol_and_exit_reason_groups() {
        let curve = EquitySeries::new(100.0, vec![0, 1], vec![100.0, 101.0]).unwrap();
        let trades = vec![
            trade("ETH", 0, 1, 4.0, ExitReason::TakeProfit),
            trade("BTC", 0, 1, -2.0, ExitReason::StopLoss),
            trade("BTC", 1, 1, 6.0, ExitReason::Signal),
        ];
        let input = PerformanceInput::new(&curve, &trades, Annualization::CalendarDays).unwrap();
        let symbols = per_symbol(&input).unwrap();
        assert_eq!(symbols.keys().collect::<Vec<_>>(), vec!["BTC", "ETH"]);
        let btc = &symbols["BTC"];
        assert_eq!(btc.trades, 2);
        assert_eq!(btc.total_pnl, 4.0);
        assert_eq!(btc.statistics["win_rate"], Some(0.5));
        assert_eq!(btc.statistics["stop_loss_hit_rate"], Some(0.5));
        assert!((btc.share_of_trades - 2.0 / 3.0).abs() < 1e-15);

        let reasons = per_exit_reason(&input).unwrap();
        assert_eq!(reasons.len(), ExitReason::ALL.len());
        assert_eq!(reasons[&ExitReason::StopLoss].total_pnl, -2.0);
        assert_eq!(reasons[&ExitReason::EndOfData].trades, 0);
        assert_eq!(reasons[&ExitReason::EndOfData].statistics["win_rate"], None);
    }
}
