//! Equity curves, the daily returns derived from them, and drawdown episodes.

use serde::{Deserialize, Serialize};

use crate::error::ReportsError;

/// Milliseconds in one UTC day.
pub const MS_PER_DAY: i64 = 86_400_000;

/// Portfolio equity per bar: `ts_ms[i]` is bar i's open time (ms, UTC) and `equity[i]`
/// the marked-to-market equity at that bar's close. `initial_equity` is the capital before
/// the first bar; it is the reference of the first return and a possible drawdown peak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EquitySeries {
    initial_equity: f64,
    ts_ms: Vec<i64>,
    equity: Vec<f64>,
}

impl EquitySeries {
    /// Validates and builds a curve: `initial_equity` finite and > 0, one equity per
    /// timestamp, every equity finite, timestamps strictly increasing. No bars is allowed.
    pub fn new(
        initial_equity: f64,
        ts_ms: Vec<i64>,
        equity: Vec<f64>,
    ) -> Result<Self, ReportsError> {
        if !initial_equity.is_finite() {
            return Err(ReportsError::NonFinite {
                what: "initial equity",
                index: 0,
                value: initial_equity,
            });
        }
        if initial_equity <= 0.0 {
            return Err(ReportsError::NonPositiveEquity {
                what: "initial equity",
                index: 0,
                value: initial_equity,
            });
        }
        if ts_ms.len() != equity.len() {
            return Err(ReportsError::LengthMismatch {
                what: "equity",
                per: "timestamp",
                expected: ts_ms.len(),
                actual: equity.len(),
            });
        }
        if let Some((index, &value)) = equity.iter().enumerate().find(|(_, e)| !e.is_finite()) {
            return Err(ReportsError::NonFinite {
                what: "equity",
                index,
                value,
            });
        }
        if let Some(index) = (1..ts_ms.len()).find(|&i| ts_ms[i] <= ts_ms[i - 1]) {
            return Err(ReportsError::UnsortedTimestamps {
                index,
                ts_ms: ts_ms[index],
                previous_ts_ms: ts_ms[index - 1],
            });
        }
        Ok(Self {
            initial_equity,
            ts_ms,
            equity,
        })
    }

    /// Capital before the first bar.
    pub fn initial_equity(&self) -> f64 {
        self.initial_equity
    }

    /// Bar open times (ms, UTC).
    pub fn ts_ms(&self) -> &[i64] {
        &self.ts_ms
    }

    /// Equity at each bar's close.
    pub fn equity(&self) -> &[f64] {
        &self.equity
    }

    /// Number of bars.
    pub fn len(&self) -> usize {
        self.equity.len()
    }

    /// True when the curve has no bars.
    pub fn is_empty(&self) -> bool {
        self.equity.is_empty()
    }

    /// Equity after the last bar (the initial equity when there are no bars).
    pub fn final_equity(&self) -> f64 {
        self.equity.last().copied().unwrap_or(self.initial_equity)
    }

    /// Simple returns per UTC calendar day.
    ///
    /// Bars are grouped by UTC day (`ts_ms.div_euclid(86_400_000)`); a day's value is the
    /// equity of its last bar. `r_d = E_d / E_{d-1} − 1`, where the reference of the
    /// **first** day is `initial_equity` (not the first bar's equity), so the P&L of the
    /// first day — including the first bar — is kept. Days without bars produce no return
    /// (they are not filled with zeros). Errors if a reference equity is ≤ 0.
    pub fn daily_returns(&self) -> Result<DailyReturns, ReportsError> {
        let mut days = Vec::new();
        let mut returns = Vec::new();
        let mut reference = self.initial_equity;
        let mut reference_index = 0;
        let mut i = 0;
        while i < self.ts_ms.len() {
            let day = self.ts_ms[i].div_euclid(MS_PER_DAY);
            let mut last = i;
            while last + 1 < self.ts_ms.len() && self.ts_ms[last + 1].div_euclid(MS_PER_DAY) == day
            {
                last += 1;
            }
            if reference <= 0.0 {
                return Err(ReportsError::NonPositiveEquity {
                    what: "equity (reference of a daily return)",
                    index: reference_index,
                    value: reference,
                });
            }
            days.push(day);
            returns.push(self.equity[last] / reference - 1.0);
            reference = self.equity[last];
            reference_index = last;
            i = last + 1;
        }
        Ok(DailyReturns { days, returns })
    }

