//! `gauntlet calibrate`: fit one temperature per ensemble member on a stated window and
//! write a new bundle per member (the original is never touched); the fitting and the
//! writing are `gauntlet_run::calibrate`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use gauntlet_datasets::load::{format_iso8601_ms, parse_iso8601_ms};
use gauntlet_datasets::{ensure_clean, validate_universe};
use gauntlet_run::calibrate::{calibrate_member, Fitted, Target};
use gauntlet_strategies::features::{compute_universe, FeatureSet};
use gauntlet_strategies::models::{
    check_bundle, CheckedModel, ExpectedFeatures, ModelBundle, PreflightOptions,
};

use super::data_validate::{load_and_describe, ProgressArgs, SelectArgs};

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Candle data: a directory of `<SYMBOL>_<interval>` files or one long file.
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub select: SelectArgs,
    /// The feature set the members were trained on: core31, mtf50 or a custom-set .toml.
    #[arg(long)]
    pub set: String,
    /// First bar of the calibration window (ISO-8601, inclusive). Bars before it are
    /// read for feature warm-up only.
    #[arg(long, value_parser = parse_time)]
    pub from: i64,
    /// End of the calibration window (ISO-8601, exclusive); labels use no close at or
    /// after it.
    #[arg(long, value_parser = parse_time)]
    pub to: i64,
    /// Member bundles (`NAME.bundle.json`, `NAME.onnx` or `NAME`), one temperature each.
    #[arg(long = "bundle", required = true, num_args = 1..)]
    pub bundles: Vec<PathBuf>,
    /// Where to write `NAME.calibrated.bundle.json` (default: next to each bundle; the
    /// ONNX file is copied there when it is another directory).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Calibrate on a window overlapping a member's training window (in-sample: the
    /// fitted temperature will understate its overconfidence).
    #[arg(long)]
    pub allow_training_overlap: bool,
    #[command(flatten)]
    pub progress: ProgressArgs,
}

fn parse_time(text: &str) -> Result<i64, String> {
    parse_iso8601_ms(text).ok_or_else(|| {
        format!("{text:?} is not an ISO-8601 time (e.g. 2024-01-05T00:00:00Z or 2024-01-05)")
    })
}

pub fn run(args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    if args.from >= args.to {
        bail!(
            "--from {} must be before --to {}",
            format_iso8601_ms(args.from),
            format_iso8601_ms(args.to)
        );
    }
    // Every target is checked before anything is read or written: a rerun refuses
    // without partial output.
    let targets: Vec<Target> = args
        .bundles
        .iter()
        .map(|path| Target::of(path, args.out_dir.as_deref()))
        .collect::<anyhow::Result<_>>()?;
    let set = FeatureSet::load(&args.set)?;
    let expected = ExpectedFeatures::from(&set.manifest());
    let options = PreflightOptions {
        backtest_window: Some((args.from, args.to - 1)),
        allow_training_overlap: args.allow_training_overlap,
        ..PreflightOptions::default()
    };
    let models: Vec<CheckedModel> = args
        .bundles
        .iter()
        .map(|path| check_bundle(path, &expected, &options))
        .collect::<Result<_, _>>()?;

    let request = args
        .select
        .request(args.data.clone(), Some((i64::MIN, args.to)));
    let mut timings = args.progress.timings();
    let universe = load_and_describe(&request, &mut timings)?;
    // The same refusal as `backtest`: a calibration fitted on bad candles is wrong.
    ensure_clean(&timings.time("validate", || validate_universe(&universe)))?;
    let matrices = timings.time("features", || compute_universe(&set, &universe.series))?;
    let closes: Vec<&[f64]> = universe.series.iter().map(|s| s.close()).collect();
    println!(
        "calibration window {} .. {} (exclusive), feature set {}",
        format_iso8601_ms(args.from),
        format_iso8601_ms(args.to),
        set.name()
    );

    for (model, target) in models.iter().zip(&targets) {
        let window = (args.from, args.to);
        let (fitted, written) = calibrate_member(model, target, &matrices, &closes, window)?;
        print_member(model.name(), model.model_bundle(), &written, &fitted);
    }
    Ok(ExitCode::SUCCESS)
}

fn metric(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_string(), |v| format!("{v:.4}"))
}

fn print_member(name: &str, original: &ModelBundle, written: &ModelBundle, fitted: &Fitted) {
    let previous = original.bundle.output.temperature;
    println!(
        "\n{name}: temperature {previous} -> {:.4}{} on {} rows",
        fitted.temperature,
        if fitted.at_bound {
            " (AT THE SEARCH BOUND: the optimum may lie outside [0.01, 100])"
        } else {
            ""
        },
        fitted.rows
    );
    println!(
        "  NLL {} -> {}   ECE {} -> {}   accuracy {}",
        metric(fitted.before.log_loss),
        metric(fitted.after.log_loss),
        metric(fitted.before.ece),
        metric(fitted.after.ece),
        metric(fitted.after.accuracy)
    );
    println!(
        "  wrote {} (bundle hash {} -> {})",
        written.bundle_path.display(),
        &original.content_hash()[..12],
        &written.content_hash()[..12]
    );
}
