//! Calendar fields of the bar's UTC open time: `day_of_week`, `is_weekend`.

use crate::features::indicators::{Family, Stateless};
use crate::features::params::{Builder, ParamValue};
use crate::features::primitives::{flag, Lanes};
use crate::features::stream::{Block, Planner, WEEKDAY};

/// A calendar field of the bar's UTC open time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calendar {
    /// `day_of_week`: 0 = Monday … 6 = Sunday.
    DayOfWeek,
    /// `is_weekend`: 1 if day_of_week ≥ 5 (Saturday or Sunday UTC), else 0.
    IsWeekend,
}

impl Family for Calendar {
    const FAMILIES: &'static [Builder<Self>] = &[
        Builder::new("day_of_week", &[], None, |_| Ok(Calendar::DayOfWeek)),
        Builder::new("is_weekend", &[], None, |_| Ok(Calendar::IsWeekend)),
    ];

    fn family(&self) -> &'static str {
        match self {
            Calendar::DayOfWeek => "day_of_week",
            Calendar::IsWeekend => "is_weekend",
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
            Calendar::DayOfWeek => block.each(WEEKDAY, &mut put, |d| d),
            Calendar::IsWeekend => block.each(WEEKDAY, &mut put, |d| flag(d >= 5.0)),
        }
    }
}
