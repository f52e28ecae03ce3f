//! The sleep/wake fast path of the aligned loop. A symbol with no working order sleeps
//! until its strategy's next decision ([`Strategy::next_decision`]) or, holding, until
//! the first bar that may reach a protective level or the time stop: the loop skips its
//! bars meanwhile, and when it wakes the open trade catches up on them.

use gauntlet_strategies::strategy::Strategy;

use super::slot::{OpenTrade, Slot};
use super::Simulator;
use crate::fill::SlippageModel;

/// The first bar whose open or range reaches outside the open interval
/// `(below, above)` of a quiet band (a bar with a NaN among them reaches too), over the
/// equally long `open`, `low` and `high`.
fn first_reaching(
    open: &[f64],
    low: &[f64],
    high: &[f64],
    (below, above): (f64, f64),
) -> Option<usize> {
    // Blocks are tested whole, without an early exit, so the test vectorizes; the first
    // block with a bar that reaches is then searched bar by bar.
    const BLOCK: usize = 8;
    // The quiet path's test, negated as a whole so that NaN reaches.
    let reaches = |o: f64, l: f64, h: f64| !((o > below) & (l > below) & (o < above) & (h < above));
    let blocks = open
        .chunks_exact(BLOCK)
        .zip(low.chunks_exact(BLOCK))
        .zip(high.chunks_exact(BLOCK));
    let quiet_blocks = blocks
        .take_while(|((o, l), h)| {
            let bars = o.iter().zip(*l).zip(*h);
            !bars.fold(false, |any, ((&o, &l), &h)| any | reaches(o, l, h))
        })
        .count();
    let mut bars = open.iter().zip(low).zip(high).skip(quiet_blocks * BLOCK);
    bars.position(|((&o, &l), &h)| reaches(o, l, h))
        .map(|k| quiet_blocks * BLOCK + k)
}

impl<St> Slot<'_, St> {
    /// At row `row`, after rows `asleep_from..row` were skipped: what the quiet path
    /// would have done to the open trade on them (ATR catches up by itself).
    #[inline(never)]
    pub(super) fn wake(&mut self, row: usize) {
        let slept = self.asleep_from..row;
        self.asleep_from = row;
        if let Some(t) = self.trade.as_mut() {
            let c = &self.columns;
            t.low_water = c.low[slept.clone()]
                .iter()
                .fold(t.low_water, |m, &x| m.min(x));
            t.high_water = c.high[slept.clone()]
                .iter()
                .fold(t.high_water, |m, &x| m.max(x));
            t.bars_held += slept.len();
        }
    }
}

impl<S: Strategy, Sl: SlippageModel> Simulator<'_, S, Sl> {
    /// Aligned grid, at the close of bar `i` of symbol `s`, which has no working order:
    /// lets the symbol sleep until the first later bar at which anything but ATR (and,
    /// holding, the excursions and the bar count) can happen to it. Flat, that is the
    /// strategy's next decision. Holding, also the first bar whose open or range reaches
    /// the stop or target, and the time stop; not at all with a trailing stop (it moves
    /// at every close) or with equity-based rules (they may flatten at any close).
    pub(super) fn sleep(&mut self, s: usize, i: usize) {
        let slot = &self.slots[s];
        let holding_may_sleep = |t: &OpenTrade| {
            self.deferred_curve
                && self.config.risk.trailing_stop.is_none()
                && t.checks_from_bar <= i + 1
        };
        // Checked before asking the strategy, whose answer may take a scan.
        if slot.trade.as_ref().is_some_and(|t| !holding_may_sleep(t)) {
            return;
        }
        let held = slot.trade.as_ref().map(|t| t.side);
        let mut until = self.strategy.next_decision(s, i + 1, held);
        if let Some(t) = &slot.trade {
            if let Some(limit) = self.config.risk.time_stop_bars {
                // Its close at bar `i + limit − bars_held` reaches the limit.
                until = until.min(i + limit.saturating_sub(t.bars_held));
            }
            let c = &slot.columns;
            // (A hint before `i + 1` would be a strategy's error: then no sleep.)
            let ahead = i + 1..until.clamp(i + 1, c.ts.len());
            let busy = first_reaching(
                &c.open[ahead.clone()],
                &c.low[ahead.clone()],
                &c.high[ahead.clone()],
                t.quiet_band,
            );
            until = busy.map_or(ahead.end, |k| ahead.start + k);
        }
        if until > i + 1 {
            let slot = &mut self.slots[s];
            slot.asleep_from = i + 1;
            slot.asleep_until = until;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The block-wise scan finds the bar the plain scan finds, NaN included.
        #[test]
        fn first_reaching_finds_the_first_bar_outside_the_band(
            bars in prop::collection::vec(
                prop::array::uniform3(prop_oneof![50 => 1.0f64..3.0, 1 => Just(f64::NAN)]),
                0..40,
            ),
        ) {
            let band = (1.01, 2.99);
            let (open, low, high): (Vec<f64>, Vec<f64>, Vec<f64>) =
                bars.iter().map(|&[o, l, h]| (o, l, h)).collect();
            let expected = bars.iter().position(|&[o, l, h]| {
                !(o > band.0 && l > band.0 && o < band.1 && h < band.1)
            });
            prop_assert_eq!(first_reaching(&open, &low, &high, band), expected);
        }
    }
}
