//! The sleep/wake fast path of both loops over time. A symbol with no working order
//! sleeps until its strategy's next decision ([`Strategy::next_decision`]) or, holding
//! on an aligned grid with a deferred curve, until the first bar that may reach a
//! protective level or the time stop: the loop skips its bars meanwhile, and when it
//! wakes the open trade catches up on them.

use gauntlet_strategies::strategy::{PositionView, Strategy};

use super::slot::{OpenTrade, Slot};
use super::Simulator;
use crate::fill::SlippageModel;

/// The first bar whose open or range reaches outside the open interval
/// `(below, above)` of a quiet band (a bar with a NaN among them reaches too), over the
/// equally long `open`, `low` and `high`.
fn first_reaching(
    open: &[f64],
    low: &[f64],
    high: &[f64],
    (below, above): (f64, f64),
) -> Option<usize> {
    // Blocks are tested whole, without an early exit, so the test vectorizes; the first
    // block with a bar that reaches is then searched bar by bar.
    const BLOCK: usize = 8;
    // The quiet path's test, negated as a whole so that NaN reaches.
    let reaches = |o: f64, l: f64, h: f64| !((o > below) & (l > below) & (o < above) & (h < above));
    let blocks = open
        .chunks_exact(BLOCK)
        .zip(low.chunks_exact(BLOCK))
        .zip(high.chunks_exact(BLOCK));
    let quiet_blocks = blocks
        .take_while(|((o, l), h)| {
            let bars = o.iter().zip(*l).zip(*h);
            !bars.fold(false, |any, ((&o, &l), &h)| any | reaches(o, l, h))
        })
        .count();
    let mut bars = open.iter().zip(low).zip(high).skip(quiet_blocks * BLOCK);
    bars.position(|((&o, &l), &h)| reaches(o, l, h))
        .map(|k| quiet_blocks * BLOCK + k)
}

impl<St> Slot<'_, St> {
    /// At row `row`, after rows `asleep_from..row` were skipped: what the quiet path
    /// would have done to the open trade on them (ATR catches up by itself).
    #[inline(never)]
    pub(super) fn wake(&mut self, row: usize) {
        let slept = self.asleep_from..row;
        self.asleep_from = row;
        if let Some(t) = self.trade.as_mut() {
            let c = &self.columns;
            t.low_water = c.low[slept.clone()]
                .iter()
                .fold(t.low_water, |m, &x| m.min(x));
            t.high_water = c.high[slept.clone()]
                .iter()
                .fold(t.high_water, |m, &x| m.max(x));
            t.bars_held += slept.len();
        }
    }
}

impl<S: Strategy, Sl: SlippageModel> Simulator<'_, S, Sl> {
    /// At the close of bar `i` of symbol `s` (holding `position`), which has no working
    /// order: lets the symbol sleep until the first later bar at which anything but ATR
    /// (and, holding, the excursions and the bar count) can happen to it. Flat, that is
    /// the strategy's next decision. Holding, also the first bar whose open or range
    /// reaches the stop or target, and the time stop; not at all with a trailing stop (it
    /// moves at every close), with equity-based rules (they may flatten at any close) or
    /// off an aligned grid (the equity curve then marks every close).
    pub(super) fn sleep(&mut self, s: usize, i: usize, position: &PositionView) {
        let slot = &self.slots[s];
        let holding_may_sleep = |t: &OpenTrade| {
            self.deferred_curve
                && self.config.risk.trailing_stop.is_none()
                && t.checks_from_bar <= i + 1
        };
        // Checked before asking the strategy, whose answer may take a scan.
        if slot.trade.as_ref().is_some_and(|t| !holding_may_sleep(t)) {
            return;
        }
        let mut until = self.strategy.next_decision(s, i + 1, position);
        if let Some(t) = &slot.trade {
            if let Some(limit) = self.config.risk.time_stop_bars {
                // Its close at bar `i + limit − bars_held` reaches the limit.
                until = until.min(i + limit.saturating_sub(t.bars_held));
            }
            let c = &slot.columns;
            // (A hint before `i + 1` would be a strategy's error: then no sleep.)
            let ahead = i + 1..until.clamp(i + 1, c.ts.len());
            let busy = first_reaching(
                &c.open[ahead.clone()],
                &c.low[ahead.clone()],
                &c.high[ahead.clone()],
                t.quiet_band,
            );
            until = busy.map_or(ahead.end, |k| ahead.start + k);
        }
        if until > i + 1 {
            let slot = &mut self.slots[s];
            slot.asleep_from = i + 1;
            slot.asleep_until = until;
        }
    }
}

