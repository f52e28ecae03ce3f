//! Validation of loaded candles: every problem is collected (not just the first), each
//! naming file, row and column and saying what was expected.
//!
//! Row convention: the **1-based data row of the source file, header excluded** (the
//! first candle under a CSV header is row 1), mapped through [`crate::load::FileRows`] so that rows
//! of long files and filtered loads still point at the right line.
//!
//! Checks, in two tight passes that allocate only when a problem is found:
//! - timestamps: not increasing (unsorted), equal to the previous one (duplicate),
//!   or a spacing that is not a multiple of the interval;
//! - values: NaN/inf in any column, price `<= 0`, volume `< 0`,
//!   `high < max(open, close)`, `low > min(open, close)` (a row with a non-finite value
//!   reports only that, since comparisons with NaN say nothing more).
//!
//! Gaps are not errors: a spacing of `k` intervals (`k > 1`) counts one gap and `k - 1`
//! missing bars.

use std::fmt;
use std::path::PathBuf;

use rayon::prelude::*;

use crate::load::{LoadedUniverse, SourceInfo};
use crate::{CandleSeries, Interval};

/// At most this many issues are stored per series; [`ValidationReport::issue_count`]
/// counts all of them.
pub const MAX_STORED_ISSUES: usize = 50;

/// What is wrong with one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IssueKind {
    UnsortedTimestamp,
    DuplicateTimestamp,
    SpacingNotMultipleOfInterval,
    NotFinite,
    NonPositivePrice,
    NegativeVolume,
    HighBelowOpenClose,
    LowAboveOpenClose,
}

impl fmt::Display for IssueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IssueKind::UnsortedTimestamp => "timestamp earlier than the previous row",
            IssueKind::DuplicateTimestamp => "duplicate timestamp",
            IssueKind::SpacingNotMultipleOfInterval => "spacing not a multiple of the interval",
            IssueKind::NotFinite => "not a finite number",
            IssueKind::NonPositivePrice => "non-positive price",
            IssueKind::NegativeVolume => "negative volume",
            IssueKind::HighBelowOpenClose => "high below max(open, close)",
            IssueKind::LowAboveOpenClose => "low above min(open, close)",
        })
    }
}

/// One problem: where it is and what was found versus expected.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub kind: IssueKind,
    pub file: PathBuf,
    /// 1-based data row in `file`, header excluded.
    pub row: u64,
    pub column: String,
    pub found: String,
    pub expected: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: row {}, column {}: {}: found {}, expected {}",
            self.file.display(),
            self.row,
            self.column,
            self.kind,
            self.found,
            self.expected
        )
    }
}

/// The result of validating one symbol's series.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationReport {
    pub symbol: String,
    pub file: PathBuf,
    pub interval: Interval,
    pub rows: usize,
    /// Open time of the first and last row (file order), ms UTC.
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
    /// Spacings longer than one interval (and multiples of it).
    pub gaps: usize,
    /// Bars missing inside those gaps: `sum(spacing / interval - 1)`.
    pub missing_bars: u64,
    /// The first [`MAX_STORED_ISSUES`] issues in row order.
    pub issues: Vec<Issue>,
    /// All issues found, stored or not.
    pub issue_count: usize,
}

impl ValidationReport {
    pub fn is_clean(&self) -> bool {
        self.issue_count == 0
    }
}

/// Collects issues up to the cap and counts all of them.
struct Collector<'a> {
    source: &'a SourceInfo,
    issues: Vec<Issue>,
    total: usize,
}

impl<'a> Collector<'a> {
    fn new(source: &'a SourceInfo) -> Self {
        Self {
            source,
            issues: Vec::new(),
            total: 0,
        }
    }

    #[cold]
    fn push(
        &mut self,
        kind: IssueKind,
        index: usize,
        column: &str,
        found: String,
        expected: String,
    ) {
        self.total += 1;
        if self.issues.len() < MAX_STORED_ISSUES {
            self.issues.push(Issue {
                kind,
                file: self.source.file.clone(),
                row: self.source.rows.row(index),
                column: column.to_string(),
                found,
                expected,
            });
        }
    }
}

/// Validates one series loaded from `source` (see the module docs for the checks).
pub fn validate(series: &CandleSeries, source: &SourceInfo) -> ValidationReport {
    let interval = series.interval();
    let mut time_issues = Collector::new(source);
    let (gaps, missing_bars) = check_timestamps(series.ts(), interval, &mut time_issues);
    let mut value_issues = Collector::new(source);
    check_values(series, &mut value_issues);

    let issue_count = time_issues.total + value_issues.total;
    let mut issues = time_issues.issues;
    issues.extend(value_issues.issues);
    // Each pass stored its first issues in row order; merge and keep the first overall.
    issues.sort_by_key(|issue| issue.row);
    issues.truncate(MAX_STORED_ISSUES);
    ValidationReport {
        symbol: series.symbol().to_string(),
        file: source.file.clone(),
        interval,
        rows: series.len(),
        first_ts: series.ts().first().copied(),
        last_ts: series.ts().last().copied(),
        gaps,
        missing_bars,
        issues,
        issue_count,
    }
}

/// Validates every series of a loaded universe in parallel; reports in universe order.
pub fn validate_universe(universe: &LoadedUniverse) -> Vec<ValidationReport> {
    universe
        .series
        .par_iter()
        .zip(universe.sources.par_iter())
        .map(|(series, source)| validate(series, source))
        .collect()
}

/// How many issues [`ensure_clean`] lists; `gauntlet data validate` lists all.
const SHOWN_ISSUES: usize = 10;

