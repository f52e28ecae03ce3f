//! Preflight: every check that can be made before a single row is scored, comparing a
//! bundle with its model file and with the feature pipeline the backtest will feed it,
//! and the choice of the engine that will score it. All failures are collected (not
//! just the first) so one run lists everything wrong. Only a model that passed becomes
//! a [`CheckedModel`], the only type that can score.
//!
//! The engine: XGBoost JSON and LightGBM text files are evaluated natively. An ONNX graph
//! that is one tree ensemble (see [`super::trees`]) is evaluated natively too, unless
//! the run asks for ONNX Runtime; any other graph runs on ONNX Runtime, and the
//! [`EngineChoice`] says why.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use super::bundle::{
    Bundle, BundleError, ExpectedFeatures, InputLayout, ModelBundle, ModelFormat, OutputKind,
    ReferenceRows, Scaling, TrainingWindowError,
};
use super::onnx_proto::onnx::NodeProto;
use super::onnx_proto::{decode_model, GraphSignature, ModelProto, OnnxFileInfo, TensorDecl};
use super::runtime::{runtime, RuntimeError, ONNXRUNTIME_VERSION};
use super::scoring::{
    lock_worker, Engine, EngineChoice, FeatureRows, MemberScores, Preprocess, ScoreError,
    ScoreOutput, Scorer, ScoringPlan, Worker,
};
use super::trees::TreeModel;

/// How many of the worst reference rows a failure lists.
pub const WORST_ROWS_LISTED: usize = 5;

/// How many feature names a failure lists before "… and N more"; the alternate format
/// (`{:#}`) lists every one.
pub const NAMES_LISTED: usize = 10;

/// What preflight needs besides the bundle and the pipeline.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreflightOptions {
    /// The backtest's bar-open-time span `[from, to]` in ms, both inclusive.
    pub backtest_window: Option<(i64, i64)>,
    /// Accept a backtest window overlapping the training window (leakage) anyway.
    pub allow_training_overlap: bool,
    /// Which engine may score.
    pub engine: EnginePreference,
}

/// Which engine scores ONNX models (`[models] engine` in a run config, `--engine`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnginePreference {
    /// Native for tree ensembles (and XGBoost / LightGBM files), ONNX Runtime otherwise.
    #[default]
    Auto,
    /// Native only: a graph it cannot reproduce fails preflight.
    Native,
    /// ONNX Runtime for every ONNX file (XGBoost / LightGBM files fail preflight).
    Onnxruntime,
}

/// A feature name at a position (0-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionedName {
    pub position: usize,
    pub name: String,
}

/// A feature both sides have, at different positions (0-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedName {
    pub name: String,
    pub bundle_position: usize,
    pub pipeline_position: usize,
}

/// One reference value that differs from the scoring engine's.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceDiff {
    pub row: usize,
    pub column: usize,
    pub reference: f32,
    pub scored: f32,
    pub abs_diff: f64,
}

/// One reason a model may not be scored.
#[derive(Debug, Clone, PartialEq)]
pub enum PreflightFailure {
    /// The file is not an ONNX model (or ONNX Runtime refuses it).
    NotOnnx {
        path: PathBuf,
        reason: String,
    },
    /// An XGBoost or LightGBM file that cannot be read or is not evaluated natively.
    ModelFile {
        path: PathBuf,
        format: ModelFormat,
        reason: String,
    },
    /// The run asked for an engine that cannot score this model.
    EngineUnavailable {
        engine: EnginePreference,
        reason: String,
    },
    /// The bundle could not be read (missing file, bad JSON, hash mismatch…).
    Bundle {
        message: String,
    },
    InputMissing {
        name: String,
        available: Vec<String>,
    },
    InputType {
        name: String,
        found: String,
    },
    InputRank {
        name: String,
        layout: InputLayout,
        shape: Vec<i64>,
    },
    FixedBatch {
        name: String,
        batch: i64,
    },
    /// The ONNX input width differs from the pipeline's feature count.
    ModelWidth {
        model_width: i64,
        set_name: String,
        pipeline_width: usize,
    },
    /// The ONNX input width differs from the bundle's feature list.
    BundleWidth {
        model_width: i64,
        bundle_width: usize,
    },
    SequenceWindow {
        declared: Option<usize>,
        model_window: i64,
    },
    FeatureNames {
        /// In the bundle (the model needs them) but not produced by the pipeline.
        missing: Vec<PositionedName>,
        /// Produced by the pipeline but not in the bundle.
        extra: Vec<PositionedName>,
        reordered: Vec<MovedName>,
    },
    SetName {
        bundle: String,
        pipeline: String,
    },
    ManifestHash {
        bundle: String,
        pipeline: String,
    },
    ScalerMissing,
    ScalerLength {
        mean: usize,
        std: usize,
        features: usize,
    },
    ScalerValues {
        bad: Vec<(usize, String, f64, f64)>,
    },
    OutputMissing {
        name: String,
        available: Vec<String>,
    },
    ClassCount {
        labels: Vec<String>,
        output_width: i64,
    },
    /// `output.kind` contradicts what the output evidently holds.
    OutputKind {
        name: String,
        declared: OutputKind,
        evidence: OutputEvidence,
    },
    Temperature {
        value: f64,
    },
    TrainingWindow(TrainingWindowError),
    TrainingOverlap {
        training_from: String,
        training_to: String,
        backtest_from: i64,
        backtest_to: i64,
    },
    ReferenceShape {
        message: String,
    },
    ReferenceMismatch {
        engine: Engine,
        tolerance: f64,
        rows_over: usize,
        rows_total: usize,
        worst: Vec<ReferenceDiff>,
    },
    ReferenceRun {
        message: String,
    },
}

/// `items` joined by commas: the first [`NAMES_LISTED`] and "… and N more (T in all)",
/// or all of them when `all` (one failure can name hundreds of features).
fn summarize(items: impl ExactSizeIterator<Item = String>, all: bool) -> String {
    let total = items.len();
    let shown = if all { total } else { NAMES_LISTED.min(total) };
    let mut text = items.take(shown).collect::<Vec<_>>().join(", ");
    if shown < total {
        text.push_str(&format!(" … and {} more ({total} in all)", total - shown));
    }
    text
}

