//! `gauntlet sweep`: one run config, many fills/risk/strategy settings. Data, features
//! and predictions are prepared once; the configs are simulated in parallel; the ranked
//! table, the deflated Sharpe of the best and (with `--walk-forward K`) the
//! out-of-sample result of in-sample selection are written.
//!
//! # Walk-forward
//! The window `[t₀, t₁)` is cut into K + 1 equal spans at `b_j = t₀ + j (t₁ − t₀)/(K + 1)`.
//! Fold i (1 ≤ i ≤ K) ranks every config on `[b₀, b_i)` (anchored in-sample), takes the
//! best, and runs it on `[b_i, b_{i+1})` (out-of-sample). The mean out-of-sample
//! objective is the number to trust: the in-sample best is optimistic by construction.
//!
//! # Deflated Sharpe of the best
//! With N configs and V the sample variance (n − 1) of their per-period Sharpe ratios
//! (annualized Sharpe / √periods-per-year), the best config's report is recomputed with
//! `trials = (N, V)`, which gives its deflated Sharpe ratio (see gauntlet-reports).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use gauntlet_reports::calibration::CalibrationReport;
use gauntlet_reports::render::{
    iso_time, render_sweep_csv, render_sweep_html, render_sweep_json, render_sweep_markdown,
    run_statistics, write_atomically, write_reports, BestConfig, Report, SweepReport, SweepRow,
    WalkForward, WalkForwardFold, SWEEP_SCHEMA_VERSION, SWEEP_STATISTICS,
};
use gauntlet_reports::stats::{statistic_names, SharpeTrials, StatisticsConfig};
use gauntlet_run::config::RunConfig;
use gauntlet_run::grid::{self, Goal, Grid, GridPoint};
use rayon::prelude::*;

use super::backtest::RunArgs;
use crate::output::{OutputSet, StagedDir};
use crate::pipeline::{self, Prepared, StageTimings};

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The base config; `--out` is the sweep's folder (default `<reporting.out>/sweep`).
    #[command(flatten)]
    pub run: RunArgs,
    /// The grid (TOML): `[grid]` keys with value lists, `objective`, `direction`.
    #[arg(long)]
    pub grid: PathBuf,
    /// Walk-forward validation with K folds (see the command's docs).
    #[arg(long, value_name = "K")]
    pub walk_forward: Option<usize>,
}

/// One simulated config: its objective and the statistics the table shows.
struct Evaluated {
    objective: Option<f64>,
    statistics: std::collections::BTreeMap<String, Option<f64>>,
}

/// Every config the grid names, each checked like a config file.
struct Candidate {
    point: GridPoint,
    config: RunConfig,
}

