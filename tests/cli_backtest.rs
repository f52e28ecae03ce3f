//! `gauntlet config check`, `backtest`, `gate` and `sweep` end to end on the binary:
//! happy paths, exit codes, config typos, the backtesting.py oracle through the CLI,
//! a sweep whose best config is known by construction, determinism across threads.

mod common;

use std::path::{Path, PathBuf};

use common::{code, gauntlet, path_str, text};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A small synthetic 5m universe and an SMA-cross config over it, in `dir`.
fn sma_setup(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let synth = gauntlet(&[
        "data",
        "synth",
        "--symbols",
        "4",
        "--days",
        "4",
        "--interval",
        "5m",
        "--out",
        path_str(&data),
    ]);
    assert_eq!(code(&synth), 0, "{}", text(&synth));
    let config = dir.join("run.toml");
    std::fs::write(
        &config,
        r#"initial_cash = 100000

[data]
path = "data"
interval = "5m"
from = "2024-01-02"

[strategy]
kind = "sma_cross"
fast = 10
slow = 30

[risk]
stop_loss = { type = "percent", percent = 2.0 }
sizing = { type = "fixed_fraction", fraction = 0.2 }

[reporting]
out = "reports"
"#,
    )
    .unwrap();
    config
}

#[test]
fn config_check_lists_every_problem_with_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("typos.toml");
    std::fs::write(
        &config,
        "treads = 2\n\n[data]\npath = \"nowhere\"\ninterval = \"7m\"\n\n[strategy]\nkind = \"sma_cross\"\nfastt = 3\nslow = \"thirty\"\n\n[risk]\nstop_loss = { type = \"atr\", multiple = -1.2 }\ndaily_drawdown_limt = 0.08\n",
    )
    .unwrap();
    let out = gauntlet(&["config", "check", path_str(&config)]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    let message = text(&out);
    for expected in [
        "typos.toml:1: treads: unknown key",
        "typos.toml:4: data.path:",
        "typos.toml:5: data.interval: unknown interval \"7m\"",
        "typos.toml:9: strategy.fastt: unknown field `fastt`",
        "typos.toml:13: risk.stop_loss.multiple: must be > 0",
        "typos.toml:10: strategy.slow: invalid type: string \"thirty\"",
        "typos.toml:14: risk.daily_drawdown_limt: unknown field `daily_drawdown_limt`",
        "7 problem(s)",
    ] {
        assert!(
            message.contains(expected),
            "missing {expected:?} in:\n{message}"
        );
    }
    let good = sma_setup(dir.path());
    let out = gauntlet(&["config", "check", path_str(&good)]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(text(&out).contains("ok"), "{}", text(&out));
}

#[test]
fn backtesting_py_preset_reproduces_the_goog_oracle_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("compat");
    let config = format!("{ROOT}/configs/compat_backtesting_py.toml");
    let run = gauntlet(&["backtest", "-c", &config, "--out", path_str(&out), "-q"]);
    assert_eq!(code(&run), 0, "{}", text(&run));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let final_equity = report["metadata"]["final_equity"].as_f64().unwrap();
    assert!(
        (final_equity - 56_263.519_34).abs() <= 1e-9 * 56_263.5,
        "{final_equity}"
    );
    assert_eq!(report["trade_accounting"]["trades_counted"], 93);

    let mut ours = csv::Reader::from_path(out.join("trades.csv")).unwrap();
    let headers = ours.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (entry, exit, counted) = (
        column("entry_price"),
        column("exit_price"),
        column("counted_in_statistics"),
    );
    let ours: Vec<csv::StringRecord> = ours
        .records()
        .map(Result::unwrap)
        .filter(|r| &r[counted] == "true")
        .collect();
    let mut oracle = csv::Reader::from_path(format!(
        "{ROOT}/tests/fixtures/backtestingpy/oracle/GOOG_sma10_20_trades.csv"
    ))
    .unwrap();
    let oracle: Vec<csv::StringRecord> = oracle.records().map(Result::unwrap).collect();
    assert_eq!(ours.len(), oracle.len());
    for (k, (a, b)) in ours.iter().zip(&oracle).enumerate() {
        let f = |r: &csv::StringRecord, i: usize| r[i].parse::<f64>().unwrap();
        assert_eq!(f(a, entry), f(b, 3), "trade {k} entry price");
        assert_eq!(f(a, exit), f(b, 4), "trade {k} exit price");
    }
}

