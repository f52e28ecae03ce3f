//! The last completed higher-timeframe volume against its mean: `mtf_volume_ratio`.

use gauntlet_datasets::Interval;
use gauntlet_kernels::lanes::LaneBar;

use crate::features::indicators::{HigherTimeframe, Machine};
use crate::features::params::{int, window, Builder, ParamValue, TIMEFRAME};
use crate::features::primitives::{per_lane, Lanes, RollingWindow};

/// `mtf_volume_ratio`, named `mtf_{timeframe}_volume_ratio`:
/// `V_k / mean(V over the last window completed bars)` of `timeframe` (aggregated as
/// for [`super::MtfReturn`]); 1 when that mean is 0. Warm-up: window − 1 completed
/// bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MtfVolumeRatio {
    pub timeframe: Interval,
    pub window: usize,
}

impl HigherTimeframe for MtfVolumeRatio {
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

    fn timeframe(&self) -> Interval {
        self.timeframe
    }

    fn own_params(&self) -> Vec<(&'static str, ParamValue)> {
        vec![("window", int(self.window))]
    }

    fn warmup(&self) -> usize {
        self.window - 1
    }

    type BarMachine<const L: usize> = VolumeRatioState<L>;

    fn bar_machine<const L: usize>(&self) -> VolumeRatioState<L> {
        VolumeRatioState {
            volumes: RollingWindow::new(self.window),
            value: [f64::NAN; L],
        }
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
