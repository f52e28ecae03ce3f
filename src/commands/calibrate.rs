//! `gauntlet calibrate`: fit one temperature per ensemble member on a stated window and
//! write a new bundle per member (the original is never touched).
//!
//! Per member: realized labels from the bundle's label horizon and flat threshold
//! (`r_t = close[t+H]/close[t] − 1` against ±threshold, closes before `--to` only),
//! raw model outputs on every scored, labelled row with `from ≤ ts < to`, then
//! `T* = argmin_T NLL(softmax(z / T))` (z = logits, or ln p for probability models).
//! The new bundle `NAME.calibrated.bundle.json` is the original with
//! `output.temperature = T*` and a `calibration` record (window, rows, previous T), so
//! its content hash — the prediction-cache key — differs from the original's.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use gauntlet_datasets::load::{format_iso8601_ms, parse_iso8601_ms};
use gauntlet_datasets::{ensure_clean, validate_universe};
use gauntlet_reports::calibration::{
    fit_temperature, fit_temperature_from_probabilities, CalibrationReport, PredictionSet,
    TemperatureBounds,
};
use gauntlet_strategies::features::{
    compute_universe, forward_return_labels, FeatureMatrix, FeatureSet,
};
use gauntlet_strategies::models::{
    bundle_json_path, calibrate, check_bundle, sha256_hex, Bundle, CalibrationRecord, CheckedModel,
    ExpectedFeatures, FeatureRows, ModelBundle, OutputKind, PreflightOptions,
};

use super::data_validate::{load_and_describe, SelectArgs};

/// Predictions per ONNX Runtime call.
const BATCH_SIZE: usize = 4096;

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// Candle data: a directory of `<SYMBOL>_<interval>` files or one long file.
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub select: SelectArgs,
    /// The feature set the members were trained on: core31, mtf50 or a custom-set .toml.
    #[arg(long)]
    pub set: String,
    /// First bar of the calibration window (ISO-8601, inclusive). Bars before it are
    /// read for feature warm-up only.
    #[arg(long, value_parser = parse_time)]
    pub from: i64,
    /// End of the calibration window (ISO-8601, exclusive); labels use no close at or
    /// after it.
    #[arg(long, value_parser = parse_time)]
    pub to: i64,
    /// Member bundles (`NAME.bundle.json`, `NAME.onnx` or `NAME`), one temperature each.
    #[arg(long = "bundle", required = true, num_args = 1..)]
    pub bundles: Vec<PathBuf>,
    /// Where to write `NAME.calibrated.bundle.json` (default: next to each bundle; the
    /// ONNX file is copied there when it is another directory).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Calibrate on a window overlapping a member's training window (in-sample: the
    /// fitted temperature will understate its overconfidence).
    #[arg(long)]
    pub allow_training_overlap: bool,
}

fn parse_time(text: &str) -> Result<i64, String> {
    parse_iso8601_ms(text).ok_or_else(|| {
        format!("{text:?} is not an ISO-8601 time (e.g. 2024-01-05T00:00:00Z or 2024-01-05)")
    })
}

/// One member's calibration outcome.
struct Fitted {
    temperature: f64,
    at_bound: bool,
    rows: usize,
    before: CalibrationReport,
    after: CalibrationReport,
}

