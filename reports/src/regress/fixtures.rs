//! Test fixture shared by the regression unit tests: a small report to compare.

use std::collections::BTreeMap;

use gauntlet_engine::result::{AmbiguityStats, EquityCurve as EngineCurve};
use gauntlet_engine::{ExitReason as EngineExitReason, RunResult, Trade};
use gauntlet_strategies::strategy::Side;

use crate::calibration::PredictionSet;
use crate::render::{build_report, CalibrationSection, Provenance, Report, ReportOptions};

/// One day in milliseconds.
pub(super) const DAY: i64 = 86_400_000;

fn trade(symbol_index: usize, entry_ts: i64, exit_ts: i64, pnl: f64) -> Trade {
    Trade {
        symbol_index,
        side: Side::Long,
        entry_ts,
        entry_bar: 0,
        exit_ts,
        exit_bar: 1,
        entry_price: 100.0,
        exit_price: 100.0 + pnl,
        quantity: 1.0,
        fees: 0.0,
        pnl,
        return_fraction: pnl / 100.0,
        exit_reason: EngineExitReason::Signal,
        mae: 1.0,
        mfe: 2.0,
        atr_multiple_at_exit: None,
        model_at_entry: None,
    }
}

/// Five daily bars, two trades (+30, −10), ensemble and one member calibration.
pub(super) fn sample_report() -> Report {
    let equity = vec![1000.0, 1030.0, 1010.0, 1020.0, 1020.0];
    let run = RunResult {
        strategy: "test".into(),
        symbols: vec!["AAA".into(), "BBB".into()],
        initial_cash: 1000.0,
        final_equity: 1020.0,
        total_fees: 0.0,
        equity: EngineCurve {
            ts: (0..5).map(|i| i * DAY).collect(),
            cash: equity.clone(),
            gross_exposure: vec![0.0; 5],
            net_exposure: vec![0.0; 5],
            equity,
        },
        trades: vec![trade(0, 0, DAY, 30.0), trade(1, DAY, 2 * DAY, -10.0)],
        orders: vec![],
        fills: vec![],
        risk_events: vec![],
        ambiguity: AmbiguityStats::default(),
        candles: 10,
    };
    let labels = vec![1, 0, 1, 0];
    let ensemble = PredictionSet::from_binary(&[0.9, 0.2, 0.6, 0.7], labels.clone())
        .unwrap()
        .report();
    let member = PredictionSet::from_binary(&[0.8, 0.4, 0.4, 0.6], labels)
        .unwrap()
        .report();
    build_report(
        &run,
        ReportOptions {
            provenance: Provenance {
                config: serde_json::json!({"risk": {"stop_loss_atr": 1.2}, "data": {"interval": "1d"}}),
                data_hash: Some("data-1".into()),
                manifest_hash: Some("manifest-1".into()),
                bundle_hashes: BTreeMap::from([("xgb".to_string(), "bundle-1".to_string())]),
                scoring_engines: BTreeMap::from([("xgb".to_string(), "onnxruntime".to_string())]),
            },
            calibration: Some(CalibrationSection {
                ensemble: Some(ensemble),
                members: BTreeMap::from([("xgb".to_string(), member)]),
                class_labels: vec!["down".into(), "up".into()],
            }),
            ..ReportOptions::default()
        },
    )
    .unwrap()
}
