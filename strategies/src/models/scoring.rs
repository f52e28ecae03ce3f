//! Batched inference over a symbol's feature matrix, by one of two engines: the native
//! tree-ensemble evaluator ([`super::trees`]) or ONNX Runtime.
//!
//! Rows models get batches `[B, F]` of scaled features gathered from the ready rows of
//! the f32 row-major matrix into one reusable buffer; sequence models get `[B, L, F]`
//! windows built per batch (never `[N, L, F]` for a whole symbol). A row is scored only
//! when it is ready (warm-up done) and, for sequence models, the L−1 rows before it are
//! ready too. Buffers live in the per-worker state and are reused across batches and
//! symbols: no per-row allocation.

use std::sync::{Arc, Mutex};

use ort::session::Session;
use ort::value::TensorRef;

use super::bundle::{Bundle, InputLayout, OutputKind, Scaling};
use super::trees::{TreeModel, TreeScratch};

/// |z| above which a scaled input counts as extreme.
pub const EXTREME_Z: f32 = 20.0;
/// Share of scored rows with an extreme input above which scoring warns loudly.
pub const EXTREME_ROW_SHARE: f64 = 0.01;

/// One symbol's features: `values` is row-major `[n_rows, n_features]`, `ready[i]` is
/// false for rows still in warm-up (their values are ignored, NaN allowed).
#[derive(Debug, Clone, Copy)]
pub struct FeatureRows<'a> {
    values: &'a [f32],
    n_features: usize,
    ready: &'a [bool],
}

impl<'a> FeatureRows<'a> {
    /// Fails if `values.len() != ready.len() * n_features` or `n_features == 0`.
    pub fn new(
        values: &'a [f32],
        n_features: usize,
        ready: &'a [bool],
    ) -> Result<Self, ScoreError> {
        if n_features == 0 || values.len() != ready.len() * n_features {
            return Err(ScoreError::Shape {
                values: values.len(),
                rows: ready.len(),
                n_features,
            });
        }
        Ok(Self {
            values,
            n_features,
            ready,
        })
    }

    pub fn n_rows(&self) -> usize {
        self.ready.len()
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    fn row(&self, index: usize) -> &'a [f32] {
        &self.values[index * self.n_features..(index + 1) * self.n_features]
    }
}

/// Scoring failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    #[error("feature matrix has {values} values for {rows} rows × {n_features} features")]
    Shape {
        values: usize,
        rows: usize,
        n_features: usize,
    },
    #[error("model {model} expects {expected} features per row but the matrix has {found}")]
    Width {
        model: String,
        expected: usize,
        found: usize,
    },
    #[error("model {model}: row {row} is marked ready but feature {feature} ({name}) is {value}")]
    NonFinite {
        model: String,
        row: usize,
        feature: usize,
        name: String,
        value: f32,
    },
    #[error("model {model}: ONNX Runtime failed: {message}")]
    Runtime { model: String, message: String },
    #[error("model {model}: {message}")]
    Engine { model: String, message: String },
    #[error("model {model}: output {output} has shape {shape:?}, expected [{rows}, {classes}]")]
    OutputShape {
        model: String,
        output: String,
        shape: Vec<i64>,
        rows: usize,
        classes: usize,
    },
    #[error("model {model}: row {row} has invalid {kind} output {values:?}")]
    InvalidOutput {
        model: String,
        row: usize,
        kind: &'static str,
        values: Vec<f32>,
    },
}

/// The input-distribution check of one member on one or more symbols: how many scored
/// rows had some scaled feature with |z| > [`EXTREME_Z`]. Many such rows mean the
/// inputs were not scaled the way the model was trained (the "raw prices reach the
/// network" failure).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct InputDistribution {
    pub rows_checked: usize,
    pub rows_extreme: usize,
    /// Largest |z| seen and the feature index where it was seen.
    pub max_abs_z: f32,
    pub max_abs_z_feature: Option<usize>,
}

impl InputDistribution {
    /// `rows_extreme / rows_checked` (0 when nothing was checked).
    pub fn extreme_share(&self) -> f64 {
        if self.rows_checked == 0 {
            0.0
        } else {
            self.rows_extreme as f64 / self.rows_checked as f64
        }
    }

    /// Adds another symbol's counts.
    pub fn merge(&mut self, other: &InputDistribution) {
        self.rows_checked += other.rows_checked;
        self.rows_extreme += other.rows_extreme;
        if other.max_abs_z > self.max_abs_z {
            self.max_abs_z = other.max_abs_z;
            self.max_abs_z_feature = other.max_abs_z_feature;
        }
    }

