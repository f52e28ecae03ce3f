//! `gauntlet features export`: the training table, computed by the same pipeline the
//! backtest uses, plus the manifest the model must be bundled with.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use gauntlet_datasets::{ensure_clean, resample_all, validate_universe, Interval};
use gauntlet_run::export::{export_training_table, LabelRule, Precision, TableOut};
use gauntlet_strategies::features::FeatureSet;

use super::data_validate::{load_and_describe, ProgressArgs, SelectArgs, WindowArgs};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Candle data: a directory of `<SYMBOL>_<interval>` files or one long file.
    #[arg(long)]
    pub data: PathBuf,
    /// A built-in set (core31, mtf50) or a custom-set .toml file.
    #[arg(long)]
    pub set: String,
    /// Resample the data to this coarser interval before computing features
    /// (e.g. 1m data exported at 5m); without it the data's own interval is used.
    #[arg(long)]
    pub resample: Option<Interval>,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Add a `label` column (down/flat/up) from `close[t+H]/close[t] - 1` against
    /// ±flat-threshold; the last H rows of each symbol stay unlabelled (null).
    #[arg(long, requires = "flat_threshold")]
    pub label_horizon: Option<usize>,
    /// The flat band for labels, as a fraction (0.001 = 0.1%).
    #[arg(long, requires = "label_horizon")]
    pub flat_threshold: Option<f64>,
    /// Element type of the feature columns; models consume f32.
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    pub precision: PrecisionArg,
    /// Output Parquet file; the manifest is written beside it as `<stem>.manifest.json`.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub progress: ProgressArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrecisionArg {
    F32,
    F64,
}

pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let set = FeatureSet::load(&args.set)?;
    let out = TableOut::new(&args.out)?;
    let request = args.select.request(args.data.clone(), args.window.window());
    let mut timings = args.progress.timings();
    let universe = load_and_describe(&request, &mut timings)?;
    // The same refusal as `backtest`: features of bad candles would be silently wrong.
    ensure_clean(&timings.time("validate", || validate_universe(&universe)))?;
    let series = match args.resample {
        Some(to) if to != universe.interval => {
            let resampled = timings.time("resample", || resample_all(&universe.series, to))?;
            let partial: usize = resampled.iter().map(|r| r.partial_buckets).sum();
            println!(
                "resampled {} -> {to}: {partial} partial buckets kept",
                universe.interval
            );
            resampled.into_iter().map(|r| r.series).collect()
        }
        _ => universe.series,
    };
    let labels = match (args.label_horizon, args.flat_threshold) {
        (Some(horizon), Some(flat_threshold)) => Some(LabelRule {
            horizon,
            flat_threshold,
        }),
        _ => None,
    };
    let precision = match args.precision {
        PrecisionArg::F32 => Precision::F32,
        PrecisionArg::F64 => Precision::F64,
    };
    let exported = timings.time("features", || {
        export_training_table(&set, &series, labels, precision, &out)
    })?;
    println!(
        "wrote {} rows x {} features ({}) of {} symbols to {}\nmanifest {} ({})",
        exported.rows,
        set.len(),
        set.name(),
        series.len(),
        args.out.display(),
        out.manifest().display(),
        exported.manifest_hash
    );
    Ok(ExitCode::SUCCESS)
}
