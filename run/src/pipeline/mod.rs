//! One backtest, stage by stage: load and validate the candles, compute the features
//! chunk by chunk of symbols while the ensemble scores them (or read its cached
//! predictions, which needs no features; no strategy reads them otherwise), calibrate,
//! simulate, build the report.
//!
//! `prepare` does everything that does not depend on fills, risk or strategy
//! parameters, so a sweep prepares once and simulates many times.
//!
//! # The backtest window and warm-up
//! With `data.from` set, candles are read from `from − warm-up` so that features (and
//! sequence models) are ready at `from`; everything before `from` is then cut away: the
//! simulation, the equity curve, the calibration rows and every statistic start at `from`.
//! Warm-up = 2 × the feature set's warm-up rows + one day of bars (gaps, weekends).

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use gauntlet_datasets::hash::data_hash;
use gauntlet_datasets::{
    ensure_clean, load, validate_universe, CandleSeries, LoadRequest, SymbolFilter,
};
use gauntlet_engine::{simulate, EngineConfig, RunResult, SymbolInput};
use gauntlet_reports::gates::{GateSpec, RunValues};
use gauntlet_reports::render::{
    build_report, iso_time, CalibrationSection, Notices, Provenance, Report, ReportOptions,
};
use gauntlet_reports::stats::StatisticsConfig;
use gauntlet_strategies::ensemble::Ensemble;
use gauntlet_strategies::models::{ExpectedFeatures, PreflightOptions};
use gauntlet_strategies::strategy::{BuyAndHold, EnsembleThreshold, ModelOutputs, SmaCross};

use crate::config::{ModelsConfig, RunConfig, StrategyConfig, MAX_THREADS};
use crate::timings::StageTimings;

mod calibration;
mod predict;

use predict::Predictions;

/// Everything a simulation needs that does not depend on fills, risk or strategy.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// Candles of the backtest window, one series per symbol.
    pub candles: Vec<CandleSeries>,
    /// Finer candles of the window, for `drill_down`.
    pub detail: Option<Vec<CandleSeries>>,
    /// Per symbol: the first row of the window in the predictions.
    pub window_start: Vec<usize>,
    pub predictions: Option<Predictions>,
    pub context: RunContext,
}

impl Prepared {
    /// The run's context; the candles and predictions are freed.
    pub fn into_context(self) -> RunContext {
        self.context
    }
}

/// What a report states about a run besides its results: where the data came from, the
/// run's notices and the calibration section. Small: a backtest keeps it and frees the
/// candles and predictions before it builds the report.
#[derive(Debug, Default)]
pub(crate) struct RunContext {
    pub provenance: Provenance,
    pub notices: Notices,
    pub calibration: Option<CalibrationSection>,
}

