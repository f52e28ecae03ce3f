//! `gauntlet models score`: score a table of feature rows with one model
//! ([`gauntlet_run::score`] says how), for parity checks and benchmarks.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use gauntlet_datasets::table::Table;
use gauntlet_datasets::FileFormat;
use gauntlet_run::score::{score_table, ScoreOptions};

use super::models_bundle::KindArg;
use super::models_check::EngineArg;

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// A bundle (`NAME.bundle.json` or `NAME`) or a bare model file (`.onnx`, XGBoost
    /// `.json`, LightGBM `.txt`).
    #[arg(long)]
    pub model: PathBuf,
    /// Parquet table of feature rows (e.g. from `gauntlet features export`).
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write the scores (`.parquet` or `.csv`).
    #[arg(long)]
    pub out: PathBuf,
    /// Which engine scores an ONNX model.
    #[arg(long, value_enum, default_value = "auto")]
    pub engine: EngineArg,
    /// Bare model files: the ONNX output holding the scores.
    #[arg(long, default_value = "probabilities")]
    pub output: String,
    /// Bare XGBoost / LightGBM files: probabilities (predict_proba) or logits (margins).
    #[arg(long, value_enum, default_value = "probabilities")]
    pub kind: KindArg,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Rows per inference call.
    #[arg(long, default_value_t = 4096)]
    pub batch_size: usize,
}

pub fn run(args: ScoreArgs) -> anyhow::Result<ExitCode> {
    let format = match args.out.extension().and_then(|e| e.to_str()) {
        Some("parquet") => FileFormat::Parquet,
        Some("csv") => FileFormat::Csv,
        _ => bail!("--out {}: name a .parquet or .csv file", args.out.display()),
    };
    let table = Table::read_parquet(&args.input)?;
    let options = ScoreOptions {
        engine: args.engine.into(),
        bare_output: args.output,
        bare_kind: args.kind.into(),
        threads: args.threads,
        batch_size: args.batch_size,
    };
    let scored = score_table(&args.model, &table, &args.input, &options)?;
    scored
        .table
        .write(&args.out, format)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "scored {} of {} rows with {} ({}) in {:.3}s ({:.0} rows/s on {} threads); wrote {}",
        scored.scored,
        scored.rows,
        scored.model,
        scored.engine,
        scored.elapsed.as_secs_f64(),
        scored.scored as f64 / scored.elapsed.as_secs_f64().max(1e-9),
        scored.threads,
        args.out.display()
    );
    if scored.scored < scored.rows {
        println!(
            "{} rows have a non-finite feature and were not scored (NaN in the output)",
            scored.rows - scored.scored
        );
    }
    Ok(ExitCode::SUCCESS)
}
