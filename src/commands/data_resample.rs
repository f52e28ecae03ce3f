//! `gauntlet data resample`: aggregate candles to a coarser interval.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct ResampleArgs {
    /// Input directory or long file.
    pub path: PathBuf,
    /// Target interval (coarser than the input).
    #[arg(long)]
    pub to: gauntlet_datasets::Interval,
    /// Output directory (one file per symbol).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(_args: ResampleArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("data resample: being implemented")
}
