//! Inference throughput (rows/s) of the fixture models and the 3-member ensemble at
//! batch sizes 1/256/4096/65536 with 1 and 2 workers (each member on the engine `auto`
//! picks); the tree models on the native evaluator and on ONNX Runtime side by side, one
//! thread (`trees/MODEL/native` against `trees/MODEL/onnxruntime`: the fixtures on their
//! real feature rows, the 450-tree bench models on standard normal rows, also from the
//! libraries' own files); and the cached path: re-reading one member's predictions for
//! a W1-sized universe (100 symbols × 129,600 rows × 3 classes) from the prediction
//! cache.
//!
//! Run: `cargo bench -p gauntlet-strategies --bench models` (needs ONNX Runtime: `make
//! venv`). Sample sizes are small so the whole bench stays under 3 minutes. Scoring
//! runs inside the prebuilt ONNX Runtime library, so a dev-profile run of the same
//! binary (`cargo test -p gauntlet-strategies --bench models --no-run`, then run the
//! printed executable with `--bench`) gives representative scoring numbers; only the
//! cached path (polars) needs the release profile. The models and rows are those of
//! `common/scoring.rs`.
//!
//! The 1- and 2-worker groups run seconds apart, so on a machine whose speed drifts
//! their ratio is noisy; `examples/ensemble_scaling.rs` measures the ensemble's scaling
//! in back-to-back pairs instead.

#[path = "common/scoring.rs"]
mod scoring;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gauntlet_strategies::models::{
    CheckedModel, Engine, EnginePreference, FeatureRows, InputDistribution, MemberScores,
    PredictionCache, PredictionKey,
};
use scoring::{
    ensemble3, feature_matrix, load, load_file, load_on, normal_rows, pool, rows_per_symbol,
    BATCH_SIZES, N_FEATURES, WORKERS,
};

fn configure<'c>(
    c: &'c mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'c, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    group
}

fn bench_members(c: &mut Criterion) {
    let features = feature_matrix(rows_per_symbol(65536));
    for name in ["xgb3", "lgbm3", "mlp3", "lstm3"] {
        let model = load(name, 2);
        let mut group = configure(c, &format!("score/{name}"));
        for batch_size in BATCH_SIZES {
            let n_rows = rows_per_symbol(batch_size);
            let ready = vec![true; n_rows];
            let rows = FeatureRows::new(&features[..n_rows * N_FEATURES], N_FEATURES, &ready)
                .expect("feature rows");
            for workers in WORKERS {
                // One symbol per worker: rows/s at 2 workers over rows/s at 1 is the scaling.
                let symbols = vec![rows; workers];
                group.throughput(Throughput::Elements((n_rows * workers) as u64));
                let pool = pool(workers);
                group.bench_function(
                    BenchmarkId::new(format!("batch{batch_size}"), format!("{workers}w")),
                    |b| {
                        b.iter(|| {
                            model
                                .score_symbols(&symbols, &pool, batch_size)
                                .expect("scores")
                        })
                    },
                );
            }
        }
        group.finish();
    }
}

/// One thread scores `rows` with each model, a group per model so the engines'
/// rows/s sit side by side.
fn bench_engines(c: &mut Criterion) {
    const ENGINES: [(&str, EnginePreference); 2] = [
        ("native", EnginePreference::Native),
        ("onnxruntime", EnginePreference::Onnxruntime),
    ];
    let fixture_rows = feature_matrix(65_536);
    let bench_rows = normal_rows(16_384);
    /// A model's name, its rows, and the model on each engine.
    type Case<'r> = (&'static str, &'r [f32], Vec<(&'static str, CheckedModel)>);
    let mut cases: Vec<Case> = Vec::new();
    for name in ["xgb3", "lgbm3"] {
        let models = ENGINES
            .iter()
            .map(|&(engine, preference)| (engine, load_on(name, 1, preference)))
            .collect();
        cases.push((name, &fixture_rows, models));
    }
    for (name, onnx, native) in [
        (
            "bench_xgboost",
            "bench/xgb_model.onnx",
            "bench/xgb_model.json",
        ),
        (
            "bench_lightgbm",
            "bench/lgb_model.onnx",
            "bench/lgb_model.txt",
        ),
    ] {
        let mut models: Vec<(&str, CheckedModel)> = ENGINES
            .iter()
            .map(|&(engine, preference)| (engine, load_file(onnx, preference)))
            .collect();
        models.push((
            "native_library_file",
            load_file(native, EnginePreference::Auto),
        ));
        cases.push((name, &bench_rows, models));
    }
    for (name, features, models) in &cases {
        let n_rows = features.len() / N_FEATURES;
        let ready = vec![true; n_rows];
        let rows = FeatureRows::new(features, N_FEATURES, &ready).expect("feature rows");
        let mut group = configure(c, &format!("trees/{name}"));
        group.throughput(Throughput::Elements(n_rows as u64));
        for (engine, model) in models {
            group.bench_function(*engine, |b| {
                b.iter(|| model.score(0, &rows, 65_536).expect("scores"))
            });
        }
        group.finish();
    }
}

