//! The renderers on small engine simulations: a run with a few trades (a stop-loss, a
//! signal exit, a trade still open at the end) and one risk event, and a run with no trades.

use std::collections::BTreeMap;
use std::path::Path;

use gauntlet_datasets::{CandleSeries, Interval};
use gauntlet_engine::{simulate, Distance, EngineConfig, RunResult, Sizing, SymbolInput};
use gauntlet_reports::calibration::PredictionSet;
use gauntlet_reports::gates::GateSpec;
use gauntlet_reports::render::{
    build_report, render_html, render_markdown, write_reports, CalibrationSection, Notices,
    Provenance, RenderError, Report, ReportFormat, ReportOptions, RISK_EVENT_COLUMNS,
    TRADE_COLUMNS,
};
use gauntlet_reports::run::EndOfDataPolicy;
use gauntlet_reports::Annualization;
use gauntlet_strategies::strategy::{BarContext, EntryIntent, OrderIntent, Side, Strategy};

const HOUR: i64 = 3_600_000;
/// 2024-01-31T00:00:00Z: the run crosses into February.
const START: i64 = 1_706_659_200_000;
/// A symbol name that needs escaping in HTML.
const ODD_SYMBOL: &str = "A&B<x>";

/// `report.json` as text.
fn json(report: &Report) -> String {
    String::from_utf8(ReportFormat::Json.render(report).unwrap()).unwrap()
}

struct Script(Vec<(usize, usize, OrderIntent)>);

impl Strategy for Script {
    type State = ();

    fn name(&self) -> &'static str {
        "script"
    }

    fn new_state(&self) {}

    fn on_bar(&self, _state: &mut (), ctx: &BarContext<'_>) -> Option<OrderIntent> {
        self.0
            .iter()
            .find(|(s, i, _)| *s == ctx.symbol_index && *i == ctx.bar_index)
            .map(|&(_, _, intent)| intent)
    }
}

fn long() -> OrderIntent {
    OrderIntent::Enter(EntryIntent::market(Side::Long))
}

fn hourly(symbol: &str, closes: &[f64]) -> CandleSeries {
    let mut s = CandleSeries::with_capacity(symbol, Interval::H1, closes.len());
    let mut previous = closes[0];
    for (i, &c) in closes.iter().enumerate() {
        let (hi, lo) = (previous.max(c), previous.min(c));
        s.push(START + i as i64 * HOUR, previous, hi, lo, c, 1e9);
        previous = c;
    }
    s
}

fn config() -> EngineConfig {
    let mut c = EngineConfig {
        initial_cash: 10_000.0,
        ..EngineConfig::default()
    };
    c.risk.sizing = Sizing::FixedFraction { fraction: 0.4 };
    c.risk.stop_loss = Some(Distance::Percent { percent: 3.0 });
    c
}

/// 48 hourly bars of two symbols. Symbol 0 (`A&B<x>`): entered at bar 1, gaps through its
/// stop at bar 4 (the risk event), re-entered at bar 20 and still open at the end.
/// Symbol 1 (`ETH`): entered at bar 2, exited by signal at bar 30.
fn sample_run() -> RunResult {
    let a: Vec<f64> = (0..48)
        .map(|i| match i {
            0..=3 => 100.0,
            4..=19 => 94.0,
            _ => 94.0 + (i - 19) as f64 * 0.2,
        })
        .collect();
    let b: Vec<f64> = (0..48).map(|i| 50.0 + i as f64 * 0.25).collect();
    let (sa, sb) = (hourly(ODD_SYMBOL, &a), hourly("ETH", &b));
    let script = Script(vec![
        (0, 0, long()),
        (1, 1, long()),
        (0, 19, long()),
        (1, 29, OrderIntent::Exit),
    ]);
    simulate(
        &config(),
        &script,
        &[SymbolInput::new(&sa), SymbolInput::new(&sb)],
    )
    .unwrap()
}

fn no_trade_run() -> RunResult {
    let s = hourly("ETH", &[10.0; 5]);
    simulate(&config(), &Script(vec![]), &[SymbolInput::new(&s)]).unwrap()
}

