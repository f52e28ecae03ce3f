//! Properties of the pipeline: streaming == batch, and no look-ahead.

mod features_support;

use features_support::{random_series, same, Shape, CLEAN};
use gauntlet_datasets::CandleSeries;
use gauntlet_strategies::features::{
    compute_as, compute_universe_as, FeatureSet, FeatureValue, StreamingComputer,
};
use proptest::prelude::*;

/// Every series of `universe`, computed together with the others in `T`, has
/// exactly the rows it has alone.
fn together_equals_alone<T: FeatureValue + Into<f64>>(
    set: &FeatureSet,
    universe: &[CandleSeries],
) -> Result<(), TestCaseError> {
    let together = compute_universe_as::<T>(set, universe).unwrap();
    prop_assert_eq!(together.len(), universe.len());
    for (s, (series, matrix)) in universe.iter().zip(&together).enumerate() {
        let alone = compute_as::<T>(set, series).unwrap();
        prop_assert_eq!(&matrix.ts, &alone.ts, "{} series {}", set.name(), s);
        prop_assert_eq!(&matrix.ready, &alone.ready, "{} series {}", set.name(), s);
        for (i, (&a, &b)) in matrix.values.iter().zip(&alone.values).enumerate() {
            let (a, b): (f64, f64) = (a.into(), b.into());
            prop_assert!(
                same(a, b),
                "{} series {} value {}: {} alone, {} together",
                set.name(),
                s,
                i,
                b,
                a
            );
        }
    }
    Ok(())
}

fn sets() -> [FeatureSet; 2] {
    [FeatureSet::core31(), FeatureSet::mtf50()]
}

fn assert_streaming_equals_batch(set: &FeatureSet, series: &CandleSeries) {
    let batch = compute_as::<f64>(set, series).unwrap();
    let mut streaming = StreamingComputer::new(set, series.interval()).unwrap();
    for i in 0..series.len() {
        let ready = streaming.update(&series.bar(i));
        assert_eq!(ready, batch.ready[i], "{} row {i}: ready", set.name());
        for (j, (&s, &b)) in streaming
            .values()
            .iter()
            .zip(batch.values.row(i))
            .enumerate()
        {
            assert!(
                same(s, b),
                "{} row {i} {}: streaming {s}, batch {b}",
                set.name(),
                batch.names[j]
            );
        }
    }
}

