//! Turnover.

use super::{finite, PerformanceInput, Statistic};

/// Turnover over the run: traded notional over average equity,
/// `Σ_trades (entry_notional + exit_notional) / mean(E_initial, E_0 … E_{n−1})`.
/// 1.0 means the average capital was traded once (both legs counted). No trades → 0;
/// non-positive average equity → `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Turnover;

impl Statistic for Turnover {
    fn name(&self) -> &'static str {
        "turnover"
    }

    fn calculate(&self, input: &PerformanceInput<'_>) -> Option<f64> {
        let curve = input.equity();
        let equity_sum = curve.initial_equity() + curve.equity().iter().sum::<f64>();
        let average_equity = equity_sum / (curve.len() + 1) as f64;
        if average_equity <= 0.0 {
            return None;
        }
        let traded: f64 = input
            .trades()
            .iter()
            .map(|t| t.entry_notional + t.exit_notional)
            .sum();
        finite(traded / average_equity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::test_support::*;
    use crate::trades::{fixtures::trade, ExitReason::Signal};

    #[test]
    fn turnover_edge_cases() {
        let c = flat_curve();
        assert_eq!(eval(&Turnover, &c, &[]), Some(0.0));
        // 1000 in + 1000 out on an average equity of 100.
        assert_eq!(
            eval(&Turnover, &c, &[trade("A", 0, 1, 0.0, Signal)]),
            Some(20.0)
        );
        // Average equity over (100, 50, 0) = 50; legs 1000 + 990.
        let c = daily_curve(100.0, &[50.0, 0.0]);
        assert_eq!(
            eval(&Turnover, &c, &[trade("A", 0, 1, -10.0, Signal)]),
            Some(1990.0 / 50.0)
        );
    }
}
