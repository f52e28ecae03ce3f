//! Performance statistics, one per file, all behind [`Statistic`].
//!
//! Every statistic reads a [`PerformanceInput`] (equity curve, the daily returns derived
//! from it, closed trades, annualization) and returns `Option<f64>`:
//! `Some(x)` is always finite; `None` means the statistic is undefined for this input
//! (each file's doc comment says exactly when). NaN or ±inf never leave this module.
//!
//! The ratio convention used where a denominator can be zero (flat equity, no losses):
//! `0 / 0 → Some(0)` (nothing earned, nothing risked) and `x / 0 → None` for `x ≠ 0`
//! (unbounded), unless a statistic's doc says otherwise.

mod annual_volatility;
mod average_drawdown;
mod average_loss;
mod average_mae;
mod average_mfe;
mod average_win;
mod cagr;
mod calmar;
mod deflated_sharpe;
mod downside_risk;
mod expectancy;
mod exposure_time;
mod fees_paid;
mod max_drawdown;
mod max_drawdown_duration;
mod number_of_trades;
mod payoff_ratio;
mod probabilistic_sharpe;
mod profit_factor;
mod sharpe;
mod sortino;
mod stop_loss_hit_rate;
mod take_profit_hit_rate;
mod total_return;
mod trailing_stop_rate;
mod turnover;
mod win_rate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use annual_volatility::AnnualVolatility;
pub use average_drawdown::AverageDrawdown;
pub use average_loss::AverageLoss;
pub use average_mae::AverageMae;
pub use average_mfe::AverageMfe;
pub use average_win::AverageWin;
pub use cagr::Cagr;
pub use calmar::CalmarRatio;
pub use deflated_sharpe::{expected_max_sharpe, DeflatedSharpeRatio, SharpeTrials};
pub use downside_risk::DownsideRisk;
pub use expectancy::Expectancy;
pub use exposure_time::ExposureTime;
pub use fees_paid::FeesPaid;
pub use max_drawdown::MaxDrawdown;
pub use max_drawdown_duration::MaxDrawdownDurationDays;
pub use number_of_trades::NumberOfTrades;
pub use payoff_ratio::PayoffRatio;
pub use probabilistic_sharpe::{probabilistic_sharpe_ratio, ProbabilisticSharpeRatio};
pub use profit_factor::ProfitFactor;
pub use sharpe::SharpeRatio;
pub use sortino::SortinoRatio;
pub use stop_loss_hit_rate::StopLossHitRate;
pub use take_profit_hit_rate::TakeProfitHitRate;
pub use total_return::TotalReturn;
pub use trailing_stop_rate::TrailingStopRate;
pub use turnover::Turnover;
pub use win_rate::WinRate;

use crate::annualization::Annualization;
use crate::error::ReportsError;
use crate::series::{DailyReturns, EquitySeries};
use crate::trades::{ExitReason, TradeRecord};

/// Everything a statistic may read. Built once per run (or per symbol).
#[derive(Debug, Clone)]
pub struct PerformanceInput<'a> {
    equity: &'a EquitySeries,
    daily: DailyReturns,
    trades: &'a [TradeRecord],
    annualization: Annualization,
}

impl<'a> PerformanceInput<'a> {
    /// Derives the daily returns from `equity` (see [`EquitySeries::daily_returns`]) and
    /// validates every trade record.
    pub fn new(
        equity: &'a EquitySeries,
        trades: &'a [TradeRecord],
        annualization: Annualization,
    ) -> Result<Self, ReportsError> {
        for (index, trade) in trades.iter().enumerate() {
            trade.validate(index)?;
        }
        let daily = equity.daily_returns()?;
        Ok(Self {
            equity,
            daily,
            trades,
            annualization,
        })
    }

    /// The equity curve.
    pub fn equity(&self) -> &EquitySeries {
        self.equity
    }

    /// Daily simple returns derived from the equity curve.
    pub fn daily_returns(&self) -> &DailyReturns {
        &self.daily
    }

    /// Closed trades.
    pub fn trades(&self) -> &[TradeRecord] {
        self.trades
    }

    /// The annualization convention.
    pub fn annualization(&self) -> Annualization {
        self.annualization
    }
}

/// One performance statistic.
pub trait Statistic {
    /// The snake_case name used as the key in reports and gate specifications.
    fn name(&self) -> &'static str;

    /// The value for `input`; `None` when undefined (never NaN or ±inf).
    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64>;
}

/// Parameters of the statistics that need more than the run itself.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StatisticsConfig {
    /// Risk-free return per period (per day) subtracted in the Sharpe ratio.
    pub risk_free_per_period: f64,
    /// Benchmark per-period Sharpe ratio SR* of the probabilistic Sharpe ratio.
    pub psr_benchmark_sharpe: f64,
    /// The sweep the run was selected from; without it the deflated Sharpe is `None`.
    pub trials: Option<SharpeTrials>,
}

