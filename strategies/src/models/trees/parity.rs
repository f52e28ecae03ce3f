//! The native evaluator against ONNX Runtime on the committed tree models: equal
//! probabilities (≤ 1e-6) and the same argmax on every one of a million random rows,
//! a tenth of them holding values exactly at, and one float32 step either side of,
//! the models' own thresholds; and against the training libraries on their own files
//! (XGBoost ≤ 1e-6, LightGBM ≤ 1e-12: the same leaves).

use std::path::PathBuf;

use ort::value::TensorRef;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::forest::Node;
use super::{TreeModel, TreeScratch};
use crate::models::bundle::OutputKind;
use crate::models::onnx_proto::decode_model;
use crate::models::runtime;

pub(crate) fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/models")
        .join(name)
}

/// Rows of standard normal values; in one row of ten, a few features take a threshold
/// of the model (or the next float32 above or below it).
pub(crate) fn random_rows(model: &TreeModel, n_rows: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let thresholds: Vec<(usize, f32)> = model
        .forest
        .trees
        .iter()
        .flat_map(|tree| &tree.nodes)
        .filter_map(|node| match node {
            Node::Split(split) => Some((split.feature as usize, split.threshold as f32)),
            Node::Leaf(_) => None,
        })
        .collect();
    let width = model.n_features();
    let mut rows = Vec::with_capacity(n_rows * width);
    for _ in 0..n_rows {
        let start = rows.len();
        rows.extend((0..width).map(|_| rng.sample::<f32, _>(rand_distr::StandardNormal)));
        if rng.gen_ratio(1, 10) && !thresholds.is_empty() {
            for _ in 0..4 {
                let (feature, threshold) = thresholds[rng.gen_range(0..thresholds.len())];
                let bits = threshold.to_bits();
                rows[start + feature] = match rng.gen_range(0..3) {
                    0 => threshold,
                    1 => f32::from_bits(bits.wrapping_add(1)),
                    _ => f32::from_bits(bits.wrapping_sub(1)),
                };
            }
        }
    }
    rows
}

/// ONNX Runtime's output `output` for `rows`, in batches of 65,536 rows.
pub(crate) fn onnxruntime_scores(
    onnx: &[u8],
    input: &str,
    output: &str,
    rows: &[f32],
    width: usize,
) -> Vec<f32> {
    let mut session = runtime()
        .expect("ONNX Runtime (run `make venv`)")
        .session(onnx)
        .unwrap();
    let mut out = Vec::new();
    for chunk in rows.chunks(65_536 * width) {
        let n = chunk.len() / width;
        let tensor = TensorRef::from_array_view(([n, width], chunk)).unwrap();
        let outputs = session.run(ort::inputs![input => tensor]).unwrap();
        let (_, values) = outputs[output].try_extract_tensor::<f32>().unwrap();
        out.extend_from_slice(values);
    }
    out
}

fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Compares the native scores with ONNX Runtime's on `n_rows` random rows, split over
/// the test threads.
fn assert_matches_onnxruntime(file: &str, n_rows: usize) {
    let bytes = std::fs::read(fixture(file)).unwrap();
    let proto = decode_model(&bytes).unwrap();
    let model = TreeModel::from_onnx(&proto, "input", "probabilities")
        .unwrap_or_else(|err| panic!("{file}: {err}"));
    let width = model.n_features();
    let classes = model.n_outputs();
    let chunk_rows = 131_072;
    let chunks = n_rows.div_ceil(chunk_rows);
    (0..chunks).into_par_iter().for_each(|chunk| {
        let rows = random_rows(
            &model,
            chunk_rows.min(n_rows - chunk * chunk_rows),
            chunk as u64,
        );
        let want = onnxruntime_scores(&bytes, "input", "probabilities", &rows, width);
        let mut got = vec![0f32; want.len()];
        model.score(&rows, &mut got, &mut TreeScratch::default());
        for (row, (g, w)) in got.chunks(classes).zip(want.chunks(classes)).enumerate() {
            let diff = g
                .iter()
                .zip(w)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                diff <= 1e-6 && argmax(g) == argmax(w),
                "{file} chunk {chunk} row {row}: native {g:?} vs onnxruntime {w:?}"
            );
        }
    });
}

#[test]
fn fixture_trees_equal_onnxruntime_on_a_million_rows() {
    for file in ["xgb3.onnx", "xgb2.onnx", "lgbm3.onnx"] {
        assert_matches_onnxruntime(file, 1_000_000);
    }
}

#[test]
fn bench_xgboost_equals_onnxruntime_on_a_million_rows() {
    assert_matches_onnxruntime("bench/xgb_model.onnx", 1_000_000);
}

#[test]
fn bench_lightgbm_equals_onnxruntime_on_a_million_rows() {
    assert_matches_onnxruntime("bench/lgb_model.onnx", 1_000_000);
}