/// Replaces every candle after row `t` with different values (and shifted times).
fn perturb_after(series: &CandleSeries, t: usize, seed: u64) -> CandleSeries {
    let other = random_series(seed, series.len(), 0, CLEAN);
    let mut out = CandleSeries::with_capacity(series.symbol(), series.interval(), series.len());
    let shift = 60_000 * (1 + (seed % 7) as i64);
    for i in 0..series.len() {
        let src = if i <= t { series } else { &other };
        let (ts, scale) = if i <= t {
            (series.ts()[i], 1.0)
        } else {
            (series.ts()[i] + shift, 1.01)
        };
        out.push(
            ts,
            src.open()[i] * scale,
            src.high()[i] * scale,
            src.low()[i] * scale,
            src.close()[i] * scale,
            src.volume()[i],
        );
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn streaming_equals_batch(
        seed in any::<u64>(),
        len in 0usize..1600,
        offset in 0i64..120,
        gap_chance in prop_oneof![Just(0.0), 0.0..0.05],
        nan_chance in prop_oneof![Just(0.0), 0.0..0.02],
    ) {
        let series = random_series(seed, len, offset, Shape { gap_chance, nan_chance });
        for set in sets() {
            assert_streaming_equals_batch(&set, &series);
        }
    }

    /// Aligned clean series are computed four at a time, one per lane; a chunk with
    /// a shifted or an unusable series falls back to one at a time. Either way every
    /// series gets exactly its own batch values.
    #[test]
    fn a_universe_gives_each_series_its_own_values(
        seed in any::<u64>(),
        symbols in 1usize..10,
        len in 0usize..700,
        odd_one in prop_oneof![Just(None), (0usize..10, any::<bool>()).prop_map(Some)],
    ) {
        let universe: Vec<CandleSeries> = (0..symbols)
            .map(|s| {
                let seed = seed.wrapping_add(s as u64);
                match odd_one {
                    Some((odd, true)) if odd == s => random_series(seed, len, 1, CLEAN),
                    Some((odd, false)) if odd == s => {
                        random_series(seed, len, 0, Shape { gap_chance: 0.0, nan_chance: 0.01 })
                    }
                    _ => random_series(seed, len, 0, CLEAN),
                }
            })
            .collect();
        for set in sets() {
            together_equals_alone::<f64>(&set, &universe)?;
            together_equals_alone::<f32>(&set, &universe)?;
        }
    }

    #[test]
    fn no_feature_looks_ahead(
        seed in any::<u64>(),
        len in 2usize..1600,
        cut in 0.0f64..1.0,
        offset in 0i64..120,
        gap_chance in prop_oneof![Just(0.0), 0.0..0.05],
    ) {
        let series = random_series(seed, len, offset, Shape { gap_chance, nan_chance: 0.0 });
        let t = ((len - 1) as f64 * cut) as usize;
        let changed = perturb_after(&series, t, seed ^ 0x5eed);
        for set in sets() {
            let before = compute_as::<f64>(&set, &series).unwrap();
            let after = compute_as::<f64>(&set, &changed).unwrap();
            for i in 0..=t {
                prop_assert_eq!(before.ready[i], after.ready[i], "{} row {}", set.name(), i);
                for (j, (&a, &b)) in before.values.row(i).iter().zip(after.values.row(i)).enumerate() {
                    prop_assert!(same(a, b), "{} row {} (t = {}) {}: {} became {}",
                        set.name(), i, t, before.names[j], a, b);
                }
            }
        }
    }
}

#[test]
fn a_higher_timeframe_bar_is_used_only_once_a_later_bucket_starts() {
    // 1m bars from 00:00; the 00:00–00:05 five-minute bar is complete at the 00:05
    // bar, so mtf_5m_return (needs 2 completed bars) first changes at 00:10.
    let series = random_series(3, 30, 0, CLEAN);
    let set = FeatureSet::mtf50();
    let m = compute_as::<f64>(&set, &series).unwrap();
    let j = m.column_index("mtf_5m_return").unwrap();
    let col = m.values.column(j);
    assert!(col.iter().take(10).all(|v| v.is_nan()));
    let c = series.close();
    let expected = c[9] / c[4] - 1.0; // closes of buckets [5, 10) and [0, 5)
    assert!(same(col[10], expected), "{} vs {expected}", col[10]);
    assert!(col.iter().skip(10).take(5).all(|&v| same(v, expected)));
    let expected_next = c[14] / c[9] - 1.0;
    assert!(same(col[15], expected_next));
}

#[test]
fn warmup_rows_is_the_first_ready_row_on_clean_aligned_data() {
    for set in sets() {
        let series = random_series(11, 2000, 0, CLEAN);
        let m = compute_as::<f32>(&set, &series).unwrap();
        let first = m.first_ready().unwrap();
        assert_eq!(first, set.warmup_rows(series.interval()), "{}", set.name());
        assert!(m.ready[first..].iter().all(|&r| r), "{}", set.name());
    }
}

#[test]
fn universe_results_do_not_depend_on_the_thread_count() {
    let universe: Vec<CandleSeries> = (0..6)
        .map(|s| random_series(s, 700, s as i64, CLEAN))
        .collect();
    let set = FeatureSet::mtf50();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| gauntlet_strategies::features::compute_universe(&set, &universe).unwrap());
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| gauntlet_strategies::features::compute_universe(&set, &universe).unwrap());
    assert_eq!(one.len(), 6);
    for (a, b) in one.iter().zip(&two) {
        assert_eq!(a.ts, b.ts);
        assert_eq!(a.ready, b.ready);
        let bits = |m: &gauntlet_strategies::features::FeatureMatrix| -> Vec<u32> {
            m.values.iter().map(|v| v.to_bits()).collect()
        };
        assert_eq!(bits(a), bits(b));
    }
}
