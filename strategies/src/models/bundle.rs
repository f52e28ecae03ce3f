//! Model bundles: a model file (ONNX, XGBoost JSON or LightGBM text) +
//! `NAME.bundle.json`, the JSON describing everything a backtest must reproduce from
//! training (feature order, scaler, output semantics, labels, training window) plus
//! optional reference rows to re-score.
//!
//! The JSON is written by `gauntlet models bundle` (see [`BundleSpec`]) so users never
//! write it by hand. Schema version [`BUNDLE_SCHEMA_VERSION`]; unknown keys are errors.
//! Version 1 bundles (ONNX only, `onnx_file` / `onnx_sha256`) are still read.

use std::path::{Path, PathBuf};

use gauntlet_datasets::table::{ColumnValues, Table};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::onnx_proto::{parse_onnx, OnnxFileInfo};
use super::trees::TreeModel;
use crate::features::FeatureManifest;

/// Version of the `bundle.json` schema this build writes (it also reads version 1).
pub const BUNDLE_SCHEMA_VERSION: u32 = 2;

/// The contents of `NAME.bundle.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Must equal [`BUNDLE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Model name (the member name in an ensemble by default).
    pub name: String,
    /// The model file, relative to the bundle.json's directory (`onnx_file` in version 1).
    #[serde(alias = "onnx_file")]
    pub model_file: String,
    /// Lower-case hex SHA-256 of the model file, so a replaced or damaged file is caught
    /// (`onnx_sha256` in version 1).
    #[serde(alias = "onnx_sha256")]
    pub model_sha256: String,
    /// What the model file is (default `onnx`).
    #[serde(default)]
    pub model_format: ModelFormat,
    /// The feature pipeline the model was trained on.
    pub features: BundleFeatures,
    pub input: InputSpec,
    /// `standard` (default): `z = (x - mean) / std` per feature with [`Bundle::scaler`];
    /// `none`: the model takes raw features (must be declared explicitly).
    #[serde(default)]
    pub scaling: Scaling,
    /// Required when `scaling` is `standard`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaler: Option<Scaler>,
    pub output: OutputSpec,
    pub labels: LabelSpec,
    pub training_window: TrainingWindow,
    /// Rows re-scored by preflight and compared with the training environment's outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceRows>,
    /// Where `output.temperature` came from when `gauntlet calibrate` fitted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<CalibrationRecord>,
}

/// How a calibrated bundle's temperature was fitted: minimum NLL over the labelled rows
/// whose bar opened in `[from, to)` (RFC 3339, UTC).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationRecord {
    pub from: String,
    pub to: String,
    /// Labelled, scored rows the fit used.
    pub rows: usize,
    /// The temperature of the bundle it was calibrated from.
    pub previous_temperature: f64,
    /// File name of the bundle it was calibrated from.
    pub calibrated_from: String,
}

/// Feature set name, manifest hash and the ordered feature names the model expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleFeatures {
    pub set_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_version: Option<u32>,
    pub manifest_hash: String,
    pub names: Vec<String>,
}

/// The format of a bundle's model file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelFormat {
    /// An ONNX graph: tree ensembles run on the native evaluator, everything else on ONNX
    /// Runtime.
    #[default]
    Onnx,
    /// XGBoost's JSON model (`Booster.save_model("model.json")`), evaluated natively.
    XgboostJson,
    /// LightGBM's text model (`Booster.save_model("model.txt")`), evaluated natively.
    LightgbmText,
}

impl ModelFormat {
    /// The format of `bytes`, read from `path`: `.onnx` files are ONNX; a JSON document
    /// with a `learner` object is XGBoost's; text starting with `tree` is LightGBM's.
    pub fn detect(path: &Path, bytes: &[u8]) -> Option<Self> {
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
        if extension.eq_ignore_ascii_case("onnx") {
            Some(Self::Onnx)
        } else if text.trim_start().starts_with('{') && text.contains("\"learner\"") {
            Some(Self::XgboostJson)
        } else if text.starts_with("tree\n") || text.starts_with("tree\r\n") {
            Some(Self::LightgbmText)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Onnx => "onnx",
            Self::XgboostJson => "xgboost_json",
            Self::LightgbmText => "lightgbm_text",
        }
    }
}

/// The input the features are fed to and its layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Name of the ONNX graph input (not used for XGBoost and LightGBM files).
    pub name: String,
    pub layout: InputLayout,
    /// Rows per window for `sequence` models (L in [N, L, F]); absent for `rows`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputLayout {
    /// `[N, F]`: one feature row per prediction.
    Rows,
    /// `[N, L, F]`: the last L feature rows (oldest first) per prediction.
    Sequence,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    #[default]
    Standard,
    None,
}

