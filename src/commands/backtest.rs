//! `gauntlet backtest`: the full pipeline from a run config to written reports.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use gauntlet_reports::gates::GateSpec;
use gauntlet_reports::regress::load_report;
use gauntlet_reports::render::{write_atomically, write_reports, Provenance, Report};
use gauntlet_reports::stats::StatisticsConfig;
use gauntlet_run::config::RunConfig;
use serde::{Deserialize, Serialize};

use crate::output::{OutputSet, StagedDir};
use crate::pipeline::{self, StageTimings};

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

/// The file, in every report directory, that says how the run was invoked (absolute
/// paths of the config, gates and champion), so `gauntlet regress --determinism` can
/// re-run it. Machine-specific, hence not part of the compared `report.json`.
pub const INVOCATION_FILE: &str = "invocation.json";

/// What [`INVOCATION_FILE`] holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invocation {
    pub config: PathBuf,
    pub gates: Option<PathBuf>,
    pub champion: Option<PathBuf>,
}

impl Invocation {
    /// Reads `dir/invocation.json`.
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(INVOCATION_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (written by backtest, gate and demo next to report.json)",
                path.display()
            )
        })?;
        serde_json::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
    }

    /// The same run again, quietly, with its reports in `out`.
    pub fn rerun(&self, out: &Path, threads: Option<usize>) -> anyhow::Result<Outcome> {
        let options = RunOptions {
            out: Some(out.to_path_buf()),
            threads,
            gates: self.gates.clone(),
            champion: self.champion.clone(),
            quiet: true,
        };
        run_to_dir(&self.config, &options)
    }
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::fs::canonicalize(path).with_context(|| format!("resolving {}", path.display()))
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let options = RunOptions {
        out: args.out,
        threads: args.threads,
        quiet: args.quiet,
        ..RunOptions::default()
    };
    Ok(run_to_dir(&args.config, &options)?.exit_code())
}

/// How `backtest`, `gate` and `demo` run a config.
#[derive(Debug, Default)]
pub struct RunOptions {
    /// Report directory instead of `reporting.out`.
    pub out: Option<PathBuf>,
    /// Threads instead of the config's `threads`.
    pub threads: Option<usize>,
    /// Promotion gates (TOML).
    pub gates: Option<PathBuf>,
    /// The champion's report directory (or report.json), for relative gates; it must
    /// have been run on the same data.
    pub champion: Option<PathBuf>,
    pub quiet: bool,
}

/// What a finished run produced.
pub struct Outcome {
    pub report: Report,
}

impl Outcome {
    /// 0 without a verdict or when every gate passed, 1 when a gate failed.
    pub fn exit_code(&self) -> ExitCode {
        match &self.report.verdict {
            Some(verdict) => ExitCode::from(verdict.exit_code() as u8),
            None => ExitCode::SUCCESS,
        }
    }
}

/// Runs the config at `config_path` and writes its reports; shared by `backtest`,
/// `gate` and `demo`.
pub fn run_to_dir(config_path: &Path, options: &RunOptions) -> anyhow::Result<Outcome> {
    let quiet = options.quiet;
    let mut config = RunConfig::load(config_path)?;
    let gates = options
        .gates
        .as_deref()
        .map(GateSpec::from_path)
        .transpose()?;
    let champion = options
        .champion
        .as_deref()
        .map(load_report)
        .transpose()
        .context("the champion's report")?;
    if let (Some(gates), None, Some(path)) = (&gates, &champion, &options.gates) {
        if gates.needs_champion() {
            bail!(
                "{} has gates relative to the champion: pass --champion DIR (the production model's report directory)",
                path.display()
            );
        }
    }
    if let Some(threads) = options.threads {
        config.threads = threads;
    }
    let dir = options
        .out
        .clone()
        .unwrap_or_else(|| config.reporting.out.clone());
    let pool = pipeline::thread_pool(config.threads)?;
    let mut timings = StageTimings::new(quiet);
    let prepared = pipeline::prepare(&config, &pool, &mut timings)?;
    if let Some(champion) = &champion {
        check_same_data(&prepared.provenance, champion)?;
    }
    let champion_values = champion.as_ref().map(Report::gate_values);
    if !quiet {
        if let Some(predictions) = &prepared.predictions {
            for member in &predictions.members {
                let source = if member.cached {
                    "from the prediction cache, scored"
                } else {
                    "scored"
                };
                eprintln!("model {}: {source} by {}", member.name, member.engine);
            }
        }
    }
    let run = timings.time("simulation", || {
        pipeline::simulate_prepared(&prepared, &config.engine, &config.strategy, None)
    })?;
    let report = timings.time("reports", || -> anyhow::Result<Report> {
        let report = pipeline::report(
            &config,
            &prepared,
            &run,
            StatisticsConfig::default(),
            gates.as_ref(),
            champion_values.as_ref(),
        )?;
        let staged = StagedDir::begin(&dir, OutputSet::Report)?;
        write_reports(staged.path(), &report, &config.reporting.formats)?;
        let invocation = Invocation {
            config: absolute(config_path)?,
            gates: options.gates.as_deref().map(absolute).transpose()?,
            champion: options.champion.as_deref().map(absolute).transpose()?,
        };
        write_atomically(
            &staged.path().join(INVOCATION_FILE),
            format!("{}\n", serde_json::to_string_pretty(&invocation)?).as_bytes(),
        )?;
        staged.commit()?;
        Ok(report)
    })?;
    print_summary(&report, &dir, &timings, quiet);
    Ok(Outcome { report })
}

/// A champion is only comparable on the same candles.
fn check_same_data(provenance: &Provenance, champion: &Report) -> anyhow::Result<()> {
    let theirs = &champion.metadata.provenance.data_hash;
    if theirs != &provenance.data_hash {
        bail!(
            "the champion's report was run on other data (data hash {} vs this run's {}): run the champion on the same data and window",
            theirs.as_deref().unwrap_or("none"),
            provenance.data_hash.as_deref().unwrap_or("none")
        );
    }
    Ok(())
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

/// One screen: notices, verdict, key statistics, where the reports are, stage timings.
fn print_summary(report: &Report, dir: &Path, timings: &StageTimings, quiet: bool) {
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
    println!("reports           {}", dir.join("report.html").display());
    println!(
        "stage timings     {} (wall clock on this machine, not a benchmark)",
        timings.describe()
    );
}
