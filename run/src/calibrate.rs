//! Fits one temperature per ensemble member on a stated window and writes a new bundle
//! per member (the original is never touched) — what `gauntlet calibrate` runs.
//!
//! Per member: realized labels from the bundle's label horizon and flat threshold
//! (`r_t = close[t+H]/close[t] − 1` against ±threshold, closes before `to` only),
//! raw model outputs on every scored, labelled row with `from ≤ ts < to`, then
//! `T* = argmin_T NLL(softmax(z / T))` (z = logits, or ln p for probability models).
//! The new bundle `NAME.calibrated.bundle.json` is the original with
//! `output.temperature = T*` and a `calibration` record (window, rows, previous T), so
//! its content hash — the prediction-cache key — differs from the original's.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use gauntlet_datasets::load::format_iso8601_ms;
use gauntlet_reports::calibration::{
    fit_temperature, fit_temperature_from_probabilities, CalibrationReport, PredictionSet,
    TemperatureBounds,
};
use gauntlet_strategies::features::{forward_return_labels, FeatureMatrix};
use gauntlet_strategies::models::{
    bundle_json_path, calibrate, Bundle, CalibrationRecord, CheckedModel, FeatureRows, ModelBundle,
    OutputKind,
};

use crate::bundle::place_model_file;

/// Predictions per scoring call.
const BATCH_SIZE: usize = 4096;

/// One member's calibration outcome.
pub struct Fitted {
    pub temperature: f64,
    /// The optimum lies at the search bound: the true one may lie outside it.
    pub at_bound: bool,
    /// Rows the temperature was fitted on.
    pub rows: usize,
    /// Diagnostics at the bundle's temperature and at the fitted one.
    pub before: CalibrationReport,
    pub after: CalibrationReport,
}

/// Where one member's calibrated bundle goes.
pub struct Target {
    bundle_path: PathBuf,
    dir: PathBuf,
}

impl Target {
    /// `DIR/STEM.calibrated.bundle.json` for `STEM.bundle.json` (`DIR`: `out_dir`, or
    /// the bundle's own folder); an error if it exists, so that a rerun refuses before
    /// anything is read or written.
    pub fn of(path: &Path, out_dir: Option<&Path>) -> anyhow::Result<Self> {
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
        place_model_file(
            &original.model_path,
            &original.model_bytes,
            &bundle.model_sha256,
            &self.dir,
        )?;
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

/// Fits `model`'s temperature on the window `[from, to)` of the universe's feature
/// `matrices` and `closes` (one per symbol), writes the calibrated bundle to `target`
/// and returns the fit with the bundle as written (read back).
pub fn calibrate_member(
    model: &CheckedModel,
    target: &Target,
    matrices: &[FeatureMatrix],
    closes: &[&[f64]],
    (from, to): (i64, i64),
) -> anyhow::Result<(Fitted, ModelBundle)> {
    let fitted = fit_member(model, matrices, closes, from, to)?;
    let original = model.model_bundle();
    let mut bundle: Bundle = original.bundle.clone();
    bundle.calibration = Some(CalibrationRecord {
        from: format_iso8601_ms(from),
        to: format_iso8601_ms(to),
        rows: fitted.rows,
        previous_temperature: bundle.output.temperature,
        calibrated_from: file_name(&original.bundle_path),
    });
    bundle.output.temperature = fitted.temperature;
    target.write(original, &bundle)?;
    let written = ModelBundle::load(&target.bundle_path)?;
    Ok((fitted, written))
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