    /// Drawdown episodes over `[initial_equity, equity...]`; see [`DrawdownEpisode`].
    ///
    /// A peak is the running maximum `M_t = max_{s≤t} E_s` (the initial equity included, at
    /// the first bar's time). An episode starts when `E_t < M_t` and ends at the first bar
    /// with `E_t ≥ M` (recovery); depth = `max (M − E_t) / M` over the episode.
    pub fn drawdown_episodes(&self) -> Vec<DrawdownEpisode> {
        let mut episodes = Vec::new();
        let Some(&first_ts) = self.ts_ms.first() else {
            return episodes;
        };
        let mut peak = self.initial_equity;
        let mut peak_ts = first_ts;
        let mut open: Option<DrawdownEpisode> = None;
        for (&ts, &e) in self.ts_ms.iter().zip(&self.equity) {
            if e >= peak {
                if let Some(mut episode) = open.take() {
                    episode.recovery_ts_ms = Some(ts);
                    episodes.push(episode);
                }
                peak = e;
                peak_ts = ts;
            } else {
                let depth = (peak - e) / peak;
                let episode = open.get_or_insert(DrawdownEpisode {
                    peak_ts_ms: peak_ts,
                    trough_ts_ms: ts,
                    recovery_ts_ms: None,
                    depth,
                });
                if depth > episode.depth {
                    episode.depth = depth;
                    episode.trough_ts_ms = ts;
                }
            }
        }
        episodes.extend(open);
        episodes
    }
}

/// One drawdown: from a peak, through its trough, to recovery (or the end of the data).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DrawdownEpisode {
    /// Time of the peak (the first bar's time when the peak is the initial equity).
    pub peak_ts_ms: i64,
    /// Time of the deepest point.
    pub trough_ts_ms: i64,
    /// First bar back at or above the peak; `None` if not recovered by the end.
    pub recovery_ts_ms: Option<i64>,
    /// Depth as a positive fraction of the peak: `(peak − trough) / peak`.
    pub depth: f64,
}

impl DrawdownEpisode {
    /// Duration in ms: recovery (or `end_ts_ms` if unrecovered) minus the peak time.
    pub fn duration_ms(&self, end_ts_ms: i64) -> i64 {
        self.recovery_ts_ms.unwrap_or(end_ts_ms) - self.peak_ts_ms
    }
}

/// Simple daily returns, with the UTC day number (days since 1970-01-01) of each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyReturns {
    days: Vec<i64>,
    returns: Vec<f64>,
}

impl DailyReturns {
    /// Builds from given returns (e.g. a reference series); day numbers must be strictly
    /// increasing and returns finite.
    pub fn new(days: Vec<i64>, returns: Vec<f64>) -> Result<Self, ReportsError> {
        if days.len() != returns.len() {
            return Err(ReportsError::LengthMismatch {
                what: "daily returns",
                per: "day",
                expected: days.len(),
                actual: returns.len(),
            });
        }
        if let Some((index, &value)) = returns.iter().enumerate().find(|(_, r)| !r.is_finite()) {
            return Err(ReportsError::NonFinite {
                what: "daily return",
                index,
                value,
            });
        }
        if let Some(index) = (1..days.len()).find(|&i| days[i] <= days[i - 1]) {
            return Err(ReportsError::UnsortedTimestamps {
                index,
                ts_ms: days[index] * MS_PER_DAY,
                previous_ts_ms: days[index - 1] * MS_PER_DAY,
            });
        }
        Ok(Self { days, returns })
    }