pub fn run(args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    if args.from >= args.to {
        bail!(
            "--from {} must be before --to {}",
            format_iso8601_ms(args.from),
            format_iso8601_ms(args.to)
        );
    }
    // Every target is checked before anything is read or written: a rerun refuses
    // without partial output.
    let targets: Vec<Target> = args
        .bundles
        .iter()
        .map(|path| Target::of(path, args.out_dir.as_deref()))
        .collect::<anyhow::Result<_>>()?;
    let set = FeatureSet::load(&args.set)?;
    let expected = ExpectedFeatures::from(&set.manifest());
    let options = PreflightOptions {
        backtest_window: Some((args.from, args.to - 1)),
        allow_training_overlap: args.allow_training_overlap,
        ..PreflightOptions::default()
    };
    let models: Vec<CheckedModel> = args
        .bundles
        .iter()
        .map(|path| check_bundle(path, &expected, &options))
        .collect::<Result<_, _>>()?;

    let request = args
        .select
        .request(args.data.clone(), Some((i64::MIN, args.to)));
    let universe = load_and_describe(&request)?;
    // The same refusal as `backtest`: a calibration fitted on bad candles is wrong.
    ensure_clean(&validate_universe(&universe))?;
    let matrices = compute_universe(&set, &universe.series)?;
    let closes: Vec<&[f64]> = universe.series.iter().map(|s| s.close()).collect();
    println!(
        "calibration window {} .. {} (exclusive), feature set {}",
        format_iso8601_ms(args.from),
        format_iso8601_ms(args.to),
        set.name()
    );

    for (model, target) in models.iter().zip(&targets) {
        let fitted = fit_member(model, &matrices, &closes, args.from, args.to)?;
        let original = model.model_bundle();
        let mut bundle: Bundle = original.bundle.clone();
        bundle.calibration = Some(CalibrationRecord {
            from: format_iso8601_ms(args.from),
            to: format_iso8601_ms(args.to),
            rows: fitted.rows,
            previous_temperature: bundle.output.temperature,
            calibrated_from: file_name(&original.bundle_path),
        });
        bundle.output.temperature = fitted.temperature;
        target.write(original, &bundle)?;
        let written = ModelBundle::load(&target.bundle_path)?;
        print_member(model.name(), original, &written, &fitted);
    }
    Ok(ExitCode::SUCCESS)
}

/// Raw outputs and realized labels of the window's rows, the fit, and the diagnostics
/// at the bundle's temperature and at the fitted one.
fn fit_member(
    model: &CheckedModel,
    matrices: &[FeatureMatrix],
    closes: &[&[f64]],
    from: i64,
    to: i64,
) -> anyhow::Result<Fitted> {
    let spec = model.bundle();
    let n_classes = model.n_classes();
    let horizon = spec.labels.horizon_bars as usize;
    let mut raw: Vec<f64> = Vec::new();
    let mut labels: Vec<usize> = Vec::new();
    for (matrix, close) in matrices.iter().zip(closes) {
        let realized = forward_return_labels(close, horizon, spec.labels.flat_threshold)?;
        let values = matrix
            .values
            .as_slice()
            .context("feature matrix is not contiguous")?;
        let rows = FeatureRows::new(values, matrix.names.len(), &matrix.ready)?;
        let scores = model.score_raw(0, &rows, BATCH_SIZE)?;
        for (row, &ts) in matrix.ts.iter().enumerate() {
            if ts < from || ts >= to || !scores.scored[row] {
                continue;
            }
            // A class the model does not have (flat for a down/up model) is skipped.
            let Some(class) = realized[row].and_then(|label| {
                spec.output
                    .class_labels
                    .iter()
                    .position(|name| name == label.as_str())
            }) else {
                continue;
            };
            raw.extend(scores.row(row).iter().map(|&v| f64::from(v)));
            labels.push(class);
        }
    }
    if labels.is_empty() {
        bail!(
            "model {}: no scored row with a realized label ({}) in the window; widen --from/--to",
            model.name(),
            spec.output.class_labels.join("/")
        );
    }
    let fit = match spec.output.kind {
        OutputKind::Logits => {
            fit_temperature(&raw, n_classes, &labels, TemperatureBounds::default())
        }
        OutputKind::Probabilities => fit_temperature_from_probabilities(
            &raw,
            n_classes,
            &labels,
            TemperatureBounds::default(),
        ),
    }
    .with_context(|| format!("model {}: fitting the temperature", model.name()))?;
    let report = |temperature: f64| -> anyhow::Result<CalibrationReport> {
        let probabilities = tempered(spec.output.kind, temperature, &raw, n_classes);
        Ok(PredictionSet::new(n_classes, probabilities, labels.clone())?.report())
    };
    Ok(Fitted {
        temperature: fit.temperature,
        at_bound: fit.at_bound,
        rows: labels.len(),
        before: report(spec.output.temperature)?,
        after: report(fit.temperature)?,
    })
}

