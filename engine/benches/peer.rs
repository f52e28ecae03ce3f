//! The PEER workload (benches/WORKLOADS.md), simulator only: SMA(10)/SMA(30) cross, long-only,
//! 2 % stop-loss, all-in, next-open fills, no fees, on 100 symbols × 10 000 1m candles
//! and on 1 symbol × 1 000 000. Throughput is reported in candles (elements).
//!
//! `cargo bench -p gauntlet-engine --bench peer`

#[path = "../tests/common/peer.rs"]
mod peer;

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gauntlet_engine::{simulate, SymbolInput};

fn peer_workload(c: &mut Criterion) {
    let mut group = c.benchmark_group("peer");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
    for (symbols, bars) in [(100, 10_000), (1, 1_000_000)] {
        let universe = peer::peer_universe(symbols, bars);
        let strategy = peer::peer_strategy(&universe);
        let inputs: Vec<SymbolInput<'_>> = universe.iter().map(SymbolInput::new).collect();
        let config = peer::peer_config();
        group.throughput(Throughput::Elements((symbols * bars) as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{symbols}x{bars}")),
            &inputs,
            |b, inputs| {
                b.iter(|| simulate(&config, &strategy, black_box(inputs)).expect("PEER runs"))
            },
        );
    }
    group.finish();
}

criterion_group!(benches, peer_workload);
/// The `gauntlet` binary's allocator (src/main.rs), so the bench measures what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

criterion_main!(benches);
