//! Exposure time.

use super::{PerformanceInput, Statistic};

/// Exposure time: share of bars during which at least one position was open,
/// `#{bars i : ∃ trade, entry_ts ≤ ts_i < max(exit_ts, entry_ts + 1)} / #bars`
/// (half-open holding interval; a trade opened and closed in one bar occupies that bar).
/// No bars → `None`; no trades → 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExposureTime;

impl Statistic for ExposureTime {
    fn name(&self) -> &'static str {
        "exposure_time"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        let bars = input.equity().ts_ms();
        if bars.is_empty() {
            return None;
        }
        let mut intervals: Vec<(i64, i64)> = input
            .trades()
            .iter()
            .map(|t| {
                (
                    t.entry_ts_ms,
                    t.exit_ts_ms.max(t.entry_ts_ms.saturating_add(1)),
                )
            })
            .collect();
        intervals.sort_unstable();
        // Sweep bars in time order; `covered_until` is the furthest end of every interval
        // that has started, so a bar is exposed iff it lies before it.
        let mut next = 0;
        let mut covered_until = i64::MIN;
        let mut exposed = 0usize;
        for &ts in bars {
            while next < intervals.len() && intervals[next].0 <= ts {
                covered_until = covered_until.max(intervals[next].1);
                next += 1;
            }
            if ts < covered_until {
                exposed += 1;
            }
        }
        Some(exposed as f64 / bars.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::MS_PER_DAY as D;
    use crate::stats::test_support::*;
    use crate::trades::{fixtures::trade, ExitReason::Signal};

    #[test]
    fn exposure_time_edge_cases() {
        let c = flat_curve(); // bars at days 0..5
        assert_eq!(eval(&ExposureTime, &daily_curve(100.0, &[]), &[]), None);
        assert_eq!(eval(&ExposureTime, &c, &[]), Some(0.0));
        // Held during days 1 and 2 (exit at day 3's open).
        assert_eq!(
            eval(&ExposureTime, &c, &[trade("A", D, 3 * D, 1.0, Signal)]),
            Some(0.4)
        );
        // Overlapping trades on two symbols count each bar once; a same-bar trade counts its bar.
        let trades = [
            trade("A", D, 3 * D, 1.0, Signal),
            trade("B", 2 * D, 4 * D, 1.0, Signal),
            trade("A", 0, 0, -1.0, Signal),
        ];
        assert_eq!(eval(&ExposureTime, &c, &trades), Some(0.8));
    }
}
