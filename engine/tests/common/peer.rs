//! The PEER workload (see benches/WORKLOADS.md): SMA(10)/SMA(30) cross, long-only, 2 % stop-loss
//! from the entry, all-in sizing, next-open fills, no fees, on deterministic 1m candles.
//!
//! Shared by the criterion bench (`benches/peer.rs`), the dev-profile timing example
//! (`examples/peer.rs`) and the allocation test (`tests/allocations.rs`) through
//! `#[path]` modules, so all three run exactly the same workload.
#![allow(dead_code)]

use gauntlet_datasets::{CandleSeries, Interval};
use gauntlet_engine::{Capital, Distance, EngineConfig, RiskConfig, Sizing};
use gauntlet_strategies::strategy::{SmaCross, SmaCrossConfig};

/// First bar open time: 2024-01-01T00:00:00Z.
pub const START_MS: i64 = 1_704_067_200_000;

/// SplitMix64: a tiny, fully specified generator, so the candles are identical on
/// every platform and in every build profile.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` from the top 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One symbol's candles: a geometric random walk of the close with uniform log returns
/// of standard deviation 0.1 % per bar (`√3 × 0.001 × (2u − 1)`), each bar opening at
/// the previous close, high/low up to 0.05 % beyond the body, volume 1e6, one bar per
/// minute from [`START_MS`] without gaps.
pub fn peer_series(symbol_index: usize, bars: usize) -> CandleSeries {
    let mut rng = SplitMix64(0x5EED_0000 + symbol_index as u64);
    let mut series = CandleSeries::with_capacity(format!("S{symbol_index:03}"), Interval::M1, bars);
    let step = 3f64.sqrt() * 0.001;
    let mut close = 100.0;
    for i in 0..bars {
        let open = close;
        close = open * (step * (2.0 * rng.unit() - 1.0)).exp();
        let high = open.max(close) * (1.0 + 0.0005 * rng.unit());
        let low = open.min(close) * (1.0 - 0.0005 * rng.unit());
        series.push(START_MS + i as i64 * 60_000, open, high, low, close, 1e6);
    }
    series
}

/// `symbols` series of `bars` candles sharing the same timestamps.
pub fn peer_universe(symbols: usize, bars: usize) -> Vec<CandleSeries> {
    (0..symbols).map(|s| peer_series(s, bars)).collect()
}

/// No fees or slippage, 2 % stop-loss from the entry fill, all-in sizing: every symbol
/// trades all-in on its own `1 / symbols` of the capital ([`Capital::PerSymbol`], what
/// vectorbt does for several columns without cash sharing).
pub fn peer_config() -> EngineConfig {
    EngineConfig {
        initial_cash: 1_000_000.0,
        risk: RiskConfig {
            stop_loss: Some(Distance::Percent { percent: 2.0 }),
            sizing: Sizing::FixedFraction { fraction: 1.0 },
            capital: Capital::PerSymbol,
            ..RiskConfig::default()
        },
        ..EngineConfig::default()
    }
}

const PEER_SMA: SmaCrossConfig = SmaCrossConfig {
    fast: 10,
    slow: 30,
    allow_short: false,
};

/// SMA(10)/SMA(30) cross, long-only, its crosses found when it is made: once, outside
/// the timed simulation, as vectorbt is given its signals.
pub fn peer_strategy(universe: &[CandleSeries]) -> SmaCross {
    SmaCross::new(PEER_SMA, universe.iter().map(CandleSeries::close))
        .expect("10/30 is a valid SMA cross")
}
