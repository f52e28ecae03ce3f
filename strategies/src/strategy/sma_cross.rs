//! Moving-average crossover, computing its two simple moving averages causally.

use serde::{Deserialize, Serialize};

use super::{BarContext, ConfigError, EntryIntent, FieldError, OrderIntent, Side, Strategy};

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
/// consecutive bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmaCross {
    config: SmaCrossConfig,
}

impl SmaCross {
    /// Validates the parameters.
    pub fn new(config: SmaCrossConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self { config })
    }

    pub fn config(&self) -> &SmaCrossConfig {
        &self.config
    }
}

/// Per-symbol state: a ring buffer of the last `slow` closes and both rolling means.
#[derive(Debug, Clone, PartialEq)]
pub struct SmaCrossState {
    window: Vec<f64>,
    seen: usize,
    fast: RollingMean,
    slow: RollingMean,
    previous: Option<(f64, f64)>,
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

impl Strategy for SmaCross {
    type State = SmaCrossState;

    fn name(&self) -> &'static str {
        "sma_cross"
    }

    fn new_state(&self) -> SmaCrossState {
        SmaCrossState {
            window: vec![0.0; self.config.slow],
            seen: 0,
            fast: RollingMean::default(),
            slow: RollingMean::default(),
            previous: None,
        }
    }

    #[inline]
    fn on_bar(&self, state: &mut SmaCrossState, ctx: &BarContext<'_>) -> Option<OrderIntent> {
        let (fast_n, slow_n) = (self.config.fast, self.config.slow);
        let close = ctx.bar.close;
        let slot = state.seen % slow_n;
        if state.seen >= fast_n {
            state
                .fast
                .remove(state.window[(state.seen - fast_n) % slow_n]);
        }
        if state.seen >= slow_n {
            state.slow.remove(state.window[slot]);
        }
        state.window[slot] = close;
        state.fast.add(close);
        state.slow.add(close);
        state.seen += 1;
        if state.seen < slow_n {
            return None;
        }
        let now = (state.fast.mean(), state.slow.mean());
        let before = state.previous.replace(now)?;
        let side = ctx.position.side();
        if before.0 < before.1 && now.0 > now.1 {
            (side != Some(Side::Long))
                .then_some(OrderIntent::Enter(EntryIntent::market(Side::Long)))
        } else if before.0 > before.1 && now.0 < now.1 {
            if self.config.allow_short {
                (side != Some(Side::Short))
                    .then_some(OrderIntent::Enter(EntryIntent::market(Side::Short)))
            } else {
                (side == Some(Side::Long)).then_some(OrderIntent::Exit)
            }
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::{Bar, PositionView};

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

    fn run(strategy: &SmaCross, closes: &[f64], quantity: f64) -> Vec<Option<OrderIntent>> {
        let mut state = strategy.new_state();
        closes
            .iter()
            .enumerate()
            .map(|(i, &c)| strategy.on_bar(&mut state, &ctx(i, c, quantity)))
            .collect()
    }

    #[test]
    fn rejects_slow_not_above_fast_and_zero_fast() {
        let err = SmaCross::new(SmaCrossConfig {
            fast: 0,
            slow: 0,
            allow_short: false,
        })
        .unwrap_err();
        assert_eq!(err.errors.len(), 2, "{err}");
    }

    #[test]
    fn means_match_direct_computation() {
        let closes: Vec<f64> = (0..50)
            .map(|i| 100.0 + ((i * 7919) % 13) as f64 * 0.37)
            .collect();
        let s = SmaCross::new(SmaCrossConfig {
            fast: 3,
            slow: 5,
            allow_short: false,
        })
        .unwrap();
        let mut state = s.new_state();
        for (i, &c) in closes.iter().enumerate() {
            s.on_bar(&mut state, &ctx(i, c, 0.0));
            if i >= 4 {
                let fast: f64 = closes[i - 2..=i].iter().sum::<f64>() / 3.0;
                let slow: f64 = closes[i - 4..=i].iter().sum::<f64>() / 5.0;
                assert!((state.fast.mean() - fast).abs() < 1e-12);
                assert!((state.slow.mean() - slow).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn crosses_up_then_down() {
        // fast=1 (the close itself) vs slow=2: close above the 2-bar mean ⇔ close rose.
        let s = SmaCross::new(SmaCrossConfig {
            fast: 1,
            slow: 2,
            allow_short: true,
        })
        .unwrap();
        let out = run(&s, &[5.0, 4.0, 3.0, 4.0, 5.0, 4.0], 0.0);
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
        let s = SmaCross::new(SmaCrossConfig {
            fast: 1,
            slow: 2,
            allow_short: false,
        })
        .unwrap();
        let closes = [5.0, 4.0, 3.0, 4.0, 5.0, 4.0];
        assert_eq!(run(&s, &closes, 1.0)[5], Some(OrderIntent::Exit));
        assert_eq!(run(&s, &closes, 0.0)[5], None);
        // Already long: an upward cross asks for nothing.
        assert_eq!(run(&s, &closes, 1.0)[3], None);
    }
}
