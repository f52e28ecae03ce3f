//! How per-period (daily) statistics are scaled to a year. The choice travels with every
//! annualized number so a report always states which convention produced it.

use serde::{Deserialize, Serialize};

use crate::error::ReportsError;

/// Number of return periods (days) per year used to annualize daily statistics.
///
/// * `TradingDays` — 252, for markets that close on weekends and holidays;
/// * `CalendarDays` — 365, for 24/7 markets (crypto);
/// * `Custom(p)` — any other positive, finite number of periods per year.
///
/// Annualized mean = mean × P, annualized volatility = std × √P, annualized Sharpe = per-period
/// Sharpe × √P, CAGR = (1 + total return)^(P / n) − 1 with n daily returns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "periods_per_year")]
pub enum Annualization {
    /// 252 periods per year.
    TradingDays,
    /// 365 periods per year.
    CalendarDays,
    /// A custom number of periods per year (validated by [`Annualization::custom`]).
    Custom(f64),
}

impl Annualization {
    /// A custom annualization; `periods_per_year` must be finite and > 0.
    pub fn custom(periods_per_year: f64) -> Result<Self, ReportsError> {
        if periods_per_year.is_finite() && periods_per_year > 0.0 {
            Ok(Self::Custom(periods_per_year))
        } else {
            Err(ReportsError::InvalidParameter {
                parameter: "periods_per_year",
                reason: format!("{periods_per_year} is not a finite number > 0"),
            })
        }
    }

    /// Periods per year P.
    pub fn periods_per_year(self) -> f64 {
        match self {
            Self::TradingDays => 252.0,
            Self::CalendarDays => 365.0,
            Self::Custom(p) => p,
        }
    }

    /// A one-line statement for reports, e.g. `"daily returns, 252 periods/year"`.
    pub fn describe(self) -> String {
        format!("daily returns, {} periods/year", self.periods_per_year())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_per_year_and_validation() {
        assert_eq!(Annualization::TradingDays.periods_per_year(), 252.0);
        assert_eq!(Annualization::CalendarDays.periods_per_year(), 365.0);
        assert_eq!(
            Annualization::custom(52.0).unwrap().periods_per_year(),
            52.0
        );
        assert!(Annualization::custom(0.0).is_err());
        assert!(Annualization::custom(f64::NAN).is_err());
        assert_eq!(
            Annualization::CalendarDays.describe(),
            "daily returns, 365 periods/year"
        );
    }
}