fn list(names: &[PositionedName], all: bool) -> String {
    let items = names
        .iter()
        .map(|entry| format!("{}@{}", entry.name, entry.position));
    summarize(items, all)
}

/// A bar open time for a message; a window end beyond any date (an open-ended
/// `data.from` / `data.to`) is "open-ended", never a raw sentinel number.
fn show_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|ts| ts.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| "open-ended".to_string())
}

/// Long lists (feature names, scaler entries) are summarized; `{:#}` lists them all.
impl fmt::Display for PreflightFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all = f.alternate();
        match self {
            Self::NotOnnx { path, reason } => {
                write!(f, "{} is not a valid ONNX model: {reason}", path.display())
            }
            Self::ModelFile { path, format, reason } => {
                write!(f, "{} ({}): {reason}", path.display(), format.as_str())
            }
            Self::EngineUnavailable { engine, reason } => write!(
                f,
                "engine {} cannot score this model: {reason}",
                match engine {
                    EnginePreference::Auto => "auto",
                    EnginePreference::Native => "native",
                    EnginePreference::Onnxruntime => "onnxruntime",
                }
            ),
            Self::Bundle { message } => write!(f, "{message}"),
            Self::InputMissing { name, available } => write!(
                f,
                "bundle input {name:?} is not an input of the ONNX graph (inputs: {})",
                available.join(", ")
            ),
            Self::InputType { name, found } => {
                write!(f, "ONNX input {name:?} has type {found}; gauntlet feeds float32 tensors")
            }
            Self::InputRank { name, layout, shape } => write!(
                f,
                "ONNX input {name:?} has shape {shape:?} but the bundle declares layout {layout:?}, \
                 which needs rank {}",
                if *layout == InputLayout::Rows { 2 } else { 3 }
            ),
            Self::FixedBatch { name, batch } => write!(
                f,
                "ONNX input {name:?} has a fixed batch size {batch}; re-export with a dynamic first axis"
            ),
            Self::ModelWidth { model_width, set_name, pipeline_width } => write!(
                f,
                "model input width {model_width} != feature set {set_name} width {pipeline_width}: \
                 the model was trained on {model_width} features, the pipeline makes {pipeline_width}"
            ),
            Self::BundleWidth { model_width, bundle_width } => write!(
                f,
                "model input width {model_width} != {bundle_width} feature names in the bundle"
            ),
            Self::SequenceWindow { declared, model_window } => write!(
                f,
                "sequence window: bundle declares {declared:?}, the ONNX input's window axis is {model_window}"
            ),
            Self::FeatureNames { missing, extra, reordered } => {
                let mut parts = Vec::new();
                if !missing.is_empty() {
                    parts.push(format!(
                        "missing from the pipeline (model needs; name@bundle position): {}",
                        list(missing, all)
                    ));
                }
                if !extra.is_empty() {
                    parts.push(format!(
                        "extra in the pipeline (model was not trained on; name@pipeline position): {}",
                        list(extra, all)
                    ));
                }
                if !reordered.is_empty() {
                    let moves = reordered
                        .iter()
                        .map(|m| format!("{}: {} -> {}", m.name, m.bundle_position, m.pipeline_position));
                    parts.push(format!(
                        "reordered (name: bundle position -> pipeline position): {}",
                        summarize(moves, all)
                    ));
                }
                write!(f, "feature names differ: {}", parts.join("; "))
            }
            Self::SetName { bundle, pipeline } => {
                write!(f, "feature set differs: bundle {bundle:?}, pipeline {pipeline:?}")
            }
            Self::ManifestHash { bundle, pipeline } => write!(
                f,
                "feature manifest hash differs: bundle {bundle}, pipeline {pipeline} \
                 (the features were computed differently at training time)"
            ),
            Self::ScalerMissing => write!(
                f,
                "no scaler in the bundle but scaling is \"standard\": raw features (prices like 79568) \
                 would reach the model; rebuild the bundle with `gauntlet models bundle --scaler FILE` \
                 or declare \"scaling\": \"none\" if the model takes raw features"
            ),
            Self::ScalerLength { mean, std, features } => write!(
                f,
                "scaler length wrong: mean has {mean} values, std has {std}, the bundle lists {features} features"
            ),
            Self::ScalerValues { bad } => write!(
                f,
                "scaler std must be > 0 and finite (and mean finite): {}",
                summarize(
                    bad.iter().map(|(i, name, mean, std)| format!("{name}@{i} mean={mean} std={std}")),
                    all
                )
            ),
            Self::OutputMissing { name, available } => write!(
                f,
                "output name {name:?} absent from the ONNX graph (outputs: {})",
                available.join(", ")
            ),
            Self::ClassCount { labels, output_width } => write!(
                f,
                "class count {} ({}) != model output width {output_width}",
                labels.len(),
                labels.join("/")
            ),
            Self::OutputKind { name, declared, evidence } => write!(
                f,
                "output.kind is {:?} but output {name:?} holds {}: {}; declare \"kind\": {:?} \
                 (`gauntlet models bundle --kind {}`)",
                declared.as_str(),
                evidence.kind.as_str(),
                evidence.reason,
                evidence.kind.as_str(),
                evidence.kind.as_str()
            ),
            Self::Temperature { value } => write!(f, "temperature must be finite and > 0, got {value}"),
            Self::TrainingWindow(err) => write!(f, "{err}"),
            Self::TrainingOverlap { training_from, training_to, backtest_from, backtest_to } => write!(
                f,
                "backtest window {} .. {} overlaps the training window {training_from} .. {training_to}: \
                 that is leakage; backtest outside the training window, or accept the overlap with \
                 `allow_training_overlap = true` in the run config's [models] section \
                 (`--allow-training-overlap` on `models check` and `calibrate`)",
                show_time(*backtest_from),
                show_time(*backtest_to)
            ),
            Self::ReferenceShape { message } => write!(f, "reference rows: {message}"),
            Self::ReferenceMismatch { engine, tolerance, rows_over, rows_total, worst } => write!(
                f,
                "reference rows re-scored by the {} engine differ from the training library's outputs: \
                 {rows_over} of {rows_total} rows beyond tolerance {tolerance:e}; worst: {}",
                engine.as_str(),
                worst
                    .iter()
                    .map(|d| format!(
                        "row {} class {}: reference {} vs {} {} (|diff| {:.3e})",
                        d.row, d.column, d.reference, engine.as_str(), d.scored, d.abs_diff
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Self::ReferenceRun { message } => write!(f, "reference rows could not be scored: {message}"),
        }
    }
}

/// All failures of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct PreflightReport {
    pub model: String,
    pub path: PathBuf,
    pub failures: Vec<PreflightFailure>,
}