    /// The loud warning for the run log and the report when more than
    /// [`EXTREME_ROW_SHARE`] of rows had |z| > [`EXTREME_Z`]; `None` otherwise.
    pub fn warning(&self, model: &str, feature_names: &[String]) -> Option<String> {
        if self.extreme_share() <= EXTREME_ROW_SHARE {
            return None;
        }
        let feature = self
            .max_abs_z_feature
            .map(|index| {
                let name = feature_names.get(index).map(String::as_str).unwrap_or("?");
                format!(
                    " (max |z| = {:.1} on feature {index} {name})",
                    self.max_abs_z
                )
            })
            .unwrap_or_default();
        Some(format!(
            "WARNING: model {model}: {} of {} scored rows ({:.2}%) have a scaled input with |z| > {EXTREME_Z}{feature}; \
             the features are probably not scaled the way the model was trained (missing or wrong scaler)",
            self.rows_extreme,
            self.rows_checked,
            100.0 * self.extreme_share()
        ))
    }

    fn observe_row(&mut self, scaled: &[f32]) {
        self.rows_checked += 1;
        // The row's largest |z| first (a loop without branches), the feature only when
        // it is a new maximum: the first feature of the row that reaches it.
        let largest = largest_abs(scaled);
        self.rows_extreme += usize::from(largest > EXTREME_Z);
        if largest > self.max_abs_z {
            self.max_abs_z = largest;
            self.max_abs_z_feature = scaled.iter().position(|z| z.abs() == largest);
        }
    }
}

/// Lanes of [`largest_abs`]: one comparison chain per lane, so the compiler keeps them
/// in one vector register instead of waiting on a single chain feature by feature.
const ABS_LANES: usize = 8;

/// `max(0, max_i |values_i|)`, NaN ignored. A maximum does not depend on the order of
/// its comparisons, so the lanes give the sequential fold's value.
fn largest_abs(values: &[f32]) -> f32 {
    let larger = |largest: f32, z: f32| if z.abs() > largest { z.abs() } else { largest };
    let mut lanes = [0f32; ABS_LANES];
    let chunks = values.chunks_exact(ABS_LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, &z) in lanes.iter_mut().zip(chunk) {
            *lane = larger(*lane, z);
        }
    }
    let largest = rest.iter().copied().fold(0f32, larger);
    lanes.into_iter().fold(largest, larger)
}

/// What [`MemberScores::probabilities`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreOutput {
    /// Class probabilities after the bundle's temperature (what backtests use).
    Calibrated,
    /// The ONNX output before temperature: logits or probabilities, per the bundle's
    /// output kind (what temperature fitting needs).
    Raw,
}

/// One member's predictions for one symbol: `probabilities` is row-major
/// `[n_rows, n_classes]` (NaN on unscored rows), `scored[i]` tells which rows have them.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberScores {
    pub n_classes: usize,
    pub probabilities: Vec<f32>,
    pub scored: Vec<bool>,
    pub input_distribution: InputDistribution,
}

impl MemberScores {
    pub fn n_rows(&self) -> usize {
        self.scored.len()
    }

    /// Class probabilities of row `index` (NaN if unscored).
    pub fn row(&self, index: usize) -> &[f32] {
        &self.probabilities[index * self.n_classes..(index + 1) * self.n_classes]
    }
}

/// Turns one row of raw model output into calibrated probabilities (f64 math, f32 out).
///
/// Logits: `p_i = exp(z_i/T - m) / sum_j exp(z_j/T - m)`, `m = max_j z_j/T`.
/// Probabilities with T = 1: unchanged. Probabilities with T ≠ 1: the same softmax of
/// `ln(p_i) / T`, i.e. `p_i^(1/T) / sum_j p_j^(1/T)` (`ln 0 = -inf` gives 0).
/// Returns false for invalid output: non-finite logits; probabilities negative,
/// non-finite, or all zero.
pub fn calibrate(kind: OutputKind, temperature: f64, raw: &[f32], out: &mut [f32]) -> bool {
    match kind {
        OutputKind::Logits => {
            if raw.iter().any(|value| !value.is_finite()) {
                return false;
            }
            softmax_scaled(raw.iter().map(|&z| f64::from(z) / temperature), out);
            true
        }
        OutputKind::Probabilities => {
            if raw.iter().any(|&p| !p.is_finite() || p < 0.0) || raw.iter().all(|&p| p == 0.0) {
                return false;
            }
            if temperature == 1.0 {
                out.copy_from_slice(raw);
            } else {
                softmax_scaled(raw.iter().map(|&p| f64::from(p).ln() / temperature), out);
            }
            true
        }
    }
}

