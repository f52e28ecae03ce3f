//! Temperature scaling: one scalar T > 0 that makes `softmax(z / T)` calibrated.

use serde::{Deserialize, Serialize};

use crate::error::ReportsError;

/// Search interval for the temperature.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TemperatureBounds {
    /// Smallest temperature tried (> 0).
    pub min: f64,
    /// Largest temperature tried (> min).
    pub max: f64,
}

impl Default for TemperatureBounds {
    /// `[0.01, 100]`.
    fn default() -> Self {
        Self {
            min: 0.01,
            max: 100.0,
        }
    }
}

/// Result of a temperature fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TemperatureFit {
    /// The fitted temperature T.
    pub temperature: f64,
    /// Mean NLL at T = 1 (the model as it is).
    pub nll_before: f64,
    /// Mean NLL at the fitted T.
    pub nll_after: f64,
    /// True when T is within 1e-6 (relative) of a bound: the optimum may lie outside.
    pub at_bound: bool,
}

/// Golden-section iterations on ln T: the bracket shrinks by 0.618 per step, so 100 steps
/// reduce even ln(1e4) ≈ 9.2 below 1e-19 — past f64 resolution, and always the same
/// number of steps (deterministic).
const ITERATIONS: usize = 100;

/// Mean negative log-likelihood of `softmax(z / T)`:
/// `NLL(T) = (1/N) Σ_i [ log Σ_k exp(z_ik / T) − z_{i,y_i} / T ]`
/// (log-sum-exp shifted by the row maximum, so logits of ±40,000 do not overflow).
pub fn tempered_nll(logits: &[f64], n_classes: usize, labels: &[usize], temperature: f64) -> f64 {
    let mut total = 0.0;
    for (row, &label) in logits.chunks_exact(n_classes).zip(labels) {
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max) / temperature;
        let lse = max
            + row
                .iter()
                .map(|&z| (z / temperature - max).exp())
                .sum::<f64>()
                .ln();
        total += lse - row[label] / temperature;
    }
    total / labels.len() as f64
}