fn calibration() -> CalibrationSection {
    let p = [0.995, 0.7, 0.2, 0.999, 0.55, 0.35, 0.9, 0.05];
    let labels = vec![1, 1, 0, 0, 1, 0, 1, 0];
    let ensemble = PredictionSet::from_binary(&p, labels.clone())
        .unwrap()
        .with_consensus(vec![1.0, 0.5, 1.0, 1.0, 0.5, 1.0, 1.0, 0.5])
        .unwrap()
        .report();
    let member_p = [0.9, 0.6, 0.4, 0.8, 0.5, 0.45, 0.7, 0.2];
    let member = PredictionSet::from_binary(&member_p, labels)
        .unwrap()
        .report();
    CalibrationSection {
        ensemble: Some(ensemble),
        members: BTreeMap::from([("gru<1>".to_string(), member)]),
        class_labels: vec!["down".into(), "up".into()],
    }
}

fn report_of(run: &RunResult, gates: &GateSpec) -> Report {
    build_report(
        run,
        ReportOptions {
            provenance: Provenance {
                config: serde_json::json!({"risk": {"stop_loss": "3%"}, "note": "<script>alert(1)</script>"}),
                data_hash: Some("sha256:data".into()),
                manifest_hash: Some("sha256:manifest".into()),
                bundle_hashes: BTreeMap::from([("gru<1>".into(), "sha256:bundle".into())]),
                scoring_engines: BTreeMap::from([("gru<1>".into(), "onnxruntime (<GRU>)".into())]),
            },
            annualization: Some(Annualization::CalendarDays),
            notices: Notices {
                dropped_members_notice: Some(
                    "WARNING: 1 of 2 ensemble members were dropped (on_model_error = \"drop\"): lstm".into(),
                ),
                dropped_members: vec!["lstm".into()],
                input_distribution_warnings: vec!["gru<1>: 40% of rows have |z| > 6".into()],
            },
            calibration: Some(calibration()),
            gates: Some(gates),
            ..ReportOptions::default()
        },
    )
    .unwrap()
}

fn seed_gates() -> GateSpec {
    GateSpec::from_toml_str(
        "[gates]\nmin_win_rate = 0.68\nmax_ece = 0.05\nmin_sharpe = 1.0\nmax_drawdown = 0.15\n",
    )
    .unwrap()
}

fn sample_report() -> Report {
    report_of(&sample_run(), &seed_gates())
}

#[test]
fn sample_run_has_the_expected_trades_and_event() {
    let report = sample_report();
    let reasons: Vec<&str> = report
        .trades
        .iter()
        .map(|t| t.exit_reason.as_str())
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons.contains(&"stop_loss"));
    assert!(reasons.contains(&"signal"));
    assert!(reasons.contains(&"end_of_data"));
    assert_eq!(report.risk_events.len(), 1);
    assert_eq!(report.risk_events[0].rule, "stop_loss");
    assert_eq!(report.risk_events[0].symbol, ODD_SYMBOL);
    // end_of_data is excluded from trade statistics by default, and said so.
    assert_eq!(
        report.trade_accounting.end_of_data,
        EndOfDataPolicy::Exclude
    );
    assert_eq!(report.trade_accounting.trades_counted, 2);
    assert_eq!(report.trade_accounting.open_at_end, 1);
    assert_eq!(report.statistics.values["number_of_trades"], Some(2.0));
    let stop = &report.breakdowns.per_risk_rule["stop_loss"];
    assert_eq!(
        (stop.firings, stop.exits_caused, stop.trades_after),
        (1, 1, 1)
    );
    assert_eq!(report.breakdowns.monthly.len(), 2);
    let verdict = report.verdict.as_ref().unwrap();
    assert!(!verdict.passed);
    assert!(verdict
        .failures()
        .any(|r| r.gate == "ensemble_members_complete"));
}

