//! The closed-trade record the statistics read. The engine's `Trade` converts into it, so
//! the statistics do not depend on the engine's internal representation; the exit
//! reason is the engine's own [`ExitReason`].

use serde::{Deserialize, Serialize};

use crate::error::ReportsError;

pub use gauntlet_engine::ExitReason;

/// One closed trade (a round trip: entry to exit of one position).
///
/// * `pnl` — net P&L in account currency **after** fees;
/// * `return_pct` — `pnl / entry_notional` as a fraction (0.01 = 1%);
/// * `fees` — all fees paid on entry and exit (≥ 0);
/// * `entry_notional`, `exit_notional` — |quantity| × fill price at entry / exit (≥ 0);
/// * `mae`, `mfe` — maximum adverse / favourable excursion while open, as non-negative
///   fractions of the entry price (0.02 = the price moved 2% against / in favour);
/// * the position is open during bars with `entry_ts_ms ≤ ts < exit_ts_ms` (bar open times;
///   a trade entered and closed within one bar occupies that bar).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradeRecord {
    /// Instrument symbol.
    pub symbol: String,
    /// Entry bar open time (ms, UTC).
    pub entry_ts_ms: i64,
    /// Exit bar open time (ms, UTC).
    pub exit_ts_ms: i64,
    /// Number of bars the position was held.
    pub bars_held: u32,
    /// Net P&L after fees.
    pub pnl: f64,
    /// Net return on the entry notional, as a fraction.
    pub return_pct: f64,
    /// Fees paid (entry + exit).
    pub fees: f64,
    /// |quantity| × entry price.
    pub entry_notional: f64,
    /// |quantity| × exit price.
    pub exit_notional: f64,
    /// Why the position was closed.
    pub exit_reason: ExitReason,
    /// Maximum adverse excursion, fraction of the entry price (≥ 0).
    pub mae: f64,
    /// Maximum favourable excursion, fraction of the entry price (≥ 0).
    pub mfe: f64,
}

impl TradeRecord {
    /// Checks one record: numbers finite, fees/notionals/MAE/MFE ≥ 0, exit not before entry.
    /// `index` is the record's position, used in the error.
    pub fn validate(&self, index: usize) -> Result<(), ReportsError> {
        let finite = [
            ("trade pnl", self.pnl),
            ("trade return_pct", self.return_pct),
            ("trade fees", self.fees),
            ("trade entry_notional", self.entry_notional),
            ("trade exit_notional", self.exit_notional),
            ("trade mae", self.mae),
            ("trade mfe", self.mfe),
        ];
        for (what, value) in finite {
            if !value.is_finite() {
                return Err(ReportsError::NonFinite { what, index, value });
            }
        }
        let non_negative = [
            ("trade fees", self.fees),
            ("trade entry_notional", self.entry_notional),
            ("trade exit_notional", self.exit_notional),
            ("trade mae", self.mae),
            ("trade mfe", self.mfe),
        ];
        for (what, value) in non_negative {
            if value < 0.0 {
                return Err(ReportsError::OutOfRange {
                    what,
                    index,
                    value,
                    expected: "[0, inf)",
                });
            }
        }
        if self.exit_ts_ms < self.entry_ts_ms {
            return Err(ReportsError::UnsortedTimestamps {
                index,
                ts_ms: self.exit_ts_ms,
                previous_ts_ms: self.entry_ts_ms,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// A trade with the given P&L and exit reason; other fields are plausible constants.
    pub fn trade(
        symbol: &str,
        entry_ts_ms: i64,
        exit_ts_ms: i64,
        pnl: f64,
        reason: ExitReason,
    ) -> TradeRecord {
        TradeRecord {
            symbol: symbol.to_string(),
            entry_ts_ms,
            exit_ts_ms,
            bars_held: 1,
            pnl,
            return_pct: pnl / 1000.0,
            fees: 1.0,
            entry_notional: 1000.0,
            exit_notional: 1000.0 + pnl,
            exit_reason: reason,
            mae: 0.01,
            mfe: 0.02,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::trade;
    use super::*;

    #[test]
    fn validation_names_the_bad_field() {
        let mut t = trade("BTC", 0, 1, 5.0, ExitReason::Signal);
        assert!(t.validate(0).is_ok());
        t.fees = -1.0;
        assert_eq!(
            t.validate(3),
            Err(ReportsError::OutOfRange {
                what: "trade fees",
                index: 3,
                value: -1.0,
                expected: "[0, inf)"
            })
        );
        let mut t = trade("BTC", 5, 1, 5.0, ExitReason::Signal);
        assert!(matches!(
            t.validate(0),
            Err(ReportsError::UnsortedTimestamps { .. })
        ));
        t.exit_ts_ms = 5;
        t.pnl = f64::INFINITY;
        assert!(matches!(
            t.validate(0),
            Err(ReportsError::NonFinite {
                what: "trade pnl",
                ..
            })
        ));
    }

    #[test]
    fn exit_reason_names_match_serde() {
        for reason in ExitReason::ALL {
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(json, format!("\"{}\"", reason.as_str()));
        }
    }
}
