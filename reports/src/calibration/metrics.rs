//! The diagnostics of a set of predictions ([`CalibrationReport`]), computed from rows
//! read in place ([`ReportRows`]; a [`super::PredictionSet`] is one).

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::reliability::{edges, BinSums, Binning, ReliabilityTable};
use super::ROW_SUM_TOLERANCE;
use crate::error::ReportsError;

/// A prediction is overconfident when its top-label confidence is strictly above this.
pub const OVERCONFIDENCE_THRESHOLD: f64 = 0.99;

/// Log loss clips the realized class's probability to `[ε, 1 − ε]` with ε the f64 machine
/// epsilon (2.22e-16, sklearn's `eps='auto'` for float64), so a confident miss costs
/// `−ln ε ≈ 36.04` instead of infinity.
pub const LOG_LOSS_EPSILON: f64 = f64::EPSILON;

/// Predicted vs realized class shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassBalance {
    /// Share of rows whose predicted (argmax) class is k.
    pub predicted_share: Vec<f64>,
    /// Share of rows whose realized label is k.
    pub realized_share: Vec<f64>,
    /// Class bias: `max_k |predicted_share_k − realized_share_k|`.
    pub max_abs_difference: f64,
    /// `max_k predicted_share_k` (1.0 = every prediction is one class).
    pub dominant_predicted_share: f64,
}

/// Range of the raw logits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogitRange {
    /// Smallest logit.
    pub min: f64,
    /// Largest logit.
    pub max: f64,
    /// `max |logit|`.
    pub max_abs: f64,
}

/// Every calibration and model diagnostic of one prediction set. `None` = undefined for the
/// input (no rows; no positives or no negatives for a class's AUC; nothing predicted for a
/// precision).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationReport {
    /// Number of rows.
    pub rows: usize,
    /// Number of classes.
    pub n_classes: usize,
    /// `#{argmax = label} / N`.
    pub accuracy: Option<f64>,
    /// `confusion_matrix[actual][predicted]` counts.
    pub confusion_matrix: Vec<Vec<usize>>,
    /// Per class k: `TP_k / #{predicted = k}`.
    pub precision: Vec<Option<f64>>,
    /// Per class k: `TP_k / #{label = k}`.
    pub recall: Vec<Option<f64>>,
    /// Top-label reliability (confidence = max probability, outcome = prediction correct),
    /// 10 equal-width lower-inclusive bins.
    pub top_label_uniform: ReliabilityTable,
    /// Top-label reliability with 10 quantile bins.
    pub top_label_quantile: ReliabilityTable,
    /// Per class k: reliability of `p_k` against `label = k`, 10 equal-width bins.
    pub per_class: Vec<ReliabilityTable>,
    /// Top-label ECE (10 equal-width bins, count-weighted).
    pub ece: Option<f64>,
    /// Top-label MCE.
    pub mce: Option<f64>,
    /// Per-class ECE (10 equal-width bins, count-weighted).
    pub ece_per_class: Vec<Option<f64>>,
    /// Multi-class Brier score `(1/N) Σ_i Σ_k (p_ik − y_ik)²` (y one-hot; ranges 0–2; for
    /// binary data it is twice sklearn's `brier_score_loss`).
    pub brier: Option<f64>,
    /// Per class k: `(1/N) Σ_i (p_ik − y_ik)²` (class 1 of binary data = sklearn's
    /// `brier_score_loss`).
    pub brier_per_class: Vec<Option<f64>>,
    /// Log loss `−(1/N) Σ_i ln clip(p_{i, y_i}, ε, 1 − ε)`, see [`LOG_LOSS_EPSILON`].
    pub log_loss: Option<f64>,
    /// One-vs-rest ROC AUC per class (Mann–Whitney U with average ranks for ties).
    pub roc_auc_per_class: Vec<Option<f64>>,
    /// Counts of top-label confidences in 10 equal-width bins over [0, 1].
    pub confidence_histogram: Vec<usize>,
    /// `#{confidence > 0.99} / N`.
    pub overconfident_share: Option<f64>,
    /// Mean top-label confidence.
    pub average_confidence: Option<f64>,
    /// Predicted vs realized class shares (`None` with no rows).
    pub class_balance: Option<ClassBalance>,
    /// Logit range when logits were supplied.
    pub logit_range: Option<LogitRange>,
    /// Mean per-row consensus when consensus was supplied.
    pub consensus_rate: Option<f64>,
}

