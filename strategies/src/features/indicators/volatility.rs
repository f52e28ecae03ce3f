//! The causal volatility regime: `volatility_low`, `volatility_medium`,
//! `volatility_high`.

use gauntlet_kernels::lanes::{count_below, ln_lanes, LaneBar};

use crate::features::indicators::{Family, Machine};
use crate::features::params::{int, window, window_named, Builder, ParamSpec, ParamValue, Params};
use crate::features::primitives::{flag, per_lane, Lanes, RollingWindow};
use crate::features::stream::{Block, Planner, Slot};

/// One-hot of the causal volatility regime: `vol_i` = population std of the last
/// `window` log returns `ln(close_i/close_{i−1})`; with `b` = the number of the
/// `history` previous `vol` values strictly below `vol_i`: low if `3b < history`,
/// high if `3b ≥ 2·history`, else medium. Warm-up: window + history bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Volatility {
    pub class: VolatilityClass,
    pub window: usize,
    pub history: usize,
}

/// Which class of the volatility-regime one-hot a feature is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolatilityClass {
    Low,
    Medium,
    High,
}

const PARAMS: &[ParamSpec] = &[window(20), window_named("history", 100)];

impl Volatility {
    fn build(class: VolatilityClass, p: &Params<'_>) -> Result<Self, String> {
        Ok(Volatility {
            class,
            window: p.window("window")?,
            history: p.window("history")?,
        })
    }
}

impl Family for Volatility {
    const FAMILIES: &'static [Builder<Self>] = &[
        Builder::new("volatility_low", PARAMS, None, |p| {
            Volatility::build(VolatilityClass::Low, p)
        }),
        Builder::new("volatility_medium", PARAMS, None, |p| {
            Volatility::build(VolatilityClass::Medium, p)
        }),
        Builder::new("volatility_high", PARAMS, None, |p| {
            Volatility::build(VolatilityClass::High, p)
        }),
    ];

    fn family(&self) -> &'static str {
        match self.class {
            VolatilityClass::Low => "volatility_low",
            VolatilityClass::Medium => "volatility_medium",
            VolatilityClass::High => "volatility_high",
        }
    }

    fn params(&self) -> Vec<(&'static str, ParamValue)> {
        vec![("history", int(self.history)), ("window", int(self.window))]
    }

    fn warmup_bars(&self) -> usize {
        self.window + self.history
    }

    type State<const L: usize> = VolatilityRegime<L>;

    fn state<const L: usize>(&self) -> VolatilityRegime<L> {
        VolatilityRegime::new(self.window, self.history)
    }

    /// The slot of the regime's code and the code of the feature's class.
    type Column = (Slot, f64);

    fn compile(&self, plan: &mut Planner) -> (Slot, f64) {
        // The three classes of equal parameters share one state.
        let state = Volatility {
            class: VolatilityClass::Low,
            ..*self
        };
        let class = match self.class {
            VolatilityClass::Low => Regime::Low,
            VolatilityClass::Medium => Regime::Medium,
            VolatilityClass::High => Regime::High,
        };
        (plan.machine(state.into()), class.code())
    }

    #[inline(always)]
    fn column<const L: usize>(
        &(regime, class): &(Slot, f64),
        block: &Block<L>,
        mut put: impl FnMut(usize, Lanes<L>),
    ) {
        // `r·0` is 0, or NaN while the regime is undefined: no branch.
        block.each(regime, &mut put, |r| flag(r == class) + r * 0.0);
    }
}

/// The state of the causal volatility regime (see [`Volatility`]).
///
/// `r_i = ln(close_i / close_{i−1})` (by `gauntlet_kernels::lanes::ln`, the same bits on
/// every platform); `vol_i` = population std of the last `window` returns (exact
/// two-pass); the regime at bar i compares `vol_i` with the `history` previous values
/// `vol_{i−history} .. vol_{i−1}`:
/// `b = #{ v : v < vol_i }`, low if `3b < history`, high if `3b ≥ 2·history`,
/// medium otherwise. Defined from bar `window + history` on (bar 0 has no return).
///
/// `b` is counted over the `history` previous values on every bar: a branch-free
/// comparison per value, vectorized (see [`count_below`]). With one lane that cost
/// about as many instructions as keeping a sorted copy (two binary searches and a
/// shift per bar); counting is simpler and has no data-dependent branches. A NaN volatility (only from
/// overflowing returns) is never below anything and counts nothing.
#[derive(Debug, Clone)]
pub(crate) struct VolatilityRegime<const L: usize> {
    /// Closes seen (the first has no return).
    closes: usize,
    prev_close: Lanes<L>,
    returns: RollingWindow<L>,
    /// The last `history` volatilities, a ring in arrival order.
    history: Vec<Lanes<L>>,
    history_next: usize,
    history_filled: usize,
    /// Per lane, the [`Regime::code`] of the current regime.
    regime: Lanes<L>,
}

/// The tercile a bar's volatility falls into (`Undefined` during warm-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Regime {
    Undefined,
    Low,
    Medium,
    High,
}