pub fn run(args: SweepArgs) -> anyhow::Result<ExitCode> {
    let base_text = std::fs::read_to_string(&args.run.config)
        .with_context(|| format!("reading {}", args.run.config.display()))?;
    let mut base = RunConfig::parse(&base_text, &args.run.config)?;
    if let Some(threads) = args.run.threads {
        base.threads = threads;
    }
    let mut known: Vec<&str> = statistic_names();
    known.extend(CalibrationReport::VALUE_NAMES);
    let grid = Grid::load(&args.grid, &known)?;
    if args.walk_forward == Some(0) {
        anyhow::bail!("--walk-forward K needs K ≥ 1 folds");
    }
    let candidates: Vec<Candidate> = grid
        .points()
        .into_iter()
        .map(|point| {
            let config = grid::config_at(&base_text, &args.run.config, &args.grid, &point)?;
            Ok(Candidate { point, config })
        })
        .collect::<anyhow::Result<_>>()?;
    let out = args
        .run
        .out
        .clone()
        .unwrap_or_else(|| grid::default_out(&base));
    let pool = pipeline::thread_pool(base.threads)?;
    let mut timings = StageTimings::new(args.run.quiet);
    let prepared = pipeline::prepare(&base, &pool, &mut timings)?;
    // Checked before the simulation, not after it.
    let walk_forward_plan = args
        .walk_forward
        .map(|folds| walk_forward_window(&prepared, folds).map(|window| (folds, window)))
        .transpose()?;
    let staged = StagedDir::begin(&out, OutputSet::Sweep)?;
    let evaluate_all = |range: Option<(i64, i64)>| -> anyhow::Result<Vec<Evaluated>> {
        pool.install(|| {
            candidates
                .par_iter()
                .map(|c| evaluate(&prepared, &c.config, &grid.objective, range))
                .collect()
        })
    };
    let results = timings.time("simulation", || evaluate_all(None))?;
    let ranking = rank(&results, grid.direction);
    let params = |c: &Candidate| -> Vec<(String, String)> {
        c.point
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect()
    };
    let mut rows: Vec<SweepRow> = ranking
        .iter()
        .enumerate()
        .map(|(rank, &index)| SweepRow {
            index,
            rank: rank + 1,
            params: params(&candidates[index]),
            objective: results[index].objective,
            statistics: results[index].statistics.clone(),
        })
        .collect();
    rows.sort_by_key(|r| r.rank);

    let periods_per_year = base.reporting.annualization.periods_per_year();
    let per_period: Vec<f64> = results
        .iter()
        .filter_map(|r| r.statistics.get("sharpe_ratio").copied().flatten())
        .map(|s| s / periods_per_year.sqrt())
        .collect();
    let sharpe_variance = sample_variance(&per_period);
    let best_index = ranking[0];
    let best_candidate = &candidates[best_index];
    let trials = SharpeTrials::new(candidates.len(), sharpe_variance.unwrap_or(0.0))?;
    let best_report = timings.time("best report", || -> anyhow::Result<Report> {
        let run = pipeline::simulate_prepared(
            &prepared,
            &best_candidate.config.engine,
            &best_candidate.config.strategy,
            None,
        )?;
        let statistics = StatisticsConfig {
            trials: Some(trials),
            ..StatisticsConfig::default()
        };
        let report = pipeline::report(
            &best_candidate.config,
            &prepared,
            &run,
            statistics,
            None,
            None,
        )?;
        write_reports(
            &staged.path().join("best"),
            &report,
            &base.reporting.formats,
        )?;
        Ok(report)
    })?;
    let value = |name: &str| best_report.statistics.values.get(name).copied().flatten();
    let best = BestConfig {
        index: best_index,
        params: params(best_candidate),
        objective: results[best_index].objective,
        sharpe_ratio: value("sharpe_ratio"),
        deflated_sharpe_ratio: value("deflated_sharpe_ratio"),
    };

    let walk_forward = match walk_forward_plan {
        Some((folds, window)) => Some(timings.time("walk-forward", || {
            walk_forward(
                &prepared,
                &candidates,
                &grid,
                folds,
                window,
                &params,
                &evaluate_all,
            )
        })?),
        None => None,
    };
    let report = SweepReport {
        schema_version: SWEEP_SCHEMA_VERSION,
        objective: grid.objective.clone(),
        direction: match grid.direction {
            Goal::Max => "max",
            Goal::Min => "min",
        }
        .to_string(),
        keys: grid.axes.iter().map(|(k, _)| k.clone()).collect(),
        trials: candidates.len(),
        sharpe_variance_per_period: sharpe_variance,
        best: Some(best),
        rows,
        walk_forward,
        provenance: prepared.provenance.clone(),
    };
    let dir = staged.path();
    write_atomically(&dir.join("sweep.csv"), &render_sweep_csv(&report)?)?;
    write_atomically(
        &dir.join("sweep.md"),
        render_sweep_markdown(&report).as_bytes(),
    )?;
    write_atomically(
        &dir.join("sweep.html"),
        render_sweep_html(&report).as_bytes(),
    )?;
    write_atomically(
        &dir.join("sweep.json"),
        render_sweep_json(&report)?.as_bytes(),
    )?;
    staged.commit()?;
    print_summary(&report, &out, &timings, args.run.quiet);
    Ok(ExitCode::SUCCESS)
}

/// Simulates one config (optionally on a sub-range) and reads its statistics.
fn evaluate(
    prepared: &Prepared,
    config: &RunConfig,
    objective: &str,
    range: Option<(i64, i64)>,
) -> anyhow::Result<Evaluated> {
    let run = pipeline::simulate_prepared(prepared, &config.engine, &config.strategy, range)?;
    // Only the numbers: the tables of a full report would cost more than the simulation.
    let mut values = run_statistics(
        &run,
        config.reporting.annualization,
        config.reporting.end_of_data,
        &StatisticsConfig::default(),
    )?
    .values;
    // Calibration does not depend on fills or risk: the same for every config.
    if let Some(ensemble) = prepared
        .calibration
        .as_ref()
        .and_then(|c| c.ensemble.as_ref())
    {
        values.extend(ensemble.values());
    }
    let statistics = SWEEP_STATISTICS
        .iter()
        .copied()
        .chain([objective])
        .map(|name| (name.to_string(), values.get(name).copied().flatten()))
        .collect();
    Ok(Evaluated {
        objective: values.get(objective).copied().flatten(),
        statistics,
    })
}

/// Grid indices, best first: defined objectives by direction, undefined last, ties by
/// grid index (the sort is stable).
fn rank(results: &[Evaluated], direction: Goal) -> Vec<usize> {
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by(
        |&a, &b| match (results[a].objective, results[b].objective) {
            (Some(x), Some(y)) => match direction {
                Goal::Max => y.total_cmp(&x),
                Goal::Min => x.total_cmp(&y),
            },
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        },
    );
    order
}

/// `Σ (x − x̄)² / (n − 1)`; `None` for fewer than two values.
fn sample_variance(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    Some(values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0))
}

