//! Times the PEER workload (see WORKLOADS.md) in whatever profile it is built in:
//! `cargo run -p gauntlet-engine --example peer [repetitions [symbols]]` (dev profile: our crates
//! are built at opt-level 3) or `--release`. Prints the median throughput of each
//! shape in candles per second and a fingerprint of the results (trades, final equity)
//! so that optimizations can be checked not to change them. The SMA crosses are
//! precomputed once per shape, outside the timed calls (simulator only, signals given).
//! On Linux it also prints the calling thread's on-CPU time, which a busy machine does
//! not inflate.

#[path = "../tests/common/peer.rs"]
mod peer;

use std::time::Instant;

use gauntlet_engine::{simulate, SymbolInput};

fn main() {
    let repetitions: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(7);
    // An optional second argument picks one shape by its symbol count (100 or 1).
    let only: Option<usize> = std::env::args().nth(2).and_then(|a| a.parse().ok());
    for (symbols, bars) in [(100, 10_000), (1, 1_000_000)] {
        if only.is_some_and(|n| n != symbols) {
            continue;
        }
        let universe = peer::peer_universe(symbols, bars);
        let strategy = peer::peer_signals(&universe);
        let inputs: Vec<SymbolInput<'_>> = universe.iter().map(SymbolInput::new).collect();
        let config = peer::peer_config(symbols);
        let mut seconds = Vec::with_capacity(repetitions);
        let mut cpu_seconds = Vec::with_capacity(repetitions);
        let mut fingerprint = None;
        for _ in 0..repetitions {
            let cpu_started = thread_cpu_seconds();
            let started = Instant::now();
            let result = simulate(&config, &strategy, &inputs).expect("PEER runs");
            seconds.push(started.elapsed().as_secs_f64());
            if let (Some(end), Some(start)) = (thread_cpu_seconds(), cpu_started) {
                cpu_seconds.push(end - start);
            }
            fingerprint = Some((result.candles, result.trades.len(), result.final_equity));
        }
        seconds.sort_by(f64::total_cmp);
        let median = seconds[seconds.len() / 2];
        let (candles, trades, equity) = fingerprint.expect("at least one repetition");
        println!(
            "PEER {symbols} x {bars}: median {:.2} ms, {:.1} M candles/s (min {:.1}, max {:.1}); \
             {candles} candles, {trades} trades, final equity {equity:.6}",
            median * 1e3,
            candles as f64 / median / 1e6,
            candles as f64 / seconds[seconds.len() - 1] / 1e6,
            candles as f64 / seconds[0] / 1e6,
        );
        if !cpu_seconds.is_empty() {
            cpu_seconds.sort_by(f64::total_cmp);
            let cpu_median = cpu_seconds[cpu_seconds.len() / 2];
            println!(
                "    on-CPU time of the calling thread: median {:.2} ms, {:.1} M candles/s (max {:.1})",
                cpu_median * 1e3,
                candles as f64 / cpu_median / 1e6,
                candles as f64 / cpu_seconds[0] / 1e6
            );
        }
    }
}

/// Time this thread has spent on a CPU (Linux `/proc/thread-self/schedstat`), which,
/// unlike the wall clock, does not count the time other processes held the cores.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(nanos as f64 * 1e-9)
}
