//! The bar's range: `spread`, `spread_pct`.

use crate::features::indicators::{Family, Stateless};
use crate::features::params::{Builder, ParamValue};
use crate::features::primitives::Lanes;
use crate::features::stream::{Block, Planner, CLOSE, HIGH, LOW};

/// The bar's high–low range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spread {
    /// `spread = high − low` (price units).
    Price,
    /// `spread_pct = (high − low) / close`.
    Pct,
}

impl Family for Spread {
    const FAMILIES: &'static [Builder<Self>] = &[
        Builder::new("spread", &[], None, |_| Ok(Spread::Price)),
        Builder::new("spread_pct", &[], None, |_| Ok(Spread::Pct)),
    ];

    fn family(&self) -> &'static str {
        match self {
            Spread::Price => "spread",
            Spread::Pct => "spread_pct",
        }
    }

    fn params(&self) -> Vec<(&'static str, ParamValue)> {
        vec![]
    }

    fn warmup_bars(&self) -> usize {
        0
    }

    type State<const L: usize> = Stateless;

    fn state<const L: usize>(&self) -> Stateless {
        Stateless
    }

    type Column = Self;

    fn compile(&self, _: &mut Planner) -> Self {
        *self
    }

    #[inline(always)]
    fn column<const L: usize>(
        column: &Self,
        block: &Block<L>,
        mut put: impl FnMut(usize, Lanes<L>),
    ) {
        match column {
            Spread::Price => block.pairs(HIGH, LOW, &mut put, |h, l| h - l),
            Spread::Pct => block.triples([HIGH, LOW, CLOSE], &mut put, |high, low, close| {
                (high - low) / close
            }),
        }
    }
}
