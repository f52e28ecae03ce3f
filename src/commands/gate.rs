//! `gauntlet gate`: backtest plus promotion gates; the exit code is the verdict.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

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
