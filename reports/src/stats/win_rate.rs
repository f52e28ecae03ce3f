//! Win rate.

use super::{mean_over_trades, PerformanceInput, Statistic};

/// Win rate: `#{trades with pnl > 0} / #trades` (pnl net of fees; a break-even trade is not
/// a win but counts in the denominator). No trades → `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct WinRate;

impl Statistic for WinRate {
    fn name(&self) -> &'static str {
        "win_rate"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        mean_over_trades(input.trades(), |t| if t.pnl > 0.0 { 1.0 } else { 0.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;
    use crate::trades::{fixtures::trade, ExitReason::Signal};

    #[test]
    fn win_rate_edge_cases() {
        let c = flat_curve();
        assert_eq!(eval(&WinRate, &c, &[]), None);
        assert_eq!(
            eval(&WinRate, &c, &[trade("A", 0, 1, 3.0, Signal)]),
            Some(1.0)
        );
        assert_eq!(
            eval(
                &WinRate,
                &c,
                &[
                    trade("A", 0, 1, -3.0, Signal),
                    trade("A", 1, 2, -1.0, Signal)
                ]
            ),
            Some(0.0)
        );
        let mixed = [
            trade("A", 0, 1, 3.0, Signal),
            trade("A", 1, 2, 0.0, Signal),
            trade("B", 0, 1, -1.0, Signal),
            trade("B", 1, 2, 2.0, Signal),
        ];
        assert_eq!(eval(&WinRate, &c, &mixed), Some(0.5));
    }
}