#[test]
fn a_circuit_breaker_halt_is_in_the_summary_and_the_report_header() {
    let dir = tempfile::tempdir().unwrap();
    let config = sma_setup(dir.path());
    let text_of = |path: &Path| std::fs::read_to_string(path).unwrap();
    // A breaker that trips at the first 0.1 % dip below the peak, for good.
    let tight = text_of(&config).replace(
        "[risk]\n",
        "[risk]\ncircuit_breaker = { drawdown = 0.001 }\n",
    );
    std::fs::write(&config, tight).unwrap();
    let out = dir.path().join("halted");
    let run = gauntlet(&["backtest", "-c", path_str(&config), "--out", path_str(&out)]);
    assert_eq!(code(&run), 0, "{}", text(&run));
    let halt = "Trading halted by the circuit breaker at ";
    let line = text(&run)
        .lines()
        .find(|l| l.starts_with("halt "))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no halt line in\n{}", text(&run)));
    assert!(
        line.contains(halt) && line.contains("until the end of the run: "),
        "{line}"
    );
    let md = text_of(&out.join("report.md"));
    let header: String = md.lines().take(8).collect::<Vec<_>>().join("\n");
    assert!(header.contains(halt), "{header}");
    assert!(text_of(&out.join("report.html")).contains(halt));
    let json: serde_json::Value = serde_json::from_str(&text_of(&out.join("report.json"))).unwrap();
    let halts = json["halts"].as_array().unwrap();
    assert_eq!(halts.len(), 1, "{halts:?}");
    assert_eq!(halts[0]["rule"], "circuit_breaker");
    assert_eq!(halts[0]["until_ts_ms"], serde_json::Value::Null);
    assert!(halts[0]["duration_ms"].as_i64().unwrap() > 0);
    // A second run into the same directory replaces the report, and says so.
    let replacing = "replacing the report that was there";
    assert!(!text(&run).contains(replacing));
    let again = gauntlet(&["backtest", "-c", path_str(&config), "--out", path_str(&out)]);
    assert_eq!(code(&again), 0, "{}", text(&again));
    assert!(text(&again).contains(replacing), "{}", text(&again));
}

#[test]
fn backtest_json_is_identical_for_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let config = sma_setup(dir.path());
    let mut reports = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("t{threads}"));
        let run = gauntlet(&[
            "backtest",
            "-c",
            path_str(&config),
            "--threads",
            threads,
            "--out",
            path_str(&out),
        ]);
        assert_eq!(code(&run), 0, "{}", text(&run));
        assert!(text(&run).contains("total return"), "{}", text(&run));
        for file in ["report.md", "report.html", "trades.csv", "risk_events.csv"] {
            assert!(out.join(file).exists(), "{file}");
        }
        reports.push(std::fs::read(out.join("report.json")).unwrap());
    }
    assert!(
        reports[0] == reports[1],
        "report.json differs between 1 and 2 threads"
    );
}

#[test]
fn gate_exit_codes_and_champion_relative_gates() {
    let dir = tempfile::tempdir().unwrap();
    let config = sma_setup(dir.path());
    let gates = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path
    };
    let lenient = gates(
        "lenient.toml",
        "[gates]\nmin_trades = 1\nmax_drawdown = 0.99\n",
    );
    let strict = gates(
        "strict.toml",
        "[gates]\nmin_win_rate = 0.99\nmin_trades = 1\n",
    );
    let relative = gates(
        "relative.toml",
        "[gates]\nmin_total_return = \"champion + 0.5\"\nmax_drawdown = \"champion * 1.1\"\n",
    );
    let champion = dir.path().join("champion");
    let run = |gates: &Path, extra: &[&str]| {
        let mut args = vec!["gate", "-c", path_str(&config), "--gates", path_str(gates)];
        args.extend_from_slice(extra);
        gauntlet(&args)
    };
    let pass = run(&lenient, &["--out", path_str(&champion)]);
    assert_eq!(code(&pass), 0, "{}", text(&pass));
    assert!(text(&pass).contains("PASS"), "{}", text(&pass));

    let fail = run(&strict, &["--out", path_str(&dir.path().join("strict"))]);
    assert_eq!(code(&fail), 1, "{}", text(&fail));
    assert!(text(&fail).contains("FAIL min_win_rate"), "{}", text(&fail));

    let no_champion = run(&relative, &[]);
    assert_eq!(code(&no_champion), 2, "{}", text(&no_champion));
    assert!(
        text(&no_champion).contains("--champion"),
        "{}",
        text(&no_champion)
    );

    // Against itself: +50 % total return cannot pass, 1.1 × its own drawdown does.
    let challenger = run(
        &relative,
        &[
            "--champion",
            path_str(&champion),
            "--out",
            path_str(&dir.path().join("challenger")),
        ],
    );
    assert_eq!(code(&challenger), 1, "{}", text(&challenger));
    let message = text(&challenger);
    assert!(message.contains("FAIL min_total_return"), "{message}");
    assert!(message.contains("pass max_drawdown"), "{message}");
    assert!(message.contains("champion * 1.1"), "{message}");

    let missing = run(
        &lenient,
        &["--champion", path_str(&dir.path().join("nope"))],
    );
    assert_eq!(code(&missing), 2);
    assert!(text(&missing).contains("nope"), "{}", text(&missing));
}

