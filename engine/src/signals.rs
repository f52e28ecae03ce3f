//! Precomputed signals: a strategy whose decisions were made before the run, one
//! [`Signal`] per bar per symbol (the way vectorbt is given entry/exit arrays), so a
//! benchmark or a sweep over risk settings measures the simulator alone.

use gauntlet_datasets::CandleSeries;
use gauntlet_strategies::strategy::{
    Bar, BarContext, EntryIntent, OrderIntent, PositionView, Side, SmaCross, SmaCrossConfig,
    Strategy,
};

/// What the signal source saw at the close of a bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Signal {
    #[default]
    None,
    /// Upward cross (bullish).
    Up,
    /// Downward cross (bearish).
    Down,
}

/// Trades precomputed [`Signal`] columns (`columns[symbol][bar]`) exactly as
/// [`SmaCross`] trades its crosses: `Up` ⇒ enter long unless already long (a short is
/// closed first); `Down` ⇒ enter short unless already short when `allow_short`, else
/// exit a long. A bar beyond its symbol's column has no signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalColumns {
    columns: Vec<Vec<Signal>>,
    allow_short: bool,
}

impl SignalColumns {
    pub fn new(columns: Vec<Vec<Signal>>, allow_short: bool) -> Self {
        Self {
            columns,
            allow_short,
        }
    }

    /// The crosses [`SmaCross`] with `config` would see on each series' closes, with
    /// the same arithmetic (so a run with these signals makes the same trades as a run
    /// with the strategy itself).
    pub fn sma_cross(config: SmaCrossConfig, series: &[CandleSeries]) -> Result<Self, SmaError> {
        // Flat and allowed to short, the strategy reports every cross: `Enter(Long)` on
        // an upward one, `Enter(Short)` on a downward one.
        let probe = SmaCross::new(SmaCrossConfig {
            allow_short: true,
            ..config
        })?;
        let columns = series
            .iter()
            .enumerate()
            .map(|(s, candles)| {
                let mut state = probe.new_state();
                (0..candles.len())
                    .map(|i| {
                        let ctx = BarContext {
                            symbol_index: s,
                            bar_index: i,
                            bar: Bar {
                                ts: candles.ts()[i],
                                open: candles.open()[i],
                                high: candles.high()[i],
                                low: candles.low()[i],
                                close: candles.close()[i],
                                volume: candles.volume()[i],
                            },
                            features: None,
                            model: None,
                            position: PositionView::default(),
                        };
                        match probe.on_bar(&mut state, &ctx) {
                            Some(OrderIntent::Enter(e)) if e.side == Side::Long => Signal::Up,
                            Some(OrderIntent::Enter(_)) => Signal::Down,
                            _ => Signal::None,
                        }
                    })
                    .collect()
            })
            .collect();
        Ok(Self::new(columns, config.allow_short))
    }

    /// `columns[symbol][bar]`.
    pub fn columns(&self) -> &[Vec<Signal>] {
        &self.columns
    }
}

/// Invalid SMA parameters.
pub type SmaError = gauntlet_strategies::strategy::ConfigError;

impl Strategy for SignalColumns {
    type State = ();