#[cfg(test)]
mod tests {
    use gauntlet_datasets::CandleSeries;
    use gauntlet_strategies::strategy::{
        BarContext, BuyAndHold, EnsembleThreshold, EnsembleThresholdConfig, ModelOutputs,
        OrderIntent, SmaCross, SmaCrossConfig, Strategy,
    };
    use proptest::prelude::*;
    use proptest::strategy::Strategy as _;

    use super::first_reaching;
    use crate::{simulate, Distance, EngineConfig, RampStep, Sizing, SymbolInput};

    proptest! {
        /// The block-wise scan finds the bar the plain scan finds, NaN included.
        #[test]
        fn first_reaching_finds_the_first_bar_outside_the_band(
            bars in prop::collection::vec(
                prop::array::uniform3(prop_oneof![50 => 1.0f64..3.0, 1 => Just(f64::NAN)]),
                0..40,
            ),
        ) {
            let band = (1.01, 2.99);
            let (open, low, high): (Vec<f64>, Vec<f64>, Vec<f64>) =
                bars.iter().map(|&[o, l, h]| (o, l, h)).collect();
            let expected = bars.iter().position(|&[o, l, h]| {
                !(o > band.0 && l > band.0 && o < band.1 && h < band.1)
            });
            prop_assert_eq!(first_reaching(&open, &low, &high, band), expected);
        }
    }

    /// `S` without its next-decision hint: asked at every bar, so the engine never lets
    /// a symbol sleep.
    struct AskedEveryBar<S>(S);

    impl<S: Strategy> Strategy for AskedEveryBar<S> {
        type State = S::State;

        fn name(&self) -> &'static str {
            self.0.name()
        }

        fn new_state(&self) -> S::State {
            self.0.new_state()
        }

