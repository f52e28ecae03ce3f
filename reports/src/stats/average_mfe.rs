//! Average maximum favourable excursion.

use super::{mean_over_trades, PerformanceInput, Statistic};

/// Average MFE: `Σ mfe / #trades`, MFE a non-negative fraction of the entry price.
/// No trades → `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AverageMfe;

impl Statistic for AverageMfe {
    fn name(&self) -> &'static str {
        "average_mfe"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        mean_over_trades(input.trades(), |t| t.mfe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;
    use crate::trades::{fixtures::trade, ExitReason::Signal};

    #[test]
    fn average_mfe_edge_cases() {
        let c = flat_curve();
        assert_eq!(eval(&AverageMfe, &c, &[]), None);
        let mut a = trade("A", 0, 1, -3.0, Signal);
        assert_eq!(eval(&AverageMfe, &c, std::slice::from_ref(&a)), Some(0.02));
        let b = a.clone();
        a.mfe = 0.04;
        assert!((eval(&AverageMfe, &c, &[a, b]).unwrap() - 0.03).abs() < 1e-15);
    }
}