#[test]
fn sweep_finds_the_best_config_known_by_construction() {
    let dir = tempfile::tempdir().unwrap();
    let config = sma_setup(dir.path());
    // Same signals, same sizing rule: every extra basis point of fees lowers the return.
    let grid = dir.path().join("grid.toml");
    std::fs::write(
        &grid,
        "objective = \"total_return\"\n[grid]\n\"fills.fees.taker_bps\" = [50, 0, 10]\n\"risk.stop_loss.percent\" = [2.0, 3.0]\n",
    )
    .unwrap();
    let mut outputs = Vec::new();
    let mut summary = String::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("sweep{threads}"));
        let run = gauntlet(&[
            "sweep",
            "-c",
            path_str(&config),
            "--grid",
            path_str(&grid),
            "--threads",
            threads,
            "--walk-forward",
            "2",
            "--out",
            path_str(&out),
        ]);
        assert_eq!(code(&run), 0, "{}", text(&run));
        for file in ["sweep.csv", "sweep.md", "sweep.html", "best/report.json"] {
            assert!(out.join(file).exists(), "{file}");
        }
        outputs.push(std::fs::read(out.join("sweep.json")).unwrap());
        summary = text(&run);
        let page = std::fs::read_to_string(out.join("sweep.html")).unwrap();
        assert!(
            page.contains("<a href=\"best/report.html\">best/report.html</a>"),
            "no link to the best report"
        );
    }
    assert!(
        outputs[0] == outputs[1],
        "sweep.json differs between 1 and 2 threads"
    );
    // Walk-forward ran: its out-of-sample result leads, the whole-window best is in sample.
    let first = summary.lines().next().unwrap_or_default();
    let (oos, best) = (
        first.find("out-of-sample mean ").unwrap_or(usize::MAX),
        first.find("in-sample best ").unwrap_or(0),
    );
    assert!(oos < best, "{first}");
    let sweep: serde_json::Value = serde_json::from_slice(&outputs[0]).unwrap();
    assert_eq!(sweep["trials"], 6);
    let fees: Vec<String> = sweep["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["params"][0][1].as_str().unwrap().to_string())
        .collect();
    // Both zero-fee configs first, then 10 bps, then 50 bps.
    assert_eq!(fees[..2], ["0", "0"]);
    assert_eq!(fees[2..4], ["10", "10"]);
    assert_eq!(fees[4..], ["50", "50"]);
    assert!(
        sweep["best"]["deflated_sharpe_ratio"].is_number(),
        "{}",
        sweep["best"]
    );
    assert_eq!(sweep["walk_forward"]["folds"].as_array().unwrap().len(), 2);
    // Fees move the return: the key has an effect, and a spread.
    let fees_sensitivity = &sweep["sensitivity"][0];
    assert_eq!(fees_sensitivity["key"], "fills.fees.taker_bps");
    assert_eq!(fees_sensitivity["no_effect"], false);
    assert!(fees_sensitivity["spread"].as_f64().unwrap() > 0.0);

    let bad = dir.path().join("bad_grid.toml");
    std::fs::write(&bad, "[grid]\n\"data.interval\" = [\"1m\"]\n").unwrap();
    let run = gauntlet(&["sweep", "-c", path_str(&config), "--grid", path_str(&bad)]);
    assert_eq!(code(&run), 2);
    assert!(text(&run).contains("data.interval"), "{}", text(&run));
}

#[test]
fn regress_of_real_runs_and_determinism_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let config = sma_setup(dir.path());
    let backtest = |config: &Path, out: &str| {
        let out = dir.path().join(out);
        let run = gauntlet(&[
            "backtest",
            "-c",
            path_str(config),
            "--out",
            path_str(&out),
            "-q",
        ]);
        assert_eq!(code(&run), 0, "{}", text(&run));
        out
    };
    let baseline = backtest(&config, "baseline");
    let candidate = backtest(&config, "candidate");
    let same = gauntlet(&[
        "regress",
        "--baseline",
        path_str(&baseline),
        "--candidate",
        path_str(&candidate),
        "--determinism",
        "--out",
        path_str(&dir.path().join("regress")),
    ]);
    assert_eq!(code(&same), 0, "{}", text(&same));
    assert!(text(&same).contains("byte-identical"), "{}", text(&same));

    // Same signals, 50 bps fees on every fill: a worse candidate.
    let costly = dir.path().join("costly.toml");
    let text_of = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &costly,
        format!("{text_of}\n[fills.fees]\ntaker_bps = 50.0\n"),
    )
    .unwrap();
    let worse = backtest(&costly, "worse");
    let regressed = gauntlet(&[
        "regress",
        "--baseline",
        path_str(&baseline),
        "--candidate",
        path_str(&worse),
    ]);
    assert_eq!(code(&regressed), 1, "{}", text(&regressed));
    assert!(
        text(&regressed).contains("total_return"),
        "{}",
        text(&regressed)
    );

    // A report edited after the run is not what the config produces.
    let report = candidate.join("report.json");
    let edited = std::fs::read_to_string(&report)
        .unwrap()
        .replacen("\"bars\"", "\"bars\" ", 1);
    std::fs::write(&report, edited).unwrap();
    let tampered = gauntlet(&[
        "regress",
        "--baseline",
        path_str(&baseline),
        "--candidate",
        path_str(&candidate),
        "--determinism",
    ]);
    assert_eq!(code(&tampered), 1, "{}", text(&tampered));
    assert!(
        text(&tampered).contains("DETERMINISM FAILED"),
        "{}",
        text(&tampered)
    );
}
