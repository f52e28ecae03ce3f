//! Payoff ratio.

use super::{finite, AverageLoss, AverageWin, PerformanceInput, Statistic};

/// Payoff ratio: `average_win / |average_loss|`. `None` when there is no winning or no
/// losing trade.
#[derive(Debug, Clone, Copy, Default)]
pub struct PayoffRatio;

impl Statistic for PayoffRatio {
    fn name(&self) -> &'static str {
        "payoff_ratio"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        finite(AverageWin.calculate(input)? / AverageLoss.calculate(input)?.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;
    use crate::trades::{fixtures::trade, ExitReason::Signal};

    #[test]
    fn payoff_ratio_edge_cases() {
        let c = flat_curve();
        assert_eq!(eval(&PayoffRatio, &c, &[]), None);
        assert_eq!(
            eval(&PayoffRatio, &c, &[trade("A", 0, 1, 3.0, Signal)]),
            None
        );
        assert_eq!(
            eval(&PayoffRatio, &c, &[trade("A", 0, 1, -3.0, Signal)]),
            None
        );
        let mixed = [
            trade("A", 0, 1, 3.0, Signal),
            trade("A", 1, 2, 5.0, Signal),
            trade("B", 0, 1, -2.0, Signal),
        ];
        assert_eq!(eval(&PayoffRatio, &c, &mixed), Some(2.0));
    }
}
