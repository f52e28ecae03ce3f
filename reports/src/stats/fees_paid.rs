//! Fees paid.

use super::{finite, PerformanceInput, Statistic};

/// Total fees paid over all closed trades, `Σ fees` (account currency; 0 with no trades).
#[derive(Debug, Clone, Copy, Default)]
pub struct FeesPaid;

impl Statistic for FeesPaid {
    fn name(&self) -> &'static str {
        "fees_paid"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        finite(input.trades().iter().map(|t| t.fees).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;
    use crate::trades::{fixtures::trade, ExitReason::Signal};

    #[test]
    fn fees_paid_edge_cases() {
        let c = flat_curve();
        assert_eq!(eval(&FeesPaid, &c, &[]), Some(0.0));
        assert_eq!(
            eval(&FeesPaid, &c, &[trade("A", 0, 1, 3.0, Signal)]),
            Some(1.0)
        );
        assert_eq!(
            eval(
                &FeesPaid,
                &c,
                &[
                    trade("A", 0, 1, -3.0, Signal),
                    trade("A", 1, 2, -1.0, Signal)
                ]
            ),
            Some(2.0)
        );
    }
}
