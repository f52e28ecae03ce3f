//! Rust + ONNX Runtime outputs equal the committed Python-onnxruntime outputs
//! (≤ 1e-6) on every fixture, for any batch size and worker count; warm-up rows are
//! not scored; the input-distribution check flags unscaled inputs.

mod models_support;

use gauntlet_strategies::models::{
    check_bundle, CheckedModel, FeatureRows, MemberScores, PreflightOptions, ScoreError,
};
use models_support::{expected, fixtures, python_expected};

const MODELS: [&str; 5] = ["xgb3", "xgb2", "lgbm3", "mlp3", "lstm3"];

fn load(name: &str) -> CheckedModel {
    let path = fixtures().join(format!("{name}.bundle.json"));
    check_bundle(&path, &expected(), &PreflightOptions::default())
        .unwrap_or_else(|err| panic!("{name}: {err}"))
}

fn assert_matches_python(name: &str, scores: &MemberScores, ready: &[bool]) {
    let python = python_expected(name);
    let window = python.first_scored_row + 1;
    for row in 0..python.n_rows {
        let eligible = row + 1 >= window && ready[row + 1 - window..=row].iter().all(|r| *r);
        assert_eq!(scores.scored[row], eligible, "{name} row {row}");
        if !eligible {
            assert!(
                scores.row(row).iter().all(|p| p.is_nan()),
                "{name} row {row}"
            );
            continue;
        }
        let want = &python.probabilities[row - python.first_scored_row];
        for (class, (got, want)) in scores.row(row).iter().zip(want).enumerate() {
            assert!(
                (got - want).abs() <= 1e-6,
                "{name} row {row} class {class}: rust {got} vs python {want}"
            );
        }
    }
}

#[test]
fn outputs_equal_python_onnxruntime_for_every_batch_size() {
    for name in MODELS {
        let model = load(name);
        let python = python_expected(name);
        let ready = vec![true; python.n_rows];
        let rows = FeatureRows::new(&python.inputs, 31, &ready).unwrap();
        for batch in [1, 7, 256, 65536] {
            let scores = model.score(0, &rows, batch).unwrap();
            assert_matches_python(name, &scores, &ready);
            // xgb2 takes raw features (see unscaled_inputs_trigger_the_loud_warning).
            if name != "xgb2" {
                assert_eq!(scores.input_distribution.rows_extreme, 0, "{name}");
            }
        }
    }
}

#[test]
fn rows_in_warm_up_are_not_scored() {
    for name in ["mlp3", "lstm3"] {
        let model = load(name);
        let python = python_expected(name);
        let mut ready = vec![true; python.n_rows];
        ready[0] = false;
        ready[40] = false;
        // Warm-up rows may hold anything, NaN included.
        let mut inputs = python.inputs.clone();
        inputs[40 * 31..41 * 31].fill(f32::NAN);
        let rows = FeatureRows::new(&inputs, 31, &ready).unwrap();
        let scores = model.score(0, &rows, 16).unwrap();
        assert_matches_python(name, &scores, &ready);
        assert!(!scores.scored[40]);
    }
}

#[test]
fn nan_in_a_ready_row_is_an_error_naming_row_and_feature() {
    let model = load("mlp3");
    let python = python_expected("mlp3");
    let mut inputs = python.inputs.clone();
    inputs[5 * 31 + 20] = f32::NAN;
    let ready = vec![true; python.n_rows];
    let rows = FeatureRows::new(&inputs, 31, &ready).unwrap();
    let err = model.score(0, &rows, 64).unwrap_err();
    assert!(matches!(
        err,
        ScoreError::NonFinite {
            row: 5,
            feature: 20,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "model mlp3: row 5 is marked ready but feature 20 (rsi) is NaN"
    );
}

#[test]
fn results_do_not_depend_on_worker_count() {
    let mut model = load("lgbm3");
    let python = python_expected("lgbm3");
    let ready = vec![true; python.n_rows];
    let symbols: Vec<FeatureRows<'_>> = (0..6)
        .map(|_| FeatureRows::new(&python.inputs, 31, &ready).unwrap())
        .collect();
    model.ensure_workers(2).unwrap();
    assert_eq!(model.workers(), 2);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let a = model.score_symbols(&symbols, &one, 5).unwrap();
    let b = model.score_symbols(&symbols, &two, 4096).unwrap();
    assert_eq!(a.len(), 6);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.probabilities.len(), y.probabilities.len());
        assert!(x
            .probabilities
            .iter()
            .zip(&y.probabilities)
            .all(|(p, q)| p.to_bits() == q.to_bits()));
    }
}

#[test]
fn unscaled_inputs_trigger_the_loud_warning() {
    // xgb2 declares "scaling": "none": its z values are the raw features, so BTC-like
    // prices (~60,000) show up as |z| > 20 on every row.
    let model = load("xgb2");
    let python = python_expected("xgb2");
    let ready = vec![true; python.n_rows];
    let rows = FeatureRows::new(&python.inputs, 31, &ready).unwrap();
    let scores = model.score(0, &rows, 256).unwrap();
    let check = scores.input_distribution;
    assert_eq!(check.rows_checked, python.n_rows);
    assert_eq!(check.rows_extreme, python.n_rows);
    let warning = model.input_warning(&check).unwrap();
    assert!(
        warning.starts_with(&format!(
            "WARNING: model xgb2: {n} of {n} scored rows (100.00%) have a scaled input with |z| > 20",
            n = python.n_rows
        )),
        "{warning}"
    );
    assert!(warning.contains("missing or wrong scaler"), "{warning}");
    // The scaled models see nothing unusual.
    let mlp = load("mlp3");
    let scores = mlp.score(0, &rows, 256).unwrap();
    assert_eq!(mlp.input_warning(&scores.input_distribution), None);
}

#[test]
fn matrix_width_must_match_the_model() {
    let model = load("mlp3");
    let values = vec![0.0f32; 30 * 4];
    let ready = vec![true; 4];
    let rows = FeatureRows::new(&values, 30, &ready).unwrap();
    assert_eq!(
        model.score(0, &rows, 8).unwrap_err().to_string(),
        "model mlp3 expects 31 features per row but the matrix has 30"
    );
}
