//! Properties of the synthetic universe: determinism, OHLC/tick/volume invariants,
//! timestamps, price range, seasonality, missing bars, regimes, fat tails, interval
//! consistency and the planted signal.

use std::fs;

use gauntlet_datasets::synth::{
    generate, generate_to_dir, market_path, symbol_profiles, Regime, SynthConfig,
};
use gauntlet_datasets::write::write_universe;
use gauntlet_datasets::{CandleSeries, FileFormat, Interval};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

fn config(symbols: usize, days: u32) -> SynthConfig {
    SynthConfig {
        symbols,
        days,
        ..SynthConfig::default()
    }
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

fn log_returns(s: &CandleSeries) -> Vec<f64> {
    s.close().windows(2).map(|w| (w[1] / w[0]).ln()).collect()
}

#[test]
fn same_config_gives_identical_series_for_any_thread_count() {
    let cfg = config(6, 2);
    let one = in_pool(1, || generate(&cfg).unwrap());
    let two = in_pool(2, || generate(&cfg).unwrap());
    assert_eq!(one, two);
    assert_eq!(one, generate(&cfg).unwrap());
    let other_seed = generate(&SynthConfig { seed: 8, ..cfg }).unwrap();
    assert_ne!(one[0].close(), other_seed[0].close());
}

#[test]
fn same_config_gives_identical_file_bytes_for_any_thread_count() {
    let cfg = config(4, 1);
    for format in [FileFormat::Parquet, FileFormat::Csv] {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let first = in_pool(1, || {
            generate_to_dir(&cfg, a.path(), format, || {}).unwrap()
        });
        let second = in_pool(2, || {
            generate_to_dir(&cfg, b.path(), format, || {}).unwrap()
        });
        assert_eq!(first.files.len(), 4);
        assert_eq!(first.candles, second.candles);
        for (x, y) in first.files.iter().zip(&second.files) {
            assert_eq!(x.file_name(), y.file_name());
            assert_eq!(fs::read(x).unwrap(), fs::read(y).unwrap(), "{x:?}");
        }
        let expected = format!("BTC-USD_1m.{format}");
        assert_eq!(first.files[0].file_name().unwrap(), expected.as_str());
    }
}

#[test]
fn written_files_match_the_in_memory_series() {
    let cfg = config(2, 1);
    let dir = tempfile::tempdir().unwrap();
    let summary = generate_to_dir(&cfg, dir.path(), FileFormat::Csv, || {}).unwrap();
    let series = generate(&cfg).unwrap();
    assert_eq!(
        summary.candles,
        series.iter().map(CandleSeries::len).sum::<usize>()
    );
    let csv = fs::read_to_string(&summary.files[0]).unwrap();
    let first_row = csv.lines().nth(1).unwrap();
    let s = &series[0];
    let expected = format!(
        "{},{:?},{:?},{:?},{:?},{:?}",
        s.ts()[0],
        s.open()[0],
        s.high()[0],
        s.low()[0],
        s.close()[0],
        s.volume()[0]
    );
    assert_eq!(first_row, expected);
    assert_eq!(csv.lines().count(), s.len() + 1);

    let via_write_universe = tempfile::tempdir().unwrap();
    let paths = write_universe(via_write_universe.path(), &series, FileFormat::Parquet).unwrap();
    let streamed = tempfile::tempdir().unwrap();
    let summary = generate_to_dir(&cfg, streamed.path(), FileFormat::Parquet, || {}).unwrap();
    for (a, b) in paths.iter().zip(&summary.files) {
        assert_eq!(fs::read(a).unwrap(), fs::read(b).unwrap(), "{a:?}");
    }
}

#[test]
fn symbols_are_independent_of_universe_size_and_shorter_runs_are_prefixes() {
    let four = generate(&config(4, 2)).unwrap();
    let eight = generate(&config(8, 2)).unwrap();
    assert_eq!(four[..], eight[..4]);
    let longer = generate(&config(4, 3)).unwrap();
    for (short, long) in four.iter().zip(&longer) {
        assert_eq!(short, &long.window(i64::MIN, short.span().unwrap().1 + 1));
    }
}

/// OHLC consistency, positive low, tick and lot multiples, positive finite volume.
fn assert_bars_are_valid(series: &[CandleSeries]) {
    let profiles = symbol_profiles(series.len()).unwrap();
    for (s, p) in series.iter().zip(&profiles) {
        assert_eq!(s.symbol(), p.name);
        let (tick_scale, lot_scale) = (1.0 / p.tick_size(), 1.0 / p.lot_size());
        let on_grid = |x: f64, scale: f64| ((x * scale).round() - x * scale).abs() < 1e-6;
        for i in 0..s.len() {
            let (o, h, l, c, v) = (
                s.open()[i],
                s.high()[i],
                s.low()[i],
                s.close()[i],
                s.volume()[i],
            );
            assert!(
                l > 0.0 && l <= o.min(c) && h >= o.max(c),
                "{} bar {i}: {o} {h} {l} {c}",
                p.name
            );
            for price in [o, h, l, c] {
                assert!(
                    price.is_finite() && on_grid(price, tick_scale),
                    "{} bar {i}: {price}",
                    p.name
                );
            }
            assert!(
                v > 0.0 && v.is_finite() && on_grid(v, lot_scale),
                "{} bar {i}: volume {v}",
                p.name
            );
        }
        // High and low are not degenerate: most bars have a range (a quiet
        // low-volatility equity at ~1 tick per minute sigma still has ~85 %).
        let ranged = (0..s.len()).filter(|&i| s.high()[i] > s.low()[i]).count();
        assert!(
            ranged * 3 > s.len() * 2,
            "{}: only {ranged} bars with a range",
            p.name
        );
    }
}

#[test]
fn every_bar_is_consistent_tick_rounded_and_has_positive_volume() {
    assert_bars_are_valid(&generate(&config(100, 3)).unwrap());
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::with_cases(24)
    })]

    #[test]
    fn any_valid_config_gives_valid_aligned_bars(
        seed in any::<u64>(),
        symbols in 1usize..=100,
        days in 1u32..=3,
        interval in prop::sample::select(Interval::ALL.to_vec()),
        signal_strength in 0.0f64..2.0,
        missing_bar_probability in 0.0f64..0.5,
        start_days in -4000i64..4000,
    ) {
        let cfg = SynthConfig {
            symbols,
            days,
            interval,
            seed,
            // Any weekday, before and after 1970.
            start_ms: start_days * 86_400_000,
            signal_strength,
            missing_bar_probability,
        };
        let series = generate(&cfg).unwrap();
        prop_assert_eq!(series.len(), symbols);
        let end_ms = cfg.start_ms + i64::from(days) * 86_400_000;
        for s in &series {
            prop_assert!(s.len() <= cfg.bars_per_symbol());
            prop_assert!(s.ts().iter().all(|&t| t % interval.millis() == 0 && t >= cfg.start_ms && t < end_ms));
            prop_assert!(s.ts().windows(2).all(|w| w[1] > w[0]));
        }
        if interval == Interval::M1 {
            assert_bars_are_valid(&series);
        }
    }
}

