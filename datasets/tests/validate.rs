//! Validation: one test per case, each checking that the message names file, row and
//! column (rows are 1-based data rows, header excluded).

use gauntlet_datasets::load::FileRows;
use gauntlet_datasets::validate::MAX_STORED_ISSUES;
use gauntlet_datasets::{
    ensure_clean, validate, CandleSeries, FileFormat, Interval, IssueKind, SourceInfo,
    ValidationReport,
};
use rstest::rstest;

const T0: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z
const MIN: i64 = 60_000;

/// Six clean 1m bars as columns: ts, open, high, low, close, volume.
struct Columns {
    ts: Vec<i64>,
    values: [Vec<f64>; 5],
}

fn clean(n: usize) -> Columns {
    let ts = (0..n as i64).map(|i| T0 + i * MIN).collect();
    let open: Vec<f64> = (0..n).map(|i| 100.0 + i as f64).collect();
    let high = open.iter().map(|o| o + 2.0).collect();
    let low = open.iter().map(|o| o - 2.0).collect();
    let close = open.iter().map(|o| o + 1.0).collect();
    let volume = vec![5.0; n];
    Columns {
        ts,
        values: [open, high, low, close, volume],
    }
}

fn run(columns: Columns) -> ValidationReport {
    let [open, high, low, close, volume] = columns.values;
    let series = CandleSeries::new(
        "BTC-USD",
        Interval::M1,
        columns.ts,
        open,
        high,
        low,
        close,
        volume,
    )
    .unwrap();
    validate(
        &series,
        &SourceInfo::written("data/BTC-USD_1m.csv", FileFormat::Csv),
    )
}

/// Asserts exactly one issue of `kind` at `row`/`column`, with file, row and column in
/// its message.
fn assert_single(report: &ValidationReport, kind: IssueKind, row: u64, column: &str) {
    assert_eq!(report.issue_count, 1, "{:#?}", report.issues);
    let issue = &report.issues[0];
    assert_eq!(issue.kind, kind);
    let message = issue.to_string();
    let place = format!("data/BTC-USD_1m.csv: row {row}, column {column}: ");
    assert!(message.starts_with(&place), "{message}");
    assert!(message.contains("expected"), "{message}");
}

#[test]
fn clean_series_has_no_issues() {
    let report = run(clean(6));
    assert!(report.is_clean());
    assert_eq!(report.rows, 6);
    assert_eq!(report.first_ts, Some(T0));
    assert_eq!(report.last_ts, Some(T0 + 5 * MIN));
    assert_eq!((report.gaps, report.missing_bars), (0, 0));
}

#[test]
fn empty_series_is_clean() {
    let report = run(clean(0));
    assert!(report.is_clean());
    assert_eq!(report.first_ts, None);
}

#[test]
fn unsorted_timestamp() {
    let mut c = clean(6);
    c.ts.swap(2, 3);
    let report = run(c);
    // Row 3 (index 2) jumps ahead by 2 minutes (a gap), row 4 goes back.
    assert_single(&report, IssueKind::UnsortedTimestamp, 4, "ts");
    assert!(report.issues[0]
        .to_string()
        .contains("2024-01-01T00:02:00Z"));
}

#[test]
fn duplicate_timestamp() {
    let mut c = clean(6);
    c.ts[4] = c.ts[3];
    let report = run(c);
    assert_single(&report, IssueKind::DuplicateTimestamp, 5, "ts");
}

#[test]
fn spacing_not_a_multiple_of_the_interval() {
    let mut c = clean(6);
    for t in &mut c.ts[3..] {
        *t += 30_000;
    }
    let report = run(c);
    assert_single(&report, IssueKind::SpacingNotMultipleOfInterval, 4, "ts");
    assert!(report.issues[0].to_string().contains("90000 ms"));
}

#[rstest]
#[case::open(0, "open")]
#[case::high(1, "high")]
#[case::low(2, "low")]
#[case::close(3, "close")]
#[case::volume(4, "volume")]
fn nan_and_infinity_in_every_column(#[case] column: usize, #[case] name: &str) {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut c = clean(6);
        c.values[column][2] = bad;
        let report = run(c);
        assert_single(&report, IssueKind::NotFinite, 3, name);
    }
}

