//! `gauntlet data resample`: aggregate candles to a coarser interval.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use gauntlet_datasets::write::write_universe;
use gauntlet_datasets::{resample_all, validate_universe, CandleSeries, FileFormat, Interval};
use gauntlet_run::output::{OutputSet, StagedDir};

use super::data_validate::{load_and_describe, ProgressArgs, SelectArgs};

/// Buckets are aligned to UTC boundaries; open first, high max, low min, close last,
/// volume sum. Buckets cut by the start/end of the data are dropped; interior buckets
/// with missing bars are built from the bars present and counted as partial; a bucket
/// with no bars is a gap. Data with validation issues is not resampled (exit 1).
#[derive(Debug, Args)]
pub struct ResampleArgs {
    /// Input directory or long file.
    pub path: PathBuf,
    /// Target interval (coarser than the input and a whole multiple of it).
    #[arg(long)]
    pub to: Interval,
    /// Output directory (one `<SYMBOL>_<interval>.<ext>` file per symbol).
    #[arg(long)]
    pub out: PathBuf,
    /// Output format (parquet or csv); default: the input's format.
    #[arg(long)]
    pub format: Option<FileFormat>,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub progress: ProgressArgs,
}

pub fn run(args: ResampleArgs) -> anyhow::Result<ExitCode> {
    let request = args.select.request(args.path, None);
    let mut timings = args.progress.timings();
    let universe = load_and_describe(&request, &mut timings)?;
    // Aggregating bad bars would hide them inside plausible-looking coarser bars.
    let reports = timings.time("validate", || validate_universe(&universe));
    let issues: usize = reports.iter().map(|r| r.issue_count).sum();
    if issues > 0 {
        println!("not resampling: {issues} validation issues, for example:");
        for issue in reports.iter().flat_map(|r| &r.issues).take(5) {
            println!("  {issue}");
        }
        println!("run `gauntlet data validate` for the full list");
        return Ok(ExitCode::from(1));
    }
    let format = args
        .format
        .or_else(|| universe.sources.first().map(|s| s.format))
        .unwrap_or(FileFormat::Parquet);
    let resampled = timings
        .time("resample", || resample_all(&universe.series, args.to))
        .context("resampling")?;
    let partial: usize = resampled.iter().map(|r| r.partial_buckets).sum();
    let dropped: usize = resampled.iter().map(|r| r.dropped_edge_buckets).sum();
    let series: Vec<CandleSeries> = resampled.into_iter().map(|r| r.series).collect();
    let bars_out: usize = series.iter().map(CandleSeries::len).sum();
    let staged = StagedDir::begin(&args.out, OutputSet::Universe(args.to))?;
    let paths = timings
        .time("write", || write_universe(staged.path(), &series, format))
        .with_context(|| format!("writing {}", args.out.display()))?;
    staged.commit()?;
    println!(
        "resampled {} symbols {} -> {}: {} bars in, {bars_out} bars out, {partial} partial buckets (built from the bars present), {dropped} edge buckets dropped",
        series.len(),
        universe.interval,
        args.to,
        universe.bars(),
    );
    println!(
        "wrote {} {format} files to {}",
        paths.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
