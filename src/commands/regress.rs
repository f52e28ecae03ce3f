//! `gauntlet regress`: compare a candidate report directory with a baseline under
//! per-metric tolerances. Exit 0 no regression / 1 a metric regressed or is missing /
//! 2 error (unreadable input, or reports that cannot be compared).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use gauntlet_reports::regress::{
    compare, load_report, RegressionVerdict, Severity, Tolerances, JSON_FILE, MARKDOWN_FILE,
};
use gauntlet_reports::render::write_atomically;
use gauntlet_run::backtest;
use gauntlet_run::output::{OutputSet, StagedDir};

use super::backtest::print_summary;

/// Arguments of `gauntlet regress` (the model: `gauntlet_reports::regress`).
#[derive(Debug, Args)]
#[command(
    after_long_help = "Compares every statistic, the ensemble's and each member's calibration \
values, the gate verdict and the number of dropped members. A metric regresses when it worsens \
by more than max(abs, rel x |baseline|) in its direction; a metric reported on one side only \
fails unless allow_missing = true. Reports of different data, symbols, window, initial cash or \
annualization are not comparable (exit 2).\n\nExample: gauntlet regress --baseline baseline/ \
--candidate nightly/ --tolerances configs/tolerances.toml --out regress/"
)]
pub struct RegressArgs {
    /// Report directory of the accepted run (holds report.json).
    #[arg(long)]
    pub baseline: PathBuf,
    /// Report directory of the run under test (holds report.json).
    #[arg(long)]
    pub candidate: PathBuf,
    /// Tolerances TOML; metrics it does not list keep the built-in defaults (spelled out
    /// in configs/tolerances.toml).
    #[arg(long)]
    pub tolerances: Option<PathBuf>,
    /// Directory for regress.md and regress.json (created if missing).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also re-run the candidate (its invocation.json: config, gates, champion) with one
    /// worker thread and fail unless the new report.json is byte-identical to the
    /// candidate's: checks determinism and thread-count independence at once.
    #[arg(long)]
    pub determinism: bool,
}

pub fn run(args: RegressArgs) -> anyhow::Result<ExitCode> {
    let tolerances = match &args.tolerances {
        Some(path) => Tolerances::from_path(path)?,
        None => Tolerances::default(),
    };
    let baseline = load_report(&args.baseline).context("baseline")?;
    let candidate = load_report(&args.candidate).context("candidate")?;
    let regression = compare(&baseline, &candidate, &tolerances);
    let deterministic = if args.determinism {
        Some(rerun_identical(&args)?)
    } else {
        None
    };
    let markdown = regression.to_markdown(
        &args.baseline.display().to_string(),
        &args.candidate.display().to_string(),
    );
    print!("{markdown}");
    if let Some(out) = &args.out {
        let staged = StagedDir::begin(out, OutputSet::Regression)?;
        let json = regression
            .to_json()
            .context("cannot serialize the regression report")?;
        write_atomically(&staged.path().join(MARKDOWN_FILE), markdown.as_bytes())?;
        write_atomically(&staged.path().join(JSON_FILE), json.as_bytes())?;
        staged.commit()?;
    }
    let nondeterministic = matches!(deterministic, Some(Some(_)));
    match deterministic {
        Some(None) => println!("\ndeterminism: the re-run's report.json is byte-identical"),
        Some(Some(difference)) => {
            println!("\nDETERMINISM FAILED: the re-run's report.json differs: {difference}");
            eprintln!("determinism: the re-run's report.json differs: {difference}");
        }
        None => {}
    }
    match regression.verdict {
        RegressionVerdict::Pass if nondeterministic => Ok(ExitCode::from(1)),
        RegressionVerdict::Pass => Ok(ExitCode::SUCCESS),
        RegressionVerdict::Regressed => {
            let failed: Vec<String> = regression
                .failures()
                .map(|row| format!("{} {} ({})", row.scope, row.metric, row.status.name()))
                .collect();
            eprintln!(
                "regression: {} metric(s) failed: {}",
                failed.len(),
                failed.join(", ")
            );
            Ok(ExitCode::from(1))
        }
        RegressionVerdict::Incomparable => {
            let reasons: Vec<String> = regression
                .metadata
                .iter()
                .filter(|d| d.severity == Severity::Incomparable)
                .map(|d| format!("{} ({})", d.field, d.message))
                .collect();
            anyhow::bail!(
                "baseline {} and candidate {} are not comparable: {}",
                args.baseline.display(),
                args.candidate.display(),
                reasons.join("; ")
            )
        }
    }
}

/// Re-runs the candidate into `<out>/rerun` (or a temporary folder) and compares the two
/// report.json files byte for byte: `None` when identical, else the first difference.
fn rerun_identical(args: &RegressArgs) -> anyhow::Result<Option<String>> {
    let dir = match &args.out {
        Some(out) => out.join("rerun"),
        None => std::env::temp_dir().join(format!("gauntlet-rerun-{}", std::process::id())),
    };
    let (outcome, difference) = backtest::rerun_identical(&args.candidate, &dir)?;
    print_summary(&outcome, true);
    if args.out.is_none() {
        // Best effort: a leftover temporary folder is harmless.
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(difference)
}
