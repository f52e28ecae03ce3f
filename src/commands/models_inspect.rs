//! `gauntlet models inspect`: what an ONNX file / bundle declares — opsets, producer,
//! inputs and outputs, the bundle summary, and (with --manifest) preflight against a
//! feature pipeline.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use gauntlet_strategies::models::{
    bundle_json_path, check_bundle, parse_onnx, runtime, sha256_hex, ExpectedFeatures, ModelBundle,
    PreflightError, PreflightOptions, Scaling,
};

use super::models_check::PipelineArgs;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// `NAME.bundle.json`, `NAME.onnx` (with or without a bundle next to it) or `NAME`.
    pub path: PathBuf,
    /// Also preflight the bundle against a feature pipeline (`--set NAME|FILE.toml` or
    /// `--manifest FILE`) and show whether it is compatible.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let bundle_path = bundle_json_path(&args.path);
    let bundle = if bundle_path.is_file() {
        Some(ModelBundle::load(&bundle_path)?)
    } else {
        None
    };
    let onnx_path = bundle
        .as_ref()
        .map(|b| b.onnx_path.clone())
        .unwrap_or_else(|| args.path.clone());
    let bytes = std::fs::read(&onnx_path)
        .map_err(|err| anyhow::anyhow!("cannot read {}: {err}", onnx_path.display()))?;
    let info = parse_onnx(&bytes).map_err(|reason| {
        anyhow::anyhow!(
            "{} is not a valid ONNX model: {reason}",
            onnx_path.display()
        )
    })?;
    println!(
        "file        {} ({} bytes, sha256 {})",
        onnx_path.display(),
        bytes.len(),
        sha256_hex(&bytes)
    );
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

    let session = runtime()?.session(&bytes).map_err(|err| {
        anyhow::anyhow!("{} is not a valid ONNX model: {err}", onnx_path.display())
    })?;
    for input in session.inputs() {
        println!("input       {}: {}", input.name(), input.dtype());
    }
    for output in session.outputs() {
        println!("output      {}: {}", output.name(), output.dtype());
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
    match check_bundle(&bundle.bundle_path, &expected, &PreflightOptions::default()) {
        Ok(_) => {
            println!(
                "compatible  yes, with feature set {} ({})",
                expected.set_name, expected.manifest_hash
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(PreflightError::Runtime(err)) => Err(err.into()),
        Err(PreflightError::Failed(report)) => {
            println!("compatible  NO, with feature set {}:", expected.set_name);
            for failure in &report.failures {
                println!("  - {failure}");
            }
            Ok(ExitCode::from(1))
        }
    }
}
