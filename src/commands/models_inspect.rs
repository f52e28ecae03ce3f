//! `gauntlet models inspect`: what a model file / bundle declares — format, opsets,
//! producer, inputs and outputs of an ONNX graph, the bundle summary, the engine that
//! would score it and why, and (with --set / --manifest) preflight against a feature
//! pipeline: exit 1 when it reports the bundle incompatible, 2 on an error.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use gauntlet_strategies::models::{
    bundle_json_path, check_bundle, engine_for, parse_onnx, sha256_hex, EnginePreference,
    ExpectedFeatures, ModelBundle, ModelFormat, OutputKind, PreflightError, PreflightOptions,
    Scaling, TreeModel,
};

use super::models_check::{EngineArg, PipelineArgs};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// `NAME.bundle.json`, a model file (`.onnx`, XGBoost `.json`, LightGBM `.txt`; with
    /// or without a bundle next to it) or `NAME`.
    pub path: PathBuf,
    /// Also preflight the bundle against a feature pipeline (`--set NAME|FILE.toml` or
    /// `--manifest FILE`) and show whether it is compatible.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// The engine preference to show the choice for.
    #[arg(long, value_enum, default_value = "auto")]
    pub engine: EngineArg,
    /// List every feature name of an incompatibility (by default the first ten and a
    /// count).
    #[arg(long, short)]
    pub verbose: bool,
}

pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let bundle_path = bundle_json_path(&args.path);
    let bundle = if bundle_path.is_file() {
        Some(ModelBundle::load(&bundle_path)?)
    } else {
        None
    };
    let model_path = bundle
        .as_ref()
        .map(|b| b.model_path.clone())
        .unwrap_or_else(|| args.path.clone());
    let bytes = std::fs::read(&model_path)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", model_path.display()))?;
    let format = match &bundle {
        Some(bundle) => bundle.bundle.model_format,
        None => ModelFormat::detect(&model_path, &bytes).ok_or_else(|| {
            anyhow::anyhow!(
                "{} is neither an ONNX file (.onnx), an XGBoost JSON model nor a LightGBM text model",
                model_path.display()
            )
        })?,
    };
    println!(
        "file        {} ({} bytes, sha256 {})",
        model_path.display(),
        bytes.len(),
        sha256_hex(&bytes)
    );
    println!("format      {}", format.as_str());
    if format == ModelFormat::Onnx {
        let info = parse_onnx(&bytes).map_err(|reason| {
            anyhow::anyhow!(
                "{} is not a valid ONNX model: {reason}",
                model_path.display()
            )
        })?;
        println!("ir_version  {}", info.ir_version);
        println!(
            "producer    {} {}",
            info.producer_name, info.producer_version
        );
        let opsets: Vec<String> = info
            .opsets
            .iter()
            .map(|(domain, version)| {
                format!(
                    "{}={version}",
                    if domain.is_empty() { "ai.onnx" } else { domain }
                )
            })
            .collect();
        println!("opsets      {}", opsets.join(", "));
        println!("operators   {}", info.operators.join(", "));
        for input in &info.inputs {
            println!("input       {input}");
        }
        for output in &info.outputs {
            println!("output      {output}");
        }
    } else if bundle.is_none() {
        let model = match format {
            ModelFormat::XgboostJson => {
                TreeModel::from_xgboost_json(&bytes, OutputKind::Probabilities)
            }
            _ => TreeModel::from_lightgbm_text(
                &String::from_utf8_lossy(&bytes),
                OutputKind::Probabilities,
            ),
        }
        .map_err(|err| anyhow::anyhow!("{}: {err}", model_path.display()))?;
        println!("trees       {}", model.describe());
    }

    let Some(bundle) = bundle else {
        println!("bundle      none ({} not found)", bundle_path.display());
        return Ok(ExitCode::SUCCESS);
    };
    let b = &bundle.bundle;
    println!(
        "bundle      {} (schema {})",
        bundle.bundle_path.display(),
        b.schema_version
    );
    let preference = EnginePreference::from(args.engine);
    match engine_for(&bundle, preference) {
        Ok(choice) => println!("engine      {choice}"),
        Err(reason) => println!("engine      NONE: {reason}"),
    }
    println!("  name      {}", b.name);
    println!(
        "  features  {} v{} ({} features, manifest {})",
        b.features.set_name,
        b.features
            .set_version
            .map(|v| v.to_string())
            .unwrap_or_else(|| "?".into()),
        b.features.names.len(),
        b.features.manifest_hash
    );
    println!(
        "  input     {} layout {:?}{}",
        b.input.name,
        b.input.layout,
        b.input
            .window
            .map(|w| format!(" window {w}"))
            .unwrap_or_default()
    );
    println!(
        "  scaling   {}",
        match (b.scaling, &b.scaler) {
            (Scaling::None, _) => "none (raw features)".to_string(),
            (Scaling::Standard, Some(s)) => format!("standard ({} means / stds)", s.mean.len()),
            (Scaling::Standard, None) => "standard, but NO SCALER in the bundle".to_string(),
        }
    );
    println!(
        "  output    {} {:?} classes {} temperature {}",
        b.output.name,
        b.output.kind,
        b.output.class_labels.join("/"),
        b.output.temperature
    );
    println!(
        "  labels    horizon {} bars, flat threshold {}",
        b.labels.horizon_bars, b.labels.flat_threshold
    );
    println!(
        "  training  {} .. {}",
        b.training_window.from, b.training_window.to
    );
    match &b.reference {
        Some(r) => println!(
            "  reference {} rows from {} (tolerance {:e})",
            r.inputs.len(),
            r.source,
            r.tolerance
        ),
        None => println!("  reference none"),
    }

    let Some(manifest) = args.pipeline.manifest()? else {
        return Ok(ExitCode::SUCCESS);
    };
    let expected = ExpectedFeatures::from(&manifest);
    let options = PreflightOptions {
        engine: preference,
        ..PreflightOptions::default()
    };
    match check_bundle(&bundle.bundle_path, &expected, &options) {
        Ok(_) => {
            println!(
                "compatible  yes, with feature set {} ({})",
                expected.set_name, expected.manifest_hash
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(PreflightError::Runtime(err)) => Err(err.into()),
        Err(PreflightError::Failed(report)) => {
            println!(
                "compatible  NO, with feature set {} ({} problem{}; exit 1):",
                expected.set_name,
                report.failures.len(),
                if report.failures.len() == 1 { "" } else { "s" }
            );
            for failure in &report.failures {
                if args.verbose {
                    println!("  - {failure:#}");
                } else {
                    println!("  - {failure}");
                }
            }
            Ok(ExitCode::from(1))
        }
    }
}
