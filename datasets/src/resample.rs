//! Resampling candles to a coarser interval (e.g. 1m → 5m, 15m, 1h, 4h, 1d).
//!
//! Each output bar covers one bucket `[b, b + to)` aligned to UTC epoch boundaries
//! (`b = floor(ts / to) * to`, see [`Interval::bucket_start`]) and is built from the input
//! bars whose open time lies in it:
//! `open = first open`, `high = max high`, `low = min low`, `close = last close`,
//! `volume = sum volume`.
//!
//! Rules for incomplete buckets (documented here because every consumer relies on them):
//! - **edges**: the first bucket is dropped if the data starts after the bucket's start,
//!   and the last bucket is dropped if the data ends before the bucket's last input bar
//!   (`b + to - from`): they are incomplete only because the data was cut there
//!   ([`Resampled::dropped_edge_buckets`]);
//! - **interior buckets with missing input bars** are emitted from the bars present —
//!   what a live feed would have produced at that time — and counted in
//!   [`Resampled::partial_buckets`]; [`Resampled::bars_per_bucket`] says how many input
//!   bars each output bar used (the bucket is complete when it equals `to / from`);
//! - a bucket with no input bar at all produces no output bar (a gap).

use rayon::prelude::*;

use crate::{CandleSeries, Interval};

/// A resampled series and how its buckets were handled.
#[derive(Debug, Clone, PartialEq)]
pub struct Resampled {
    pub series: CandleSeries,
    /// For each output bar, the number of input bars aggregated into it.
    pub bars_per_bucket: Vec<u32>,
    /// Emitted interior buckets with fewer than `to / from` input bars.
    pub partial_buckets: usize,
    /// First/last buckets dropped because the data starts/ends inside them (0, 1 or 2).
    pub dropped_edge_buckets: usize,
}

/// Why a series cannot be resampled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResampleError {
    #[error("{symbol}: cannot resample {from} to {to}: the target interval must be coarser than the input")]
    NotCoarser {
        symbol: String,
        from: Interval,
        to: Interval,
    },
    #[error("{symbol}: cannot resample {from} to {to}: {to} is not a whole multiple of {from}")]
    NotMultiple {
        symbol: String,
        from: Interval,
        to: Interval,
    },
    #[error("{symbol}: bar {index} (0-based) has open time {ts} ms, not after the previous bar's {previous} ms; resampling needs strictly increasing timestamps (run `gauntlet data validate`)")]
    NotIncreasing {
        symbol: String,
        index: usize,
        ts: i64,
        previous: i64,
    },
}

/// Resamples one series to the coarser interval `to` (rules in the module docs).
pub fn resample(series: &CandleSeries, to: Interval) -> Result<Resampled, ResampleError> {
    let from = series.interval();
    let symbol = series.symbol();
    if to.millis() <= from.millis() {
        return Err(ResampleError::NotCoarser {
            symbol: symbol.to_string(),
            from,
            to,
        });
    }
    if to.millis() % from.millis() != 0 {
        return Err(ResampleError::NotMultiple {
            symbol: symbol.to_string(),
            from,
            to,
        });
    }
    let ts = series.ts();
    if let Some(index) = ts.windows(2).position(|w| w[1] <= w[0]) {
        return Err(ResampleError::NotIncreasing {
            symbol: symbol.to_string(),
            index: index + 1,
            ts: ts[index + 1],
            previous: ts[index],
        });
    }
    let (open, high, low, close, volume) = (
        series.open(),
        series.high(),
        series.low(),
        series.close(),
        series.volume(),
    );
    let n = ts.len();
    let per_bucket = to.millis() / from.millis();
    let mut out = CandleSeries::with_capacity(symbol, to, n / per_bucket as usize + 2);
    let mut bars_per_bucket = Vec::with_capacity(n / per_bucket as usize + 2);
    let mut partial_buckets = 0;
    let mut dropped_edge_buckets = 0;
    let mut start = 0;
    while start < n {
        let bucket = to.bucket_start(ts[start]);
        let bucket_end = bucket + to.millis();
        let end = start
            + ts[start..]
                .iter()
                .position(|&t| t >= bucket_end)
                .unwrap_or(n - start);
        let hi = high[start + 1..end]
            .iter()
            .copied()
            .fold(high[start], f64::max);
        let lo = low[start + 1..end]
            .iter()
            .copied()
            .fold(low[start], f64::min);
        let vol: f64 = volume[start..end].iter().sum();
        let count = (end - start) as i64;
        let starts_inside = start == 0 && ts[0] != bucket;
        let ends_inside = end == n && ts[n - 1] != bucket_end - from.millis();
        if starts_inside || ends_inside {
            dropped_edge_buckets += 1;
        } else {
            out.push(bucket, open[start], hi, lo, close[end - 1], vol);
            bars_per_bucket.push(count as u32);
            if count < per_bucket {
                partial_buckets += 1;
            }
        }
        start = end;
    }
    Ok(Resampled {
        series: out,
        bars_per_bucket,
        partial_buckets,
        dropped_edge_buckets,
    })
}

/// Resamples every series in parallel; results in input order.
pub fn resample_all(
    series: &[CandleSeries],
    to: Interval,
) -> Result<Vec<Resampled>, ResampleError> {
    series.par_iter().map(|s| resample(s, to)).collect()
}
