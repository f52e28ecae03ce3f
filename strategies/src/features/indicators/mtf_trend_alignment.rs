//! Agreement of the trends of three higher timeframes: `mtf_trend_alignment`.

use gauntlet_datasets::Interval;

use crate::features::indicators::{Family, MtfTrend, Stateless};
use crate::features::params::{int, window_named, Builder, ParamValue};
use crate::features::primitives::{per_lane, Lanes};
use crate::features::stream::{Block, Planner, Slot};

/// The three higher timeframes of `mtf50` and of [`MtfTrendAlignment`].
pub const MTF_TIMEFRAMES: [Interval; 3] = [Interval::M5, Interval::M15, Interval::H1];

/// `mtf_trend_alignment`: `(sgn T_5m + sgn T_15m + sgn T_1h)/3` with `T_tf` = the
/// [`MtfTrend`] `mtf_trend(fast, slow)` of each of [`MTF_TIMEFRAMES`] and
/// sgn 0 = 0. Warm-up: slow − 1 completed bars of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MtfTrendAlignment {
    pub fast: usize,
    pub slow: usize,
}

impl Family for MtfTrendAlignment {
    const FAMILIES: &'static [Builder<Self>] = &[Builder::new(
        "mtf_trend_alignment",
        &[window_named("fast", 8), window_named("slow", 21)],
        None,
        |p| {
            let (fast, slow) = p.fast_slow()?;
            Ok(MtfTrendAlignment { fast, slow })
        },
    )];

    fn family(&self) -> &'static str {
        "mtf_trend_alignment"
    }

    fn params(&self) -> Vec<(&'static str, ParamValue)> {
        vec![("fast", int(self.fast)), ("slow", int(self.slow))]
    }

    fn warmup_bars(&self) -> usize {
        self.slow - 1
    }

    fn timeframes(&self) -> Vec<Interval> {
        MTF_TIMEFRAMES.to_vec()
    }

    type State<const L: usize> = Stateless;

    fn state<const L: usize>(&self) -> Stateless {
        Stateless
    }

    /// The slots of the three trends.
    type Column = [Slot; 3];

    fn compile(&self, plan: &mut Planner) -> [Slot; 3] {
        MTF_TIMEFRAMES.map(|timeframe| {
            let trend = MtfTrend {
                timeframe,
                fast: self.fast,
                slow: self.slow,
            };
            plan.machine(trend.into())
        })
    }

    #[inline(always)]
    fn column<const L: usize>(
        &trends: &[Slot; 3],
        block: &Block<L>,
        mut put: impl FnMut(usize, Lanes<L>),
    ) {
        let [a, b, c] = trends.map(|slot| block.slot(slot));
        for k in 0..block.bars() {
            put(
                k,
                per_lane(|l| {
                    [a[k][l], b[k][l], c[k][l]]
                        .into_iter()
                        .map(sign)
                        .sum::<f64>()
                        / 3.0
                }),
            );
        }
    }
}

/// Sign with `sgn(0) = 0` (and NaN for NaN).
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else if x == 0.0 {
        0.0
    } else {
        f64::NAN
    }
}
