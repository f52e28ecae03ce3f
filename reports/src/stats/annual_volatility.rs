//! Annualized volatility.

use super::{sample_std, PerformanceInput, Statistic};

/// Annualized volatility: `std(r, ddof = 1) × √P` over daily returns r (empyrical's
/// `annual_volatility`). Fewer than 2 daily returns → `None`; flat equity → 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnnualVolatility;

impl Statistic for AnnualVolatility {
    fn name(&self) -> &'static str {
        "annual_volatility"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        let std = sample_std(input.daily_returns().returns())?;
        super::finite(std * input.annualization().periods_per_year().sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;

    #[test]
    fn annual_volatility_edge_cases() {
        assert_eq!(
            eval(&AnnualVolatility, &daily_curve(100.0, &[101.0]), &[]),
            None
        );
        assert_eq!(eval(&AnnualVolatility, &flat_curve(), &[]), Some(0.0));
        // Returns +10%, −10%: mean 0, sample std = sqrt(0.02 / 1) = 0.141421..., × √252.
        let v = eval(&AnnualVolatility, &daily_curve(100.0, &[110.0, 99.0]), &[]).unwrap();
        assert!((v - 0.02_f64.sqrt() * 252_f64.sqrt()).abs() < 1e-12);
        // All losses −10%, −20%: sample std = sqrt(0.005).
        let v = eval(&AnnualVolatility, &daily_curve(100.0, &[90.0, 72.0]), &[]).unwrap();
        assert!((v - 0.005_f64.sqrt() * 252_f64.sqrt()).abs() < 1e-12);
    }
}
