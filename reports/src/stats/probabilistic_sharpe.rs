//! Probabilistic Sharpe ratio (Bailey & López de Prado, 2012).

use statrs::distribution::{ContinuousCDF, Normal};

use super::{finite, mean, sample_std, PerformanceInput, Statistic};

/// Probabilistic Sharpe ratio: the probability that the true per-period Sharpe ratio
/// exceeds a benchmark SR*,
///
/// `PSR(SR*) = Φ( (ŜR − SR*) √(n − 1) / √(1 − γ̂₃ ŜR + (γ̂₄ − 1)/4 · ŜR²) )`
///
/// over the n daily returns r, with `ŜR = mean(r) / std(r, ddof = 1)` (per period, not
/// annualized), skewness `γ̂₃ = m₃ / m₂^{3/2}` and (non-excess) kurtosis `γ̂₄ = m₄ / m₂²`
/// from the population central moments `m_k = mean((r − r̄)^k)`, Φ the standard normal CDF
/// (statrs). Defined outputs: fewer than 2 returns → `None`; zero std with zero mean (flat
/// equity) → ŜR = 0 and the moment terms vanish: `Φ(−SR* √(n − 1))` (0.5 for SR* = 0);
/// zero std with non-zero mean → `None`; a non-positive radicand → `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProbabilisticSharpeRatio {
    /// Benchmark per-period Sharpe ratio SR* (0 = "better than nothing").
    pub benchmark_sharpe: f64,
}

impl Statistic for ProbabilisticSharpeRatio {
    fn name(&self) -> &'static str {
        "probabilistic_sharpe_ratio"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        probabilistic_sharpe_ratio(input.daily_returns().returns(), self.benchmark_sharpe)
    }
}

/// `PSR(SR*)` of `returns` as documented on [`ProbabilisticSharpeRatio`].
pub fn probabilistic_sharpe_ratio(returns: &[f64], benchmark_sharpe: f64) -> Option<f64> {
    let n = returns.len();
    if n < 2 || !benchmark_sharpe.is_finite() {
        return None;
    }
    let m = mean(returns)?;
    let std = sample_std(returns)?;
    let nf = n as f64;
    let radicand = if std == 0.0 {
        if m != 0.0 {
            return None;
        }
        1.0
    } else {
        let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
        for r in returns {
            let d = r - m;
            m2 += d * d;
            m3 += d * d * d;
            m4 += d * d * d * d;
        }
        let (m2, m3, m4) = (m2 / nf, m3 / nf, m4 / nf);
        let skewness = m3 / m2.powf(1.5);
        let kurtosis = m4 / (m2 * m2);
        let sr = m / std;
        1.0 - skewness * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    };
    if !(radicand > 0.0 && radicand.is_finite()) {
        return None;
    }
    let sr = if std == 0.0 { 0.0 } else { m / std };
    let z = (sr - benchmark_sharpe) * (nf - 1.0).sqrt() / radicand.sqrt();
    let normal = Normal::new(0.0, 1.0).ok()?;
    finite(normal.cdf(z))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;

    /// r = [0.03, 0.01, 0.02, −0.05, 0.01, 0.02], n = 6.
    const RETURNS: [f64; 6] = [0.03, 0.01, 0.02, -0.05, 0.01, 0.02];

    #[test]
    fn psr_matches_hand_computation() {
        // mean r̄ = 0.04 / 6 = 0.0066667; deviations d = [0.023333, 0.003333, 0.013333,
        //   −0.056667, 0.003333, 0.013333]; Σd² = 0.0041333.
        // std (ddof 1) = sqrt(0.0041333 / 5) = 0.0287518; ŜR = 0.0066667 / 0.0287518 = 0.2318694.
        // m₂ = 0.0041333 / 6 = 6.888889e-4; m₃ = −2.740741e-5; m₄ = 1.778519e-6.
        // γ̂₃ = m₃ / m₂^1.5 = −1.5158080; γ̂₄ = m₄ / m₂² = 3.7476587.
        // radicand = 1 − (−1.5158080)(0.2318694) + (3.7476587 − 1)/4 · 0.2318694² = 1.3884005.
        // z = 0.2318694 · √5 / √1.3884005 = 0.4400187; Φ(z) = 0.6700382267178167
        // (Python statistics.NormalDist().cdf).
        let psr = probabilistic_sharpe_ratio(&RETURNS, 0.0).unwrap();
        assert!((psr - 0.6700382267178167).abs() < 1e-9, "{psr}");
    }

    #[test]
    fn psr_edge_cases() {
        assert_eq!(probabilistic_sharpe_ratio(&[0.01], 0.0), None);
        assert_eq!(probabilistic_sharpe_ratio(&[0.0; 5], 0.0), Some(0.5));
        assert_eq!(probabilistic_sharpe_ratio(&[0.01; 5], 0.0), None);
        // All losses: the probability that the Sharpe ratio is positive is small.
        let psr = probabilistic_sharpe_ratio(&[-0.01, -0.02, -0.015, -0.03], 0.0).unwrap();
        assert!(psr < 0.01, "{psr}");
        // Through the trait: the flat curve's daily returns are all zero.
        assert_eq!(
            eval(&ProbabilisticSharpeRatio::default(), &flat_curve(), &[]),
            Some(0.5)
        );
        assert_eq!(
            eval(
                &ProbabilisticSharpeRatio::default(),
                &daily_curve(100.0, &[]),
                &[]
            ),
            None
        );
    }
}