/// `{:#}` lists every name of every failure (see [`PreflightFailure`]).
impl fmt::Display for PreflightReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "model {} ({}) failed preflight ({} problem{}):",
            self.model,
            self.path.display(),
            self.failures.len(),
            if self.failures.len() == 1 { "" } else { "s" }
        )?;
        for failure in &self.failures {
            if f.alternate() {
                write!(f, "\n  - {failure:#}")?;
            } else {
                write!(f, "\n  - {failure}")?;
            }
        }
        Ok(())
    }
}

/// Preflight could not run or did not pass.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PreflightError {
    #[error("{0}")]
    Failed(PreflightReport),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

impl PreflightError {
    /// Every message, one per line (for asserting and for the report).
    pub fn failures(&self) -> Vec<String> {
        match self {
            Self::Failed(report) => report.failures.iter().map(ToString::to_string).collect(),
            Self::Runtime(err) => vec![err.to_string()],
        }
    }
}

/// A model that passed preflight: the only thing that can score.
pub struct CheckedModel {
    bundle: ModelBundle,
    plan: ScoringPlan,
    engine: EngineChoice,
    /// The native model (shared by the workers) when the engine is native.
    native: Option<Arc<TreeModel>>,
    workers: Vec<Mutex<Worker>>,
}

impl fmt::Debug for CheckedModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckedModel")
            .field("bundle", &self.bundle.bundle_path)
            .field("workers", &self.workers.len())
            .finish_non_exhaustive()
    }
}

/// Loads the bundle at `path` (`NAME.bundle.json`, `NAME.onnx` or `NAME`) and runs
/// [`preflight`]. A bundle that cannot be loaded is a failed preflight; a missing ONNX
/// Runtime, when the model needs it, is [`PreflightError::Runtime`].
pub fn check_bundle(
    path: &Path,
    expected: &ExpectedFeatures,
    options: &PreflightOptions,
) -> Result<CheckedModel, PreflightError> {
    let bundle = ModelBundle::load(path).map_err(|err| {
        let failure = match err {
            BundleError::NotOnnx { path, reason } => PreflightFailure::NotOnnx { path, reason },
            other => PreflightFailure::Bundle {
                message: other.to_string(),
            },
        };
        PreflightError::Failed(PreflightReport {
            model: path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path: super::bundle::bundle_json_path(path),
            failures: vec![failure],
        })
    })?;
    preflight(bundle, expected, options)
}

/// Runs every preflight check on a loaded bundle and chooses its engine (see the
/// module docs); ONNX Runtime is loaded only when the model needs it.
pub fn preflight(
    bundle: ModelBundle,
    expected: &ExpectedFeatures,
    options: &PreflightOptions,
) -> Result<CheckedModel, PreflightError> {
    let mut failures = Vec::new();
    let spec = &bundle.bundle;
    check_features(spec, expected, &mut failures);
    check_scaler(spec, &mut failures);
    check_output_spec(spec, options, &mut failures);

    let fail = |bundle: &ModelBundle, failures: Vec<PreflightFailure>| {
        PreflightError::Failed(PreflightReport {
            model: bundle.bundle.name.clone(),
            path: bundle.bundle_path.clone(),
            failures,
        })
    };

    let Some(prepared) = prepare_engine(&bundle, expected, options, &mut failures)? else {
        return Err(fail(&bundle, failures));
    };
    if !failures.is_empty() {
        return Err(fail(&bundle, failures));
    }
    let Prepared {
        engine,
        scorer,
        native,
        fixed_batch,
    } = prepared;

    let plan = ScoringPlan {
        model: spec.name.clone(),
        input_name: spec.input.name.clone(),
        output_name: spec.output.name.clone(),
        layout: spec.input.layout,
        window: spec.rows_per_prediction(),
        n_features: spec.features.names.len(),
        n_classes: spec.output.class_labels.len(),
        kind: spec.output.kind,
        temperature: spec.output.temperature,
        feature_names: spec.features.names.clone(),
        preprocess: Preprocess::from_bundle(spec),
        fixed_batch,
    };
    let mut worker = Worker::new(scorer);
    if let Some(reference) = &spec.reference {
        check_reference(&plan, engine.engine, &mut worker, reference, &mut failures);
    }
    if !failures.is_empty() {
        return Err(fail(&bundle, failures));
    }
    Ok(CheckedModel {
        bundle,
        plan,
        engine,
        native,
        workers: vec![Mutex::new(worker)],
    })
}

/// The engine chosen for a model and the first worker's scorer.
struct Prepared {
    engine: EngineChoice,
    scorer: Scorer,
    native: Option<Arc<TreeModel>>,
    fixed_batch: Option<usize>,
}

