//! Downside risk (annualized downside deviation).

use super::{PerformanceInput, Statistic};

/// Downside risk: `sqrt(mean(min(r, 0)²)) × √P` over all n daily returns (ddof 0, required
/// return 0; empyrical's `downside_risk`). No daily returns → `None`; no negative day → 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct DownsideRisk;

impl DownsideRisk {
    /// Per-period downside deviation `sqrt(mean(min(r, 0)²))`; `None` when `returns` is empty.
    pub fn per_period(returns: &[f64]) -> Option<f64> {
        if returns.is_empty() {
            return None;
        }
        let sum_sq: f64 = returns.iter().map(|r| r.min(0.0) * r.min(0.0)).sum();
        super::finite((sum_sq / returns.len() as f64).sqrt())
    }
}

impl Statistic for DownsideRisk {
    fn name(&self) -> &'static str {
        "downside_risk"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        let dd = Self::per_period(input.daily_returns().returns())?;
        super::finite(dd * input.annualization().periods_per_year().sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;

    #[test]
    fn downside_risk_edge_cases() {
        assert_eq!(eval(&DownsideRisk, &daily_curve(100.0, &[]), &[]), None);
        assert_eq!(eval(&DownsideRisk, &flat_curve(), &[]), Some(0.0));
        // Returns +10%, −10%: sqrt((0 + 0.01) / 2) × √252.
        let v = eval(&DownsideRisk, &daily_curve(100.0, &[110.0, 99.0]), &[]).unwrap();
        assert!((v - 0.005_f64.sqrt() * 252_f64.sqrt()).abs() < 1e-12);
        // All losses −10%, −20%: sqrt((0.01 + 0.04) / 2) × √252.
        let v = eval(&DownsideRisk, &daily_curve(100.0, &[90.0, 72.0]), &[]).unwrap();
        assert!((v - 0.025_f64.sqrt() * 252_f64.sqrt()).abs() < 1e-12);
    }
}