#[test]
fn timestamps_are_aligned_and_strictly_increasing_at_every_interval() {
    for interval in [Interval::M1, Interval::M5, Interval::H1, Interval::D1] {
        let cfg = SynthConfig {
            interval,
            missing_bar_probability: 0.05,
            ..config(3, 14)
        };
        let step = interval.millis();
        for s in generate(&cfg).unwrap() {
            assert_eq!(s.interval(), interval);
            assert!(s.ts().iter().all(|t| t % step == 0));
            assert!(s.ts().windows(2).all(|w| w[1] > w[0]));
            let (first, last) = s.span().unwrap();
            assert!(first >= cfg.start_ms && last < cfg.start_ms + 14 * 86_400_000);
        }
    }
}

#[test]
fn prices_span_a_cent_to_a_hundred_thousand_and_btc_stays_plausible() {
    let series = generate(&config(100, 1)).unwrap();
    let lowest = series
        .iter()
        .flat_map(|s| s.low())
        .copied()
        .fold(f64::INFINITY, f64::min);
    let highest = series
        .iter()
        .flat_map(|s| s.high())
        .copied()
        .fold(0.0, f64::max);
    assert!((0.005..0.03).contains(&lowest), "lowest price {lowest}");
    assert!(
        (50_000.0..150_000.0).contains(&highest),
        "highest price {highest}"
    );

    let btc = &generate(&config(1, 90)).unwrap()[0];
    assert_eq!(btc.symbol(), "BTC-USD");
    let (lo, hi) = btc
        .close()
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), &c| {
            (lo.min(c), hi.max(c))
        });
    assert!(
        lo > 45_000.0 && hi < 140_000.0,
        "BTC closes within {lo}..{hi}"
    );
}