/// Checks the model file against the bundle and the pipeline and prepares its engine;
/// `Ok(None)` when a failure makes scoring impossible.
fn prepare_engine(
    bundle: &ModelBundle,
    expected: &ExpectedFeatures,
    options: &PreflightOptions,
    failures: &mut Vec<PreflightFailure>,
) -> Result<Option<Prepared>, PreflightError> {
    let spec = &bundle.bundle;
    if spec.model_format != ModelFormat::Onnx {
        check_output_kind(spec, None, failures);
        return Ok(prepare_native_file(bundle, expected, options, failures));
    }
    let proto = match decode_model(&bundle.model_bytes) {
        Ok(proto) => proto,
        Err(err) => {
            failures.push(PreflightFailure::NotOnnx {
                path: bundle.model_path.clone(),
                reason: err.to_string(),
            });
            return Ok(None);
        }
    };
    check_output_kind(spec, Some(&proto), failures);
    let Some(GraphFacts { fixed_batch }) =
        check_graph(spec, expected, &GraphSignature::of(&proto), failures)
    else {
        return Ok(None);
    };
    let reason = match native_onnx(spec, &proto, options.engine) {
        Ok(model) => {
            let model = Arc::new(model);
            return Ok(Some(Prepared {
                engine: EngineChoice {
                    engine: Engine::Native,
                    detail: model.describe(),
                },
                scorer: Scorer::native(Arc::clone(&model)),
                native: Some(model),
                fixed_batch: None,
            }));
        }
        Err(reason) => reason,
    };
    if options.engine == EnginePreference::Native {
        failures.push(PreflightFailure::EngineUnavailable {
            engine: EnginePreference::Native,
            reason,
        });
        return Ok(None);
    }
    match runtime()?.session(&bundle.model_bytes) {
        Ok(session) => Ok(Some(Prepared {
            engine: EngineChoice {
                engine: Engine::OnnxRuntime,
                detail: format!("ONNX Runtime {ONNXRUNTIME_VERSION}: {reason}"),
            },
            scorer: Scorer::OnnxRuntime(session),
            native: None,
            fixed_batch,
        })),
        Err(err) => {
            failures.push(PreflightFailure::NotOnnx {
                path: bundle.model_path.clone(),
                reason: err.to_string(),
            });
            Ok(None)
        }
    }
}

/// The native model of an ONNX bundle, or why its graph goes to ONNX Runtime.
fn native_onnx(
    spec: &Bundle,
    proto: &super::onnx_proto::ModelProto,
    preference: EnginePreference,
) -> Result<TreeModel, String> {
    match preference {
        EnginePreference::Onnxruntime => Err("the run asks for ONNX Runtime".to_string()),
        _ if spec.input.layout == InputLayout::Sequence => {
            Err("a sequence model is not a tree ensemble".to_string())
        }
        _ => TreeModel::from_onnx(proto, &spec.input.name, &spec.output.name)
            .map_err(|reason| reason.0),
    }
}

/// The native model of an XGBoost JSON or LightGBM text bundle.
fn native_file(bundle: &ModelBundle) -> Result<TreeModel, super::trees::TreeFileError> {
    let output = bundle.bundle.output.kind;
    match bundle.bundle.model_format {
        ModelFormat::XgboostJson => TreeModel::from_xgboost_json(&bundle.model_bytes, output),
        ModelFormat::LightgbmText => match std::str::from_utf8(&bundle.model_bytes) {
            Ok(text) => TreeModel::from_lightgbm_text(text, output),
            Err(_) => Err(super::trees::TreeFileError(
                "the file is not UTF-8 text".into(),
            )),
        },
        ModelFormat::Onnx => Err(super::trees::TreeFileError(
            "an ONNX file is read as a graph".into(),
        )),
    }
}

/// The engine that would score `bundle` under `preference`, and what it runs or why
/// the graph goes to ONNX Runtime, without comparing the bundle with a pipeline or
/// loading ONNX Runtime (for `models inspect`); `Err` when no engine can score it.
pub fn engine_for(
    bundle: &ModelBundle,
    preference: EnginePreference,
) -> Result<EngineChoice, String> {
    let spec = &bundle.bundle;
    if spec.model_format != ModelFormat::Onnx {
        if preference == EnginePreference::Onnxruntime {
            return Err(format!(
                "a {} file has no ONNX graph; it is evaluated natively",
                spec.model_format.as_str()
            ));
        }
        let model = native_file(bundle).map_err(|err| err.0)?;
        return Ok(EngineChoice {
            engine: Engine::Native,
            detail: model.describe(),
        });
    }
    let proto = decode_model(&bundle.model_bytes).map_err(|err| err.to_string())?;
    match native_onnx(spec, &proto, preference) {
        Ok(model) => Ok(EngineChoice {
            engine: Engine::Native,
            detail: model.describe(),
        }),
        Err(reason) if preference == EnginePreference::Native => Err(reason),
        Err(reason) => Ok(EngineChoice {
            engine: Engine::OnnxRuntime,
            detail: format!("ONNX Runtime {ONNXRUNTIME_VERSION}: {reason}"),
        }),
    }
}

/// An XGBoost JSON or LightGBM text model: always native.
fn prepare_native_file(
    bundle: &ModelBundle,
    expected: &ExpectedFeatures,
    options: &PreflightOptions,
    failures: &mut Vec<PreflightFailure>,
) -> Option<Prepared> {
    let spec = &bundle.bundle;
    let format = spec.model_format;
    if options.engine == EnginePreference::Onnxruntime {
        failures.push(PreflightFailure::EngineUnavailable {
            engine: EnginePreference::Onnxruntime,
            reason: format!(
                "a {} file has no ONNX graph; it is evaluated natively",
                format.as_str()
            ),
        });
        return None;
    }
    if spec.input.layout == InputLayout::Sequence {
        failures.push(PreflightFailure::InputRank {
            name: spec.input.name.clone(),
            layout: InputLayout::Sequence,
            shape: vec![-1, -1],
        });
        return None;
    }
    let model = native_file(bundle);
    let model = match model {
        Ok(model) => model,
        Err(err) => {
            failures.push(PreflightFailure::ModelFile {
                path: bundle.model_path.clone(),
                format,
                reason: err.0,
            });
            return None;
        }
    };
    check_width(spec, expected, model.n_features() as i64, failures);
    if model.n_outputs() != spec.output.class_labels.len() {
        failures.push(PreflightFailure::ClassCount {
            labels: spec.output.class_labels.clone(),
            output_width: model.n_outputs() as i64,
        });
    }
    let model = Arc::new(model);
    Some(Prepared {
        engine: EngineChoice {
            engine: Engine::Native,
            detail: model.describe(),
        },
        scorer: Scorer::native(Arc::clone(&model)),
        native: Some(model),
        fixed_batch: None,
    })
}

