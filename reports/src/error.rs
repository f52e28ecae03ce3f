//! Typed errors of the reports crate. Every variant says what was wrong, where, and what
//! was expected, so the CLI can print it as-is and the caller can match on the kind.

use thiserror::Error;

/// Errors from building report inputs (equity curves, trade records, calibration rows),
/// fitting temperatures and loading gate specifications.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ReportsError {
    /// Two parallel input columns differ in length.
    #[error("{what}: expected {expected} values (one per {per}), got {actual}")]
    LengthMismatch {
        /// Which input column.
        what: &'static str,
        /// Which unit the column should have one value per.
        per: &'static str,
        /// Expected length.
        expected: usize,
        /// Actual length.
        actual: usize,
    },
    /// A value that must be finite is NaN or infinite.
    #[error("{what} at index {index} is {value}; expected a finite number")]
    NonFinite {
        /// Which input column.
        what: &'static str,
        /// Row index of the bad value.
        index: usize,
        /// The bad value.
        value: f64,
    },
    /// Equity used as a return's reference is zero or negative, so the return is undefined.
    #[error("{what} is {value} at index {index}; a return needs a positive reference equity")]
    NonPositiveEquity {
        /// Which equity (initial or a bar).
        what: &'static str,
        /// Bar index (0 for the initial equity).
        index: usize,
        /// The bad value.
        value: f64,
    },
    /// Timestamps are not strictly increasing.
    #[error("timestamp at index {index} ({ts_ms} ms) is not after the previous one ({previous_ts_ms} ms); expected strictly increasing timestamps")]
    UnsortedTimestamps {
        /// Bar index.
        index: usize,
        /// Offending timestamp.
        ts_ms: i64,
        /// Previous timestamp.
        previous_ts_ms: i64,
    },
    /// A value lies outside its allowed range.
    #[error("{what} at index {index} is {value}; expected a value in {expected}")]
    OutOfRange {
        /// Which input column.
        what: &'static str,
        /// Row index.
        index: usize,
        /// The bad value.
        value: f64,
        /// Allowed range, in words.
        expected: &'static str,
    },
    /// A probability row does not sum to one.
    #[error("probability row {row} sums to {sum}; expected 1 within {tolerance}")]
    ProbabilitiesDoNotSumToOne {
        /// Row index.
        row: usize,
        /// The row's sum.
        sum: f64,
        /// Accepted absolute deviation from 1.
        tolerance: f64,
    },
    /// A realized label is not a valid class index.
    #[error("label at row {row} is {label}; expected a class index below {n_classes}")]
    LabelOutOfRange {
        /// Row index.
        row: usize,
        /// The bad label.
        label: usize,
        /// Number of classes.
        n_classes: usize,
    },
    /// Input that needs at least some rows has too few.
    #[error("{what}: need at least {needed}, got {actual}")]
    TooFew {
        /// What was counted.
        what: &'static str,
        /// Minimum needed.
        needed: usize,
        /// Actual count.
        actual: usize,
    },
    /// An invalid parameter (annualization, bins, bounds, trials).
    #[error("invalid {parameter}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        parameter: &'static str,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// A gate specification could not be parsed or validated; all problems are listed.
    #[error("invalid gate specification:\n  - {}", .problems.join("\n  - "))]
    GateSpec {
        /// Every problem found (not only the first).
        problems: Vec<String>,
    },
}
