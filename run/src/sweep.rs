//! A sweep: one run config, many fills/risk/strategy settings (a grid). Data, features
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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use gauntlet_engine::RunResult;
use gauntlet_reports::render::{
    iso_time, render_sweep_csv, render_sweep_html, render_sweep_json, render_sweep_markdown,
    run_statistics, sensitivity, write_atomically, write_reports, BestConfig, Report, ReportFormat,
    SweepReport, SweepRow, WalkForward, WalkForwardFold, SWEEP_SCHEMA_VERSION, SWEEP_STATISTICS,
};
use gauntlet_reports::stats::{SharpeTrials, StatisticsConfig};
use rayon::prelude::*;

use crate::config::{RunConfig, StrategyConfig};
use crate::grid::{self, Goal, Grid, GridPoint};
use crate::output::{OutputSet, StagedDir};
use crate::pipeline::{self, BuiltStrategy, Prepared, Window};
use crate::timings::Progress;
use crate::timings::StageTimings;

/// How a sweep runs.
#[derive(Debug, Default)]
pub struct SweepOptions {
    /// The sweep's folder instead of `<reporting.out>/sweep`.
    pub out: Option<PathBuf>,
    /// Threads instead of the config's `threads`.
    pub threads: Option<usize>,
    /// Walk-forward validation with this many folds (see the module docs).
    pub walk_forward: Option<usize>,
    /// A spinner on stderr while a stage runs ([`StageTimings`]).
    pub progress: bool,
}

/// What a finished sweep produced.
#[derive(Debug)]
pub struct SweepOutcome {
    pub report: SweepReport,
    /// The sweep's folder written.
    pub dir: PathBuf,
    pub timings: StageTimings,
}

/// One simulated config: its objective and the statistics the table shows.
struct Evaluated {
    objective: Option<f64>,
    statistics: BTreeMap<String, Option<f64>>,
}

/// Every config the grid names, each checked like a config file.
struct Candidate {
    point: GridPoint,
    config: RunConfig,
}

/// Sweeps the grid at `grid_path` over the run config at `config_path`: prepares once,
/// simulates every config in parallel, ranks them, writes the best config's reports,
/// optionally walks forward, and writes the sweep's table as one output set.
pub fn sweep_to_dir(
    config_path: &Path,
    grid_path: &Path,
    options: &SweepOptions,
) -> anyhow::Result<SweepOutcome> {
    let base_text = std::fs::read_to_string(config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let mut base = RunConfig::parse(&base_text, config_path)?;
    if let Some(threads) = options.threads {
        base.threads = threads;
    }
    let grid = Grid::load(grid_path)?;
    if options.walk_forward == Some(0) {
        anyhow::bail!("--walk-forward K needs K ≥ 1 folds");
    }
    let candidates: Vec<Candidate> = grid
        .points()
        .into_iter()
        .map(|point| {
            let config = grid::config_at(&base_text, config_path, grid_path, &point)?;
            Ok(Candidate { point, config })
        })
        .collect::<anyhow::Result<_>>()?;
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| grid::default_out(&base));
    let pool = pipeline::thread_pool(base.threads)?;
    let mut timings = StageTimings::new(options.progress);
    let prepared = pipeline::prepare(&base, &pool, &mut timings)?;
    // Checked before the simulation, not after it.
    let walk_forward_plan = options
        .walk_forward
        .map(|folds| walk_forward_window(&prepared, folds).map(|window| (folds, window)))
        .transpose()?;
    let staged = StagedDir::begin(&out, OutputSet::Sweep)?;
    let evaluate_all =
        |range: Option<(i64, i64)>, progress: &Progress| -> anyhow::Result<Vec<Evaluated>> {
            let window = Window::new(&prepared, range);
            let inputs = window.inputs()?;
            // Grids mostly vary risk and fills: a strategy is built once per distinct
            // strategy config, not once per candidate.
            let mut strategies: Vec<(StrategyConfig, BuiltStrategy)> = Vec::new();
            for candidate in &candidates {
                let config = candidate.config.strategy;
                if strategies.iter().all(|(built, _)| *built != config) {
                    strategies.push((config, BuiltStrategy::new(&config, &inputs)?));
                }
            }
            pool.install(|| {
                candidates
                    .par_iter()
                    .map(|c| {
                        let (_, strategy) = strategies
                            .iter()
                            .find(|(built, _)| *built == c.config.strategy)
                            .expect("every candidate's strategy is built");
                        let run = strategy.simulate(&c.config.engine, &inputs)?;
                        let evaluated = evaluate_run(&run, &c.config, &grid.objective, &prepared);
                        progress.advance(1);
                        evaluated
                    })
                    .collect()
            })
        };
    let results = timings.time_counted("simulation", "configs", candidates.len(), |progress| {
        evaluate_all(None, progress)
    })?;
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
            &prepared.context,
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
        reports: ReportFormat::ALL
            .into_iter()
            .filter(|f| base.reporting.formats.contains(f))
            .map(|f| format!("best/{}", f.file_name()))
            .collect(),
    };

    let walk_forward = match walk_forward_plan {
        // Every fold evaluates every config in sample.
        Some((folds, window)) => Some(timings.time_counted(
            "walk-forward",
            "configs",
            folds * candidates.len(),
            |progress| {
                walk_forward(
                    &prepared,
                    &candidates,
                    &grid,
                    folds,
                    window,
                    &params,
                    &|range| evaluate_all(range, progress),
                )
            },
        )?),
        None => None,
    };
    let keys: Vec<String> = grid.axes.iter().map(|(k, _)| k.clone()).collect();
    let report = SweepReport {
        schema_version: SWEEP_SCHEMA_VERSION,
        objective: grid.objective.clone(),
        direction: match grid.direction {
            Goal::Max => "max",
            Goal::Min => "min",
        }
        .to_string(),
        sensitivity: sensitivity(&keys, &rows),
        keys,
        trials: candidates.len(),
        sharpe_variance_per_period: sharpe_variance,
        best: Some(best),
        rows,
        walk_forward,
        provenance: prepared.context.provenance.clone(),
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
    Ok(SweepOutcome {
        report,
        dir: out,
        timings,
    })
}

