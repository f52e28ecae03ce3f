//! Volume averages: `volume_ma`, `volume_ratio`, `volume_trend`.

use crate::features::indicators::{Family, Stateless};
use crate::features::params::{int, window, window_named, Builder, ParamValue};
use crate::features::primitives::Lanes;
use crate::features::stream::{Block, Planner, Slot, VOLUME};

/// Volume against its rolling means (each the compensated mean of the last `window`
/// volumes, NaN until `window` bars are seen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Volume {
    /// `volume_ma`: `mean(volume over the last window bars)`. Warm-up: window − 1.
    Ma { window: usize },
    /// `volume_ratio`: `volume / volume_ma(window)`; 1 when that mean is 0.
    /// Warm-up: window − 1.
    Ratio { window: usize },
    /// `volume_trend`: `mean(volume, fast)/mean(volume, slow) − 1` over the last fast /
    /// slow bars; 0 when the slow mean is 0. Warm-up: slow − 1.
    Trend { fast: usize, slow: usize },
}

/// The slots a [`Volume`] column reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum VolumeColumn {
    Ma(Slot),
    Ratio(Slot),
    Trend { fast: Slot, slow: Slot },
}

impl Family for Volume {
    const FAMILIES: &'static [Builder<Self>] = &[
        Builder::new("volume_ma", &[window(20)], None, |p| {
            Ok(Volume::Ma {
                window: p.window("window")?,
            })
        }),
        Builder::new("volume_ratio", &[window(20)], None, |p| {
            Ok(Volume::Ratio {
                window: p.window("window")?,
            })
        }),
        Builder::new(
            "volume_trend",
            &[window_named("fast", 5), window_named("slow", 20)],
            None,
            |p| {
                let (fast, slow) = p.fast_slow()?;
                Ok(Volume::Trend { fast, slow })
            },
        ),
    ];

    fn family(&self) -> &'static str {
        match self {
            Volume::Ma { .. } => "volume_ma",
            Volume::Ratio { .. } => "volume_ratio",
            Volume::Trend { .. } => "volume_trend",
        }
    }

    fn params(&self) -> Vec<(&'static str, ParamValue)> {
        match *self {
            Volume::Ma { window } | Volume::Ratio { window } => vec![("window", int(window))],
            Volume::Trend { fast, slow } => vec![("fast", int(fast)), ("slow", int(slow))],
        }
    }

    fn warmup_bars(&self) -> usize {
        match *self {
            Volume::Ma { window } | Volume::Ratio { window } => window - 1,
            Volume::Trend { slow, .. } => slow - 1,
        }
    }

    type State<const L: usize> = Stateless;

    fn state<const L: usize>(&self) -> Stateless {
        Stateless
    }

    type Column = VolumeColumn;

    fn compile(&self, plan: &mut Planner) -> VolumeColumn {
        match *self {
            Volume::Ma { window } => VolumeColumn::Ma(plan.volume_mean(window)),
            Volume::Ratio { window } => VolumeColumn::Ratio(plan.volume_mean(window)),
            Volume::Trend { fast, slow } => VolumeColumn::Trend {
                fast: plan.volume_mean(fast),
                slow: plan.volume_mean(slow),
            },
        }
    }

    #[inline(always)]
    fn column<const L: usize>(
        column: &VolumeColumn,
        block: &Block<L>,
        mut put: impl FnMut(usize, Lanes<L>),
    ) {
        match *column {
            VolumeColumn::Ma(mean) => block.each(mean, &mut put, |m| m),
            VolumeColumn::Ratio(mean) => {
                block.pairs(
                    VOLUME,
                    mean,
                    &mut put,
                    |v, m| {
                        if m == 0.0 {
                            1.0
                        } else {
                            v / m
                        }
                    },
                )
            }
            VolumeColumn::Trend { fast, slow } => block.pairs(fast, slow, &mut put, |f, s| {
                if s == 0.0 {
                    0.0
                } else {
                    f / s - 1.0
                }
            }),
        }
    }
}
