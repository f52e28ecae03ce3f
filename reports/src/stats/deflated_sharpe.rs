//! Deflated Sharpe ratio (Bailey & López de Prado, 2014).

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use super::{probabilistic_sharpe_ratio, PerformanceInput, Statistic};
use crate::error::ReportsError;

/// Euler–Mascheroni constant γ.
const EULER_MASCHERONI: f64 = 0.577_215_664_901_532_9;

/// The sweep a run was selected from: the number of trials N and the variance V of the
/// per-period Sharpe ratios across those trials.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SharpeTrials {
    trials: usize,
    sharpe_variance: f64,
}

impl SharpeTrials {
    /// `trials ≥ 1`, `sharpe_variance` finite and ≥ 0.
    pub fn new(trials: usize, sharpe_variance: f64) -> Result<Self, ReportsError> {
        if trials == 0 {
            return Err(ReportsError::InvalidParameter {
                parameter: "trials",
                reason: "the number of trials must be at least 1".to_string(),
            });
        }
        if !(sharpe_variance.is_finite() && sharpe_variance >= 0.0) {
            return Err(ReportsError::InvalidParameter {
                parameter: "sharpe_variance",
                reason: format!("{sharpe_variance} is not a finite number ≥ 0"),
            });
        }
        Ok(Self {
            trials,
            sharpe_variance,
        })
    }

    /// Number of trials N.
    pub fn trials(&self) -> usize {
        self.trials
    }

    /// Variance V of the trials' per-period Sharpe ratios.
    pub fn sharpe_variance(&self) -> f64 {
        self.sharpe_variance
    }
}

/// Expected maximum per-period Sharpe ratio of N unskilled trials:
/// `SR₀ = √V · ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e)))`, γ the Euler–Mascheroni constant.
/// N = 1 → 0 (no selection, `Φ⁻¹(0)` would be −∞).
pub fn expected_max_sharpe(trials: SharpeTrials) -> f64 {
    if trials.trials == 1 {
        return 0.0;
    }
    let Ok(normal) = Normal::new(0.0, 1.0) else {
        return 0.0;
    };
    let n = trials.trials as f64;
    let a = normal.inverse_cdf(1.0 - 1.0 / n);
    let b = normal.inverse_cdf(1.0 - 1.0 / (n * std::f64::consts::E));
    trials.sharpe_variance.sqrt() * ((1.0 - EULER_MASCHERONI) * a + EULER_MASCHERONI * b)
}

/// Deflated Sharpe ratio: the probabilistic Sharpe ratio against the expected maximum
/// Sharpe ratio of the sweep, `DSR = PSR(SR₀)` with SR₀ from [`expected_max_sharpe`] and PSR
/// as in [`super::ProbabilisticSharpeRatio`] (same defined outputs). Without trial
/// information (`trials = None`) → `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeflatedSharpeRatio {
    /// The sweep the run was selected from.
    pub trials: Option<SharpeTrials>,
}

impl Statistic for DeflatedSharpeRatio {
    fn name(&self) -> &'static str {
        "deflated_sharpe_ratio"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        let sr0 = expected_max_sharpe(self.trials?);
        probabilistic_sharpe_ratio(input.daily_returns().returns(), sr0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;

    #[test]
    fn dsr_matches_hand_computation() {
        // N = 100 trials, V = 0.04 (√V = 0.2).
        // Φ⁻¹(1 − 1/100) = Φ⁻¹(0.99) = 2.3263479; Φ⁻¹(1 − 1/(100 e)) = Φ⁻¹(0.9963212) = 2.6802104.
        // SR₀ = 0.2 · ((1 − 0.5772157) · 2.3263479 + 0.5772157 · 2.6802104) = 0.5061206.
        let trials = SharpeTrials::new(100, 0.04).unwrap();
        let sr0 = expected_max_sharpe(trials);
        assert!((sr0 - 0.506120578640337).abs() < 1e-9, "{sr0}");
        // Returns of the PSR test: ŜR = 0.2318694, radicand 1.3884005 (see there).
        // z = (0.2318694 − 0.5061206) · √5 / √1.3884005 = −0.5204465;
        // Φ(z) = 0.30137621895973604 (Python statistics.NormalDist).
        let returns = [0.03, 0.01, 0.02, -0.05, 0.01, 0.02];
        let dsr = probabilistic_sharpe_ratio(&returns, sr0).unwrap();
        assert!((dsr - 0.30137621895973604).abs() < 1e-9, "{dsr}");
    }

    #[test]
    fn dsr_edge_cases() {
        assert!(SharpeTrials::new(0, 0.1).is_err());
        assert!(SharpeTrials::new(3, -0.1).is_err());
        assert_eq!(expected_max_sharpe(SharpeTrials::new(1, 0.5).unwrap()), 0.0);
        assert_eq!(
            expected_max_sharpe(SharpeTrials::new(50, 0.0).unwrap()),
            0.0
        );
        let with_trials = DeflatedSharpeRatio {
            trials: Some(SharpeTrials::new(10, 0.0).unwrap()),
        };
        assert_eq!(
            eval(&DeflatedSharpeRatio::default(), &flat_curve(), &[]),
            None
        );
        assert_eq!(eval(&with_trials, &flat_curve(), &[]), Some(0.5));
        assert_eq!(eval(&with_trials, &daily_curve(100.0, &[]), &[]), None);
    }
}
