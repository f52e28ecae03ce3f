//! core31's `ta`-convention features against the independent `ta` 0.11 reference
//! (tests/fixtures/goldens/ta_eurusd_features.csv, 5000 hourly EURUSD bars).

use gauntlet_datasets::{CandleSeries, Interval};
use gauntlet_strategies::features::{compute_as, FeatureSet};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/goldens");

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_ts(date: &str) -> i64 {
    // "2017-04-19 09:00:00"
    let n = |r: std::ops::Range<usize>| date[r].parse::<i64>().unwrap();
    let days = days_from_civil(n(0..4), n(5..7), n(8..10));
    ((days * 24 + n(11..13)) * 60 + n(14..16)) * 60_000 + n(17..19) * 1000
}

struct Golden {
    series: CandleSeries,
    header: Vec<String>,
    rows: Vec<Vec<f64>>,
}

impl Golden {
    fn load() -> Self {
        let mut reader =
            csv::Reader::from_path(format!("{FIXTURES}/ta_eurusd_features.csv")).unwrap();
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        let mut series = CandleSeries::with_capacity("EURUSD", Interval::H1, 5000);
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.unwrap();
            let values: Vec<f64> = record
                .iter()
                .skip(1)
                .map(|cell| {
                    if cell.is_empty() {
                        f64::NAN
                    } else {
                        cell.parse().unwrap()
                    }
                })
                .collect();
            series.push(
                parse_ts(&record[0]),
                values[0],
                values[1],
                values[2],
                values[3],
                values[4],
            );
            rows.push(values);
        }
        Self {
            series,
            header,
            rows,
        }
    }

    fn column(&self, name: &str) -> Vec<f64> {
        let i = self.header.iter().position(|h| h == name).unwrap() - 1;
        self.rows.iter().map(|r| r[i]).collect()
    }
}

/// Compares a computed column with the reference: same NaN positions, and from the
/// first valid row `|ours − ta| ≤ tol · max(|ta|, floor)`. The floor is 0 (purely
/// relative) except for %B, a position in the band whose natural scale is 1: near
/// the lower band it crosses 0, where pandas' rolling-std drift (~1e-12 absolute)
/// is not small *relative* to the value.
fn assert_matches(ours: &[f64], reference: &[f64], tol: f64, floor: f64, what: &str) {
    assert_eq!(ours.len(), reference.len());
    let mut worst = 0.0f64;
    for (i, (&a, &b)) in ours.iter().zip(reference).enumerate() {
        assert_eq!(a.is_nan(), b.is_nan(), "{what} row {i}: ours {a}, ta {b}");
        if b.is_nan() {
            continue;
        }
        let scale = b.abs().max(floor);
        let rel = if scale == 0.0 {
            a.abs()
        } else {
            (a - b).abs() / scale
        };
        worst = worst.max(rel);
        assert!(
            rel <= tol,
            "{what} row {i}: ours {a:e}, ta {b:e}, relative {rel:e}"
        );
    }
    eprintln!("{what}: worst relative difference {worst:e}");
}

#[test]
fn core31_matches_ta_goldens() {
    let golden = Golden::load();
    assert_eq!(golden.series.len(), 5000);
    let set = FeatureSet::core31();
    let matrix = compute_as::<f64>(&set, &golden.series).unwrap();
    let ours = |name: &str| {
        let j = matrix.column_index(name).unwrap();
        matrix.values.column(j).to_vec()
    };
    for (feature, reference, tol, floor) in [
        ("rsi", "rsi_14", 1e-9, 0.0),
        ("macd", "macd_12_26", 1e-9, 0.0),
        ("macd_signal", "macd_signal_9", 1e-9, 0.0),
        ("macd_diff", "macd_diff", 1e-9, 0.0),
        ("bb_high", "bb_high_20_2", 1e-9, 0.0),
        ("bb_low", "bb_low_20_2", 1e-9, 0.0),
        ("bb_width", "bb_width_20_2", 1e-7, 0.0),
        ("bb_position", "bb_pband_20_2", 1e-7, 1.0),
        ("atr", "atr_14", 1e-9, 0.0),
        ("sma_7", "sma_7", 1e-9, 0.0),
        ("sma_14", "sma_14", 1e-9, 0.0),
        ("sma_21", "sma_21", 1e-9, 0.0),
        ("sma_50", "sma_50", 1e-9, 0.0),
    ] {
        assert_matches(
            &ours(feature),
            &golden.column(reference),
            tol,
            floor,
            feature,
        );
    }
    // price_sma_n_ratio = close / sma_n.
    let close = golden.column("Close");
    let expected: Vec<f64> = close
        .iter()
        .zip(golden.column("sma_21"))
        .map(|(c, s)| c / s)
        .collect();
    assert_matches(
        &ours("price_sma_21_ratio"),
        &expected,
        1e-9,
        0.0,
        "price_sma_21_ratio",
    );
}

#[test]
fn warm_up_lengths_match_the_reference_leading_nans() {
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/ta_eurusd_summary.json")).unwrap(),
    )
    .unwrap();
    let manifest = FeatureSet::core31().manifest();
    let warmup = |name: &str| {
        manifest
            .features
            .iter()
            .find(|f| f.name == name)
            .unwrap()
            .warmup_bars as u64
    };
    for (feature, reference) in [
        ("rsi", "rsi_14"),
        ("macd", "macd_12_26"),
        ("macd_signal", "macd_signal_9"),
        ("bb_high", "bb_high_20_2"),
        ("sma_7", "sma_7"),
        ("sma_50", "sma_50"),
    ] {
        let info = &summary["features"][reference];
        assert_eq!(
            warmup(feature),
            info["first_valid_index"].as_u64().unwrap(),
            "{feature}"
        );
    }
    // ATR: the first 13 rows are 0.0 (not NaN) in ta, real from row 13.
    assert_eq!(summary["features"]["atr_14"]["leading_zeros_not_nan"], 13);
    assert_eq!(warmup("atr"), 13);
}
