//! A symbol's candle columns as plain slices ([`Columns`]) and the cache prefetch hints
//! of the loops over time. All `unsafe` code of the loop is here: the unchecked row
//! read and the prefetch instruction.

use gauntlet_datasets::CandleSeries;
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

    /// Row `i` of every column; one bounds check covers all six (they have one length).
    #[inline(always)]
    pub(super) fn bar(&self, i: usize) -> Bar {
        let n = self.ts.len();
        assert!(i < n, "bar {i} of a series of {n} candles");
        // SAFETY: `new` cuts every column to the same length `n`, and `i < n`.
        unsafe {
            Bar {
                ts: *self.ts.get_unchecked(i),
                open: *self.open.get_unchecked(i),
                high: *self.high.get_unchecked(i),
                low: *self.low.get_unchecked(i),
                close: *self.close.get_unchecked(i),
                volume: *self.volume.get_unchecked(i),
            }
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
    #[cfg(target_arch = "x86_64")]
    if let Some(value) = values.get(i) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
        // SAFETY: the pointer is to a live element, and a prefetch never faults nor
        // makes data visible to the program; it only warms the cache.
        unsafe { _mm_prefetch::<_MM_HINT_T1>((value as *const T).cast()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (values, i);
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
