//! The return of the last completed higher-timeframe bar: `mtf_return`.

use gauntlet_datasets::Interval;
use gauntlet_kernels::lanes::LaneBar;

use crate::features::indicators::{HigherTimeframe, Machine};
use crate::features::params::{Builder, ParamValue, TIMEFRAME};
use crate::features::primitives::{per_lane, Lanes};

/// `mtf_return`, named `mtf_{timeframe}_return`: `C_k / C_{k−1} − 1`. Warm-up: 1
/// completed bar.
///
/// Like every multi-timeframe feature it is computed on bars of `timeframe`
/// aggregated causally from the base bars (open = first open, high = max, low = min,
/// close = last close, volume = sum of the base bars whose open time lies in the
/// bucket `[b, b + D)`, `b` aligned to UTC epoch multiples of `D`). A bucket becomes
/// usable at the first base bar with `ts ≥ b + D`, so a base bar only ever sees
/// *completed* higher-timeframe bars. `C_k, H_k, L_k, V_k` are the last completed
/// bar's close, high, low, volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MtfReturn {
    pub timeframe: Interval,
}

impl HigherTimeframe for MtfReturn {
    const FAMILIES: &'static [Builder<Self>] = &[Builder::new(
        "mtf_return",
        &[TIMEFRAME],
        Some("timeframe"),
        |p| {
            Ok(MtfReturn {
                timeframe: p.timeframe()?,
            })
        },
    )];

    fn timeframe(&self) -> Interval {
        self.timeframe
    }

    fn own_params(&self) -> Vec<(&'static str, ParamValue)> {
        Vec::new()
    }

    fn warmup(&self) -> usize {
        1
    }

    type BarMachine<const L: usize> = ReturnState<L>;

    fn bar_machine<const L: usize>(&self) -> ReturnState<L> {
        ReturnState {
            completed: 0,
            last_close: [f64::NAN; L],
            value: [f64::NAN; L],
        }
    }
}

/// The state of [`MtfReturn`], fed completed bars.
#[derive(Debug, Clone)]
pub(crate) struct ReturnState<const L: usize> {
    completed: usize,
    last_close: Lanes<L>,
    value: Lanes<L>,
}

impl<const L: usize> Machine<L> for ReturnState<L> {
    const OUTPUTS: usize = 1;

    fn on_bar(&mut self, bar: &LaneBar<L>) {
        let close = bar.close;
        self.completed += 1;
        self.value = if self.completed >= 2 {
            per_lane(|l| close[l] / self.last_close[l] - 1.0)
        } else {
            [f64::NAN; L]
        };
        self.last_close = close;
    }

    fn outputs(&self, mut put: impl FnMut(usize, Lanes<L>)) {
        put(0, self.value);
    }
}
