//! Average true range: `atr`, `spread_atr_ratio`.

use gauntlet_kernels::lanes::LaneBar;

use crate::features::indicators::{Family, Machine};
use crate::features::params::{int, window, Builder, ParamValue};
use crate::features::primitives::{flag, per_lane, select, Lanes};
use crate::features::stream::{Block, Planner, Slot, HIGH, LOW};

/// The `ta` ATR and the bar's range relative to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Atr {
    /// `atr`: `ta` ATR(n), n = window: `TR_0 = high_0 − low_0`,
    /// `TR_i = max(high − low, |high − close_{i−1}|, |low − close_{i−1}|)`;
    /// `ATR_{n−1} = mean(TR_0..TR_{n−1})`, `ATR_i = (ATR_{i−1}(n − 1) + TR_i)/n`
    /// (Wilder-smoothed, SMA-seeded); rows 0..n−2 are 0.0 like `ta`. Warm-up: n − 1.
    Value { window: usize },
    /// `spread_atr_ratio`: `(high − low) / ATR(window)`; 0 when ATR is 0, NaN during
    /// the ATR's warm-up. Warm-up: window − 1.
    SpreadRatio { window: usize },
}

impl Atr {
    fn window(&self) -> usize {
        match *self {
            Atr::Value { window } | Atr::SpreadRatio { window } => window,
        }
    }
}

impl Family for Atr {
    const FAMILIES: &'static [Builder<Self>] = &[
        Builder::new("atr", &[window(14)], None, |p| {
            Ok(Atr::Value {
                window: p.window("window")?,
            })
        }),
        Builder::new("spread_atr_ratio", &[window(14)], None, |p| {
            Ok(Atr::SpreadRatio {
                window: p.window("window")?,
            })
        }),
    ];

    fn family(&self) -> &'static str {
        match self {
            Atr::Value { .. } => "atr",
            Atr::SpreadRatio { .. } => "spread_atr_ratio",
        }
    }

    fn params(&self) -> Vec<(&'static str, ParamValue)> {
        vec![("window", int(self.window()))]
    }

    fn warmup_bars(&self) -> usize {
        self.window() - 1
    }

    type State<const L: usize> = AtrState<L>;

    fn state<const L: usize>(&self) -> AtrState<L> {
        AtrState::new(self.window())
    }

    /// The feature and the first of its ATR's slots (the ATR, then 1.0 once ready).
    type Column = (Self, Slot);

    fn compile(&self, plan: &mut Planner) -> (Self, Slot) {
        let atr = Atr::Value {
            window: self.window(),
        };
        (*self, plan.machine(atr.into()))
    }

    #[inline(always)]
    fn column<const L: usize>(
        &(feature, atr): &(Self, Slot),
        block: &Block<L>,
        mut put: impl FnMut(usize, Lanes<L>),
    ) {
        match feature {
            Atr::Value { .. } => block.each(atr, &mut put, |a| a),
            Atr::SpreadRatio { .. } => {
                let (high, low) = (block.slot(HIGH), block.slot(LOW));
                let (atr, ready) = (block.slot(atr), block.slot(atr + 1));
                for k in 0..block.bars() {
                    put(
                        k,
                        per_lane(|l| {
                            let ratio =
                                select(atr[k][l] == 0.0, 0.0, (high[k][l] - low[k][l]) / atr[k][l]);
                            select(ready[k][l] == 0.0, f64::NAN, ratio)
                        }),
                    );
                }
            }
        }
    }
}

/// The state of `ta` ATR(n) (formula at [`Atr::Value`]).
#[derive(Debug, Clone)]
pub(crate) struct AtrState<const L: usize> {
    window: usize,
    count: usize,
    seed_sum: Lanes<L>,
    prev_close: Lanes<L>,
    value: Lanes<L>,
}

impl<const L: usize> AtrState<L> {
    pub(crate) fn new(window: usize) -> Self {
        Self {
            window,
            count: 0,
            seed_sum: [0.0; L],
            prev_close: [f64::NAN; L],
            value: [0.0; L],
        }
    }

    #[inline(always)]
    pub(crate) fn update(&mut self, high: Lanes<L>, low: Lanes<L>, close: Lanes<L>) {
        let true_range: Lanes<L> = if self.count == 0 {
            per_lane(|l| high[l] - low[l])
        } else {
            per_lane(|l| {
                (high[l] - low[l])
                    .max((high[l] - self.prev_close[l]).abs())
                    .max((low[l] - self.prev_close[l]).abs())
            })
        };
        self.count += 1;
        let n = self.window as f64;
        if self.count < self.window {
            let seed_sum = self.seed_sum;
            self.seed_sum = per_lane(|l| seed_sum[l] + true_range[l]);
        } else if self.count == self.window {
            self.value = per_lane(|l| (self.seed_sum[l] + true_range[l]) / n);
        } else {
            let n_minus_1 = (self.window - 1) as f64;
            self.value = per_lane(|l| (self.value[l] * n_minus_1 + true_range[l]) / n);
        }
        self.prev_close = close;
    }

    /// 0.0 during warm-up (rows 0..n−2), like `ta`.
    pub(crate) fn value(&self) -> Lanes<L> {
        self.value
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.count >= self.window
    }
}

impl<const L: usize> Machine<L> for AtrState<L> {
    const OUTPUTS: usize = 2;

    #[inline(always)]
    fn on_bar(&mut self, bar: &LaneBar<L>) {
        self.update(bar.high, bar.low, bar.close);
    }

    #[inline(always)]
    fn outputs(&self, mut put: impl FnMut(usize, Lanes<L>)) {
        put(0, self.value());
        put(1, [flag(self.is_ready()); L]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atr_is_zero_then_sma_seeded_then_wilder() {
        let mut atr = AtrState::<1>::new(3);
        // TR: 2 (h−l), max(1, |4−2|, |3−2|) = 2, max(1,|6−3|,|5−3|) = 3, then Wilder.
        atr.update([3.0], [1.0], [2.0]);
        assert_eq!(atr.value(), [0.0]);
        atr.update([4.0], [3.0], [3.0]);
        assert_eq!(atr.value(), [0.0]);
        assert!(!atr.is_ready());
        atr.update([6.0], [5.0], [5.0]);
        assert!(atr.is_ready());
        assert!((atr.value()[0] - 7.0 / 3.0).abs() < 1e-15);
        atr.update([5.5], [5.0], [5.0]); // TR = 0.5
        assert!((atr.value()[0] - (7.0 / 3.0 * 2.0 + 0.5) / 3.0).abs() < 1e-15);
    }
}
