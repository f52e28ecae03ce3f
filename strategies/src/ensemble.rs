//! The model ensemble: weighted members combined per row by `mean` or `vote`.
//!
//! For a row scored by every member m (weights w_m > 0, W = Σ w_m, classes c):
//! - `mean`: `p_c = Σ_m w_m p_{m,c} / W`;
//! - `vote`: each member votes for its argmax class `a_m`; `p_c = Σ_{m: a_m = c} w_m / W`;
//! - predicted class `k = argmax_c p_c` (ties: the lowest class index);
//! - confidence `= p_k`;
//! - consensus `= |{m : a_m = k}| / M` (unweighted share of members agreeing).
//!
//! A row is scored by the ensemble only if every member scored it (a sequence member's
//! longer warm-up leaves the first rows unscored). Members that cannot be loaded or
//! fail preflight stop the run unless `on_model_error = "drop"`; dropped members are
//! recorded ([`Ensemble::dropped_notice`] is the report's first line).

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Deserialize;

use crate::models::{
    check_bundle, CheckedModel, ExpectedFeatures, FeatureRows, MemberScores, PreflightError,
    PreflightOptions, ScoreError,
};

/// `[ensemble]` configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleConfig {
    /// How member probabilities are combined (default `mean`).
    #[serde(default)]
    pub method: CombineMethod,
    /// What a member that cannot load does to the run (default `fail`).
    #[serde(default)]
    pub on_model_error: OnModelError,
    pub members: Vec<MemberConfig>,
}

