//! Moving-average crossover, computing its two simple moving averages causally.

use serde::{Deserialize, Serialize};

use super::{
    first_acting, BarContext, ConfigError, EntryIntent, FieldError, OrderIntent, PositionView,
    Side, Strategy,
};

/// Parameters of [`SmaCross`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmaCrossConfig {
    /// Bars in the fast SMA. Default 10.
    #[serde(default = "default_fast")]
    pub fast: usize,
    /// Bars in the slow SMA; must exceed `fast`. Default 30.
    #[serde(default = "default_slow")]
    pub slow: usize,
    /// Go short on a downward cross (otherwise only exit the long). Default false.
    #[serde(default)]
    pub allow_short: bool,
}

fn default_fast() -> usize {
    10
}

fn default_slow() -> usize {
    30
}

impl Default for SmaCrossConfig {
    fn default() -> Self {
        Self {
            fast: default_fast(),
            slow: default_slow(),
            allow_short: false,
        }
    }
}

impl SmaCrossConfig {
    /// Collects every invalid field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut errors = Vec::new();
        if self.fast == 0 {
            errors.push(FieldError::new("fast", "must be at least 1"));
        }
        if self.slow <= self.fast {
            errors.push(FieldError::new(
                "slow",
                format!(
                    "must be greater than fast ({}), got {}",
                    self.fast, self.slow
                ),
            ));
        }
        ConfigError::check(errors)
    }
}

/// SMA crossover. With `fast_t = mean(close[t-fast+1..=t])` and likewise `slow_t`:
/// * upward cross at bar t ⇔ `fast_{t-1} < slow_{t-1}` and `fast_t > slow_t` (strict,
///   as backtesting.py's `crossover`) ⇒ enter long (a short is closed first);
/// * downward cross ⇔ `fast_{t-1} > slow_{t-1}` and `fast_t < slow_t` ⇒ enter short when
///   `allow_short`, else exit the long.
///
/// The first cross can be seen at bar `slow` (0-based), when both averages exist on two
/// consecutive bars. Each bar's cross depends on the closes up to it alone, so the
/// crosses of every symbol are found once, when the strategy is made: the engine then
/// skips the bars between them ([`Strategy::next_decision`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmaCross {
    config: SmaCrossConfig,
    /// `crosses[symbol][bar]`.
    crosses: Vec<Vec<Cross>>,
}

impl SmaCross {
    /// Validates the parameters and finds the crosses in each symbol's closes
    /// (`closes[symbol]`, one per bar, in time order: symbol `s` of the run).
    pub fn new<'a>(
        config: SmaCrossConfig,
        closes: impl IntoIterator<Item = &'a [f64]>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let crosses = closes
            .into_iter()
            .map(|closes| crosses(config, closes))
            .collect();
        Ok(Self { config, crosses })
    }

    pub fn config(&self) -> &SmaCrossConfig {
        &self.config
    }
}

/// What the two averages did at the close of a bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Cross {
    #[default]
    None,
    Up,
    Down,
}

/// The cross at each of `closes`, both averages computed causally in one pass.
fn crosses(config: SmaCrossConfig, closes: &[f64]) -> Vec<Cross> {
    let (fast_n, slow_n) = (config.fast, config.slow);
    let (mut fast, mut slow) = (RollingMean::default(), RollingMean::default());
    let mut previous: Option<(f64, f64)> = None;
    closes
        .iter()
        .enumerate()
        .map(|(t, &close)| {
            if t >= fast_n {
                fast.remove(closes[t - fast_n]);
            }
            if t >= slow_n {
                slow.remove(closes[t - slow_n]);
            }
            fast.add(close);
            slow.add(close);
            if t + 1 < slow_n {
                return Cross::None;
            }
            let now = (fast.mean(), slow.mean());
            match previous.replace(now) {
                Some(before) if before.0 < before.1 && now.0 > now.1 => Cross::Up,
                Some(before) if before.0 > before.1 && now.0 < now.1 => Cross::Down,
                _ => Cross::None,
            }
        })
        .collect()
}

