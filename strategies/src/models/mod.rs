//! Model bundles, ONNX inference and preflight checks.
//!
//! A bundle is `NAME.onnx` + `NAME.bundle.json` ([`Bundle`]). [`check_bundle`] (or
//! [`preflight`]) compares it with the feature pipeline ([`ExpectedFeatures`]) and its
//! ONNX graph before any row is scored; only a passing bundle becomes a
//! [`CheckedModel`], which scores symbols ([`FeatureRows`] → [`MemberScores`]) in
//! batches, in parallel across symbols, with one ONNX Runtime session per worker.
//! [`PredictionCache`] stores scores keyed by (bundle, manifest, data) hashes so they
//! are computed once.

mod bundle;
mod cache;
mod onnx_file;
mod preflight;
mod runtime;
mod scoring;

pub use bundle::{
    bundle_json_path, read_feature_manifest, sha256_hex, Bundle, BundleError, BundleFeatures,
    BundleSpec, CalibrationRecord, ExpectedFeatures, InputLayout, InputSpec, LabelSpec,
    ModelBundle, OutputKind, OutputSpec, ReferenceRows, Scaler, Scaling, TrainingWindow,
    BUNDLE_SCHEMA_VERSION,
};
pub use cache::{CacheError, PredictionCache, PredictionKey, CACHE_FORMAT_VERSION};
pub use onnx_file::{parse_onnx, OnnxFileInfo};
pub use preflight::{
    check_bundle, preflight, CheckedModel, MovedName, PositionedName, PreflightError,
    PreflightFailure, PreflightOptions, PreflightReport, ReferenceDiff,
    DEFAULT_REFERENCE_TOLERANCE, WORST_ROWS_LISTED,
};
pub use runtime::{
    locate_onnxruntime, runtime, OrtRuntime, RuntimeError, ONNXRUNTIME_LIBRARY, ONNXRUNTIME_VERSION,
};
pub use scoring::{
    calibrate, FeatureRows, InputDistribution, MemberScores, ScoreError, ScoreOutput,
    EXTREME_ROW_SHARE, EXTREME_Z,
};
