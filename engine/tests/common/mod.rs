//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]

use gauntlet_datasets::{CandleSeries, Interval};
use gauntlet_strategies::strategy::{BarContext, EntryIntent, OrderIntent, Side, Strategy};

pub const MIN: i64 = 60_000;
pub const HOUR: i64 = 60 * MIN;
pub const DAY: i64 = 24 * HOUR;

/// A series from `(open, high, low, close)` rows, one bar per `interval` from `start`,
/// volume 1e9 unless given.
pub fn series(
    symbol: &str,
    interval: Interval,
    start: i64,
    rows: &[(f64, f64, f64, f64)],
) -> CandleSeries {
    let mut s = CandleSeries::with_capacity(symbol, interval, rows.len());
    for (i, &(o, h, l, c)) in rows.iter().enumerate() {
        s.push(start + i as i64 * interval.millis(), o, h, l, c, 1e9);
    }
    s
}

/// Flat bars at `price`.
pub fn flat(n: usize, price: f64) -> Vec<(f64, f64, f64, f64)> {
    vec![(price, price, price, price); n]
}

/// Emits the scripted intent at (symbol, bar index).
#[derive(Debug, Clone, Default)]
pub struct Script {
    pub steps: Vec<(usize, usize, OrderIntent)>,
}

impl Script {
    pub fn new(steps: &[(usize, usize, OrderIntent)]) -> Self {
        Self {
            steps: steps.to_vec(),
        }
    }
}

pub fn long() -> OrderIntent {
    OrderIntent::Enter(EntryIntent::market(Side::Long))
}

pub fn short() -> OrderIntent {
    OrderIntent::Enter(EntryIntent::market(Side::Short))
}

impl Strategy for Script {
    type State = ();

    fn name(&self) -> &'static str {
        "script"
    }

    fn new_state(&self) {}

    fn on_bar(&self, _state: &mut (), ctx: &BarContext<'_>) -> Option<OrderIntent> {
        self.steps
            .iter()
            .find(|(s, i, _)| *s == ctx.symbol_index && *i == ctx.bar_index)
            .map(|&(_, _, intent)| intent)
    }
}
