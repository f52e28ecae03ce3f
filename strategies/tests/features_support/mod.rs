//! Random candle series for the feature property tests.
#![allow(dead_code)] // each test file uses a different subset of these helpers

use gauntlet_datasets::{CandleSeries, Interval};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// 2024-01-01T00:00:00Z, a Monday.
pub const START_MS: i64 = 1_704_067_200_000;

/// How rough the generated data is.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Chance that a bar is followed by a gap of 1..30 missing bars.
    pub gap_chance: f64,
    /// Chance that a bar has a NaN close (an unusable bar).
    pub nan_chance: f64,
}

pub const CLEAN: Shape = Shape {
    gap_chance: 0.0,
    nan_chance: 0.0,
};

/// A 1m random walk of `len` bars starting `offset_min` minutes after START_MS.
pub fn random_series(seed: u64, len: usize, offset_min: i64, shape: Shape) -> CandleSeries {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut series = CandleSeries::with_capacity("RND", Interval::M1, len);
    let level = if rng.gen_bool(0.5) { 1.1 } else { 60_000.0 };
    let mut close: f64 = level;
    let mut ts = START_MS + offset_min * 60_000;
    for _ in 0..len {
        let open = close;
        close = open * (1.0 + rng.gen_range(-0.002..0.002));
        // Some flat bars, as in illiquid markets.
        if rng.gen_bool(0.05) {
            close = open;
        }
        let high = open.max(close) * (1.0 + rng.gen_range(0.0..0.001));
        let low = open.min(close) * (1.0 - rng.gen_range(0.0..0.001));
        let volume = if rng.gen_bool(0.05) {
            0.0
        } else {
            rng.gen_range(0.0..1000.0)
        };
        let shown_close = if rng.gen_bool(shape.nan_chance) {
            f64::NAN
        } else {
            close
        };
        series.push(ts, open, high, low, shown_close, volume);
        ts += 60_000;
        if rng.gen_bool(shape.gap_chance) {
            ts += rng.gen_range(1..30) * 60_000;
        }
    }
    series
}

/// NaN-aware bitwise equality of two feature values.
pub fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}