/// A rayon pool with `threads` workers (0 = all cores; at most [`MAX_THREADS`]).
pub fn thread_pool(threads: usize) -> anyhow::Result<rayon::ThreadPool> {
    if threads > MAX_THREADS {
        bail!(
            "threads = {threads} (the config's `threads` or --threads): expected 0 (all cores) \
             up to {MAX_THREADS}; results never depend on it"
        );
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("creating the worker thread pool")
}

/// The run's candles, validated: `series` with the features' warm-up before the
/// window, `detail` (the window only) for `drill_down`.
pub struct RunData {
    pub series: Vec<CandleSeries>,
    pub detail: Option<Vec<CandleSeries>>,
}

/// Reads and validates the candles a run of `config` needs: what `backtest` does
/// before computing anything, and all of what `config check` does with the data.
pub fn load_data(config: &RunConfig, timings: &mut StageTimings) -> anyhow::Result<RunData> {
    let data = &config.data;
    let interval_ms = data.interval.millis();
    let warmup_ms =
        (2 * config.features.warmup_rows(data.interval) as i64) * interval_ms + 86_400_000;
    let read_window = data
        .window
        .map(|(from, to)| (from.saturating_sub(warmup_ms), to));
    let symbols = match &data.symbols {
        Some(list) => SymbolFilter::Only(list.clone()),
        None => SymbolFilter::All,
    };
    let request = LoadRequest {
        path: data.path.clone(),
        interval: Some(data.interval),
        symbols: symbols.clone(),
        window: read_window,
    };
    let universe = timings.time("load", || load(&request))?;
    // A backtest on data with problems would silently be wrong.
    ensure_clean(&validate_universe(&universe))?;
    let series = universe.series;
    let in_window = |s: &CandleSeries| {
        let (from, to) = data.window.unwrap_or((i64::MIN, i64::MAX));
        let ts = s.ts();
        ts.get(ts.partition_point(|&t| t < from))
            .is_some_and(|&t| t < to)
    };
    if !series.iter().any(in_window) {
        bail!(
            "{}: no candles of interval {} in the window{}; {}",
            data.path.display(),
            data.interval,
            data.window.map_or(String::new(), |(from, to)| format!(
                " {} .. {}",
                iso_time(from),
                iso_time(to)
            )),
            data_span(&LoadRequest {
                window: None,
                ..request
            })
        );
    }
    let detail = match data.detail_interval {
        Some(detail_interval) => {
            let request = LoadRequest {
                path: data.path.clone(),
                interval: Some(detail_interval),
                symbols,
                window: data.window,
            };
            let detail = timings.time("load", || load(&request))?;
            ensure_clean(&validate_universe(&detail))?;
            Some(detail.series)
        }
        None => None,
    };
    Ok(RunData { series, detail })
}

/// Where the data of `request` (read without a window) begins and ends, for an error
/// about a window that misses it.
fn data_span(request: &LoadRequest) -> String {
    let universe = match load(request) {
        Ok(universe) => universe,
        Err(err) => return format!("reading it without the window failed too: {err}"),
    };
    let first = universe.series.iter().filter_map(|s| s.ts().first()).min();
    let last = universe.series.iter().filter_map(|s| s.ts().last()).max();
    match (first, last) {
        (Some(&first), Some(&last)) => format!(
            "the data spans {} .. {}: set data.from/to inside it",
            iso_time(first),
            iso_time(last)
        ),
        _ => "the data holds no candles: check data.path and data.interval".into(),
    }
}

/// Loads, validates, computes features and predictions, on `pool`.
pub(crate) fn prepare(
    config: &RunConfig,
    pool: &rayon::ThreadPool,
    timings: &mut StageTimings,
) -> anyhow::Result<Prepared> {
    let data = &config.data;
    let RunData { series, detail } = load_data(config, timings)?;
    let (from, to) = data.window.unwrap_or((i64::MIN, i64::MAX));
    let data_hash = data_hash(&series);
    let window_start: Vec<usize> = series
        .iter()
        .map(|s| s.ts().partition_point(|&t| t < from))
        .collect();
    let window_end: Vec<usize> = series
        .iter()
        .map(|s| s.ts().partition_point(|&t| t < to))
        .collect();
    let manifest = config.features.manifest();
    let mut provenance = Provenance {
        config: config.echo.clone(),
        data_hash: Some(data_hash.clone()),
        manifest_hash: Some(manifest.hash.clone()),
        bundle_hashes: BTreeMap::new(),
        scoring_engines: BTreeMap::new(),
    };
    let mut notices = Notices::default();
    let (predictions, calibration) = match &config.models {
        Some(models) => {
            let expected = ExpectedFeatures::from(&manifest);
            let predictions = predict::predict(
                models,
                &config.features,
                &expected,
                data.window,
                &series,
                &data_hash,
                pool,
                &mut notices,
                timings,
            )?;
            for member in &predictions.members {
                provenance
                    .bundle_hashes
                    .insert(member.name.clone(), member.bundle_hash.clone());
                provenance
                    .scoring_engines
                    .insert(member.name.clone(), member.engine.to_string());
            }
            let window: Vec<(usize, usize)> =
                window_start.iter().copied().zip(window_end).collect();
            let calibration = timings.time("calibration", || {
                calibration::calibration_section(&predictions, &series, &window, pool)
            })?;
            (Some(predictions), Some(calibration))
        }
        None => (None, None),
    };
    // Without a window the series are the window: no copy.
    let candles = match data.window {
        Some(_) => series.iter().map(|s| s.window(from, to)).collect(),
        None => series,
    };
    Ok(Prepared {
        candles,
        detail,
        window_start,
        predictions,
        context: RunContext {
            provenance,
            notices,
            calibration,
        },
    })
}

/// Loads and preflights every member against the features the pipeline computes and
/// the backtest window: what `backtest` checks before scoring, and `config check` too.
pub fn preflight(
    models: &ModelsConfig,
    expected: &ExpectedFeatures,
    window: Option<(i64, i64)>,
) -> anyhow::Result<Ensemble> {
    let options = PreflightOptions {
        // Preflight takes an inclusive span; the config's window is [from, to).
        backtest_window: window.map(|(from, to)| (from, to.saturating_sub(1))),
        allow_training_overlap: models.allow_training_overlap,
        engine: models.engine,
    };
    Ok(Ensemble::load(&models.ensemble, expected, &options)?)
}

/// Simulates `strategy` with `engine` over the prepared window, or over the part of it
/// in `range` (`[from, to)` bar open times, for walk-forward folds).
pub(crate) fn simulate_prepared(
    prepared: &Prepared,
    engine: &EngineConfig,
    strategy: &StrategyConfig,
    range: Option<(i64, i64)>,
) -> anyhow::Result<RunResult> {
    let window = Window::new(prepared, range);
    let inputs = window.inputs()?;
    BuiltStrategy::new(strategy, &inputs)?.simulate(engine, &inputs)
}

/// The prepared candles (and intrabar detail) over the prepared window, or over the part
/// of it in `range` (`[from, to)` bar open times), for the engine's inputs.
pub(crate) struct Window<'p> {
    prepared: &'p Prepared,
    range: Option<(i64, i64)>,
    /// The candles of `range`, when there is one.
    candles: Option<Vec<CandleSeries>>,
    detail: Option<Vec<CandleSeries>>,
}

