//! Resampling against hand-computed bars: full buckets, a gap inside a bucket, a wholly
//! missing bucket, partial edges, and the error cases.

use gauntlet_datasets::{resample, CandleSeries, Interval, ResampleError};
use proptest::prelude::*;

const T0: i64 = 1_704_067_200_000; // 2024-01-01T00:00:00Z, a boundary of every interval
const MIN: i64 = 60_000;

/// 1m bars at the given minutes after T0: open = 100 + m, high = open + 2,
/// low = open - 2, close = open + 1, volume = m + 1.
fn minutes(ms: impl IntoIterator<Item = i64>) -> CandleSeries {
    let mut s = CandleSeries::with_capacity("BTC-USD", Interval::M1, 0);
    for m in ms {
        let o = 100.0 + m as f64;
        s.push(T0 + m * MIN, o, o + 2.0, o - 2.0, o + 1.0, (m + 1) as f64);
    }
    s
}

/// (ts, open, high, low, close, volume) of every output bar.
fn bars(s: &CandleSeries) -> Vec<(i64, f64, f64, f64, f64, f64)> {
    (0..s.len())
        .map(|i| {
            (
                s.ts()[i],
                s.open()[i],
                s.high()[i],
                s.low()[i],
                s.close()[i],
                s.volume()[i],
            )
        })
        .collect()
}

#[test]
fn full_buckets_first_max_min_last_sum() {
    let r = resample(&minutes(0..10), Interval::M5).unwrap();
    assert_eq!(r.series.interval(), Interval::M5);
    assert_eq!(r.series.symbol(), "BTC-USD");
    // Minutes 0..5: open 100, high 104+2, low 100-2, close 104+1, volume 1+2+3+4+5.
    // Minutes 5..10: open 105, high 111, low 103, close 110, volume 6+7+8+9+10.
    assert_eq!(
        bars(&r.series),
        vec![
            (T0, 100.0, 106.0, 98.0, 105.0, 15.0),
            (T0 + 5 * MIN, 105.0, 111.0, 103.0, 110.0, 40.0),
        ]
    );
    assert_eq!(r.bars_per_bucket, vec![5, 5]);
    assert_eq!((r.partial_buckets, r.dropped_edge_buckets), (0, 0));
}

#[test]
fn gap_inside_a_bucket_is_emitted_from_the_bars_present_and_counted() {
    let r = resample(
        &minutes((0..15).filter(|&m| m != 6 && m != 7)),
        Interval::M5,
    )
    .unwrap();
    // Bucket 5..10 from minutes 5, 8, 9: open 105, high 111, low 103, close 110,
    // volume 6 + 9 + 10.
    assert_eq!(
        bars(&r.series)[1],
        (T0 + 5 * MIN, 105.0, 111.0, 103.0, 110.0, 25.0)
    );
    assert_eq!(r.bars_per_bucket, vec![5, 3, 5]);
    assert_eq!((r.partial_buckets, r.dropped_edge_buckets), (1, 0));
}

#[test]
fn wholly_missing_bucket_produces_no_bar() {
    let r = resample(&minutes((0..5).chain(10..15)), Interval::M5).unwrap();
    assert_eq!(r.series.ts(), &[T0, T0 + 10 * MIN]);
    assert_eq!(
        bars(&r.series)[1],
        (T0 + 10 * MIN, 110.0, 116.0, 108.0, 115.0, 65.0)
    );
    assert_eq!((r.partial_buckets, r.dropped_edge_buckets), (0, 0));
}

