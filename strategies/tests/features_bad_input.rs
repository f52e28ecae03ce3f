//! Bad input: documented not-ready rows or clear errors, never a panic.

mod features_support;

use features_support::{random_series, same, CLEAN};
use gauntlet_datasets::{CandleSeries, Interval};
use gauntlet_strategies::features::{
    compute, compute_as, compute_universe, Bar, FeatureError, FeatureSet, StreamingComputer,
};

#[test]
fn too_few_bars_for_the_warm_up_gives_rows_that_are_not_ready() {
    let set = FeatureSet::core31();
    let series = random_series(1, 50, 0, CLEAN);
    let m = compute(&set, &series).unwrap();
    assert_eq!(m.values.dim(), (50, 31));
    assert!(m.ready.iter().all(|&r| !r));
    // What is defined is still there (sessions, sma_7 from row 6).
    let j = m.column_index("sma_7").unwrap();
    assert!(m.values[[5, j]].is_nan() && m.values[[6, j]].is_finite());

    let empty = CandleSeries::with_capacity("E", Interval::M1, 0);
    let m = compute(&set, &empty).unwrap();
    assert_eq!(m.values.dim(), (0, 31));
    assert!(m.ready.is_empty());
}

#[test]
fn an_unusable_bar_is_skipped_and_the_state_continues() {
    let set = FeatureSet::core31();
    let clean = random_series(2, 400, 0, CLEAN);
    // Same series with a NaN close inserted after row 199 (ts in between).
    let mut dirty = CandleSeries::with_capacity("RND", Interval::M1, 401);
    for i in 0..clean.len() {
        let b = clean.bar(i);
        dirty.push(b.ts, b.open, b.high, b.low, b.close, b.volume);
        if i == 199 {
            dirty.push(b.ts + 30_000, b.open, b.high, b.low, f64::NAN, b.volume);
        }
    }
    let a = compute_as::<f64>(&set, &clean).unwrap();
    let b = compute_as::<f64>(&set, &dirty).unwrap();
    assert!(!b.ready[200]);
    assert!(b.values.row(200).iter().all(|v| v.is_nan()));
    // Every other row equals the clean computation: the bad bar entered no state.
    for i in 0..clean.len() {
        let k = if i < 200 { i } else { i + 1 };
        assert_eq!(a.ready[i], b.ready[k], "row {i}");
        for (&x, &y) in a.values.row(i).iter().zip(b.values.row(k)) {
            assert!(same(x, y), "row {i}: {x} vs {y}");
        }
    }
    assert!(b.ready[201], "recovers at once after the warm-up");
}

#[test]
fn other_unusable_bars_are_skipped_too() {
    let set = FeatureSet::core31();
    let mut computer = StreamingComputer::new(&set, Interval::M1).unwrap();
    let good = Bar {
        ts: 0,
        open: 1.0,
        high: 1.0,
        low: 1.0,
        close: 1.0,
        volume: 1.0,
    };
    assert!(!computer.update(&good));
    for bad in [
        Bar {
            ts: 60_000,
            open: -1.0,
            ..good
        },
        Bar {
            ts: 60_000,
            high: f64::INFINITY,
            ..good
        },
        Bar {
            ts: 60_000,
            volume: -5.0,
            ..good
        },
        Bar {
            ts: 60_000,
            low: 0.0,
            ..good
        },
        Bar { ts: 0, ..good }, // not after the previous bar
        Bar {
            ts: -60_000,
            ..good
        }, // earlier
    ] {
        assert!(!computer.update(&bad));
        assert!(computer.values().iter().all(|v| v.is_nan()));
    }
    assert_eq!(computer.bars_seen(), 1);
    computer.reset();
    assert_eq!(computer.bars_seen(), 0);
}

#[test]
fn unsorted_timestamps_are_a_batch_error_naming_the_row() {
    let series = CandleSeries::new(
        "BTC",
        Interval::M1,
        vec![0, 120_000, 60_000],
        vec![1.0; 3],
        vec![1.0; 3],
        vec![1.0; 3],
        vec![1.0; 3],
        vec![1.0; 3],
    )
    .unwrap();
    let err = compute(&FeatureSet::core31(), &series).unwrap_err();
    assert!(
        matches!(err, FeatureError::UnsortedTimestamps { row: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("BTC"), "{err}");
}

#[test]
fn a_timeframe_below_the_series_interval_is_an_error() {
    let series = CandleSeries::with_capacity("X", Interval::M15, 0);
    let err = compute(&FeatureSet::mtf50(), &series).unwrap_err();
    assert!(
        matches!(err, FeatureError::TimeframeBelowBase { ref feature, .. } if feature == "mtf_5m_return"),
        "{err}"
    );
    // core31 has no higher timeframe: any interval works.
    assert!(compute(&FeatureSet::core31(), &series).is_ok());
}

#[test]
fn flat_prices_and_zero_volume_still_give_ready_rows() {
    let mut series = CandleSeries::with_capacity("FLAT", Interval::M1, 300);
    for i in 0..300 {
        series.push(i * 60_000, 100.0, 100.0, 100.0, 100.0, 0.0);
    }
    let m = compute_as::<f64>(&FeatureSet::core31(), &series).unwrap();
    assert!(m.ready[299]);
    let v = |name: &str| m.values[[299, m.column_index(name).unwrap()]];
    assert_eq!(v("bb_position"), 0.5);
    assert_eq!(v("bb_width"), 0.0);
    assert_eq!(v("rsi"), 100.0); // ta: 100 when the down average is 0
    assert_eq!(v("volume_ratio"), 1.0);
    assert_eq!(v("volume_trend"), 0.0);
    assert_eq!(v("spread_atr_ratio"), 0.0);
    assert_eq!(v("volatility_low"), 1.0);
}

#[test]
fn a_value_beyond_f32_makes_its_row_not_ready_in_f32_only() {
    let set = FeatureSet::core31();
    let clean = random_series(3, 400, 0, CLEAN);
    // Finite in f64, beyond f32's largest value (3.4e38) once converted.
    let mut huge = CandleSeries::with_capacity("HUGE", Interval::M1, clean.len());
    for i in 0..clean.len() {
        let b = clean.bar(i);
        let scale = 1e40;
        huge.push(
            b.ts,
            b.open * scale,
            b.high * scale,
            b.low * scale,
            b.close * scale,
            b.volume,
        );
    }
    let wide = compute_as::<f64>(&set, &huge).unwrap();
    let first = wide.first_ready().expect("ready after the warm-up in f64");
    assert!(wide.ready[first..].iter().all(|&r| r));
    let narrow = compute(&set, &huge).unwrap();
    assert!(narrow.ready.iter().all(|&r| !r));
    // Four such series computed together, one per lane, say the same.
    let four = [huge.clone(), huge.clone(), huge.clone(), huge];
    for m in compute_universe(&set, &four).unwrap() {
        assert_eq!(m.ready, narrow.ready);
    }
}
