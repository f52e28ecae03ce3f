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
        while let Some(ts) = self.next_timestamp() {
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
                self.portfolio.set_mark(s, slot.columns.close[slot.cursor]);
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
                self.slots[s].cursor += 1;
            }
        }
        for slot in &mut self.slots {
            // Still asleep: an open trade is closed at the end of data.
            let bars = slot.columns.ts.len();
            if slot.asleep_until >= bars && slot.asleep_from < bars {
                slot.wake(bars);
            }
        }
        candles
    }

    /// Unaligned timestamps: the earliest next bar over all symbols, and the symbols
    /// that have a bar then (in `active`, symbol order); `None` when all are done.
    fn next_timestamp(&mut self) -> Option<i64> {
        let mut ts = i64::MAX;
        for slot in &self.slots {
            if let Some(&t) = slot.columns.ts.get(slot.cursor) {
                ts = ts.min(t);
            }
        }
        if ts == i64::MAX {
            return None;
        }
        self.active.clear();
        for (s, slot) in self.slots.iter().enumerate() {
            if slot.columns.ts.get(slot.cursor) == Some(&ts) {
                self.active.push(s);
            }
        }
        Some(ts)
    }
}
