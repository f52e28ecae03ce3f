//! `gauntlet models bundle`: write `NAME.bundle.json` next to an ONNX file from the
//! feature manifest, the scaler and the training facts, so nobody hand-writes it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use gauntlet_strategies::models::{
    read_feature_manifest, runtime, BundleSpec, InputLayout, InputSpec, LabelSpec, OutputKind,
    OutputSpec, ReferenceRows, Scaler, TrainingWindow,
};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LayoutArg {
    Rows,
    Sequence,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    Probabilities,
    Logits,
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The exported model.
    #[arg(long)]
    pub onnx: PathBuf,
    /// The feature manifest JSON the training data was exported with (written beside
    /// the table by `gauntlet features export`).
    #[arg(long)]
    pub manifest: PathBuf,
    /// JSON `{"mean": [...], "std": [...]}` in manifest feature order.
    #[arg(long, required_unless_present = "no_scaling")]
    pub scaler: Option<PathBuf>,
    /// Declare that the model takes raw, unscaled features.
    #[arg(long, conflicts_with = "scaler")]
    pub no_scaling: bool,
    /// JSON `{"source", "tolerance", "inputs", "outputs"}`: raw input rows and the
    /// native library's outputs for them.
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Model name (default: the ONNX file stem).
    #[arg(long)]
    pub name: Option<String>,
    /// ONNX input name (default: the graph's first input).
    #[arg(long)]
    pub input_name: Option<String>,
    #[arg(long, value_enum, default_value = "rows")]
    pub layout: LayoutArg,
    /// Rows per window (sequence layout).
    #[arg(long, required_if_eq("layout", "sequence"))]
    pub window: Option<usize>,
    /// ONNX output holding the class scores.
    #[arg(long, default_value = "probabilities")]
    pub output: String,
    #[arg(long, value_enum, default_value = "probabilities")]
    pub kind: KindArg,
    /// Class labels in output-column order.
    #[arg(long, value_delimiter = ',', default_value = "down,flat,up")]
    pub classes: Vec<String>,
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Label horizon in bars.
    #[arg(long)]
    pub horizon: u32,
    /// |return| at or below which the label is flat (fraction).
    #[arg(long)]
    pub flat_threshold: f64,
    /// First bar of the training data (RFC 3339).
    #[arg(long)]
    pub train_from: String,
    /// Last bar of the training data, label horizon included (RFC 3339).
    #[arg(long)]
    pub train_to: String,
    /// Where to write (default: NAME.bundle.json next to the ONNX file).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &PathBuf) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
}

pub fn run(args: BundleArgs) -> anyhow::Result<ExitCode> {
    let manifest = read_feature_manifest(&args.manifest)?;
    let scaler: Option<Scaler> = args.scaler.as_ref().map(read_json).transpose()?;
    let reference: Option<ReferenceRows> = args.reference.as_ref().map(read_json).transpose()?;
    let input_name = match args.input_name {
        Some(name) => name,
        None => {
            let bytes = std::fs::read(&args.onnx)
                .with_context(|| format!("cannot read {}", args.onnx.display()))?;
            let session = runtime()?.session(&bytes).map_err(|err| {
                anyhow::anyhow!("{} is not a valid ONNX model: {err}", args.onnx.display())
            })?;
            session
                .inputs()
                .first()
                .map(|input| input.name().to_string())
                .context("the ONNX graph has no inputs")?
        }
    };
    let name = args.name.unwrap_or_else(|| {
        args.onnx
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let spec = BundleSpec {
        name: name.clone(),
        onnx_path: args.onnx.clone(),
        manifest,
        input: InputSpec {
            name: input_name,
            layout: match args.layout {
                LayoutArg::Rows => InputLayout::Rows,
                LayoutArg::Sequence => InputLayout::Sequence,
            },
            window: args.window,
        },
        scaler,
        output: OutputSpec {
            name: args.output,
            kind: match args.kind {
                KindArg::Probabilities => OutputKind::Probabilities,
                KindArg::Logits => OutputKind::Logits,
            },
            class_labels: args.classes,
            temperature: args.temperature,
        },
        labels: LabelSpec {
            horizon_bars: args.horizon,
            flat_threshold: args.flat_threshold,
        },
        training_window: TrainingWindow {
            from: args.train_from,
            to: args.train_to,
        },
        reference,
    };
    let bundle = spec.build()?;
    bundle
        .training_window
        .millis()
        .map_err(|message| anyhow::anyhow!(message))?;
    let out = args
        .out
        .unwrap_or_else(|| args.onnx.with_file_name(format!("{name}.bundle.json")));
    std::fs::write(&out, bundle.to_json())
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "wrote {} (run `gauntlet models check` on it next)",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
