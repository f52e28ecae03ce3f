//! The EMA trend of the completed higher-timeframe closes: `mtf_trend`.

use gauntlet_datasets::Interval;
use gauntlet_kernels::lanes::LaneBar;

use crate::features::indicators::{Family, Machine};
use crate::features::params::{int, window_named, Builder, ParamValue, TIMEFRAME};
use crate::features::primitives::{per_lane, Ema, Lanes};
use crate::features::stream::{Block, Planner, Slot};

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

impl Family for MtfTrend {
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

    fn family(&self) -> &'static str {
        "mtf_trend"
    }

    fn default_name(&self) -> String {
        format!("mtf_{}_trend", self.timeframe)
    }

    fn params(&self) -> Vec<(&'static str, ParamValue)> {
        vec![
            ("fast", int(self.fast)),
            ("slow", int(self.slow)),
            ("timeframe", ParamValue::Text(self.timeframe.to_string())),
        ]
    }

    fn warmup_bars(&self) -> usize {
        self.slow - 1
    }

    fn timeframes(&self) -> Vec<Interval> {
        vec![self.timeframe]
    }

    type State<const L: usize> = TrendState<L>;

    fn state<const L: usize>(&self) -> TrendState<L> {
        TrendState {
            fast: Ema::with_span(self.fast),
            slow: Ema::with_span(self.slow),
            slow_window: self.slow,
            value: [f64::NAN; L],
        }
    }

    /// The slot of the trend.
    type Column = Slot;

    fn compile(&self, plan: &mut Planner) -> Slot {
        plan.machine((*self).into())
    }

    #[inline(always)]
    fn column<const L: usize>(
        &trend: &Slot,
        block: &Block<L>,
        mut put: impl FnMut(usize, Lanes<L>),
    ) {
        block.each(trend, &mut put, |x| x);
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
