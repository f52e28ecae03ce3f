//! Candles for the unit tests.

use gauntlet_datasets::{CandleSeries, Interval};

/// A random walk (xorshift) of 1m bars from minute `first_bar` on: close-to-close
/// returns uniform in `±step / 2`, high and low `wick` beyond the body, every `gap`-th
/// bar left out (none when `gap` is 0).
pub(crate) fn walk(
    seed: u64,
    first_bar: i64,
    bars: usize,
    gap: usize,
    step: f64,
    wick: f64,
) -> CandleSeries {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut close = 100.0;
    let mut s = CandleSeries::with_capacity(format!("W{seed}"), Interval::M1, bars);
    for i in 0..bars {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let u = (x >> 11) as f64 / (1u64 << 53) as f64;
        let open = close;
        close = open * (1.0 + step * (u - 0.5));
        if gap > 0 && i % gap == gap - 1 {
            continue;
        }
        let (high, low) = (
            open.max(close) * (1.0 + wick),
            open.min(close) * (1.0 - wick),
        );
        s.push((first_bar + i as i64) * 60_000, open, high, low, close, 1e6);
    }
    s
}
