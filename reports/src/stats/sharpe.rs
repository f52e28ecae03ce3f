//! Sharpe ratio.

use super::{mean, ratio, sample_std, PerformanceInput, Statistic};

/// Annualized Sharpe ratio: `mean(r − rf) / std(r − rf, ddof = 1) × √P` over daily returns r,
/// rf the risk-free return per period (empyrical's `sharpe_ratio`).
/// Fewer than 2 daily returns → `None`. Zero std (flat equity): 0 if the mean excess
/// return is 0, else `None` (unbounded).
#[derive(Debug, Clone, Copy, Default)]
pub struct SharpeRatio {
    /// Risk-free return per period subtracted from every daily return.
    pub risk_free_per_period: f64,
}

impl SharpeRatio {
    /// Per-period (not annualized) Sharpe ratio `mean(r − rf) / std(r − rf, ddof = 1)`.
    pub fn per_period(returns: &[f64], risk_free_per_period: f64) -> Option<f64> {
        let excess: Vec<f64> = returns.iter().map(|r| r - risk_free_per_period).collect();
        ratio(mean(&excess)?, sample_std(&excess)?)
    }
}

impl Statistic for SharpeRatio {
    fn name(&self) -> &'static str {
        "sharpe_ratio"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        let sr = Self::per_period(input.daily_returns().returns(), self.risk_free_per_period)?;
        super::finite(sr * input.annualization().periods_per_year().sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;

    #[test]
    fn sharpe_edge_cases() {
        let sharpe = SharpeRatio::default();
        assert_eq!(eval(&sharpe, &daily_curve(100.0, &[101.0]), &[]), None);
        assert_eq!(eval(&sharpe, &flat_curve(), &[]), Some(0.0));
        // Constant +1% per day: zero std, positive mean → unbounded → None.
        assert_eq!(
            eval(
                &sharpe,
                &daily_curve(100.0, &[101.0, 102.01, 103.0301]),
                &[]
            ),
            None
        );
        // All losses: −10%, −20% → mean −0.15, std sqrt(0.005), × √252.
        let v = eval(&sharpe, &daily_curve(100.0, &[90.0, 72.0]), &[]).unwrap();
        assert!((v - (-0.15 / 0.005_f64.sqrt() * 252_f64.sqrt())).abs() < 1e-12);
    }
}
