//! The close's position in the recent higher-timeframe range: `mtf_range_position`.

use gauntlet_datasets::Interval;
use gauntlet_kernels::lanes::LaneBar;

use crate::features::indicators::{HigherTimeframe, Machine};
use crate::features::params::{int, window, Builder, ParamValue, TIMEFRAME};
use crate::features::primitives::{per_lane, Lanes, RollingWindow};

/// `mtf_range_position`, named `mtf_{timeframe}_range_position`:
/// `(C_k − min L)/(max H − min L)` over the last `window` completed bars of
/// `timeframe` (aggregated as for [`super::MtfReturn`]); 0.5 when max H == min L.
/// Warm-up: window − 1 completed bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MtfRangePosition {
    pub timeframe: Interval,
    pub window: usize,
}

impl HigherTimeframe for MtfRangePosition {
    const FAMILIES: &'static [Builder<Self>] = &[Builder::new(
        "mtf_range_position",
        &[TIMEFRAME, window(20)],
        Some("timeframe"),
        |p| {
            Ok(MtfRangePosition {
                window: p.window("window")?,
                timeframe: p.timeframe()?,
            })
        },
    )];

    fn timeframe(&self) -> Interval {
        self.timeframe
    }

    fn own_params(&self) -> Vec<(&'static str, ParamValue)> {
        vec![("window", int(self.window))]
    }

    fn warmup(&self) -> usize {
        self.window - 1
    }

    type BarMachine<const L: usize> = RangeState<L>;

    fn bar_machine<const L: usize>(&self) -> RangeState<L> {
        RangeState {
            highs: RollingWindow::new(self.window),
            lows: RollingWindow::new(self.window),
            value: [f64::NAN; L],
        }
    }
}

/// The state of [`MtfRangePosition`], fed completed bars.
#[derive(Debug, Clone)]
pub(crate) struct RangeState<const L: usize> {
    highs: RollingWindow<L>,
    lows: RollingWindow<L>,
    value: Lanes<L>,
}

impl<const L: usize> Machine<L> for RangeState<L> {
    const OUTPUTS: usize = 1;

    fn on_bar(&mut self, bar: &LaneBar<L>) {
        let close = bar.close;
        self.highs.push(bar.high);
        self.lows.push(bar.low);
        let (max, min) = (self.highs.max(), self.lows.min());
        self.value = per_lane(|l| {
            if max[l] == min[l] {
                0.5
            } else {
                (close[l] - min[l]) / (max[l] - min[l])
            }
        });
    }

    fn outputs(&self, mut put: impl FnMut(usize, Lanes<L>)) {
        put(0, self.value);
    }
}
