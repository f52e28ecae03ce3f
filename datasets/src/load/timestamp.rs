//! Timestamp columns: which names are accepted, which units are recognised, and
//! parsing of ISO-8601 text.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// Accepted timestamp column names, in order of preference (matched case-insensitively;
/// when a file has several, the first in this list wins).
pub const TIMESTAMP_COLUMNS: [&str; 5] = ["ts", "timestamp", "time", "date", "open_time"];

/// Integers with `|value| < SECONDS_THRESHOLD` are epoch seconds, all others epoch
/// milliseconds. `1e11` ms is 1973-03-03 and `1e11` s is the year 5138, so no realistic
/// candle time after 1973 is ambiguous. Negative values (before 1970) would be, so the
/// loader refuses them.
pub const SECONDS_THRESHOLD: i64 = 100_000_000_000;

/// How a file stores its bar open times; everything is converted to ms since the epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimestampUnit {
    /// Integer milliseconds since the Unix epoch.
    EpochMillis,
    /// Integer seconds since the Unix epoch (detected with [`SECONDS_THRESHOLD`]).
    EpochSeconds,
    /// ISO-8601 text; an explicit offset is honoured, text without one is UTC.
    Iso8601,
    /// A native Parquet/Arrow datetime or date column.
    NativeDatetime,
}

impl fmt::Display for TimestampUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimestampUnit::EpochMillis => "epoch milliseconds",
            TimestampUnit::EpochSeconds => "epoch seconds",
            TimestampUnit::Iso8601 => "ISO-8601 text",
            TimestampUnit::NativeDatetime => "native datetime",
        })
    }
}

impl TimestampUnit {
    /// An integer timestamp in this unit as epoch milliseconds (saturating; only epoch
    /// seconds are scaled).
    pub fn to_millis(self, value: i64) -> i64 {
        match self {
            TimestampUnit::EpochSeconds => value.saturating_mul(1000),
            _ => value,
        }
    }
}

/// The unit of one integer timestamp: seconds if `|value| < SECONDS_THRESHOLD`.
pub fn integer_unit(value: i64) -> TimestampUnit {
    if value.unsigned_abs() < SECONDS_THRESHOLD.unsigned_abs() {
        TimestampUnit::EpochSeconds
    } else {
        TimestampUnit::EpochMillis
    }
}

/// Parses an ISO-8601 timestamp into ms since the Unix epoch (UTC).
///
/// Accepted: `2024-01-01T00:00:00Z`, `2024-01-01T02:00:00+02:00`, `2024-01-01 00:00:00`,
/// `2024-01-01T00:00:00.250`, and a bare date `2024-01-01` (midnight). Text without an
/// offset is taken as UTC. Returns `None` for anything else.
pub fn parse_iso8601_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.timestamp_millis());
        }
    }
    let naive = text.strip_suffix('Z').unwrap_or(text);
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, format) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(naive, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

/// Formats ms since the epoch as `2024-01-01T00:00:00Z` (with `.sss` only when needed).
pub fn format_iso8601_ms(ms: i64) -> String {
    match DateTime::from_timestamp_millis(ms) {
        Some(t) if ms.rem_euclid(1000) == 0 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => format!("{ms} ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW_YEAR_2024: i64 = 1_704_067_200_000;

    #[test]
    fn parses_the_accepted_iso_forms() {
        for text in [
            "2024-01-01T00:00:00Z",
            "2024-01-01 00:00:00",
            "2024-01-01T00:00:00",
            "2024-01-01T02:00:00+02:00",
            "2024-01-01 02:00:00+02:00",
            "2023-12-31T19:00:00-05:00",
            "2024-01-01T00:00:00.000Z",
            "2024-01-01 00:00",
            "2024-01-01",
            " 2024-01-01T00:00:00Z ",
        ] {
            assert_eq!(parse_iso8601_ms(text), Some(NEW_YEAR_2024), "{text}");
        }
        assert_eq!(
            parse_iso8601_ms("2024-01-01T00:00:00.250Z"),
            Some(NEW_YEAR_2024 + 250)
        );
    }

    #[test]
    fn rejects_non_timestamps() {
        for text in ["", "yesterday", "2024-13-01", "1704067200000", "2024/01/01"] {
            assert_eq!(parse_iso8601_ms(text), None, "{text}");
        }
    }

    #[test]
    fn integer_unit_heuristic() {
        assert_eq!(integer_unit(1_704_067_200), TimestampUnit::EpochSeconds);
        assert_eq!(integer_unit(NEW_YEAR_2024), TimestampUnit::EpochMillis);
        assert_eq!(integer_unit(0), TimestampUnit::EpochSeconds);
    }

    #[test]
    fn formats_iso() {
        assert_eq!(format_iso8601_ms(NEW_YEAR_2024), "2024-01-01T00:00:00Z");
        assert_eq!(
            format_iso8601_ms(NEW_YEAR_2024 + 5),
            "2024-01-01T00:00:00.005Z"
        );
    }
}
