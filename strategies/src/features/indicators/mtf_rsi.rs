//! RSI of the completed higher-timeframe closes: `mtf_rsi`.

use gauntlet_datasets::Interval;

use crate::features::indicators::rsi::RsiState;
use crate::features::indicators::Family;
use crate::features::params::{int, window, Builder, ParamValue, TIMEFRAME};
use crate::features::primitives::Lanes;
use crate::features::stream::{Block, Planner, Slot};

/// `mtf_rsi`, named `mtf_{timeframe}_rsi`: `ta` RSI(window) (as [`super::Rsi`]) over
/// the completed closes of `timeframe` (aggregated as for [`super::MtfReturn`]).
/// Warm-up: window − 1 completed bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MtfRsi {
    pub timeframe: Interval,
    pub window: usize,
}

impl Family for MtfRsi {
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

    fn family(&self) -> &'static str {
        "mtf_rsi"
    }

    fn default_name(&self) -> String {
        format!("mtf_{}_rsi", self.timeframe)
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
        block.each(rsi, &mut put, |x| x);
    }
}
