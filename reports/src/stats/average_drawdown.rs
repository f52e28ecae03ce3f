//! Average drawdown.

use super::{PerformanceInput, Statistic};

/// Average drawdown depth over episodes: `(1 / K) Σ_k depth_k` for the K drawdown episodes
/// of [`crate::series::EquitySeries::drawdown_episodes`] (each episode's deepest point, as a
/// positive fraction of its peak). No drawdown → 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct AverageDrawdown;

impl Statistic for AverageDrawdown {
    fn name(&self) -> &'static str {
        "average_drawdown"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        let episodes = input.equity().drawdown_episodes();
        if episodes.is_empty() {
            return Some(0.0);
        }
        super::finite(episodes.iter().map(|e| e.depth).sum::<f64>() / episodes.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;

    #[test]
    fn average_drawdown_edge_cases() {
        assert_eq!(
            eval(&AverageDrawdown, &daily_curve(100.0, &[]), &[]),
            Some(0.0)
        );
        assert_eq!(eval(&AverageDrawdown, &flat_curve(), &[]), Some(0.0));
        // Episodes of depth 10% and 20%.
        let v = eval(
            &AverageDrawdown,
            &daily_curve(100.0, &[90.0, 120.0, 96.0, 130.0]),
            &[],
        )
        .unwrap();
        assert!((v - 0.15).abs() < 1e-15);
        // All losses: one unrecovered episode of depth 30%.
        let v = eval(
            &AverageDrawdown,
            &daily_curve(100.0, &[90.0, 80.0, 70.0]),
            &[],
        )
        .unwrap();
        assert!((v - 0.3).abs() < 1e-15);
    }
}