/// The native evaluator of a training library's own file against that library's
/// `predict_proba` on the rows `make fixtures` wrote (`native/FILE.expected.json`):
/// random rows, rows at the model's thresholds and real rows.
fn assert_matches_library(file: &str, tolerance: f64) {
    let name = std::path::Path::new(file)
        .file_name()
        .unwrap()
        .to_string_lossy();
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("native/{name}.expected.json"))).unwrap(),
    )
    .unwrap();
    let inputs: Vec<Vec<f32>> = serde_json::from_value(expected["inputs"].clone()).unwrap();
    let outputs: Vec<Vec<f64>> = serde_json::from_value(expected["outputs"].clone()).unwrap();
    let bytes = std::fs::read(fixture(file)).unwrap();
    let model = if file.ends_with(".json") {
        TreeModel::from_xgboost_json(&bytes, OutputKind::Probabilities)
    } else {
        TreeModel::from_lightgbm_text(
            &String::from_utf8(bytes).unwrap(),
            OutputKind::Probabilities,
        )
    }
    .unwrap_or_else(|err| panic!("{file}: {err}"));
    let rows = inputs.concat();
    let mut got = vec![0f64; outputs.len() * model.n_outputs()];
    model.score_f64(&rows, &mut got, &mut TreeScratch::default());
    let mut worst = (0.0f64, 0);
    for (row, (g, w)) in got.chunks(model.n_outputs()).zip(&outputs).enumerate() {
        for (a, b) in g.iter().zip(w) {
            if (a - b).abs() > worst.0 {
                worst = ((a - b).abs(), row);
            }
        }
    }
    assert!(
        worst.0 <= tolerance,
        "{file}: max |native − library| {:e} at row {} > {tolerance:e}",
        worst.0,
        worst.1
    );
}

#[test]
fn xgboost_json_equals_xgboost() {
    for file in ["xgb3.json", "xgb2.json", "bench/xgb_model.json"] {
        assert_matches_library(file, 1e-6);
    }
}

#[test]
fn lightgbm_text_equals_lightgbm_leaf_for_leaf() {
    for file in ["lgbm3.txt", "bench/lgb_model.txt"] {
        assert_matches_library(file, 1e-12);
    }
}

/// The AVX2 compilation of the kernels gives the portable one's bits, on every layout:
/// select trees (xgb3, lgbm3), heap walks (bench XGBoost), leaf masks (bench LightGBM),
/// and the node walk (a 100-leaf LightGBM tree made by widening the bench model).
#[test]
fn kernels_agree_bit_for_bit() {
    let mut models: Vec<(String, TreeModel)> = Vec::new();
    for file in ["xgb3.json", "bench/xgb_model.json"] {
        let bytes = std::fs::read(fixture(file)).unwrap();
        models.push((
            file.into(),
            TreeModel::from_xgboost_json(&bytes, OutputKind::Probabilities).unwrap(),
        ));
    }
    for file in ["lgbm3.txt", "bench/lgb_model.txt"] {
        let text = std::fs::read_to_string(fixture(file)).unwrap();
        models.push((
            file.into(),
            TreeModel::from_lightgbm_text(&text, OutputKind::Logits).unwrap(),
        ));
    }
    let mut deep = models.last().unwrap().1.clone();
    deep.forest.trees.truncate(3);
    deep.forest.trees[0] = widened(&deep.forest.trees[0], 100);
    deep.layout = super::layout::Layout::new(&deep.forest);
    models.push(("100-leaf tree".into(), deep));
    for (name, mut model) in models {
        let rows = random_rows(&model, 4096, 7);
        let mut portable = vec![0f64; 4096 * model.n_outputs()];
        let mut detected = portable.clone();
        model.kernel = gauntlet_kernels::trees::Kernel::portable();
        model.score_f64(&rows, &mut portable, &mut TreeScratch::default());
        model.kernel = gauntlet_kernels::trees::Kernel::detect();
        model.score_f64(&rows, &mut detected, &mut TreeScratch::default());
        let same = portable
            .iter()
            .zip(&detected)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{name}: the kernels differ");
    }
}

/// `tree` with its first leaf replaced by a chain of splits, so it has `leaves` leaves
/// (more than the leaf masks hold).
fn widened(tree: &super::forest::Tree, leaves: usize) -> super::forest::Tree {
    use super::forest::{Split, Test};
    let mut nodes = tree.nodes.clone();
    let first_leaf = nodes
        .iter()
        .position(|n| matches!(n, Node::Leaf(_)))
        .unwrap();
    let Node::Leaf(weights) = nodes[first_leaf].clone() else {
        unreachable!()
    };
    let mut count = nodes.iter().filter(|n| matches!(n, Node::Leaf(_))).count();
    let mut at = first_leaf;
    while count < leaves {
        let (yes, no) = (nodes.len() as u32, nodes.len() as u32 + 1);
        nodes[at] = Node::Split(Split {
            feature: (count % 31) as u32,
            test: Test::Le,
            threshold: (count as f64 / leaves as f64) - 0.5,
            yes,
            no,
            nan_yes: false,
            zero_is_missing: false,
        });
        let weight = weights[0].1 + count as f64;
        nodes.push(Node::Leaf(vec![(weights[0].0, weight)]));
        nodes.push(Node::Leaf(vec![(weights[0].0, -weight)]));
        at = yes as usize;
        count += 1;
    }
    super::forest::Tree { nodes }
}