/// Simulates one config (optionally on a sub-range) and reads its statistics.
fn evaluate(
    prepared: &Prepared,
    config: &RunConfig,
    objective: &str,
    range: Option<(i64, i64)>,
) -> anyhow::Result<Evaluated> {
    let run = pipeline::simulate_prepared(prepared, &config.engine, &config.strategy, range)?;
    evaluate_run(&run, config, objective, prepared)
}

/// The statistics of `run`, a simulation of `config`.
fn evaluate_run(
    run: &RunResult,
    config: &RunConfig,
    objective: &str,
    prepared: &Prepared,
) -> anyhow::Result<Evaluated> {
    // Only the numbers: the tables of a full report would cost more than the simulation.
    let mut values = run_statistics(
        run,
        config.reporting.annualization,
        config.reporting.end_of_data,
        &StatisticsConfig::default(),
    )?
    .values;
    // Calibration does not depend on fills or risk: the same for every config.
    if let Some(ensemble) = prepared
        .context
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

    fn prepared(bars: usize) -> Prepared {
        use gauntlet_datasets::{CandleSeries, Interval};
        let ts: Vec<i64> = (0..bars as i64).map(|i| 1_000_000 + i * 60_000).collect();
        let c = vec![1.0; bars];
        let candles = CandleSeries::new(
            "SYM",
            Interval::M1,
            ts,
            c.clone(),
            c.clone(),
            c.clone(),
            c.clone(),
            c,
        )
        .unwrap();
        Prepared {
            candles: vec![candles],
            detail: None,
            window_start: vec![0],
            predictions: None,
            context: Default::default(),
        }
    }

    #[test]
    fn the_walk_forward_window_ends_after_the_last_bar_and_needs_a_bar_per_span() {
        let window = walk_forward_window(&prepared(10), 9).unwrap();
        assert_eq!(window, (1_000_000, 1_000_000 + 10 * 60_000));
        let err = walk_forward_window(&prepared(10), 10).unwrap_err();
        assert!(err.to_string().contains("use at most 9 folds"), "{err}");
    }
}