fn check_features(
    spec: &Bundle,
    expected: &ExpectedFeatures,
    failures: &mut Vec<PreflightFailure>,
) {
    if spec.features.set_name != expected.set_name {
        failures.push(PreflightFailure::SetName {
            bundle: spec.features.set_name.clone(),
            pipeline: expected.set_name.clone(),
        });
    }
    let names = &spec.features.names;
    if names != &expected.names {
        let position = |list: &[String], name: &str| list.iter().position(|n| n == name);
        let missing = names
            .iter()
            .enumerate()
            .filter(|(_, name)| position(&expected.names, name).is_none())
            .map(|(position, name)| PositionedName {
                position,
                name: name.clone(),
            })
            .collect();
        let extra = expected
            .names
            .iter()
            .enumerate()
            .filter(|(_, name)| position(names, name).is_none())
            .map(|(position, name)| PositionedName {
                position,
                name: name.clone(),
            })
            .collect();
        let reordered = names
            .iter()
            .enumerate()
            .filter_map(|(bundle_position, name)| {
                let pipeline_position = position(&expected.names, name)?;
                (pipeline_position != bundle_position).then(|| MovedName {
                    name: name.clone(),
                    bundle_position,
                    pipeline_position,
                })
            })
            .collect();
        failures.push(PreflightFailure::FeatureNames {
            missing,
            extra,
            reordered,
        });
    }
    if spec.features.manifest_hash != expected.manifest_hash {
        failures.push(PreflightFailure::ManifestHash {
            bundle: spec.features.manifest_hash.clone(),
            pipeline: expected.manifest_hash.clone(),
        });
    }
}

fn check_scaler(spec: &Bundle, failures: &mut Vec<PreflightFailure>) {
    if spec.scaling == Scaling::None {
        return;
    }
    let Some(scaler) = &spec.scaler else {
        failures.push(PreflightFailure::ScalerMissing);
        return;
    };
    let features = spec.features.names.len();
    if scaler.mean.len() != features || scaler.std.len() != features {
        failures.push(PreflightFailure::ScalerLength {
            mean: scaler.mean.len(),
            std: scaler.std.len(),
            features,
        });
        return;
    }
    let bad: Vec<_> = scaler
        .mean
        .iter()
        .zip(&scaler.std)
        .enumerate()
        .filter(|(_, (mean, std))| !mean.is_finite() || !std.is_finite() || **std <= 0.0)
        .map(|(i, (mean, std))| (i, spec.features.names[i].clone(), *mean, *std))
        .collect();
    if !bad.is_empty() {
        failures.push(PreflightFailure::ScalerValues { bad });
    }
}

fn check_output_spec(
    spec: &Bundle,
    options: &PreflightOptions,
    failures: &mut Vec<PreflightFailure>,
) {
    let temperature = spec.output.temperature;
    if !temperature.is_finite() || temperature <= 0.0 {
        failures.push(PreflightFailure::Temperature { value: temperature });
    }
    match spec.training_window.millis() {
        Err(err) => failures.push(PreflightFailure::TrainingWindow(err)),
        Ok((train_from, train_to)) => {
            if let Some((from, to)) = options.backtest_window {
                if from <= train_to && train_from <= to && !options.allow_training_overlap {
                    failures.push(PreflightFailure::TrainingOverlap {
                        training_from: spec.training_window.from.clone(),
                        training_to: spec.training_window.to.clone(),
                        backtest_from: from,
                        backtest_to: to,
                    });
                }
            }
        }
    }
}

/// What an output holds, and how that was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputEvidence {
    pub kind: OutputKind,
    pub reason: String,
}

/// Largest |sum − 1| of a reference row that still reads as a probability distribution
/// (exporters round to about 7 digits).
const SUM_TOLERANCE: f64 = 1e-3;

/// What the reference outputs hold: probabilities when every row is in [0, 1] and sums
/// to 1, logits when no row does; `None` without rows, with a non-finite value or with
/// both kinds of row (damaged outputs, which the reference comparison reports).
pub fn reference_output_kind(reference: &ReferenceRows) -> Option<OutputEvidence> {
    let rows = &reference.outputs;
    if rows.is_empty() || rows.iter().flatten().any(|v| !v.is_finite()) {
        return None;
    }
    let is_distribution = |row: &Vec<f32>| {
        let sum: f64 = row.iter().map(|&v| f64::from(v)).sum();
        row.iter().all(|&v| (-1e-6..=1.0 + 1e-6).contains(&v)) && (sum - 1.0).abs() <= SUM_TOLERANCE
    };
    let distributions = rows.iter().filter(|row| is_distribution(row)).count();
    if distributions == rows.len() {
        Some(OutputEvidence {
            kind: OutputKind::Probabilities,
            reason: format!(
                "every one of the {} reference output rows is in [0, 1] and sums to 1",
                rows.len()
            ),
        })
    } else if distributions == 0 {
        Some(OutputEvidence {
            kind: OutputKind::Logits,
            reason: format!(
                "none of the {} reference output rows is a probability distribution (in [0, 1], \
                 summing to 1), e.g. row 0 {:?}",
                rows.len(),
                rows[0]
            ),
        })
    } else {
        None
    }
}

/// What the ONNX model in `bytes` computes into `output`, told from the node that
/// computes it (see `graph_output_kind`); `None` when the graph does not say.
pub fn onnx_output_kind(bytes: &[u8], output: &str) -> Option<OutputEvidence> {
    graph_output_kind(&decode_model(bytes).ok()?, output)
}

