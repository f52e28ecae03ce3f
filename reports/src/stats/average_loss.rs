//! Average loss.

use super::{finite, PerformanceInput, Statistic};

/// Average loss: mean pnl of the trades with pnl < 0 (a negative number).
/// No losing trade → `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AverageLoss;

impl Statistic for AverageLoss {
    fn name(&self) -> &'static str {
        "average_loss"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        let (sum, n) = input
            .trades()
            .iter()
            .filter(|t| t.pnl < 0.0)
            .fold((0.0, 0usize), |(s, n), t| (s + t.pnl, n + 1));
        if n == 0 {
            return None;
        }
        finite(sum / n as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;
    use crate::trades::{fixtures::trade, ExitReason::Signal};

    #[test]
    fn average_loss_edge_cases() {
        let c = flat_curve();
        assert_eq!(eval(&AverageLoss, &c, &[]), None);
        assert_eq!(
            eval(&AverageLoss, &c, &[trade("A", 0, 1, 3.0, Signal)]),
            None
        );
        assert_eq!(
            eval(
                &AverageLoss,
                &c,
                &[
                    trade("A", 0, 1, -3.0, Signal),
                    trade("A", 1, 2, -1.0, Signal)
                ]
            ),
            Some(-2.0)
        );
    }
}
