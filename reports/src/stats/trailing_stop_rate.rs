//! The trailing-stop rate.

use super::{exit_reason_share, PerformanceInput, Statistic};
use crate::trades::ExitReason;

/// Share of closed trades that exited at their trailing stop:
/// `#{trades with exit_reason == ExitReason::TrailingStop} / #trades`. No trades → `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrailingStopRate;

impl Statistic for TrailingStopRate {
    fn name(&self) -> &'static str {
        "trailing_stop_rate"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        exit_reason_share(input.trades(), ExitReason::TrailingStop)
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
        assert_eq!(eval(&TrailingStopRate, &c, &[]), None);
        assert_eq!(
            eval(
                &TrailingStopRate,
                &c,
                &[trade("A", 0, 1, -3.0, ExitReason::TrailingStop)]
            ),
            Some(1.0)
        );
        let mixed = [
            trade("A", 0, 1, -3.0, ExitReason::TrailingStop),
            trade("A", 1, 2, -1.0, ExitReason::Signal),
            trade("B", 1, 2, -1.0, ExitReason::EndOfData),
            trade("B", 2, 3, -2.0, ExitReason::RiskFlatten),
        ];
        assert_eq!(eval(&TrailingStopRate, &c, &mixed), Some(0.25));
    }
}
