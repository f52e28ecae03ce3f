//! `gauntlet models bundle`: write `NAME.bundle.json` next to a model file
//! ([`gauntlet_run::bundle`] says how), printing what was inferred and from what.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use gauntlet_run::bundle::{write_bundle, BundleRequest, ScalerSource};
use gauntlet_strategies::models::{
    InputLayout, LabelSpec, ModelFormat, OutputKind, TrainingWindow, ZeroVariance,
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
    #[arg(long, required_unless_present_any = ["no_scaling", "fit_scaler_from"])]
    pub scaler: Option<PathBuf>,
    /// Fit the scaler on the training table (`gauntlet features export` output for this
    /// manifest): per-feature mean and population std (ddof=0, numpy's default and
    /// scikit-learn's StandardScaler) over the rows with a label.
    #[arg(long, conflicts_with_all = ["scaler", "no_scaling"])]
    pub fit_scaler_from: Option<PathBuf>,
    /// With --fit-scaler-from: give features whose training values are all equal std 1
    /// instead of refusing (they are named).
    #[arg(long, requires = "fit_scaler_from")]
    pub zero_variance_std_one: bool,
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
    /// ONNX output holding the class scores (default: the graph's only float tensor
    /// output; unused by XGBoost / LightGBM).
    #[arg(long)]
    pub output: Option<String>,
    /// What the output holds (default: told from the graph — Softmax, a classifier's
    /// post_transform… — or the reference outputs; XGBoost / LightGBM: probabilities,
    /// the library's predict_proba, while `logits` means its raw margins).
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
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

impl From<KindArg> for OutputKind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::Probabilities => Self::Probabilities,
            KindArg::Logits => Self::Logits,
        }
    }
}

pub fn run(args: BundleArgs) -> anyhow::Result<ExitCode> {
    let scaler = match (args.scaler, args.fit_scaler_from) {
        (Some(path), _) => ScalerSource::File(path),
        (None, Some(table)) => ScalerSource::FitOn {
            table,
            zero_variance: if args.zero_variance_std_one {
                ZeroVariance::StdOne
            } else {
                ZeroVariance::Refuse
            },
        },
        (None, None) => ScalerSource::None,
    };
    let request = BundleRequest {
        model: args.model,
        format: args.format.map(|format| match format {
            FormatArg::Onnx => ModelFormat::Onnx,
            FormatArg::XgboostJson => ModelFormat::XgboostJson,
            FormatArg::LightgbmText => ModelFormat::LightgbmText,
        }),
        manifest: args.manifest,
        scaler,
        reference: args.reference,
        name: args.name,
        input_name: args.input_name,
        layout: match args.layout {
            LayoutArg::Rows => InputLayout::Rows,
            LayoutArg::Sequence => InputLayout::Sequence,
        },
        window: args.window,
        output: args.output,
        kind: args.kind.map(OutputKind::from),
        classes: args.classes,
        temperature: args.temperature,
        labels: LabelSpec {
            horizon_bars: args.horizon,
            flat_threshold: args.flat_threshold,
        },
        training_window: TrainingWindow {
            from: args.train_from,
            to: args.train_to,
        },
        out: args.out,
    };
    let out = write_bundle(request, |note| println!("{note}"))?;
    println!(
        "wrote {} (it passes preflight against its manifest; run `gauntlet models check` with \
         the backtest's feature set and window next)",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
