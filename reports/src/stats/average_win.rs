//! Average win.

use super::{finite, PerformanceInput, Statistic};

/// Average win: mean pnl of the trades with pnl > 0. No winning trade → `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AverageWin;

impl Statistic for AverageWin {
    fn name(&self) -> &'static str {
        "average_win"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        let (sum, n) = input
            .trades()
            .iter()
            .filter(|t| t.pnl > 0.0)
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
    fn average_win_edge_cases() {
        let c = flat_curve();
        assert_eq!(eval(&AverageWin, &c, &[]), None);
        assert_eq!(
            eval(&AverageWin, &c, &[trade("A", 0, 1, 3.0, Signal)]),
            Some(3.0)
        );
        assert_eq!(
            eval(&AverageWin, &c, &[trade("A", 0, 1, -3.0, Signal)]),
            None
        );
        let mixed = [
            trade("A", 0, 1, 3.0, Signal),
            trade("A", 1, 2, 5.0, Signal),
            trade("B", 0, 1, -4.0, Signal),
        ];
        assert_eq!(eval(&AverageWin, &c, &mixed), Some(4.0));
    }
}