    /// UTC day numbers.
    pub fn days(&self) -> &[i64] {
        &self.days
    }

    /// The returns, in day order.
    pub fn returns(&self) -> &[f64] {
        &self.returns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    #[test]
    fn daily_returns_use_initial_equity_as_first_reference() {
        // Day 0: bars at 00:00 and 12:00 (last equity 110), day 1: one bar (99), day 3: 99.
        let curve = EquitySeries::new(
            100.0,
            vec![0, 12 * H, MS_PER_DAY, 3 * MS_PER_DAY + H],
            vec![105.0, 110.0, 99.0, 99.0],
        )
        .unwrap();
        let daily = curve.daily_returns().unwrap();
        assert_eq!(daily.days(), &[0, 1, 3]);
        let r = daily.returns();
        assert!((r[0] - 0.10).abs() < 1e-15);
        assert!((r[1] - (99.0 / 110.0 - 1.0)).abs() < 1e-15);
        assert_eq!(r[2], 0.0);
    }

    #[test]
    fn days_before_epoch_group_correctly() {
        let curve =
            EquitySeries::new(100.0, vec![-2 * H, -H, 0], vec![101.0, 102.0, 103.0]).unwrap();
        let daily = curve.daily_returns().unwrap();
        assert_eq!(daily.days(), &[-1, 0]);
    }

    #[test]
    fn rejects_bad_curves() {
        assert!(matches!(
            EquitySeries::new(0.0, vec![], vec![]),
            Err(ReportsError::NonPositiveEquity { .. })
        ));
        assert!(matches!(
            EquitySeries::new(1.0, vec![0, 0], vec![1.0, 1.0]),
            Err(ReportsError::UnsortedTimestamps { index: 1, .. })
        ));
        assert!(matches!(
            EquitySeries::new(1.0, vec![0, 1], vec![1.0, f64::NAN]),
            Err(ReportsError::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            EquitySeries::new(1.0, vec![0], vec![1.0, 2.0]),
            Err(ReportsError::LengthMismatch { .. })
        ));
        let wiped = EquitySeries::new(1.0, vec![0, MS_PER_DAY], vec![0.0, 1.0]).unwrap();
        assert!(matches!(
            wiped.daily_returns(),
            Err(ReportsError::NonPositiveEquity { index: 0, .. })
        ));
    }

    #[test]
    fn drawdown_episodes_track_peak_trough_recovery() {
        let curve = EquitySeries::new(
            100.0,
            vec![0, 1, 2, 3, 4, 5],
            vec![90.0, 80.0, 100.0, 120.0, 108.0, 110.0],
        )
        .unwrap();
        let episodes = curve.drawdown_episodes();
        assert_eq!(episodes.len(), 2);
        assert_eq!(episodes[0].peak_ts_ms, 0);
        assert_eq!(episodes[0].trough_ts_ms, 1);
        assert_eq!(episodes[0].recovery_ts_ms, Some(2));
        assert!((episodes[0].depth - 0.2).abs() < 1e-15);
        assert_eq!(episodes[1].peak_ts_ms, 3);
        assert_eq!(episodes[1].recovery_ts_ms, None);
        assert!((episodes[1].depth - 0.1).abs() < 1e-15);
        assert_eq!(episodes[1].duration_ms(5), 2);
    }

    #[test]
    fn daily_returns_from_a_reference_series() {
        let daily = DailyReturns::new(vec![3, 4], vec![0.01, -0.02]).unwrap();
        assert_eq!(daily.returns(), &[0.01, -0.02]);
        assert!(DailyReturns::new(vec![4, 3], vec![0.01, -0.02]).is_err());
        assert!(DailyReturns::new(vec![3], vec![f64::NAN]).is_err());
        assert!(DailyReturns::new(vec![3], vec![]).is_err());
    }
}