fn bench_ensemble(c: &mut Criterion) {
    let features = feature_matrix(rows_per_symbol(65536));
    let ensemble = ensemble3(2);
    let mut group = configure(c, "score/ensemble3");
    for batch_size in BATCH_SIZES {
        let n_rows = rows_per_symbol(batch_size);
        let ready = vec![true; n_rows];
        let rows = FeatureRows::new(&features[..n_rows * N_FEATURES], N_FEATURES, &ready)
            .expect("feature rows");
        for workers in WORKERS {
            let symbols = vec![rows; workers];
            group.throughput(Throughput::Elements((n_rows * workers) as u64));
            let pool = pool(workers);
            group.bench_function(
                BenchmarkId::new(format!("batch{batch_size}"), format!("{workers}w")),
                |b| {
                    b.iter(|| {
                        ensemble
                            .score_symbols(&symbols, &pool, batch_size)
                            .expect("scores")
                    })
                },
            );
        }
    }
    group.finish();
}

/// One member's predictions for a W1-sized universe: 100 symbols × 129,600 rows (90
/// days of 1m bars) × 3 classes, the first 50 rows of each symbol unscored (warm-up).
fn w1_scores() -> (Vec<String>, Vec<MemberScores>) {
    const SYMBOLS_W1: usize = 100;
    const ROWS_W1: usize = 129_600;
    const WARMUP: usize = 50;
    // xorshift64: deterministic, dependency-free probabilities.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 + 1e-3
    };
    let scores = (0..SYMBOLS_W1)
        .map(|_| {
            let mut probabilities = Vec::with_capacity(ROWS_W1 * 3);
            for row in 0..ROWS_W1 {
                if row < WARMUP {
                    probabilities.extend([f32::NAN; 3]);
                } else {
                    let raw = [next(), next(), next()];
                    let sum: f32 = raw.iter().sum();
                    probabilities.extend(raw.map(|p| p / sum));
                }
            }
            MemberScores {
                n_classes: 3,
                probabilities,
                scored: (0..ROWS_W1).map(|row| row >= WARMUP).collect(),
                input_distribution: InputDistribution::default(),
            }
        })
        .collect();
    let symbols = (0..SYMBOLS_W1).map(|i| format!("SYM{i:03}USDT")).collect();
    (symbols, scores)
}

fn bench_cache(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = PredictionCache::new(dir.path());
    let key = PredictionKey::new(
        "bench-bundle",
        "bench-manifest",
        "bench-data",
        Engine::Native,
    );
    let (symbols, scores) = w1_scores();
    cache.put(&key, &symbols, &scores).expect("cache put");
    drop(scores);
    let mut group = configure(c, "cache");
    group.throughput(Throughput::Elements(100 * 129_600));
    group.bench_function("get_w1_100x129600x3", |b| {
        b.iter(|| {
            cache
                .get(&key, &symbols)
                .expect("cache get")
                .expect("cache hit")
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_engines,
    bench_members,
    bench_ensemble,
    bench_cache
);
/// The `gauntlet` binary's allocator (src/main.rs), so the bench measures what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

criterion_main!(benches);
