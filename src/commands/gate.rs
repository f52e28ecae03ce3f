//! `gauntlet gate`: backtest plus promotion gates; the exit code is the verdict.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use gauntlet_reports::render::{Report, SCHEMA_VERSION};

use super::backtest::{run_to_dir, RunOptions};

#[derive(Debug, Args)]
pub struct GateArgs {
    /// The run config (TOML).
    #[arg(short, long)]
    pub config: PathBuf,
    /// The gates (TOML): thresholds, absolute or relative to the champion.
    #[arg(long)]
    pub gates: PathBuf,
    /// The report directory of the model now in production, run on the same data and
    /// risk settings; needed by relative gates such as `min_sharpe = "champion + 0.1"`.
    #[arg(long)]
    pub champion: Option<PathBuf>,
    /// Report directory (overrides `reporting.out`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads (overrides `threads`; 0 = all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Only errors and the verdict line.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Exit 0 when every gate passed, 1 when one failed (errors exit 2 in `main`).
pub fn run(args: GateArgs) -> anyhow::Result<ExitCode> {
    let options = RunOptions {
        out: args.out,
        threads: args.threads,
        gates: Some(args.gates),
        champion: args.champion,
        quiet: args.quiet,
    };
    Ok(run_to_dir(&args.config, &options)?.exit_code())
}

/// Reads `DIR/report.json` (or the file itself), checking the schema version.
pub fn read_report(path: &std::path::Path) -> anyhow::Result<Report> {
    let file = if path.is_dir() {
        path.join("report.json")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("reading the report {}", file.display()))?;
    let report: Report = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a gauntlet report.json", file.display()))?;
    if report.schema_version != SCHEMA_VERSION {
        bail!(
            "{} has report schema version {}, this gauntlet writes {SCHEMA_VERSION}: re-run it with this version",
            file.display(),
            report.schema_version
        );
    }
    Ok(report)
}