/// Per-feature standardisation `z_j = (x_j - mean_j) / std_j`, applied in f32.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scaler {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

/// What [`Scaler::fit`] does with a feature whose training values are all equal (std 0,
/// so `(x - mean) / std` is undefined).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZeroVariance {
    /// Refuse to fit, naming the features.
    Refuse,
    /// Use std 1 for them (z = x − mean), as asked explicitly, and say which.
    StdOne,
}

/// A scaler fitted on a training table, and what it was fitted on.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedScaler {
    pub scaler: Scaler,
    /// Rows the mean and std were computed over.
    pub rows: usize,
    /// Rows left out because their `label` is null (the last horizon rows of a symbol).
    pub unlabelled: usize,
    /// Zero-variance features given std 1 ([`ZeroVariance::StdOne`]).
    pub std_one: Vec<String>,
}

/// Why a scaler cannot be fitted on a training table.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScalerFitError {
    #[error(
        "no column {name:?} (position {position} in the manifest); the table must be the \
         `gauntlet features export` output of this manifest"
    )]
    MissingColumn { name: String, position: usize },
    #[error(
        "feature column(s) the manifest does not list: {}; the table was exported for \
         another feature set",
        .0.join(", ")
    )]
    ExtraColumns(Vec<String>),
    #[error("column {name:?} holds {found}, not floats")]
    NotFloat { name: String, found: &'static str },
    #[error("no rows with a label to fit the scaler on")]
    NoRows,
    #[error("column {name:?} has the non-finite value {value} at row {row}")]
    NonFinite {
        name: String,
        row: usize,
        value: f64,
    },
    #[error(
        "{} feature(s) have zero variance (every training value equal), so (x - mean) / std \
         is undefined: {}",
        .0.len(),
        .0.iter().map(|(i, name, value)| format!("{name}@{i} (always {value})")).collect::<Vec<_>>().join(", ")
    )]
    ZeroVariance(Vec<(usize, String, f64)>),
}

impl Scaler {
    /// Fits per-feature mean and **population** standard deviation (divisor n, i.e.
    /// numpy's default `ddof=0` and scikit-learn's `StandardScaler`) in f64, two-pass,
    /// over the columns `names` of a `gauntlet features export` table. With a `label`
    /// column only labelled rows count (the rows a model is trained on: the README's
    /// `drop_nulls("label")`). Columns other than `symbol`, `ts`, `label` and `names`
    /// are an error (a table of another feature set); so are non-finite values.
    pub fn fit(
        table: &Table,
        names: &[&str],
        zero_variance: ZeroVariance,
    ) -> Result<FittedScaler, ScalerFitError> {
        let extra: Vec<String> = table
            .columns()
            .iter()
            .map(|(name, _)| name)
            .filter(|name| !matches!(name.as_str(), "symbol" | "ts" | "label"))
            .filter(|name| !names.contains(&name.as_str()))
            .cloned()
            .collect();
        if !extra.is_empty() {
            return Err(ScalerFitError::ExtraColumns(extra));
        }
        let labelled: Vec<bool> = match table.column("label") {
            Some(ColumnValues::OptStr(labels)) => labels.iter().map(Option::is_some).collect(),
            _ => vec![true; table.height()],
        };
        let rows = labelled.iter().filter(|&&l| l).count();
        if rows == 0 {
            return Err(ScalerFitError::NoRows);
        }
        let mut scaler = Scaler {
            mean: Vec::with_capacity(names.len()),
            std: Vec::with_capacity(names.len()),
        };
        let mut constant = Vec::new();
        for (position, name) in names.iter().enumerate() {
            let values = float_column(table, name, position)?;
            let (mean, std) = mean_std(name, &values, &labelled, rows)?;
            if std == 0.0 {
                constant.push((position, name.to_string(), mean));
            }
            scaler.mean.push(mean);
            scaler.std.push(std);
        }
        if !constant.is_empty() && zero_variance == ZeroVariance::Refuse {
            return Err(ScalerFitError::ZeroVariance(constant));
        }
        for (position, _, _) in &constant {
            scaler.std[*position] = 1.0;
        }
        Ok(FittedScaler {
            scaler,
            rows,
            unlabelled: labelled.len() - rows,
            std_one: constant.into_iter().map(|(_, name, _)| name).collect(),
        })
    }
}

