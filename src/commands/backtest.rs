//! `gauntlet backtest`: the full pipeline from a run config to written reports
//! (`gauntlet_run::backtest`), and the summary every command that runs a config prints.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use gauntlet_reports::halts::describe_halts;
use gauntlet_reports::render::Report;
use gauntlet_run::backtest::{run_to_dir, Outcome, RunOptions};

/// What every command that runs a config takes (`backtest`, `gate`, `sweep`).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The run config (TOML); see `configs/` for examples.
    #[arg(short, long)]
    pub config: PathBuf,
    /// Output directory (overrides `reporting.out`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads (overrides `threads`; 0 = all cores). Results never depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Only errors and the final summary line; no progress spinner.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let options = RunOptions {
        out: args.out,
        threads: args.threads,
        progress: !args.quiet,
        ..RunOptions::default()
    };
    let outcome = run_to_dir(&args.config, &options)?;
    print_summary(&outcome, args.quiet);
    Ok(exit_code(&outcome.report))
}

/// 0 without a verdict or when every gate passed, 1 when a gate failed.
pub fn exit_code(report: &Report) -> ExitCode {
    match &report.verdict {
        Some(verdict) => ExitCode::from(verdict.exit_code() as u8),
        None => ExitCode::SUCCESS,
    }
}

fn value(report: &Report, name: &str) -> Option<f64> {
    report.statistics.values.get(name).copied().flatten()
}

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{:.2}%", v * 100.0))
}

fn number(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.3}"))
}

/// One screen: where each member's predictions came from (stderr), notices, verdict,
/// key statistics, where the reports are, stage timings; with `quiet` only the verdict
/// and where the reports are.
pub fn print_summary(outcome: &Outcome, quiet: bool) {
    let Outcome {
        report,
        dir,
        replaced_previous,
        members,
        timings,
    } = outcome;
    if !quiet {
        for member in members {
            let source = if member.cached {
                "from the prediction cache, scored"
            } else {
                "scored"
            };
            eprintln!("model {}: {source} by {}", member.name, member.engine);
        }
    }
    let notices = &report.notices;
    if let Some(notice) = &notices.dropped_members_notice {
        println!("{notice}");
    }
    for warning in &notices.input_distribution_warnings {
        println!("{warning}");
    }
    let verdict = match &report.verdict {
        Some(v) if v.exit_code() == 0 => "PASS".to_string(),
        Some(v) => format!("FAIL ({} gate(s) failed)", v.failures().count()),
        None => "no gates".to_string(),
    };
    if quiet {
        println!("{verdict}: reports in {}", dir.display());
        return;
    }
    let meta = &report.metadata;
    println!(
        "\n{} on {} symbols, {} bars ({} candles)",
        meta.strategy,
        meta.symbols.len(),
        meta.bars,
        meta.candles
    );
    println!("verdict           {verdict}");
    if let Some(v) = &report.verdict {
        for row in &v.rows {
            let symbol = row
                .symbol
                .as_deref()
                .map(|s| format!(" [{s}]"))
                .unwrap_or_default();
            let relative = match &row.relative {
                Some(expression) => format!(" = {expression}, champion {}", number(row.champion)),
                None => String::new(),
            };
            println!(
                "  {} {}{symbol}: {} {} {}{relative}, margin {}{}",
                if row.passed { "pass" } else { "FAIL" },
                row.gate,
                number(row.actual),
                row.comparison,
                number(row.threshold),
                number(row.margin),
                row.note
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            );
        }
    }
    println!(
        "total return      {}",
        percent(value(report, "total_return"))
    );
    println!(
        "sharpe            {}",
        number(value(report, "sharpe_ratio"))
    );
    println!(
        "max drawdown      {}",
        percent(value(report, "max_drawdown"))
    );
    println!(
        "trades            {} (win rate {}, stop-loss hit rate {})",
        number(value(report, "number_of_trades")).trim_end_matches(".000"),
        percent(value(report, "win_rate")),
        percent(value(report, "stop_loss_hit_rate"))
    );
    if let Some(ensemble) = report
        .calibration
        .as_ref()
        .and_then(|c| c.ensemble.as_ref())
    {
        let values = ensemble.values();
        let get = |k: &str| values.get(k).copied().flatten();
        println!(
            "ensemble          accuracy {}, ECE {}, consensus {}, overconfident {}",
            percent(get("accuracy")),
            number(get("ece")),
            percent(get("consensus_rate")),
            percent(get("overconfident_share"))
        );
    }
    println!("risk events       {}", report.risk_events.len());
    for halt in describe_halts(&report.halts) {
        println!("halt              {halt}");
    }
    let replaced = if *replaced_previous {
        " (replacing the report that was there; pass --out DIR to keep it)"
    } else {
        ""
    };
    println!(
        "reports           {}{replaced}",
        dir.join("report.html").display()
    );
    println!(
        "stage timings     {} (wall clock on this machine, not a benchmark)",
        timings.describe()
    );
}
