//! `gauntlet models score`: one model over a table of feature rows, for parity checks
//! against the training library and for benchmarks.
//!
//! With a bundle, the table's columns are picked by the bundle's feature names and
//! scaled by its scaler, as a backtest would feed them. With a bare model file (ONNX,
//! XGBoost JSON, LightGBM text), its float columns other than `symbol`, `ts` and `label`
//! are the model's inputs, in table order, unscaled. The scores hold `symbol` and `ts`
//! when the input has them, then one column per class (named by the bundle's class
//! labels, else `c0`, `c1`…) with the model's raw output — probabilities or logits as
//! declared, before any temperature; rows with a non-finite feature are not scored
//! (NaN) and counted.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use gauntlet_datasets::table::{ColumnValues, Table};
use gauntlet_strategies::models::{
    bundle_json_path, preflight, EnginePreference, ExpectedFeatures, FeatureRows, ModelBundle,
    OutputKind, PreflightOptions,
};
use rayon::prelude::*;

use crate::pipeline::thread_pool;

/// Rows scored per task: the tasks spread over the threads.
const ROWS_PER_TASK: usize = 65_536;

/// How to score.
#[derive(Debug, Clone)]
pub struct ScoreOptions {
    /// Which engine scores an ONNX model.
    pub engine: EnginePreference,
    /// Bare model files: the ONNX output holding the scores.
    pub bare_output: String,
    /// Bare model files: what their output holds (XGBoost / LightGBM: probabilities
    /// from predict_proba, logits from the raw margins).
    pub bare_kind: OutputKind,
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Rows per inference call.
    pub batch_size: usize,
}

/// A scored table and how the scoring went.
#[derive(Debug)]
pub struct Scored {
    /// `symbol`, `ts` (when the input has them), then one column per class.
    pub table: Table,
    pub rows: usize,
    /// Rows with every feature finite, hence scored.
    pub scored: usize,
    pub model: String,
    /// The engine that scored, as `models inspect` names it.
    pub engine: String,
    pub threads: usize,
    /// The scoring alone, without reading, checking or writing.
    pub elapsed: Duration,
}

/// Scores every row of `table` (read from `input`, named in errors) with `model`, a
/// bundle (`NAME.bundle.json` or `NAME`) or a bare model file, after the bundle passes
/// preflight against its own feature names.
pub fn score_table(
    model: &Path,
    table: &Table,
    input: &Path,
    options: &ScoreOptions,
) -> anyhow::Result<Scored> {
    let bundle_path = bundle_json_path(model);
    let bundle = if bundle_path.is_file() {
        ModelBundle::load(&bundle_path)?
    } else {
        ModelBundle::bare(
            model,
            feature_columns(table),
            &options.bare_output,
            options.bare_kind,
        )?
    };
    let spec = &bundle.bundle;
    let names = spec.features.names.clone();
    let values = row_major(table, &names, input)?;
    let expected = ExpectedFeatures {
        set_name: spec.features.set_name.clone(),
        manifest_hash: spec.features.manifest_hash.clone(),
        names: names.clone(),
    };
    let classes = spec.output.class_labels.clone();
    let preflight_options = PreflightOptions {
        engine: options.engine,
        ..PreflightOptions::default()
    };
    let mut scorer = preflight(bundle, &expected, &preflight_options)?;
    let pool = thread_pool(options.threads)?;
    scorer.ensure_workers(pool.current_num_threads())?;

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
                Ok(scorer.score_raw(worker, &rows, options.batch_size)?)
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
    Ok(Scored {
        table: out,
        rows: ready.len(),
        scored: ready.iter().filter(|r| **r).count(),
        model: scorer.name().to_string(),
        engine: scorer.engine().to_string(),
        threads: pool.current_num_threads(),
        elapsed,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut table = Table::new();
        table
            .push("symbol", ColumnValues::Str(vec!["A".into(), "B".into()]))
            .unwrap();
        table
            .push("ts", ColumnValues::I64(vec![0, 60_000]))
            .unwrap();
        table
            .push("b", ColumnValues::F64(vec![0.5, f64::NAN]))
            .unwrap();
        table.push("a", ColumnValues::F32(vec![1.0, 2.0])).unwrap();
        table
            .push("label", ColumnValues::OptStr(vec![Some("up".into()), None]))
            .unwrap();
        table
    }

    #[test]
    fn bare_models_read_the_float_columns_in_table_order() {
        assert_eq!(feature_columns(&table()), ["b", "a"]);
    }

    #[test]
    fn rows_are_gathered_in_the_named_order() {
        let names = ["a".to_string(), "b".to_string()];
        let values = row_major(&table(), &names, Path::new("rows.parquet")).unwrap();
        assert_eq!(values[..3], [1.0, 0.5, 2.0]);
        assert!(values[3].is_nan());
    }

    #[test]
    fn missing_and_non_float_columns_are_named() {
        let path = Path::new("rows.parquet");
        let err = row_major(&table(), &["c".to_string()], path).unwrap_err();
        assert_eq!(
            err.to_string(),
            "rows.parquet: the model needs column \"c\", which the table does not have"
        );
        let err = row_major(&table(), &["symbol".to_string()], path).unwrap_err();
        assert!(err.to_string().contains("\"symbol\" is not a float column"));
    }
}
