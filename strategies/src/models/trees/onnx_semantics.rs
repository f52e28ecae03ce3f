//! Randomly built `TreeEnsembleClassifier` / `TreeEnsembleRegressor` graphs — every
//! node mode, missing-value tracks, several weights per leaf, leaves without weights,
//! base values, every post transform and aggregate function, the two-class cases,
//! opset 3 `_as_tensor` attributes, element-wise nodes after the ensemble — scored by
//! ONNX Runtime and natively on rows full of ties, zeros and NaN.
//! Where the native reader accepts a graph, the outputs agree (≤ 1e-6, or both NaN).

use prost::Message;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::parity::onnxruntime_scores;
use super::{TreeModel, TreeScratch};
use crate::models::onnx_proto::onnx::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto,
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};

const FEATURES: usize = 4;
/// Thresholds and input values share this set, so ties happen often.
const VALUES: [f32; 7] = [-1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 2.0];
const MODES: [&str; 6] = [
    "BRANCH_LEQ",
    "BRANCH_LT",
    "BRANCH_GTE",
    "BRANCH_GT",
    "BRANCH_EQ",
    "BRANCH_NEQ",
];
const TRANSFORMS: [&str; 5] = ["NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT"];

fn attribute(name: &str) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        ..Default::default()
    }
}

fn ints(name: &str, values: Vec<i64>) -> AttributeProto {
    AttributeProto {
        r#type: Some(AttributeType::Ints as i32),
        ints: values,
        ..attribute(name)
    }
}

fn floats(name: &str, values: Vec<f32>) -> AttributeProto {
    AttributeProto {
        r#type: Some(AttributeType::Floats as i32),
        floats: values,
        ..attribute(name)
    }
}

fn float_tensor(name: &str, values: Vec<f32>) -> AttributeProto {
    AttributeProto {
        r#type: Some(AttributeType::Tensor as i32),
        t: Some(TensorProto {
            dims: vec![values.len() as i64],
            data_type: Some(DataType::Float as i32),
            float_data: values,
            ..Default::default()
        }),
        ..attribute(&format!("{name}_as_tensor"))
    }
}

fn strings(name: &str, values: &[&str]) -> AttributeProto {
    AttributeProto {
        r#type: Some(AttributeType::Strings as i32),
        strings: values.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..attribute(name)
    }
}

fn string(name: &str, value: &str) -> AttributeProto {
    AttributeProto {
        r#type: Some(AttributeType::String as i32),
        s: Some(value.as_bytes().to_vec()),
        ..attribute(name)
    }
}