/// A rolling mean with the arithmetic of pandas' `rolling(n).mean()` (pandas 2.x/3.x
/// `roll_mean`): Kahan-compensated running sum with separate compensations for the
/// value entering and the value leaving, removal before addition, and the exact last
/// value returned when the whole window holds one repeated value. Reproducing it keeps
/// crossovers identical to backtesting.py even where the two means nearly tie.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct RollingMean {
    nobs: usize,
    sum: f64,
    compensation_add: f64,
    compensation_remove: f64,
    neg_count: usize,
    same_run: usize,
    previous_value: f64,
}

impl RollingMean {
    fn add(&mut self, value: f64) {
        self.nobs += 1;
        let y = value - self.compensation_add;
        let t = self.sum + y;
        self.compensation_add = t - self.sum - y;
        self.sum = t;
        if value.is_sign_negative() {
            self.neg_count += 1;
        }
        if value == self.previous_value {
            self.same_run += 1;
        } else {
            self.same_run = 1;
        }
        self.previous_value = value;
    }

    fn remove(&mut self, value: f64) {
        self.nobs -= 1;
        let y = -value - self.compensation_remove;
        let t = self.sum + y;
        self.compensation_remove = t - self.sum - y;
        self.sum = t;
        if value.is_sign_negative() {
            self.neg_count -= 1;
        }
    }

    fn mean(&self) -> f64 {
        let result = self.sum / self.nobs as f64;
        if self.same_run >= self.nobs {
            self.previous_value
        } else if (self.neg_count == 0 && result < 0.0)
            || (self.neg_count == self.nobs && result > 0.0)
        {
            // a mean of all-positive (all-negative) values cannot have the other sign
            0.0
        } else {
            result
        }
    }
}

impl SmaCross {
    /// Symbol `symbol`'s crosses from bar `from` on (none beyond its closes).
    fn crosses_from(&self, symbol: usize, from: usize) -> &[Cross] {
        self.crosses
            .get(symbol)
            .and_then(|crosses| crosses.get(from..))
            .unwrap_or_default()
    }
}

impl Strategy for SmaCross {
    type State = ();

