//! One backtest, stage by stage: load and validate the candles, compute the features
//! chunk by chunk of symbols while the ensemble scores them (or read its cached
//! predictions, which needs no features; no strategy reads them otherwise), simulate,
//! build the report.
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
use gauntlet_datasets::{
    ensure_clean, load, validate_universe, CandleSeries, LoadRequest, SymbolFilter,
};
use gauntlet_engine::{simulate, EngineConfig, RunResult, SymbolInput};
use gauntlet_reports::calibration::{calibration_report, CalibrationReport, ReportRow, ReportRows};
use gauntlet_reports::gates::{GateSpec, RunValues};
use gauntlet_reports::render::{
    build_report, iso_time, CalibrationSection, Notices, Provenance, Report, ReportOptions,
};
use gauntlet_reports::stats::StatisticsConfig;
use gauntlet_run::config::{ModelsConfig, RunConfig, StrategyConfig, MAX_THREADS};
use gauntlet_strategies::ensemble::{combine, Ensemble, EnsembleScores};
use gauntlet_strategies::features::{compute_universe, forward_return_labels, FeatureSet, Label};
use gauntlet_strategies::models::{
    calibrate, CacheError, EngineChoice, ExpectedFeatures, FeatureRows, MemberScores, OutputKind,
    PredictionCache, PredictionKey, PreflightOptions,
};
use gauntlet_strategies::strategy::{BuyAndHold, EnsembleThreshold, ModelOutputs, SmaCross};
use rayon::prelude::*;

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

    /// Runs `work` as (part of) `stage`: a stage timed several times shows its total.
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
        let elapsed = start.elapsed();
        match self.stages.iter_mut().find(|(name, _)| *name == stage) {
            Some((_, total)) => *total += elapsed,
            None => self.stages.push((stage, elapsed)),
        }
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
    /// Per symbol: the first row of the window in the predictions.
    pub window_start: Vec<usize>,
    pub predictions: Option<Predictions>,
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
pub fn prepare(
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
            let predictions = predict(
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
        predictions,
        provenance,
        notices,
        calibration,
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

/// Symbols whose features are computed at a time: the feature matrices of a chunk live
/// only while its predictions are scored (16 of W1's symbols: 258 MB; a multiple of the
/// four series the features compute together).
const SYMBOLS_PER_CHUNK: usize = 16;

/// Preflights the members, reads their cached predictions, scores the others chunk by
/// chunk of symbols (features, then every member in parallel across the chunk's
/// symbols), and combines them per symbol. No strategy reads the features themselves,
/// so they are dropped with their chunk; with every member cached they are never
/// computed.
#[allow(clippy::too_many_arguments)]
fn predict(
    models: &ModelsConfig,
    feature_set: &FeatureSet,
    expected: &ExpectedFeatures,
    window: Option<(i64, i64)>,
    series: &[CandleSeries],
    data_hash: &str,
    pool: &rayon::ThreadPool,
    notices: &mut Notices,
    timings: &mut StageTimings,
) -> anyhow::Result<Predictions> {
    let ensemble = timings.time("inference", || -> anyhow::Result<Ensemble> {
        let mut ensemble = preflight(models, expected, window)?;
        ensemble.ensure_workers(pool.current_num_threads())?;
        Ok(ensemble)
    })?;
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
    let symbols: Vec<&str> = series.iter().map(CandleSeries::symbol).collect();
    let cache = models.cache.as_ref().map(PredictionCache::new);
    let keys: Vec<PredictionKey> = ensemble
        .members()
        .iter()
        .map(|member| PredictionKey::for_model(&member.model, data_hash))
        .collect();
    let mut raw_outputs = Vec::with_capacity(keys.len());
    for key in &keys {
        let cached = match &cache {
            Some(cache) => match timings.time("inference", || cache.get(key, &symbols)) {
                Ok(cached) => cached,
                // A damaged or foreign entry is scored again and rewritten.
                Err(err @ CacheError::Unusable { .. }) => {
                    eprintln!("WARNING: {err}");
                    None
                }
                Err(err) => return Err(err.into()),
            },
            None => None,
        };
        raw_outputs.push(cached);
    }
    let cached: Vec<bool> = raw_outputs.iter().map(Option::is_some).collect();
    let to_score: Vec<usize> = (0..keys.len()).filter(|&m| !cached[m]).collect();
    if !to_score.is_empty() {
        let mut scored: Vec<Vec<MemberScores>> = to_score
            .iter()
            .map(|_| Vec::with_capacity(series.len()))
            .collect();
        for chunk in series.chunks(SYMBOLS_PER_CHUNK) {
            let features = timings.time("features", || {
                pool.install(|| compute_universe(feature_set, chunk))
            })?;
            timings.time("inference", || -> anyhow::Result<()> {
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
                for (scores, &m) in scored.iter_mut().zip(&to_score) {
                    let member = &ensemble.members()[m];
                    let chunk_scores = pool
                        .install(|| {
                            rows.par_iter()
                                .map(|rows| {
                                    let worker = rayon::current_thread_index().unwrap_or(0);
                                    member.model.score_raw(worker, rows, models.batch_size)
                                })
                                .collect::<Result<Vec<_>, _>>()
                        })
                        .with_context(|| format!("scoring with {}", member.name))?;
                    scores.extend(chunk_scores);
                }
                Ok(())
            })?;
        }
        for (scores, &m) in scored.into_iter().zip(&to_score) {
            if let Some(cache) = &cache {
                timings.time("inference", || cache.put(&keys[m], &symbols, &scores))?;
            }
            raw_outputs[m] = Some(scores);
        }
    }
    let mut members = Vec::new();
    for ((member, key), (raw, was_cached)) in ensemble
        .members()
        .iter()
        .zip(&keys)
        .zip(raw_outputs.into_iter().zip(cached))
    {
        let raw = raw.context("every member was read from the cache or scored")?;
        let output = &member.model.bundle().output;
        // A logits member keeps its raw outputs for the logit range; a probabilities
        // member's become its probabilities in place.
        let logits = (output.kind == OutputKind::Logits).then(|| raw.clone());
        let scores = raw
            .into_iter()
            .map(|raw| apply_temperature(raw, output.kind, output.temperature))
            .collect::<anyhow::Result<Vec<_>>>()
            .with_context(|| format!("{}: cached raw outputs", member.name))?;
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
        (0..series.len())
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
/// `gauntlet_strategies::models::calibrate`), in place; unscored rows stay NaN.
fn apply_temperature(
    mut scores: MemberScores,
    kind: OutputKind,
    temperature: f64,
) -> anyhow::Result<MemberScores> {
    let k = scores.n_classes;
    let mut raw = vec![0f32; k];
    for (row, out) in scores.probabilities.chunks_exact_mut(k).enumerate() {
        if !scores.scored[row] {
            continue;
        }
        raw.copy_from_slice(out);
        if !calibrate(kind, temperature, &raw, out) {
            bail!("row {row} holds invalid {kind:?} output {raw:?}");
        }
    }
    Ok(scores)
}

/// Realized class of each row of `series` from the label horizon and flat band, as an
/// index into `class_labels`; rows whose realized label is not a class (e.g. `flat` for
/// a down/up model) or is unknown (the last `horizon` rows) are `None`.
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
/// rows. The ensemble is judged against the first member's label definition. Each
/// report reads the predictions where they are ([`ReportRows`]); the realized classes
/// are computed once per label definition.
fn calibration_section(
    predictions: &Predictions,
    series: &[CandleSeries],
    window: &[(usize, usize)],
    pool: &rayon::ThreadPool,
) -> anyhow::Result<CalibrationSection> {
    let n_classes = predictions.class_labels.len();
    // The realized classes of each label definition, once (members usually share one);
    // `definition_of[m]` indexes member m's in `labelled`.
    let mut labelled: Vec<((usize, u64), WindowClasses)> = Vec::new();
    let mut definition_of = Vec::with_capacity(predictions.members.len());
    for member in &predictions.members {
        let definition = (member.label_horizon, member.flat_threshold.to_bits());
        let index = match labelled.iter().position(|(d, _)| *d == definition) {
            Some(index) => index,
            None => {
                let classes = pool.install(|| {
                    WindowClasses::collect(
                        predictions,
                        series,
                        window,
                        member.label_horizon,
                        member.flat_threshold,
                    )
                })?;
                labelled.push((definition, classes));
                labelled.len() - 1
            }
        };
        definition_of.push(index);
    }
    type MemberReport = anyhow::Result<Option<(String, CalibrationReport)>>;
    let member_report = |(member, &definition): (&MemberPredictions, &usize)| -> MemberReport {
        let rows = ScoredRows {
            classes: &labelled[definition].1,
            n_classes,
            probabilities: &member.scores,
            logits: member.logits.as_deref(),
            consensus: None,
        };
        let report = rows.report()?;
        Ok(report.map(|r| (member.name.clone(), r)))
    };
    let ensemble_report = || -> anyhow::Result<Option<CalibrationReport>> {
        let ensemble = &predictions.ensemble;
        ScoredRows {
            classes: &labelled[definition_of[0]].1,
            n_classes,
            probabilities: ensemble,
            logits: None,
            consensus: Some(ensemble),
        }
        .report()
    };
    // The reports are independent: build them in parallel.
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

/// Marks a window row without a realized class in [`WindowClasses`].
const NO_CLASS: u8 = u8::MAX;

/// The realized class of every window row for one label definition: per symbol, the
/// window's first row and one class index per window row ([`NO_CLASS`] when none).
struct WindowClasses(Vec<(usize, Vec<u8>)>);

impl WindowClasses {
    fn collect(
        predictions: &Predictions,
        series: &[CandleSeries],
        window: &[(usize, usize)],
        horizon: usize,
        flat_threshold: f64,
    ) -> anyhow::Result<Self> {
        let per_symbol = series
            .par_iter()
            .zip(window)
            .map(|(candles, &(start, end))| {
                let realized =
                    realized_classes(candles, horizon, flat_threshold, &predictions.class_labels)?;
                let classes = realized[start..end]
                    .iter()
                    .map(|class| class.and_then(|c| u8::try_from(c).ok()).unwrap_or(NO_CLASS))
                    .collect();
                Ok((start, classes))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self(per_symbol))
    }
}

/// Scored rows of one symbol: `probabilities` (row-major f32, `n_classes` per row) and
/// which rows were scored; the ensemble's add its consensus.
trait ScoredSymbol: Sync {
    fn probabilities(&self) -> &[f32];
    fn scored(&self, row: usize) -> bool;
    fn consensus(&self, _row: usize) -> Option<f64> {
        None
    }
}

impl ScoredSymbol for MemberScores {
    fn probabilities(&self) -> &[f32] {
        &self.probabilities
    }
    fn scored(&self, row: usize) -> bool {
        self.scored[row]
    }
}

impl ScoredSymbol for EnsembleScores {
    fn probabilities(&self) -> &[f32] {
        &self.probabilities
    }
    fn scored(&self, row: usize) -> bool {
        self.scored[row]
    }
    fn consensus(&self, row: usize) -> Option<f64> {
        Some(f64::from(self.consensus[row]))
    }
}

/// The window rows that have a realized class and were scored, read in place: symbol
/// by symbol, row by row, the f32 probabilities widened to f64 and rescaled to sum to 1
/// (f32 rows summed in f64 are 1 only within f32 rounding; the calibration checks judge
/// the model, not the cast).
struct ScoredRows<'a, S> {
    classes: &'a WindowClasses,
    n_classes: usize,
    probabilities: &'a [S],
    logits: Option<&'a [MemberScores]>,
    consensus: Option<&'a [S]>,
}

impl<S: ScoredSymbol> ScoredRows<'_, S> {
    /// The report of these rows; `None` when there are none.
    fn report(&self) -> anyhow::Result<Option<CalibrationReport>> {
        let report = calibration_report(self)?;
        Ok((report.rows > 0).then_some(report))
    }
}

impl<S: ScoredSymbol> ReportRows for ScoredRows<'_, S> {
    fn n_classes(&self) -> usize {
        self.n_classes
    }

    fn len(&self) -> usize {
        self.classes
            .0
            .iter()
            .zip(self.probabilities)
            .map(|((start, classes), scores)| {
                classes
                    .iter()
                    .enumerate()
                    .filter(|&(offset, &class)| class != NO_CLASS && scores.scored(start + offset))
                    .count()
            })
            .sum()
    }

    fn visit<F: FnMut(ReportRow<'_>)>(&self, mut visit: F) {
        let k = self.n_classes;
        let mut probabilities = vec![0f64; k];
        let mut logits = vec![0f64; k];
        for (symbol, (start, classes)) in self.classes.0.iter().enumerate() {
            let scores = &self.probabilities[symbol];
            for (offset, &class) in classes.iter().enumerate() {
                let row = start + offset;
                if class == NO_CLASS || !scores.scored(row) {
                    continue;
                }
                let raw = &scores.probabilities()[row * k..(row + 1) * k];
                for (p, &value) in probabilities.iter_mut().zip(raw) {
                    *p = f64::from(value);
                }
                let sum: f64 = probabilities.iter().sum();
                if sum > 0.0 {
                    probabilities.iter_mut().for_each(|p| *p /= sum);
                }
                let logits = self.logits.map(|all| {
                    let raw = all[symbol].row(row);
                    for (z, &value) in logits.iter_mut().zip(raw) {
                        *z = f64::from(value);
                    }
                    logits.as_slice()
                });
                visit(ReportRow {
                    probabilities: &probabilities,
                    label: usize::from(class),
                    logits,
                    consensus: self
                        .consensus
                        .and_then(|consensus| consensus[symbol].consensus(row)),
                });
            }
        }
    }
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