#[rstest]
#[case::open(0, "open")]
#[case::close(3, "close")]
fn non_positive_open_or_close(#[case] column: usize, #[case] name: &str) {
    let mut c = clean(6);
    // Keep high/low consistent so only the sign is wrong.
    c.values[column][1] = 0.0;
    c.values[2][1] = 0.0;
    let report = run(c);
    assert_eq!(report.issue_count, 2, "{:#?}", report.issues);
    let issue = report
        .issues
        .iter()
        .find(|i| i.column == name)
        .expect("issue on the column");
    assert_eq!(issue.kind, IssueKind::NonPositivePrice);
    assert!(issue
        .to_string()
        .starts_with(&format!("data/BTC-USD_1m.csv: row 2, column {name}: ")));
}

#[test]
fn non_positive_low() {
    let mut c = clean(6);
    c.values[2][5] = -1.0;
    let report = run(c);
    assert_single(&report, IssueKind::NonPositivePrice, 6, "low");
}

#[test]
fn negative_volume() {
    let mut c = clean(6);
    c.values[4][0] = -0.5;
    let report = run(c);
    assert_single(&report, IssueKind::NegativeVolume, 1, "volume");
}

#[test]
fn high_below_open_or_close() {
    let mut c = clean(6);
    c.values[1][3] = c.values[3][3] - 0.5; // below close, above open
    let report = run(c);
    assert_single(&report, IssueKind::HighBelowOpenClose, 4, "high");
}

#[test]
fn low_above_open_or_close() {
    let mut c = clean(6);
    c.values[2][4] = c.values[0][4] + 0.5; // above open, below close
    let report = run(c);
    assert_single(&report, IssueKind::LowAboveOpenClose, 5, "low");
}

#[test]
fn gaps_are_counted_not_reported() {
    let mut c = clean(6);
    c.ts[3..].iter_mut().for_each(|t| *t += 3 * MIN); // 3 bars missing
    c.ts[5] += 2 * MIN; // 2 more
    let report = run(c);
    assert!(report.is_clean());
    assert_eq!((report.gaps, report.missing_bars), (2, 5));
}

#[test]
fn all_issues_are_counted_and_the_first_ones_stored_in_row_order() {
    let n = 2000;
    let mut c = clean(n);
    for i in (0..n).step_by(10) {
        c.values[4][i] = -1.0;
    }
    c.ts[n - 1] = c.ts[n - 2]; // a timestamp issue after the value issues
    c.ts[7] = c.ts[6]; // and one early
    let report = run(c);
    assert_eq!(report.issue_count, 202);
    assert_eq!(report.issues.len(), MAX_STORED_ISSUES);
    let rows: Vec<u64> = report.issues.iter().map(|i| i.row).collect();
    assert!(rows.windows(2).all(|w| w[0] <= w[1]), "{rows:?}");
    assert_eq!(rows[..3], [1, 8, 11]);
}

#[test]
fn rows_follow_the_file_row_map() {
    let mut c = clean(3);
    c.values[4][2] = -1.0;
    let [open, high, low, close, volume] = c.values;
    let series =
        CandleSeries::new("B", Interval::M1, c.ts, open, high, low, close, volume).unwrap();
    let mut source = SourceInfo::written("long.csv", FileFormat::Csv);
    source.rows = FileRows::Listed(vec![2, 5, 9]);
    let report = validate(&series, &source);
    assert!(report.issues[0]
        .to_string()
        .starts_with("long.csv: row 9, column volume: "));
}

#[test]
fn ensure_clean_refuses_dirty_data_listing_the_first_issues() {
    assert_eq!(ensure_clean(&[run(clean(3))]), Ok(()));
    let mut dirty = clean(30);
    for row in 0..12 {
        dirty.values[4][row * 2] = -1.0;
    }
    let err = ensure_clean(&[run(clean(3)), run(dirty)]).unwrap_err();
    assert_eq!((err.total, err.symbols), (12, 1));
    let text = err.to_string();
    assert!(
        text.starts_with("the data has 12 problem(s) in 1 symbol(s); fix them first"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 11, "the first 10 issues: {text}");
    assert!(text.contains("row 1, column volume"), "{text}");
}
