//! The take-profit hit rate.

use super::{exit_reason_share, PerformanceInput, Statistic};
use crate::trades::ExitReason;

/// Share of closed trades that exited at their take-profit:
/// `#{trades with exit_reason == ExitReason::TakeProfit} / #trades`. No trades → `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TakeProfitHitRate;

impl Statistic for TakeProfitHitRate {
    fn name(&self) -> &'static str {
        "take_profit_hit_rate"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        exit_reason_share(input.trades(), ExitReason::TakeProfit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;
    use crate::trades::fixtures::trade;

    #[test]
    fn rate_edge_cases() {
        let c = flat_curve();
        assert_eq!(eval(&TakeProfitHitRate, &c, &[]), None);
        assert_eq!(
            eval(
                &TakeProfitHitRate,
                &c,
                &[trade("A", 0, 1, -3.0, ExitReason::TakeProfit)]
            ),
            Some(1.0)
        );
        let mixed = [
            trade("A", 0, 1, -3.0, ExitReason::TakeProfit),
            trade("A", 1, 2, -1.0, ExitReason::Signal),
            trade("B", 1, 2, -1.0, ExitReason::EndOfData),
            trade("B", 2, 3, -2.0, ExitReason::RiskFlatten),
        ];
        assert_eq!(eval(&TakeProfitHitRate, &c, &mixed), Some(0.25));
    }
}