impl<'p> Window<'p> {
    pub(crate) fn new(prepared: &'p Prepared, range: Option<(i64, i64)>) -> Self {
        let cut = |series: &[CandleSeries]| -> Option<Vec<CandleSeries>> {
            range.map(|(from, to)| series.iter().map(|s| s.window(from, to)).collect())
        };
        Self {
            prepared,
            range,
            candles: cut(&prepared.candles),
            detail: prepared.detail.as_deref().and_then(cut),
        }
    }

    /// One input per symbol: its candles, intrabar detail and ensemble outputs over the
    /// window.
    pub(crate) fn inputs(&self) -> anyhow::Result<Vec<SymbolInput<'_>>> {
        let prepared = self.prepared;
        let candles_all = self.candles.as_deref().unwrap_or(&prepared.candles);
        let detail_all = self.detail.as_deref().or(prepared.detail.as_deref());
        let mut inputs = Vec::with_capacity(candles_all.len());
        for (symbol, candles) in candles_all.iter().enumerate() {
            let offset = self.range.map_or(0, |(from, _)| {
                prepared.candles[symbol].ts().partition_point(|&t| t < from)
            });
            let start = prepared.window_start[symbol] + offset;
            let end = start + candles.len();
            let model = match &prepared.predictions {
                Some(p) => {
                    let e = &p.ensemble[symbol];
                    let k = e.n_classes;
                    Some(ModelOutputs::new(
                        &e.probabilities[start * k..end * k],
                        k,
                        &e.consensus[start..end],
                        p.up_class,
                        p.down_class,
                    )?)
                }
                None => None,
            };
            // No built-in strategy reads feature rows: they are not kept (see `predict`).
            inputs.push(SymbolInput {
                candles,
                features: None,
                model,
                detail: detail_all.map(|d| &d[symbol]),
            });
        }
        Ok(inputs)
    }
}

/// A built-in strategy with what it computes once per run (crossings, threshold
/// readings), to simulate any number of engine configs on the same inputs.
pub(crate) enum BuiltStrategy {
    EnsembleThreshold(EnsembleThreshold),
    SmaCross(SmaCross),
    BuyAndHold,
}

impl BuiltStrategy {
    pub(crate) fn new(config: &StrategyConfig, inputs: &[SymbolInput<'_>]) -> anyhow::Result<Self> {
        Ok(match config {
            StrategyConfig::EnsembleThreshold(c) => {
                let models = inputs.iter().map(|input| input.model);
                Self::EnsembleThreshold(EnsembleThreshold::new(*c, models)?)
            }
            StrategyConfig::SmaCross(c) => {
                let closes = inputs.iter().map(|input| input.candles.close());
                Self::SmaCross(SmaCross::new(*c, closes)?)
            }
            StrategyConfig::BuyAndHold => Self::BuyAndHold,
        })
    }

    /// Simulates the strategy with `engine` on `inputs`, the inputs it was built on.
    pub(crate) fn simulate(
        &self,
        engine: &EngineConfig,
        inputs: &[SymbolInput<'_>],
    ) -> anyhow::Result<RunResult> {
        Ok(match self {
            Self::EnsembleThreshold(strategy) => simulate(engine, strategy, inputs)?,
            Self::SmaCross(strategy) => simulate(engine, strategy, inputs)?,
            Self::BuyAndHold => simulate(engine, &BuyAndHold, inputs)?,
        })
    }
}

/// The report of a run of `config` on `prepared`.
pub(crate) fn report(
    config: &RunConfig,
    context: &RunContext,
    run: &RunResult,
    statistics: StatisticsConfig,
    gates: Option<&GateSpec>,
    champion: Option<&RunValues>,
) -> anyhow::Result<Report> {
    Ok(build_report(
        run,
        ReportOptions {
            provenance: context.provenance.clone(),
            annualization: Some(config.reporting.annualization),
            statistics,
            end_of_data: config.reporting.end_of_data,
            notices: context.notices.clone(),
            calibration: context.calibration.clone(),
            gates,
            champion,
        },
    )?)
}