impl Default for StatisticsConfig {
    fn default() -> Self {
        Self {
            risk_free_per_period: 0.0,
            psr_benchmark_sharpe: 0.0,
            trials: None,
        }
    }
}

/// All statistics by name, with the annualization that produced the annualized ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatisticsReport {
    /// Annualization used (stated in every report).
    pub annualization: Annualization,
    /// Value per statistic name; `None` = undefined for this input.
    pub values: BTreeMap<String, Option<f64>>,
}

/// The names of every performance statistic in [`compute_statistics`], sorted.
pub fn statistic_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = all_statistics(&StatisticsConfig::default())
        .iter()
        .map(|s| s.name())
        .collect();
    names.sort_unstable();
    names
}

fn all_statistics(config: &StatisticsConfig) -> Vec<Box<dyn Statistic>> {
    vec![
        Box::new(TotalReturn),
        Box::new(Cagr),
        Box::new(AnnualVolatility),
        Box::new(DownsideRisk),
        Box::new(SharpeRatio {
            risk_free_per_period: config.risk_free_per_period,
        }),
        Box::new(SortinoRatio),
        Box::new(CalmarRatio),
        Box::new(MaxDrawdown),
        Box::new(MaxDrawdownDurationDays),
        Box::new(AverageDrawdown),
        Box::new(WinRate),
        Box::new(ProfitFactor),
        Box::new(Expectancy),
        Box::new(AverageWin),
        Box::new(AverageLoss),
        Box::new(PayoffRatio),
        Box::new(NumberOfTrades),
        Box::new(ExposureTime),
        Box::new(Turnover),
        Box::new(FeesPaid),
        Box::new(StopLossHitRate),
        Box::new(TakeProfitHitRate),
        Box::new(TrailingStopRate),
        Box::new(AverageMae),
        Box::new(AverageMfe),
        Box::new(ProbabilisticSharpeRatio {
            benchmark_sharpe: config.psr_benchmark_sharpe,
        }),
        Box::new(DeflatedSharpeRatio {
            trials: config.trials,
        }),
    ]
}

/// The statistics that read only the trades (not the equity curve), in report order; these
/// are the ones that make sense per symbol or per exit reason.
pub fn trade_statistics() -> Vec<Box<dyn Statistic>> {
    vec![
        Box::new(NumberOfTrades),
        Box::new(WinRate),
        Box::new(ProfitFactor),
        Box::new(Expectancy),
        Box::new(AverageWin),
        Box::new(AverageLoss),
        Box::new(PayoffRatio),
        Box::new(FeesPaid),
        Box::new(StopLossHitRate),
        Box::new(TakeProfitHitRate),
        Box::new(TrailingStopRate),
        Box::new(AverageMae),
        Box::new(AverageMfe),
    ]
}

/// Computes every statistic. Dynamic dispatch is fine here: each statistic runs once per
/// report, not in a hot loop.
pub fn compute_statistics(
    input: &PerformanceInput<'_>,
    config: &StatisticsConfig,
) -> StatisticsReport {
    let values = all_statistics(config)
        .iter()
        .map(|s| {
            (
                s.name().to_string(),
                s.calculate(input).filter(|v| v.is_finite()),
            )
        })
        .collect();
    StatisticsReport {
        annualization: input.annualization(),
        values,
    }
}

/// `Some(x)` if x is finite, else `None`.
pub(crate) fn finite(x: f64) -> Option<f64> {
    // `+ 0.0` turns a negative zero into +0 so reports never print "-0".
    x.is_finite().then_some(x + 0.0)
}

/// Sum starting from +0: std's `Sum for f64` starts from −0, so an empty sum would
/// be `-0.0` in reports.
pub(crate) fn sum(values: impl IntoIterator<Item = f64>) -> f64 {
    values.into_iter().fold(0.0, |acc, x| acc + x)
}

/// `num / den` with the module's convention: `0/0 → Some(0)`, `x/0 → None`.
pub(crate) fn ratio(num: f64, den: f64) -> Option<f64> {
    if den == 0.0 {
        (num == 0.0).then_some(0.0)
    } else {
        finite(num / den)
    }
}

/// Arithmetic mean; `None` for an empty slice.
pub(crate) fn mean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        None
    } else {
        finite(xs.iter().sum::<f64>() / xs.len() as f64)
    }
}

/// Sample standard deviation (ddof = 1): `sqrt(Σ (x − x̄)² / (n − 1))`; `None` if n < 2.
pub(crate) fn sample_std(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs)?;
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    finite((ss / (xs.len() - 1) as f64).sqrt())
}

/// Mean of `f(trade)` over trades; `None` when there are no trades.
pub(crate) fn mean_over_trades(
    trades: &[TradeRecord],
    f: impl Fn(&TradeRecord) -> f64,
) -> Option<f64> {
    if trades.is_empty() {
        return None;
    }
    finite(trades.iter().map(f).sum::<f64>() / trades.len() as f64)
}

