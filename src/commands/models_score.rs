//! `gauntlet models score`: score a table of feature rows with one model, for parity
//! checks against the training library and for benchmarks.
//!
//! With a bundle, the table's columns are picked by the bundle's feature names and
//! scaled by its scaler, as a backtest would feed them. With a bare model file (ONNX,
//! XGBoost JSON, LightGBM text), its float columns other than `symbol`, `ts` and `label`
//! are the model's inputs, in table order, unscaled. The output holds `symbol` and `ts`
//! when the input has them, then one column per class (named by the bundle's class
//! labels, else `c0`, `c1`…) with the model's raw output — probabilities or logits as
//! declared, before any temperature; rows with a non-finite feature are not scored
//! (NaN) and counted.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use gauntlet_datasets::table::{ColumnValues, Table};
use gauntlet_datasets::FileFormat;
use gauntlet_run::pipeline::thread_pool;
use gauntlet_strategies::models::{
    bundle_json_path, preflight, ExpectedFeatures, FeatureRows, ModelBundle, OutputKind,
    PreflightOptions,
};
use rayon::prelude::*;

use super::models_bundle::KindArg;
use super::models_check::EngineArg;

/// Rows scored per task: the tasks spread over the threads.
const ROWS_PER_TASK: usize = 65_536;

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

/// The table's float columns that are model inputs when no bundle names them.
fn feature_columns(table: &Table) -> Vec<String> {
    table
        .columns()
        .iter()
        .filter(|(name, values)| {
            !matches!(name.as_str(), "symbol" | "ts" | "label")
                && matches!(values, ColumnValues::F32(_) | ColumnValues::F64(_))
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Row-major f32 values of `names` (f64 columns rounded to f32, as the pipeline does).
fn row_major(table: &Table, names: &[String], path: &Path) -> anyhow::Result<Vec<f32>> {
    let height = table.height();
    let mut values = vec![0f32; height * names.len()];
    for (column, name) in names.iter().enumerate() {
        let slot = |row: usize| row * names.len() + column;
        match table.column(name) {
            Some(ColumnValues::F32(v)) => v
                .iter()
                .enumerate()
                .for_each(|(row, &x)| values[slot(row)] = x),
            Some(ColumnValues::F64(v)) => v
                .iter()
                .enumerate()
                .for_each(|(row, &x)| values[slot(row)] = x as f32),
            Some(_) => bail!("{}: column {name:?} is not a float column", path.display()),
            None => bail!(
                "{}: the model needs column {name:?}, which the table does not have",
                path.display()
            ),
        }
    }
    Ok(values)
}

pub fn run(args: ScoreArgs) -> anyhow::Result<ExitCode> {
    let format = match args.out.extension().and_then(|e| e.to_str()) {
        Some("parquet") => FileFormat::Parquet,
        Some("csv") => FileFormat::Csv,
        _ => bail!("--out {}: name a .parquet or .csv file", args.out.display()),
    };
    let table = Table::read_parquet(&args.input)?;
    let bundle_path = bundle_json_path(&args.model);
    let bundle = if bundle_path.is_file() {
        ModelBundle::load(&bundle_path)?
    } else {
        let kind = match args.kind {
            KindArg::Probabilities => OutputKind::Probabilities,
            KindArg::Logits => OutputKind::Logits,
        };
        ModelBundle::bare(&args.model, feature_columns(&table), &args.output, kind)?
    };
    let spec = &bundle.bundle;
    let names = spec.features.names.clone();
    let values = row_major(&table, &names, &args.input)?;
    let expected = ExpectedFeatures {
        set_name: spec.features.set_name.clone(),
        manifest_hash: spec.features.manifest_hash.clone(),
        names: names.clone(),
    };
    let classes = spec.output.class_labels.clone();
    let options = PreflightOptions {
        engine: args.engine.into(),
        ..PreflightOptions::default()
    };
    let mut model = preflight(bundle, &expected, &options)?;
    let pool = thread_pool(args.threads)?;
    model.ensure_workers(pool.current_num_threads())?;

    let width = names.len();
    let ready: Vec<bool> = values
        .chunks_exact(width)
        .map(|row| row.iter().all(|x| x.is_finite()))
        .collect();
    let started = Instant::now();
    let scores = pool.install(|| {
        values
            .par_chunks(ROWS_PER_TASK * width)
            .zip(ready.par_chunks(ROWS_PER_TASK))
            .map(|(values, ready)| {
                let rows = FeatureRows::new(values, width, ready)?;
                let worker = rayon::current_thread_index().unwrap_or(0);
                Ok(model.score_raw(worker, &rows, args.batch_size)?)
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let elapsed = started.elapsed();

    let mut out = Table::new();
    for key in ["symbol", "ts"] {
        if let Some(column) = table.column(key) {
            out.push(key, column.clone())?;
        }
    }
    for (class, label) in classes.iter().enumerate() {
        let column = scores
            .iter()
            .flat_map(|s| {
                s.probabilities
                    .chunks_exact(classes.len())
                    .map(move |row| row[class])
            })
            .collect();
        out.push(label.as_str(), ColumnValues::F32(column))?;
    }
    out.write(&args.out, format)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let scored = ready.iter().filter(|r| **r).count();
    println!(
        "scored {scored} of {} rows with {} ({}) in {:.3}s ({:.0} rows/s on {} threads); wrote {}",
        ready.len(),
        model.name(),
        model.engine(),
        elapsed.as_secs_f64(),
        scored as f64 / elapsed.as_secs_f64().max(1e-9),
        pool.current_num_threads(),
        args.out.display()
    );
    if scored < ready.len() {
        println!(
            "{} rows have a non-finite feature and were not scored (NaN in the output)",
            ready.len() - scored
        );
    }
    Ok(ExitCode::SUCCESS)
}