/// The column `name` as f64 values.
fn float_column(table: &Table, name: &str, position: usize) -> Result<Vec<f64>, ScalerFitError> {
    match table.column(name) {
        Some(ColumnValues::F64(values)) => Ok(values.clone()),
        Some(ColumnValues::F32(values)) => Ok(values.iter().map(|&v| f64::from(v)).collect()),
        Some(ColumnValues::I64(_)) => Err(ScalerFitError::NotFloat {
            name: name.to_string(),
            found: "integers",
        }),
        Some(ColumnValues::Str(_) | ColumnValues::OptStr(_)) => Err(ScalerFitError::NotFloat {
            name: name.to_string(),
            found: "text",
        }),
        None => Err(ScalerFitError::MissingColumn {
            name: name.to_string(),
            position,
        }),
    }
}

/// Mean and population std of the `rows` values whose `keep` entry is set (two passes,
/// so a large mean does not eat the variance).
fn mean_std(
    name: &str,
    values: &[f64],
    keep: &[bool],
    rows: usize,
) -> Result<(f64, f64), ScalerFitError> {
    let kept = || values.iter().zip(keep).filter(|(_, &k)| k).map(|(&v, _)| v);
    if let Some((row, &value)) = values
        .iter()
        .enumerate()
        .find(|(row, value)| keep[*row] && !value.is_finite())
    {
        return Err(ScalerFitError::NonFinite {
            name: name.to_string(),
            row,
            value,
        });
    }
    let mean = kept().sum::<f64>() / rows as f64;
    let variance = kept().map(|v| (v - mean) * (v - mean)).sum::<f64>() / rows as f64;
    Ok((mean, variance.sqrt()))
}

/// Which output holds the class scores and what they mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Name of the ONNX graph output (not used for XGBoost and LightGBM files, whose
    /// output is what `kind` says: `predict_proba`, or the raw margins as logits).
    pub name: String,
    pub kind: OutputKind,
    /// Class labels in output-column order, e.g. `["down", "flat", "up"]`.
    pub class_labels: Vec<String>,
    /// Calibration temperature T > 0 (default 1). Logits: `p = softmax(z / T)`;
    /// probabilities: `p = softmax(ln(p_model) / T)`, i.e. `p_i^(1/T) / sum_j p_j^(1/T)`.
    #[serde(default = "one")]
    pub temperature: f64,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    Probabilities,
    Logits,
}

impl OutputKind {
    /// The name used in bundle.json and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Probabilities => "probabilities",
            Self::Logits => "logits",
        }
    }
}

/// A class label listed twice ([`check_class_labels`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{label:?} is listed twice (columns {first} and {second} of {labels}); each output \
     column needs its own label"
)]
pub struct DuplicateClassLabel {
    pub label: String,
    pub first: usize,
    pub second: usize,
    /// All labels, comma-separated.
    pub labels: String,
}

/// Refuses class labels listed twice: two output columns with one name would make
/// every per-class number (and the ensemble's vote) ambiguous.
pub fn check_class_labels(labels: &[String]) -> Result<(), DuplicateClassLabel> {
    for (second, label) in labels.iter().enumerate() {
        if let Some(first) = labels[..second].iter().position(|l| l == label) {
            return Err(DuplicateClassLabel {
                label: label.clone(),
                first,
                second,
                labels: labels.join(","),
            });
        }
    }
    Ok(())
}

/// How the training labels were made: class of the return over `horizon_bars`, `flat`
/// when |return| ≤ `flat_threshold` (a fraction, 0.001 = 0.1%).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelSpec {
    pub horizon_bars: u32,
    pub flat_threshold: f64,
}

/// The span of bar open times (RFC 3339, UTC) the training data covered, label
/// horizon included: `[from, to]`, both inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingWindow {
    pub from: String,
    pub to: String,
}

/// A [`TrainingWindow`] that is not a span of time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrainingWindowError {
    #[error("training_window.{key} = {value:?} is not an RFC 3339 time: {reason}")]
    NotRfc3339 {
        key: &'static str,
        value: String,
        reason: String,
    },
    #[error("training_window.from ({from}) is after training_window.to ({to})")]
    Reversed { from: String, to: String },
}

