//! One backtest, stage by stage: load and validate the candles, compute the features,
//! score the ensemble (or read its cached predictions), simulate, build the report.
//!
//! [`prepare`] does everything that does not depend on fills, risk or strategy
//! parameters, so a sweep prepares once and simulates many times.
//!
//! # The backtest window and warm-up
//! With `data.from` set, candles are read from `from − warm-up` so that features (and
//! sequence models) are ready at `from`; everything before `from` is then cut away: the
//! simulation, the equity curve, the calibration rows and every statistic start at `from`.
//! Warm-up = 2 × the feature set's warm-up rows + one day of bars (gaps, weekends).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use gauntlet_datasets::hash::data_hash;
use gauntlet_datasets::{load, validate_universe, CandleSeries, LoadRequest, SymbolFilter};
use gauntlet_engine::{simulate, EngineConfig, FeatureRows as EngineRows, RunResult, SymbolInput};
use gauntlet_reports::calibration::{CalibrationReport, PredictionSet};
use gauntlet_reports::gates::{GateSpec, RunValues};
use gauntlet_reports::render::{
    build_report, CalibrationSection, Notices, Provenance, Report, ReportOptions,
};
use gauntlet_reports::stats::StatisticsConfig;
use gauntlet_strategies::ensemble::{combine, Ensemble, EnsembleScores};
use gauntlet_strategies::features::{
    compute_universe, forward_return_labels, FeatureMatrix, Label,
};
use gauntlet_strategies::models::{
    calibrate, EngineChoice, ExpectedFeatures, FeatureRows, MemberScores, OutputKind,
    PredictionCache, PredictionKey, PreflightOptions,
};
use gauntlet_strategies::strategy::{BuyAndHold, EnsembleThreshold, ModelOutputs, SmaCross};
use rayon::prelude::*;

use crate::config::{ModelsConfig, RunConfig, StrategyConfig};

/// Wall-clock time of each stage (printed, never written into a compared report), and
/// a spinner on stderr while a stage runs (only on a terminal, never with `--quiet`).
#[derive(Debug, Default, Clone)]
pub struct StageTimings {
    pub stages: Vec<(&'static str, Duration)>,
    pub progress: bool,
}

impl StageTimings {
    /// Timings with a spinner unless `quiet` (indicatif hides it when stderr is not a
    /// terminal).
    pub fn new(quiet: bool) -> Self {
        Self {
            stages: Vec::new(),
            progress: !quiet,
        }
    }

    pub fn time<T>(&mut self, stage: &'static str, work: impl FnOnce() -> T) -> T {
        let spinner = self.progress.then(|| {
            let spinner = indicatif::ProgressBar::new_spinner();
            spinner.set_message(format!("{stage}…"));
            spinner.enable_steady_tick(Duration::from_millis(120));
            spinner
        });
        let start = Instant::now();
        let out = work();
        if let Some(spinner) = spinner {
            spinner.finish_and_clear();
        }
        self.stages.push((stage, start.elapsed()));
        out
    }