impl CalibrationReport {
    /// The names of [`CalibrationReport::values`], sorted (for gate validation).
    pub const VALUE_NAMES: [&'static str; 12] = [
        "accuracy",
        "average_confidence",
        "brier",
        "class_bias",
        "consensus_rate",
        "dominant_class_share",
        "ece",
        "log_loss",
        "max_abs_logit",
        "mce",
        "overconfident_share",
        "roc_auc_macro",
    ];

    /// Scalar diagnostics by name, for gates and summaries. `roc_auc_macro` is the mean of
    /// the defined per-class AUCs; `class_bias` the class balance's max abs difference.
    pub fn values(&self) -> BTreeMap<String, Option<f64>> {
        let aucs: Vec<f64> = self.roc_auc_per_class.iter().flatten().copied().collect();
        let roc_auc_macro =
            (!aucs.is_empty()).then(|| aucs.iter().sum::<f64>() / aucs.len() as f64);
        let entries = [
            ("accuracy", self.accuracy),
            ("average_confidence", self.average_confidence),
            ("brier", self.brier),
            (
                "class_bias",
                self.class_balance.as_ref().map(|b| b.max_abs_difference),
            ),
            ("consensus_rate", self.consensus_rate),
            (
                "dominant_class_share",
                self.class_balance
                    .as_ref()
                    .map(|b| b.dominant_predicted_share),
            ),
            ("ece", self.ece),
            ("log_loss", self.log_loss),
            ("max_abs_logit", self.logit_range.map(|r| r.max_abs)),
            ("mce", self.mce),
            ("overconfident_share", self.overconfident_share),
            ("roc_auc_macro", roc_auc_macro),
        ];
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }
}

fn share(count: usize, total: usize) -> Option<f64> {
    (total > 0).then(|| count as f64 / total as f64)
}

/// ROC AUC of `scores` for `positive` outcomes: `(R₊ − n₊(n₊ + 1)/2) / (n₊ n₋)` with R₊ the
/// sum of the positives' ranks (ascending, ties get their average rank). Computed as the
/// equal Mann–Whitney count `U = #{(p, n): p > n} + ½ #{(p, n): p = n}` over
/// positive/negative pairs, by merging the two sides' sorted scores (integers below
/// 2⁵³, so exact).
#[cfg(test)]
pub(crate) fn roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let (positives, negatives): (Vec<_>, Vec<_>) = scores
        .iter()
        .zip(positive)
        .partition(|(_, &is_positive)| is_positive);
    let keys = |side: Vec<(&f64, &bool)>| -> Vec<u64> {
        side.into_iter().map(|(&s, _)| total_order_key(s)).collect()
    };
    auc_of_keys(&mut keys(positives), &mut keys(negatives))
}

/// [`roc_auc`] of the positives' and negatives' [`total_order_key`]s (sorted in place):
/// integer keys per side sort much faster than (score, outcome) pairs with a float
/// comparator. (Bucketed and radix sorts measured no faster than the standard library's
/// on model outputs, which repeat values; see docs/perf-notes.md.)
fn auc_of_keys(positives: &mut [u64], negatives: &mut [u64]) -> Option<f64> {
    if positives.is_empty() || negatives.is_empty() {
        return None;
    }
    positives.sort_unstable();
    negatives.sort_unstable();
    // Twice U, so that half-counted ties stay integers.
    let mut twice_u: u64 = 0;
    // One linear merge: `below` negatives score under the current positive run, `equal`
    // tie with it.
    let (mut below, mut i) = (0, 0);
    while i < positives.len() {
        let value = positives[i];
        let mut run = 1;
        while positives.get(i + run) == Some(&value) {
            run += 1;
        }
        while negatives.get(below).is_some_and(|&n| n < value) {
            below += 1;
        }
        let mut equal = 0;
        while negatives.get(below + equal) == Some(&value) {
            equal += 1;
        }
        twice_u += (run * (2 * below + equal)) as u64;
        i += run;
    }
    let (p, n) = (positives.len() as f64, negatives.len() as f64);
    Some(twice_u as f64 / 2.0 / (p * n))
}

