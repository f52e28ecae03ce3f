//! Maximum drawdown (depth).

use super::{PerformanceInput, Statistic};

/// Maximum drawdown as a positive fraction: `max_t (M_t − E_t) / M_t` with
/// `M_t = max_{s ≤ t} E_s` over `[E_initial, E_0 … E_{n−1}]` (the initial capital is a
/// possible peak). Equals `−empyrical.max_drawdown` on `W = cumprod(1 + r)`. No bars or a
/// curve that never falls below its peak → 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct MaxDrawdown;

impl Statistic for MaxDrawdown {
    fn name(&self) -> &'static str {
        "max_drawdown"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        let mut peak = input.equity().initial_equity();
        let mut max_dd: f64 = 0.0;
        for &e in input.equity().equity() {
            peak = peak.max(e);
            max_dd = max_dd.max((peak - e) / peak);
        }
        super::finite(max_dd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;

    #[test]
    fn max_drawdown_edge_cases() {
        assert_eq!(eval(&MaxDrawdown, &daily_curve(100.0, &[]), &[]), Some(0.0));
        assert_eq!(eval(&MaxDrawdown, &flat_curve(), &[]), Some(0.0));
        // The initial capital is the peak: 100 → 90 is a 10% drawdown.
        let v = eval(
            &MaxDrawdown,
            &daily_curve(100.0, &[90.0, 120.0, 96.0, 130.0]),
            &[],
        )
        .unwrap();
        assert!((v - 0.2).abs() < 1e-15);
        let v = eval(&MaxDrawdown, &daily_curve(100.0, &[90.0, 80.0, 70.0]), &[]).unwrap();
        assert!((v - 0.3).abs() < 1e-15);
    }
}