/// Candles with validation issues, refused by every command that computes on them
/// (a backtest, a feature matrix or a calibration on them would silently be wrong).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the data has {total} problem(s) in {symbols} symbol(s); fix them first (`gauntlet data validate` lists all):\n{shown}")]
pub struct DirtyData {
    /// Issues in all symbols.
    pub total: usize,
    /// Symbols with at least one issue.
    pub symbols: usize,
    /// The first issues, one indented line each.
    pub shown: String,
}

/// `Err` naming the first issues if any report is not clean.
pub fn ensure_clean(reports: &[ValidationReport]) -> Result<(), DirtyData> {
    let dirty: Vec<&ValidationReport> = reports.iter().filter(|r| !r.is_clean()).collect();
    if dirty.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = dirty
        .iter()
        .flat_map(|r| r.issues.iter())
        .take(SHOWN_ISSUES)
        .map(|issue| format!("  {issue}"))
        .collect();
    Err(DirtyData {
        total: dirty.iter().map(|r| r.issue_count).sum(),
        symbols: dirty.len(),
        shown: shown.join("\n"),
    })
}

/// Returns `(gaps, missing_bars)`.
fn check_timestamps(ts: &[i64], interval: Interval, issues: &mut Collector<'_>) -> (usize, u64) {
    let step = interval.millis();
    let column = issues.source.timestamp_column.clone();
    let mut gaps = 0usize;
    let mut missing = 0u64;
    for (i, pair) in ts.windows(2).enumerate() {
        let spacing = pair[1].saturating_sub(pair[0]);
        if spacing == step {
            continue;
        }
        let index = i + 1;
        if spacing < 0 {
            issues.push(
                IssueKind::UnsortedTimestamp,
                index,
                &column,
                ms_text(pair[1]),
                format!("after the previous row's {}", ms_text(pair[0])),
            );
        } else if spacing == 0 {
            issues.push(
                IssueKind::DuplicateTimestamp,
                index,
                &column,
                ms_text(pair[1]),
                "a timestamp after the previous row's".to_string(),
            );
        } else if spacing % step != 0 {
            issues.push(
                IssueKind::SpacingNotMultipleOfInterval,
                index,
                &column,
                format!("{spacing} ms after the previous row"),
                format!("a multiple of {interval} ({step} ms)"),
            );
        } else {
            gaps += 1;
            missing += (spacing / step - 1) as u64;
        }
    }
    (gaps, missing)
}

fn ms_text(ms: i64) -> String {
    format!("{} ({ms})", crate::load::format_iso8601_ms(ms))
}

/// Rows checked per block: a block is scanned branch-free and only re-scanned row by row
/// when it contains a bad row.
const BLOCK: usize = 512;

/// True if every check on one row passes. Uses non-short-circuit `&` so the block loop
/// vectorises; NaN fails every comparison, `< INFINITY` rejects +inf, `> 0` rejects -inf.
#[inline(always)]
fn row_ok(open: f64, high: f64, low: f64, close: f64, volume: f64) -> bool {
    const INF: f64 = f64::INFINITY;
    (open > 0.0)
        & (high > 0.0)
        & (low > 0.0)
        & (close > 0.0)
        & (volume >= 0.0)
        & (open < INF)
        & (high < INF)
        & (low < INF)
        & (close < INF)
        & (volume < INF)
        & (high >= open)
        & (high >= close)
        & (low <= open)
        & (low <= close)
}

fn check_values(series: &CandleSeries, issues: &mut Collector<'_>) {
    let n = series.len();
    let (open, high, low, close, volume) = (
        &series.open()[..n],
        &series.high()[..n],
        &series.low()[..n],
        &series.close()[..n],
        &series.volume()[..n],
    );
    let mut start = 0;
    while start < n {
        let end = (start + BLOCK).min(n);
        let (o, h, l, c, v) = (
            &open[start..end],
            &high[start..end],
            &low[start..end],
            &close[start..end],
            &volume[start..end],
        );
        let mut all_ok = true;
        for i in 0..o.len() {
            all_ok &= row_ok(o[i], h[i], l[i], c[i], v[i]);
        }
        if !all_ok {
            for i in 0..o.len() {
                if !row_ok(o[i], h[i], l[i], c[i], v[i]) {
                    diagnose_row(start + i, [o[i], h[i], l[i], c[i], v[i]], issues);
                }
            }
        }
        start = end;
    }
}

#[cold]
fn diagnose_row(index: usize, values: [f64; 5], issues: &mut Collector<'_>) {
    const NAMES: [&str; 5] = ["open", "high", "low", "close", "volume"];
    let mut finite = true;
    for (name, value) in NAMES.into_iter().zip(values) {
        if !value.is_finite() {
            finite = false;
            issues.push(
                IssueKind::NotFinite,
                index,
                name,
                value.to_string(),
                "a finite number".to_string(),
            );
        }
    }
    if !finite {
        return;
    }
    let [open, high, low, close, volume] = values;
    for (name, value) in NAMES.into_iter().zip(values).take(4) {
        if value <= 0.0 {
            issues.push(
                IssueKind::NonPositivePrice,
                index,
                name,
                value.to_string(),
                "a price > 0".to_string(),
            );
        }
    }
    if volume < 0.0 {
        issues.push(
            IssueKind::NegativeVolume,
            index,
            "volume",
            volume.to_string(),
            "a volume >= 0".to_string(),
        );
    }
    if high < open.max(close) {
        issues.push(
            IssueKind::HighBelowOpenClose,
            index,
            "high",
            high.to_string(),
            format!(">= max(open {open}, close {close})"),
        );
    }
    if low > open.min(close) {
        issues.push(
            IssueKind::LowAboveOpenClose,
            index,
            "low",
            low.to_string(),
            format!("<= min(open {open}, close {close})"),
        );
    }
}
