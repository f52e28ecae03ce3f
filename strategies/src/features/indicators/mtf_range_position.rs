//! The close's position in the recent higher-timeframe range: `mtf_range_position`.

use gauntlet_datasets::Interval;
use gauntlet_kernels::lanes::LaneBar;

use crate::features::indicators::{Family, Machine};
use crate::features::params::{int, window, Builder, ParamValue, TIMEFRAME};
use crate::features::primitives::{per_lane, Lanes, RollingWindow};
use crate::features::stream::{Block, Planner, Slot};

/// `mtf_range_position`, named `mtf_{timeframe}_range_position`:
/// `(C_k − min L)/(max H − min L)` over the last `window` completed bars of
/// `timeframe` (aggregated as for [`super::MtfReturn`]); 0.5 when max H == min L.
/// Warm-up: window − 1 completed bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MtfRangePosition {
    pub timeframe: Interval,
    pub window: usize,
}

impl Family for MtfRangePosition {
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

    fn family(&self) -> &'static str {
        "mtf_range_position"
    }

    fn default_name(&self) -> String {
        format!("mtf_{}_range_position", self.timeframe)
    }

    fn params(&self) -> Vec<(&'static str, ParamValue)> {
        vec![
            ("timeframe", ParamValue::Text(self.timeframe.to_string())),
            ("window", int(self.window)),
        ]
    }

    fn warmup_bars(&self) -> usize {
        self.window - 1
    }

    fn timeframes(&self) -> Vec<Interval> {
        vec![self.timeframe]
    }

    type State<const L: usize> = RangeState<L>;

    fn state<const L: usize>(&self) -> RangeState<L> {
        RangeState {
            highs: RollingWindow::new(self.window),
            lows: RollingWindow::new(self.window),
            value: [f64::NAN; L],
        }
    }

    /// The slot of the position.
    type Column = Slot;

    fn compile(&self, plan: &mut Planner) -> Slot {
        plan.machine((*self).into())
    }

    #[inline(always)]
    fn column<const L: usize>(
        &position: &Slot,
        block: &Block<L>,
        mut put: impl FnMut(usize, Lanes<L>),
    ) {
        block.each(position, &mut put, |x| x);
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