#[test]
fn json_is_byte_identical_across_renders_and_thread_counts() {
    let in_pool = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| json(&sample_report()))
    };
    let one = in_pool(1);
    let two = in_pool(2);
    assert_eq!(one, two);
    let report = sample_report();
    assert_eq!(json(&report), json(&report));
    assert_eq!(json(&report), one);
}

#[test]
fn json_is_versioned_ordered_finite_and_round_trips() {
    let report = sample_report();
    let json = json(&report);
    assert!(json.starts_with(
        "{\n  \"schema_version\": 1,\n  \"metadata\": {\n    \"gauntlet_version\": \""
    ));
    assert!(json.ends_with("}\n"));
    assert!(!json.contains("NaN") && !json.contains("Infinity"));
    // Statistics keys are sorted (BTreeMap).
    let section = &json[json.find("\"statistics\": {").unwrap()..];
    let first = section.find("\"annual_volatility\"").unwrap();
    assert!(first < section.find("\"win_rate\"").unwrap());
    // serde_json parses floats to within an ulp (no `float_roundtrip`), so compare the
    // re-rendered bytes rather than the values.
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back.trades.len(), report.trades.len());
    assert_eq!(back.verdict.as_ref().unwrap().rows.len(), 5);
}

#[test]
fn markdown_puts_the_verdict_then_the_notices_first() {
    let md = render_markdown(&sample_report());
    let first = md.lines().next().unwrap();
    assert!(first.starts_with("# Verdict: FAIL ("), "{first}");
    let failed_table = md.find("| ensemble_members_complete |").unwrap();
    let notice = md
        .find("WARNING: 1 of 2 ensemble members were dropped")
        .unwrap();
    let warning = md.find("40% of rows have |z| > 6").unwrap();
    let stats = md.find("## Key statistics").unwrap();
    assert!(failed_table < notice && notice < warning && warning < stats);
    assert!(md.contains("| min_win_rate |"));
    assert!(md.contains("## Calibration") && md.contains("| gru<1> | onnxruntime |"));
    assert!(md.contains("daily returns, 365 periods/year"));
    assert!(md.contains("1 still open at the end of the data"));
    assert!(md.contains("Risk rules fired: stop_loss ×1."));
    assert!(md.contains("`report.json`") && md.contains("`trades.csv`"));
    assert!(
        md.lines().count() < 80,
        "one screen: {} lines",
        md.lines().count()
    );
}

#[test]
fn passing_verdict_reads_pass() {
    let spec = GateSpec::from_toml_str("[gates]\nmin_trades = 1\n").unwrap();
    let mut report = report_of(&sample_run(), &spec);
    assert!(
        !report.verdict.as_ref().unwrap().passed,
        "dropped member fails"
    );
    let spec =
        GateSpec::from_toml_str("allow_dropped_members = true\n[gates]\nmin_trades = 1\n").unwrap();
    report = report_of(&sample_run(), &spec);
    assert!(render_markdown(&report).starts_with("# Verdict: PASS (2 gates)"));
    assert!(render_html(&report).contains("PASS — all 2 gates passed"));
}

#[test]
fn html_is_standalone_escaped_and_has_every_plot() {
    let html = render_html(&sample_report());
    assert!(html.starts_with("<!DOCTYPE html>"));
    for forbidden in [
        "http://", "https://", "<script", "<link", " src=", "url(", "@import", "//cdn",
    ] {
        assert!(!html.contains(forbidden), "found {forbidden}");
    }
    assert!(html.contains("A&amp;B&lt;x&gt;"));
    assert!(!html.contains(ODD_SYMBOL));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("gru&lt;1&gt;") && !html.contains("gru<1>"));
    for title in [
        "aria-label=\"Equity\"",
        "aria-label=\"Drawdown\"",
        "aria-label=\"Reliability — ensemble\"",
        "aria-label=\"Confidence — ensemble\"",
        "aria-label=\"P&amp;L per symbol\"",
        "aria-label=\"Monthly returns\"",
        "aria-label=\"Risk-event timeline\"",
    ] {
        assert!(html.contains(title), "missing {title}");
    }
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    let verdict = html.find("FAIL — ").unwrap();
    assert!(verdict < html.find("ensemble members were dropped").unwrap());
}