/// What `output` holds, told from the node computing it (through `Identity`, `Cast`,
/// `Reshape`, `Flatten`, `Squeeze`, `Unsqueeze`): probabilities from `Softmax`,
/// `Sigmoid`, an L1 `Normalizer` or a classifier (`TreeEnsembleClassifier`,
/// `LinearClassifier`, `SVMClassifier`) with a `post_transform`; logits from a linear
/// layer (`MatMul`, `Gemm`, or `Add` of one) or `LogSoftmax`. `None` otherwise (a
/// classifier without `post_transform` may sum leaf probabilities or raw scores).
fn graph_output_kind(model: &ModelProto, output: &str) -> Option<OutputEvidence> {
    let graph = model.graph.as_ref()?;
    let producers: HashMap<&str, &NodeProto> = graph
        .node
        .iter()
        .flat_map(|node| node.output.iter().map(move |out| (out.as_str(), node)))
        .collect();
    let is_linear = |name: &str| {
        producers
            .get(name)
            .is_some_and(|node| matches!(node.op_type(), "MatMul" | "Gemm"))
    };
    let evidence = |kind, what: String| {
        Some(OutputEvidence {
            kind,
            reason: format!("the graph computes it with {what}"),
        })
    };
    let mut current = output;
    // At most one step per node: a malformed graph with a cycle cannot loop forever.
    for _ in 0..=graph.node.len() {
        let node = producers.get(current)?;
        let op = node.op_type();
        let named = format!("{op} node {:?}", node.name());
        match op {
            "Identity" | "Cast" | "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" => {
                current = node.input.first()?;
            }
            "Softmax" | "Sigmoid" => return evidence(OutputKind::Probabilities, named),
            "Normalizer" if node_string(node, "norm").as_deref() == Some("L1") => {
                return evidence(OutputKind::Probabilities, format!("{named} (norm L1)"));
            }
            "TreeEnsembleClassifier" | "LinearClassifier" | "SVMClassifier"
                if node.output.get(1).map(String::as_str) == Some(current) =>
            {
                let post = node_string(node, "post_transform").unwrap_or_else(|| "NONE".into());
                return (post != "NONE").then(|| OutputEvidence {
                    kind: OutputKind::Probabilities,
                    reason: format!("the graph computes it with {named} (post_transform {post})"),
                });
            }
            "LogSoftmax" => {
                return evidence(OutputKind::Logits, format!("{named} (log-probabilities)"))
            }
            "MatMul" | "Gemm" => {
                return evidence(
                    OutputKind::Logits,
                    format!("a linear layer ({named}) and no Softmax"),
                )
            }
            "Add" if node.input.iter().any(|input| is_linear(input)) => {
                return evidence(
                    OutputKind::Logits,
                    format!("a linear layer ({named}) and no Softmax"),
                )
            }
            _ => return None,
        }
    }
    None
}

/// A string attribute of `node`.
fn node_string(node: &NodeProto, name: &str) -> Option<String> {
    node.attribute
        .iter()
        .find(|a| a.name() == name)
        .and_then(|a| a.s.as_ref())
        .map(|s| String::from_utf8_lossy(s).into_owned())
}