impl TrainingWindow {
    /// `(from, to)` in ms since the Unix epoch.
    pub fn millis(&self) -> Result<(i64, i64), TrainingWindowError> {
        let parse = |key: &'static str, value: &str| {
            chrono::DateTime::parse_from_rfc3339(value)
                .map(|ts| ts.timestamp_millis())
                .map_err(|err| TrainingWindowError::NotRfc3339 {
                    key,
                    value: value.to_string(),
                    reason: err.to_string(),
                })
        };
        let from = parse("from", &self.from)?;
        let to = parse("to", &self.to)?;
        if from > to {
            return Err(TrainingWindowError::Reversed {
                from: self.from.clone(),
                to: self.to.clone(),
            });
        }
        Ok((from, to))
    }
}

/// Input rows with the outputs the training environment's native library produced.
/// `inputs[i]` holds raw (unscaled) features: F values for `rows` models, L×F values
/// (oldest row first) for `sequence` models. `outputs[i]` holds the model output in
/// its declared kind (probabilities or logits), before temperature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceRows {
    /// Where the outputs came from, e.g. `xgboost 3.1.1 XGBClassifier.predict_proba`.
    pub source: String,
    /// Largest allowed |scored − reference| per value (0: every value equal).
    pub tolerance: f64,
    pub inputs: Vec<Vec<f32>>,
    pub outputs: Vec<Vec<f32>>,
}

/// A bundle read from disk with its model file's bytes (an ONNX file validated as one).
#[derive(Debug, Clone)]
pub struct ModelBundle {
    pub bundle: Bundle,
    /// The `NAME.bundle.json` path.
    pub bundle_path: PathBuf,
    pub model_path: PathBuf,
    pub model_bytes: Vec<u8>,
    /// The ONNX file's top level (ONNX bundles only).
    pub onnx_info: Option<OnnxFileInfo>,
}

/// A bundle could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a valid bundle.json (schema version {BUNDLE_SCHEMA_VERSION}): {message}"
    )]
    Json { path: PathBuf, message: String },
    #[error(
        "{path} has schema_version {found}; this gauntlet reads versions 1 to {BUNDLE_SCHEMA_VERSION}"
    )]
    SchemaVersion { path: PathBuf, found: u32 },
    #[error("{path} is not a valid ONNX model: {reason}")]
    NotOnnx { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    ModelFile { path: PathBuf, reason: String },
    #[error(
        "{path} has SHA-256 {actual} but its bundle {bundle} records {expected}: \
         the model file was replaced or damaged after bundling"
    )]
    ModelHash {
        path: PathBuf,
        bundle: PathBuf,
        expected: String,
        actual: String,
    },
}

