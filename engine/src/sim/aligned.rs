//! The loop over time when every symbol has the same timestamps: timestamp `row` is bar
//! `row` of every symbol, so it needs no merge and no cursor per symbol. Only this loop
//! defers the equity curve (`curve.rs`), lets holding symbols sleep and skips the rows
//! at which every symbol sleeps (`sleep.rs`); the test here checks it against the
//! general loop (`merged.rs`).

use gauntlet_strategies::strategy::Strategy;

use super::columns::PREFETCH_ROWS;
use super::{Simulator, Slot};
use crate::fill::SlippageModel;

impl<S: Strategy, Sl: SlippageModel> Simulator<'_, S, Sl> {
    /// Every symbol has the same timestamps: timestamp `row` is bar `row` of every
    /// symbol, so the loop needs no merge and no per-symbol cursor. Returns the candles.
    pub(super) fn run_aligned(&mut self) -> u64 {
        let timestamps = self.slots[0].columns.ts;
        let symbols = self.slots.len();
        // Equity only changes through fills (at the open or intrabar) and the marks at
        // the close, so the equity carried into a timestamp is the one recorded at the
        // previous close.
        let mut carried = self.portfolio.equity();
        // When every symbol sleeps, the rows until the first wakes can be skipped as a
        // whole, unless a timestamp's start can record something: the capital ramp's
        // steps or the equity-based rules.
        let skip_rows = self.deferred_curve && self.config.risk.capital_ramp.is_empty();
        let (mut row, mut prefetched_to) = (0, 0);
        while let Some(&ts) = timestamps.get(row) {
            if row >= prefetched_to {
                for s in 0..symbols {
                    self.prefetch(s, row + PREFETCH_ROWS);
                }
                prefetched_to = row + 8;
            }
            self.risk.begin_timestamp(ts, carried, &mut self.events);
            for s in 0..symbols {
                let slot = &mut self.slots[s];
                if slot.asleep_until > row {
                    continue;
                }
                if slot.asleep_until == row && slot.asleep_from < row {
                    slot.wake(row);
                }
                self.open_bar(s, row);
            }
            for s in 0..symbols {
                if self.slots[s].asleep_until <= row {
                    self.intrabar(s, row);
                }
            }
            if !self.deferred_curve {
                for (s, slot) in self.slots.iter().enumerate() {
                    // Asleep here means flat without orders (`sleep.rs`): nothing to mark.
                    if slot.asleep_until <= row {
                        self.portfolio.set_mark(s, slot.columns.close[row]);
                    }
                }
                let (equity, flatten) = self.record_close(ts);
                carried = equity;
                if flatten {
                    for slot in &mut self.slots {
                        slot.last_bar = Some(row);
                    }
                    self.flatten_all(ts);
                }
            }
            for s in 0..symbols {
                if self.slots[s].asleep_until <= row {
                    self.close_bar(s, ts, row);
                }
            }
            let sleeping = |slot: &Slot<'_, S::State>| slot.asleep_until > row + 1;
            row = if skip_rows && self.slots.iter().all(sleeping) {
                let first_awake = self.slots.iter().map(|slot| slot.asleep_until).min();
                first_awake.unwrap_or(usize::MAX)
            } else {
                row + 1
            };
        }
        self.flush_curve(timestamps.len());
        for slot in &mut self.slots {
            // Still asleep: an open trade is closed at the end of data.
            if slot.asleep_until >= timestamps.len() && slot.asleep_from < timestamps.len() {
                slot.wake(timestamps.len());
            }
            slot.cursor = timestamps.len();
            slot.last_bar = timestamps.len().checked_sub(1);
        }
        (symbols * timestamps.len()) as u64
    }
}

#[cfg(test)]
mod tests {
    use gauntlet_datasets::{CandleSeries, Interval};
    use gauntlet_strategies::strategy::{SmaCross, SmaCrossConfig};
    use proptest::prelude::*;

    use crate::config::{Distance, EngineConfig, Sizing};
    use crate::fill::SlippageChoice;
    use crate::sim::{Simulator, SymbolInput};

    /// Symbols on one grid of 1m bars from `(return, range)` steps.
    fn aligned_universe(steps: &[Vec<(f64, f64)>]) -> Vec<CandleSeries> {
        steps
            .iter()
            .enumerate()
            .map(|(k, steps)| {
                let mut series = CandleSeries::with_capacity(format!("S{k}"), Interval::M1, 0);
                let mut close = 100.0;
                for (i, &(ret, range)) in steps.iter().enumerate() {
                    let open = close;
                    close = open * (1.0 + ret);
                    let high = open.max(close) * (1.0 + range);
                    let low = open.min(close) * (1.0 - range);
                    series.push(i as i64 * 60_000, open, high, low, close, 1e6);
                }
                series
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// On a shared grid the aligned loop (and its deferred curve and marks) gives
        /// exactly what the general merged loop gives.
        #[test]
        fn aligned_loop_equals_merged_loop(
            bars in 40usize..120,
            steps in prop::collection::vec(prop::collection::vec((-0.03f64..0.03, 0.0f64..0.02), 120), 1..4),
            stops in prop::bool::ANY,
            breaker in prop::bool::ANY,
            latency in 0usize..2,
        ) {
            let steps: Vec<Vec<_>> = steps.into_iter().map(|s| s[..bars].to_vec()).collect();
            let universe = aligned_universe(&steps);
            let inputs: Vec<SymbolInput<'_>> = universe.iter().map(SymbolInput::new).collect();
            let mut config = EngineConfig::default();
            config.fills.latency_bars = latency;
            config.fills.fees.taker_bps = 5.0;
            config.risk.sizing = Sizing::FixedFraction { fraction: 0.4 };
            config.risk.max_gross_exposure = 1.5;
            if stops {
                config.risk.atr_period = 3;
                config.risk.stop_loss = Some(Distance::Atr { multiple: 1.2 });
                config.risk.take_profit = Some(Distance::Percent { percent: 2.0 });
                config.risk.time_stop_bars = Some(9);
            }
            if breaker {
                config.risk.daily_drawdown_limit = Some(0.03);
            }
            let cross = SmaCrossConfig { fast: 3, slow: 7, allow_short: true };
            let strategy = SmaCross::new(cross, universe.iter().map(CandleSeries::close)).unwrap();
            let run = |aligned: bool| {
                let SlippageChoice::None(slippage) = SlippageChoice::from(config.fills.slippage) else {
                    unreachable!("no slippage configured")
                };
                Simulator::new(&config, &strategy, &inputs, slippage, aligned).run()
            };
            let (aligned, merged) = (run(true), run(false));
            prop_assert!(!aligned.trades.is_empty() || bars < 60, "the strategy trades");
            // Debug strings: NaN (ATR warm-up) must compare equal to itself.
            prop_assert_eq!(format!("{aligned:?}"), format!("{merged:?}"));
        }
    }
}
