//! The columnar candle series every other crate consumes.

use gauntlet_kernels::lanes::is_usable_bar;
use serde::{Deserialize, Serialize};

use crate::Interval;

/// One candle (`ts` = bar open time, ms UTC): what a strategy sees at a bar's close, what
/// the streaming feature computer takes, what a fill is simulated against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    pub ts: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

impl Bar {
    /// Finite positive prices and a finite non-negative volume (the rule the feature
    /// pipeline's kernels check four series at a time).
    pub fn is_usable(&self) -> bool {
        is_usable_bar(self.open, self.high, self.low, self.close, self.volume)
    }
}

/// One symbol's candles at one interval, stored column by column.
///
/// Invariant checked at construction: all six columns have the same length.
/// Content rules (sorted timestamps, finite positive prices, …) are the job of
/// [`mod@crate::validate`]; a series built by the loaders has passed them.
#[derive(Debug, Clone, PartialEq)]
pub struct CandleSeries {
    symbol: String,
    interval: Interval,
    ts: Vec<i64>,
    open: Vec<f64>,
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
}

/// Columns of different lengths were given to [`CandleSeries::new`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("candle columns for {symbol} have different lengths: ts {ts}, open {open}, high {high}, low {low}, close {close}, volume {volume}")]
pub struct CandleSeriesError {
    pub symbol: String,
    pub ts: usize,
    pub open: usize,
    pub high: usize,
    pub low: usize,
    pub close: usize,
    pub volume: usize,
}

impl CandleSeries {
    /// Builds a series from its columns; fails if their lengths differ.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        symbol: impl Into<String>,
        interval: Interval,
        ts: Vec<i64>,
        open: Vec<f64>,
        high: Vec<f64>,
        low: Vec<f64>,
        close: Vec<f64>,
        volume: Vec<f64>,
    ) -> Result<Self, CandleSeriesError> {
        let symbol = symbol.into();
        let n = ts.len();
        if [open.len(), high.len(), low.len(), close.len(), volume.len()]
            .iter()
            .any(|&len| len != n)
        {
            return Err(CandleSeriesError {
                symbol,
                ts: n,
                open: open.len(),
                high: high.len(),
                low: low.len(),
                close: close.len(),
                volume: volume.len(),
            });
        }
        Ok(Self {
            symbol,
            interval,
            ts,
            open,
            high,
            low,
            close,
            volume,
        })
    }

    /// An empty series with room for `capacity` bars, to be filled with [`Self::push`].
    pub fn with_capacity(symbol: impl Into<String>, interval: Interval, capacity: usize) -> Self {
        Self {
            symbol: symbol.into(),
            interval,
            ts: Vec::with_capacity(capacity),
            open: Vec::with_capacity(capacity),
            high: Vec::with_capacity(capacity),
            low: Vec::with_capacity(capacity),
            close: Vec::with_capacity(capacity),
            volume: Vec::with_capacity(capacity),
        }
    }

    /// Appends one bar (keeps the columns the same length by construction).
    pub fn push(&mut self, ts: i64, open: f64, high: f64, low: f64, close: f64, volume: f64) {
        self.ts.push(ts);
        self.open.push(open);
        self.high.push(high);
        self.low.push(low);
        self.close.push(close);
        self.volume.push(volume);
    }

    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    pub fn interval(&self) -> Interval {
        self.interval
    }

    /// Number of bars.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Bar open times, ms since the Unix epoch (UTC).
    pub fn ts(&self) -> &[i64] {
        &self.ts
    }

    pub fn open(&self) -> &[f64] {
        &self.open
    }

    pub fn high(&self) -> &[f64] {
        &self.high
    }

    pub fn low(&self) -> &[f64] {
        &self.low
    }

    pub fn close(&self) -> &[f64] {
        &self.close
    }

    pub fn volume(&self) -> &[f64] {
        &self.volume
    }

    /// Row `i` as one [`Bar`]. Panics if `i ≥ len()`.
    pub fn bar(&self, i: usize) -> Bar {
        Bar {
            ts: self.ts[i],
            open: self.open[i],
            high: self.high[i],
            low: self.low[i],
            close: self.close[i],
            volume: self.volume[i],
        }
    }

    /// Open time of the first and of the last bar, if any.
    pub fn span(&self) -> Option<(i64, i64)> {
        Some((*self.ts.first()?, *self.ts.last()?))
    }

    /// The bars whose open time lies in `[from_ms, to_ms)`, as a new series.
    pub fn window(&self, from_ms: i64, to_ms: i64) -> CandleSeries {
        let start = self.ts.partition_point(|&t| t < from_ms);
        let end = self.ts.partition_point(|&t| t < to_ms).max(start);
        CandleSeries {
            symbol: self.symbol.clone(),
            interval: self.interval,
            ts: self.ts[start..end].to_vec(),
            open: self.open[start..end].to_vec(),
            high: self.high[start..end].to_vec(),
            low: self.low[start..end].to_vec(),
            close: self.close[start..end].to_vec(),
            volume: self.volume[start..end].to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_columns_of_different_lengths() {
        let err = CandleSeries::new(
            "BTC-USD",
            Interval::M1,
            vec![0, 60_000],
            vec![1.0, 1.0],
            vec![1.0, 1.0],
            vec![1.0],
            vec![1.0, 1.0],
            vec![1.0, 1.0],
        )
        .unwrap_err();
        assert!(err.to_string().contains("low 1"), "{err}");
    }

    #[test]
    fn window_is_half_open() {
        let mut s = CandleSeries::with_capacity("X", Interval::M1, 4);
        for i in 0..4 {
            s.push(i * 60_000, 1.0, 1.0, 1.0, 1.0, 0.0);
        }
        let w = s.window(60_000, 180_000);
        assert_eq!(w.ts(), &[60_000, 120_000]);
        assert!(s.window(500_000, 0).is_empty());
    }
}
