//! The last completed higher-timeframe volume against its mean: `mtf_volume_ratio`.

use gauntlet_datasets::Interval;
use gauntlet_kernels::lanes::LaneBar;

use crate::features::indicators::{Family, Machine};
use crate::features::params::{int, window, Builder, ParamValue, TIMEFRAME};
use crate::features::primitives::{per_lane, Lanes, RollingWindow};
use crate::features::stream::{Block, Planner, Slot};

/// `mtf_volume_ratio`, named `mtf_{timeframe}_volume_ratio`:
/// `V_k / mean(V over the last window completed bars)` of `timeframe` (aggregated as
/// for [`super::MtfReturn`]); 1 when that mean is 0. Warm-up: window − 1 completed
/// bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MtfVolumeRatio {
    pub timeframe: Interval,
    pub window: usize,
}

impl Family for MtfVolumeRatio {
    const FAMILIES: &'static [Builder<Self>] = &[Builder::new(
        "mtf_volume_ratio",
        &[TIMEFRAME, window(20)],
        Some("timeframe"),
        |p| {
            Ok(MtfVolumeRatio {
                window: p.window("window")?,
                timeframe: p.timeframe()?,
            })
        },
    )];

    fn family(&self) -> &'static str {
        "mtf_volume_ratio"
    }

    fn default_name(&self) -> String {
        format!("mtf_{}_volume_ratio", self.timeframe)
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

    type State<const L: usize> = VolumeRatioState<L>;

    fn state<const L: usize>(&self) -> VolumeRatioState<L> {
        VolumeRatioState {
            volumes: RollingWindow::new(self.window),
            value: [f64::NAN; L],
        }
    }

    /// The slot of the ratio.
    type Column = Slot;

    fn compile(&self, plan: &mut Planner) -> Slot {
        plan.machine((*self).into())
    }

    #[inline(always)]
    fn column<const L: usize>(
        &ratio: &Slot,
        block: &Block<L>,
        mut put: impl FnMut(usize, Lanes<L>),
    ) {
        block.each(ratio, &mut put, |x| x);
    }
}

/// The state of [`MtfVolumeRatio`], fed completed bars.
#[derive(Debug, Clone)]
pub(crate) struct VolumeRatioState<const L: usize> {
    volumes: RollingWindow<L>,
    value: Lanes<L>,
}

impl<const L: usize> Machine<L> for VolumeRatioState<L> {
    const OUTPUTS: usize = 1;

    fn on_bar(&mut self, bar: &LaneBar<L>) {
        let volume = bar.volume;
        self.volumes.push(volume);
        let mean = self.volumes.mean();
        self.value = per_lane(|l| {
            if mean[l] == 0.0 {
                1.0
            } else {
                volume[l] / mean[l]
            }
        });
    }

    fn outputs(&self, mut put: impl FnMut(usize, Lanes<L>)) {
        put(0, self.value);
    }
}
