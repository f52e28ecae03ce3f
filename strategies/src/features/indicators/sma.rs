//! Simple moving averages of the close: `sma`, `price_sma_ratio`.

use crate::features::indicators::{Family, Stateless};
use crate::features::params::{int, Builder, ParamValue, REQUIRED_WINDOW};
use crate::features::primitives::Lanes;
use crate::features::stream::{Block, Planner, Slot, CLOSE};

/// The close against its simple moving average `sma(window)` =
/// `mean(close over the last window bars)` (pandas `rolling(window).mean()`, by a
/// compensated running sum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sma {
    /// `sma`, named `sma_{window}`: `sma(window)`. Warm-up: window − 1.
    Mean { window: usize },
    /// `price_sma_ratio`, named `price_sma_{window}_ratio`: `close / sma(window)`.
    /// Warm-up: window − 1.
    PriceRatio { window: usize },
}

impl Sma {
    fn window(&self) -> usize {
        match *self {
            Sma::Mean { window } | Sma::PriceRatio { window } => window,
        }
    }
}

impl Family for Sma {
    const FAMILIES: &'static [Builder<Self>] = &[
        Builder::new("sma", &[REQUIRED_WINDOW], Some("window"), |p| {
            Ok(Sma::Mean {
                window: p.window("window")?,
            })
        }),
        Builder::new("price_sma_ratio", &[REQUIRED_WINDOW], Some("window"), |p| {
            Ok(Sma::PriceRatio {
                window: p.window("window")?,
            })
        }),
    ];

    fn family(&self) -> &'static str {
        match self {
            Sma::Mean { .. } => "sma",
            Sma::PriceRatio { .. } => "price_sma_ratio",
        }
    }

    fn default_name(&self) -> String {
        match self {
            Sma::Mean { window } => format!("sma_{window}"),
            Sma::PriceRatio { window } => format!("price_sma_{window}_ratio"),
        }
    }

    fn params(&self) -> Vec<(&'static str, ParamValue)> {
        vec![("window", int(self.window()))]
    }

    fn warmup_bars(&self) -> usize {
        self.window() - 1
    }

    type State<const L: usize> = Stateless;

    fn state<const L: usize>(&self) -> Stateless {
        Stateless
    }

    /// The feature and its mean's slot.
    type Column = (Self, Slot);

    fn compile(&self, plan: &mut Planner) -> (Self, Slot) {
        (*self, plan.close_mean(self.window()))
    }

    #[inline(always)]
    fn column<const L: usize>(
        &(feature, mean): &(Self, Slot),
        block: &Block<L>,
        mut put: impl FnMut(usize, Lanes<L>),
    ) {
        match feature {
            Sma::Mean { .. } => block.each(mean, &mut put, |m| m),
            Sma::PriceRatio { .. } => block.pairs(CLOSE, mean, &mut put, |c, m| c / m),
        }
    }
}
