//! Number of trades.

use super::{PerformanceInput, Statistic};

/// Number of closed trades, `#trades` (0 when there are none).
#[derive(Debug, Clone, Copy, Default)]
pub struct NumberOfTrades;

impl Statistic for NumberOfTrades {
    fn name(&self) -> &'static str {
        "number_of_trades"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        Some(input.trades().len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;
    use crate::trades::{fixtures::trade, ExitReason::Signal};

    #[test]
    fn number_of_trades_edge_cases() {
        let c = flat_curve();
        assert_eq!(eval(&NumberOfTrades, &c, &[]), Some(0.0));
        assert_eq!(
            eval(&NumberOfTrades, &c, &[trade("A", 0, 1, 3.0, Signal)]),
            Some(1.0)
        );
    }
}
