//! Feature-pipeline benches on synthetic 1m data generated in memory (not timed):
//! `core31` and `mtf50` batch on one symbol (90 days = 129,600 bars), on four
//! (computed together in lanes, on one core) and on W1
//! (100 symbols × 129,600 bars = 12.96M bars, parallel across symbols), and `core31`
//! streaming (one bar at a time on one core). Throughput is in bars (= matrix rows).
//!
//! Run: `cargo bench --bench features` (add `-- core31` etc. to pick groups).

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use gauntlet_datasets::synth::{generate, SynthConfig};
use gauntlet_datasets::CandleSeries;
use gauntlet_strategies::features::{
    compute, compute_universe, Bar, FeatureSet, StreamingComputer,
};

fn universe(symbols: usize) -> Vec<CandleSeries> {
    let config = SynthConfig {
        symbols,
        // No missing bars: exactly 129,600 bars per symbol, 12.96M for W1.
        missing_bar_probability: 0.0,
        ..SynthConfig::default()
    };
    generate(&config).expect("generate synthetic universe")
}

fn bars(universe: &[CandleSeries]) -> u64 {
    universe.iter().map(|s| s.len() as u64).sum()
}

/// W1, generated on first use only (a filtered run that skips it does not pay ~1 GB).
fn w1() -> &'static [CandleSeries] {
    static W1: OnceLock<Vec<CandleSeries>> = OnceLock::new();
    W1.get_or_init(|| universe(100))
}

/// W1's bar count (W1 has no missing bars).
const W1_BARS: u64 = 100 * 90 * 1440;

fn batch(c: &mut Criterion, set: &FeatureSet, four: &[CandleSeries]) {
    let one = &four[..1];
    let mut group = c.benchmark_group(set.name());
    group
        .sample_size(10)
        .throughput(Throughput::Elements(bars(one)));
    group.bench_function("batch_1x90d_1m", |b| {
        b.iter(|| compute(set, black_box(&one[0])).expect("compute"))
    });
    // Four aligned symbols are one chunk of lanes: one core.
    group.throughput(Throughput::Elements(bars(four)));
    group.bench_function("batch_4x90d_1m", |b| {
        b.iter(|| compute_universe(set, black_box(four)).expect("compute universe"))
    });
    // Seconds per iteration: one iteration per sample, ten samples.
    group
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(W1_BARS));
    group.bench_function("batch_w1_100x90d_1m", |b| {
        let w1 = w1();
        assert_eq!(bars(w1), W1_BARS, "W1 has 12.96M bars");
        b.iter(|| compute_universe(set, black_box(w1)).expect("compute universe"))
    });
    group.finish();
}

fn streaming(c: &mut Criterion, set: &FeatureSet, one: &CandleSeries) {
    let bars: Vec<Bar> = (0..one.len())
        .map(|i| Bar {
            ts: one.ts()[i],
            open: one.open()[i],
            high: one.high()[i],
            low: one.low()[i],
            close: one.close()[i],
            volume: one.volume()[i],
        })
        .collect();
    let mut computer = StreamingComputer::new(set, one.interval()).expect("streaming computer");
    let mut group = c.benchmark_group(set.name());
    group
        .sample_size(10)
        .throughput(Throughput::Elements(bars.len() as u64));
    group.bench_function("streaming_1x90d_1m", |b| {
        b.iter(|| {
            computer.reset();
            let mut ready = 0usize;
            for bar in &bars {
                ready += usize::from(computer.update(black_box(bar)));
                black_box(computer.values());
            }
            ready
        })
    });
    group.finish();
}

fn features(c: &mut Criterion) {
    // Symbol 0 of any universe with the same seed is the same series (BTC-USD).
    let four = universe(4);
    let core31 = FeatureSet::core31();
    batch(c, &core31, &four);
    streaming(c, &core31, &four[0]);
    batch(c, &FeatureSet::mtf50(), &four);
}

criterion_group!(benches, features);
/// The `gauntlet` binary's allocator (src/main.rs), so the bench measures what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

criterion_main!(benches);
