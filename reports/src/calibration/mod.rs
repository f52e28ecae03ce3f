//! Calibration and model diagnostics over rows of class probabilities and realized labels
//! (for the ensemble or for one member): accuracy, precision/recall, confusion matrix,
//! reliability tables, ECE/MCE, Brier, log loss, ROC AUC, confidence histogram,
//! overconfidence, class balance, logit range, consensus — and temperature fitting.

mod metrics;
mod reliability;
mod temperature;

use serde::{Deserialize, Serialize};

pub use metrics::{
    calibration_report, CalibrationReport, ClassBalance, LogitRange, ReportRow, ReportRows,
    LOG_LOSS_EPSILON, OVERCONFIDENCE_THRESHOLD,
};
pub use reliability::{Binning, EdgeRule, ReliabilityBin, ReliabilityTable};
pub use temperature::{
    fit_temperature, fit_temperature_from_probabilities, TemperatureBounds, TemperatureFit,
};

use crate::error::ReportsError;

/// Accepted absolute deviation of a probability row's sum from 1.
pub const ROW_SUM_TOLERANCE: f64 = 1e-6;

/// Predictions to diagnose: `n_rows × n_classes` probabilities (row-major), one realized
/// label (class index) per row, optional raw logits of the same shape, and optional
/// per-row ensemble consensus (share of members whose class equals the ensemble's, in
/// [0, 1]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionSet {
    n_classes: usize,
    probabilities: Vec<f64>,
    labels: Vec<usize>,
    logits: Option<Vec<f64>>,
    consensus: Option<Vec<f64>>,
}

impl PredictionSet {
    /// Validates `n_classes ≥ 2`, `probabilities.len() = labels.len() × n_classes`, every
    /// probability finite in [0, 1], every row summing to 1 within
    /// [`ROW_SUM_TOLERANCE`], every label `< n_classes`. Zero rows are allowed.
    pub fn new(
        n_classes: usize,
        probabilities: Vec<f64>,
        labels: Vec<usize>,
    ) -> Result<Self, ReportsError> {
        if n_classes < 2 {
            return Err(ReportsError::TooFew {
                what: "classes",
                needed: 2,
                actual: n_classes,
            });
        }
        if probabilities.len() != labels.len() * n_classes {
            return Err(ReportsError::LengthMismatch {
                what: "probabilities",
                per: "label × class",
                expected: labels.len() * n_classes,
                actual: probabilities.len(),
            });
        }
        for (index, &p) in probabilities.iter().enumerate() {
            if !p.is_finite() {
                return Err(ReportsError::NonFinite {
                    what: "probability",
                    index,
                    value: p,
                });
            }
            if !(0.0..=1.0).contains(&p) {
                return Err(ReportsError::OutOfRange {
                    what: "probability",
                    index,
                    value: p,
                    expected: "[0, 1]",
                });
            }
        }
        for (row, chunk) in probabilities.chunks_exact(n_classes).enumerate() {
            let sum: f64 = chunk.iter().sum();
            if (sum - 1.0).abs() > ROW_SUM_TOLERANCE {
                return Err(ReportsError::ProbabilitiesDoNotSumToOne {
                    row,
                    sum,
                    tolerance: ROW_SUM_TOLERANCE,
                });
            }
        }
        if let Some((row, &label)) = labels.iter().enumerate().find(|(_, &l)| l >= n_classes) {
            return Err(ReportsError::LabelOutOfRange {
                row,
                label,
                n_classes,
            });
        }
        Ok(Self {
            n_classes,
            probabilities,
            labels,
            logits: None,
            consensus: None,
        })
    }

    /// Binary predictions from the positive-class probability p: rows `[1 − p, p]`.
    pub fn from_binary(
        positive_probability: &[f64],
        labels: Vec<usize>,
    ) -> Result<Self, ReportsError> {
        let probabilities = positive_probability
            .iter()
            .flat_map(|&p| [1.0 - p, p])
            .collect();
        Self::new(2, probabilities, labels)
    }

    /// Attaches raw logits (same shape as the probabilities, finite).
    pub fn with_logits(mut self, logits: Vec<f64>) -> Result<Self, ReportsError> {
        if logits.len() != self.probabilities.len() {
            return Err(ReportsError::LengthMismatch {
                what: "logits",
                per: "probability",
                expected: self.probabilities.len(),
                actual: logits.len(),
            });
        }
        if let Some((index, &value)) = logits.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ReportsError::NonFinite {
                what: "logit",
                index,
                value,
            });
        }
        self.logits = Some(logits);
        Ok(self)
    }

    /// Attaches per-row ensemble consensus (one value in [0, 1] per row).
    pub fn with_consensus(mut self, consensus: Vec<f64>) -> Result<Self, ReportsError> {
        if consensus.len() != self.labels.len() {
            return Err(ReportsError::LengthMismatch {
                what: "consensus",
                per: "row",
                expected: self.labels.len(),
                actual: consensus.len(),
            });
        }
        if let Some((index, &value)) = consensus
            .iter()
            .enumerate()
            .find(|(_, v)| !(0.0..=1.0).contains(*v))
        {
            return Err(ReportsError::OutOfRange {
                what: "consensus",
                index,
                value,
                expected: "[0, 1]",
            });
        }
        self.consensus = Some(consensus);
        Ok(self)
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True with no rows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Probabilities, row-major.
    pub fn probabilities(&self) -> &[f64] {
        &self.probabilities
    }

    /// Realized labels.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// Logits, if attached.
    pub fn logits(&self) -> Option<&[f64]> {
        self.logits.as_deref()
    }

    /// Consensus per row, if attached.
    pub fn consensus(&self) -> Option<&[f64]> {
        self.consensus.as_deref()
    }

    /// Row i's probabilities (i < len()).
    pub(crate) fn row(&self, i: usize) -> &[f64] {
        &self.probabilities[i * self.n_classes..(i + 1) * self.n_classes]
    }

    /// Predicted class (argmax; ties go to the lowest class index) and its probability
    /// (the top-label confidence) per row.
    pub fn top_label(&self) -> (Vec<usize>, Vec<f64>) {
        self.probabilities
            .chunks_exact(self.n_classes)
            .map(|row| {
                row.iter().enumerate().fold(
                    (0, row[0]),
                    |(bi, bp), (i, &p)| if p > bp { (i, p) } else { (bi, bp) },
                )
            })
            .unzip()
    }

    /// Builds the full diagnostics; see [`CalibrationReport`].
    pub fn report(&self) -> CalibrationReport {
        // Construction checked every row the way `calibration_report` checks them.
        calibration_report(self).expect("a PredictionSet is validated when built")
    }
}

impl ReportRows for PredictionSet {
    fn n_classes(&self) -> usize {
        self.n_classes
    }

    fn len(&self) -> usize {
        self.labels.len()
    }

    fn visit<F: FnMut(ReportRow<'_>)>(&self, mut visit: F) {
        let k = self.n_classes;
        for (i, &label) in self.labels.iter().enumerate() {
            visit(ReportRow {
                probabilities: self.row(i),
                label,
                logits: self.logits.as_ref().map(|l| &l[i * k..(i + 1) * k]),
                consensus: self.consensus.as_ref().map(|c| c[i]),
            });
        }
    }
}