fn tensor_value(name: &str, element: DataType, dims: &[i64]) -> ValueInfoProto {
    let dim = |d: i64| tensor_shape_proto::Dimension {
        value: Some(if d < 0 {
            tensor_shape_proto::dimension::Value::DimParam("N".into())
        } else {
            tensor_shape_proto::dimension::Value::DimValue(d)
        }),
        ..Default::default()
    };
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(element as i32),
                shape: Some(TensorShapeProto {
                    dim: dims.iter().map(|&d| dim(d)).collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Which ensemble a case builds.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A classifier with this many classes.
    Classifier(usize),
    /// A regressor with this many targets.
    Regressor(usize),
}

/// A random ensemble as an ONNX model computing output "scores" from input "input".
fn random_model(rng: &mut ChaCha8Rng, kind: Kind) -> Vec<u8> {
    let n_outputs = match kind {
        Kind::Classifier(n) | Kind::Regressor(n) => n,
    };
    let as_tensor = rng.gen_ratio(1, 4);
    let same_mode = rng.gen_ratio(1, 3);
    let fixed_mode = MODES[rng.gen_range(0..MODES.len())];
    // Two-class classifiers weight one class (the binary case) or both on every leaf.
    let one_class = matches!(kind, Kind::Classifier(2)) && rng.gen_bool(0.5);
    let all_positive = rng.gen_ratio(1, 4);
    let (mut tree_ids, mut node_ids, mut features, mut modes) = (vec![], vec![], vec![], vec![]);
    let (mut yes, mut no, mut missing, mut thresholds) = (vec![], vec![], vec![], vec![]);
    let (mut w_tree, mut w_node, mut w_output, mut weights) = (vec![], vec![], vec![], vec![]);
    for tree in 0..rng.gen_range(1..6) {
        // Breadth-first: node i's children are the next free ids.
        let mut next = 1i64;
        let mut queue = vec![(0i64, 0usize)];
        while let Some((node, depth)) = queue.pop() {
            tree_ids.push(tree);
            node_ids.push(node);
            if depth < 3 && rng.gen_ratio(3, 4) {
                features.push(rng.gen_range(0..FEATURES) as i64);
                modes.push(if same_mode {
                    fixed_mode
                } else {
                    MODES[rng.gen_range(0..MODES.len())]
                });
                yes.push(next);
                no.push(next + 1);
                missing.push(i64::from(rng.gen_ratio(1, 3)));
                thresholds.push(VALUES[rng.gen_range(0..VALUES.len())]);
                queue.push((next, depth + 1));
                queue.push((next + 1, depth + 1));
                next += 2;
            } else {
                features.push(0);
                modes.push("LEAF");
                yes.push(0);
                no.push(0);
                missing.push(0);
                thresholds.push(0.0f32);
                let outputs: Vec<usize> = if one_class {
                    vec![0]
                } else if matches!(kind, Kind::Classifier(2)) {
                    vec![0, 1]
                } else {
                    // Classifier leaves weight at least one class (see onnx.rs); a
                    // regressor's may weight none.
                    let first = rng.gen_range(0..n_outputs);
                    (0..n_outputs)
                        .filter(|&o| {
                            (o == first && matches!(kind, Kind::Classifier(_))) || rng.gen_bool(0.6)
                        })
                        .collect()
                };
                for output in outputs {
                    w_tree.push(tree);
                    w_node.push(node);
                    w_output.push(output as i64);
                    let w = rng.gen_range(-2.0f32..2.0);
                    weights.push(if all_positive { w.abs() } else { w });
                }
            }
        }
    }
    let post = TRANSFORMS[rng.gen_range(0..TRANSFORMS.len())];
    let base_len = match rng.gen_range(0..3) {
        0 => 0,
        1 if matches!(kind, Kind::Classifier(2)) => 1,
        _ => n_outputs,
    };
    let base: Vec<f32> = (0..base_len).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let prefix = if matches!(kind, Kind::Classifier(_)) {
        "class"
    } else {
        "target"
    };
    let mut attributes = vec![
        ints("nodes_treeids", tree_ids),
        ints("nodes_nodeids", node_ids),
        ints("nodes_featureids", features),
        strings("nodes_modes", &modes),
        ints("nodes_truenodeids", yes),
        ints("nodes_falsenodeids", no),
        ints("nodes_missing_value_tracks_true", missing),
        ints(&format!("{prefix}_treeids"), w_tree),
        ints(&format!("{prefix}_nodeids"), w_node),
        ints(&format!("{prefix}_ids"), w_output),
        string("post_transform", post),
    ];
    let values = if as_tensor { float_tensor } else { floats };
    attributes.push(values("nodes_values", thresholds));
    attributes.push(values(&format!("{prefix}_weights"), weights));
    if !base.is_empty() {
        attributes.push(values("base_values", base));
    }
    let (op, outputs, graph_outputs) = match kind {
        Kind::Classifier(n) => {
            attributes.push(ints("classlabels_int64s", (0..n as i64).collect()));
            (
                "TreeEnsembleClassifier",
                vec!["label".to_string(), "raw".to_string()],
                vec![
                    tensor_value("label", DataType::Int64, &[-1]),
                    tensor_value("scores", DataType::Float, &[-1, n as i64]),
                ],
            )
        }
        Kind::Regressor(n) => {
            attributes.push(AttributeProto {
                r#type: Some(AttributeType::Int as i32),
                i: Some(n as i64),
                ..attribute("n_targets")
            });
            let aggregate = ["SUM", "AVERAGE", "MIN", "MAX"][rng.gen_range(0..4)];
            attributes.push(string("aggregate_function", aggregate));
            (
                "TreeEnsembleRegressor",
                vec!["raw".to_string()],
                vec![tensor_value("scores", DataType::Float, &[-1, n as i64])],
            )
        }
    };
    let mut nodes = vec![NodeProto {
        input: vec!["input".into()],
        output: outputs,
        op_type: Some(op.into()),
        domain: Some("ai.onnx.ml".into()),
        attribute: attributes,
        ..Default::default()
    }];
    // An element-wise tail: Mul by a constant, then maybe Add and Sigmoid.
    let mut initializer = vec![TensorProto {
        name: Some("scale".into()),
        data_type: Some(DataType::Float as i32),
        float_data: vec![rng.gen_range(0.5f32..2.0)],
        ..Default::default()
    }];
    nodes.push(NodeProto {
        input: vec!["raw".into(), "scale".into()],
        output: vec!["scaled".into()],
        op_type: Some("Mul".into()),
        ..Default::default()
    });
    let mut last = "scaled".to_string();
    if rng.gen_bool(0.5) {
        initializer.push(TensorProto {
            name: Some("shift".into()),
            dims: vec![n_outputs as i64],
            data_type: Some(DataType::Float as i32),
            float_data: (0..n_outputs)
                .map(|_| rng.gen_range(-1.0f32..1.0))
                .collect(),
            ..Default::default()
        });
        nodes.push(NodeProto {
            input: vec!["shift".into(), last.clone()],
            output: vec!["shifted".into()],
            op_type: Some("Add".into()),
            ..Default::default()
        });
        last = "shifted".into();
    }
    nodes.push(NodeProto {
        input: vec![last],
        output: vec!["scores".into()],
        op_type: Some(
            if rng.gen_bool(0.5) {
                "Sigmoid"
            } else {
                "Identity"
            }
            .into(),
        ),
        ..Default::default()
    });
    ModelProto {
        ir_version: Some(8),
        producer_name: Some("gauntlet onnx_semantics".into()),
        opset_import: vec![
            OperatorSetIdProto {
                domain: Some("ai.onnx.ml".into()),
                version: Some(if as_tensor { 3 } else { 1 }),
            },
            OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(15),
            },
        ],
        graph: Some(GraphProto {
            node: nodes,
            name: Some("random".into()),
            initializer,
            input: vec![tensor_value(
                "input",
                DataType::Float,
                &[-1, FEATURES as i64],
            )],
            output: graph_outputs,
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

/// Rows of ties, signed zeros and random values; with `nan`, NaN too (NaN sends a block
/// to the reference walk, so half the cases exercise the fast layouts).
fn random_rows(rng: &mut ChaCha8Rng, n: usize, nan: bool) -> Vec<f32> {
    (0..n * FEATURES)
        .map(|_| match rng.gen_range(0..10) {
            0 if nan => f32::NAN,
            0 => 0.0,
            1 => -0.0,
            2..=6 => VALUES[rng.gen_range(0..VALUES.len())],
            _ => rng.gen_range(-3.0f32..3.0),
        })
        .collect()
}

#[test]
fn random_ensembles_score_as_onnxruntime_scores_them() {
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let kinds = [
        Kind::Classifier(2),
        Kind::Classifier(3),
        Kind::Classifier(4),
        Kind::Regressor(1),
        Kind::Regressor(3),
    ];
    let (mut compared, mut left_to_onnxruntime) = (0, Vec::new());
    for case in 0..2000 {
        let kind = kinds[case % kinds.len()];
        let bytes = random_model(&mut rng, kind);
        let proto = ModelProto::decode(bytes.as_slice()).unwrap();
        let model = match TreeModel::from_onnx(&proto, "input", "scores") {
            Ok(model) => model,
            Err(reason) => {
                left_to_onnxruntime.push(reason.0);
                continue;
            }
        };
        let rows = random_rows(&mut rng, 256, case % 2 == 0);
        let want = onnxruntime_scores(&bytes, "input", "scores", &rows, FEATURES);
        let mut got = vec![0f32; want.len()];
        model.score(&rows, &mut got, &mut TreeScratch::default());
        for (index, (g, w)) in got.iter().zip(&want).enumerate() {
            let row = index / model.n_outputs();
            assert!(
                g == w || (g.is_nan() && w.is_nan()) || (g - w).abs() <= 1e-6 * w.abs().max(1.0),
                "case {case} ({kind:?}) row {row}: native {g} vs onnxruntime {w}; input {:?}; {:?} {:?}",
                &rows[row * FEATURES..(row + 1) * FEATURES], model.transform, model.elementwise
            );
        }
        compared += 1;
    }
    // Only the cases ONNX leaves open go to ONNX Runtime.
    for reason in &left_to_onnxruntime {
        assert!(
            reason.contains("two-class") || reason.contains("base values"),
            "{reason}"
        );
    }
    assert!(
        compared >= 1500,
        "{compared} compared; {left_to_onnxruntime:?}"
    );
}
