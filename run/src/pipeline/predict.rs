//! The ensemble's predictions: every member preflighted, read from the prediction cache
//! or scored chunk by chunk of symbols, its bundle's temperature applied, and the
//! members combined per symbol.

use anyhow::{bail, Context};
use gauntlet_datasets::CandleSeries;
use gauntlet_reports::render::Notices;
use gauntlet_strategies::ensemble::{combine, Ensemble, EnsembleScores};
use gauntlet_strategies::features::{compute_universe, FeatureSet};
use gauntlet_strategies::models::{
    calibrate, CacheError, EngineChoice, ExpectedFeatures, FeatureRows, InputDistribution,
    MemberScores, OutputKind, PredictionCache, PredictionKey,
};
use rayon::prelude::*;

use super::preflight;
use crate::config::ModelsConfig;
use crate::timings::StageTimings;

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
pub(super) fn predict(
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
        let progress = timings.count("symbols", series.len());
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
            progress.advance(chunk.len() as u64);
        }
        timings.end_count();
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
            InputDistribution::merge(&mut distribution, &s.input_distribution);
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

#[cfg(test)]
mod tests {
    use gauntlet_strategies::models::InputDistribution;

    use super::*;

    fn scores(raw: Vec<f32>, scored: Vec<bool>) -> MemberScores {
        MemberScores {
            n_classes: 2,
            probabilities: raw,
            scored,
            input_distribution: InputDistribution::default(),
        }
    }

    #[test]
    fn temperature_turns_logits_into_probabilities_and_skips_unscored_rows() {
        let raw = scores(
            vec![0.0, 0.0, f32::NAN, f32::NAN, 2.0, 0.0],
            vec![true, false, true],
        );
        let out = apply_temperature(raw, OutputKind::Logits, 1.0).unwrap();
        assert_eq!(out.row(0), [0.5, 0.5]);
        assert!(out.row(1).iter().all(|p| p.is_nan()));
        let e2 = 2f64.exp();
        assert!((f64::from(out.row(2)[0]) - e2 / (e2 + 1.0)).abs() < 1e-6);
        // Probabilities at temperature 1 stay as they are.
        let raw = scores(vec![0.3, 0.7], vec![true]);
        let out = apply_temperature(raw, OutputKind::Probabilities, 1.0).unwrap();
        assert_eq!(out.row(0), [0.3, 0.7]);
    }

    #[test]
    fn an_invalid_row_is_an_error_naming_it() {
        let raw = scores(vec![0.5, 0.5, -0.1, 1.1], vec![true, true]);
        let err = apply_temperature(raw, OutputKind::Probabilities, 1.0).unwrap_err();
        assert!(err.to_string().starts_with("row 1 holds invalid"), "{err}");
    }
}