impl Regime {
    /// The regime as a number: NaN while undefined, then 0, 1, 2 for low, medium, high.
    pub(crate) fn code(self) -> f64 {
        match self {
            Regime::Undefined => f64::NAN,
            Regime::Low => 0.0,
            Regime::Medium => 1.0,
            Regime::High => 2.0,
        }
    }
}

impl<const L: usize> VolatilityRegime<L> {
    pub(crate) fn new(window: usize, history: usize) -> Self {
        Self {
            closes: 0,
            prev_close: [f64::NAN; L],
            returns: RollingWindow::new(window),
            history: vec![[0.0; L]; history.max(1)],
            history_next: 0,
            history_filled: 0,
            regime: [Regime::Undefined.code(); L],
        }
    }

    #[inline(always)]
    pub(crate) fn update(&mut self, close: Lanes<L>) {
        self.closes += 1;
        if self.closes == 1 {
            self.prev_close = close;
            return;
        }
        self.returns
            .push(ln_lanes(per_lane(|l| close[l] / self.prev_close[l])));
        self.prev_close = close;
        if !self.returns.is_full() {
            return;
        }
        let vol = self.returns.population_std();
        let len = self.history.len();
        if self.history_filled == len {
            let below = count_below(&self.history, vol);
            let len = len as f64;
            self.regime = per_lane(|l| {
                let thirds = 3.0 * below[l];
                if thirds < len {
                    Regime::Low.code()
                } else if thirds >= 2.0 * len {
                    Regime::High.code()
                } else {
                    Regime::Medium.code()
                }
            });
        } else {
            self.history_filled += 1;
        }
        self.history[self.history_next] = vol;
        self.history_next += 1;
        if self.history_next == len {
            self.history_next = 0;
        }
    }

    /// Per lane, the [`Regime::code`] of the last bar's regime.
    pub(crate) fn regime(&self) -> Lanes<L> {
        self.regime
    }
}

impl<const L: usize> Machine<L> for VolatilityRegime<L> {
    const OUTPUTS: usize = 1;

    #[inline(always)]
    fn on_bar(&mut self, bar: &LaneBar<L>) {
        self.update(bar.close);
    }

    #[inline(always)]
    fn outputs(&self, mut put: impl FnMut(usize, Lanes<L>)) {
        put(0, self.regime());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The regime by its definition: count the previous `history` vols below.
    fn regimes_by_counting(closes: &[f64], window: usize, history: usize) -> Vec<Regime> {
        let mut returns = RollingWindow::<1>::new(window);
        let mut vols: Vec<f64> = vec![];
        let mut out = vec![Regime::Undefined];
        let mut regime = Regime::Undefined;
        for pair in closes.windows(2) {
            returns.push([(pair[1] / pair[0]).ln()]);
            if returns.is_full() {
                let [vol] = returns.population_std();
                if vols.len() >= history {
                    let previous = &vols[vols.len() - history..];
                    let below = previous.iter().filter(|&&v| v < vol).count();
                    regime = if 3 * below < history {
                        Regime::Low
                    } else if 3 * below >= 2 * history {
                        Regime::High
                    } else {
                        Regime::Medium
                    };
                }
                vols.push(vol);
            }
            out.push(regime);
        }
        out
    }

    #[test]
    fn volatility_regime_equals_counting_with_ties_and_nan_vols() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut close = 100.0;
        let closes: Vec<f64> = (0..20_000)
            .map(|i| {
                // Flat stretches give runs of equal (zero) vols; a jump from 1e-300
                // to 1e300 overflows the return to +inf and the vols to NaN.
                if i % 5_000 == 4_000 {
                    return 1e-300;
                }
                if i % 5_000 == 4_001 {
                    return 1e300;
                }
                if rng.gen_bool(0.7) {
                    close *= 1.0 + rng.gen_range(-0.01..0.01);
                }
                close
            })
            .collect();
        for (window, history) in [(20, 100), (2, 3), (5, 1), (3, 7)] {
            let expected = regimes_by_counting(&closes, window, history);
            // One lane, and four (whose counting loop has another shape).
            let mut regime = VolatilityRegime::<1>::new(window, history);
            let mut lanes = VolatilityRegime::<4>::new(window, history);
            for (i, &c) in closes.iter().enumerate() {
                regime.update([c]);
                lanes.update([c; 4]);
                let code = expected[i].code().to_bits();
                assert_eq!(
                    regime.regime()[0].to_bits(),
                    code,
                    "({window}, {history}) bar {i}"
                );
                for l in 0..4 {
                    assert_eq!(lanes.regime()[l].to_bits(), code, "lane {l} bar {i}");
                }
            }
        }
    }

    #[test]
    fn volatility_regime_classifies_against_its_own_history() {
        let mut regime = VolatilityRegime::<1>::new(2, 3);
        for _ in 0..5 {
            regime.update([100.0]);
        }
        assert!(regime.regime()[0].is_nan(), "undefined");
        regime.update([100.0]);
        // Vols at bars 2..=5 are all 0: none strictly below → low.
        assert_eq!(regime.regime(), [Regime::Low.code()]);
        regime.update([110.0]);
        assert_eq!(regime.regime(), [Regime::High.code()]);
    }
}