/// Probabilities at `temperature` exactly as scoring computes them (f32), renormalised
/// in f64 so each row sums to 1.
fn tempered(kind: OutputKind, temperature: f64, raw: &[f64], n_classes: usize) -> Vec<f64> {
    let mut raw_row = vec![0f32; n_classes];
    let mut out = vec![0f32; n_classes];
    let mut probabilities = Vec::with_capacity(raw.len());
    for row in raw.chunks_exact(n_classes) {
        for (slot, &value) in raw_row.iter_mut().zip(row) {
            *slot = value as f32;
        }
        // Rows were validated when scored, so calibrate cannot refuse them here.
        calibrate(kind, temperature, &raw_row, &mut out);
        let sum: f64 = out.iter().map(|&p| f64::from(p)).sum();
        probabilities.extend(out.iter().map(|&p| f64::from(p) / sum));
    }
    probabilities
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Where one member's calibrated bundle goes.
struct Target {
    bundle_path: PathBuf,
    dir: PathBuf,
}

impl Target {
    /// `DIR/STEM.calibrated.bundle.json` for `STEM.bundle.json`; an error if it exists.
    fn of(path: &Path, out_dir: Option<&Path>) -> anyhow::Result<Self> {
        let source = bundle_json_path(path);
        let name = file_name(&source);
        let stem = name.strip_suffix(".bundle.json").unwrap_or(&name);
        let dir = match out_dir {
            Some(dir) => dir.to_path_buf(),
            None => source
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
        };
        let bundle_path = dir.join(format!("{stem}.calibrated.bundle.json"));
        if bundle_path.exists() {
            bail!(
                "{} already exists; calibrate never overwrites a bundle: remove it or pass another --out-dir",
                bundle_path.display()
            );
        }
        Ok(Self { bundle_path, dir })
    }

    /// Writes the bundle (refusing an existing file) and, when the directory is not
    /// the original's, a copy of the model file (reusing an identical one).
    fn write(&self, original: &ModelBundle, bundle: &Bundle) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let model_target = self.dir.join(&bundle.model_file);
        let same_file = match (
            model_target.canonicalize(),
            original.model_path.canonicalize(),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if !same_file {
            match std::fs::read(&model_target) {
                Ok(bytes) if sha256_hex(&bytes) == bundle.model_sha256 => {}
                Ok(_) => bail!(
                    "{} exists and is a different model; choose another --out-dir",
                    model_target.display()
                ),
                Err(_) => std::fs::write(&model_target, &original.model_bytes)
                    .with_context(|| format!("writing {}", model_target.display()))?,
            }
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&self.bundle_path)
            .with_context(|| {
                format!(
                    "creating {} (calibrate never overwrites a bundle)",
                    self.bundle_path.display()
                )
            })?;
        file.write_all(bundle.to_json().as_bytes())
            .with_context(|| format!("writing {}", self.bundle_path.display()))?;
        Ok(())
    }
}

fn metric(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_string(), |v| format!("{v:.4}"))
}

fn print_member(name: &str, original: &ModelBundle, written: &ModelBundle, fitted: &Fitted) {
    let previous = original.bundle.output.temperature;
    println!(
        "\n{name}: temperature {previous} -> {:.4}{} on {} rows",
        fitted.temperature,
        if fitted.at_bound {
            " (AT THE SEARCH BOUND: the optimum may lie outside [0.01, 100])"
        } else {
            ""
        },
        fitted.rows
    );
    println!(
        "  NLL {} -> {}   ECE {} -> {}   accuracy {}",
        metric(fitted.before.log_loss),
        metric(fitted.after.log_loss),
        metric(fitted.before.ece),
        metric(fitted.after.ece),
        metric(fitted.after.accuracy)
    );
    println!(
        "  wrote {} (bundle hash {} -> {})",
        written.bundle_path.display(),
        &original.content_hash()[..12],
        &written.content_hash()[..12]
    );
}
