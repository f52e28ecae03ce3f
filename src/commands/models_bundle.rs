//! `gauntlet models bundle`: write `NAME.bundle.json` next to a model file (ONNX,
//! XGBoost JSON or LightGBM text) from the feature manifest, the scaler (given, or fitted
//! on the training table) and the training facts, so nobody hand-writes it. The output
//! name and kind are inferred when not given, saying from what, and the bundle is
//! written only if it passes preflight against its own manifest.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use gauntlet_datasets::table::Table;
use gauntlet_strategies::features::FeatureManifest;
use gauntlet_strategies::models::{
    check_class_labels, onnx_output_kind, onnx_scores_output, parse_onnx, preflight,
    read_feature_manifest, reference_output_kind, BundleSpec, ExpectedFeatures, InputLayout,
    InputSpec, LabelSpec, ModelFormat, OnnxFileInfo, OutputEvidence, OutputKind, OutputSpec,
    PreflightError, PreflightOptions, ReferenceRows, Scaler, ScalerFitError, TrainingWindow,
    ZeroVariance,
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

fn read_json<T: serde::de::DeserializeOwned>(path: &PathBuf) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
}

/// The scaler: read from `--scaler`, fitted with `--fit-scaler-from`, or none.
fn scaler(args: &BundleArgs, manifest: &FeatureManifest) -> anyhow::Result<Option<Scaler>> {
    if let Some(path) = &args.scaler {
        return read_json(path).map(Some);
    }
    let Some(path) = &args.fit_scaler_from else {
        return Ok(None);
    };
    let table = Table::read_parquet(path)?;
    let zero_variance = if args.zero_variance_std_one {
        ZeroVariance::StdOne
    } else {
        ZeroVariance::Refuse
    };
    let fitted = Scaler::fit(&table, &manifest.names(), zero_variance).map_err(|err| {
        let hint = match err {
            ScalerFitError::ZeroVariance(_) => {
                "; drop them from the feature set, or pass --zero-variance-std-one to scale \
                 them by 1"
            }
            _ => "",
        };
        anyhow::anyhow!("--fit-scaler-from {}: {err}{hint}", path.display())
    })?;
    println!(
        "scaler      mean and population std (ddof=0) fitted on {} rows of {}{}",
        fitted.rows,
        path.display(),
        match fitted.unlabelled {
            0 => String::new(),
            n => format!(", leaving out {n} rows without a label"),
        }
    );
    if !fitted.std_one.is_empty() {
        println!(
            "scaler      std 1 (--zero-variance-std-one) for {} zero-variance feature(s): {}",
            fitted.std_one.len(),
            fitted.std_one.join(", ")
        );
    }
    Ok(Some(fitted.scaler))
}

/// The output name and kind: as given, else told from the graph (ONNX) or the reference
/// outputs, printing what was inferred and from what.
/// `graph`: the ONNX file's graph (`None` for XGBoost / LightGBM files).
fn output(
    args: &BundleArgs,
    bytes: &[u8],
    graph: Option<&OnnxFileInfo>,
    reference: Option<&ReferenceRows>,
) -> anyhow::Result<(String, OutputKind)> {
    let name = match (&args.output, graph) {
        (Some(name), _) => name.clone(),
        (None, Some(info)) => {
            let (name, why) = onnx_scores_output(info)
                .map_err(|err| anyhow::anyhow!("{}: {err}", args.model.display()))?;
            println!("output      {name} (inferred: {why}; --output to choose another)");
            name
        }
        (None, _) => "output".to_string(),
    };
    if let Some(kind) = args.kind {
        return Ok((name, kind.into()));
    }
    let evidence = reference
        .and_then(reference_output_kind)
        .or_else(|| match graph {
            Some(_) => onnx_output_kind(bytes, &name),
            None => Some(OutputEvidence {
                kind: OutputKind::Probabilities,
                reason: "the library's predict_proba (--kind logits for its raw margins)".into(),
            }),
        });
    let Some(evidence) = evidence else {
        let has_output = graph.is_some_and(|info| info.outputs.iter().any(|o| o.name == name));
        if !has_output {
            // Preflight refuses the bundle, naming the graph's outputs; the kind is moot.
            return Ok((name, OutputKind::Probabilities));
        }
        bail!(
            "{}: cannot tell whether output {name:?} holds probabilities or logits (the graph \
             does not say and there are no --reference rows); pass --kind probabilities or \
             --kind logits",
            args.model.display()
        );
    };
    println!(
        "kind        {} (inferred: {}; --kind to override)",
        evidence.kind.as_str(),
        evidence.reason
    );
    Ok((name, evidence.kind))
}

impl From<KindArg> for OutputKind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::Probabilities => Self::Probabilities,
            KindArg::Logits => Self::Logits,
        }
    }
}

/// Writes the bundle only if it passes the checks `gauntlet models check` runs against
/// its own manifest (preflight), so a bundle that can never be scored is never written.
pub fn run(args: BundleArgs) -> anyhow::Result<ExitCode> {
    let manifest = read_feature_manifest(&args.manifest)?;
    check_class_labels(&args.classes).map_err(|err| anyhow::anyhow!("--classes: {err}"))?;
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
    let graph = match format {
        ModelFormat::Onnx => Some(parse_onnx(&bytes).map_err(|err| {
            anyhow::anyhow!("{} is not a valid ONNX model: {err}", args.model.display())
        })?),
        ModelFormat::XgboostJson | ModelFormat::LightgbmText => None,
    };
    let input_name = match (&args.input_name, &graph) {
        (Some(name), _) => name.clone(),
        (None, Some(info)) => info
            .inputs
            .first()
            .map(|input| input.name.clone())
            .context("the ONNX graph has no inputs")?,
        (None, None) => "input".to_string(),
    };
    let (output_name, kind) = output(&args, &bytes, graph.as_ref(), reference.as_ref())?;
    let scaler = scaler(&args, &manifest)?;
    let name = args.name.clone().unwrap_or_else(|| {
        args.model
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.model.with_file_name(format!("{name}.bundle.json")));
    let expected = ExpectedFeatures::from(&manifest);
    let spec = BundleSpec {
        name,
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
            name: output_name,
            kind,
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
    let bundle = spec.build_at(out.clone())?;
    let json = bundle.bundle.to_json();
    match preflight(bundle, &expected, &PreflightOptions::default()) {
        Ok(_) => {}
        Err(PreflightError::Failed(report)) => bail!(
            "refusing to write {}: the bundle fails the checks `gauntlet models check` runs \
             ({} problem{}):{}",
            out.display(),
            report.failures.len(),
            if report.failures.len() == 1 { "" } else { "s" },
            report
                .failures
                .iter()
                .map(|failure| format!("\n  - {failure}"))
                .collect::<String>()
        ),
        Err(err @ PreflightError::Runtime(_)) => {
            return Err(err)
                .with_context(|| format!("cannot check {} before writing it", out.display()))
        }
    }
    std::fs::write(&out, json).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "wrote {} (it passes preflight against its manifest; run `gauntlet models check` with \
         the backtest's feature set and window next)",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
