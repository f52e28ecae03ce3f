//! Total return.

use super::{finite, PerformanceInput, Statistic};

/// Total return over the run: `E_final / E_initial − 1`, where `E_initial` is the capital
/// before the first bar. No bars → 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct TotalReturn;

impl Statistic for TotalReturn {
    fn name(&self) -> &'static str {
        "total_return"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        let curve = input.equity();
        finite(curve.final_equity() / curve.initial_equity() - 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;

    #[test]
    fn total_return_edge_cases() {
        assert_eq!(eval(&TotalReturn, &daily_curve(100.0, &[]), &[]), Some(0.0));
        assert_eq!(eval(&TotalReturn, &flat_curve(), &[]), Some(0.0));
        let r = eval(&TotalReturn, &daily_curve(100.0, &[90.0, 125.0]), &[]).unwrap();
        assert!((r - 0.25).abs() < 1e-15);
        let r = eval(&TotalReturn, &daily_curve(100.0, &[90.0, 50.0]), &[]).unwrap();
        assert!((r + 0.5).abs() < 1e-15);
    }
}
