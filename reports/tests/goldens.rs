//! Reference values from independent Python implementations (empyrical-reloaded 0.7.1,
//! scikit-learn 1.9.1, netcal 1.4.0); see tests/fixtures/goldens/README in the shared goldens.

use std::path::PathBuf;

use gauntlet_reports::calibration::{Binning, EdgeRule, PredictionSet, ReliabilityTable};
use gauntlet_reports::series::MS_PER_DAY;
use gauntlet_reports::stats::{
    compute_statistics, PerformanceInput, SharpeRatio, Statistic, StatisticsConfig,
};
use gauntlet_reports::{Annualization, EquitySeries};
use serde_json::Value;

const TOL: f64 = 1e-9;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/goldens")
        .join(name)
}

fn json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

fn num(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} missing"))
}

fn assert_close(name: &str, actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() <= TOL,
        "{name}: {actual} vs golden {expected}"
    );
}

/// The golden daily returns as an equity curve: initial equity 1, one bar per UTC day,
/// `E_t = Π_{s ≤ t} (1 + r_s)`, so the derived daily returns are the golden ones.
fn empyrical_curve() -> EquitySeries {
    let mut reader = csv::Reader::from_path(fixture("empyrical_daily_returns.csv")).unwrap();
    let mut equity = Vec::new();
    let mut wealth = 1.0;
    for record in reader.records() {
        let r: f64 = record.unwrap()[1].parse().unwrap();
        wealth *= 1.0 + r;
        equity.push(wealth);
    }
    assert_eq!(equity.len(), 756);
    // 2021-01-04 is day 18_631; calendar gaps between business days do not matter because
    // each bar is its own day.
    let ts = (0..equity.len() as i64)
        .map(|d| (18_631 + d) * MS_PER_DAY)
        .collect();
    EquitySeries::new(1.0, ts, equity).unwrap()
}

#[test]
fn statistics_match_empyrical() {
    let golden = json("empyrical_metrics.json");
    let curve = empyrical_curve();
    let input = PerformanceInput::new(&curve, &[], Annualization::TradingDays).unwrap();
    assert_eq!(input.daily_returns().returns().len(), 756);
    let report = compute_statistics(&input, &StatisticsConfig::default());
    let v = |name: &str| report.values[name].unwrap_or_else(|| panic!("{name} undefined"));
    assert_close("sharpe", v("sharpe_ratio"), num(&golden, "sharpe_ratio"));
    assert_close("sortino", v("sortino_ratio"), num(&golden, "sortino_ratio"));
    // Reported as a positive fraction; empyrical reports it negative.
    assert_close(
        "max_drawdown",
        v("max_drawdown"),
        -num(&golden, "max_drawdown"),
    );
    assert_close(
        "annual_volatility",
        v("annual_volatility"),
        num(&golden, "annual_volatility"),
    );
    assert_close("annual_return", v("cagr"), num(&golden, "annual_return"));
    assert_close("calmar", v("calmar_ratio"), num(&golden, "calmar_ratio"));
    assert_close(
        "downside_risk",
        v("downside_risk"),
        num(&golden, "downside_risk"),
    );
    assert_close(
        "total_return",
        v("total_return"),
        num(&golden, "cum_returns_final"),
    );
    assert_eq!(report.annualization, Annualization::TradingDays);

    let with_rf = SharpeRatio {
        risk_free_per_period: 0.0001,
    };
    assert_close(
        "sharpe rf",
        with_rf.calculate(&input).unwrap(),
        num(&golden, "sharpe_ratio_rf_0.0001"),
    );
}

fn calibration_pairs() -> (Vec<f64>, Vec<usize>) {
    let mut reader = csv::Reader::from_path(fixture("calibration_pairs.csv")).unwrap();
    let mut probs = Vec::new();
    let mut labels = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        probs.push(record[0].parse::<f64>().unwrap());
        labels.push(record[1].parse::<usize>().unwrap());
    }
    assert_eq!(probs.len(), 2000);
    (probs, labels)
}

#[test]
fn calibration_matches_sklearn_and_netcal() {
    let golden = json("calibration.json");
    let (probs, labels) = calibration_pairs();
    let set = PredictionSet::from_binary(&probs, labels.clone()).unwrap();
    let report = set.report();

    // sklearn calibration_curve(n_bins=10, strategy='uniform'): non-empty bins, (lo, hi].
    let outcomes: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
    let sklearn = ReliabilityTable::new(
        &probs,
        &outcomes,
        Binning::Uniform {
            bins: 10,
            edge_rule: EdgeRule::UpperInclusive,
        },
    )
    .unwrap();
    let curve = &golden["calibration_curve_uniform_10"];
    let non_empty: Vec<_> = sklearn.bins.iter().filter(|b| b.count > 0).collect();
    let prob_true = curve["prob_true"].as_array().unwrap();
    let prob_pred = curve["prob_pred"].as_array().unwrap();
    assert_eq!(non_empty.len(), prob_true.len());
    for ((bin, t), p) in non_empty.iter().zip(prob_true).zip(prob_pred) {
        assert_close(
            "prob_true",
            bin.observed_frequency.unwrap(),
            t.as_f64().unwrap(),
        );
        assert_close(
            "prob_pred",
            bin.mean_confidence.unwrap(),
            p.as_f64().unwrap(),
        );
    }

    // Own ECE table (lower-inclusive bins) on the positive class.
    let positive = &report.per_class[1];
    for (bin, g) in positive
        .bins
        .iter()
        .zip(golden["ece_bins"].as_array().unwrap())
    {
        assert_eq!(bin.count as u64, g["count"].as_u64().unwrap());
        assert_close("lo", bin.lo, num(g, "lo"));
        assert_close("hi", bin.hi, num(g, "hi"));
        assert_close(
            "frac_pos",
            bin.observed_frequency.unwrap(),
            num(g, "frac_pos"),
        );
        assert_close(
            "mean_prob",
            bin.mean_confidence.unwrap(),
            num(g, "mean_prob"),
        );
        assert_close("abs_gap", bin.gap.unwrap(), num(g, "abs_gap"));
    }
    let ece = num(&golden, "ece_equal_width_10_count_weighted");
    assert_close(
        "ece (positive class)",
        report.ece_per_class[1].unwrap(),
        ece,
    );
    assert_close(
        "netcal ece",
        report.ece_per_class[1].unwrap(),
        num(&golden, "netcal_ECE_bins10"),
    );
    assert_close(
        "mce (positive class)",
        positive.mce.unwrap(),
        num(&golden, "mce_equal_width_10"),
    );
    assert_close(
        "top-label ece",
        report.ece.unwrap(),
        num(&golden, "ece_toplabel_equal_width_10"),
    );

    let brier = num(&golden, "brier_score_loss");
    assert_close("brier (class 1)", report.brier_per_class[1].unwrap(), brier);
    // The multi-class Brier sums over both classes: twice the binary score.
    assert_close("brier (multi-class)", report.brier.unwrap(), 2.0 * brier);
    assert_close(
        "log loss",
        report.log_loss.unwrap(),
        num(&golden, "log_loss"),
    );
    assert_close(
        "roc auc",
        report.roc_auc_per_class[1].unwrap(),
        num(&golden, "roc_auc"),
    );
    assert_close(
        "roc auc (class 0)",
        report.roc_auc_per_class[0].unwrap(),
        num(&golden, "roc_auc"),
    );
    assert_close(
        "base rate",
        report.class_balance.as_ref().unwrap().realized_share[1],
        num(&golden, "base_rate"),
    );
}
