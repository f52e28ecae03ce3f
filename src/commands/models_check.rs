//! `gauntlet models check`: preflight only — compare bundles with the feature pipeline
//! and their model files, say which engine would score each, score nothing. Exit 0 all
//! passed / 1 a bundle failed / 2 error (including a bundle.json that is missing or is
//! not a bundle).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use gauntlet_strategies::features::{FeatureManifest, FeatureSet};
use gauntlet_strategies::models::{
    bundle_json_path, check_bundle, preflight, read_feature_manifest, CheckedModel,
    EnginePreference, ExpectedFeatures, ModelBundle, PreflightError, PreflightOptions,
    PreflightReport,
};

/// `--engine`: which engine scores ONNX models.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum EngineArg {
    /// Native for tree ensembles (and XGBoost / LightGBM files), ONNX Runtime otherwise.
    #[default]
    Auto,
    /// The native tree-ensemble evaluator only.
    Native,
    /// ONNX Runtime for every ONNX file.
    Onnxruntime,
}

impl From<EngineArg> for EnginePreference {
    fn from(arg: EngineArg) -> Self {
        match arg {
            EngineArg::Auto => Self::Auto,
            EngineArg::Native => Self::Native,
            EngineArg::Onnxruntime => Self::Onnxruntime,
        }
    }
}

/// The feature pipeline bundles are compared with: a feature set, or the manifest JSON
/// of one (as `gauntlet features export` writes it beside a training table).
#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// A built-in feature set (core31, mtf50) or a custom-set .toml file.
    #[arg(long, conflicts_with = "manifest")]
    pub set: Option<String>,
    /// A feature manifest JSON file.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
}

impl PipelineArgs {
    /// The manifest named by `--set` or `--manifest`, `None` if neither was given.
    pub fn manifest(&self) -> anyhow::Result<Option<FeatureManifest>> {
        match (&self.set, &self.manifest) {
            (Some(set), _) => Ok(Some(FeatureSet::load(set)?.manifest())),
            (None, Some(path)) => Ok(Some(read_feature_manifest(path)?)),
            (None, None) => Ok(None),
        }
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Bundles: `NAME.bundle.json`, `NAME.onnx` or `NAME`.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The pipeline the backtest will use: `--set NAME|FILE.toml` or `--manifest FILE`.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// First bar of the backtest (RFC 3339); with --backtest-to, checked against the
    /// training window.
    #[arg(long, requires = "backtest_to")]
    pub backtest_from: Option<String>,
    /// Last bar of the backtest (RFC 3339).
    #[arg(long, requires = "backtest_from")]
    pub backtest_to: Option<String>,
    /// Accept a backtest window that overlaps the training window (leakage).
    #[arg(long)]
    pub allow_training_overlap: bool,
    /// Which engine would score ONNX models.
    #[arg(long, value_enum, default_value = "auto")]
    pub engine: EngineArg,
    /// List every feature name of a failure (by default the first ten and a count).
    #[arg(long, short)]
    pub verbose: bool,
}

/// Loads the bundle at `path` and preflights it. A bundle.json that is missing or is not
/// a bundle is an error (exit 2); a bundle whose model file is missing, damaged or
/// replaced fails its check like any other incompatibility.
fn check(
    path: &Path,
    expected: &ExpectedFeatures,
    options: &PreflightOptions,
) -> anyhow::Result<Result<CheckedModel, PreflightError>> {
    let bundle_path = bundle_json_path(path);
    match ModelBundle::load(path) {
        Ok(bundle) => Ok(preflight(bundle, expected, options)),
        Err(err) if err.is_unreadable_bundle(&bundle_path) => {
            Err(anyhow::Error::new(err).context(format!(
                "bundle {} (give NAME.bundle.json, NAME.onnx or NAME)",
                path.display()
            )))
        }
        Err(_) => Ok(check_bundle(path, expected, options)),
    }
}

/// Whether the report's default form left names out (`--verbose` shows them).
fn shortened(report: &PreflightReport) -> bool {
    format!("{report}") != format!("{report:#}")
}

fn parse_time(flag: &str, value: &str) -> anyhow::Result<i64> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|ts| ts.timestamp_millis())
        .with_context(|| {
            format!("{flag} {value:?} is not an RFC 3339 time (e.g. 2024-04-01T00:00:00Z)")
        })
}

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let Some(manifest) = args.pipeline.manifest()? else {
        bail!("name the feature pipeline to check against: --set core31 (or a custom-set .toml) or --manifest FILE");
    };
    let expected = ExpectedFeatures::from(&manifest);
    let backtest_window = match (&args.backtest_from, &args.backtest_to) {
        (Some(from), Some(to)) => Some((
            parse_time("--backtest-from", from)?,
            parse_time("--backtest-to", to)?,
        )),
        _ => None,
    };
    let options = PreflightOptions {
        backtest_window,
        allow_training_overlap: args.allow_training_overlap,
        engine: args.engine.into(),
    };
    let mut failed = 0;
    let mut shortened_any = false;
    for path in &args.paths {
        match check(path, &expected, &options)? {
            Ok(model) => println!(
                "ok      {} ({}), engine {}",
                model.name(),
                path.display(),
                model.engine()
            ),
            Err(PreflightError::Runtime(err)) => return Err(err.into()),
            Err(PreflightError::Failed(report)) => {
                failed += 1;
                if args.verbose {
                    println!("FAILED  {report:#}");
                } else {
                    shortened_any |= shortened(&report);
                    println!("FAILED  {report}");
                }
            }
        }
    }
    if shortened_any {
        println!("(long lists were shortened; --verbose lists every name)");
    }
    println!(
        "{} of {} bundles passed preflight against feature set {}",
        args.paths.len() - failed,
        args.paths.len(),
        expected.set_name
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
