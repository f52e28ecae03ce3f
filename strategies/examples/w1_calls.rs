//! core31 over W1 (100 synthetic symbols × 90 days × 1m, 12.96M bars) call by call in
//! one process: `cargo run --release -p gauntlet-strategies --example w1_calls [calls]`
//! (6 calls by default).
//!
//! The criterion bench (`benches/features.rs`) warms up first and reports the calls
//! after, whose output often lands in memory an earlier call freed. A program that
//! computes its features once pays the first call: its 1.6 GB output is memory new to
//! the process, which the kernel zeroes page by page at the first write. Printed per
//! call: the milliseconds of `compute_universe`, then of dropping its result; then the
//! first call, the median of the others and how many calls met 15M rows/s.

use std::time::Instant;

use gauntlet_datasets::synth::{generate, SynthConfig};
use gauntlet_strategies::features::{compute_universe, FeatureSet};

// The allocator of the `gauntlet` binary and of the benches.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The target of the features issue, in rows (bars) per second.
const TARGET_ROWS_PER_S: f64 = 15e6;

fn main() {
    let calls: usize = match std::env::args().nth(1).map(|arg| arg.parse()) {
        None => 6,
        Some(Ok(calls)) if calls > 0 => calls,
        Some(_) => {
            eprintln!("usage: w1_calls [calls ≥ 1]");
            std::process::exit(2);
        }
    };
    let w1 = generate(&SynthConfig {
        symbols: 100,
        // No missing bars: exactly 129,600 bars per symbol.
        missing_bar_probability: 0.0,
        ..SynthConfig::default()
    })
    .expect("generate W1");
    let rows: usize = w1.iter().map(|series| series.len()).sum();
    let target_ms = rows as f64 / TARGET_ROWS_PER_S * 1e3;
    let set = FeatureSet::core31();
    let mut compute_ms = Vec::with_capacity(calls);
    for call in 1..=calls {
        let start = Instant::now();
        let matrices = compute_universe(&set, &w1).expect("compute W1's features");
        let computed = start.elapsed();
        drop(matrices);
        let dropped = start.elapsed() - computed;
        let ms = computed.as_secs_f64() * 1e3;
        println!(
            "call {call}: {ms:.0} ms, drop {:.0} ms",
            dropped.as_secs_f64() * 1e3
        );
        compute_ms.push(ms);
    }
    let first = compute_ms[0];
    let mut rest = compute_ms[1..].to_vec();
    rest.sort_by(f64::total_cmp);
    let met = compute_ms.iter().filter(|&&ms| ms < target_ms).count();
    print!("first call {first:.0} ms");
    if let Some(median) = rest.get(rest.len() / 2) {
        print!("; later calls: median {median:.0} ms");
    }
    println!(
        "; {met} of {calls} calls under {target_ms:.0} ms ({:.0}M rows/s over {rows} rows)",
        TARGET_ROWS_PER_S / 1e6
    );
}