/// Fits T by minimizing `tempered_nll` with a golden-section search on ln T over
/// `[ln bounds.min, ln bounds.max]`. NLL is convex in 1/T, hence unimodal in ln T, so the
/// search finds the global minimum within the bounds. Deterministic: fixed iteration count,
/// no randomness. Errors: no rows, shape mismatches, non-finite logits, labels out of range,
/// invalid bounds.
pub fn fit_temperature(
    logits: &[f64],
    n_classes: usize,
    labels: &[usize],
    bounds: TemperatureBounds,
) -> Result<TemperatureFit, ReportsError> {
    validate(logits, n_classes, labels, bounds)?;
    let nll = |log_t: f64| tempered_nll(logits, n_classes, labels, log_t.exp());
    let inv_phi = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (bounds.min.ln(), bounds.max.ln());
    let mut c = b - inv_phi * (b - a);
    let mut d = a + inv_phi * (b - a);
    let (mut fc, mut fd) = (nll(c), nll(d));
    for _ in 0..ITERATIONS {
        if fc <= fd {
            b = d;
            d = c;
            fd = fc;
            c = b - inv_phi * (b - a);
            fc = nll(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + inv_phi * (b - a);
            fd = nll(d);
        }
    }
    let temperature = ((a + b) / 2.0).exp().clamp(bounds.min, bounds.max);
    let at_bound = (temperature / bounds.min - 1.0).abs() < 1e-6
        || (temperature / bounds.max - 1.0).abs() < 1e-6;
    Ok(TemperatureFit {
        temperature,
        nll_before: tempered_nll(logits, n_classes, labels, 1.0),
        nll_after: tempered_nll(logits, n_classes, labels, temperature),
        at_bound,
    })
}

/// Fits T for a model that outputs probabilities: its logits are taken as `ln p` (clipped
/// to `p ≥ 1e-300` so a zero probability stays finite), and `softmax(ln p / T)` re-tempers
/// the probabilities as `p^{1/T} / Σ p^{1/T}`. Same search as [`fit_temperature`].
pub fn fit_temperature_from_probabilities(
    probabilities: &[f64],
    n_classes: usize,
    labels: &[usize],
    bounds: TemperatureBounds,
) -> Result<TemperatureFit, ReportsError> {
    if let Some((index, &value)) = probabilities
        .iter()
        .enumerate()
        .find(|(_, p)| !(0.0..=1.0).contains(*p))
    {
        return Err(ReportsError::OutOfRange {
            what: "probability",
            index,
            value,
            expected: "[0, 1]",
        });
    }
    let logits: Vec<f64> = probabilities.iter().map(|&p| p.max(1e-300).ln()).collect();
    fit_temperature(&logits, n_classes, labels, bounds)
}

fn validate(
    logits: &[f64],
    n_classes: usize,
    labels: &[usize],
    bounds: TemperatureBounds,
) -> Result<(), ReportsError> {
    if !(bounds.min.is_finite()
        && bounds.max.is_finite()
        && bounds.min > 0.0
        && bounds.max > bounds.min)
    {
        return Err(ReportsError::InvalidParameter {
            parameter: "temperature bounds",
            reason: format!(
                "[{}, {}] must satisfy 0 < min < max, both finite",
                bounds.min, bounds.max
            ),
        });
    }
    if n_classes < 2 {
        return Err(ReportsError::TooFew {
            what: "classes",
            needed: 2,
            actual: n_classes,
        });
    }
    if labels.is_empty() {
        return Err(ReportsError::TooFew {
            what: "rows to fit a temperature on",
            needed: 1,
            actual: 0,
        });
    }
    if logits.len() != labels.len() * n_classes {
        return Err(ReportsError::LengthMismatch {
            what: "logits",
            per: "label × class",
            expected: labels.len() * n_classes,
            actual: logits.len(),
        });
    }
    if let Some((index, &value)) = logits.iter().enumerate().find(|(_, z)| !z.is_finite()) {
        return Err(ReportsError::NonFinite {
            what: "logit",
            index,
            value,
        });
    }
    if let Some((row, &label)) = labels.iter().enumerate().find(|(_, &l)| l >= n_classes) {
        return Err(ReportsError::LabelOutOfRange {
            row,
            label,
            n_classes,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// 3-class data whose labels are drawn from `softmax(z)`; returns `(z × scale, labels)`,
    /// so `T = scale` is the calibrating temperature.
    fn synthetic(scale: f64, rows: usize, seed: u64) -> (Vec<f64>, Vec<usize>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut logits = Vec::with_capacity(rows * 3);
        let mut labels = Vec::with_capacity(rows);
        for _ in 0..rows {
            let z: [f64; 3] = [
                rng.gen_range(-2.0..2.0),
                rng.gen_range(-2.0..2.0),
                rng.gen_range(-2.0..2.0),
            ];
            let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = z.iter().map(|v| (v - max).exp()).collect();
            let sum: f64 = e.iter().sum();
            let u: f64 = rng.gen();
            let mut acc = 0.0;
            let mut label = 2;
            for (k, ek) in e.iter().enumerate() {
                acc += ek / sum;
                if u < acc {
                    label = k;
                    break;
                }
            }
            labels.push(label);
            logits.extend(z.iter().map(|v| v * scale));
        }
        (logits, labels)
    }

    #[test]
    fn recovers_a_known_temperature() {
        let (logits, labels) = synthetic(2.5, 20_000, 11);
        let fit = fit_temperature(&logits, 3, &labels, TemperatureBounds::default()).unwrap();
        assert!((fit.temperature - 2.5).abs() < 0.15, "{fit:?}");
        assert!(fit.nll_after < fit.nll_before);
        assert!(!fit.at_bound);
    }

    #[test]
    fn calibrated_data_keeps_temperature_one() {
        let (logits, labels) = synthetic(1.0, 20_000, 12);
        let fit = fit_temperature(&logits, 3, &labels, TemperatureBounds::default()).unwrap();
        assert!((fit.temperature - 1.0).abs() < 0.06, "{fit:?}");
        assert!(fit.nll_after <= fit.nll_before);
    }

    #[test]
    fn is_deterministic_and_handles_huge_logits() {
        let (logits, labels) = synthetic(2.5, 2_000, 13);
        let a = fit_temperature(&logits, 3, &labels, TemperatureBounds::default()).unwrap();
        let b = fit_temperature(&logits, 3, &labels, TemperatureBounds::default()).unwrap();
        assert_eq!(a, b);
        let huge: Vec<f64> = logits.iter().map(|z| z * 20_000.0).collect();
        let fit = fit_temperature(
            &huge,
            3,
            &labels,
            TemperatureBounds {
                min: 0.01,
                max: 1e6,
            },
        )
        .unwrap();
        assert!(fit.nll_after.is_finite() && fit.nll_before.is_finite());
        assert!((fit.temperature / 50_000.0 - 1.0).abs() < 0.1, "{fit:?}");
    }

    #[test]
    fn probabilities_are_retempered_in_log_space() {
        let (logits, labels) = synthetic(2.0, 5_000, 14);
        let probs: Vec<f64> = logits
            .chunks_exact(3)
            .flat_map(|z| {
                let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = z.iter().map(|v| (v - max).exp()).collect();
                let s: f64 = e.iter().sum();
                e.into_iter().map(move |v| v / s)
            })
            .collect();
        let from_logits =
            fit_temperature(&logits, 3, &labels, TemperatureBounds::default()).unwrap();
        let from_probs =
            fit_temperature_from_probabilities(&probs, 3, &labels, TemperatureBounds::default())
                .unwrap();
        assert!((from_logits.temperature - from_probs.temperature).abs() < 1e-6);
    }

    #[test]
    fn rejects_bad_input() {
        let b = TemperatureBounds::default();
        assert!(matches!(
            fit_temperature(&[], 2, &[], b),
            Err(ReportsError::TooFew { .. })
        ));
        assert!(matches!(
            fit_temperature(&[0.0, 1.0], 2, &[2], b),
            Err(ReportsError::LabelOutOfRange { .. })
        ));
        assert!(matches!(
            fit_temperature(&[0.0, f64::NAN], 2, &[0], b),
            Err(ReportsError::NonFinite { .. })
        ));
        let bad = TemperatureBounds { min: 1.0, max: 0.5 };
        assert!(matches!(
            fit_temperature(&[0.0, 1.0], 2, &[0], bad),
            Err(ReportsError::InvalidParameter { .. })
        ));
    }
}
