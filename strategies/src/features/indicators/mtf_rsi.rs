//! RSI of the completed higher-timeframe closes: `mtf_rsi`.

use gauntlet_datasets::Interval;

use crate::features::indicators::rsi::RsiState;
use crate::features::indicators::HigherTimeframe;
use crate::features::params::{int, window, Builder, ParamValue, TIMEFRAME};

/// `mtf_rsi`, named `mtf_{timeframe}_rsi`: `ta` RSI(window) (as [`super::Rsi`]) over
/// the completed closes of `timeframe` (aggregated as for [`super::MtfReturn`]).
/// Warm-up: window − 1 completed bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MtfRsi {
    pub timeframe: Interval,
    pub window: usize,
}

impl HigherTimeframe for MtfRsi {
    const FAMILIES: &'static [Builder<Self>] = &[Builder::new(
        "mtf_rsi",
        &[TIMEFRAME, window(14)],
        Some("timeframe"),
        |p| {
            Ok(MtfRsi {
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

    type BarMachine<const L: usize> = RsiState<L>;

    fn bar_machine<const L: usize>(&self) -> RsiState<L> {
        RsiState::new(self.window)
    }
}