/// Share of trades whose exit reason is `reason`; `None` when there are no trades.
pub(crate) fn exit_reason_share(trades: &[TradeRecord], reason: ExitReason) -> Option<f64> {
    mean_over_trades(trades, |t| if t.exit_reason == reason { 1.0 } else { 0.0 })
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::series::MS_PER_DAY;

    /// One bar per UTC day from day 0 with the given equities.
    pub fn daily_curve(initial: f64, equity: &[f64]) -> EquitySeries {
        let ts = (0..equity.len() as i64).map(|d| d * MS_PER_DAY).collect();
        EquitySeries::new(initial, ts, equity.to_vec()).unwrap()
    }

    /// Evaluates `stat` on a daily curve and trades with 252 periods per year.
    pub fn eval(stat: &dyn Statistic, curve: &EquitySeries, trades: &[TradeRecord]) -> Option<f64> {
        let input = PerformanceInput::new(curve, trades, Annualization::TradingDays).unwrap();
        stat.calculate(&input)
    }

    /// The flat curve (100 for 5 days) used by the edge-case tests.
    pub fn flat_curve() -> EquitySeries {
        daily_curve(100.0, &[100.0; 5])
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use crate::trades::fixtures::trade;

    #[test]
    fn empty_sums_and_zero_values_are_positive_zero() {
        assert_eq!(sum(std::iter::empty()).to_bits(), 0.0f64.to_bits());
        assert_eq!(sum([1.5, -1.5]).to_bits(), 0.0f64.to_bits());
        assert_eq!(sum([-0.0]).to_bits(), 0.0f64.to_bits());
        assert_eq!(finite(-0.0).map(f64::to_bits), Some(0.0f64.to_bits()));
        assert_eq!(sum([1.0, 2.5]), 3.5);
    }

    #[test]
    fn names_are_unique_and_complete() {
        let names = statistic_names();
        let mut dedup = names.clone();
        dedup.dedup();
        assert_eq!(names, dedup);
        assert_eq!(names.len(), 27);
    }

    #[test]
    fn no_statistic_leaks_non_finite_values_on_edge_cases() {
        let curves = [
            flat_curve(),
            daily_curve(100.0, &[]),
            daily_curve(100.0, &[101.0]),
            daily_curve(100.0, &[90.0, 80.0, 70.0]),
        ];
        let trade_sets = [
            vec![],
            vec![trade("A", 0, MS, 5.0, ExitReason::TakeProfit)],
            vec![
                trade("A", 0, MS, -5.0, ExitReason::StopLoss),
                trade("B", 0, MS, -1.0, ExitReason::Signal),
            ],
        ];
        const MS: i64 = crate::series::MS_PER_DAY;
        let config = StatisticsConfig {
            trials: Some(SharpeTrials::new(10, 0.01).unwrap()),
            ..StatisticsConfig::default()
        };
        for curve in &curves {
            for trades in &trade_sets {
                let input =
                    PerformanceInput::new(curve, trades, Annualization::CalendarDays).unwrap();
                for stat in all_statistics(&config) {
                    if let Some(v) = stat.calculate(&input) {
                        assert!(v.is_finite(), "{} = {v}", stat.name());
                    }
                }
            }
        }
    }

    #[test]
    fn ratio_convention() {
        assert_eq!(ratio(0.0, 0.0), Some(0.0));
        assert_eq!(ratio(1.0, 0.0), None);
        assert_eq!(ratio(1.0, 4.0), Some(0.25));
    }
}

#[cfg(test)]
mod invariants {
    use proptest::prelude::*;

    use super::test_support::daily_curve;
    use super::*;

    proptest! {
        /// Compounding the derived daily returns reproduces the total return, drawdowns lie
        /// in [0, 1) for positive equity, and the average drawdown never exceeds the maximum.
        #[test]
        fn equity_statistics_are_consistent(equity in prop::collection::vec(1.0f64..1000.0, 0..60)) {
            let curve = daily_curve(100.0, &equity);
            let input = PerformanceInput::new(&curve, &[], Annualization::CalendarDays).unwrap();
            let report = compute_statistics(&input, &StatisticsConfig::default());
            let growth: f64 = input.daily_returns().returns().iter().map(|r| 1.0 + r).product();
            let total = report.values["total_return"].unwrap();
            prop_assert!((growth - 1.0 - total).abs() <= 1e-9 * growth.max(1.0));
            let max_dd = report.values["max_drawdown"].unwrap();
            let avg_dd = report.values["average_drawdown"].unwrap();
            prop_assert!((0.0..1.0).contains(&max_dd));
            prop_assert!(avg_dd <= max_dd + 1e-15);
            if let Some(psr) = report.values["probabilistic_sharpe_ratio"] {
                prop_assert!((0.0..=1.0).contains(&psr));
            }
        }
    }
}