fn softmax_scaled(values: impl Iterator<Item = f64> + Clone, out: &mut [f32]) {
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = values.clone().map(|v| (v - max).exp()).sum();
    for (slot, v) in out.iter_mut().zip(values) {
        *slot = ((v - max).exp() / sum) as f32;
    }
}

/// How a bundle's inputs are scaled: `z = (x - mean) / std` in f32 (the same IEEE
/// operations numpy performs on float32 arrays), or a copy for `scaling = none`.
#[derive(Debug, Clone)]
pub(crate) struct Preprocess {
    mean: Vec<f32>,
    std: Vec<f32>,
}

impl Preprocess {
    pub(crate) fn from_bundle(bundle: &Bundle) -> Self {
        match (&bundle.scaling, &bundle.scaler) {
            (Scaling::Standard, Some(scaler)) => Self {
                mean: scaler.mean.iter().map(|&m| m as f32).collect(),
                std: scaler.std.iter().map(|&s| s as f32).collect(),
            },
            _ => Self {
                mean: Vec::new(),
                std: Vec::new(),
            },
        }
    }

    /// Scales `raw` into `out`; `Err(feature)` for the first non-finite raw value.
    #[inline]
    fn apply(&self, raw: &[f32], out: &mut [f32]) -> Result<(), usize> {
        // All rows are checked, few fail: a branch-free pass, then the culprit's search.
        if !raw.iter().fold(true, |finite, x| finite & x.is_finite()) {
            return Err(raw.iter().position(|x| !x.is_finite()).unwrap_or(0));
        }
        if self.mean.is_empty() {
            out.copy_from_slice(raw);
        } else {
            for (((slot, &x), &mean), &std) in
                out.iter_mut().zip(raw).zip(&self.mean).zip(&self.std)
            {
                *slot = (x - mean) / std;
            }
        }
        Ok(())
    }
}

/// The engine that scores a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Engine {
    /// gauntlet's own tree-ensemble evaluator.
    Native,
    /// ONNX Runtime (everything the native evaluator does not reproduce).
    OnnxRuntime,
}

impl Engine {
    /// `native` or `onnxruntime`, as in configs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::OnnxRuntime => "onnxruntime",
        }
    }
}

/// Which engine scores a model, and why: what the native evaluator runs, or why the
/// graph is left to ONNX Runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineChoice {
    pub engine: Engine,
    pub detail: String,
}

impl std::fmt::Display for EngineChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.engine.as_str(), self.detail)
    }
}

/// What a worker scores with.
pub(crate) enum Scorer {
    OnnxRuntime(Session),
    Native {
        model: Arc<TreeModel>,
        scratch: TreeScratch,
        out: Vec<f32>,
    },
}

impl Scorer {
    pub(crate) fn native(model: Arc<TreeModel>) -> Self {
        Self::Native {
            model,
            scratch: TreeScratch::default(),
            out: Vec::new(),
        }
    }
}

/// Per-worker state: the scorer (ONNX Runtime's `run` needs `&mut`) and the reused
/// batch buffers.
pub(crate) struct Worker {
    scorer: Scorer,
    batch: Vec<f32>,
    targets: Vec<usize>,
}

impl Worker {
    pub(crate) fn new(scorer: Scorer) -> Self {
        Self {
            scorer,
            batch: Vec::new(),
            targets: Vec::new(),
        }
    }
}

/// Everything about a checked model that scoring needs.
pub(crate) struct ScoringPlan {
    pub(crate) model: String,
    pub(crate) input_name: String,
    pub(crate) output_name: String,
    pub(crate) layout: InputLayout,
    pub(crate) window: usize,
    pub(crate) n_features: usize,
    pub(crate) n_classes: usize,
    pub(crate) kind: OutputKind,
    pub(crate) temperature: f64,
    pub(crate) feature_names: Vec<String>,
    pub(crate) preprocess: Preprocess,
    /// The model's fixed batch size, if its first input dimension is not dynamic.
    pub(crate) fixed_batch: Option<usize>,
}

