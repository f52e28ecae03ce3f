//! `gauntlet config check`: a dry run of a run config — everything `backtest` checks
//! before it computes: the config's keys, the data (read and validated, the window
//! inside it, the symbols and interval present), every member bundle preflighted against
//! the feature set, the output directory, and optionally a sweep grid. "ok" means a
//! backtest of this config starts.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use gauntlet_datasets::CandleSeries;
use gauntlet_reports::render::iso_time;
use gauntlet_run::config::RunConfig;
use gauntlet_run::grid::{self, Grid};
use gauntlet_run::pipeline;
use gauntlet_run::timings::StageTimings;
use gauntlet_strategies::models::ExpectedFeatures;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The run config (TOML).
    pub file: PathBuf,
    /// Also check a sweep grid over this config: every point must give a valid config.
    #[arg(long)]
    pub grid: Option<PathBuf>,
}

/// Prints what the run will use (exit 0) or the first problem found, named by key and
/// line, file, symbol or feature (exit 2, through the error path).
pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let config = RunConfig::parse(&text, &args.file)?;
    let out = &config.reporting.out;
    if out.symlink_metadata().is_ok_and(|m| !m.is_dir()) {
        bail!(
            "{}: reporting.out {} exists and is not a directory: choose another output directory",
            args.file.display(),
            out.display()
        );
    }
    let mut timings = StageTimings::new(false);
    let data = pipeline::load_data(&config, &mut timings)?;
    let members = match &config.models {
        Some(models) => {
            let expected = ExpectedFeatures::from(&config.features.manifest());
            let ensemble = pipeline::preflight(models, &expected, config.data.window)?;
            let mut lines: Vec<String> = ensemble
                .members()
                .iter()
                .map(|m| format!("  member {}: scored by {}", m.name, m.model.engine()))
                .collect();
            if let Some(notice) = ensemble.dropped_notice() {
                lines.push(format!("  {notice}"));
            }
            lines
        }
        None => Vec::new(),
    };
    let points = match &args.grid {
        Some(grid_path) => {
            let grid = Grid::load(grid_path)?;
            let points = grid.points();
            for point in &points {
                grid::config_at(&text, &args.file, grid_path, point)?;
            }
            Some(points.len())
        }
        None => None,
    };
    println!(
        "{}: ok — a backtest of it starts (nothing was computed)",
        args.file.display()
    );
    println!("  {}", describe_data(&config, &data.series));
    println!(
        "  features {} ({} columns), strategy {}, reports to {}",
        config.features.name(),
        config.features.len(),
        config.strategy.name(),
        out.display()
    );
    for line in members {
        println!("{line}");
    }
    if let (Some(points), Some(grid)) = (points, &args.grid) {
        println!("  grid {}: {points} configs, each valid", grid.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `data DIR (5m): 12 symbols, 48,000 bars from … to …, window …`.
fn describe_data(config: &RunConfig, series: &[CandleSeries]) -> String {
    let first = series.iter().filter_map(|s| s.ts().first()).min();
    let last = series.iter().filter_map(|s| s.ts().last()).max();
    let bars: usize = series.iter().map(CandleSeries::len).sum();
    let span = match (first, last) {
        (Some(&first), Some(&last)) => format!(" from {} to {}", iso_time(first), iso_time(last)),
        _ => String::new(),
    };
    let window = match config.data.window {
        Some((from, to)) => format!(", window {} .. {}", iso_time(from), iso_time(to)),
        None => ", window: all of it".into(),
    };
    format!(
        "data {} ({}): {} symbols, {bars} bars read (warm-up included){span}{window}",
        config.data.path.display(),
        config.data.interval,
        series.len(),
    )
}
