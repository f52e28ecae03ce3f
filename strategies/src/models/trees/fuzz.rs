//! Model files the native evaluator reads, damaged: arbitrary bytes and random mutations
//! of the committed fixtures (XGBoost JSON, LightGBM text, ONNX tree ensembles) are read
//! to a model or an error, never a panic — and a damaged file that still reads scores a
//! row without one.

use std::path::PathBuf;

use proptest::prelude::*;

use super::{TreeModel, TreeScratch};
use crate::models::onnx_proto::{decode_model, OnnxFileInfo};
use crate::models::OutputKind;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/models")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// `bytes` with some bytes overwritten and its tail maybe cut.
fn mutated(name: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let original = fixture(name);
    let len = original.len();
    (
        prop::collection::vec((0..len, any::<u8>()), 1..8),
        prop_oneof![3 => Just(len), 1 => 0..len],
    )
        .prop_map(move |(edits, keep)| {
            let mut bytes = original.clone();
            for (at, byte) in edits {
                bytes[at] = byte;
            }
            bytes.truncate(keep);
            bytes
        })
}

/// Scores one row of zeros: a damaged model that reads must not panic when used.
fn score_one_row(model: &TreeModel) {
    let row = vec![0.0f32; model.n_features()];
    let mut out = vec![0.0f32; model.n_outputs()];
    model.score(&row, &mut out, &mut TreeScratch::default());
}

fn read_onnx(bytes: &[u8]) {
    let Ok(proto) = decode_model(bytes) else {
        return;
    };
    let info = OnnxFileInfo::of(&proto);
    let (Some(input), Some(output)) = (info.inputs.first(), info.outputs.last()) else {
        return;
    };
    if let Ok(model) = TreeModel::from_onnx(&proto, &input.name, &output.name) {
        score_one_row(&model);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn damaged_xgboost_json_never_panics(bytes in mutated("xgb3.json")) {
        if let Ok(model) = TreeModel::from_xgboost_json(&bytes, OutputKind::Probabilities) {
            score_one_row(&model);
        }
    }

    #[test]
    fn damaged_lightgbm_text_never_panics(bytes in mutated("lgbm3.txt")) {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(model) = TreeModel::from_lightgbm_text(&text, OutputKind::Probabilities) {
            score_one_row(&model);
        }
    }

    #[test]
    fn damaged_onnx_trees_never_panic(
        bytes in prop_oneof![mutated("xgb3.onnx"), mutated("lgbm3.onnx")],
    ) {
        read_onnx(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        read_onnx(&bytes);
        let _ = TreeModel::from_xgboost_json(&bytes, OutputKind::Logits);
        let _ = TreeModel::from_lightgbm_text(&String::from_utf8_lossy(&bytes), OutputKind::Logits);
    }
}