#[test]
fn volume_follows_the_sessions_and_weekends() {
    // Four whole weeks, all crypto; average volume relative to each symbol's mean.
    let series = generate(&config(10, 28)).unwrap();
    let (mut new_york, mut weekend_night) = (Vec::new(), Vec::new());
    for s in &series {
        let mean = s.volume().iter().sum::<f64>() / s.len() as f64;
        for (t, v) in s.ts().iter().zip(s.volume()) {
            let day = ((t / 86_400_000) + 3) % 7; // 0 = Monday
            let hour = (t % 86_400_000) / 3_600_000;
            if day < 5 && (14..20).contains(&hour) {
                new_york.push(v / mean);
            } else if day >= 5 && hour >= 22 {
                weekend_night.push(v / mean);
            }
        }
    }
    let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let ratio = avg(&new_york) / avg(&weekend_night);
    assert!(
        ratio > 3.0,
        "New York weekday / weekend night volume = {ratio}"
    );
}

#[test]
fn missing_bars_occur_at_the_configured_rate() {
    for (probability, symbols, days) in [(0.01, 20, 30), (0.0005, 100, 10)] {
        let cfg = SynthConfig {
            missing_bar_probability: probability,
            ..config(symbols, days)
        };
        let series = generate(&cfg).unwrap();
        let expected_total = (cfg.bars_per_symbol() * symbols) as f64;
        let present: usize = series.iter().map(CandleSeries::len).sum();
        let rate = 1.0 - present as f64 / expected_total;
        assert!(
            (rate / probability - 1.0).abs() < 0.2,
            "missing rate {rate} for probability {probability}"
        );
    }
}

#[test]
fn regimes_switch_and_change_realized_volatility() {
    let cfg = config(10, 90);
    let market = market_path(&cfg).unwrap();
    let regimes = market.regimes();
    let share =
        |r: Regime| regimes.iter().filter(|&&x| x == r).count() as f64 / regimes.len() as f64;
    for r in [Regime::Low, Regime::Medium, Regime::High] {
        assert!(share(r) > 0.03, "{r:?} share {}", share(r));
    }
    let switches = regimes.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(switches >= 20, "{switches} switches");

    // Mean |1m return| by regime, pooled over symbols, without missing bars.
    let series = generate(&SynthConfig {
        missing_bar_probability: 0.0,
        ..cfg
    })
    .unwrap();
    let mut sum = [0.0; 3];
    let mut count = [0usize; 3];
    for s in &series {
        for (i, r) in log_returns(s).iter().enumerate() {
            let regime = regimes[i + 1] as usize;
            sum[regime] += r.abs();
            count[regime] += 1;
        }
    }
    let mean = |r: Regime| sum[r as usize] / count[r as usize] as f64;
    let high_over_low = mean(Regime::High) / mean(Regime::Low);
    assert!(high_over_low > 2.0, "high/low mean |r| = {high_over_low}");
    assert!(mean(Regime::Medium) > 1.2 * mean(Regime::Low));
}

