//! `gauntlet data validate`: check candle files, print a per-symbol table.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use gauntlet_datasets::load::{format_iso8601_ms, parse_iso8601_ms};
use gauntlet_datasets::{
    load, validate_universe, Interval, LoadRequest, LoadedUniverse, SymbolFilter, ValidationReport,
};
use gauntlet_run::timings::StageTimings;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A directory of `<SYMBOL>_<interval>.parquet|csv` files, or one long file with a
    /// `symbol` column.
    pub path: PathBuf,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    #[command(flatten)]
    pub progress: ProgressArgs,
}

/// `-q`: no spinner or progress bar on stderr.
#[derive(Debug, Args)]
pub struct ProgressArgs {
    /// No progress spinner or bar on stderr (there is none anyway when stderr is not a
    /// terminal).
    #[arg(short, long)]
    pub quiet: bool,
}

impl ProgressArgs {
    /// Stage timings that show progress unless `--quiet`.
    pub fn timings(&self) -> StageTimings {
        StageTimings::new(!self.quiet)
    }
}

/// Which part of the data to read (filters are pushed down into the readers).
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Expected bar interval (1m 5m 15m 1h 4h 1d); inferred from file names or spacing if
    /// omitted, an error if the data disagrees.
    #[arg(long)]
    pub interval: Option<Interval>,
    /// Only these symbols, comma-separated (e.g. BTC-USD,ETH-USD); each must exist.
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
}

/// A time window `[from, to)` on bar open times.
#[derive(Debug, Args)]
pub struct WindowArgs {
    /// Keep bars opening at or after this time (ISO-8601, UTC if no offset).
    #[arg(long, value_parser = parse_time)]
    pub from: Option<i64>,
    /// Keep bars opening before this time (ISO-8601, UTC if no offset).
    #[arg(long, value_parser = parse_time)]
    pub to: Option<i64>,
}

fn parse_time(text: &str) -> Result<i64, String> {
    parse_iso8601_ms(text).ok_or_else(|| {
        format!("{text:?} is not an ISO-8601 time (e.g. 2024-01-01T00:00:00Z or 2024-01-01)")
    })
}

impl WindowArgs {
    /// `[from, to)` in ms, open-ended where a bound is missing.
    pub fn window(&self) -> Option<(i64, i64)> {
        match (self.from, self.to) {
            (None, None) => None,
            (from, to) => Some((from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX))),
        }
    }
}

impl SelectArgs {
    /// The load request for `path` with these filters.
    pub fn request(&self, path: PathBuf, window: Option<(i64, i64)>) -> LoadRequest {
        LoadRequest {
            path,
            interval: self.interval,
            symbols: if self.symbols.is_empty() {
                SymbolFilter::All
            } else {
                SymbolFilter::Only(self.symbols.clone())
            },
            window,
        }
    }
}

/// Loads (the stage "load" of `timings`), reporting the layout and the timestamp columns
/// used.
pub fn load_and_describe(
    request: &LoadRequest,
    timings: &mut StageTimings,
) -> anyhow::Result<LoadedUniverse> {
    // The load error already names the path and file.
    let universe = timings.time("load", || load(request))?;
    println!(
        "{}: {}, interval {}, {} symbols, {} bars",
        request.path.display(),
        universe.layout,
        universe.interval,
        universe.series.len(),
        universe.bars()
    );
    let mut timestamp_kinds: BTreeMap<(String, String), usize> = BTreeMap::new();
    for source in &universe.sources {
        let key = (
            source.timestamp_column.clone(),
            source.timestamp_unit.to_string(),
        );
        *timestamp_kinds.entry(key).or_default() += 1;
    }
    for ((column, unit), count) in timestamp_kinds {
        let symbols = if count == 1 { "symbol" } else { "symbols" };
        println!("timestamps: column {column:?} read as {unit} ({count} {symbols})");
    }
    Ok(universe)
}

pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let request = args.select.request(args.path, args.window.window());
    let mut timings = args.progress.timings();
    let universe = load_and_describe(&request, &mut timings)?;
    let reports = timings.time("validate", || validate_universe(&universe));
    println!();
    print_table(&reports);

    let dirty: Vec<&ValidationReport> = reports.iter().filter(|r| !r.is_clean()).collect();
    if dirty.is_empty() {
        println!("\nno issues");
        return Ok(ExitCode::SUCCESS);
    }
    let total: usize = dirty.iter().map(|r| r.issue_count).sum();
    let symbols = if dirty.len() == 1 {
        "symbol"
    } else {
        "symbols"
    };
    println!("\n{total} issues in {} {symbols}:", dirty.len());
    for report in dirty {
        for issue in &report.issues {
            println!("  {issue}");
        }
        let unshown = report.issue_count - report.issues.len();
        if unshown > 0 {
            println!("  ... and {unshown} more in {}", report.file.display());
        }
    }
    Ok(ExitCode::from(1))
}

fn print_table(reports: &[ValidationReport]) {
    let span = |ts: Option<i64>| ts.map_or_else(|| "-".to_string(), format_iso8601_ms);
    let header = [
        "symbol", "rows", "first", "last", "gaps", "missing", "issues",
    ];
    let rows: Vec<[String; 7]> = reports
        .iter()
        .map(|r| {
            [
                r.symbol.clone(),
                r.rows.to_string(),
                span(r.first_ts),
                span(r.last_ts),
                r.gaps.to_string(),
                r.missing_bars.to_string(),
                r.issue_count.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: [&str; 7]| {
        let text: Vec<String> = cells
            .iter()
            .zip(widths)
            .enumerate()
            // Symbol and times left-aligned, counts right-aligned.
            .map(|(i, (cell, w))| match i {
                0..=3 => format!("{cell:<w$}"),
                _ => format!("{cell:>w$}"),
            })
            .collect();
        println!("{}", text.join("  ").trim_end());
    };
    line(header);
    for row in &rows {
        line(row.each_ref().map(String::as_str));
    }
}
