//! The non-`ta` features against their documented formulas.

mod features_support;

use features_support::{random_series, same, CLEAN, START_MS};
use gauntlet_datasets::{CandleSeries, Interval};
use gauntlet_strategies::features::{compute_as, FeatureMatrix, FeatureSet};

fn value(m: &FeatureMatrix<f64>, row: usize, name: &str) -> f64 {
    m.values[[row, m.column_index(name).unwrap()]]
}

#[test]
fn calendar_features_use_utc_open_hours_and_monday_zero() {
    const HOUR: i64 = 3_600_000;
    let mut series = CandleSeries::with_capacity("X", Interval::H1, 24 * 7);
    for h in 0..24 * 7 {
        series.push(START_MS + h * HOUR, 1.0, 1.0, 1.0, 1.0, 1.0);
    }
    let m = compute_as::<f64>(&FeatureSet::core31(), &series).unwrap();
    for row in 0..24 * 7 {
        let hour = row % 24;
        let day = row / 24; // START_MS is a Monday
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        assert_eq!(value(&m, row, "session_tokyo"), flag(hour < 9), "row {row}");
        assert_eq!(
            value(&m, row, "session_london"),
            flag((7..16).contains(&hour))
        );
        assert_eq!(
            value(&m, row, "session_new_york"),
            flag((13..22).contains(&hour))
        );
        assert_eq!(value(&m, row, "day_of_week"), day as f64);
        assert_eq!(value(&m, row, "is_weekend"), flag(day >= 5));
    }
}

#[test]
fn price_and_volume_features_follow_their_formulas() {
    let series = random_series(5, 300, 0, CLEAN);
    let m = compute_as::<f64>(&FeatureSet::core31(), &series).unwrap();
    let (h, l, c, v) = (series.high(), series.low(), series.close(), series.volume());
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    let t = 250;
    let close_eq = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1e-300);
    assert!(same(value(&m, t, "spread"), h[t] - l[t]));
    assert!(same(value(&m, t, "spread_pct"), (h[t] - l[t]) / c[t]));
    assert!(close_eq(
        value(&m, t, "spread_atr_ratio"),
        (h[t] - l[t]) / value(&m, t, "atr")
    ));
    let vma = mean(&v[t - 19..=t]);
    assert!(close_eq(value(&m, t, "volume_ma"), vma));
    assert!(close_eq(value(&m, t, "volume_ratio"), v[t] / vma));
    let trend = mean(&v[t - 4..=t]) / vma - 1.0;
    assert!((value(&m, t, "volume_trend") - trend).abs() <= 1e-12);
    assert!(close_eq(
        value(&m, t, "price_sma_50_ratio"),
        c[t] / mean(&c[t - 49..=t])
    ));
    let one_hot: f64 = ["volatility_low", "volatility_medium", "volatility_high"]
        .iter()
        .map(|n| value(&m, t, n))
        .sum();
    assert_eq!(one_hot, 1.0);
}

#[test]
fn volatility_regime_is_the_tercile_of_trailing_return_volatility() {
    let series = random_series(8, 600, 0, CLEAN);
    let m = compute_as::<f64>(&FeatureSet::core31(), &series).unwrap();
    let c = series.close();
    let returns: Vec<f64> = c.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    // vol[i] = population std of returns r_{i-19} .. r_i (bar indices 1-based returns).
    let vol = |bar: usize| {
        let r = &returns[bar - 20..bar];
        let mean = r.iter().sum::<f64>() / 20.0;
        (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 20.0).sqrt()
    };
    for bar in [120usize, 300, 599] {
        let now = vol(bar);
        let below = (bar - 100..bar).filter(|&b| vol(b) < now).count();
        let expected = if 3 * below < 100 {
            "volatility_low"
        } else if 3 * below >= 200 {
            "volatility_high"
        } else {
            "volatility_medium"
        };
        assert_eq!(value(&m, bar, expected), 1.0, "bar {bar}: {below} below");
    }
    assert!(value(&m, 119, "volatility_low").is_nan());
}

/// Aggregates aligned gap-free 1m bars into `tf` bars.
fn resample(series: &CandleSeries, tf: Interval) -> CandleSeries {
    let mut out = CandleSeries::with_capacity(series.symbol(), tf, series.len());
    let mut i = 0;
    while i < series.len() {
        let bucket = tf.bucket_start(series.ts()[i]);
        let mut j = i;
        while j < series.len() && tf.bucket_start(series.ts()[j]) == bucket {
            j += 1;
        }
        let high = series.high()[i..j].iter().copied().fold(f64::MIN, f64::max);
        let low = series.low()[i..j].iter().copied().fold(f64::MAX, f64::min);
        let volume: f64 = series.volume()[i..j].iter().sum();
        out.push(
            bucket,
            series.open()[i],
            high,
            low,
            series.close()[j - 1],
            volume,
        );
        i = j;
    }
    out
}

#[test]
fn multi_timeframe_features_equal_base_features_of_the_resampled_series() {
    let base = random_series(21, 1500, 0, CLEAN);
    let mtf = compute_as::<f64>(&FeatureSet::mtf50(), &base).unwrap();
    for (tf, label) in [
        (Interval::M5, "5m"),
        (Interval::M15, "15m"),
        (Interval::H1, "1h"),
    ] {
        let coarse = resample(&base, tf);
        let reference = compute_as::<f64>(&FeatureSet::core31(), &coarse).unwrap();
        let per = (tf.millis() / 60_000) as usize;
        for row in (per..base.len()).step_by(7) {
            // Last completed bucket at this 1m row.
            let k = row / per - 1;
            let rsi = value(&reference, k, "rsi");
            assert!(
                same(value(&mtf, row, &format!("mtf_{label}_rsi")), rsi),
                "{label} row {row}"
            );
            let atr_ratio = if k >= 13 {
                value(&reference, k, "atr") / coarse.close()[k]
            } else {
                f64::NAN
            };
            assert!(same(
                value(&mtf, row, &format!("mtf_{label}_atr_ratio")),
                atr_ratio
            ));
            let ret = if k >= 1 {
                coarse.close()[k] / coarse.close()[k - 1] - 1.0
            } else {
                f64::NAN
            };
            assert!(same(value(&mtf, row, &format!("mtf_{label}_return")), ret));
            if k >= 19 {
                let highs = &coarse.high()[k - 19..=k];
                let lows = &coarse.low()[k - 19..=k];
                let max = highs.iter().copied().fold(f64::MIN, f64::max);
                let min = lows.iter().copied().fold(f64::MAX, f64::min);
                let pos = (coarse.close()[k] - min) / (max - min);
                assert!(same(
                    value(&mtf, row, &format!("mtf_{label}_range_position")),
                    pos
                ));
                let vmean = coarse.volume()[k - 19..=k].iter().sum::<f64>() / 20.0;
                let got = value(&mtf, row, &format!("mtf_{label}_volume_ratio"));
                assert!((got - coarse.volume()[k] / vmean).abs() <= 1e-12 * got.abs());
            }
        }
    }
    let last = base.len() - 1;
    let signs: f64 = ["5m", "15m", "1h"]
        .iter()
        .map(|l| {
            let t = value(&mtf, last, &format!("mtf_{l}_trend"));
            if t > 0.0 {
                1.0
            } else if t < 0.0 {
                -1.0
            } else {
                0.0
            }
        })
        .sum();
    assert_eq!(value(&mtf, last, "mtf_trend_alignment"), signs / 3.0);
}
