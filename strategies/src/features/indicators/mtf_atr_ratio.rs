//! ATR of the completed higher-timeframe bars relative to their close:
//! `mtf_atr_ratio`.

use gauntlet_datasets::Interval;
use gauntlet_kernels::lanes::LaneBar;

use crate::features::indicators::atr::AtrState;
use crate::features::indicators::{HigherTimeframe, Machine};
use crate::features::params::{int, window, Builder, ParamValue, TIMEFRAME};
use crate::features::primitives::{per_lane, Lanes};

/// `mtf_atr_ratio`, named `mtf_{timeframe}_atr_ratio`: `ta` ATR(window) (as
/// [`super::Atr::Value`]) over the completed bars of `timeframe` (aggregated as for
/// [`super::MtfReturn`]), divided by `C_k`; NaN during the ATR's warm-up.
/// Warm-up: window − 1 completed bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MtfAtrRatio {
    pub timeframe: Interval,
    pub window: usize,
}

impl HigherTimeframe for MtfAtrRatio {
    const FAMILIES: &'static [Builder<Self>] = &[Builder::new(
        "mtf_atr_ratio",
        &[TIMEFRAME, window(14)],
        Some("timeframe"),
        |p| {
            Ok(MtfAtrRatio {
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

    type BarMachine<const L: usize> = AtrRatioState<L>;

    fn bar_machine<const L: usize>(&self) -> AtrRatioState<L> {
        AtrRatioState {
            atr: AtrState::new(self.window),
            ratio: [f64::NAN; L],
        }
    }
}

/// The state of [`MtfAtrRatio`], fed completed bars.
#[derive(Debug, Clone)]
pub(crate) struct AtrRatioState<const L: usize> {
    atr: AtrState<L>,
    ratio: Lanes<L>,
}

impl<const L: usize> Machine<L> for AtrRatioState<L> {
    const OUTPUTS: usize = 1;

    fn on_bar(&mut self, bar: &LaneBar<L>) {
        let close = bar.close;
        self.atr.update(bar.high, bar.low, close);
        let value = self.atr.value();
        self.ratio = if self.atr.is_ready() {
            per_lane(|l| value[l] / close[l])
        } else {
            [f64::NAN; L]
        };
    }

    fn outputs(&self, mut put: impl FnMut(usize, Lanes<L>)) {
        put(0, self.ratio);
    }
}
