//! Compound annual growth rate.

use super::{PerformanceInput, Statistic};

/// CAGR: `(E_final / E_initial)^(P / n) − 1`, with n the number of daily returns and P the
/// periods per year of the annualization (empyrical's `annual_return`:
/// `prod(1 + r)^(P / n) − 1`). No daily returns → `None`; equity wiped out
/// (`E_final ≤ 0`) → −1.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cagr;

impl Cagr {
    /// CAGR from a total-return growth factor `1 + R` over `n` periods.
    pub fn from_growth(growth: f64, n: usize, periods_per_year: f64) -> Option<f64> {
        if n == 0 || !growth.is_finite() {
            return None;
        }
        if growth <= 0.0 {
            return Some(-1.0);
        }
        super::finite(growth.powf(periods_per_year / n as f64) - 1.0)
    }
}

impl Statistic for Cagr {
    fn name(&self) -> &'static str {
        "cagr"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        let curve = input.equity();
        Self::from_growth(
            curve.final_equity() / curve.initial_equity(),
            input.daily_returns().returns().len(),
            input.annualization().periods_per_year(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;

    #[test]
    fn cagr_edge_cases() {
        assert_eq!(eval(&Cagr, &daily_curve(100.0, &[]), &[]), None);
        assert_eq!(eval(&Cagr, &flat_curve(), &[]), Some(0.0));
        // 126 days doubling at 252 periods/year: 2^(252/126) − 1 = 3.
        let mut eq = vec![100.0; 125];
        eq.push(200.0);
        let r = eval(&Cagr, &daily_curve(100.0, &eq), &[]).unwrap();
        assert!((r - 3.0).abs() < 1e-12);
        assert_eq!(Cagr::from_growth(0.0, 10, 252.0), Some(-1.0));
        // All losses: 100 → 90 → 81 over 2 days: 0.81^(252/2) − 1.
        let r = eval(&Cagr, &daily_curve(100.0, &[90.0, 81.0]), &[]).unwrap();
        assert!((r - (0.81_f64.powf(126.0) - 1.0)).abs() < 1e-15);
    }
}
