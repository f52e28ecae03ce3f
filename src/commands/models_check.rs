//! `gauntlet models check`: preflight only — compare bundles with the feature pipeline
//! and their ONNX graphs, score nothing. Exit 0 all passed / 1 a bundle failed / 2 error.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use gauntlet_strategies::models::{
    check_bundle, ManifestSummary, PreflightError, PreflightOptions,
};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Bundles: `NAME.bundle.json`, `NAME.onnx` or `NAME`.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The feature manifest JSON of the pipeline the backtest will use (until `--set`
    /// can name a built-in feature set).
    #[arg(long)]
    pub manifest: PathBuf,
    /// First bar of the backtest (RFC 3339); with --backtest-to, checked against the
    /// training window.
    #[arg(long, requires = "backtest_to")]
    pub backtest_from: Option<String>,
    /// Last bar of the backtest (RFC 3339).
    #[arg(long, requires = "backtest_from")]
    pub backtest_to: Option<String>,
    /// Accept a backtest window that overlaps the training window (leakage).
    #[arg(long)]
    pub allow_training_overlap: bool,
}

fn parse_time(flag: &str, value: &str) -> anyhow::Result<i64> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|ts| ts.timestamp_millis())
        .with_context(|| {
            format!("{flag} {value:?} is not an RFC 3339 time (e.g. 2024-04-01T00:00:00Z)")
        })
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let expected = ManifestSummary::read(&args.manifest)?.expected();
    let backtest_window = match (&args.backtest_from, &args.backtest_to) {
        (Some(from), Some(to)) => Some((
            parse_time("--backtest-from", from)?,
            parse_time("--backtest-to", to)?,
        )),
        _ => None,
    };
    let options = PreflightOptions {
        backtest_window,
        allow_training_overlap: args.allow_training_overlap,
    };
    let mut failed = 0;
    for path in &args.paths {
        match check_bundle(path, &expected, &options) {
            Ok(model) => println!("ok      {} ({})", model.name(), path.display()),
            Err(PreflightError::Runtime(err)) => return Err(err.into()),
            Err(PreflightError::Failed(report)) => {
                failed += 1;
                println!("FAILED  {report}");
            }
        }
    }
    println!(
        "{} of {} bundles passed preflight against feature set {}",
        args.paths.len() - failed,
        args.paths.len(),
        expected.set_name
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
