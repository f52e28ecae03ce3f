//! How the 3-member ensemble (xgb3 + lgbm3 + mlp3) scales from 1 to 2 workers, measured
//! in pairs: `cargo run -p gauntlet-strategies --example ensemble_scaling [rounds]` (31
//! rounds by default). Needs ONNX Runtime (`make venv`); scoring runs inside that
//! prebuilt library, so the dev profile measures the same as `--release`.
//!
//! The criterion bench (`benches/models.rs`) times the 1- and 2-worker runs in separate
//! groups seconds apart; on a shared machine whose speed drifts by 20–30 % over seconds
//! their ratio then measures the drift as much as the scaling. Here each round times one
//! 1-worker call and one 2-worker call back to back (their order alternating between
//! rounds), on the same rows as the bench (one symbol per worker), and the scaling of a
//! round is
//!
//! ```text
//! scaling = (rows scored by 2 workers / t₂) / (rows scored by 1 worker / t₁) = 2 · t₁ / t₂
//! ```
//!
//! Printed per batch size: the median, the minimum and the maximum of the rounds'
//! scalings, the median throughput of each worker count and, on Linux, the median
//! occupancy of the 2-worker calls: the on-CPU time of all the process's threads during
//! the call over twice its wall time (1.0: both workers computed the whole time; lower
//! means waiting — on a lock, on memory, or for a core).

#[path = "../benches/common/scoring.rs"]
mod scoring;

use std::time::Instant;

use gauntlet_strategies::models::FeatureRows;
use scoring::{ensemble3, feature_matrix, pool, rows_per_symbol, BATCH_SIZES, N_FEATURES};

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(31);
    let ensemble = ensemble3(2);
    let pools = [pool(1), pool(2)];
    let features = feature_matrix(rows_per_symbol(65536));
    println!("ensemble3 (xgb3 + lgbm3 + mlp3), {rounds} rounds of paired 1- and 2-worker calls");
    for batch_size in BATCH_SIZES {
        let n_rows = rows_per_symbol(batch_size);
        let ready = vec![true; n_rows];
        let rows = FeatureRows::new(&features[..n_rows * N_FEATURES], N_FEATURES, &ready)
            .expect("feature rows");
        let symbols = [rows, rows];
        // (wall seconds, on-CPU seconds of all threads if known) of one call.
        let score = |workers: usize| {
            let cpu_started = process_cpu_seconds();
            let started = Instant::now();
            ensemble
                .score_symbols(&symbols[..workers], &pools[workers - 1], batch_size)
                .expect("scores");
            let wall = started.elapsed().as_secs_f64();
            let cpu = process_cpu_seconds()
                .zip(cpu_started)
                .map(|(end, start)| end - start);
            (wall, cpu)
        };
        // One unmeasured call per worker count warms the sessions and their arenas.
        score(1);
        score(2);
        let mut scalings = Vec::with_capacity(rounds);
        let mut seconds = [Vec::with_capacity(rounds), Vec::with_capacity(rounds)];
        let mut occupancies = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let ((one, _), (two, two_cpu)) = if round % 2 == 0 {
                let one = score(1);
                (one, score(2))
            } else {
                let two = score(2);
                (score(1), two)
            };
            scalings.push(2.0 * one / two);
            seconds[0].push(one);
            seconds[1].push(two);
            occupancies.extend(two_cpu.map(|cpu| cpu / (2.0 * two)));
        }
        let scaling = Summary::of(&mut scalings);
        let rows_per_second = |workers: usize, seconds: &mut [f64]| {
            (workers * n_rows) as f64 / Summary::of(seconds).median
        };
        let [one, two] = &mut seconds;
        let occupancy = if occupancies.is_empty() {
            String::new()
        } else {
            format!(
                "; 2-worker occupancy {:.2}",
                Summary::of(&mut occupancies).median
            )
        };
        println!(
            "batch {batch_size:>5} ({n_rows} rows per worker): scaling median {:.2}× (min {:.2}, max {:.2}); \
             1 worker {:.0} rows/s, 2 workers {:.0} rows/s{occupancy}",
            scaling.median,
            scaling.min,
            scaling.max,
            rows_per_second(1, one),
            rows_per_second(2, two),
        );
    }
}

struct Summary {
    median: f64,
    min: f64,
    max: f64,
}

impl Summary {
    fn of(values: &mut [f64]) -> Self {
        values.sort_by(f64::total_cmp);
        Self {
            median: values[values.len() / 2],
            min: values[0],
            max: values[values.len() - 1],
        }
    }
}

/// On-CPU time of all of this process's threads (Linux `/proc/self/task/*/schedstat`),
/// which, unlike the wall clock, does not count time spent waiting for a core.
fn process_cpu_seconds() -> Option<f64> {
    let mut nanos = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        nanos += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(nanos as f64 * 1e-9)
}
