//! End-to-end tests of `gauntlet regress`: report directories are built here from a small
//! hand-made engine run (gauntlet_reports' build_report), then edited to make a worse, a
//! better or an incomparable candidate.

mod common;

use std::path::Path;
use std::process::Output;

use gauntlet_engine::result::{AmbiguityStats, EquityCurve};
use gauntlet_engine::{ExitReason, RunResult, Trade};
use gauntlet_reports::regress::{RegressionReport, RegressionVerdict, Status, Tolerances};
use gauntlet_reports::render::{
    build_report, write_reports, Provenance, Report, ReportFormat, ReportOptions,
};
use gauntlet_strategies::strategy::Side;

use common::{gauntlet, path_str, stderr, stdout};

const DAY: i64 = 86_400_000;

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
        fees: 0.5,
        pnl,
        return_fraction: pnl / 100.0,
        exit_reason: ExitReason::Signal,
        mae: 1.0,
        mfe: 2.0,
        atr_multiple_at_exit: None,
        model_at_entry: None,
    }
}

/// Six daily bars, three trades (+30, −10, +15) on two symbols.
fn baseline_report() -> Report {
    let equity = vec![1000.0, 1030.0, 1020.0, 1010.0, 1025.0, 1035.0];
    let run = RunResult {
        strategy: "scripted".into(),
        symbols: vec!["BTC-USD".into(), "ETH-USD".into()],
        initial_cash: 1000.0,
        final_equity: 1035.0,
        total_fees: 1.5,
        equity: EquityCurve {
            ts: (0..6).map(|i| i * DAY).collect(),
            cash: equity.clone(),
            gross_exposure: vec![0.0; 6],
            net_exposure: vec![0.0; 6],
            equity,
        },
        trades: vec![
            trade(0, 0, DAY, 30.0),
            trade(1, DAY, 3 * DAY, -10.0),
            trade(0, 3 * DAY, 5 * DAY, 15.0),
        ],
        orders: vec![],
        fills: vec![],
        risk_events: vec![],
        ambiguity: AmbiguityStats::default(),
        candles: 12,
    };
    build_report(
        &run,
        ReportOptions {
            provenance: Provenance {
                config: serde_json::json!({"risk": {"stop_loss_atr": 1.2}}),
                data_hash: Some("sha256:data".into()),
                manifest_hash: Some("sha256:manifest".into()),
                ..Provenance::default()
            },
            ..ReportOptions::default()
        },
    )
    .expect("report of the hand-made run")
}

fn write(dir: &Path, report: &Report) {
    write_reports(dir, report, &[ReportFormat::Json, ReportFormat::Markdown]).unwrap();
}

fn with_statistic(report: &Report, name: &str, value: f64) -> Report {
    let mut edited = report.clone();
    assert!(edited.statistics.values.contains_key(name), "{name}");
    edited
        .statistics
        .values
        .insert(name.to_string(), Some(value));
    edited
}

fn statistic(report: &Report, name: &str) -> f64 {
    report.statistics.values[name].expect("defined statistic")
}

/// A temp root with `baseline/` written from `baseline` and `candidate/` from `candidate`.
fn dirs(baseline: &Report, candidate: &Report) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    write(&root.path().join("baseline"), baseline);
    write(&root.path().join("candidate"), candidate);
    root
}

fn regress(root: &Path, extra: &[&str]) -> Output {
    let (b, c) = (root.join("baseline"), root.join("candidate"));
    let mut args = vec![
        "regress",
        "--baseline",
        path_str(&b),
        "--candidate",
        path_str(&c),
    ];
    args.extend_from_slice(extra);
    gauntlet(&args)
}

