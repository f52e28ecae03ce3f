//! Command-line definitions (clap derive). Each command's arguments live next to
//! its implementation in `commands/`.

use clap::{Parser, Subcommand};

use crate::commands::{
    backtest, calibrate, config_check, data_resample, data_synth, data_validate, demo,
    features_export, features_list, gate, models_bundle, models_check, models_inspect,
    models_score, regress, sweep,
};

/// gauntlet: the gate between a trained trading model and real money.
///
/// Replays candles through the feature pipeline the models were trained on, runs the
/// model ensemble, simulates fills and risk rules, and decides with numbers and an
/// exit code (0 pass, 1 a gate failed, 2 error) whether a model may be promoted.
#[derive(Debug, Parser)]
#[command(name = "gauntlet", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Market data: generate a synthetic universe, validate and resample candles.
    #[command(subcommand)]
    Data(DataCommand),
    /// Model bundles: write, inspect, preflight-check and score models (ONNX, XGBoost
    /// JSON, LightGBM text).
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Feature sets: list their features, parameters, warm-up and manifest hash.
    #[command(subcommand)]
    Features(FeaturesCommand),
    /// Run configs: check one without running it.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run the full pipeline of a run config (load, features, models, simulation) and
    /// write the reports.
    Backtest(backtest::RunArgs),
    /// Backtest, then decide with the promotion gates: exit 0 pass, 1 a gate failed,
    /// 2 error. Gates may be relative to a champion's report (`--champion DIR`).
    Gate(gate::GateArgs),
    /// Run a grid of fills/risk/strategy settings over one prepared run (features and
    /// predictions computed once), ranked by an objective, optionally walk-forward.
    Sweep(sweep::SweepArgs),
    /// Generate a small synthetic universe, run the bundled models through backtest and
    /// gates, and write the reports to ./gauntlet-demo/.
    Demo(demo::DemoArgs),
    /// Compare a candidate report with a baseline under tolerances; exit 1 on regression.
    Regress(regress::RegressArgs),
    /// Fit one temperature per ensemble member on a stated window; writes new bundles.
    Calibrate(Box<calibrate::CalibrateArgs>),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a run config; every problem is listed with its key and line (exit 2).
    Check(config_check::CheckArgs),
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Generate a deterministic synthetic universe of 1m..1d candles.
    Synth(data_synth::SynthArgs),
    /// Check candle files and print a per-symbol table; exit 1 on any error.
    Validate(data_validate::ValidateArgs),
    /// Aggregate candles to a coarser interval (e.g. 1m -> 5m).
    Resample(data_resample::ResampleArgs),
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Write NAME.bundle.json next to a model file (manifest + scaler + training facts).
    Bundle(Box<models_bundle::BundleArgs>),
    /// Show a model file's format, graph, bundle and the engine that would score it.
    Inspect(models_inspect::InspectArgs),
    /// Preflight bundles against a feature pipeline; exit 1 if any fails.
    Check(models_check::CheckArgs),
    /// Score a table of feature rows with one model (parity checks, benchmarks).
    Score(models_score::ScoreArgs),
}

#[derive(Debug, Subcommand)]
pub enum FeaturesCommand {
    /// Print a feature set's names, parameters, warm-up and manifest hash.
    List(features_list::ListArgs),
    /// Export a training table (features in manifest order, optional labels) and its
    /// manifest, computed by the same pipeline the backtest uses.
    Export(Box<features_export::ExportArgs>),
}
