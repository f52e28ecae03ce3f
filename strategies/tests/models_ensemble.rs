//! The ensemble on real fixtures: loading, the drop policy, and the combined output.

mod models_support;

use gauntlet_strategies::ensemble::{
    CombineMethod, Ensemble, EnsembleConfig, EnsembleError, MemberConfig, OnModelError,
};
use gauntlet_strategies::models::{FeatureRows, PreflightOptions};
use models_support::{expected, fixtures, python_expected};

fn member(name: &str, path: &str, weight: f64) -> MemberConfig {
    MemberConfig {
        name: Some(name.to_string()),
        bundle: fixtures().join(path),
        weight,
    }
}

fn config(on_model_error: OnModelError, members: Vec<MemberConfig>) -> EnsembleConfig {
    EnsembleConfig {
        method: CombineMethod::Mean,
        on_model_error,
        members,
    }
}

#[test]
fn three_member_mean_is_the_weighted_mean_of_members() {
    let config = config(
        OnModelError::Fail,
        vec![
            member("xgb", "xgb3", 2.0),
            member("lgbm", "lgbm3", 1.0),
            member("mlp", "mlp3", 1.0),
        ],
    );
    let mut ensemble = Ensemble::load(&config, &expected(), &PreflightOptions::default()).unwrap();
    assert_eq!(ensemble.dropped_notice(), None);
    assert_eq!(ensemble.class_labels(), ["down", "flat", "up"]);
    ensemble.ensure_workers(2).unwrap();
    let python = python_expected("xgb3");
    let ready = vec![true; python.n_rows];
    let rows = FeatureRows::new(&python.inputs, 31, &ready).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let out = ensemble.score_symbols(&[rows, rows], &pool, 16).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0], out[1]);
    let predictions = &out[0];
    for row in 0..python.n_rows {
        let ensemble_row = &predictions.ensemble.probabilities[row * 3..row * 3 + 3];
        for (class, got) in ensemble_row.iter().enumerate() {
            let want = (2.0 * f64::from(predictions.members[0].row(row)[class])
                + f64::from(predictions.members[1].row(row)[class])
                + f64::from(predictions.members[2].row(row)[class]))
                / 4.0;
            assert!((f64::from(*got) - want).abs() < 1e-6);
        }
        let k = predictions.ensemble.predicted[row].unwrap() as usize;
        assert_eq!(predictions.ensemble.confidence[row], ensemble_row[k]);
        let agreeing = predictions
            .members
            .iter()
            .filter(|m| {
                let p = m.row(row);
                (0..3).all(|c| p[c] <= p[k]) && (0..k).all(|c| p[c] < p[k])
            })
            .count();
        assert_eq!(predictions.ensemble.consensus[row], agreeing as f32 / 3.0);
    }
}

#[test]
fn sequence_member_warm_up_leaves_early_rows_unscored() {
    let config = config(
        OnModelError::Fail,
        vec![member("mlp", "mlp3", 1.0), member("lstm", "lstm3", 1.0)],
    );
    let ensemble = Ensemble::load(&config, &expected(), &PreflightOptions::default()).unwrap();
    let python = python_expected("lstm3");
    let ready = vec![true; python.n_rows];
    let rows = FeatureRows::new(&python.inputs, 31, &ready).unwrap();
    let out = ensemble.score(0, &rows, 64).unwrap();
    assert!(out.members[0].scored.iter().all(|s| *s));
    assert_eq!(out.ensemble.scored.iter().position(|s| *s), Some(31));
    assert_eq!(
        out.ensemble.scored.iter().filter(|s| **s).count(),
        python.n_rows - 31
    );
}

#[test]
fn broken_member_fails_the_run_by_default() {
    let config = config(
        OnModelError::Fail,
        vec![
            member("mlp", "mlp3", 1.0),
            member("wide", "broken/wide50", 1.0),
        ],
    );
    let err = Ensemble::load(&config, &expected(), &PreflightOptions::default()).unwrap_err();
    let EnsembleError::Member { name, .. } = &err else {
        panic!("expected a member error, got {err}");
    };
    assert_eq!(name, "wide");
    assert!(err
        .to_string()
        .contains("model input width 50 != feature set core31 width 31"));
}

#[test]
fn dropped_members_are_recorded_for_the_first_report_line() {
    let config = config(
        OnModelError::Drop,
        vec![
            member("mlp", "mlp3", 1.0),
            member("pickled", "broken/pickle", 1.0),
            member("xgb", "xgb3", 1.0),
        ],
    );
    let ensemble = Ensemble::load(&config, &expected(), &PreflightOptions::default()).unwrap();
    assert_eq!(ensemble.members().len(), 2);
    assert_eq!(ensemble.dropped().len(), 1);
    assert_eq!(ensemble.dropped()[0].name, "pickled");
    let notice = ensemble.dropped_notice().unwrap();
    assert!(
        notice.starts_with(
            "WARNING: 1 of 3 ensemble members were dropped (on_model_error = \"drop\"): pickled ("
        ),
        "{notice}"
    );
    assert!(
        notice.contains("is not a valid ONNX model: it looks like a Python pickle"),
        "{notice}"
    );
}

#[test]
fn all_members_dropped_is_an_error() {
    let config = config(
        OnModelError::Drop,
        vec![member("twoclass", "broken/twoclass", 1.0)],
    );
    let err = Ensemble::load(&config, &expected(), &PreflightOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "every ensemble member was dropped: twoclass (class count 2 (down/up) != model output width 3)"
    );
}

#[test]
fn members_must_share_class_labels() {
    let config = config(
        OnModelError::Fail,
        vec![member("three", "xgb3", 1.0), member("two", "xgb2", 1.0)],
    );
    let err = Ensemble::load(&config, &expected(), &PreflightOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "ensemble members disagree on class labels: three has [\"down\", \"flat\", \"up\"]; two has [\"down\", \"up\"]"
    );
}