/// The output of an ONNX graph that holds the class scores when none is named: its only
/// float tensor output (an int64 `label` output is not one), with the reason; `Err`
/// saying what to pass when there is none or more than one.
pub fn onnx_scores_output(info: &OnnxFileInfo) -> Result<(String, String), String> {
    let outputs = || {
        info.outputs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    let floats: Vec<&TensorDecl> = info
        .outputs
        .iter()
        .filter(|o| o.is_float_tensor())
        .collect();
    match floats.as_slice() {
        [only] => Ok((
            only.name.clone(),
            if info.outputs.len() == 1 {
                "the graph's only output".to_string()
            } else {
                "the graph's only float tensor output".to_string()
            },
        )),
        [] => Err(format!(
            "the graph has no float tensor output (outputs: {}); a ZipMap output (a sequence of \
             maps) cannot be scored: re-export without ZipMap (skl2onnx `options={{'zipmap': False}}`)",
            outputs().join(", ")
        )),
        _ => Err(format!(
            "the graph has {} float tensor outputs ({}); name the one holding the class scores \
             with --output",
            floats.len(),
            outputs().join(", ")
        )),
    }
}

/// `output.kind` against what the reference outputs hold, else against the graph
/// (`model`, ONNX only): one failure when they contradict it.
fn check_output_kind(
    spec: &Bundle,
    model: Option<&ModelProto>,
    failures: &mut Vec<PreflightFailure>,
) {
    let evidence = spec
        .reference
        .as_ref()
        .and_then(reference_output_kind)
        .or_else(|| model.and_then(|model| graph_output_kind(model, &spec.output.name)));
    if let Some(evidence) = evidence.filter(|evidence| evidence.kind != spec.output.kind) {
        failures.push(PreflightFailure::OutputKind {
            name: spec.output.name.clone(),
            declared: spec.output.kind,
            evidence,
        });
    }
}

struct GraphFacts {
    fixed_batch: Option<usize>,
}

/// Checks the bundle against the ONNX graph's declared input and output; `None` when
/// the input cannot be used at all.
fn check_graph(
    spec: &Bundle,
    expected: &ExpectedFeatures,
    graph: &GraphSignature,
    failures: &mut Vec<PreflightFailure>,
) -> Option<GraphFacts> {
    let mut facts = GraphFacts { fixed_batch: None };
    let names = |list: &[super::onnx_proto::TensorDecl]| -> Vec<String> {
        list.iter().map(|v| v.name.clone()).collect()
    };
    match graph.outputs.iter().find(|o| o.name == spec.output.name) {
        None => failures.push(PreflightFailure::OutputMissing {
            name: spec.output.name.clone(),
            available: names(&graph.outputs),
        }),
        Some(output) => {
            if let Some(&width) = output.dims.as_ref().and_then(|dims| dims.last()) {
                if width >= 0 && width as usize != spec.output.class_labels.len() {
                    failures.push(PreflightFailure::ClassCount {
                        labels: spec.output.class_labels.clone(),
                        output_width: width,
                    });
                }
            }
        }
    }

    let Some(input) = graph.inputs.iter().find(|i| i.name == spec.input.name) else {
        failures.push(PreflightFailure::InputMissing {
            name: spec.input.name.clone(),
            available: names(&graph.inputs),
        });
        return None;
    };
    if !input.is_float_tensor() {
        failures.push(PreflightFailure::InputType {
            name: spec.input.name.clone(),
            found: input.element.clone(),
        });
    }
    let Some(dims) = input.dims.clone() else {
        // No declared shape: the first batch tells (ONNX Runtime checks it).
        return Some(facts);
    };
    let rank = if spec.input.layout == InputLayout::Rows {
        2
    } else {
        3
    };
    if dims.len() != rank {
        failures.push(PreflightFailure::InputRank {
            name: spec.input.name.clone(),
            layout: spec.input.layout,
            shape: dims,
        });
        return None;
    }
    match dims[0] {
        1 => facts.fixed_batch = Some(1),
        batch if batch > 1 => failures.push(PreflightFailure::FixedBatch {
            name: spec.input.name.clone(),
            batch,
        }),
        _ => {}
    }
    if spec.input.layout == InputLayout::Sequence {
        let window = dims[1];
        let declared = spec.input.window;
        let ok = matches!(declared, Some(w) if w > 0 && (window < 0 || window as usize == w));
        if !ok {
            failures.push(PreflightFailure::SequenceWindow {
                declared,
                model_window: window,
            });
        }
    }
    check_width(spec, expected, dims[rank - 1], failures);
    Some(facts)
}

/// The model's input width (−1: not declared) against the pipeline and the bundle.
fn check_width(
    spec: &Bundle,
    expected: &ExpectedFeatures,
    width: i64,
    failures: &mut Vec<PreflightFailure>,
) {
    if width < 0 {
        return;
    }
    if width as usize != expected.names.len() {
        failures.push(PreflightFailure::ModelWidth {
            model_width: width,
            set_name: expected.set_name.clone(),
            pipeline_width: expected.names.len(),
        });
    }
    if width as usize != spec.features.names.len() {
        failures.push(PreflightFailure::BundleWidth {
            model_width: width,
            bundle_width: spec.features.names.len(),
        });
    }
}

fn check_reference(
    plan: &ScoringPlan,
    engine: Engine,
    worker: &mut Worker,
    reference: &super::bundle::ReferenceRows,
    failures: &mut Vec<PreflightFailure>,
) {
    if reference.inputs.len() != reference.outputs.len() {
        failures.push(PreflightFailure::ReferenceShape {
            message: format!(
                "{} input rows but {} output rows",
                reference.inputs.len(),
                reference.outputs.len()
            ),
        });
        return;
    }
    if let Some((row, output)) = reference
        .outputs
        .iter()
        .enumerate()
        .find(|(_, output)| output.len() != plan.n_classes)
    {
        failures.push(PreflightFailure::ReferenceShape {
            message: format!(
                "output row {row} has {} values, expected {}",
                output.len(),
                plan.n_classes
            ),
        });
        return;
    }
    let scored = match plan.raw_outputs(worker, &reference.inputs) {
        Ok(outputs) => outputs,
        Err(err) => {
            failures.push(PreflightFailure::ReferenceRun {
                message: err.to_string(),
            });
            return;
        }
    };
    let tolerance = reference.tolerance;
    if tolerance.is_nan() || tolerance < 0.0 {
        failures.push(PreflightFailure::ReferenceShape {
            message: format!("tolerance {tolerance} is not a number ≥ 0"),
        });
        return;
    }
    // Per row, its largest difference; rows beyond tolerance sorted worst first
    // (ties by row index, so the report is deterministic).
    let mut over: Vec<ReferenceDiff> = Vec::new();
    for (row, (ours, theirs)) in scored.iter().zip(&reference.outputs).enumerate() {
        let worst = ours
            .iter()
            .zip(theirs)
            .enumerate()
            .map(|(column, (&o, &r))| ReferenceDiff {
                row,
                column,
                reference: r,
                scored: o,
                abs_diff: if o.is_nan() || r.is_nan() {
                    f64::INFINITY
                } else {
                    (f64::from(o) - f64::from(r)).abs()
                },
            })
            .max_by(|a, b| a.abs_diff.total_cmp(&b.abs_diff));
        if let Some(diff) = worst.filter(|diff| diff.abs_diff > tolerance) {
            over.push(diff);
        }
    }
    if !over.is_empty() {
        let rows_over = over.len();
        over.sort_by(|a, b| b.abs_diff.total_cmp(&a.abs_diff).then(a.row.cmp(&b.row)));
        over.truncate(WORST_ROWS_LISTED);
        failures.push(PreflightFailure::ReferenceMismatch {
            engine,
            tolerance,
            rows_over,
            rows_total: reference.inputs.len(),
            worst: over,
        });
    }
}

impl CheckedModel {
    pub fn bundle(&self) -> &Bundle {
        &self.bundle.bundle
    }

    pub fn model_bundle(&self) -> &ModelBundle {
        &self.bundle
    }

    pub fn name(&self) -> &str {
        &self.bundle.bundle.name
    }

    /// Rows of history one prediction needs (1, or the sequence window).
    pub fn rows_per_prediction(&self) -> usize {
        self.plan.window
    }

    pub fn n_classes(&self) -> usize {
        self.plan.n_classes
    }

    /// Which engine scores this model, and why.
    pub fn engine(&self) -> &EngineChoice {
        &self.engine
    }

    /// Number of workers (one per scoring thread).
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// Creates workers until there are `workers` of them (one per scoring thread): an
    /// ONNX Runtime session each, or buffers around the shared native model.
    pub fn ensure_workers(&mut self, workers: usize) -> Result<(), ScoreError> {
        while self.workers.len() < workers {
            let scorer = match &self.native {
                Some(model) => Scorer::native(Arc::clone(model)),
                None => {
                    let runtime_error = |message: String| ScoreError::Runtime {
                        model: self.plan.model.clone(),
                        message,
                    };
                    let runtime = runtime().map_err(|err| runtime_error(err.to_string()))?;
                    let session = runtime
                        .session(&self.bundle.model_bytes)
                        .map_err(|err| runtime_error(err.to_string()))?;
                    Scorer::OnnxRuntime(session)
                }
            };
            self.workers.push(Mutex::new(Worker::new(scorer)));
        }
        Ok(())
    }

    /// Scores one symbol on worker `worker` (taken modulo the number of sessions) in
    /// batches of `batch_size` predictions.
    pub fn score(
        &self,
        worker: usize,
        rows: &FeatureRows<'_>,
        batch_size: usize,
    ) -> Result<MemberScores, ScoreError> {
        let mut guard = lock_worker(&self.workers, worker);
        self.plan
            .score(&mut guard, rows, batch_size, ScoreOutput::Calibrated)
    }

    /// Like [`CheckedModel::score`] but `probabilities` holds the raw ONNX output
    /// (logits or probabilities, before temperature) of each scored row.
    pub fn score_raw(
        &self,
        worker: usize,
        rows: &FeatureRows<'_>,
        batch_size: usize,
    ) -> Result<MemberScores, ScoreError> {
        let mut guard = lock_worker(&self.workers, worker);
        self.plan
            .score(&mut guard, rows, batch_size, ScoreOutput::Raw)
    }

    /// Scores every symbol, in parallel across symbols on `pool` (each pool thread uses
    /// its own session; call [`CheckedModel::ensure_workers`] with the pool's thread
    /// count first). The result is in `symbols` order and independent of thread count.
    pub fn score_symbols(
        &self,
        symbols: &[FeatureRows<'_>],
        pool: &rayon::ThreadPool,
        batch_size: usize,
    ) -> Result<Vec<MemberScores>, ScoreError> {
        use rayon::prelude::*;
        pool.install(|| {
            symbols
                .par_iter()
                .map(|rows| {
                    let worker = rayon::current_thread_index().unwrap_or(0);
                    self.score(worker, rows, batch_size)
                })
                .collect()
        })
    }

    /// The loud input-distribution warning for `scores`' merged counts, if any.
    pub fn input_warning(
        &self,
        distribution: &super::scoring::InputDistribution,
    ) -> Option<String> {
        distribution.warning(&self.plan.model, &self.plan.feature_names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/models")
            .join(name);
        std::fs::read(path).unwrap()
    }

    fn reference(outputs: Vec<Vec<f32>>) -> ReferenceRows {
        ReferenceRows {
            source: "test".into(),
            tolerance: 0.0,
            inputs: vec![vec![]; outputs.len()],
            outputs,
        }
    }

    #[test]
    fn long_name_lists_are_summarized_unless_alternate() {
        let missing: Vec<PositionedName> = (0..437)
            .map(|position| PositionedName {
                position,
                name: format!("f{position}"),
            })
            .collect();
        let failure = PreflightFailure::FeatureNames {
            missing,
            extra: vec![],
            reordered: vec![],
        };
        let short = failure.to_string();
        assert!(short.contains("position): f0@0, f1@1,"), "{short}");
        assert!(
            short.ends_with("f9@9 … and 427 more (437 in all)"),
            "{short}"
        );
        assert!(short.len() < 300, "{short}");
        let full = format!("{failure:#}");
        assert!(full.contains("f436@436"), "{full}");
    }

    #[test]
    fn an_open_ended_backtest_window_is_not_printed_as_a_number() {
        let failure = PreflightFailure::TrainingOverlap {
            training_from: "2024-01-01T00:00:00Z".into(),
            training_to: "2024-01-04T23:55:00Z".into(),
            backtest_from: 1_704_369_600_000,
            backtest_to: i64::MAX - 1,
        };
        let text = failure.to_string();
        assert!(
            text.contains("2024-01-04T12:00:00Z .. open-ended overlaps"),
            "{text}"
        );
        assert!(!text.contains("9223372036854775806"), "{text}");
        assert!(text.contains("allow_training_overlap = true"), "{text}");
    }

    #[test]
    fn reference_rows_tell_probabilities_from_logits() {
        let probabilities = reference(vec![vec![0.2, 0.3, 0.5], vec![1.0, 0.0, 0.0]]);
        assert_eq!(
            reference_output_kind(&probabilities).map(|e| e.kind),
            Some(OutputKind::Probabilities)
        );
        let logits = reference(vec![vec![2.0, 0.3, 0.5], vec![1.5, -0.2, 0.1]]);
        let evidence = reference_output_kind(&logits).unwrap();
        assert_eq!(evidence.kind, OutputKind::Logits);
        assert!(
            evidence.reason.contains("none of the 2"),
            "{}",
            evidence.reason
        );
        // A damaged row among probabilities says nothing (the comparison reports it).
        let damaged = reference(vec![vec![0.2, 0.3, 0.5], vec![0.2, 0.31, 0.5]]);
        assert_eq!(reference_output_kind(&damaged), None);
        assert_eq!(reference_output_kind(&reference(vec![])), None);
        assert_eq!(
            reference_output_kind(&reference(vec![vec![f32::NAN, 1.0]])),
            None
        );
    }

    #[test]
    fn the_graph_tells_probabilities_from_logits() {
        let mlp = onnx_output_kind(&fixture("mlp3.onnx"), "probabilities").unwrap();
        assert_eq!(mlp.kind, OutputKind::Probabilities);
        assert!(mlp.reason.contains("Softmax"), "{}", mlp.reason);
        let lstm = onnx_output_kind(&fixture("lstm3.onnx"), "logits").unwrap();
        assert_eq!(lstm.kind, OutputKind::Logits);
        assert_eq!(onnx_output_kind(&fixture("mlp3.onnx"), "absent"), None);
    }

    #[test]
    fn the_scores_output_is_the_only_float_output() {
        let info = |name: &str| super::super::onnx_proto::parse_onnx(&fixture(name)).unwrap();
        assert_eq!(
            onnx_scores_output(&info("xgb3.onnx")).unwrap().0,
            "probabilities"
        );
        let (name, why) = onnx_scores_output(&info("lstm3.onnx")).unwrap();
        assert_eq!(
            (name.as_str(), why.as_str()),
            ("logits", "the graph's only output")
        );
    }
}