impl BundleError {
    /// Whether the bundle.json at `bundle_path` itself could not be read or parsed (bad
    /// input: an error), as opposed to a bundle whose model file is missing, damaged or
    /// replaced (a failed check).
    pub fn is_unreadable_bundle(&self, bundle_path: &Path) -> bool {
        match self {
            Self::Io { path, .. } => path == bundle_path,
            Self::Json { .. } | Self::SchemaVersion { .. } => true,
            Self::NotOnnx { .. } | Self::ModelFile { .. } | Self::ModelHash { .. } => false,
        }
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// `path` given as `NAME.bundle.json`, `NAME.onnx` or `NAME` → the bundle.json path.
pub fn bundle_json_path(path: &Path) -> PathBuf {
    let text = path.to_string_lossy();
    if text.ends_with(".bundle.json") {
        return path.to_path_buf();
    }
    let stem = text.strip_suffix(".onnx").unwrap_or(&text);
    PathBuf::from(format!("{stem}.bundle.json"))
}

impl ModelBundle {
    /// Reads `NAME.bundle.json` (given as that path, `NAME.onnx` or `NAME`) and the ONNX
    /// file it names, checks the schema version, the ONNX file's hash and that it is a
    /// parseable ONNX model.
    pub fn load(path: &Path) -> Result<Self, BundleError> {
        let bundle_path = bundle_json_path(path);
        let text = std::fs::read_to_string(&bundle_path).map_err(|source| BundleError::Io {
            path: bundle_path.clone(),
            source,
        })?;
        let bundle = Bundle::from_json(&text).map_err(|err| match err {
            BundleJsonError::Version(found) => BundleError::SchemaVersion {
                path: bundle_path.clone(),
                found,
            },
            BundleJsonError::Json(message) => BundleError::Json {
                path: bundle_path.clone(),
                message,
            },
        })?;
        let dir = bundle_path.parent().unwrap_or(Path::new("."));
        let model_path = dir.join(&bundle.model_file);
        let model_bytes = std::fs::read(&model_path).map_err(|source| BundleError::Io {
            path: model_path.clone(),
            source,
        })?;
        let onnx_info = match bundle.model_format {
            ModelFormat::Onnx => {
                Some(
                    parse_onnx(&model_bytes).map_err(|err| BundleError::NotOnnx {
                        path: model_path.clone(),
                        reason: err.to_string(),
                    })?,
                )
            }
            ModelFormat::XgboostJson | ModelFormat::LightgbmText => None,
        };
        let actual = sha256_hex(&model_bytes);
        if actual != bundle.model_sha256 {
            return Err(BundleError::ModelHash {
                path: model_path,
                bundle: bundle_path,
                expected: bundle.model_sha256,
                actual,
            });
        }
        Ok(Self {
            bundle,
            bundle_path,
            model_path,
            model_bytes,
            onnx_info,
        })
    }

    /// A bundle for a bare model file with no bundle.json, for scoring a table whose
    /// columns `feature_names` are the model's inputs in order (`gauntlet models score`):
    /// no scaling, no reference rows, classes `c0`, `c1`… as wide as the model's output
    /// (the ONNX output `output_name`, or the library's `predict_proba`/margins).
    pub fn bare(
        model_path: &Path,
        feature_names: Vec<String>,
        output_name: &str,
        kind: OutputKind,
    ) -> Result<Self, BundleError> {
        let model_bytes = std::fs::read(model_path).map_err(|source| BundleError::Io {
            path: model_path.to_path_buf(),
            source,
        })?;
        let file_error = |reason: String| BundleError::ModelFile {
            path: model_path.to_path_buf(),
            reason,
        };
        let format = ModelFormat::detect(model_path, &model_bytes).ok_or_else(|| {
            file_error(
                "neither an ONNX file (.onnx), an XGBoost JSON model nor a LightGBM text model"
                    .into(),
            )
        })?;
        let (input_name, width, onnx_info) = match format {
            ModelFormat::Onnx => {
                let info = parse_onnx(&model_bytes).map_err(|err| BundleError::NotOnnx {
                    path: model_path.to_path_buf(),
                    reason: err.to_string(),
                })?;
                let input = info
                    .inputs
                    .first()
                    .map(|input| input.name.clone())
                    .ok_or_else(|| file_error("the graph has no inputs".into()))?;
                let width = info
                    .outputs
                    .iter()
                    .find(|output| output.name == output_name)
                    .and_then(|output| output.dims.as_ref()?.last().copied())
                    .filter(|&width| width > 0)
                    .ok_or_else(|| {
                        file_error(format!(
                            "the graph has no output {output_name:?} of a fixed width; bundle the \
                             model (`gauntlet models bundle`) and score the bundle"
                        ))
                    })?;
                (input, width as usize, Some(info))
            }
            _ => {
                let model = match format {
                    ModelFormat::XgboostJson => TreeModel::from_xgboost_json(&model_bytes, kind),
                    _ => {
                        TreeModel::from_lightgbm_text(&String::from_utf8_lossy(&model_bytes), kind)
                    }
                }
                .map_err(|err| file_error(err.0))?;
                ("input".to_string(), model.n_outputs(), None)
            }
        };
        let bundle = Bundle {
            schema_version: BUNDLE_SCHEMA_VERSION,
            name: model_path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_default(),
            model_file: model_path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            model_sha256: sha256_hex(&model_bytes),
            model_format: format,
            features: BundleFeatures {
                set_name: "table".into(),
                set_version: None,
                manifest_hash: "none".into(),
                names: feature_names,
            },
            input: InputSpec {
                name: input_name,
                layout: InputLayout::Rows,
                window: None,
            },
            scaling: Scaling::None,
            scaler: None,
            output: OutputSpec {
                name: output_name.to_string(),
                kind,
                class_labels: (0..width).map(|class| format!("c{class}")).collect(),
                temperature: 1.0,
            },
            labels: LabelSpec {
                horizon_bars: 1,
                flat_threshold: 0.0,
            },
            training_window: TrainingWindow {
                from: "1970-01-01T00:00:00Z".into(),
                to: "1970-01-01T00:00:00Z".into(),
            },
            reference: None,
            calibration: None,
        };
        Ok(Self {
            bundle,
            bundle_path: model_path.to_path_buf(),
            model_path: model_path.to_path_buf(),
            model_bytes,
            onnx_info,
        })
    }

    /// SHA-256 over the model file's bytes and the bundle JSON as serialized here: the
    /// identity of "this model with this preprocessing" (a prediction-cache key).
    pub fn content_hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(&self.model_bytes);
        hasher.update(self.bundle.to_json().as_bytes());
        hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

enum BundleJsonError {
    Version(u32),
    Json(String),
}

impl Bundle {
    fn from_json(text: &str) -> Result<Self, BundleJsonError> {
        // Read the version first so a future schema gets a version error, not a
        // confusing "unknown field" one.
        #[derive(Deserialize)]
        struct Version {
            schema_version: u32,
        }
        let version: Version =
            serde_json::from_str(text).map_err(|err| BundleJsonError::Json(err.to_string()))?;
        if !(1..=BUNDLE_SCHEMA_VERSION).contains(&version.schema_version) {
            return Err(BundleJsonError::Version(version.schema_version));
        }
        let mut bundle: Self =
            serde_json::from_str(text).map_err(|err| BundleJsonError::Json(err.to_string()))?;
        if version.schema_version == 1 && bundle.model_format != ModelFormat::Onnx {
            return Err(BundleJsonError::Json(
                "model_format needs schema_version 2".into(),
            ));
        }
        check_class_labels(&bundle.output.class_labels)
            .map_err(|err| BundleJsonError::Json(format!("output.class_labels: {err}")))?;
        // Read in the current schema: written back, it is a version 2 bundle.
        bundle.schema_version = BUNDLE_SCHEMA_VERSION;
        Ok(bundle)
    }

    /// Pretty JSON with a trailing newline (deterministic: struct field order).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Rows of history one prediction needs: the window for sequence models, else 1.
    pub fn rows_per_prediction(&self) -> usize {
        match self.input.layout {
            InputLayout::Rows => 1,
            InputLayout::Sequence => self.input.window.unwrap_or(1),
        }
    }
}

/// Everything `gauntlet models bundle` needs to write a bundle.json next to a model file.
#[derive(Debug, Clone)]
pub struct BundleSpec {
    pub name: String,
    pub model_path: PathBuf,
    pub model_format: ModelFormat,
    pub manifest: FeatureManifest,
    pub input: InputSpec,
    pub scaler: Option<Scaler>,
    pub output: OutputSpec,
    pub labels: LabelSpec,
    pub training_window: TrainingWindow,
    pub reference: Option<ReferenceRows>,
}

impl BundleSpec {
    /// Builds the bundle (hashing the model file; an ONNX file must parse as ONNX),
    /// without preflighting it: see [`BundleSpec::build_at`].
    pub fn build(self) -> Result<Bundle, BundleError> {
        Ok(self.build_at(PathBuf::new())?.bundle)
    }

    /// Builds the bundle that will be written to `bundle_path`, with its model file's
    /// bytes (hashed; an ONNX file must parse as ONNX), ready for [`super::preflight`]:
    /// `gauntlet models bundle` writes only what preflight accepts.
    pub fn build_at(self, bundle_path: PathBuf) -> Result<ModelBundle, BundleError> {
        let model_bytes = std::fs::read(&self.model_path).map_err(|source| BundleError::Io {
            path: self.model_path.clone(),
            source,
        })?;
        let onnx_info = match self.model_format {
            ModelFormat::Onnx => {
                Some(
                    parse_onnx(&model_bytes).map_err(|err| BundleError::NotOnnx {
                        path: self.model_path.clone(),
                        reason: err.to_string(),
                    })?,
                )
            }
            ModelFormat::XgboostJson | ModelFormat::LightgbmText => None,
        };
        let model_file = self
            .model_path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bundle = Bundle {
            schema_version: BUNDLE_SCHEMA_VERSION,
            name: self.name,
            model_file,
            model_sha256: sha256_hex(&model_bytes),
            model_format: self.model_format,
            features: BundleFeatures {
                names: self.manifest.features.into_iter().map(|f| f.name).collect(),
                set_name: self.manifest.set,
                set_version: Some(self.manifest.version),
                manifest_hash: self.manifest.hash,
            },
            input: self.input,
            scaling: if self.scaler.is_some() {
                Scaling::Standard
            } else {
                Scaling::None
            },
            scaler: self.scaler,
            output: self.output,
            labels: self.labels,
            training_window: self.training_window,
            reference: self.reference,
            calibration: None,
        };
        Ok(ModelBundle {
            bundle,
            bundle_path,
            model_path: self.model_path,
            model_bytes,
            onnx_info,
        })
    }
}

/// Reads a feature manifest JSON file (what `gauntlet features export` writes beside a
/// training table, or `gauntlet features list --set NAME --json` prints) and checks its
/// schema and content hash.
pub fn read_feature_manifest(path: &Path) -> Result<FeatureManifest, BundleError> {
    let text = std::fs::read_to_string(path).map_err(|source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    FeatureManifest::from_json(&text).map_err(|err| BundleError::Json {
        path: path.to_path_buf(),
        message: format!("not a feature manifest: {err}"),
    })
}

/// The feature pipeline a backtest will feed models: preflight compares each bundle
/// with it. Build it from the features module's manifest (name, content hash, ordered
/// column names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedFeatures {
    pub set_name: String,
    pub manifest_hash: String,
    pub names: Vec<String>,
}

impl From<&FeatureManifest> for ExpectedFeatures {
    fn from(manifest: &FeatureManifest) -> Self {
        Self {
            set_name: manifest.set.clone(),
            manifest_hash: manifest.hash.clone(),
            names: manifest.features.iter().map(|f| f.name.clone()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_path_accepts_json_onnx_or_stem() {
        for given in ["m/x.bundle.json", "m/x.onnx", "m/x"] {
            assert_eq!(
                bundle_json_path(Path::new(given)),
                PathBuf::from("m/x.bundle.json")
            );
        }
    }

    #[test]
    fn expected_features_come_from_the_manifest() {
        let manifest = crate::features::FeatureSet::core31().manifest();
        let expected = ExpectedFeatures::from(&manifest);
        assert_eq!(expected.set_name, "core31");
        assert_eq!(expected.manifest_hash, manifest.hash);
        assert_eq!(expected.names, manifest.names());
    }

    #[test]
    fn a_manifest_with_a_wrong_hash_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        let mut manifest = crate::features::FeatureSet::core31().manifest();
        manifest.features.swap(0, 1);
        std::fs::write(&path, manifest.to_json_pretty()).unwrap();
        let err = read_feature_manifest(&path).unwrap_err().to_string();
        assert!(err.contains("not a feature manifest"), "{err}");
    }

    #[test]
    fn training_window_parses_rfc3339_and_rejects_reversed() {
        let window = TrainingWindow {
            from: "2024-01-01T00:00:00Z".into(),
            to: "2024-01-02T00:00:00Z".into(),
        };
        assert_eq!(
            window.millis().unwrap(),
            (1_704_067_200_000, 1_704_153_600_000)
        );
        let reversed = TrainingWindow {
            from: window.to.clone(),
            to: window.from.clone(),
        };
        assert!(matches!(
            reversed.millis(),
            Err(TrainingWindowError::Reversed { .. })
        ));
        assert!(reversed
            .millis()
            .unwrap_err()
            .to_string()
            .contains("is after"));
    }

    #[test]
    fn formats_are_told_apart_by_extension_and_content() {
        let detect = |name: &str, bytes: &[u8]| ModelFormat::detect(Path::new(name), bytes);
        assert_eq!(detect("m.onnx", b"\x08\x08"), Some(ModelFormat::Onnx));
        assert_eq!(
            detect("m.json", br#"{"learner": {"objective": {}}}"#),
            Some(ModelFormat::XgboostJson)
        );
        assert_eq!(
            detect("m.txt", b"tree\nversion=v4\n"),
            Some(ModelFormat::LightgbmText)
        );
        assert_eq!(detect("m.pkl", b"\x80\x04"), None);
    }

    #[test]
    fn version_1_bundles_read_as_onnx_bundles_of_version_2() {
        let v1 = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/models/mlp3.bundle.json"),
        )
        .unwrap()
        .replace("\"schema_version\": 2", "\"schema_version\": 1")
        .replace("\"model_file\"", "\"onnx_file\"")
        .replace("\"model_sha256\"", "\"onnx_sha256\"")
        .replace("  \"model_format\": \"onnx\",\n", "");
        let bundle = Bundle::from_json(&v1).unwrap_or_else(|_| panic!("not read:\n{v1}"));
        assert_eq!(bundle.schema_version, BUNDLE_SCHEMA_VERSION);
        assert_eq!(bundle.model_format, ModelFormat::Onnx);
        assert_eq!(bundle.model_file, "mlp3.onnx");
    }

    #[test]
    fn future_schema_version_is_a_version_error() {
        assert!(matches!(
            Bundle::from_json(r#"{"schema_version": 9, "anything": 1}"#),
            Err(BundleJsonError::Version(9))
        ));
    }

    /// A training table: `symbol`, `ts`, the columns, and labels (`None`: unlabelled).
    fn table(columns: &[(&str, Vec<f32>)], labels: &[Option<&str>]) -> Table {
        let mut table = Table::new();
        let rows = labels.len();
        table
            .push("symbol", ColumnValues::Str(vec!["BTC-USD".into(); rows]))
            .unwrap();
        table
            .push("ts", ColumnValues::I64((0..rows as i64).collect()))
            .unwrap();
        for (name, values) in columns {
            table
                .push(*name, ColumnValues::F32(values.clone()))
                .unwrap();
        }
        let labels = labels.iter().map(|l| l.map(str::to_string)).collect();
        table.push("label", ColumnValues::OptStr(labels)).unwrap();
        table
    }

    #[test]
    fn scaler_fit_is_mean_and_population_std_over_labelled_rows() {
        let t = table(
            &[
                ("a", vec![1.0, 2.0, 3.0, 4.0, 100.0]),
                ("b", vec![10.0, 10.0, 20.0, 20.0, -5.0]),
            ],
            &[Some("up"), Some("down"), Some("flat"), Some("up"), None],
        );
        let fitted = Scaler::fit(&t, &["a", "b"], ZeroVariance::Refuse).unwrap();
        assert_eq!((fitted.rows, fitted.unlabelled), (4, 1));
        assert_eq!(fitted.scaler.mean, vec![2.5, 15.0]);
        // numpy: np.std([1, 2, 3, 4]) (ddof=0) = sqrt(1.25); np.std([10, 10, 20, 20]) = 5.
        assert!((fitted.scaler.std[0] - 1.25f64.sqrt()).abs() < 1e-12);
        assert!((fitted.scaler.std[1] - 5.0).abs() < 1e-12);
        assert!(fitted.std_one.is_empty());
    }

    #[test]
    fn scaler_fit_keeps_precision_around_a_large_mean() {
        let t = table(
            &[("p", vec![79_568.0, 79_570.0])],
            &[Some("up"), Some("up")],
        );
        let fitted = Scaler::fit(&t, &["p"], ZeroVariance::Refuse).unwrap();
        assert_eq!(fitted.scaler.mean, vec![79_569.0]);
        assert_eq!(fitted.scaler.std, vec![1.0]);
    }

    #[test]
    fn scaler_fit_refuses_zero_variance_unless_asked_for_std_one() {
        let t = table(
            &[("a", vec![1.0, 2.0]), ("flat", vec![3.0, 3.0])],
            &[Some("up"), Some("down")],
        );
        let err = Scaler::fit(&t, &["a", "flat"], ZeroVariance::Refuse).unwrap_err();
        assert_eq!(
            err,
            ScalerFitError::ZeroVariance(vec![(1, "flat".into(), 3.0)])
        );
        assert!(err.to_string().contains("flat@1 (always 3)"), "{err}");
        let fitted = Scaler::fit(&t, &["a", "flat"], ZeroVariance::StdOne).unwrap();
        assert_eq!(fitted.scaler.std[1], 1.0);
        assert_eq!(fitted.std_one, vec!["flat".to_string()]);
    }

    #[test]
    fn scaler_fit_names_missing_extra_and_bad_columns() {
        let t = table(&[("a", vec![1.0, 2.0])], &[Some("up"), Some("up")]);
        assert_eq!(
            Scaler::fit(&t, &["a", "b"], ZeroVariance::Refuse).unwrap_err(),
            ScalerFitError::MissingColumn {
                name: "b".into(),
                position: 1
            }
        );
        assert_eq!(
            Scaler::fit(&t, &[], ZeroVariance::Refuse).unwrap_err(),
            ScalerFitError::ExtraColumns(vec!["a".into()])
        );
        let t = table(&[("a", vec![1.0, f32::NAN])], &[Some("up"), Some("up")]);
        assert!(matches!(
            Scaler::fit(&t, &["a"], ZeroVariance::Refuse).unwrap_err(),
            ScalerFitError::NonFinite { row: 1, .. }
        ));
        let t = table(&[("a", vec![1.0])], &[None]);
        assert_eq!(
            Scaler::fit(&t, &["a"], ZeroVariance::Refuse).unwrap_err(),
            ScalerFitError::NoRows
        );
    }

    #[test]
    fn duplicate_class_labels_are_refused_at_load_naming_the_key() {
        let json = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/models/mlp3.bundle.json"),
        )
        .unwrap()
        .replace("\"flat\",", "\"down\",");
        match Bundle::from_json(&json) {
            Err(BundleJsonError::Json(message)) => assert!(
                message
                    .starts_with("output.class_labels: \"down\" is listed twice (columns 0 and 1"),
                "{message}"
            ),
            _ => panic!("duplicate labels accepted"),
        }
        assert!(check_class_labels(&["down".into(), "up".into()]).is_ok());
    }
}
