//! `gauntlet models bundle`: write `NAME.bundle.json` next to a model file (ONNX,
//! XGBoost JSON or LightGBM text) from the feature manifest, the scaler and the training
//! facts, so nobody hand-writes it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use gauntlet_strategies::models::{
    parse_onnx, read_feature_manifest, BundleSpec, InputLayout, InputSpec, LabelSpec, ModelFormat,
    OutputKind, OutputSpec, ReferenceRows, Scaler, TrainingWindow,
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

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Onnx,
    XgboostJson,
    LightgbmText,
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The model file: an ONNX export, an XGBoost JSON model (`save_model("m.json")`) or
    /// a LightGBM text model (`save_model("m.txt")`).
    #[arg(long, visible_alias = "onnx")]
    pub model: PathBuf,
    /// The model file's format (default: told from its extension and content).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
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
    /// Model name (default: the model file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// ONNX input name (default: the graph's first input; unused by XGBoost / LightGBM).
    #[arg(long)]
    pub input_name: Option<String>,
    #[arg(long, value_enum, default_value = "rows")]
    pub layout: LayoutArg,
    /// Rows per window (sequence layout).
    #[arg(long, required_if_eq("layout", "sequence"))]
    pub window: Option<usize>,
    /// ONNX output holding the class scores (unused by XGBoost / LightGBM).
    #[arg(long, default_value = "probabilities")]
    pub output: String,
    /// What the output holds. XGBoost / LightGBM: `probabilities` is the library's
    /// predict_proba, `logits` its raw margins.
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
    /// Where to write (default: NAME.bundle.json next to the model file).
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
    let bytes = std::fs::read(&args.model)
        .with_context(|| format!("cannot read {}", args.model.display()))?;
    let format = match args.format {
        Some(FormatArg::Onnx) => ModelFormat::Onnx,
        Some(FormatArg::XgboostJson) => ModelFormat::XgboostJson,
        Some(FormatArg::LightgbmText) => ModelFormat::LightgbmText,
        None => ModelFormat::detect(&args.model, &bytes).with_context(|| {
            format!(
                "cannot tell the format of {}: pass --format onnx|xgboost-json|lightgbm-text",
                args.model.display()
            )
        })?,
    };
    let input_name = match (args.input_name, format) {
        (Some(name), _) => name,
        (None, ModelFormat::Onnx) => {
            let info = parse_onnx(&bytes).map_err(|err| {
                anyhow::anyhow!("{} is not a valid ONNX model: {err}", args.model.display())
            })?;
            info.inputs
                .first()
                .map(|input| input.name.clone())
                .context("the ONNX graph has no inputs")?
        }
        (None, _) => "input".to_string(),
    };
    let name = args.name.unwrap_or_else(|| {
        args.model
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let spec = BundleSpec {
        name: name.clone(),
        model_path: args.model.clone(),
        model_format: format,
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
        .unwrap_or_else(|| args.model.with_file_name(format!("{name}.bundle.json")));
    std::fs::write(&out, bundle.to_json())
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "wrote {} (run `gauntlet models check` on it next)",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
