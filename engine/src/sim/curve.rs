//! The equity curve: a row recorded at every close, followed by the portfolio rules
//! that read it; or, on an aligned grid without equity-based rules, the rows written in
//! blocks just before the portfolio changes (the deferred curve), which saves the marks
//! and the valuation at every close.

use gauntlet_strategies::strategy::Strategy;

use super::Simulator;
use crate::fill::SlippageModel;
use crate::risk::PortfolioAction;

impl<S: Strategy, Sl: SlippageModel> Simulator<'_, S, Sl> {
    /// At the close of `ts`, after every bar of it was marked: appends the equity curve
    /// row and runs the portfolio rules. Returns the equity and whether to flatten.
    #[inline(always)]
    pub(super) fn record_close(&mut self, ts: i64) -> (f64, bool) {
        let valuation = self.portfolio.valuation();
        self.curve.ts.push(ts);
        self.curve.equity.push(valuation.equity);
        self.curve.cash.push(self.portfolio.cash());
        self.curve.gross_exposure.push(valuation.gross_exposure);
        self.curve.net_exposure.push(valuation.net_exposure);
        let action = self
            .risk
            .check_portfolio(ts, valuation.equity, &mut self.events);
        (valuation.equity, action == PortfolioAction::Flatten)
    }

    /// With a deferred curve: writes the rows of the timestamps before `row` not yet
    /// written, valued as [`Self::record_close`] would have at their closes. Called
    /// before every change of the portfolio (a fill at bar `row`), so the positions and
    /// cash are those of all these rows, and every open position's mark at a row is
    /// that row's close (aligned grid: every symbol has a bar at every timestamp).
    pub(super) fn flush_curve(&mut self, row: usize) {
        let from = self.curve.len();
        if !self.deferred_curve || row <= from {
            return;
        }
        let (slots, curve) = (&self.slots, &mut self.curve);
        curve.ts.extend_from_slice(&slots[0].columns.ts[from..row]);
        curve
            .cash
            .extend(std::iter::repeat_n(self.portfolio.cash(), row - from));
        self.portfolio.valuations_into(
            row - from,
            |s| &slots[s].columns.close[from..row],
            &mut curve.equity,
            &mut curve.gross_exposure,
            &mut curve.net_exposure,
        );
    }
}

#[cfg(test)]
mod tests {
    use gauntlet_datasets::CandleSeries;
    use gauntlet_strategies::strategy::{SmaCross, SmaCrossConfig};

    use crate::{simulate, Distance, EngineConfig, RiskConfig, Sizing, SymbolInput};

    /// A zig-zag random walk, enough crosses and stops to compare runs.
    fn walk(seed: u64, bars: usize) -> CandleSeries {
        crate::testing::walk(seed, 0, bars, 0, 0.004, 0.0005)
    }

    /// The curve written in blocks (no equity-based rule) equals, bit for bit, the
    /// curve recorded at every close (forced by a circuit breaker that cannot trip),
    /// with flat, single-position and multi-position stretches.
    #[test]
    fn deferred_equity_curve_matches_the_curve_recorded_at_every_close() {
        for symbols in [1, 3] {
            let universe: Vec<_> = (0..symbols).map(|s| walk(s + 7, 2_000)).collect();
            let inputs: Vec<_> = universe.iter().map(SymbolInput::new).collect();
            let cross = SmaCrossConfig {
                fast: 4,
                slow: 9,
                allow_short: true,
            };
            let signals = SmaCross::new(cross, universe.iter().map(CandleSeries::close)).unwrap();
            let deferred = EngineConfig {
                risk: RiskConfig {
                    stop_loss: Some(Distance::Percent { percent: 0.2 }),
                    sizing: Sizing::FixedFraction { fraction: 0.3 },
                    ..RiskConfig::default()
                },
                ..EngineConfig::default()
            };
            let per_close = EngineConfig {
                risk: RiskConfig {
                    circuit_breaker: Some(crate::CircuitBreaker {
                        drawdown: 0.999,
                        cooldown_minutes: None,
                    }),
                    ..deferred.risk.clone()
                },
                ..deferred.clone()
            };
            let a = simulate(&deferred, &signals, &inputs).unwrap();
            let b = simulate(&per_close, &signals, &inputs).unwrap();
            assert!(a.trades.len() > 100, "{}", a.trades.len());
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(a.equity.ts, b.equity.ts);
            assert_eq!(a.equity.len(), 2_000);
            for (x, y) in [
                (&a.equity.equity, &b.equity.equity),
                (&a.equity.cash, &b.equity.cash),
                (&a.equity.gross_exposure, &b.equity.gross_exposure),
                (&a.equity.net_exposure, &b.equity.net_exposure),
            ] {
                assert_eq!(bits(x), bits(y), "{symbols} symbols");
            }
            assert_eq!(a.trades, b.trades);
        }
    }
}
