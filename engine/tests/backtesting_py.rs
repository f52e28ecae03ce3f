//! The backtesting.py 0.6.6 GOOG oracle (fixtures copied from shared/goldens/backtestingpy):
//! SMA 10/20 cross, commission 0.2 %, all-in whole units, next-open fills.

use gauntlet_datasets::{CandleSeries, Interval};
use gauntlet_engine::{simulate, EngineConfig, ExitReason, SymbolInput};
use gauntlet_strategies::strategy::{Side, SmaCross, SmaCrossConfig};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/backtestingpy");

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn date_ms(s: &str) -> i64 {
    let p: Vec<i64> = s.split('-').map(|x| x.parse().unwrap()).collect();
    days_from_civil(p[0], p[1], p[2]) * 86_400_000
}

fn goog() -> CandleSeries {
    let mut r = csv::Reader::from_path(format!("{DIR}/GOOG.csv")).unwrap();
    let mut s = CandleSeries::with_capacity("GOOG", Interval::D1, 2148);
    for row in r.records() {
        let row = row.unwrap();
        let f = |i: usize| row[i].parse::<f64>().unwrap();
        s.push(date_ms(&row[0]), f(1), f(2), f(3), f(4), f(5));
    }
    s
}

#[test]
fn days_from_civil_matches_known_dates() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2004, 8, 19), 12_649);
}

#[test]
fn reproduces_goog_sma_10_20_trades_and_equity() {
    let candles = goog();
    assert_eq!(candles.len(), 2148);
    let config = EngineConfig::backtesting_py(10_000.0, 0.002);
    let cross = SmaCrossConfig {
        fast: 10,
        slow: 20,
        allow_short: true,
    };
    let strategy = SmaCross::new(cross, [candles.close()]).unwrap();
    let result = simulate(&config, &strategy, &[SymbolInput::new(&candles)]).unwrap();

    let closed: Vec<_> = result
        .trades
        .iter()
        .filter(|t| t.exit_reason != ExitReason::EndOfData)
        .collect();
    let mut expected = csv::Reader::from_path(format!("{DIR}/GOOG_sma10_20_trades.csv")).unwrap();
    let headers = expected.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (size, entry_bar, exit_bar, entry_price, exit_price, pnl, commission) = (
        col("Size"),
        col("EntryBar"),
        col("ExitBar"),
        col("EntryPrice"),
        col("ExitPrice"),
        col("PnL"),
        col("Commission"),
    );
    let rows: Vec<csv::StringRecord> = expected.records().map(|r| r.unwrap()).collect();
    assert_eq!(closed.len(), 93);
    assert_eq!(rows.len(), 93);
    for (k, (t, row)) in closed.iter().zip(&rows).enumerate() {
        let f = |i: usize| row[i].parse::<f64>().unwrap();
        let signed = t.side.sign() * t.quantity;
        assert_eq!(signed, f(size), "trade {k}: size");
        assert_eq!(t.entry_bar, f(entry_bar) as usize, "trade {k}: entry bar");
        assert_eq!(t.exit_bar, f(exit_bar) as usize, "trade {k}: exit bar");
        assert_eq!(t.entry_price, f(entry_price), "trade {k}: entry price");
        assert_eq!(t.exit_price, f(exit_price), "trade {k}: exit price");
        assert!(
            (t.pnl - f(pnl)).abs() <= 1e-9 * f(pnl).abs().max(1.0),
            "trade {k}: pnl {} vs {}",
            t.pnl,
            f(pnl)
        );
        assert!(
            (t.fees - f(commission)).abs() <= 1e-9 * f(commission),
            "trade {k}: fees"
        );
        assert_eq!(t.exit_reason, ExitReason::Signal);
    }
    // The last trade is still open at the end (excluded from backtesting.py's trades).
    let open: Vec<_> = result
        .trades
        .iter()
        .filter(|t| t.exit_reason == ExitReason::EndOfData)
        .collect();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].side, Side::Long);

    let mut eq = csv::Reader::from_path(format!("{DIR}/GOOG_sma10_20_equity.csv")).unwrap();
    let equity: Vec<f64> = eq
        .records()
        .map(|r| r.unwrap()[1].parse().unwrap())
        .collect();
    assert_eq!(result.equity.equity.len(), equity.len());
    let mut worst = 0.0f64;
    for (i, (&ours, &theirs)) in result.equity.equity.iter().zip(&equity).enumerate() {
        let rel = (ours - theirs).abs() / theirs.abs();
        worst = worst.max(rel);
        assert!(rel <= 1e-9, "bar {i}: equity {ours} vs {theirs}");
    }
    assert!((result.final_equity - 56_263.519_340_000_04).abs() <= 1e-9 * 56_263.5);
    // "Commissions [$]" sums the closed trades only.
    let closed_fees: f64 = closed.iter().map(|t| t.fees).sum();
    assert!(
        (closed_fees - 10_563.951_540_000_002).abs() <= 1e-9 * 10_563.9,
        "fees {closed_fees}"
    );
    assert!(result.total_fees > closed_fees);
    eprintln!("worst relative equity difference: {worst:e}");
}
