//! Relative strength index: `rsi`. A template for a new family: the parameter type
//! with the formula, its custom-set family, its state machine, its column.

use gauntlet_kernels::lanes::LaneBar;

use crate::features::indicators::{Family, Machine};
use crate::features::params::{int, window, Builder, ParamValue};
use crate::features::primitives::{per_lane, select, Ema, Lanes};
use crate::features::stream::{Block, Planner, Slot};

/// `rsi`: `ta` RSI(n), n = window: `d_i = close_i − close_{i−1}` with `d_0 = 0`;
/// `up = max(d, 0)`, `dn = max(−d, 0)`; `U, D` = Wilder EMAs (α = 1/n, pandas
/// `ewm(alpha, adjust=False)`, seeded with row 0's zero) of up and dn;
/// `RSI = 100 − 100/(1 + U/D)`, and 100 where `D == 0`. NaN for the first n − 1
/// rows. Warm-up: n − 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rsi {
    pub window: usize,
}

impl Family for Rsi {
    const FAMILIES: &'static [Builder<Self>] = &[Builder::new("rsi", &[window(14)], None, |p| {
        Ok(Rsi {
            window: p.window("window")?,
        })
    })];

    fn family(&self) -> &'static str {
        "rsi"
    }

    fn params(&self) -> Vec<(&'static str, ParamValue)> {
        vec![("window", int(self.window))]
    }

    fn warmup_bars(&self) -> usize {
        self.window - 1
    }

    type State<const L: usize> = RsiState<L>;

    fn state<const L: usize>(&self) -> RsiState<L> {
        RsiState::new(self.window)
    }

    /// The slot of the RSI.
    type Column = Slot;

    fn compile(&self, plan: &mut Planner) -> Slot {
        plan.machine((*self).into())
    }

    #[inline(always)]
    fn column<const L: usize>(&rsi: &Slot, block: &Block<L>, mut put: impl FnMut(usize, Lanes<L>)) {
        block.each(rsi, &mut put, |r| r);
    }
}

/// The state of `ta` RSI(n) over the closes it is fed (formula at [`Rsi`]); also the
/// state of [`super::MtfRsi`] on completed higher-timeframe bars.
#[derive(Debug, Clone)]
pub(crate) struct RsiState<const L: usize> {
    window: usize,
    up: Ema<L>,
    down: Ema<L>,
    prev_close: Lanes<L>,
}

impl<const L: usize> RsiState<L> {
    pub(crate) fn new(window: usize) -> Self {
        Self {
            window,
            up: Ema::with_wilder(window),
            down: Ema::with_wilder(window),
            prev_close: [f64::NAN; L],
        }
    }

    #[inline(always)]
    pub(crate) fn update(&mut self, close: Lanes<L>) {
        let diff = if self.up.count() == 0 {
            [0.0; L]
        } else {
            per_lane(|l| close[l] - self.prev_close[l])
        };
        self.up
            .update(per_lane(|l| if diff[l] > 0.0 { diff[l] } else { 0.0 }));
        self.down
            .update(per_lane(|l| if diff[l] < 0.0 { -diff[l] } else { 0.0 }));
        self.prev_close = close;
    }

    #[inline(always)]
    pub(crate) fn value(&self) -> Lanes<L> {
        if self.up.count() < self.window {
            return [f64::NAN; L];
        }
        let (up, down) = (self.up.value(), self.down.value());
        per_lane(|l| {
            select(
                down[l] == 0.0,
                100.0,
                100.0 - 100.0 / (1.0 + up[l] / down[l]),
            )
        })
    }
}

impl<const L: usize> Machine<L> for RsiState<L> {
    const OUTPUTS: usize = 1;

    #[inline(always)]
    fn on_bar(&mut self, bar: &LaneBar<L>) {
        self.update(bar.close);
    }

    #[inline(always)]
    fn outputs(&self, mut put: impl FnMut(usize, Lanes<L>)) {
        put(0, self.value());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsi_is_100_without_down_moves_and_nan_in_warm_up() {
        let mut rsi = RsiState::<1>::new(3);
        rsi.update([1.0]);
        rsi.update([2.0]);
        assert!(rsi.value()[0].is_nan());
        rsi.update([3.0]);
        assert_eq!(rsi.value(), [100.0]);
        rsi.update([2.0]);
        assert!(rsi.value()[0] < 100.0 && rsi.value()[0] > 0.0);
    }
}