#[test]
fn returns_are_fat_tailed() {
    let s = &generate(&SynthConfig {
        missing_bar_probability: 0.0,
        ..config(1, 30)
    })
    .unwrap()[0];
    let r = log_returns(s);
    let n = r.len() as f64;
    let mean = r.iter().sum::<f64>() / n;
    let m2 = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let m4 = r.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n;
    let kurtosis = m4 / (m2 * m2);
    assert!(kurtosis > 8.0, "kurtosis {kurtosis} (Gaussian: 3)");
}

#[test]
fn coarser_intervals_are_consistent_with_one_minute_bars() {
    let base = SynthConfig {
        missing_bar_probability: 0.0,
        ..config(20, 84)
    };
    let minute = generate(&base).unwrap();
    let five = generate(&SynthConfig {
        interval: Interval::M5,
        ..base.clone()
    })
    .unwrap();
    let (mut var_1m_summed, mut var_5m, mut vol_1m, mut vol_5m) = (0.0, 0.0, 0.0, 0.0);
    for (m, f) in minute.iter().zip(&five) {
        // 5-minute log returns from 1m closes at 5m boundaries.
        let closes: Vec<f64> = m.close().iter().skip(4).step_by(5).copied().collect();
        let summed: Vec<f64> = closes.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
        let direct = log_returns(f);
        let var = |r: &[f64]| r.iter().map(|x| x * x).sum::<f64>() / r.len() as f64;
        var_1m_summed += var(&summed);
        var_5m += var(&direct);
        vol_1m += m.volume().iter().sum::<f64>() * 5.0 / m.len() as f64;
        vol_5m += f.volume().iter().sum::<f64>() / f.len() as f64;
    }
    let variance_ratio = var_5m / var_1m_summed;
    let volume_ratio = vol_5m / vol_1m;
    assert!(
        (0.8..1.25).contains(&variance_ratio),
        "5m/1m variance {variance_ratio}"
    );
    assert!(
        (0.9..1.1).contains(&volume_ratio),
        "5m/1m volume {volume_ratio}"
    );
}

/// Directional accuracy of "the next `horizon` bars move like the last `horizon`":
/// sign(log c_t − log c_{t−h}) vs sign(log c_{t+h} − log c_t), one sample every h bars.
fn momentum_accuracy(series: &[CandleSeries], horizon: usize) -> (f64, usize) {
    let (mut hits, mut samples) = (0usize, 0usize);
    for s in series {
        let c = s.close();
        let mut t = horizon;
        while t + horizon < c.len() {
            let past = (c[t] / c[t - horizon]).ln();
            let future = (c[t + horizon] / c[t]).ln();
            if past != 0.0 && future != 0.0 {
                samples += 1;
                hits += usize::from((past > 0.0) == (future > 0.0));
            }
            t += horizon;
        }
    }
    (hits as f64 / samples as f64, samples)
}

#[test]
fn planted_signal_makes_the_next_bars_partially_predictable() {
    let base = config(20, 20);
    let planted = generate(&base).unwrap();
    let (accuracy, samples) = momentum_accuracy(&planted, 20);
    assert!(samples > 25_000);
    assert!(
        accuracy > 0.525,
        "accuracy with signal {accuracy} over {samples}"
    );
    assert!(
        accuracy < 0.65,
        "signal too strong to be realistic: {accuracy}"
    );

    let none = generate(&SynthConfig {
        signal_strength: 0.0,
        ..base
    })
    .unwrap();
    let (accuracy, samples) = momentum_accuracy(&none, 20);
    assert!(
        (accuracy - 0.5).abs() < 0.012,
        "accuracy without signal {accuracy} over {samples}"
    );
}