#[test]
fn edge_buckets_cut_by_the_data_are_dropped() {
    // Data from 00:02 to 00:12: buckets 00:00 and 00:10 are cut, 00:05 is whole.
    let r = resample(&minutes(2..13), Interval::M5).unwrap();
    assert_eq!(
        bars(&r.series),
        vec![(T0 + 5 * MIN, 105.0, 111.0, 103.0, 110.0, 40.0)]
    );
    assert_eq!((r.partial_buckets, r.dropped_edge_buckets), (0, 2));

    // A single bucket cut at both ends is dropped once.
    let r = resample(&minutes(1..3), Interval::M5).unwrap();
    assert!(r.series.is_empty());
    assert_eq!(r.dropped_edge_buckets, 1);

    // Starting on the boundary but missing the last minute of the last bucket: an edge.
    let r = resample(&minutes(0..9), Interval::M5).unwrap();
    assert_eq!(r.series.ts(), &[T0]);
    assert_eq!(r.dropped_edge_buckets, 1);
}

#[test]
fn hourly_and_daily_buckets_align_to_utc() {
    let r = resample(&minutes(0..180), Interval::H1).unwrap();
    assert_eq!(r.series.ts(), &[T0, T0 + 60 * MIN, T0 + 120 * MIN]);
    // Hour 2 = minutes 120..180: open 220, high 279 + 2, low 220 - 2, close 279 + 1,
    // volume sum(121..=180).
    assert_eq!(
        bars(&r.series)[2],
        (
            T0 + 120 * MIN,
            220.0,
            281.0,
            218.0,
            280.0,
            (121..=180).sum::<i64>() as f64
        )
    );
    let five = resample(&minutes(0..1440), Interval::M5).unwrap().series;
    let day = resample(&five, Interval::D1).unwrap();
    assert_eq!(day.series.ts(), &[T0]);
    assert_eq!(day.bars_per_bucket, vec![288]);
}

#[test]
fn same_finer_and_unsorted_inputs_are_errors() {
    let s = minutes(0..10);
    let err = resample(&s, Interval::M1).unwrap_err();
    assert!(matches!(err, ResampleError::NotCoarser { .. }), "{err}");
    let five = resample(&s, Interval::M5).unwrap().series;
    let err = resample(&five, Interval::M1).unwrap_err();
    assert!(
        err.to_string().contains("cannot resample 5m to 1m"),
        "{err}"
    );

    let err = resample(&minutes([0, 2, 1]), Interval::M5).unwrap_err();
    assert!(
        matches!(err, ResampleError::NotIncreasing { index: 2, .. }),
        "{err}"
    );
    let err = resample(&minutes([0, 1, 1]), Interval::M5).unwrap_err();
    assert!(err.to_string().contains("strictly increasing"), "{err}");
}

proptest! {
    /// With data starting and ending on bucket boundaries, nothing is dropped: every
    /// non-empty bucket becomes one bar, volume is conserved, and each output bar's
    /// high/low bound the input bars it covers.
    #[test]
    fn aligned_data_conserves_volume_and_bounds(
        present in proptest::collection::vec(any::<bool>(), 60),
    ) {
        let mut ms: Vec<i64> = (0..60).filter(|&m| present[m as usize]).collect();
        ms.insert(0, 0);
        ms.push(60 + 14); // the last bar closes the 60..75 bucket
        ms.dedup();
        let input = minutes(ms.iter().copied());
        let r = resample(&input, Interval::M15).unwrap();
        prop_assert_eq!(r.dropped_edge_buckets, 0);
        let total_in: f64 = input.volume().iter().sum();
        let total_out: f64 = r.series.volume().iter().sum();
        prop_assert!((total_in - total_out).abs() < 1e-9);
        let buckets: std::collections::BTreeSet<i64> =
            ms.iter().map(|m| Interval::M15.bucket_start(T0 + m * MIN)).collect();
        prop_assert_eq!(r.series.ts().to_vec(), buckets.into_iter().collect::<Vec<_>>());
        prop_assert_eq!(r.bars_per_bucket.iter().map(|&c| c as usize).sum::<usize>(), input.len());
        for (k, &b) in r.series.ts().iter().enumerate() {
            for i in 0..input.len() {
                if Interval::M15.bucket_start(input.ts()[i]) == b {
                    prop_assert!(r.series.high()[k] >= input.high()[i]);
                    prop_assert!(r.series.low()[k] <= input.low()[i]);
                }
            }
        }
    }
}