impl ScoringPlan {
    fn item_len(&self) -> usize {
        self.window * self.n_features
    }

    fn runtime_error(&self, err: impl std::fmt::Display) -> ScoreError {
        ScoreError::Runtime {
            model: self.model.clone(),
            message: err.to_string(),
        }
    }

    /// Runs the first `n` items of `worker.batch` and hands each item's raw output row
    /// to `each(item, raw)`.
    pub(crate) fn run_batch(
        &self,
        worker: &mut Worker,
        n: usize,
        mut each: impl FnMut(usize, &[f32]) -> Result<(), ScoreError>,
    ) -> Result<(), ScoreError> {
        let data = &worker.batch[..n * self.item_len()];
        match &mut worker.scorer {
            Scorer::Native {
                model,
                scratch,
                out,
            } => {
                out.resize(n * self.n_classes, 0.0);
                model.score(data, out, scratch);
                for (item, row) in out.chunks_exact(self.n_classes).enumerate() {
                    each(item, row)?;
                }
                Ok(())
            }
            Scorer::OnnxRuntime(session) => {
                let tensor = match self.layout {
                    InputLayout::Rows => TensorRef::from_array_view(([n, self.n_features], data)),
                    InputLayout::Sequence => {
                        TensorRef::from_array_view(([n, self.window, self.n_features], data))
                    }
                }
                .map_err(|err| self.runtime_error(err))?;
                let outputs = session
                    .run(ort::inputs![self.input_name.as_str() => tensor])
                    .map_err(|err| self.runtime_error(err))?;
                let value = outputs.get(&self.output_name).ok_or_else(|| {
                    self.runtime_error(format!("no output named {}", self.output_name))
                })?;
                let (shape, raw) = value
                    .try_extract_tensor::<f32>()
                    .map_err(|err| self.runtime_error(err))?;
                if raw.len() != n * self.n_classes {
                    return Err(ScoreError::OutputShape {
                        model: self.model.clone(),
                        output: self.output_name.clone(),
                        shape: shape.iter().copied().collect(),
                        rows: n,
                        classes: self.n_classes,
                    });
                }
                for (item, row) in raw.chunks_exact(self.n_classes).enumerate() {
                    each(item, row)?;
                }
                Ok(())
            }
        }
    }

    /// Fills batch item `item` from raw feature values (`window` rows, oldest first).
    /// Returns the scaled last row for the input-distribution check via `check`.
    fn fill_item<'r>(
        &self,
        batch: &mut [f32],
        item: usize,
        raw_rows: impl Iterator<Item = (usize, &'r [f32])>,
        check: &mut InputDistribution,
    ) -> Result<(), ScoreError> {
        let item_len = self.item_len();
        let slot = &mut batch[item * item_len..(item + 1) * item_len];
        let mut last = 0..0;
        for (position, (row_index, raw)) in raw_rows.enumerate() {
            let range = position * self.n_features..(position + 1) * self.n_features;
            self.preprocess
                .apply(raw, &mut slot[range.clone()])
                .map_err(|feature| ScoreError::NonFinite {
                    model: self.model.clone(),
                    row: row_index,
                    feature,
                    name: self.feature_names.get(feature).cloned().unwrap_or_default(),
                    value: raw[feature],
                })?;
            last = range;
        }
        check.observe_row(&slot[last]);
        Ok(())
    }

    fn batch_size(&self, requested: usize) -> usize {
        self.fixed_batch.unwrap_or(requested.max(1))
    }

