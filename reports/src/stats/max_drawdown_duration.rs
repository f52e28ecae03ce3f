//! Maximum drawdown duration.

use super::{PerformanceInput, Statistic};
use crate::series::MS_PER_DAY;

/// Longest drawdown, in days: `max over episodes (recovery_ts − peak_ts) / 86 400 000`,
/// where an unrecovered episode ends at the last bar's time (see
/// [`crate::series::EquitySeries::drawdown_episodes`]). No drawdown → 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct MaxDrawdownDurationDays;

impl Statistic for MaxDrawdownDurationDays {
    fn name(&self) -> &'static str {
        "max_drawdown_duration_days"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        let curve = input.equity();
        let end = curve.ts_ms().last().copied().unwrap_or(0);
        let longest_ms = curve
            .drawdown_episodes()
            .iter()
            .map(|ep| ep.duration_ms(end))
            .max()
            .unwrap_or(0);
        Some(longest_ms as f64 / MS_PER_DAY as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;

    #[test]
    fn drawdown_duration_edge_cases() {
        assert_eq!(
            eval(&MaxDrawdownDurationDays, &daily_curve(100.0, &[]), &[]),
            Some(0.0)
        );
        assert_eq!(
            eval(&MaxDrawdownDurationDays, &flat_curve(), &[]),
            Some(0.0)
        );
        // Peak day 1 (120), below until day 4 (130): 3 days; the first dip lasts 1 day.
        let curve = daily_curve(100.0, &[90.0, 120.0, 96.0, 100.0, 130.0]);
        assert_eq!(eval(&MaxDrawdownDurationDays, &curve, &[]), Some(3.0));
        // Never recovered: from the initial peak (day 0) to the last bar (day 2).
        let curve = daily_curve(100.0, &[90.0, 80.0, 70.0]);
        assert_eq!(eval(&MaxDrawdownDurationDays, &curve, &[]), Some(2.0));
    }
}