/// A key whose unsigned order is `f64::total_cmp`'s, with −0 taken as +0 (they compare
/// equal as scores).
fn total_order_key(x: f64) -> u64 {
    let bits = (x + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// One row of predictions, read in place: class probabilities (summing to 1 within
/// [`ROW_SUM_TOLERANCE`]), the realized class, and optionally the raw logits and the
/// ensemble consensus.
#[derive(Debug, Clone, Copy)]
pub struct ReportRow<'a> {
    pub probabilities: &'a [f64],
    pub label: usize,
    pub logits: Option<&'a [f64]>,
    pub consensus: Option<f64>,
}

/// Predictions a report reads where they are, row by row and in a fixed order (the sums
/// depend on it), so no copy of them is made.
pub trait ReportRows {
    fn n_classes(&self) -> usize;
    /// How many rows [`ReportRows::visit`] visits.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Calls `visit` for every row, in order.
    fn visit<F: FnMut(ReportRow<'_>)>(&self, visit: F);
}

/// 1.0 if `condition`, else 0.0, computed without a branch (the compiler turns
/// `f64::from(u8::from(condition))` into one, mispredicted about as often as the
/// realized class changes).
#[inline]
fn indicator(condition: bool) -> f64 {
    f64::from_bits(u64::from(condition) * 1f64.to_bits())
}

/// The checks of [`PredictionSet::new`], `with_logits` and `with_consensus` on one row.
fn check_row(row: &ReportRow<'_>, index: usize, k: usize) -> Result<(), ReportsError> {
    for (c, &p) in row.probabilities.iter().enumerate() {
        if !p.is_finite() {
            return Err(ReportsError::NonFinite {
                what: "probability",
                index: index * k + c,
                value: p,
            });
        }
        if !(0.0..=1.0).contains(&p) {
            return Err(ReportsError::OutOfRange {
                what: "probability",
                index: index * k + c,
                value: p,
                expected: "[0, 1]",
            });
        }
    }
    let sum: f64 = row.probabilities.iter().sum();
    if (sum - 1.0).abs() > ROW_SUM_TOLERANCE {
        return Err(ReportsError::ProbabilitiesDoNotSumToOne {
            row: index,
            sum,
            tolerance: ROW_SUM_TOLERANCE,
        });
    }
    if row.label >= k {
        return Err(ReportsError::LabelOutOfRange {
            row: index,
            label: row.label,
            n_classes: k,
        });
    }
    if let Some((c, &value)) = row
        .logits
        .and_then(|logits| logits.iter().enumerate().find(|(_, v)| !v.is_finite()))
    {
        return Err(ReportsError::NonFinite {
            what: "logit",
            index: index * k + c,
            value,
        });
    }
    if let Some(value) = row.consensus.filter(|v| !(0.0..=1.0).contains(v)) {
        return Err(ReportsError::OutOfRange {
            what: "consensus",
            index,
            value,
            expected: "[0, 1]",
        });
    }
    Ok(())
}

/// Builds every diagnostic of [`CalibrationReport`] from `rows` (see [`ReportRows`]) in
/// one pass, then, in parallel (rayon), the quantile table of the top-label confidences
/// and the sorts behind each class's ROC AUC.
pub fn calibration_report<R: ReportRows>(rows: &R) -> Result<CalibrationReport, ReportsError> {
    let k = rows.n_classes();
    if k < 2 {
        return Err(ReportsError::TooFew {
            what: "classes",
            needed: 2,
            actual: k,
        });
    }
    let n = rows.len();
    let mut sums = Sums::new(k, n);
    let mut error = None;
    rows.visit(|row| {
        if error.is_some() {
            return;
        }
        if let Err(err) = check_row(&row, sums.rows, k) {
            error = Some(err);
            return;
        }
        if sums.rows == n {
            error = Some(ReportsError::LengthMismatch {
                what: "visited rows",
                per: "report",
                expected: n,
                actual: n + 1,
            });
            return;
        }
        sums.add(&row);
    });
    if let Some(err) = error {
        return Err(err);
    }
    if sums.rows != n {
        return Err(ReportsError::LengthMismatch {
            what: "visited rows",
            per: "report",
            expected: n,
            actual: sums.rows,
        });
    }
    Ok(sums.report())
}

/// Rows [`Sums`] gathers before adding them to its sums column by column: a block stays
/// in the L1 cache, and each loop over one of its columns keeps its sums in registers.
const BLOCK_ROWS: usize = 1024;

/// Everything of the report that one pass over the rows accumulates. Every sum adds its
/// terms in row order (a block's rows in order, blocks in order).
struct Sums {
    n_classes: usize,
    /// Rows added so far, the block's included.
    rows: usize,
    /// `confusion_matrix[label · k + predicted]`.
    confusion_matrix: Vec<usize>,
    top_label_uniform: BinSums,
    per_class: Vec<BinSums>,
    brier_per_class: Vec<f64>,
    brier: f64,
    log_loss: f64,
    overconfident: usize,
    confidence: f64,
    logit_range: Option<(f64, f64)>,
    consensus: Option<f64>,
    /// Top-label confidence and correctness per row, for the quantile table.
    confidences: Vec<f64>,
    correct: Vec<bool>,
    /// Per class, the [`total_order_key`] of its probability in every row: the class's
    /// rows from the front, the others from the back (`positives[c]` of the former).
    keys: Vec<Vec<u64>>,
    positives: Vec<usize>,
    /// The block's probabilities by class: `block[c · BLOCK_ROWS + i]` is class c's in
    /// the block's row i.
    block: Vec<f64>,
    block_labels: Vec<usize>,
    /// Per block row: its predicted class, its squared error summed over the classes.
    predicted: Vec<usize>,
    squared_error: Vec<f64>,
}

impl Sums {
    fn new(n_classes: usize, n_rows: usize) -> Self {
        let k = n_classes;
        Self {
            n_classes,
            rows: 0,
            confusion_matrix: vec![0; k * k],
            top_label_uniform: BinSums::uniform(Binning::ECE_DEFAULT),
            per_class: vec![BinSums::uniform(Binning::ECE_DEFAULT); k],
            brier_per_class: vec![0.0; k],
            brier: 0.0,
            log_loss: 0.0,
            overconfident: 0,
            confidence: 0.0,
            logit_range: None,
            consensus: None,
            confidences: Vec::with_capacity(n_rows),
            correct: Vec::with_capacity(n_rows),
            // Not `vec![vec![0; n]; k]`, which would copy the zeros into k − 1 of them.
            keys: (0..k).map(|_| vec![0; n_rows]).collect(),
            positives: vec![0; k],
            block: vec![0.0; k * BLOCK_ROWS],
            block_labels: Vec::with_capacity(BLOCK_ROWS),
            predicted: Vec::with_capacity(BLOCK_ROWS),
            squared_error: Vec::with_capacity(BLOCK_ROWS),
        }
    }

    /// Adds a checked row: to the block, and the block to the sums once it is full.
    #[inline]
    fn add(&mut self, row: &ReportRow<'_>) {
        let i = self.block_labels.len();
        for (c, &p) in row.probabilities.iter().enumerate() {
            self.block[c * BLOCK_ROWS + i] = p;
        }
        self.block_labels.push(row.label);
        self.rows += 1;
        if let Some(logits) = row.logits {
            let (min, max) = self
                .logit_range
                .get_or_insert((f64::INFINITY, f64::NEG_INFINITY));
            for &z in logits {
                *min = min.min(z);
                *max = max.max(z);
            }
        }
        if let Some(consensus) = row.consensus {
            *self.consensus.get_or_insert(0.0) += consensus;
        }
        if self.block_labels.len() == BLOCK_ROWS {
            self.flush();
        }
    }

    /// Adds the block's rows to the sums and empties it.
    fn flush(&mut self) {
        let (k, m) = (self.n_classes, self.block_labels.len());
        let labels = &self.block_labels[..];
        let block = &self.block;
        let column = |c: usize| &block[c * BLOCK_ROWS..c * BLOCK_ROWS + m];
        // The top label (argmax, ties to the lowest class) and its probability.
        let first = self.confidences.len();
        self.confidences.extend_from_slice(column(0));
        let confidences = &mut self.confidences[first..];
        self.predicted.clear();
        self.predicted.resize(m, 0);
        for c in 1..k {
            for ((top, predicted), &p) in confidences
                .iter_mut()
                .zip(&mut self.predicted)
                .zip(column(c))
            {
                // Selects, not a branch: which class is on top is data, not a pattern.
                let above = p > *top;
                *top = if above { p } else { *top };
                *predicted = if above { c } else { *predicted };
            }
        }
        let confidences = &self.confidences[first..];
        self.correct.extend(
            self.predicted
                .iter()
                .zip(labels)
                .map(|(predicted, label)| predicted == label),
        );
        let correct = &self.correct[first..];
        // One loop per sum or group of sums: each addition waits for the one before in
        // its sum, and the loops are short enough to overlap each other's chains.
        for (&label, &predicted) in labels.iter().zip(&self.predicted) {
            self.confusion_matrix[label * k + predicted] += 1;
        }
        self.top_label_uniform.add_all(confidences, |i| correct[i]);
        for &confidence in confidences {
            self.overconfident += usize::from(confidence > OVERCONFIDENCE_THRESHOLD);
            self.confidence += confidence;
        }
        for (i, &label) in labels.iter().enumerate() {
            self.log_loss += -block[label * BLOCK_ROWS + i]
                .clamp(LOG_LOSS_EPSILON, 1.0 - LOG_LOSS_EPSILON)
                .ln();
        }
        // Per class: its reliability table, its Brier term, its ROC keys; and each row's
        // squared error summed over the classes in class order.
        self.squared_error.clear();
        self.squared_error.resize(m, 0.0);
        let n = self.keys.first().map_or(0, Vec::len);
        for c in 0..k {
            let probabilities = column(c);
            self.per_class[c].add_all(probabilities, |i| labels[i] == c);
            let mut brier = self.brier_per_class[c];
            for ((&p, &label), row_error) in probabilities
                .iter()
                .zip(labels)
                .zip(&mut self.squared_error)
            {
                let error = (p - indicator(label == c)).powi(2);
                brier += error;
                *row_error += error;
            }
            self.brier_per_class[c] = brier;
            // The class's rows fill its keys from the front, the others from the back.
            let keys = &mut self.keys[c];
            let mut positives = self.positives[c];
            for (i, (&p, &label)) in probabilities.iter().zip(labels).enumerate() {
                let is_c = label == c;
                let negatives = first + i - positives;
                let slot = if is_c { positives } else { n - 1 - negatives };
                keys[slot] = total_order_key(p);
                positives += usize::from(is_c);
            }
            self.positives[c] = positives;
        }
        for &error in &self.squared_error {
            self.brier += error;
        }
        self.block_labels.clear();
    }

    fn report(mut self) -> CalibrationReport {
        self.flush();
        let (n, k) = (self.rows, self.n_classes);
        let confusion_matrix: Vec<Vec<usize>> = self
            .confusion_matrix
            .chunks(k)
            .map(<[usize]>::to_vec)
            .collect();
        let precision = (0..k)
            .map(|c| {
                share(
                    confusion_matrix[c][c],
                    (0..k).map(|a| confusion_matrix[a][c]).sum(),
                )
            })
            .collect();
        let recall = (0..k)
            .map(|c| share(confusion_matrix[c][c], confusion_matrix[c].iter().sum()))
            .collect();
        let correct = (0..k).map(|c| confusion_matrix[c][c]).sum();
        let top_label_uniform = self.top_label_uniform.table();
        let (confidences, outcomes) = (&self.confidences, &self.correct);
        let (top_label_quantile, roc_auc_per_class) = rayon::join(
            || {
                let binning = Binning::Quantile { bins: 10 };
                let mut sums = BinSums::new(binning, edges(confidences, binning));
                sums.add_all(confidences, |i| outcomes[i]);
                sums.table()
            },
            || {
                self.keys
                    .into_par_iter()
                    .zip(&self.positives)
                    .map(|(mut keys, &positives)| {
                        let (positives, negatives) = keys.split_at_mut(positives);
                        auc_of_keys(positives, negatives)
                    })
                    .collect::<Vec<_>>()
            },
        );
        let per_class: Vec<ReliabilityTable> =
            self.per_class.into_iter().map(BinSums::table).collect();
        let average = |sum: f64| (n > 0).then(|| sum / n as f64);
        let class_balance = (n > 0).then(|| {
            let predicted_share: Vec<f64> = (0..k)
                .map(|p| (0..k).map(|l| confusion_matrix[l][p]).sum::<usize>() as f64 / n as f64)
                .collect();
            let realized_share: Vec<f64> = confusion_matrix
                .iter()
                .map(|row| row.iter().sum::<usize>() as f64 / n as f64)
                .collect();
            let max_abs_difference = predicted_share
                .iter()
                .zip(&realized_share)
                .map(|(p, r)| (p - r).abs())
                .fold(0.0, f64::max);
            let dominant_predicted_share = predicted_share.iter().copied().fold(0.0, f64::max);
            ClassBalance {
                predicted_share,
                realized_share,
                max_abs_difference,
                dominant_predicted_share,
            }
        });
        CalibrationReport {
            rows: n,
            n_classes: k,
            accuracy: share(correct, n),
            ece: top_label_uniform.ece,
            mce: top_label_uniform.mce,
            ece_per_class: per_class.iter().map(|t| t.ece).collect(),
            confidence_histogram: top_label_uniform.counts(),
            confusion_matrix,
            precision,
            recall,
            top_label_uniform,
            top_label_quantile,
            per_class,
            brier: average(self.brier),
            brier_per_class: self.brier_per_class.into_iter().map(average).collect(),
            log_loss: average(self.log_loss),
            roc_auc_per_class,
            overconfident_share: share(self.overconfident, n),
            average_confidence: average(self.confidence),
            class_balance,
            logit_range: self.logit_range.map(|(min, max)| LogitRange {
                min,
                max,
                max_abs: min.abs().max(max.abs()),
            }),
            consensus_rate: self.consensus.and_then(average),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::PredictionSet;
    use super::*;

    fn three_class() -> PredictionSet {
        // Rows (predicted class in brackets): [0], [1], [1], [2]; labels 0, 1, 0, 2.
        PredictionSet::new(
            3,
            vec![
                0.7, 0.2, 0.1, 0.1, 0.8, 0.1, 0.3, 0.6, 0.1, 0.0, 0.005, 0.995,
            ],
            vec![0, 1, 0, 2],
        )
        .unwrap()
    }

    #[test]
    fn classification_metrics_by_hand() {
        let r = three_class().report();
        assert_eq!(r.accuracy, Some(0.75));
        assert_eq!(
            r.confusion_matrix,
            vec![vec![1, 1, 0], vec![0, 1, 0], vec![0, 0, 1]]
        );
        assert_eq!(r.precision, vec![Some(1.0), Some(0.5), Some(1.0)]);
        assert_eq!(r.recall, vec![Some(0.5), Some(1.0), Some(1.0)]);
        // Brier: (0.09+0.04+0.01) + (0.01+0.04+0.01) + (0.49+0.36+0.01) + (0+0.000025+0.000025)
        //      = 0.14 + 0.06 + 0.86 + 0.00005 = 1.06005; / 4.
        assert!((r.brier.unwrap() - 1.06005 / 4.0).abs() < 1e-15);
        // Log loss: −(ln 0.7 + ln 0.8 + ln 0.3 + ln 0.995) / 4.
        let ll = -(0.7_f64.ln() + 0.8_f64.ln() + 0.3_f64.ln() + 0.995_f64.ln()) / 4.0;
        assert!((r.log_loss.unwrap() - ll).abs() < 1e-15);
        assert_eq!(r.overconfident_share, Some(0.25));
        assert!((r.average_confidence.unwrap() - (0.7 + 0.8 + 0.6 + 0.995) / 4.0).abs() < 1e-15);
        let balance = r.class_balance.unwrap();
        assert_eq!(balance.predicted_share, vec![0.25, 0.5, 0.25]);
        assert_eq!(balance.realized_share, vec![0.5, 0.25, 0.25]);
        assert_eq!(balance.max_abs_difference, 0.25);
        assert_eq!(balance.dominant_predicted_share, 0.5);
        assert_eq!(r.confidence_histogram, vec![0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
        assert_eq!(r.logit_range, None);
        assert_eq!(r.consensus_rate, None);
    }

    #[test]
    fn logits_consensus_and_degenerate_models() {
        // The seed team's broken model: huge logits, always class 0 at confidence 1.
        let set = PredictionSet::new(2, vec![1.0, 0.0, 1.0, 0.0, 1.0, 0.0], vec![0, 1, 1])
            .unwrap()
            .with_logits(vec![
                40_000.0, -39_000.0, 41_000.0, -40_500.0, 39_999.0, -1.0,
            ])
            .unwrap()
            .with_consensus(vec![1.0, 0.5, 0.75])
            .unwrap();
        let r = set.report();
        assert_eq!(
            r.logit_range,
            Some(LogitRange {
                min: -40_500.0,
                max: 41_000.0,
                max_abs: 41_000.0
            })
        );
        assert_eq!(r.consensus_rate, Some(0.75));
        assert_eq!(r.overconfident_share, Some(1.0));
        let values = r.values();
        assert_eq!(values["dominant_class_share"], Some(1.0));
        assert_eq!(values["max_abs_logit"], Some(41_000.0));
        // Two confident misses cost −ln ε each.
        let expected = (2.0 * -LOG_LOSS_EPSILON.ln() - (1.0 - LOG_LOSS_EPSILON).ln()) / 3.0;
        assert!((r.log_loss.unwrap() - expected).abs() < 1e-12);
        assert_eq!(r.precision[1], None);
        assert!(r.log_loss.unwrap().is_finite());
        let names: Vec<&str> = values.keys().map(String::as_str).collect();
        assert_eq!(names, CalibrationReport::VALUE_NAMES.to_vec());
    }

    #[test]
    fn empty_set_is_all_undefined() {
        let r = PredictionSet::new(2, vec![], vec![]).unwrap().report();
        assert_eq!(r.accuracy, None);
        assert_eq!(r.ece, None);
        assert_eq!(r.brier, None);
        assert_eq!(r.log_loss, None);
        assert_eq!(r.class_balance, None);
        assert!(r.values().values().all(Option::is_none));
    }

    #[test]
    fn roc_auc_handles_ties_and_degenerate_labels() {
        // Positives 0.8, 0.5; negatives 0.5, 0.2: pairs (0.8>0.5), (0.8>0.2), (0.5=0.5 → ½),
        // (0.5>0.2) → 3.5 / 4.
        assert_eq!(
            roc_auc(&[0.8, 0.5, 0.5, 0.2], &[true, true, false, false]),
            Some(0.875)
        );
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(roc_auc(&[-0.0, 0.0], &[true, false]), Some(0.5));
    }

    proptest::proptest! {
        /// The merge count equals the definition: over all positive/negative pairs, 1 when
        /// the positive scores higher, ½ on a tie.
        #[test]
        fn roc_auc_equals_the_pairwise_definition(
            pairs in proptest::collection::vec(
                (proptest::prop_oneof![0.0f64..=1.0, proptest::strategy::Just(0.25)], proptest::bool::ANY),
                0..120,
            ),
        ) {
            let (scores, positive): (Vec<f64>, Vec<bool>) = pairs.into_iter().unzip();
            let side = |want: bool| -> Vec<f64> {
                scores.iter().zip(&positive).filter(|(_, &y)| y == want).map(|(&s, _)| s).collect()
            };
            let (positives, negatives) = (side(true), side(false));
            let wins: f64 = positives
                .iter()
                .flat_map(|p| negatives.iter().map(move |n| match p.total_cmp(n) {
                    std::cmp::Ordering::Greater => 1.0,
                    std::cmp::Ordering::Equal => 0.5,
                    std::cmp::Ordering::Less => 0.0,
                }))
                .sum();
            let pairs = (positives.len() * negatives.len()) as f64;
            let expected = (pairs > 0.0).then(|| wins / pairs);
            proptest::prop_assert_eq!(roc_auc(&scores, &positive), expected);
        }
    }

    /// The block-wise sums equal sums taken row by row in row order, bit for bit, across
    /// block boundaries and a partial last block.
    #[test]
    fn block_sums_equal_row_by_row_sums() {
        let (k, n) = (3, 2 * BLOCK_ROWS + 123);
        // A deterministic spread of rows, some on bin edges, some tied for the top.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut probabilities = Vec::with_capacity(n * k);
        let mut labels = Vec::with_capacity(n);
        for row in 0..n {
            let raw: Vec<f64> = match row % 7 {
                0 => vec![0.3, 0.3, 0.4],
                1 => vec![0.5, 0.5, 0.0],
                _ => (0..k).map(|_| (next() % 1000 + 1) as f64).collect(),
            };
            let sum: f64 = raw.iter().sum();
            probabilities.extend(raw.iter().map(|p| p / sum));
            labels.push((next() % k as u64) as usize);
        }
        let report = PredictionSet::new(k, probabilities.clone(), labels.clone())
            .unwrap()
            .report();
        let (mut brier, mut log_loss, mut confidence) = (0.0, 0.0, 0.0);
        let mut brier_per_class = vec![0.0; k];
        let mut top_sums = vec![0.0; 10];
        let mut class_sums = vec![vec![0.0; 10]; k];
        for (row, &label) in probabilities.chunks(k).zip(&labels) {
            let top_p = row
                .iter()
                .fold(row[0], |top, &p| if p > top { p } else { top });
            let mut row_error = 0.0;
            for (c, &p) in row.iter().enumerate() {
                let y = if c == label { 1.0 } else { 0.0 };
                row_error += (p - y) * (p - y);
                brier_per_class[c] += (p - y) * (p - y);
                class_sums[c][((p * 10.0) as usize).min(9)] += p;
            }
            brier += row_error;
            log_loss += -row[label]
                .clamp(LOG_LOSS_EPSILON, 1.0 - LOG_LOSS_EPSILON)
                .ln();
            confidence += top_p;
            top_sums[((top_p * 10.0) as usize).min(9)] += top_p;
        }
        let average = |sum: f64| Some(sum / n as f64);
        assert_eq!(report.brier, average(brier));
        assert_eq!(report.log_loss, average(log_loss));
        assert_eq!(report.average_confidence, average(confidence));
        let per_class: Vec<Option<f64>> = brier_per_class.into_iter().map(average).collect();
        assert_eq!(report.brier_per_class, per_class);
        let means = |table: &ReliabilityTable, sums: &[f64]| {
            for (bin, &sum) in table.bins.iter().zip(sums) {
                let mean = (bin.count > 0).then(|| sum / bin.count as f64);
                assert_eq!(bin.mean_confidence, mean);
            }
        };
        means(&report.top_label_uniform, &top_sums);
        for (table, sums) in report.per_class.iter().zip(&class_sums) {
            means(table, sums);
        }
    }

    #[test]
    fn prediction_set_validation() {
        use crate::error::ReportsError;
        assert!(matches!(
            PredictionSet::new(1, vec![1.0], vec![0]),
            Err(ReportsError::TooFew { .. })
        ));
        assert!(matches!(
            PredictionSet::new(2, vec![0.5, 0.6], vec![0]),
            Err(ReportsError::ProbabilitiesDoNotSumToOne { row: 0, .. })
        ));
        assert!(matches!(
            PredictionSet::new(2, vec![1.5, -0.5], vec![0]),
            Err(ReportsError::OutOfRange { index: 0, .. })
        ));
        assert!(matches!(
            PredictionSet::new(2, vec![0.5, 0.5], vec![2]),
            Err(ReportsError::LabelOutOfRange {
                row: 0,
                label: 2,
                n_classes: 2
            })
        ));
        assert!(matches!(
            PredictionSet::new(2, vec![0.5], vec![0]),
            Err(ReportsError::LengthMismatch { .. })
        ));
        let set = PredictionSet::new(2, vec![0.5, 0.5], vec![0]).unwrap();
        assert!(set.clone().with_logits(vec![f64::NAN, 0.0]).is_err());
        assert!(set.with_consensus(vec![1.5]).is_err());
    }
}