        fn on_bar(&self, state: &mut S::State, ctx: &BarContext<'_>) -> Option<OrderIntent> {
            self.0.on_bar(state, ctx)
        }
    }

    /// `symbols` zig-zag random walks of 1m bars, enough crosses and stops to compare
    /// runs: on one grid (the aligned loop), or `unaligned`, each starting later and
    /// with every few bars missing (the merged loop).
    fn universe(seed: u64, symbols: u64, unaligned: bool) -> Vec<CandleSeries> {
        (0..symbols)
            .map(|s| {
                let (first_bar, gap) = if unaligned { (3 * s, 5 + s) } else { (0, 0) };
                crate::testing::walk(seed + s, first_bar as i64, 300, gap as usize, 0.004, 0.0005)
            })
            .collect()
    }

    /// Engine settings with or without stops (incl. the time stop), a trailing stop,
    /// an equity-based rule, a capital ramp and latency.
    fn engine_config() -> impl proptest::strategy::Strategy<Value = EngineConfig> {
        (prop::array::uniform4(prop::bool::ANY), 0usize..2).prop_map(
            |([stops, trailing, breaker, ramp], latency)| {
                let mut config = EngineConfig::default();
                config.fills.latency_bars = latency;
                config.fills.fees.taker_bps = 5.0;
                config.risk.sizing = Sizing::FixedFraction { fraction: 0.3 };
                if stops {
                    config.risk.atr_period = 5;
                    config.risk.stop_loss = Some(Distance::Atr { multiple: 1.0 });
                    config.risk.take_profit = Some(Distance::Percent { percent: 0.3 });
                    config.risk.time_stop_bars = Some(20);
                }
                if trailing {
                    config.risk.trailing_stop = Some(Distance::Atr { multiple: 2.0 });
                }
                if breaker {
                    config.risk.daily_drawdown_limit = Some(0.002);
                }
                if ramp {
                    config.risk.capital_ramp = vec![
                        RampStep {
                            after_minutes: 0,
                            fraction: 0.2,
                        },
                        RampStep {
                            after_minutes: 77,
                            fraction: 0.6,
                        },
                        RampStep {
                            after_minutes: 201,
                            fraction: 1.0,
                        },
                    ];
                }
                config
            },
        )
    }

    /// Letting symbols sleep until `strategy`'s next decision (or, holding, until a
    /// level or the time stop is reached), and skipping the rows at which every symbol
    /// sleeps, changes nothing: the run equals the one that asks at every bar. Returns
    /// the number of trades.
    fn sleeping_changes_nothing<S: Strategy>(
        config: &EngineConfig,
        strategy: S,
        inputs: &[SymbolInput<'_>],
    ) -> Result<usize, TestCaseError> {
        let sleeping = simulate(config, &strategy, inputs).unwrap();
        let awake = simulate(config, &AskedEveryBar(strategy), inputs).unwrap();
        // Debug strings: NaN (ATR warm-up) must compare equal to itself.
        prop_assert_eq!(format!("{sleeping:?}"), format!("{awake:?}"));
        Ok(sleeping.trades.len())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        #[test]
        fn sma_cross_asleep_equals_asked_every_bar(
            config in engine_config(),
            symbols in 1u64..4,
            unaligned in prop::bool::ANY,
            seed in 1u64..1000,
            fast in 1usize..4,
            longer in 1usize..6,
            allow_short in prop::bool::ANY,
        ) {
            let universe = universe(seed, symbols, unaligned);
            let inputs: Vec<_> = universe.iter().map(SymbolInput::new).collect();
            let cross = SmaCrossConfig { fast, slow: fast + longer, allow_short };
            let strategy = SmaCross::new(cross, universe.iter().map(CandleSeries::close)).unwrap();
            prop_assert!(sleeping_changes_nothing(&config, strategy, &inputs)? > 0);
        }

        #[test]
        fn ensemble_threshold_asleep_equals_asked_every_bar(
            config in engine_config(),
            predictions in prop::collection::vec(
                prop::collection::vec((0.0f32..1.0, 0.0f32..1.0, prop::bool::weighted(0.7)), 300),
                1..4,
            ),
            unaligned in prop::bool::ANY,
            seed in 1u64..1000,
            exit_below in 0.0f32..0.4,
            max_holding_bars in prop::option::of(1usize..30),
            allow_short in prop::bool::ANY,
        ) {
            let universe = universe(seed, predictions.len() as u64, unaligned);
            // One row per bar; class order [down, flat, up]; consensus 0.9 where the
            // members agree.
            let rows = |k: usize| &predictions[k][..universe[k].len()];
            let probabilities: Vec<Vec<f32>> = (0..universe.len())
                .map(|k| rows(k).iter().flat_map(|&(up, down, _)| [down, 0.0, up]).collect())
                .collect();
            let consensus: Vec<Vec<f32>> = (0..universe.len())
                .map(|k| rows(k).iter().map(|&(.., agreed)| if agreed { 0.9 } else { 0.1 }).collect())
                .collect();
            let models: Vec<_> = probabilities
                .iter()
                .zip(&consensus)
                .map(|(p, c)| ModelOutputs::new(p, 3, c, 2, 0).unwrap())
                .collect();
            let inputs: Vec<_> = universe
                .iter()
                .zip(&models)
                .map(|(candles, &model)| SymbolInput { model: Some(model), ..SymbolInput::new(candles) })
                .collect();
            let thresholds = EnsembleThresholdConfig {
                enter: 0.8,
                min_consensus: 0.5,
                exit_below,
                max_holding_bars,
                allow_short,
            };
            let strategy = EnsembleThreshold::new(thresholds, models.iter().copied().map(Some)).unwrap();
            prop_assert!(sleeping_changes_nothing(&config, strategy, &inputs)? > 0);
        }

        #[test]
        fn buy_and_hold_asleep_equals_asked_every_bar(
            config in engine_config(),
            symbols in 1u64..4,
            unaligned in prop::bool::ANY,
            seed in 1u64..1000,
        ) {
            let universe = universe(seed, symbols, unaligned);
            let inputs: Vec<_> = universe.iter().map(SymbolInput::new).collect();
            // Its one entry may be refused (an ATR stop before ATR exists): no trade.
            sleeping_changes_nothing(&config, BuyAndHold, &inputs)?;
        }
    }
}
