//! Model bundles, inference and preflight checks.
//!
//! A bundle is a model file (ONNX, XGBoost JSON or LightGBM text) + `NAME.bundle.json`
//! ([`Bundle`]). [`check_bundle`] (or [`preflight`]) compares it with the feature
//! pipeline ([`ExpectedFeatures`]) and its model file before any row is scored, and
//! chooses the engine ([`EngineChoice`]): the native tree-ensemble evaluator
//! ([`TreeModel`]) or ONNX Runtime. Only a passing bundle becomes a [`CheckedModel`],
//! which scores symbols ([`FeatureRows`] → [`MemberScores`]) in batches, in parallel
//! across symbols, one scorer per worker. [`PredictionCache`] stores scores keyed by
//! (bundle, manifest, data, engine) so they are computed once.

mod bundle;
mod cache;
mod onnx_proto;
mod preflight;
mod runtime;
mod scoring;
mod trees;

pub use bundle::{
    bundle_json_path, check_class_labels, read_feature_manifest, sha256_hex, Bundle, BundleError,
    BundleFeatures, BundleSpec, CalibrationRecord, DuplicateClassLabel, ExpectedFeatures,
    FittedScaler, InputLayout, InputSpec, LabelSpec, ModelBundle, ModelFormat, OutputKind,
    OutputSpec, ReferenceRows, Scaler, ScalerFitError, Scaling, TrainingWindow,
    TrainingWindowError, ZeroVariance, BUNDLE_SCHEMA_VERSION,
};
pub use cache::{CacheError, PredictionCache, PredictionKey, CACHE_FORMAT_VERSION};
pub use onnx_proto::{parse_onnx, OnnxError, OnnxFileInfo, TensorDecl};
pub use preflight::{
    check_bundle, engine_for, onnx_output_kind, onnx_scores_output, preflight,
    reference_output_kind, CheckedModel, EnginePreference, MovedName, OutputEvidence,
    PositionedName, PreflightError, PreflightFailure, PreflightOptions, PreflightReport,
    ReferenceDiff, NAMES_LISTED, WORST_ROWS_LISTED,
};
pub use runtime::{
    locate_onnxruntime, runtime, OrtRuntime, RuntimeError, ONNXRUNTIME_LIBRARY, ONNXRUNTIME_VERSION,
};
pub use scoring::{
    calibrate, Engine, EngineChoice, FeatureRows, InputDistribution, MemberScores, ScoreError,
    ScoreOutput, EXTREME_ROW_SHARE, EXTREME_Z,
};
pub use trees::{NotNative, TreeFileError, TreeModel, TreeScratch};
