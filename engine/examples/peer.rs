//! Times the PEER workload (see benches/WORKLOADS.md) in whatever profile it is built in:
//! `cargo run -p gauntlet-engine --example peer [repetitions [symbols]]` (dev profile: our crates
//! are built at opt-level 3) or `--release`. Prints the median throughput of each
//! shape in candles per second and a fingerprint of the results (trades, final equity)
//! so that optimizations can be checked not to change them. The SMA crosses are
//! precomputed once per shape, outside the timed calls (simulator only, signals given).
//! On Linux it also prints the on-CPU time of all the process's threads, which a busy
//! machine does not inflate.

#[path = "../tests/common/peer.rs"]
mod peer;

use std::time::Instant;

use gauntlet_engine::{simulate, SymbolInput};

/// The `gauntlet` binary's allocator (src/main.rs), so the example measures what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        let strategy = peer::peer_strategy(&universe);
        let inputs: Vec<SymbolInput<'_>> = universe.iter().map(SymbolInput::new).collect();
        let config = peer::peer_config();
        let mut seconds = Vec::with_capacity(repetitions);
        let mut cpu_seconds = Vec::with_capacity(repetitions);
        let mut fingerprint = None;
        for _ in 0..repetitions {
            let cpu_started = process_cpu_seconds();
            let started = Instant::now();
            let result = simulate(&config, &strategy, &inputs).expect("PEER runs");
            seconds.push(started.elapsed().as_secs_f64());
            if let (Some(end), Some(start)) = (process_cpu_seconds(), cpu_started) {
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
                "    on-CPU time of all threads: median {:.2} ms, {:.1} M candles/s (max {:.1})",
                cpu_median * 1e3,
                candles as f64 / cpu_median / 1e6,
                candles as f64 / cpu_seconds[0] / 1e6
            );
        }
    }
}

/// Time the threads of this process have spent on a CPU (the sum of Linux
/// `/proc/self/task/*/schedstat`; a run with per-symbol capital works on rayon's
/// threads), which, unlike the wall clock, does not count the time other processes
/// held the cores.
fn process_cpu_seconds() -> Option<f64> {
    let mut nanos = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        nanos += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(nanos as f64 * 1e-9)
}
