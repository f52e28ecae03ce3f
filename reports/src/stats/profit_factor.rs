//! Profit factor.

use super::{finite, PerformanceInput, Statistic};

/// Profit factor: `Σ pnl⁺ / |Σ pnl⁻|` (gross profit of winning trades over gross loss of
/// losing trades, net of fees). No trades → `None`; no losing trade → `None` (unbounded,
/// also when every trade broke even); all losses → 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProfitFactor;

impl Statistic for ProfitFactor {
    fn name(&self) -> &'static str {
        "profit_factor"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        let trades = input.trades();
        let gross_profit: f64 = trades.iter().filter(|t| t.pnl > 0.0).map(|t| t.pnl).sum();
        let gross_loss: f64 = trades.iter().filter(|t| t.pnl < 0.0).map(|t| -t.pnl).sum();
        if gross_loss == 0.0 {
            return None;
        }
        finite(gross_profit / gross_loss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;
    use crate::trades::{fixtures::trade, ExitReason::Signal};

    #[test]
    fn profit_factor_edge_cases() {
        let c = flat_curve();
        assert_eq!(eval(&ProfitFactor, &c, &[]), None);
        assert_eq!(
            eval(&ProfitFactor, &c, &[trade("A", 0, 1, 3.0, Signal)]),
            None
        );
        assert_eq!(
            eval(
                &ProfitFactor,
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
            trade("A", 1, 2, 3.0, Signal),
            trade("B", 0, 1, -4.0, Signal),
        ];
        assert_eq!(eval(&ProfitFactor, &c, &mixed), Some(1.5));
    }
}
