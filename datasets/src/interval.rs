//! Bar intervals.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The length of one bar. Parses and prints as `1m 5m 15m 1h 4h 1d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Interval {
    M1,
    M5,
    M15,
    H1,
    H4,
    D1,
}

impl Interval {
    /// Every supported interval, shortest first.
    pub const ALL: [Interval; 6] = [
        Interval::M1,
        Interval::M5,
        Interval::M15,
        Interval::H1,
        Interval::H4,
        Interval::D1,
    ];

    /// Length of one bar in milliseconds.
    pub const fn millis(self) -> i64 {
        const MINUTE: i64 = 60_000;
        match self {
            Interval::M1 => MINUTE,
            Interval::M5 => 5 * MINUTE,
            Interval::M15 => 15 * MINUTE,
            Interval::H1 => 60 * MINUTE,
            Interval::H4 => 240 * MINUTE,
            Interval::D1 => 1440 * MINUTE,
        }
    }

    /// The canonical short name (`"5m"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Interval::M1 => "1m",
            Interval::M5 => "5m",
            Interval::M15 => "15m",
            Interval::H1 => "1h",
            Interval::H4 => "4h",
            Interval::D1 => "1d",
        }
    }

    /// Open time of the bar of this interval that contains `ts_ms`
    /// (buckets aligned to UTC epoch boundaries): `floor(ts / d) * d`.
    pub const fn bucket_start(self, ts_ms: i64) -> i64 {
        ts_ms.div_euclid(self.millis()) * self.millis()
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An interval string that is not one of `1m 5m 15m 1h 4h 1d`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown interval {0:?}: expected one of 1m, 5m, 15m, 1h, 4h, 1d")]
pub struct ParseIntervalError(pub String);

impl FromStr for Interval {
    type Err = ParseIntervalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Interval::ALL
            .into_iter()
            .find(|i| i.as_str() == s.trim())
            .ok_or_else(|| ParseIntervalError(s.to_string()))
    }
}

impl TryFrom<String> for Interval {
    type Error = ParseIntervalError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Interval> for String {
    fn from(i: Interval) -> Self {
        i.as_str().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_interval_and_round_trips() {
        for i in Interval::ALL {
            assert_eq!(i.as_str().parse::<Interval>().unwrap(), i);
        }
        assert_eq!(Interval::H4.millis(), 4 * 3_600_000);
    }

    #[test]
    fn rejects_unknown_interval_with_the_accepted_list() {
        let err = "2m".parse::<Interval>().unwrap_err();
        assert!(err.to_string().contains("1m, 5m, 15m, 1h, 4h, 1d"), "{err}");
    }

    #[test]
    fn bucket_start_aligns_to_utc_boundaries() {
        // 2024-01-01T00:07:00Z lies in the 00:05 five-minute bucket.
        let t = 1_704_067_200_000 + 7 * 60_000;
        assert_eq!(Interval::M5.bucket_start(t), 1_704_067_200_000 + 5 * 60_000);
        assert_eq!(Interval::M1.bucket_start(-1), -60_000);
    }
}