    /// `load 0.12s, features 0.40s, …`
    pub fn describe(&self) -> String {
        self.stages
            .iter()
            .map(|(stage, d)| format!("{stage} {:.2}s", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One member's predictions for every symbol (rows = the symbol's warm-up + window bars).
#[derive(Debug)]
pub struct MemberPredictions {
    pub name: String,
    pub bundle_hash: String,
    /// The engine that scored them (also when they came from the cache: it is part of
    /// the cache key).
    pub engine: EngineChoice,
    pub label_horizon: usize,
    pub flat_threshold: f64,
    /// Class probabilities (the bundle's temperature applied).
    pub scores: Vec<MemberScores>,
    /// The raw logits, for a member whose output kind is logits (the logit range).
    pub logits: Option<Vec<MemberScores>>,
    /// Whether they came from the prediction cache.
    pub cached: bool,
}

/// The ensemble's predictions for every symbol.
#[derive(Debug)]
pub struct Predictions {
    pub class_labels: Vec<String>,
    pub up_class: usize,
    pub down_class: usize,
    pub members: Vec<MemberPredictions>,
    pub ensemble: Vec<EnsembleScores>,
}

/// Everything a simulation needs that does not depend on fills, risk or strategy.
#[derive(Debug)]
pub struct Prepared {
    /// Candles of the backtest window, one series per symbol.
    pub candles: Vec<CandleSeries>,
    /// Finer candles of the window, for `drill_down`.
    pub detail: Option<Vec<CandleSeries>>,
    /// Per symbol: the first row of the window in `features` and the predictions.
    pub window_start: Vec<usize>,
    pub features: Vec<FeatureMatrix>,
    pub predictions: Option<Predictions>,
    pub provenance: Provenance,
    pub notices: Notices,
    pub calibration: Option<CalibrationSection>,
}

/// A rayon pool with `threads` workers (0 = all cores).
pub fn thread_pool(threads: usize) -> anyhow::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("creating the worker thread pool")
}

/// Loads, validates, computes features and predictions, on `pool`.
pub fn prepare(
    config: &RunConfig,
    pool: &rayon::ThreadPool,
    timings: &mut StageTimings,
) -> anyhow::Result<Prepared> {
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
    check_clean(&validate_universe(&universe))?;
    let series = universe.series;
    if series.iter().all(CandleSeries::is_empty) {
        bail!(
            "{}: no candles of interval {} in the window; check data.path, data.interval and data.from/to",
            data.path.display(),
            data.interval
        );
    }
    let (from, to) = data.window.unwrap_or((i64::MIN, i64::MAX));
    let detail = match data.detail_interval {
        Some(detail_interval) => {
            let request = LoadRequest {
                path: data.path.clone(),
                interval: Some(detail_interval),
                symbols,
                window: data.window,
            };
            let detail = timings.time("load", || load(&request))?;
            check_clean(&validate_universe(&detail))?;
            Some(detail.series)
        }
        None => None,
    };
    let data_hash = data_hash(&series);
    let features = timings.time("features", || {
        pool.install(|| compute_universe(&config.features, &series))
    })?;
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
            let predictions = timings.time("inference", || {
                predict(
                    models,
                    &expected,
                    data.window,
                    &features,
                    &data_hash,
                    pool,
                    &mut notices,
                )
            })?;
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
                calibration_section(&predictions, &series, &window, pool)
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
        features,
        predictions,
        provenance,
        notices,
        calibration,
    })
}

/// Refuses data with problems: a backtest on them would silently be wrong.
fn check_clean(reports: &[gauntlet_datasets::ValidationReport]) -> anyhow::Result<()> {
    let dirty: Vec<_> = reports.iter().filter(|r| !r.is_clean()).collect();
    if dirty.is_empty() {
        return Ok(());
    }
    let total: usize = dirty.iter().map(|r| r.issue_count).sum();
    let shown: Vec<String> = dirty
        .iter()
        .flat_map(|r| r.issues.iter())
        .take(10)
        .map(|issue| format!("  {issue}"))
        .collect();
    bail!(
        "the data has {total} problem(s) in {} symbol(s); fix them first (`gauntlet data validate` lists all):\n{}",
        dirty.len(),
        shown.join("\n")
    )
}

/// Preflights the members, then scores (or reads from the cache) each member on every
/// symbol in parallel, and combines them per symbol.
fn predict(
    models: &ModelsConfig,
    expected: &ExpectedFeatures,
    window: Option<(i64, i64)>,
    features: &[FeatureMatrix],
    data_hash: &str,
    pool: &rayon::ThreadPool,
    notices: &mut Notices,
) -> anyhow::Result<Predictions> {
    let options = PreflightOptions {
        // Preflight takes an inclusive span; the config's window is [from, to).
        backtest_window: window.map(|(from, to)| (from, to.saturating_sub(1))),
        allow_training_overlap: models.allow_training_overlap,
        engine: models.engine,
    };
    let mut ensemble = Ensemble::load(&models.ensemble, expected, &options)?;
    ensemble.ensure_workers(pool.current_num_threads())?;
    notices.dropped_members_notice = ensemble.dropped_notice();
    notices.dropped_members = ensemble.dropped().iter().map(|d| d.name.clone()).collect();
    let class_labels = ensemble.class_labels().to_vec();
    let class_index = |name: &str| {
        class_labels
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    };
    let (Some(up_class), Some(down_class)) = (class_index("up"), class_index("down")) else {
        bail!(
            "the ensemble's class labels {class_labels:?} need an \"up\" and a \"down\" class for the strategy"
        );
    };
    let rows: Vec<FeatureRows<'_>> = features
        .iter()
        .map(|m| {
            let values = m
                .values
                .as_slice()
                .context("feature matrix is not contiguous")?;
            Ok(FeatureRows::new(values, m.names.len(), &m.ready)?)
        })
        .collect::<anyhow::Result<_>>()?;
    let symbols: Vec<&str> = features.iter().map(|m| m.symbol.as_str()).collect();
    let cache = models.cache.as_ref().map(PredictionCache::new);
    let mut members = Vec::new();
    for member in ensemble.members() {
        let key = PredictionKey::for_model(&member.model, data_hash);
        let cached = match &cache {
            Some(cache) => cache.get(&key, &symbols)?,
            None => None,
        };
        let (raw, was_cached) = match cached {
            Some(raw) => (raw, true),
            None => {
                let raw = pool
                    .install(|| {
                        rows.par_iter()
                            .map(|rows| {
                                let worker = rayon::current_thread_index().unwrap_or(0);
                                member.model.score_raw(worker, rows, models.batch_size)
                            })
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .with_context(|| format!("scoring with {}", member.name))?;
                if let Some(cache) = &cache {
                    cache.put(&key, &symbols, &raw)?;
                }
                (raw, false)
            }
        };
        let output = &member.model.bundle().output;
        let scores = raw
            .iter()
            .map(|raw| apply_temperature(raw, output.kind, output.temperature))
            .collect::<anyhow::Result<Vec<_>>>()
            .with_context(|| format!("{}: cached raw outputs", member.name))?;
        let logits = (output.kind == OutputKind::Logits).then_some(raw);
        let mut distribution = Default::default();
        for s in &scores {
            gauntlet_strategies::models::InputDistribution::merge(
                &mut distribution,
                &s.input_distribution,
            );
        }
        if let Some(warning) = member.model.input_warning(&distribution) {
            eprintln!("{warning}");
            notices.input_distribution_warnings.push(warning);
        }
        let labels = &member.model.bundle().labels;
        members.push(MemberPredictions {
            name: member.name.clone(),
            bundle_hash: key.bundle_hash.clone(),
            engine: member.model.engine().clone(),
            label_horizon: labels.horizon_bars as usize,
            flat_threshold: labels.flat_threshold,
            scores,
            logits,
            cached: was_cached,
        });
    }
    let weights: Vec<f64> = ensemble.members().iter().map(|m| m.weight).collect();
    let ensemble_scores = pool.install(|| {
        (0..features.len())
            .into_par_iter()
            .map(|symbol| {
                let refs: Vec<&MemberScores> = members.iter().map(|m| &m.scores[symbol]).collect();
                combine(ensemble.method(), &weights, &refs)
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    Ok(Predictions {
        class_labels,
        up_class,
        down_class,
        members,
        ensemble: ensemble_scores,
    })
}

/// Class probabilities from one symbol's raw outputs (see
/// `gauntlet_strategies::models::calibrate`); unscored rows stay NaN.
fn apply_temperature(
    raw: &MemberScores,
    kind: OutputKind,
    temperature: f64,
) -> anyhow::Result<MemberScores> {
    let k = raw.n_classes;
    let mut probabilities = vec![f32::NAN; raw.probabilities.len()];
    for (row, out) in probabilities.chunks_exact_mut(k).enumerate() {
        if raw.scored[row] && !calibrate(kind, temperature, raw.row(row), out) {
            bail!("row {row} holds invalid {kind:?} output {:?}", raw.row(row));
        }
    }
    Ok(MemberScores {
        probabilities,
        ..raw.clone()
    })
}

/// Realized class of each row in `[start, end)` from the label horizon and flat band,
/// as an index into `class_labels`; rows whose realized label is not a class (e.g.
/// `flat` for a down/up model) or is unknown (the last `horizon` rows) are `None`.
fn realized_classes(
    series: &CandleSeries,
    horizon: usize,
    flat_threshold: f64,
    class_labels: &[String],
) -> anyhow::Result<Vec<Option<usize>>> {
    let labels = forward_return_labels(series.close(), horizon, flat_threshold)?;
    let index: BTreeMap<Label, Option<usize>> = [Label::Down, Label::Flat, Label::Up]
        .into_iter()
        .map(|l| {
            (
                l,
                class_labels
                    .iter()
                    .position(|c| c.eq_ignore_ascii_case(l.as_str())),
            )
        })
        .collect();
    Ok(labels
        .into_iter()
        .map(|l| l.and_then(|l| index[&l]))
        .collect())
}

/// Calibration of the ensemble and of each member over the window's scored, labelled
/// rows. The ensemble is judged against the first member's label definition.
fn calibration_section(
    predictions: &Predictions,
    series: &[CandleSeries],
    window: &[(usize, usize)],
    pool: &rayon::ThreadPool,
) -> anyhow::Result<CalibrationSection> {
    let n_classes = predictions.class_labels.len();
    // The realized classes of each label definition, once (members usually share one);
    // `definition_of[m]` indexes member m's in `labelled`.
    let mut labelled: Vec<((usize, u64), LabelledRows)> = Vec::new();
    let mut definition_of = Vec::with_capacity(predictions.members.len());
    for member in &predictions.members {
        let definition = (member.label_horizon, member.flat_threshold.to_bits());
        let index = match labelled.iter().position(|(d, _)| *d == definition) {
            Some(index) => index,
            None => {
                // On `pool`, in parallel across symbols.
                let rows = pool.install(|| {
                    LabelledRows::collect(
                        predictions,
                        series,
                        window,
                        member.label_horizon,
                        member.flat_threshold,
                    )
                })?;
                labelled.push((definition, rows));
                labelled.len() - 1
            }
        };
        definition_of.push(index);
    }
    type MemberReport = anyhow::Result<Option<(String, CalibrationReport)>>;
    let member_report = |(member, &definition): (&MemberPredictions, &usize)| -> MemberReport {
        let probabilities = |symbol: usize, row: usize| {
            let s = &member.scores[symbol];
            s.scored[row].then(|| s.row(row))
        };
        let logits = member
            .logits
            .as_ref()
            .map(|raw| move |symbol: usize, row: usize| raw[symbol].row(row));
        let report = labelled[definition].1.report(
            n_classes,
            probabilities,
            logits,
            None::<fn(usize, usize) -> f32>,
        )?;
        Ok(report.map(|r| (member.name.clone(), r)))
    };
    let ensemble_report = || -> anyhow::Result<Option<CalibrationReport>> {
        let probabilities = |symbol: usize, row: usize| {
            let e = &predictions.ensemble[symbol];
            e.scored[row].then(|| &e.probabilities[row * n_classes..(row + 1) * n_classes])
        };
        let consensus = |symbol: usize, row: usize| predictions.ensemble[symbol].consensus[row];
        labelled[definition_of[0]].1.report(
            n_classes,
            probabilities,
            None::<fn(usize, usize) -> &'static [f32]>,
            Some(consensus),
        )
    };
    // Each report sorts every row a few times: build them in parallel.
    let (members, ensemble) = pool.install(|| {
        rayon::join(
            || {
                predictions
                    .members
                    .par_iter()
                    .zip(&definition_of)
                    .map(member_report)
                    .collect::<anyhow::Result<Vec<_>>>()
            },
            ensemble_report,
        )
    });
    Ok(CalibrationSection {
        ensemble: ensemble?,
        members: members?.into_iter().flatten().collect(),
    })
}

/// The window rows with a realized class: `(symbol, row, class)`.
struct LabelledRows(Vec<(usize, usize, usize)>);

impl LabelledRows {
    fn collect(
        predictions: &Predictions,
        series: &[CandleSeries],
        window: &[(usize, usize)],
        horizon: usize,
        flat_threshold: f64,
    ) -> anyhow::Result<Self> {
        let per_symbol = series
            .par_iter()
            .enumerate()
            .map(|(symbol, candles)| {
                let realized =
                    realized_classes(candles, horizon, flat_threshold, &predictions.class_labels)?;
                let (start, end) = window[symbol];
                Ok(realized
                    .iter()
                    .enumerate()
                    .take(end)
                    .skip(start)
                    .filter_map(|(row, class)| class.map(|class| (symbol, row, class)))
                    .collect::<Vec<_>>())
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self(per_symbol.concat()))
    }

    /// The calibration report of the rows that `probabilities` scored, with the raw
    /// logits of those rows when given.
    fn report<'a, 'b>(
        &self,
        n_classes: usize,
        probabilities: impl Fn(usize, usize) -> Option<&'a [f32]>,
        logits: Option<impl Fn(usize, usize) -> &'b [f32]>,
        consensus: Option<impl Fn(usize, usize) -> f32>,
    ) -> anyhow::Result<Option<CalibrationReport>> {
        let mut probs = Vec::new();
        let mut labels = Vec::new();
        let mut agree = Vec::new();
        let mut raw = Vec::new();
        for &(symbol, row, class) in &self.0 {
            let Some(p) = probabilities(symbol, row) else {
                continue;
            };
            probs.extend(p.iter().map(|&v| f64::from(v)));
            labels.push(class);
            if let Some(logits) = &logits {
                raw.extend(logits(symbol, row).iter().map(|&z| f64::from(z)));
            }
            if let Some(consensus) = &consensus {
                agree.push(f64::from(consensus(symbol, row)));
            }
        }
        if labels.is_empty() {
            return Ok(None);
        }
        let mut set = PredictionSet::new(n_classes, renormalized(probs, n_classes), labels)?;
        if consensus.is_some() {
            set = set.with_consensus(agree)?;
        }
        if logits.is_some() {
            set = set.with_logits(raw)?;
        }
        Ok(Some(set.report()))
    }
}

/// f32 probabilities widened to f64 sum to 1 only within f32 rounding; rescale each row
/// so the calibration checks (|Σp − 1| small) judge the model, not the cast.
fn renormalized(mut probabilities: Vec<f64>, n_classes: usize) -> Vec<f64> {
    for row in probabilities.chunks_mut(n_classes) {
        let sum: f64 = row.iter().sum();
        if sum > 0.0 {
            row.iter_mut().for_each(|p| *p /= sum);
        }
    }
    probabilities
}

/// Simulates `strategy` with `engine` over the prepared window, or over the part of it
/// in `range` (`[from, to)` bar open times, for walk-forward folds).
pub fn simulate_prepared(
    prepared: &Prepared,
    engine: &EngineConfig,
    strategy: &StrategyConfig,
    range: Option<(i64, i64)>,
) -> anyhow::Result<RunResult> {
    let cut = |series: &[CandleSeries]| -> Option<Vec<CandleSeries>> {
        range.map(|(from, to)| series.iter().map(|s| s.window(from, to)).collect())
    };
    let sliced = cut(&prepared.candles);
    let candles_all = sliced.as_deref().unwrap_or(&prepared.candles);
    let sliced_detail = prepared.detail.as_deref().and_then(cut);
    let detail_all = sliced_detail.as_deref().or(prepared.detail.as_deref());
    let mut inputs = Vec::with_capacity(candles_all.len());
    for (symbol, candles) in candles_all.iter().enumerate() {
        let offset = range.map_or(0, |(from, _)| {
            prepared.candles[symbol].ts().partition_point(|&t| t < from)
        });
        let start = prepared.window_start[symbol] + offset;
        let end = start + candles.len();
        let matrix = &prepared.features[symbol];
        let columns = matrix.names.len();
        let values = matrix
            .values
            .as_slice()
            .context("feature matrix is not contiguous")?;
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
        inputs.push(SymbolInput {
            candles,
            features: Some(EngineRows {
                values: &values[start * columns..end * columns],
                n_columns: columns,
            }),
            model,
            detail: detail_all.map(|d| &d[symbol]),
        });
    }
    Ok(match strategy {
        StrategyConfig::EnsembleThreshold(c) => {
            simulate(engine, &EnsembleThreshold::new(*c)?, &inputs)?
        }
        StrategyConfig::SmaCross(c) => simulate(engine, &SmaCross::new(*c)?, &inputs)?,
        StrategyConfig::BuyAndHold => simulate(engine, &BuyAndHold, &inputs)?,
    })
}

/// The report of a run of `config` on `prepared`.
pub fn report(
    config: &RunConfig,
    prepared: &Prepared,
    run: &RunResult,
    statistics: StatisticsConfig,
    gates: Option<&GateSpec>,
    champion: Option<&RunValues>,
) -> anyhow::Result<Report> {
    Ok(build_report(
        run,
        ReportOptions {
            provenance: prepared.provenance.clone(),
            annualization: Some(config.reporting.annualization),
            statistics,
            end_of_data: config.reporting.end_of_data,
            notices: prepared.notices.clone(),
            calibration: prepared.calibration.clone(),
            gates,
            champion,
        },
    )?)
}
