//! Bollinger bands: `bb_high`, `bb_low`, `bb_width`, `bb_position`.

use crate::features::indicators::{Family, Stateless};
use crate::features::params::{
    int, window, Builder, ParamDefault, ParamKind, ParamSpec, ParamValue, Params,
};
use crate::features::primitives::{select, Lanes};
use crate::features::stream::{Block, Planner, Slot, CLOSE};

/// `ta` Bollinger bands: `mavg = sma(window)` of close, `σ` = population std
/// (ddof = 0) of the last window closes (exact two-pass), bands
/// `high, low = mavg ± std·σ`. Warm-up: window − 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bollinger {
    pub output: BollingerOutput,
    pub window: usize,
    pub std: f64,
}

/// Which Bollinger output a feature is (all share one band computation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BollingerOutput {
    /// `bb_high = mavg + k·σ`.
    High,
    /// `bb_low = mavg − k·σ`.
    Low,
    /// `bb_width = (high − low)/mavg · 100` (percent, `ta` wband).
    Width,
    /// `bb_position = (close − low)/(high − low)` (`ta` pband); 0.5 when high == low
    /// (`ta` gives NaN there; a flat market should not make the row unusable).
    Position,
}

const PARAMS: &[ParamSpec] = &[
    window(20),
    ParamSpec {
        name: "std",
        kind: ParamKind::PositiveFloat,
        default: ParamDefault::Float(2.0),
    },
];

impl Bollinger {
    fn build(output: BollingerOutput, p: &Params<'_>) -> Result<Self, String> {
        let std = p.float("std")?;
        Ok(Bollinger {
            output,
            window: p.window("window")?,
            std,
        })
    }
}

/// The slots and constants of a [`Bollinger`] column.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BollingerColumn {
    output: BollingerOutput,
    mavg: Slot,
    sigma: Slot,
    width: f64,
}

/// The bands `(mavg + k·σ, mavg − k·σ)`.
#[inline(always)]
fn bands(mavg: f64, sigma: f64, k: f64) -> (f64, f64) {
    (mavg + k * sigma, mavg - k * sigma)
}

impl Family for Bollinger {
    const FAMILIES: &'static [Builder<Self>] = &[
        Builder::new("bb_high", PARAMS, None, |p| {
            Bollinger::build(BollingerOutput::High, p)
        }),
        Builder::new("bb_low", PARAMS, None, |p| {
            Bollinger::build(BollingerOutput::Low, p)
        }),
        Builder::new("bb_width", PARAMS, None, |p| {
            Bollinger::build(BollingerOutput::Width, p)
        }),
        Builder::new("bb_position", PARAMS, None, |p| {
            Bollinger::build(BollingerOutput::Position, p)
        }),
    ];

    fn family(&self) -> &'static str {
        match self.output {
            BollingerOutput::High => "bb_high",
            BollingerOutput::Low => "bb_low",
            BollingerOutput::Width => "bb_width",
            BollingerOutput::Position => "bb_position",
        }
    }

    fn params(&self) -> Vec<(&'static str, ParamValue)> {
        vec![
            ("std", ParamValue::Float(self.std)),
            ("window", int(self.window)),
        ]
    }

    fn warmup_bars(&self) -> usize {
        self.window - 1
    }

    type State<const L: usize> = Stateless;

    fn state<const L: usize>(&self) -> Stateless {
        Stateless
    }

    type Column = BollingerColumn;

    fn compile(&self, plan: &mut Planner) -> BollingerColumn {
        BollingerColumn {
            output: self.output,
            mavg: plan.close_mean(self.window),
            sigma: plan.close_std(self.window),
            width: self.std,
        }
    }

    #[inline(always)]
    fn column<const L: usize>(
        column: &BollingerColumn,
        block: &Block<L>,
        mut put: impl FnMut(usize, Lanes<L>),
    ) {
        let BollingerColumn {
            output,
            mavg,
            sigma,
            width,
        } = *column;
        // One loop per output: a match inside the loop would be taken per bar.
        match output {
            BollingerOutput::High => {
                block.pairs(mavg, sigma, &mut put, |m, s| bands(m, s, width).0)
            }
            BollingerOutput::Low => block.pairs(mavg, sigma, &mut put, |m, s| bands(m, s, width).1),
            BollingerOutput::Width => block.pairs(mavg, sigma, &mut put, |m, s| {
                let (high, low) = bands(m, s, width);
                (high - low) / m * 100.0
            }),
            BollingerOutput::Position => {
                block.triples([mavg, sigma, CLOSE], &mut put, |m, s, close| {
                    let (high, low) = bands(m, s, width);
                    select(high == low, 0.5, (close - low) / (high - low))
                })
            }
        }
    }
}