    fn name(&self) -> &'static str {
        "sma_cross"
    }

    fn new_state(&self) {}

    #[inline]
    fn on_bar(&self, _state: &mut (), ctx: &BarContext<'_>) -> Option<OrderIntent> {
        let cross = self.crosses_from(ctx.symbol_index, ctx.bar_index).first();
        let side = ctx.position.side();
        match cross.copied().unwrap_or_default() {
            Cross::None => None,
            Cross::Up => (side != Some(Side::Long))
                .then_some(OrderIntent::Enter(EntryIntent::market(Side::Long))),
            Cross::Down if self.config.allow_short => (side != Some(Side::Short))
                .then_some(OrderIntent::Enter(EntryIntent::market(Side::Short))),
            Cross::Down => (side == Some(Side::Long)).then_some(OrderIntent::Exit),
        }
    }

    /// The next bar whose cross makes an intent for the position held (`usize::MAX`
    /// when there is none): flat, `Up` and (when shorting is allowed) `Down`; long,
    /// `Down`; short, `Up`.
    #[inline]
    fn next_decision(&self, symbol_index: usize, from: usize, position: &PositionView) -> usize {
        // The crosses that act (one or two).
        let (a, b) = match position.side() {
            None if self.config.allow_short => (Cross::Up, Cross::Down),
            None | Some(Side::Short) => (Cross::Up, Cross::Up),
            Some(Side::Long) => (Cross::Down, Cross::Down),
        };
        let rest = self.crosses_from(symbol_index, from);
        first_acting(rest, |cross| (cross == a) | (cross == b)).map_or(usize::MAX, |k| from + k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::{Bar, Strategy};
    use proptest::prelude::*;

    fn ctx(i: usize, close: f64, quantity: f64) -> BarContext<'static> {
        BarContext {
            symbol_index: 0,
            bar_index: i,
            bar: Bar {
                ts: i as i64,
                open: close,
                high: close,
                low: close,
                close,
                volume: 1.0,
            },
            features: None,
            model: None,
            position: PositionView {
                quantity,
                avg_entry: 0.0,
                bars_held: 0,
            },
        }
    }

    fn config(fast: usize, slow: usize, allow_short: bool) -> SmaCrossConfig {
        SmaCrossConfig {
            fast,
            slow,
            allow_short,
        }
    }

    fn run(config: SmaCrossConfig, closes: &[f64], quantity: f64) -> Vec<Option<OrderIntent>> {
        let strategy = SmaCross::new(config, [closes]).unwrap();
        (0..closes.len())
            .map(|i| strategy.on_bar(&mut (), &ctx(i, closes[i], quantity)))
            .collect()
    }

    #[test]
    fn rejects_slow_not_above_fast_and_zero_fast() {
        let err = SmaCross::new(config(0, 0, false), []).unwrap_err();
        assert_eq!(err.errors.len(), 2, "{err}");
    }

    #[test]
    fn means_match_direct_computation() {
        let closes: Vec<f64> = (0..50)
            .map(|i| 100.0 + ((i * 7919) % 13) as f64 * 0.37)
            .collect();
        for n in [1, 3, 5] {
            let mut mean = RollingMean::default();
            for (i, &c) in closes.iter().enumerate() {
                if i >= n {
                    mean.remove(closes[i - n]);
                }
                mean.add(c);
                let start = (i + 1).saturating_sub(n);
                let direct = closes[start..=i].iter().sum::<f64>() / (i + 1 - start) as f64;
                assert!((mean.mean() - direct).abs() < 1e-12, "n {n}, bar {i}");
            }
        }
    }

    #[test]
    fn crosses_up_then_down() {
        // fast=1 (the close itself) vs slow=2: close above the 2-bar mean ⇔ close rose.
        let out = run(config(1, 2, true), &[5.0, 4.0, 3.0, 4.0, 5.0, 4.0], 0.0);
        // bar 2: first bar with two means (fast 3 < slow 3.5; before: 4 < 4.5): no cross.
        assert_eq!(out[..3], [None, None, None]);
        assert_eq!(
            out[3],
            Some(OrderIntent::Enter(EntryIntent::market(Side::Long)))
        );
        assert_eq!(out[4], None);
        assert_eq!(
            out[5],
            Some(OrderIntent::Enter(EntryIntent::market(Side::Short)))
        );
    }

    #[test]
    fn long_only_exits_instead_of_shorting_and_ignores_flat_exit() {
        let long_only = config(1, 2, false);
        let closes = [5.0, 4.0, 3.0, 4.0, 5.0, 4.0];
        assert_eq!(run(long_only, &closes, 1.0)[5], Some(OrderIntent::Exit));
        assert_eq!(run(long_only, &closes, 0.0)[5], None);
        // Already long: an upward cross asks for nothing.
        assert_eq!(run(long_only, &closes, 1.0)[3], None);
    }

    #[test]
    fn a_bar_beyond_the_closes_has_no_cross() {
        let strategy =
            SmaCross::new(config(1, 2, true), [[5.0, 4.0, 3.0, 4.0].as_slice()]).unwrap();
        assert_eq!(strategy.on_bar(&mut (), &ctx(9, 4.0, 0.0)), None);
        let other_symbol = BarContext {
            symbol_index: 1,
            ..ctx(3, 4.0, 0.0)
        };
        assert_eq!(strategy.on_bar(&mut (), &other_symbol), None);
        assert_eq!(
            strategy.next_decision(0, 9, &ctx(0, 0.0, 0.0).position),
            usize::MAX
        );
    }

    proptest! {
        /// The next decision is the first bar from `from` on at whose close the strategy
        /// asks for something while the position stays as it is.
        #[test]
        fn next_decision_is_the_first_bar_with_an_intent(
            steps in prop::collection::vec(-1.0f64..1.0, 0..300),
            fast in 1usize..4,
            extra in 1usize..6,
            allow_short in prop::bool::ANY,
            quantity in prop::sample::select(vec![-2.0, 0.0, 3.0]),
            from in 0usize..320,
        ) {
            let closes: Vec<f64> = steps
                .iter()
                .scan(100.0, |close, step| {
                    *close += step;
                    Some(*close)
                })
                .collect();
            let strategy = SmaCross::new(config(fast, fast + extra, allow_short), [closes.as_slice()]).unwrap();
            let expected = (from..closes.len())
                .find(|&i| strategy.on_bar(&mut (), &ctx(i, closes[i], quantity)).is_some())
                .unwrap_or(usize::MAX);
            let position = ctx(0, 0.0, quantity).position;
            prop_assert_eq!(strategy.next_decision(0, from, &position), expected);
        }
    }
}
