//! `gauntlet data validate`: check candle files, print a per-symbol table.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A directory of `<SYMBOL>_<interval>.parquet|csv` files, or one long file with a
    /// `symbol` column.
    pub path: PathBuf,
}

pub fn run(_args: ValidateArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("data validate: being implemented")
}