/// One `[[ensemble.members]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberConfig {
    /// Member name in reports (default: the bundle's name).
    #[serde(default)]
    pub name: Option<String>,
    /// `NAME.bundle.json`, `NAME.onnx` or `NAME`.
    pub bundle: PathBuf,
    /// Weight w_m > 0 (default 1).
    #[serde(default = "one")]
    pub weight: f64,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CombineMethod {
    #[default]
    Mean,
    Vote,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnModelError {
    #[default]
    Fail,
    Drop,
}

/// A member left out of the run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedMember {
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnsembleError {
    #[error("invalid ensemble config:\n  - {}", .0.join("\n  - "))]
    Config(Vec<String>),
    #[error("ensemble member {name}: {source}")]
    Member {
        name: String,
        #[source]
        source: PreflightError,
    },
    #[error("every ensemble member was dropped: {}", describe_dropped(.0))]
    AllDropped(Vec<DroppedMember>),
    #[error("ensemble members disagree on class labels: {0}")]
    ClassLabels(String),
    #[error("ensemble combine: {0}")]
    Combine(String),
    #[error(transparent)]
    Score(#[from] ScoreError),
}

fn describe_dropped(dropped: &[DroppedMember]) -> String {
    dropped
        .iter()
        .map(|member| format!("{} ({})", member.name, member.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The ensemble's per-row output for one symbol (row-major `[n_rows, n_classes]`;
/// unscored rows have NaN probabilities/confidence/consensus and `predicted = None`).
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleScores {
    pub n_classes: usize,
    pub probabilities: Vec<f32>,
    pub predicted: Vec<Option<u8>>,
    pub confidence: Vec<f32>,
    pub consensus: Vec<f32>,
    pub scored: Vec<bool>,
}

/// Index of the largest value; ties go to the lowest index.
fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (index, &value) in values.iter().enumerate().skip(1) {
        if value > values[best] {
            best = index;
        }
    }
    best
}

/// Combines members' scores of one symbol (see the module docs for the formulas).
/// `weights[m]` belongs to `members[m]`; all members must have the same rows and
/// classes.
pub fn combine(
    method: CombineMethod,
    weights: &[f64],
    members: &[&MemberScores],
) -> Result<EnsembleScores, EnsembleError> {
    let Some(first) = members.first() else {
        return Err(EnsembleError::Combine("no members".into()));
    };
    if weights.len() != members.len() {
        return Err(EnsembleError::Combine(format!(
            "{} weights for {} members",
            weights.len(),
            members.len()
        )));
    }
    if let Some(bad) = weights.iter().find(|w| !w.is_finite() || **w <= 0.0) {
        return Err(EnsembleError::Combine(format!(
            "weight {bad} is not finite and > 0"
        )));
    }
    let (n_rows, n_classes) = (first.n_rows(), first.n_classes);
    if n_classes == 0 || n_classes > usize::from(u8::MAX) {
        return Err(EnsembleError::Combine(format!("{n_classes} classes")));
    }
    if let Some(member) = members
        .iter()
        .find(|m| m.n_rows() != n_rows || m.n_classes != n_classes)
    {
        return Err(EnsembleError::Combine(format!(
            "member scores of shape [{}, {}] next to [{n_rows}, {n_classes}]",
            member.n_rows(),
            member.n_classes
        )));
    }
    let total_weight: f64 = weights.iter().sum();
    let mut out = EnsembleScores {
        n_classes,
        probabilities: vec![f32::NAN; n_rows * n_classes],
        predicted: vec![None; n_rows],
        confidence: vec![f32::NAN; n_rows],
        consensus: vec![f32::NAN; n_rows],
        scored: vec![false; n_rows],
    };
    let mut sums = vec![0f64; n_classes];
    let mut row_probabilities = vec![0f32; n_classes];
    for row in 0..n_rows {
        if !members.iter().all(|m| m.scored[row]) {
            continue;
        }
        sums.fill(0.0);
        for (member, &weight) in members.iter().zip(weights) {
            let p = member.row(row);
            match method {
                CombineMethod::Mean => {
                    for (sum, &value) in sums.iter_mut().zip(p) {
                        *sum += weight * f64::from(value);
                    }
                }
                CombineMethod::Vote => sums[argmax(p)] += weight,
            }
        }
        for (slot, sum) in row_probabilities.iter_mut().zip(&sums) {
            *slot = (sum / total_weight) as f32;
        }
        let predicted = argmax(&row_probabilities);
        let agreeing = members
            .iter()
            .filter(|m| argmax(m.row(row)) == predicted)
            .count();
        out.probabilities[row * n_classes..(row + 1) * n_classes]
            .copy_from_slice(&row_probabilities);
        out.predicted[row] = Some(predicted as u8);
        out.confidence[row] = row_probabilities[predicted];
        out.consensus[row] = agreeing as f32 / members.len() as f32;
        out.scored[row] = true;
    }
    Ok(out)
}

/// One ensemble member that passed preflight.
#[derive(Debug)]
pub struct EnsembleMember {
    pub name: String,
    pub weight: f64,
    pub model: CheckedModel,
}

/// Per symbol: each member's scores (in member order) and the combined scores.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolPredictions {
    pub members: Vec<MemberScores>,
    pub ensemble: EnsembleScores,
}

/// Loaded, preflighted members plus the combination rule.
#[derive(Debug)]
pub struct Ensemble {
    method: CombineMethod,
    members: Vec<EnsembleMember>,
    dropped: Vec<DroppedMember>,
    class_labels: Vec<String>,
}

impl EnsembleConfig {
    /// Every problem in the config (not just the first).
    pub fn validate(&self) -> Result<(), EnsembleError> {
        let mut problems = Vec::new();
        if self.members.is_empty() {
            problems.push("members: at least one member is required".to_string());
        }
        let mut names = BTreeSet::new();
        for (index, member) in self.members.iter().enumerate() {
            if !member.weight.is_finite() || member.weight <= 0.0 {
                problems.push(format!(
                    "members[{index}].weight = {} must be finite and > 0",
                    member.weight
                ));
            }
            if let Some(name) = &member.name {
                if !names.insert(name.clone()) {
                    problems.push(format!("members[{index}].name = {name:?} is used twice"));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(EnsembleError::Config(problems))
        }
    }
}

impl Ensemble {
    /// Loads and preflights every member. With `on_model_error = "drop"` a failing
    /// member is recorded and skipped (at least one must remain); with `"fail"` the
    /// first failure is returned.
    pub fn load(
        config: &EnsembleConfig,
        expected: &ExpectedFeatures,
        options: &PreflightOptions,
    ) -> Result<Self, EnsembleError> {
        config.validate()?;
        let mut members = Vec::new();
        let mut dropped = Vec::new();
        for member in &config.members {
            let fallback_name = member
                .bundle
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default();
            match check_bundle(&member.bundle, expected, options) {
                Ok(model) => members.push(EnsembleMember {
                    name: member
                        .name
                        .clone()
                        .unwrap_or_else(|| model.name().to_string()),
                    weight: member.weight,
                    model,
                }),
                Err(err) => {
                    let name = member.name.clone().unwrap_or(fallback_name);
                    match config.on_model_error {
                        OnModelError::Fail => {
                            return Err(EnsembleError::Member { name, source: err })
                        }
                        OnModelError::Drop => dropped.push(DroppedMember {
                            name,
                            reason: err.failures().join("; "),
                        }),
                    }
                }
            }
        }
        Self::from_members(config.method, members, dropped)
    }

    /// Builds an ensemble from already checked members (all must share class labels).
    pub fn from_members(
        method: CombineMethod,
        members: Vec<EnsembleMember>,
        dropped: Vec<DroppedMember>,
    ) -> Result<Self, EnsembleError> {
        let Some(first) = members.first() else {
            return Err(EnsembleError::AllDropped(dropped));
        };
        let class_labels = first.model.bundle().output.class_labels.clone();
        let mismatched: Vec<String> = members
            .iter()
            .filter(|m| m.model.bundle().output.class_labels != class_labels)
            .map(|m| format!("{} has {:?}", m.name, m.model.bundle().output.class_labels))
            .collect();
        if !mismatched.is_empty() {
            return Err(EnsembleError::ClassLabels(format!(
                "{} has {:?}; {}",
                first.name,
                class_labels,
                mismatched.join("; ")
            )));
        }
        Ok(Self {
            method,
            members,
            dropped,
            class_labels,
        })
    }

    pub fn members(&self) -> &[EnsembleMember] {
        &self.members
    }

    pub fn dropped(&self) -> &[DroppedMember] {
        &self.dropped
    }

    pub fn class_labels(&self) -> &[String] {
        &self.class_labels
    }

    pub fn method(&self) -> CombineMethod {
        self.method
    }

    /// The line every report of this run must start with when members were dropped.
    pub fn dropped_notice(&self) -> Option<String> {
        (!self.dropped.is_empty()).then(|| {
            format!(
                "WARNING: {} of {} ensemble members were dropped (on_model_error = \"drop\"): {}",
                self.dropped.len(),
                self.dropped.len() + self.members.len(),
                describe_dropped(&self.dropped)
            )
        })
    }

    /// Creates one session per worker for every member.
    pub fn ensure_workers(&mut self, workers: usize) -> Result<(), EnsembleError> {
        for member in &mut self.members {
            member.model.ensure_workers(workers)?;
        }
        Ok(())
    }

    /// Scores one symbol with every member on worker `worker`, then combines.
    pub fn score(
        &self,
        worker: usize,
        rows: &FeatureRows<'_>,
        batch_size: usize,
    ) -> Result<SymbolPredictions, EnsembleError> {
        let members = self
            .members
            .iter()
            .map(|member| member.model.score(worker, rows, batch_size))
            .collect::<Result<Vec<_>, _>>()?;
        let weights: Vec<f64> = self.members.iter().map(|m| m.weight).collect();
        let refs: Vec<&MemberScores> = members.iter().collect();
        let ensemble = combine(self.method, &weights, &refs)?;
        Ok(SymbolPredictions { members, ensemble })
    }

    /// Scores every symbol in parallel on `pool` (results in `symbols` order,
    /// identical for any thread count).
    pub fn score_symbols(
        &self,
        symbols: &[FeatureRows<'_>],
        pool: &rayon::ThreadPool,
        batch_size: usize,
    ) -> Result<Vec<SymbolPredictions>, EnsembleError> {
        use rayon::prelude::*;
        pool.install(|| {
            symbols
                .par_iter()
                .map(|rows| {
                    self.score(rayon::current_thread_index().unwrap_or(0), rows, batch_size)
                })
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::InputDistribution;

    fn scores(rows: &[Option<[f32; 3]>]) -> MemberScores {
        MemberScores {
            n_classes: 3,
            probabilities: rows
                .iter()
                .flat_map(|row| row.unwrap_or([f32::NAN; 3]))
                .collect(),
            scored: rows.iter().map(Option::is_some).collect(),
            input_distribution: InputDistribution::default(),
        }
    }

    #[test]
    fn mean_is_the_weighted_mean() {
        let a = scores(&[Some([0.6, 0.3, 0.1])]);
        let b = scores(&[Some([0.0, 0.2, 0.8])]);
        let out = combine(CombineMethod::Mean, &[3.0, 1.0], &[&a, &b]).unwrap();
        // (3*0.6 + 0)/4 = 0.45, (0.9+0.2)/4 = 0.275, (0.3+0.8)/4 = 0.275
        let expected = [0.45f32, 0.275, 0.275];
        for (got, want) in out.probabilities.iter().zip(expected) {
            assert!((got - want).abs() < 1e-7, "{got} vs {want}");
        }
        assert_eq!(out.predicted, vec![Some(0)]);
        assert!((out.confidence[0] - 0.45).abs() < 1e-7);
        assert_eq!(out.consensus, vec![0.5]);
    }

    #[test]
    fn vote_counts_weighted_argmax_votes() {
        let a = scores(&[Some([0.1, 0.2, 0.7])]);
        let b = scores(&[Some([0.5, 0.4, 0.1])]);
        let c = scores(&[Some([0.2, 0.1, 0.7])]);
        let out = combine(CombineMethod::Vote, &[1.0, 2.5, 1.0], &[&a, &b, &c]).unwrap();
        // votes: up 2.0, down 2.5 of 4.5
        assert!((out.probabilities[0] - 2.5 / 4.5).abs() < 1e-7);
        assert_eq!(out.probabilities[1], 0.0);
        assert!((out.probabilities[2] - 2.0 / 4.5).abs() < 1e-7);
        assert_eq!(out.predicted, vec![Some(0)]);
        assert!((out.consensus[0] - 1.0 / 3.0).abs() < 1e-7);
    }

    #[test]
    fn ties_go_to_the_lowest_class() {
        let a = scores(&[Some([0.4, 0.4, 0.2])]);
        let out = combine(CombineMethod::Mean, &[1.0], &[&a]).unwrap();
        assert_eq!(out.predicted, vec![Some(0)]);
        assert_eq!(out.consensus, vec![1.0]);
    }

    #[test]
    fn a_row_needs_every_member() {
        let a = scores(&[Some([1.0, 0.0, 0.0]), Some([0.0, 1.0, 0.0])]);
        let b = scores(&[None, Some([0.0, 0.0, 1.0])]);
        let out = combine(CombineMethod::Mean, &[1.0, 1.0], &[&a, &b]).unwrap();
        assert_eq!(out.scored, vec![false, true]);
        assert_eq!(out.predicted[0], None);
        assert!(out.confidence[0].is_nan());
        // 0.5/0.5 tie between flat and up goes to flat
        assert_eq!(out.predicted[1], Some(1));
    }

    #[test]
    fn shapes_and_weights_are_checked() {
        let a = scores(&[Some([1.0, 0.0, 0.0])]);
        let b = scores(&[Some([1.0, 0.0, 0.0]), None]);
        assert!(combine(CombineMethod::Mean, &[1.0, 1.0], &[&a, &b]).is_err());
        assert!(combine(CombineMethod::Mean, &[0.0], &[&a]).is_err());
        assert!(combine(CombineMethod::Mean, &[], &[]).is_err());
    }

    #[test]
    fn config_reports_every_problem() {
        let config: EnsembleConfig = toml_like(
            r#"{"members":[{"bundle":"a","weight":0},{"name":"x","bundle":"b"},{"name":"x","bundle":"c","weight":-1}]}"#,
        );
        assert_eq!(config.method, CombineMethod::Mean);
        assert_eq!(config.on_model_error, OnModelError::Fail);
        let EnsembleError::Config(problems) = config.validate().unwrap_err() else {
            panic!("expected a config error");
        };
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("members[0].weight = 0"));
        assert!(problems[2].contains("\"x\" is used twice"));
    }

    #[test]
    fn unknown_config_keys_are_rejected() {
        let err =
            serde_json::from_str::<EnsembleConfig>(r#"{"members":[],"on_model_eror":"drop"}"#)
                .unwrap_err()
                .to_string();
        assert!(err.contains("on_model_eror"), "{err}");
    }

    fn toml_like(json: &str) -> EnsembleConfig {
        serde_json::from_str(json).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn combined_probabilities_are_a_distribution(
            raw in proptest::collection::vec((0.01f32..1.0, 0.01f32..1.0, 0.01f32..1.0, 0.1f64..5.0), 1..5),
            vote in proptest::bool::ANY,
        ) {
            let members: Vec<MemberScores> = raw
                .iter()
                .map(|(a, b, c, _)| {
                    let s = a + b + c;
                    scores(&[Some([a / s, b / s, c / s])])
                })
                .collect();
            let weights: Vec<f64> = raw.iter().map(|r| r.3).collect();
            let refs: Vec<&MemberScores> = members.iter().collect();
            let method = if vote { CombineMethod::Vote } else { CombineMethod::Mean };
            let out = combine(method, &weights, &refs).unwrap();
            let sum: f32 = out.probabilities.iter().sum();
            proptest::prop_assert!((sum - 1.0).abs() < 1e-5);
            let k = out.predicted[0].unwrap() as usize;
            proptest::prop_assert!(out.probabilities.iter().all(|&p| p <= out.probabilities[k]));
            proptest::prop_assert!(out.consensus[0] > 0.0 || method == CombineMethod::Mean);
            proptest::prop_assert!((0.0..=1.0).contains(&out.consensus[0]));
        }
    }
}
