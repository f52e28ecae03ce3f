//! The general loop over time: the timestamps of all symbols merged, for symbols with
//! gaps or on different grids. Each symbol keeps a cursor to its next bar, and a
//! timestamp processes the symbols that have a bar then, except those asleep
//! (`sleep.rs`): their cursor moves on, nothing else happens to them.

use gauntlet_strategies::strategy::Strategy;

use super::columns::PREFETCH_ROWS;
use super::Simulator;
use crate::fill::SlippageModel;

impl<S: Strategy, Sl: SlippageModel> Simulator<'_, S, Sl> {
    /// Timestamps merged over all symbols (some have gaps or other grids). Returns the
    /// candles.
    pub(super) fn run_merged(&mut self) -> u64 {
        let mut candles = 0u64;
        let mut carried = self.portfolio.equity();
        // Each symbol's next open time side by side: finding the next timestamp reads
        // these few cache lines, not a column of every symbol.
        let mut next_ts: Vec<i64> = self
            .slots
            .iter()
            .map(|slot| slot.columns.ts.first().copied().unwrap_or(i64::MAX))
            .collect();
        while let Some(ts) = self.next_timestamp(&next_ts) {
            candles += self.active.len() as u64;
            self.risk.begin_timestamp(ts, carried, &mut self.events);
            for k in 0..self.active.len() {
                let s = self.active[k];
                let slot = &mut self.slots[s];
                let i = slot.cursor;
                slot.last_bar = Some(i);
                if slot.asleep_until > i {
                    continue;
                }
                if slot.asleep_until == i && slot.asleep_from < i {
                    slot.wake(i);
                }
                if i % 8 == 0 {
                    self.prefetch(s, i + PREFETCH_ROWS);
                }
                self.open_bar(s, i);
            }
            for k in 0..self.active.len() {
                let s = self.active[k];
                let i = self.slots[s].cursor;
                if self.slots[s].asleep_until <= i {
                    self.intrabar(s, i);
                }
            }
            for &s in &self.active {
                let slot = &self.slots[s];
                // A sleeping symbol is flat and has no order until it wakes: its mark
                // values nothing, and it is set again at its first close awake.
                if slot.asleep_until <= slot.cursor {
                    self.portfolio.set_mark(s, slot.columns.close[slot.cursor]);
                }
            }
            let (equity, flatten) = self.record_close(ts);
            carried = equity;
            if flatten {
                self.flatten_all(ts);
            }
            for k in 0..self.active.len() {
                let s = self.active[k];
                let i = self.slots[s].cursor;
                if self.slots[s].asleep_until <= i {
                    self.close_bar(s, ts, i);
                }
                let slot = &mut self.slots[s];
                slot.cursor += 1;
                next_ts[s] = slot
                    .columns
                    .ts
                    .get(slot.cursor)
                    .copied()
                    .unwrap_or(i64::MAX);
            }
        }
        // Only flat symbols sleep here (`Simulator::sleep`): no open trade to catch up.
        candles
    }

    /// Unaligned timestamps: the earliest of the symbols' next open times `next_ts`
    /// (`i64::MAX` for a symbol with no bar left), and the symbols that have a bar then
    /// (in `active`, symbol order); `None` when all are done.
    fn next_timestamp(&mut self, next_ts: &[i64]) -> Option<i64> {
        let ts = next_ts.iter().copied().min().unwrap_or(i64::MAX);
        if ts == i64::MAX {
            return None;
        }
        self.active.clear();
        self.active
            .extend((0..next_ts.len()).filter(|&s| next_ts[s] == ts));
        Some(ts)
    }
}
