//! The EMA trend of the completed higher-timeframe closes: `mtf_trend`.

use gauntlet_datasets::Interval;
use gauntlet_kernels::lanes::LaneBar;

use crate::features::indicators::{HigherTimeframe, Machine};
use crate::features::params::{int, window_named, Builder, ParamValue, TIMEFRAME};
use crate::features::primitives::{per_lane, Ema, Lanes};

/// `mtf_trend`, named `mtf_{timeframe}_trend`: `EMA_span(fast)/EMA_span(slow) − 1` of
/// the completed closes of `timeframe` (aggregated as for [`super::MtfReturn`]; EMAs
/// as pandas `ewm(span, adjust=False)`, seeded with the first close).
/// Warm-up: slow − 1 completed bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MtfTrend {
    pub timeframe: Interval,
    pub fast: usize,
    pub slow: usize,
}

impl HigherTimeframe for MtfTrend {
    const FAMILIES: &'static [Builder<Self>] = &[Builder::new(
        "mtf_trend",
        &[TIMEFRAME, window_named("fast", 8), window_named("slow", 21)],
        Some("timeframe"),
        |p| {
            let (fast, slow) = p.fast_slow()?;
            Ok(MtfTrend {
                timeframe: p.timeframe()?,
                fast,
                slow,
            })
        },
    )];

    fn timeframe(&self) -> Interval {
        self.timeframe
    }

    fn own_params(&self) -> Vec<(&'static str, ParamValue)> {
        vec![("fast", int(self.fast)), ("slow", int(self.slow))]
    }

    fn warmup(&self) -> usize {
        self.slow - 1
    }

    type BarMachine<const L: usize> = TrendState<L>;

    fn bar_machine<const L: usize>(&self) -> TrendState<L> {
        TrendState {
            fast: Ema::with_span(self.fast),
            slow: Ema::with_span(self.slow),
            slow_window: self.slow,
            value: [f64::NAN; L],
        }
    }
}

/// The state of [`MtfTrend`], fed completed bars: a pair of span-EMAs.
#[derive(Debug, Clone)]
pub(crate) struct TrendState<const L: usize> {
    fast: Ema<L>,
    slow: Ema<L>,
    slow_window: usize,
    value: Lanes<L>,
}

impl<const L: usize> Machine<L> for TrendState<L> {
    const OUTPUTS: usize = 1;

    fn on_bar(&mut self, bar: &LaneBar<L>) {
        self.fast.update(bar.close);
        self.slow.update(bar.close);
        let (fast, slow) = (self.fast.value(), self.slow.value());
        self.value = if self.slow.count() >= self.slow_window {
            per_lane(|l| fast[l] / slow[l] - 1.0)
        } else {
            [f64::NAN; L]
        };
    }

    fn outputs(&self, mut put: impl FnMut(usize, Lanes<L>)) {
        put(0, self.value);
    }
}
