//! A symbol's candle columns as plain slices ([`Columns`]) and the cache prefetch hints
//! of the loops over time.

use gauntlet_datasets::CandleSeries;
use gauntlet_kernels::memory::prefetch_into_l2;
use gauntlet_strategies::strategy::{Bar, Strategy};

use super::Simulator;
use crate::fill::SlippageModel;

/// One symbol's candle columns as plain slices of one common length, taken once per run
/// so the hot loop reads them without a call into the datasets crate per field.
#[derive(Debug, Clone, Copy)]
pub(super) struct Columns<'a> {
    pub(super) ts: &'a [i64],
    pub(super) open: &'a [f64],
    pub(super) high: &'a [f64],
    pub(super) low: &'a [f64],
    pub(super) close: &'a [f64],
    pub(super) volume: &'a [f64],
}

impl<'a> Columns<'a> {
    pub(super) fn new(c: &'a CandleSeries) -> Self {
        let n = c.len();
        Self {
            ts: &c.ts()[..n],
            open: &c.open()[..n],
            high: &c.high()[..n],
            low: &c.low()[..n],
            close: &c.close()[..n],
            volume: &c.volume()[..n],
        }
    }

    /// Starts loading row `i` of every column into the cache (a hint only).
    #[inline]
    fn prefetch(&self, i: usize) {
        prefetch(self.ts, i);
        prefetch(self.open, i);
        prefetch(self.high, i);
        prefetch(self.low, i);
        prefetch(self.close, i);
        prefetch(self.volume, i);
    }

    /// Row `i` of every column.
    #[inline(always)]
    pub(super) fn bar(&self, i: usize) -> Bar {
        Bar {
            ts: self.ts[i],
            open: self.open[i],
            high: self.high[i],
            low: self.low[i],
            close: self.close[i],
            volume: self.volume[i],
        }
    }
}

/// Rows between a prefetch and the row that reads it: two cache lines of f64 ahead.
pub(super) const PREFETCH_ROWS: usize = 16;

/// Asks the CPU to start loading the cache line that holds `values[i]` into L2, so that
/// the loop over timestamps, which visits every symbol's columns at the same row (too
/// many interleaved streams for the hardware prefetcher), does not wait for memory.
/// A hint: it cannot change any result; out-of-range rows are skipped.
#[inline(always)]
fn prefetch<T>(values: &[T], i: usize) {
    if let Some(value) = values.get(i) {
        prefetch_into_l2(value);
    }
}

impl<S: Strategy, Sl: SlippageModel> Simulator<'_, S, Sl> {
    /// Starts loading row `i` of symbol `s`'s candles and model outputs (a hint only).
    #[inline(always)]
    pub(super) fn prefetch(&self, s: usize, i: usize) {
        self.slots[s].columns.prefetch(i);
        if let Some(model) = &self.inputs[s].model {
            let (probabilities, consensus) = model.columns();
            prefetch(probabilities, i * model.n_classes());
            prefetch(consensus, i);
        }
    }
}
