//! The training table of `gauntlet features export`: features computed by the same
//! pipeline the backtest uses, written as Parquet with the manifest the model must be
//! bundled with beside it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use gauntlet_datasets::table::{ColumnValues, Table};
use gauntlet_datasets::{CandleSeries, FileFormat};
use gauntlet_reports::render::write_atomically;
use gauntlet_strategies::features::{
    compute_universe_as, forward_return_labels, FeatureMatrix, FeatureSet, FeatureValue, Label,
};

/// Element type of the feature columns; models consume f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    F32,
    F64,
}

/// The `label` column: down/flat/up from `close[t+horizon]/close[t] − 1` against
/// ±`flat_threshold`; the last `horizon` rows of each symbol stay unlabelled (null).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelRule {
    pub horizon: usize,
    pub flat_threshold: f64,
}

/// Where the training table goes: a `.parquet` file, with its manifest at
/// `<stem>.manifest.json` beside it. Checked before any work is done.
#[derive(Debug, Clone)]
pub struct TableOut {
    table: PathBuf,
    manifest: PathBuf,
}

impl TableOut {
    pub fn new(table: &Path) -> anyhow::Result<Self> {
        if table.extension().is_none_or(|e| e != "parquet") {
            bail!(
                "--out {} must name a .parquet file (the manifest is written beside it)",
                table.display()
            );
        }
        let stem = table
            .file_stem()
            .map_or_else(|| "features".into(), |s| s.to_string_lossy().into_owned());
        Ok(Self {
            table: table.to_path_buf(),
            manifest: table.with_file_name(format!("{stem}.manifest.json")),
        })
    }

    pub fn manifest(&self) -> &Path {
        &self.manifest
    }
}

/// What [`export_training_table`] wrote.
#[derive(Debug, Clone)]
pub struct Exported {
    pub rows: usize,
    pub manifest_hash: String,
}

/// Writes `symbol, ts, <features in manifest order>[, label]` of every ready row of
/// `series` to `out` and the set's manifest beside it, each file complete or not at
/// all. A row that is
/// not ready (warm-up, unusable bar) has no complete feature vector and is left out.
pub fn export_training_table(
    set: &FeatureSet,
    series: &[CandleSeries],
    labels: Option<LabelRule>,
    precision: Precision,
    out: &TableOut,
) -> anyhow::Result<Exported> {
    let labels = labels
        .map(|rule| {
            series
                .iter()
                .map(|s| forward_return_labels(s.close(), rule.horizon, rule.flat_threshold))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    if let Some(dir) = out.table.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let table = match precision {
        Precision::F32 => training_table::<f32>(set, series, labels.as_deref())?,
        Precision::F64 => training_table::<f64>(set, series, labels.as_deref())?,
    };
    table
        .write(&out.table, FileFormat::Parquet)
        .with_context(|| format!("writing {}", out.table.display()))?;
    let manifest = set.manifest();
    write_atomically(&out.manifest, manifest.to_json_pretty().as_bytes())?;
    Ok(Exported {
        rows: table.height(),
        manifest_hash: manifest.hash,
    })
}

/// Element types the table can hold.
trait ExportValue: FeatureValue {
    fn column(values: Vec<Self>) -> ColumnValues;
}

impl ExportValue for f32 {
    fn column(values: Vec<Self>) -> ColumnValues {
        ColumnValues::F32(values)
    }
}

impl ExportValue for f64 {
    fn column(values: Vec<Self>) -> ColumnValues {
        ColumnValues::F64(values)
    }
}

/// Columns `symbol, ts, <features in manifest order>[, label]`, ready rows only.
fn training_table<T: ExportValue>(
    set: &FeatureSet,
    series: &[CandleSeries],
    labels: Option<&[Vec<Option<Label>>]>,
) -> anyhow::Result<Table> {
    let matrices: Vec<FeatureMatrix<T>> = compute_universe_as::<T>(set, series)?;
    let rows: usize = matrices
        .iter()
        .map(|m| m.ready.iter().filter(|&&r| r).count())
        .sum();
    let mut symbols = Vec::with_capacity(rows);
    let mut ts = Vec::with_capacity(rows);
    let mut columns: Vec<Vec<T>> = (0..set.len()).map(|_| Vec::with_capacity(rows)).collect();
    let mut label_column = labels.map(|_| Vec::with_capacity(rows));
    for (index, matrix) in matrices.iter().enumerate() {
        for (row, values) in matrix.values.rows().into_iter().enumerate() {
            if !matrix.ready[row] {
                continue;
            }
            symbols.push(matrix.symbol.clone());
            ts.push(matrix.ts[row]);
            for (column, &value) in columns.iter_mut().zip(values.iter()) {
                column.push(value);
            }
            if let (Some(out), Some(labels)) = (label_column.as_mut(), labels) {
                out.push(labels[index][row].map(|l| l.as_str().to_string()));
            }
        }
    }
    let mut table = Table::new();
    table.push("symbol", ColumnValues::Str(symbols))?;
    table.push("ts", ColumnValues::I64(ts))?;
    for (name, values) in set.names().into_iter().zip(columns) {
        table.push(name, T::column(values))?;
    }
    if let Some(labels) = label_column {
        table.push("label", ColumnValues::OptStr(labels))?;
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gauntlet_datasets::synth::{generate, SynthConfig};

    #[test]
    fn the_manifest_sits_beside_a_parquet_table() {
        let out = TableOut::new(Path::new("out/train.parquet")).unwrap();
        assert_eq!(out.manifest(), Path::new("out/train.manifest.json"));
        let err = TableOut::new(Path::new("out/train.csv")).unwrap_err();
        assert!(
            err.to_string().contains("must name a .parquet file"),
            "{err}"
        );
    }

    #[test]
    fn ready_rows_with_labels_and_the_manifest_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train.parquet");
        let out = TableOut::new(&path).unwrap();
        let set = FeatureSet::load("core31").unwrap();
        let series = generate(&SynthConfig {
            symbols: 2,
            days: 1,
            ..SynthConfig::default()
        })
        .unwrap();
        let rule = LabelRule {
            horizon: 5,
            flat_threshold: 0.001,
        };
        let exported =
            export_training_table(&set, &series, Some(rule), Precision::F32, &out).unwrap();
        let table = Table::read_parquet(&path).unwrap();
        let ready: usize = compute_universe_as::<f32>(&set, &series)
            .unwrap()
            .iter()
            .map(|m| m.ready.iter().filter(|&&r| r).count())
            .sum();
        assert!(ready > 0);
        assert_eq!((exported.rows, table.height()), (ready, ready));
        let names: Vec<&str> = table.columns().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names.len(), 2 + set.len() + 1);
        assert_eq!(
            (names[0], names[1], names[names.len() - 1]),
            ("symbol", "ts", "label")
        );
        assert!(matches!(
            table.column(set.names()[0]),
            Some(ColumnValues::F32(_))
        ));
        let manifest = std::fs::read_to_string(out.manifest()).unwrap();
        assert!(manifest.contains(&exported.manifest_hash));
    }
}
