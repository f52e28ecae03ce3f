//! Zero heap allocation per bar in steady state, measured with a counting global
//! allocator (this file is its own test binary, so the allocator sees nothing else).
//!
//! Allocations are counted per thread, so tests running in parallel do not disturb
//! each other's counts. Each run happens on the one worker of a pool of its own: a run
//! with per-symbol capital simulates its symbols on rayon's workers, and with a single
//! worker all of it happens on that thread.

#[path = "common/peer.rs"]
mod peer;

use gauntlet_datasets::{CandleSeries, Interval};
use gauntlet_engine::{simulate, RunResult, SymbolInput};
use gauntlet_kernels::counting_allocator::{allocations, CountingAllocator};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs PEER on `universe`, returning the result and the allocations (including
/// reallocations) the call made.
fn counted_run(universe: &[CandleSeries]) -> (RunResult, u64) {
    let inputs: Vec<SymbolInput<'_>> = universe.iter().map(SymbolInput::new).collect();
    let config = peer::peer_config();
    let strategy = peer::peer_strategy(universe);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        let before = allocations();
        let result = simulate(&config, &strategy, &inputs).unwrap();
        let after = allocations();
        (result, after - before)
    })
}

/// `bars` candles whose first `moving` follow the PEER random walk and whose rest stay
/// flat at the last close (no SMA cross and no stop can happen there).
fn walk_then_flat(symbol: usize, moving: usize, bars: usize) -> CandleSeries {
    let walk = peer::peer_series(symbol, moving);
    let mut out = CandleSeries::with_capacity(walk.symbol(), Interval::M1, bars);
    for i in 0..moving {
        out.push(
            walk.ts()[i],
            walk.open()[i],
            walk.high()[i],
            walk.low()[i],
            walk.close()[i],
            walk.volume()[i],
        );
    }
    let last = walk.close()[moving - 1];
    for i in moving..bars {
        out.push(
            peer::START_MS + i as i64 * 60_000,
            last,
            last,
            last,
            last,
            1e6,
        );
    }
    out
}

/// Same trades by construction, twice the bars: exactly the same number of allocations.
#[test]
fn more_bars_without_more_trades_allocate_nothing_more() {
    for symbols in [1, 5] {
        let short: Vec<_> = (0..symbols)
            .map(|s| walk_then_flat(s, 5_000, 20_000))
            .collect();
        let long: Vec<_> = (0..symbols)
            .map(|s| walk_then_flat(s, 5_000, 40_000))
            .collect();
        let (short_result, short_allocations) = counted_run(&short);
        let (long_result, long_allocations) = counted_run(&long);
        assert!(short_result.trades.len() > 50, "the walk must trade");
        assert_eq!(short_result.trades.len(), long_result.trades.len());
        assert_eq!(short_result.orders.len(), long_result.orders.len());
        assert_eq!(short_result.fills.len(), long_result.fills.len());
        assert_eq!(
            long_allocations,
            short_allocations,
            "{symbols} symbols: 20 000 more bars (and no more trades) allocated {} times more",
            long_allocations as i64 - short_allocations as i64
        );
    }
}

/// Trading all along: twice the bars may only add what the extra trades explain (their
/// records and the amortized growth of the logs), far less than one allocation per bar.
#[test]
fn allocations_grow_with_trades_not_with_bars() {
    for (symbols, bars) in [(1, 20_000), (10, 4_000)] {
        let (short_result, short_allocations) = counted_run(&peer::peer_universe(symbols, bars));
        let (long_result, long_allocations) = counted_run(&peer::peer_universe(symbols, 2 * bars));
        let extra_bars = (symbols * bars) as u64;
        let extra_trades = (long_result.trades.len() - short_result.trades.len()) as u64;
        assert!(extra_trades > 0 && extra_trades * 10 < extra_bars);
        // Trades own no heap data (the symbol is an index) and the logs are reserved from
        // the candle count; the bound still allows one allocation per trade plus a few
        // dozen reallocations for logs that outgrow their reservation.
        let explained = extra_trades + 64;
        let extra = long_allocations.saturating_sub(short_allocations);
        assert!(
            extra <= explained,
            "{symbols} × {bars} → {symbols} × {}: {extra} more allocations for {extra_bars} \
             more bars and {extra_trades} more trades (at most {explained} explained)",
            2 * bars
        );
    }
}