    fn name(&self) -> &'static str {
        "signal_columns"
    }

    fn new_state(&self) {}

    #[inline]
    fn on_bar(&self, _state: &mut (), ctx: &BarContext<'_>) -> Option<OrderIntent> {
        let signal = self
            .columns
            .get(ctx.symbol_index)
            .and_then(|c| c.get(ctx.bar_index))
            .copied()
            .unwrap_or_default();
        // `PositionView::side` spelled out: long ⇔ quantity > 0, short ⇔ quantity < 0.
        let quantity = ctx.position.quantity;
        match signal {
            Signal::None => None,
            Signal::Up => (quantity <= 0.0 || quantity.is_nan())
                .then_some(OrderIntent::Enter(EntryIntent::market(Side::Long))),
            Signal::Down if self.allow_short => (quantity >= 0.0 || quantity.is_nan())
                .then_some(OrderIntent::Enter(EntryIntent::market(Side::Short))),
            Signal::Down => (quantity > 0.0).then_some(OrderIntent::Exit),
        }
    }

    /// The next bar whose signal makes an intent for the position held (`usize::MAX`
    /// when there is none): flat, `Up` and (when shorting is allowed) `Down`; long,
    /// `Down`; short, `Up`.
    #[inline]
    fn next_decision(&self, symbol_index: usize, from: usize, held: Option<Side>) -> usize {
        let rest = self
            .columns
            .get(symbol_index)
            .and_then(|column| column.get(from..))
            .unwrap_or_default();
        // The signals that act (one or two): `Up` unless long, `Down` when long or
        // (flat) when shorting is allowed.
        let (a, b) = match held {
            None if self.allow_short => (Signal::Up, Signal::Down),
            None | Some(Side::Short) => (Signal::Up, Signal::Up),
            Some(Side::Long) => (Signal::Down, Signal::Down),
        };
        let acts = |signal: Signal| (signal == a) | (signal == b);
        // Blocks are tested whole, without an early exit, so the test vectorizes.
        const BLOCK: usize = 32;
        let quiet_blocks = rest
            .chunks_exact(BLOCK)
            .take_while(|block| !block.iter().fold(false, |any, &s| any | acts(s)))
            .count();
        let rest = &rest[quiet_blocks * BLOCK..];
        rest.iter()
            .position(|&s| acts(s))
            .map_or(usize::MAX, |k| from + quiet_blocks * BLOCK + k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{simulate, Distance, EngineConfig, RiskConfig, Sizing, SymbolInput};

    /// A zig-zag random walk, enough crosses and stops to compare runs.
    fn walk(seed: u64, bars: usize) -> CandleSeries {
        crate::testing::walk(seed, 0, bars, 0, 0.004, 0.0005)
    }

    #[test]
    fn precomputed_crosses_trade_exactly_like_the_strategy() {
        let universe: Vec<_> = (0..3).map(|s| walk(s + 1, 3_000)).collect();
        let inputs: Vec<_> = universe.iter().map(SymbolInput::new).collect();
        for allow_short in [false, true] {
            let sma = SmaCrossConfig {
                fast: 5,
                slow: 12,
                allow_short,
            };
            let config = EngineConfig {
                risk: RiskConfig {
                    stop_loss: Some(Distance::Percent { percent: 0.3 }),
                    sizing: Sizing::FixedFraction { fraction: 0.3 },
                    ..RiskConfig::default()
                },
                ..EngineConfig::default()
            };
            let direct = simulate(&config, &SmaCross::new(sma).unwrap(), &inputs).unwrap();
            let signals = SignalColumns::sma_cross(sma, &universe).unwrap();
            let given = simulate(&config, &signals, &inputs).unwrap();
            assert!(direct.trades.len() > 100, "{}", direct.trades.len());
            assert_eq!(given.strategy, "signal_columns");
            assert_eq!(
                crate::RunResult {
                    strategy: direct.strategy.clone(),
                    ..given
                },
                direct
            );
        }
    }

    /// The curve written in blocks (no equity-based rule) equals, bit for bit, the
    /// curve recorded at every close (forced by a circuit breaker that cannot trip),
    /// with flat, single-position and multi-position stretches.
    #[test]
    fn deferred_equity_curve_matches_the_curve_recorded_at_every_close() {
        for symbols in [1, 3] {
            let universe: Vec<_> = (0..symbols).map(|s| walk(s + 7, 2_000)).collect();
            let inputs: Vec<_> = universe.iter().map(SymbolInput::new).collect();
            let signals = SignalColumns::sma_cross(
                SmaCrossConfig {
                    fast: 4,
                    slow: 9,
                    allow_short: true,
                },
                &universe,
            )
            .unwrap();
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

    /// The same signals without [`Strategy::next_decision`]: asked at every
    /// bar, so the engine never lets a symbol sleep.
    struct AskedEveryBar(SignalColumns);

    impl Strategy for AskedEveryBar {
        type State = ();

        fn name(&self) -> &'static str {
            self.0.name()
        }

        fn new_state(&self) {}

        fn on_bar(&self, state: &mut (), ctx: &BarContext<'_>) -> Option<OrderIntent> {
            self.0.on_bar(state, ctx)
        }
    }

    fn signal() -> impl proptest::strategy::Strategy<Value = Signal> {
        use proptest::prelude::*;
        prop_oneof![20 => Just(Signal::None), 1 => Just(Signal::Up), 1 => Just(Signal::Down)]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 128, ..Default::default() })]

        /// Skipping a symbol's bars until its next signal (or, holding, until a level or
        /// the time stop is reached), and the rows at which every symbol sleeps, changes
        /// nothing, with or without stops, shorts, latency, a capital ramp and
        /// equity-based rules.
        #[test]
        fn sleeping_until_the_next_signal_changes_nothing(
            columns in proptest::collection::vec(proptest::collection::vec(signal(), 300), 1..4),
            seed in 1u64..1000,
            allow_short in proptest::bool::ANY,
            stops in proptest::bool::ANY,
            trailing in proptest::bool::ANY,
            breaker in proptest::bool::ANY,
            ramp in proptest::bool::ANY,
            latency in 0usize..2,
        ) {
            let universe: Vec<_> = (0..columns.len() as u64).map(|s| walk(seed + s, 300)).collect();
            let inputs: Vec<_> = universe.iter().map(SymbolInput::new).collect();
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
                    crate::RampStep { after_minutes: 0, fraction: 0.2 },
                    crate::RampStep { after_minutes: 77, fraction: 0.6 },
                    crate::RampStep { after_minutes: 201, fraction: 1.0 },
                ];
            }
            let signals = SignalColumns::new(columns, allow_short);
            let sleeping = simulate(&config, &signals, &inputs).unwrap();
            let awake = simulate(&config, &AskedEveryBar(signals), &inputs).unwrap();
            proptest::prop_assert!(!sleeping.trades.is_empty());
            // Debug strings: NaN (ATR warm-up) must compare equal to itself.
            proptest::prop_assert_eq!(format!("{sleeping:?}"), format!("{awake:?}"));
        }
    }

    #[test]
    fn bars_without_a_column_have_no_signal() {
        let signals = SignalColumns::new(vec![vec![Signal::Up]], false);
        let ctx = |symbol_index, bar_index| BarContext {
            symbol_index,
            bar_index,
            bar: Bar {
                ts: 0,
                open: 1.0,
                high: 1.0,
                low: 1.0,
                close: 1.0,
                volume: 1.0,
            },
            features: None,
            model: None,
            position: PositionView::default(),
        };
        assert!(signals.on_bar(&mut (), &ctx(0, 0)).is_some());
        assert_eq!(signals.on_bar(&mut (), &ctx(0, 1)), None);
        assert_eq!(signals.on_bar(&mut (), &ctx(1, 0)), None);
    }
}