fn read_csv(bytes: &[u8]) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader.records().collect::<Result<Vec<_>, _>>().unwrap();
    (headers, rows)
}

#[test]
fn csv_tables_have_fixed_headers_and_one_row_each() {
    let report = sample_report();
    let (headers, rows) = read_csv(&ReportFormat::TradesCsv.render(&report).unwrap());
    assert_eq!(headers, TRADE_COLUMNS);
    assert_eq!(rows.len(), 3);
    let symbol_at = |r: &csv::StringRecord| r.get(0).unwrap().to_string();
    assert!(rows.iter().any(|r| symbol_at(r) == ODD_SYMBOL));
    let counted: Vec<&str> = rows.iter().map(|r| r.get(16).unwrap()).collect();
    assert_eq!(counted.iter().filter(|c| **c == "false").count(), 1);
    let (headers, rows) = read_csv(&ReportFormat::RiskEventsCsv.render(&report).unwrap());
    assert_eq!(headers, RISK_EVENT_COLUMNS);
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][3], "stop_loss");
    assert!(rows[0][4].starts_with("level="));
}

#[test]
fn no_trade_run_renders_everywhere() {
    let report = report_of(&no_trade_run(), &seed_gates());
    assert!(report.trades.is_empty() && report.risk_events.is_empty());
    assert_eq!(report.statistics.values["number_of_trades"], Some(0.0));
    assert_eq!(report.statistics.values["win_rate"], None);
    let (_, rows) = read_csv(&ReportFormat::TradesCsv.render(&report).unwrap());
    assert!(rows.is_empty());
    let (headers, rows) = read_csv(&ReportFormat::RiskEventsCsv.render(&report).unwrap());
    assert_eq!((headers.len(), rows.len()), (RISK_EVENT_COLUMNS.len(), 0));
    let md = render_markdown(&report);
    assert!(md.contains("Risk rules fired: none."));
    assert!(md.contains("| win_rate | n/a |"));
    let html = render_html(&report);
    assert!(html.contains("no risk rule fired") && html.contains("no trades"));
    let json = json(&report);
    assert!(json.contains("\"win_rate\": null"));
}

fn directory_listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn write_reports_is_atomic_ordered_and_names_paths_in_errors() {
    let report = sample_report();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let formats = [ReportFormat::Json, ReportFormat::Html, ReportFormat::Json];
    let written = write_reports(&out, &report, &formats).unwrap();
    assert_eq!(
        written,
        vec![out.join("report.html"), out.join("report.json")]
    );
    let written = write_reports(&out, &report, &ReportFormat::ALL).unwrap();
    assert_eq!(written.last().unwrap(), &out.join("report.json"));
    assert_eq!(
        directory_listing(&out),
        vec![
            "report.html",
            "report.json",
            "report.md",
            "risk_events.csv",
            "trades.csv"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(out.join("report.json")).unwrap(),
        json(&report)
    );
    if let Some(sample_dir) = std::env::var_os("GAUNTLET_SAMPLE_REPORT_DIR") {
        write_reports(Path::new(&sample_dir), &report, &ReportFormat::ALL).unwrap();
    }

    // A target that is a directory cannot be replaced: the error names it, no temp is left.
    let blocked = dir.path().join("blocked");
    std::fs::create_dir_all(blocked.join("report.md")).unwrap();
    let err = write_reports(&blocked, &report, &[ReportFormat::Markdown]).unwrap_err();
    assert!(matches!(err, RenderError::Io { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(&blocked.join("report.md").display().to_string()),
        "{err}"
    );
    assert_eq!(directory_listing(&blocked), vec!["report.md"]);

    // A directory path that is a file: the error names it.
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let err = write_reports(&file, &report, &[ReportFormat::Json]).unwrap_err();
    assert!(
        err.to_string().contains(&file.display().to_string()),
        "{err}"
    );
}
