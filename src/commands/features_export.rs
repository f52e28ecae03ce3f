//! `gauntlet features export`: the training table, computed by the same pipeline the
//! backtest uses, plus the manifest the model must be bundled with.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use gauntlet_datasets::table::{ColumnValues, Table};
use gauntlet_datasets::{
    ensure_clean, resample_all, validate_universe, CandleSeries, FileFormat, Interval,
};
use gauntlet_strategies::features::{
    compute_universe_as, forward_return_labels, FeatureMatrix, FeatureSet, FeatureValue, Label,
};

use super::data_validate::{load_and_describe, SelectArgs, WindowArgs};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Candle data: a directory of `<SYMBOL>_<interval>` files or one long file.
    #[arg(long)]
    pub data: PathBuf,
    /// A built-in set (core31, mtf50) or a custom-set .toml file.
    #[arg(long)]
    pub set: String,
    /// Resample the data to this coarser interval before computing features
    /// (e.g. 1m data exported at 5m); without it the data's own interval is used.
    #[arg(long)]
    pub resample: Option<Interval>,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Add a `label` column (down/flat/up) from `close[t+H]/close[t] - 1` against
    /// ±flat-threshold; the last H rows of each symbol stay unlabelled (null).
    #[arg(long, requires = "flat_threshold")]
    pub label_horizon: Option<usize>,
    /// The flat band for labels, as a fraction (0.001 = 0.1%).
    #[arg(long, requires = "label_horizon")]
    pub flat_threshold: Option<f64>,
    /// Element type of the feature columns; models consume f32.
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    pub precision: Precision,
    /// Output Parquet file; the manifest is written beside it as `<stem>.manifest.json`.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Precision {
    F32,
    F64,
}

pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let set = FeatureSet::load(&args.set)?;
    if args.out.extension().is_none_or(|e| e != "parquet") {
        bail!(
            "--out {} must name a .parquet file (the manifest is written beside it)",
            args.out.display()
        );
    }
    let request = args.select.request(args.data.clone(), args.window.window());
    let universe = load_and_describe(&request)?;
    // The same refusal as `backtest`: features of bad candles would be silently wrong.
    ensure_clean(&validate_universe(&universe))?;
    let series = match args.resample {
        Some(to) if to != universe.interval => {
            let resampled = resample_all(&universe.series, to)?;
            let partial: usize = resampled.iter().map(|r| r.partial_buckets).sum();
            println!(
                "resampled {} -> {to}: {partial} partial buckets kept",
                universe.interval
            );
            resampled.into_iter().map(|r| r.series).collect()
        }
        _ => universe.series,
    };
    let labels = match (args.label_horizon, args.flat_threshold) {
        (Some(horizon), Some(threshold)) => Some(
            series
                .iter()
                .map(|s| forward_return_labels(s.close(), horizon, threshold))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        _ => None,
    };
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let table = match args.precision {
        Precision::F32 => export_table::<f32>(&set, &series, labels.as_deref())?,
        Precision::F64 => export_table::<f64>(&set, &series, labels.as_deref())?,
    };
    table
        .write(&args.out, FileFormat::Parquet)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let manifest_path = manifest_path(&args.out);
    let manifest = set.manifest();
    write_atomically(&manifest_path, manifest.to_json_pretty().as_bytes())?;
    println!(
        "wrote {} rows x {} features ({}) of {} symbols to {}\nmanifest {} ({})",
        table.height(),
        set.len(),
        set.name(),
        series.len(),
        args.out.display(),
        manifest_path.display(),
        manifest.hash
    );
    Ok(ExitCode::SUCCESS)
}

/// `<dir>/<stem>.manifest.json` for `<dir>/<stem>.parquet`.
fn manifest_path(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map_or_else(|| "features".into(), |s| s.to_string_lossy().into_owned());
    out.with_file_name(format!("{stem}.manifest.json"))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
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

/// Columns `symbol, ts, <features in manifest order>[, label]`, ready rows only (a
/// row that is not ready — warm-up, unusable bar — has no complete feature vector).
fn export_table<T: ExportValue>(
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