#[test]
fn a_worse_candidate_fails_with_exit_1_and_names_the_metric() {
    let baseline = baseline_report();
    let sharpe = statistic(&baseline, "sharpe_ratio");
    // The default tolerance lets Sharpe drop by 0.1: drop it by 0.5.
    let candidate = with_statistic(&baseline, "sharpe_ratio", sharpe - 0.5);
    let root = dirs(&baseline, &candidate);
    let out_dir = root.path().join("regress");
    let out = regress(root.path(), &["--out", path_str(&out_dir)]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(text.starts_with("## gauntlet regress: REGRESSED"), "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("| run | sharpe_ratio |"))
        .expect("a sharpe row");
    assert!(
        row.contains("**REGRESSED**") && row.contains("drop ≤ 0.1"),
        "{row}"
    );
    assert!(
        text.find("| run | sharpe_ratio |").unwrap() < text.find("<details>").unwrap(),
        "regressions come before the collapsed rest: {text}"
    );
    assert!(
        stderr(&out).contains("run sharpe_ratio (regressed)"),
        "{}",
        stderr(&out)
    );

    // Both files are written, and the Markdown file is what was printed.
    let md = std::fs::read_to_string(out_dir.join("regress.md")).unwrap();
    assert_eq!(md, text);
    let json = std::fs::read_to_string(out_dir.join("regress.json")).unwrap();
    let report: RegressionReport = serde_json::from_str(&json).unwrap();
    assert_eq!(report.verdict, RegressionVerdict::Regressed);
    let failed: Vec<(&str, Status)> = report
        .failures()
        .map(|r| (r.metric.as_str(), r.status))
        .collect();
    assert_eq!(failed, vec![("sharpe_ratio", Status::Regressed)]);
    let leftovers: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn identical_and_better_candidates_pass_with_exit_0() {
    let baseline = baseline_report();
    let root = dirs(&baseline, &baseline);
    let out = regress(root.path(), &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.starts_with("## gauntlet regress: PASS"), "{text}");
    assert!(
        text.contains("No metric regressed and none is missing."),
        "{text}"
    );
    assert!(
        text.contains(": 0 regressed, 0 missing, 0 within tolerance"),
        "{text}"
    );

    let better = with_statistic(&baseline, "max_drawdown", 0.0);
    let better = with_statistic(
        &better,
        "sharpe_ratio",
        statistic(&baseline, "sharpe_ratio") + 1.0,
    );
    // A small worsening within the tolerance still passes.
    let better = with_statistic(
        &better,
        "win_rate",
        statistic(&baseline, "win_rate") - 0.005,
    );
    let root = dirs(&baseline, &better);
    let out = regress(
        root.path(),
        &[
            "--tolerances",
            concat!(env!("CARGO_MANIFEST_DIR"), "/configs/tolerances.toml"),
        ],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let status_of = |metric: &str| {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("| run | {metric} |")))
            .unwrap_or_else(|| panic!("no {metric} row in {text}"));
        row.split('|').nth(8).unwrap().trim().to_string()
    };
    assert_eq!(status_of("max_drawdown"), "improved");
    assert_eq!(status_of("sharpe_ratio"), "improved");
    assert_eq!(status_of("win_rate"), "within tolerance");
}

#[test]
fn a_tolerances_file_changes_the_verdict() {
    let baseline = baseline_report();
    let candidate = with_statistic(
        &baseline,
        "sharpe_ratio",
        statistic(&baseline, "sharpe_ratio") - 0.5,
    );
    let root = dirs(&baseline, &candidate);
    let tolerances = root.path().join("tol.toml");
    std::fs::write(&tolerances, "[metrics.sharpe_ratio]\nabs = 1.0\n").unwrap();
    let out = regress(root.path(), &["--tolerances", path_str(&tolerances)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn a_missing_metric_fails() {
    let baseline = baseline_report();
    let mut candidate = baseline.clone();
    candidate.statistics.values.remove("profit_factor");
    let root = dirs(&baseline, &candidate);
    let out = regress(root.path(), &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("| run | profit_factor |") && text.contains("not reported by the candidate"),
        "{text}"
    );
}

#[test]
fn different_data_is_not_comparable_and_exits_2() {
    let baseline = baseline_report();
    let mut candidate = baseline.clone();
    candidate.metadata.provenance.data_hash = Some("sha256:other".into());
    let root = dirs(&baseline, &candidate);
    let out = regress(root.path(), &[]);
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(2), "{text}{err}");
    assert!(
        text.starts_with("## gauntlet regress: NOT COMPARABLE"),
        "{text}"
    );
    assert!(text.contains("sha256:other"), "{text}");
    assert!(
        err.contains("not comparable") && err.contains("data_hash (the runs read different data)"),
        "{err}"
    );
}

#[test]
fn bad_inputs_exit_2_and_name_the_path() {
    let baseline = baseline_report();
    let root = dirs(&baseline, &baseline);
    let base = root.path().join("baseline");

    let missing = root.path().join("no-such-run");
    let out = gauntlet(&[
        "regress",
        "--baseline",
        path_str(&base),
        "--candidate",
        path_str(&missing),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("candidate")
            && err.contains(path_str(&missing))
            && err.contains("does not exist"),
        "{err}"
    );

    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = gauntlet(&[
        "regress",
        "--baseline",
        path_str(&empty),
        "--candidate",
        path_str(&base),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let expected_file = empty.join("report.json");
    assert!(
        err.contains("baseline") && err.contains(path_str(&expected_file)),
        "{err}"
    );

    let broken = root.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(
        broken.join("report.json"),
        "{\"schema_version\": 1, \"metadata\": [}",
    )
    .unwrap();
    let out = gauntlet(&[
        "regress",
        "--baseline",
        path_str(&base),
        "--candidate",
        path_str(&broken),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(path_str(&broken.join("report.json"))) && err.contains("line 1 column"),
        "{err}"
    );

    let old = root.path().join("old");
    std::fs::create_dir(&old).unwrap();
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(base.join("report.json")).unwrap()).unwrap();
    json["schema_version"] = serde_json::json!(0);
    std::fs::write(old.join("report.json"), json.to_string()).unwrap();
    let out = gauntlet(&[
        "regress",
        "--baseline",
        path_str(&old),
        "--candidate",
        path_str(&base),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("schema_version 0") && err.contains(path_str(&old.join("report.json"))),
        "{err}"
    );

    let tolerances = root.path().join("tol.toml");
    std::fs::write(
        &tolerances,
        "[metrics.sharpe]\nabs = 1\n[metrics.ece]\nrel = -1\n",
    )
    .unwrap();
    let out = regress(root.path(), &["--tolerances", path_str(&tolerances)]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(path_str(&tolerances))
            && err.contains("[metrics.sharpe]")
            && err.contains("[metrics.ece] `rel` = -1"),
        "{err}"
    );
    assert!(stdout(&out).is_empty(), "no diff on a config error");
}

#[test]
fn configs_tolerances_toml_spells_out_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/tolerances.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let parsed = Tolerances::from_toml_str(&text).unwrap();
    assert_eq!(parsed, Tolerances::default());
    // Every metric is written out, not left to the defaults.
    let listed = text.lines().filter(|l| l.starts_with("[metrics.")).count();
    assert_eq!(listed, Tolerances::default().metrics.len());
}
