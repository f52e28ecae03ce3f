//! The stop-loss hit rate.

use super::{exit_reason_share, PerformanceInput, Statistic};
use crate::trades::ExitReason;

/// Share of closed trades that exited at their stop-loss:
/// `#{trades with exit_reason == ExitReason::StopLoss} / #trades`. No trades → `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StopLossHitRate;

impl Statistic for StopLossHitRate {
    fn name(&self) -> &'static str {
        "stop_loss_hit_rate"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        exit_reason_share(input.trades(), ExitReason::StopLoss)
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
        assert_eq!(eval(&StopLossHitRate, &c, &[]), None);
        assert_eq!(
            eval(
                &StopLossHitRate,
                &c,
                &[trade("A", 0, 1, -3.0, ExitReason::StopLoss)]
            ),
            Some(1.0)
        );
        let mixed = [
            trade("A", 0, 1, -3.0, ExitReason::StopLoss),
            trade("A", 1, 2, -1.0, ExitReason::Signal),
            trade("B", 1, 2, -1.0, ExitReason::EndOfData),
            trade("B", 2, 3, -2.0, ExitReason::RiskFlatten),
        ];
        assert_eq!(eval(&StopLossHitRate, &c, &mixed), Some(0.25));
    }
}
