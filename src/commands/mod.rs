//! One file per command; each exposes its clap `Args` and a `run` function.

use std::process::ExitCode;

use crate::cli::{Cli, Command, ConfigCommand, DataCommand, FeaturesCommand, ModelsCommand};

pub mod backtest;
pub mod calibrate;
pub mod config_check;
pub mod data_resample;
pub mod data_synth;
pub mod data_validate;
pub mod demo;
pub mod features_export;
pub mod features_list;
pub mod gate;
pub mod models_bundle;
pub mod models_check;
pub mod models_inspect;
pub mod models_score;
pub mod regress;
pub mod sweep;

/// Runs the chosen command; the returned code is the process exit code
/// (0 success / pass, 1 a check or gate failed). Errors become exit code 2 in `main`.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Data(DataCommand::Synth(args)) => data_synth::run(args),
        Command::Data(DataCommand::Validate(args)) => data_validate::run(args),
        Command::Data(DataCommand::Resample(args)) => data_resample::run(args),
        Command::Models(ModelsCommand::Bundle(args)) => models_bundle::run(*args),
        Command::Models(ModelsCommand::Inspect(args)) => models_inspect::run(args),
        Command::Models(ModelsCommand::Check(args)) => models_check::run(args),
        Command::Models(ModelsCommand::Score(args)) => models_score::run(args),
        Command::Features(FeaturesCommand::List(args)) => features_list::run(args),
        Command::Features(FeaturesCommand::Export(args)) => features_export::run(*args),
        Command::Config(ConfigCommand::Check(args)) => config_check::run(args),
        Command::Backtest(args) => backtest::run(args),
        Command::Gate(args) => gate::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Regress(args) => regress::run(args),
        Command::Calibrate(args) => calibrate::run(*args),
    }
}