/// The span `[t0, t1)` the walk-forward folds cut into `folds + 1` equal spans; an error
/// when a span would be shorter than one bar.
fn walk_forward_window(prepared: &Prepared, folds: usize) -> anyhow::Result<(i64, i64)> {
    let first = prepared.candles.iter().filter_map(|c| c.ts().first()).min();
    let last = prepared.candles.iter().filter_map(|c| c.ts().last()).max();
    let (Some(&t0), Some(&last)) = (first, last) else {
        anyhow::bail!("walk-forward needs candles in the window");
    };
    let interval = prepared
        .candles
        .first()
        .map_or(60_000, |c| c.interval().millis());
    let t1 = last + interval;
    let bars = (t1 - t0) / interval;
    let spans = folds as i64 + 1;
    if spans > bars {
        anyhow::bail!(
            "--walk-forward {folds}: {spans} spans over a window of {bars} bars would be shorter \
             than one bar each; use at most {} folds (a handful, each spanning many trades, is \
             what the out-of-sample mean needs)",
            bars - 1
        );
    }
    Ok((t0, t1))
}

type Params<'a> = dyn Fn(&Candidate) -> Vec<(String, String)> + 'a;
type EvaluateAll<'a> = dyn Fn(Option<(i64, i64)>) -> anyhow::Result<Vec<Evaluated>> + 'a;

/// `folds` anchored folds over `[t0, t1)` ([`walk_forward_window`]).
fn walk_forward(
    prepared: &Prepared,
    candidates: &[Candidate],
    grid: &Grid,
    folds: usize,
    (t0, t1): (i64, i64),
    params: &Params<'_>,
    evaluate_all: &EvaluateAll<'_>,
) -> anyhow::Result<WalkForward> {
    let spans = folds as i64 + 1;
    let boundary = |j: i64| t0 + ((t1 - t0) as i128 * j as i128 / spans as i128) as i64;
    let mut out = Vec::with_capacity(folds);
    for i in 1..=folds as i64 {
        let in_sample = (boundary(0), boundary(i));
        let out_of_sample = (boundary(i), boundary(i + 1));
        let results = evaluate_all(Some(in_sample))?;
        let chosen = rank(&results, grid.direction)[0];
        let candidate = &candidates[chosen];
        let oos = evaluate(
            prepared,
            &candidate.config,
            &grid.objective,
            Some(out_of_sample),
        )?;
        out.push(WalkForwardFold {
            in_sample: (iso_time(in_sample.0), iso_time(in_sample.1)),
            out_of_sample: (iso_time(out_of_sample.0), iso_time(out_of_sample.1)),
            chosen_index: chosen,
            chosen_params: params(candidate),
            in_sample_objective: results[chosen].objective,
            out_of_sample_objective: oos.objective,
            out_of_sample_statistics: oos.statistics,
        });
    }
    let defined: Vec<f64> = out
        .iter()
        .filter_map(|f| f.out_of_sample_objective)
        .collect();
    Ok(WalkForward {
        scheme: format!(
            "{folds} anchored folds: the window is cut into {spans} equal spans; fold i chooses on spans 1..i and is judged on span i+1"
        ),
        mean_out_of_sample_objective: (!defined.is_empty())
            .then(|| defined.iter().sum::<f64>() / defined.len() as f64),
        folds: out,
    })
}

fn print_summary(report: &SweepReport, out: &std::path::Path, timings: &StageTimings, quiet: bool) {
    let best = report.best.as_ref();
    let describe = |p: &[(String, String)]| {
        p.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let number = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.4}"));
    println!(
        "sweep of {} configs by {} ({}): best {} = {} (deflated Sharpe {}); {}",
        report.trials,
        report.objective,
        report.direction,
        best.map_or_else(String::new, |b| describe(&b.params)),
        number(best.and_then(|b| b.objective)),
        number(best.and_then(|b| b.deflated_sharpe_ratio)),
        out.join("sweep.html").display()
    );
    if quiet {
        return;
    }
    if let Some(wf) = &report.walk_forward {
        for (i, f) in wf.folds.iter().enumerate() {
            println!(
                "  fold {}: chose {} (in-sample {}), out-of-sample {}",
                i + 1,
                describe(&f.chosen_params),
                number(f.in_sample_objective),
                number(f.out_of_sample_objective)
            );
        }
        println!(
            "  mean out-of-sample {}: {} (the number to trust)",
            report.objective,
            number(wf.mean_out_of_sample_objective)
        );
    }
    println!(
        "stage timings: {} (wall clock on this machine, not a benchmark)",
        timings.describe()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluated(objective: Option<f64>) -> Evaluated {
        Evaluated {
            objective,
            statistics: Default::default(),
        }
    }

    #[test]
    fn ranking_puts_undefined_last_and_keeps_grid_order_on_ties() {
        let results = [None, Some(1.0), Some(3.0), Some(1.0)].map(evaluated);
        assert_eq!(rank(&results, Goal::Max), vec![2, 1, 3, 0]);
        assert_eq!(rank(&results, Goal::Min), vec![1, 3, 2, 0]);
    }

    #[test]
    fn sample_variance_uses_n_minus_one() {
        assert_eq!(sample_variance(&[1.0]), None);
        // mean 2, squared deviations 1 + 0 + 1 = 2, / 2 = 1.
        assert_eq!(sample_variance(&[1.0, 2.0, 3.0]), Some(1.0));
    }
}