    /// Scores every eligible row of `rows` in batches of `batch_size` rows; `Calibrated`
    /// applies the bundle's temperature, `Raw` keeps the model's output as it is
    /// (validated the same way).
    pub(crate) fn score(
        &self,
        worker: &mut Worker,
        rows: &FeatureRows<'_>,
        batch_size: usize,
        output: ScoreOutput,
    ) -> Result<MemberScores, ScoreError> {
        if rows.n_features() != self.n_features {
            return Err(ScoreError::Width {
                model: self.model.clone(),
                expected: self.n_features,
                found: rows.n_features(),
            });
        }
        let n_rows = rows.n_rows();
        let mut scores = MemberScores {
            n_classes: self.n_classes,
            probabilities: vec![f32::NAN; n_rows * self.n_classes],
            scored: vec![false; n_rows],
            input_distribution: InputDistribution::default(),
        };
        let batch_size = self.batch_size(batch_size);
        let item_len = self.item_len();
        if worker.batch.len() < batch_size * item_len {
            worker.batch.resize(batch_size * item_len, 0.0);
        }
        // Eligible rows: ready, with the window-1 previous rows ready too.
        let mut ready_run = 0usize;
        let mut start = 0usize;
        while start < n_rows {
            worker.targets.clear();
            let mut index = start;
            while index < n_rows && worker.targets.len() < batch_size {
                ready_run = if rows.ready[index] { ready_run + 1 } else { 0 };
                if ready_run >= self.window {
                    worker.targets.push(index);
                }
                index += 1;
            }
            start = index;
            if worker.targets.is_empty() {
                continue;
            }
            let targets = std::mem::take(&mut worker.targets);
            for (item, &target) in targets.iter().enumerate() {
                let first = target + 1 - self.window;
                self.fill_item(
                    &mut worker.batch,
                    item,
                    (first..=target).map(|row| (row, rows.row(row))),
                    &mut scores.input_distribution,
                )?;
            }
            let mut n = targets.len();
            if let Some(fixed) = self.fixed_batch {
                // A fixed-size model gets zero padding; padded outputs are ignored.
                worker.batch[n * item_len..fixed * item_len].fill(0.0);
                n = fixed;
            }
            let result = self.run_batch(worker, n, |item, raw| {
                let Some(&target) = targets.get(item) else {
                    return Ok(());
                };
                let out = &mut scores.probabilities
                    [target * self.n_classes..(target + 1) * self.n_classes];
                let valid = calibrate(self.kind, self.temperature, raw, out);
                if output == ScoreOutput::Raw {
                    out.copy_from_slice(raw);
                }
                if !valid {
                    return Err(ScoreError::InvalidOutput {
                        model: self.model.clone(),
                        row: target,
                        kind: match self.kind {
                            OutputKind::Logits => "logits",
                            OutputKind::Probabilities => "probabilities",
                        },
                        values: raw.to_vec(),
                    });
                }
                scores.scored[target] = true;
                Ok(())
            });
            worker.targets = targets;
            result?;
        }
        Ok(scores)
    }

    /// Raw outputs (before temperature) for reference inputs, each holding `window`
    /// raw feature rows; used by preflight.
    pub(crate) fn raw_outputs(
        &self,
        worker: &mut Worker,
        inputs: &[Vec<f32>],
    ) -> Result<Vec<Vec<f32>>, ScoreError> {
        let batch_size = self.batch_size(256);
        let item_len = self.item_len();
        if worker.batch.len() < batch_size * item_len {
            worker.batch.resize(batch_size * item_len, 0.0);
        }
        let mut outputs = Vec::with_capacity(inputs.len());
        let mut ignored = InputDistribution::default();
        for (chunk_index, chunk) in inputs.chunks(batch_size).enumerate() {
            for (item, input) in chunk.iter().enumerate() {
                let reference_row = chunk_index * batch_size + item;
                if input.len() != item_len {
                    return Err(ScoreError::Width {
                        model: self.model.clone(),
                        expected: item_len,
                        found: input.len(),
                    });
                }
                self.fill_item(
                    &mut worker.batch,
                    item,
                    input
                        .chunks_exact(self.n_features)
                        .map(|row| (reference_row, row)),
                    &mut ignored,
                )?;
            }
            let mut n = chunk.len();
            if let Some(fixed) = self.fixed_batch {
                worker.batch[n * item_len..fixed * item_len].fill(0.0);
                n = fixed;
            }
            self.run_batch(worker, n, |item, raw| {
                if item < chunk.len() {
                    outputs.push(raw.to_vec());
                }
                Ok(())
            })?;
        }
        Ok(outputs)
    }
}

