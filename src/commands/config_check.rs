//! `gauntlet config check`: validates a run config without running it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::config::RunConfig;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The run config (TOML).
    pub file: PathBuf,
}

/// Prints a summary of a valid config (exit 0) or every problem with its key and line
/// (exit 2, through the error path).
pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let config = RunConfig::load(&args.file)?;
    let models = config
        .models
        .as_ref()
        .map_or(0, |m| m.ensemble.members.len());
    println!(
        "{}: ok — data {} ({}), features {} ({} columns), {} model(s), strategy {}, reports to {}",
        args.file.display(),
        config.data.path.display(),
        config.data.interval,
        config.features.name(),
        config.features.len(),
        models,
        config.strategy.name(),
        config.reporting.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
