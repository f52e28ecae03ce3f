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
}

pub fn run(args: RegressArgs) -> anyhow::Result<ExitCode> {
    let tolerances = match &args.tolerances {
        Some(path) => Tolerances::from_path(path)?,
        None => Tolerances::default(),
    };
    let baseline = load_report(&args.baseline).context("baseline")?;
    let candidate = load_report(&args.candidate).context("candidate")?;
    let regression = compare(&baseline, &candidate, &tolerances);
    let markdown = regression.to_markdown(
        &args.baseline.display().to_string(),
        &args.candidate.display().to_string(),
    );
    print!("{markdown}");
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out)
            .with_context(|| format!("cannot create output directory {}", out.display()))?;
        let json = regression
            .to_json()
            .context("cannot serialize the regression report")?;
        write_atomically(&out.join(MARKDOWN_FILE), markdown.as_bytes())?;
        // Written last: its presence means the pair is complete.
        write_atomically(&out.join(JSON_FILE), json.as_bytes())?;
    }
    match regression.verdict {
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