/// Locks worker `index` (modulo the pool size). Workers are only contended when more
/// threads than sessions score at once, which costs time, never correctness.
pub(crate) fn lock_worker(
    workers: &[Mutex<Worker>],
    index: usize,
) -> std::sync::MutexGuard<'_, Worker> {
    let slot = &workers[index % workers.len()];
    // A panic while scoring poisons the lock; the buffers are rewritten before use, so
    // the state is still valid.
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logits_softmax_with_temperature() {
        let mut out = [0.0f32; 3];
        assert!(calibrate(
            OutputKind::Logits,
            2.0,
            &[2.0, 0.0, -2.0],
            &mut out
        ));
        // softmax([1, 0, -1])
        let e = [1f64.exp(), 1.0, (-1f64).exp()];
        let sum: f64 = e.iter().sum();
        for (got, want) in out.iter().zip(e) {
            assert!((f64::from(*got) - want / sum).abs() < 1e-7);
        }
    }

    #[test]
    fn probabilities_with_unit_temperature_pass_unchanged() {
        let raw = [0.2f32, 0.3, 0.5];
        let mut out = [0.0f32; 3];
        assert!(calibrate(OutputKind::Probabilities, 1.0, &raw, &mut out));
        assert_eq!(out, raw);
    }

    #[test]
    fn probabilities_temperature_is_a_power_renormalisation() {
        let mut out = [0.0f32; 2];
        assert!(calibrate(
            OutputKind::Probabilities,
            0.5,
            &[0.25, 0.75],
            &mut out
        ));
        // p^2 normalised: 0.0625 / 0.625 = 0.1, 0.5625 / 0.625 = 0.9
        assert!((out[0] - 0.1).abs() < 1e-7 && (out[1] - 0.9).abs() < 1e-7);
        assert!(calibrate(
            OutputKind::Probabilities,
            2.0,
            &[0.0, 1.0],
            &mut out
        ));
        assert_eq!(out, [0.0, 1.0]);
    }

    #[test]
    fn invalid_outputs_are_rejected() {
        let mut out = [0.0f32; 2];
        assert!(!calibrate(
            OutputKind::Logits,
            1.0,
            &[f32::NAN, 0.0],
            &mut out
        ));
        assert!(!calibrate(
            OutputKind::Probabilities,
            1.0,
            &[0.0, 0.0],
            &mut out
        ));
        assert!(!calibrate(
            OutputKind::Probabilities,
            1.0,
            &[-0.1, 1.1],
            &mut out
        ));
    }

    #[test]
    fn largest_abs_is_the_sequential_maximum() {
        let sequential = |values: &[f32]| {
            values
                .iter()
                .fold(0f32, |m, z| if z.abs() > m { z.abs() } else { m })
        };
        let values: Vec<f32> = (0..37)
            .map(|i| ((i * 7919) % 101) as f32 * if i % 3 == 0 { -0.5 } else { 0.25 })
            .collect();
        for n in 0..values.len() {
            assert_eq!(largest_abs(&values[..n]), sequential(&values[..n]), "{n}");
        }
        assert_eq!(largest_abs(&[f32::NAN, -3.0, f32::NAN]), 3.0);
        assert_eq!(largest_abs(&[-0.0; 9]), 0.0);
    }

    #[test]
    fn input_distribution_warns_above_one_percent() {
        let mut check = InputDistribution::default();
        for i in 0..100 {
            let z = if i < 2 { 25.0 } else { 1.0 };
            check.observe_row(&[0.0, z]);
        }
        assert_eq!(check.rows_extreme, 2);
        assert_eq!(check.max_abs_z_feature, Some(1));
        let names = vec!["a".to_string(), "close".to_string()];
        let warning = check.warning("m", &names).unwrap();
        assert!(
            warning.contains("2 of 100 scored rows (2.00%)"),
            "{warning}"
        );
        assert!(warning.contains("feature 1 close"), "{warning}");
        let mut calm = InputDistribution::default();
        calm.observe_row(&[25.0]);
        for _ in 0..99 {
            calm.observe_row(&[0.0]);
        }
        assert_eq!(
            calm.warning("m", &names),
            None,
            "exactly 1% is not more than 1%"
        );
    }

    #[test]
    fn feature_rows_checks_its_shape() {
        assert!(FeatureRows::new(&[0.0; 6], 3, &[true, true]).is_ok());
        assert!(matches!(
            FeatureRows::new(&[0.0; 5], 3, &[true, true]),
            Err(ScoreError::Shape { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn calibrated_probabilities_sum_to_one(
            logits in proptest::collection::vec(-50.0f32..50.0, 2..6),
            temperature in 0.1f64..10.0,
        ) {
            let mut out = vec![0.0f32; logits.len()];
            proptest::prop_assert!(calibrate(OutputKind::Logits, temperature, &logits, &mut out));
            let sum: f32 = out.iter().sum();
            proptest::prop_assert!((sum - 1.0).abs() < 1e-5);
            proptest::prop_assert!(out.iter().all(|p| (0.0..=1.0).contains(p)));
        }
    }
}
