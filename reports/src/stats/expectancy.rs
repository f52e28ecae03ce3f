//! Expectancy.

use super::{mean_over_trades, PerformanceInput, Statistic};

/// Expectancy: mean net P&L per trade, `Σ pnl / #trades` (account currency).
/// No trades → `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expectancy;

impl Statistic for Expectancy {
    fn name(&self) -> &'static str {
        "expectancy"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        mean_over_trades(input.trades(), |t| t.pnl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;
    use crate::trades::{fixtures::trade, ExitReason::Signal};

    #[test]
    fn expectancy_edge_cases() {
        let c = flat_curve();
        assert_eq!(eval(&Expectancy, &c, &[]), None);
        assert_eq!(
            eval(&Expectancy, &c, &[trade("A", 0, 1, 3.0, Signal)]),
            Some(3.0)
        );
        assert_eq!(
            eval(
                &Expectancy,
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
