//! `gauntlet gate`: backtest plus promotion gates; the exit code is the verdict.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use gauntlet_run::backtest::{run_to_dir, RunOptions};

use super::backtest::{exit_code, print_summary, RunArgs};

#[derive(Debug, Args)]
pub struct GateArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The gates (TOML): thresholds, absolute or relative to the champion.
    #[arg(long)]
    pub gates: PathBuf,
    /// The report directory of the model now in production, run on the same data and
    /// risk settings; needed by relative gates such as `min_sharpe = "champion + 0.1"`.
    #[arg(long)]
    pub champion: Option<PathBuf>,
}

/// Exit 0 when every gate passed, 1 when one failed (errors exit 2 in `main`).
pub fn run(args: GateArgs) -> anyhow::Result<ExitCode> {
    let options = RunOptions {
        out: args.run.out,
        threads: args.run.threads,
        gates: Some(args.gates),
        champion: args.champion,
        progress: !args.run.quiet,
    };
    let outcome = run_to_dir(&args.run.config, &options)?;
    print_summary(&outcome, args.run.quiet);
    Ok(exit_code(&outcome.report))
}
