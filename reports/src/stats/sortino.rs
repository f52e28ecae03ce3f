//! Sortino ratio.

use super::{mean, ratio, DownsideRisk, PerformanceInput, Statistic};

/// Annualized Sortino ratio: `mean(r) × P / (sqrt(mean(min(r, 0)²)) × √P)` over all daily
/// returns (required return 0; empyrical's `sortino_ratio`). No daily returns → `None`.
/// No negative day: 0 if the mean is 0 (flat equity), else `None` (unbounded).
#[derive(Debug, Clone, Copy, Default)]
pub struct SortinoRatio;

impl Statistic for SortinoRatio {
    fn name(&self) -> &'static str {
        "sortino_ratio"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        let returns = input.daily_returns().returns();
        let p = input.annualization().periods_per_year();
        ratio(
            mean(returns)? * p,
            DownsideRisk::per_period(returns)? * p.sqrt(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;

    #[test]
    fn sortino_edge_cases() {
        assert_eq!(eval(&SortinoRatio, &daily_curve(100.0, &[]), &[]), None);
        assert_eq!(eval(&SortinoRatio, &flat_curve(), &[]), Some(0.0));
        assert_eq!(
            eval(&SortinoRatio, &daily_curve(100.0, &[101.0]), &[]),
            None
        );
        // All losses −10%, −20%: mean −0.15 × 252 / (sqrt((0.01 + 0.04) / 2) × √252).
        let v = eval(&SortinoRatio, &daily_curve(100.0, &[90.0, 72.0]), &[]).unwrap();
        assert!((v - (-0.15 * 252.0 / (0.025_f64.sqrt() * 252_f64.sqrt()))).abs() < 1e-12);
    }
}
