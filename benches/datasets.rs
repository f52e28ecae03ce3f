//! Datasets benches on W1 (100 symbols × 90 days × 1m = 12.96M candles, Parquet,
//! one file per symbol): load into `CandleSeries`, validate, and synthesize.
//!
//! The W1 files are generated once into `target/bench-data/w1-parquet` (not timed).
//! Run: `cargo bench --bench datasets`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gauntlet_datasets::synth::{generate, generate_to_dir, SynthConfig};
use gauntlet_datasets::{load, validate_universe, FileFormat, LoadRequest};

const W1_CANDLES: u64 = 100 * 90 * 1440;

fn w1_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data/w1-parquet");
    let done = dir.join(".complete");
    if !done.exists() {
        generate_to_dir(&SynthConfig::default(), &dir, FileFormat::Parquet, || {})
            .expect("generate W1 bench data");
        std::fs::write(&done, b"").expect("mark W1 bench data complete");
    }
    dir
}

fn load_and_validate(c: &mut Criterion) {
    let dir = w1_dir();
    let request = LoadRequest::new(&dir);
    let mut group = c.benchmark_group("w1");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30))
        .throughput(Throughput::Elements(W1_CANDLES));
    group.bench_function("load_parquet", |b| {
        b.iter(|| load(&request).expect("load W1"))
    });
    let universe = load(&request).expect("load W1");
    assert_eq!(universe.series.len(), 100, "W1 has 100 symbols");
    group.bench_function("validate", |b| b.iter(|| validate_universe(&universe)));
    group.finish();
}

fn synth(c: &mut Criterion) {
    // A tenth of W1 (10 symbols × 90 days), generation only: the whole W1 command
    // including Parquet writing is timed end to end in BENCHMARKS.md.
    let config = SynthConfig {
        symbols: 10,
        ..SynthConfig::default()
    };
    let mut group = c.benchmark_group("synth");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(config.bars_per_symbol() as u64 * 10));
    group.bench_function("generate_10x90d_1m", |b| {
        b.iter(|| generate(&config).expect("generate"))
    });
    group.finish();
}

criterion_group!(benches, load_and_validate, synth);
/// The `gauntlet` binary's allocator (src/main.rs), so the bench measures what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

criterion_main!(benches);
