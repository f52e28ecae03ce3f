//! `gauntlet data synth`: write a deterministic synthetic universe.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Number of symbols (BTC-USD, ETH-USD, SOL-USD first, then plausible tickers).
    #[arg(long, default_value_t = 100)]
    pub symbols: usize,
    /// Length of the universe in days.
    #[arg(long, default_value_t = 90)]
    pub days: u32,
    /// Bar interval of the generated candles.
    #[arg(long, default_value = "1m")]
    pub interval: gauntlet_datasets::Interval,
    /// Random seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Output directory (one `<SYMBOL>_<interval>.<ext>` file per symbol).
    #[arg(long)]
    pub out: PathBuf,
    /// File format.
    #[arg(long, default_value = "parquet")]
    pub format: gauntlet_datasets::FileFormat,
}

pub fn run(_args: SynthArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("data synth: being implemented")
}
