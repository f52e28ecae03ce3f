//! Calmar ratio.

use super::{ratio, Cagr, MaxDrawdown, PerformanceInput, Statistic};

/// Calmar ratio: `CAGR / max_drawdown` (both as defined in their files; empyrical's
/// `calmar_ratio` = annual_return / |max_drawdown|). `None` when CAGR is undefined; zero
/// drawdown: 0 if CAGR is 0, else `None` (unbounded).
#[derive(Debug, Clone, Copy, Default)]
pub struct CalmarRatio;

impl Statistic for CalmarRatio {
    fn name(&self) -> &'static str {
        "calmar_ratio"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        ratio(Cagr.calculate(input)?, MaxDrawdown.calculate(input)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;

    #[test]
    fn calmar_edge_cases() {
        assert_eq!(eval(&CalmarRatio, &daily_curve(100.0, &[]), &[]), None);
        assert_eq!(eval(&CalmarRatio, &flat_curve(), &[]), Some(0.0));
        assert_eq!(eval(&CalmarRatio, &daily_curve(100.0, &[110.0]), &[]), None);
        // All losses: 2 days to 81: CAGR = 0.81^(252/2) − 1, max drawdown 0.19.
        let v = eval(&CalmarRatio, &daily_curve(100.0, &[90.0, 81.0]), &[]).unwrap();
        assert!((v - (0.81_f64.powf(126.0) - 1.0) / 0.19).abs() < 1e-12);
    }
}
