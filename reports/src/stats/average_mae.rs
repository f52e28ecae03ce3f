//! Average maximum adverse excursion.

use super::{mean_over_trades, PerformanceInput, Statistic};

/// Average MAE: `Σ mae / #trades`, MAE a non-negative fraction of the entry price.
/// No trades → `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AverageMae;

impl Statistic for AverageMae {
    fn name(&self) -> &'static str {
        "average_mae"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        mean_over_trades(input.trades(), |t| t.mae)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;
    use crate::trades::{fixtures::trade, ExitReason::Signal};

    #[test]
    fn average_mae_edge_cases() {
        let c = flat_curve();
        assert_eq!(eval(&AverageMae, &c, &[]), None);
        let mut a = trade("A", 0, 1, -3.0, Signal);
        assert_eq!(eval(&AverageMae, &c, std::slice::from_ref(&a)), Some(0.01));
        let b = a.clone();
        a.mae = 0.03;
        assert!((eval(&AverageMae, &c, &[a, b]).unwrap() - 0.02).abs() < 1e-15);
    }
}
