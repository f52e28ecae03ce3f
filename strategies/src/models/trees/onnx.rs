//! ONNX graphs the native evaluator reproduces: the bundle's output computed from the
//! bundle's input by one `ai.onnx.ml` `TreeEnsembleClassifier` or
//! `TreeEnsembleRegressor` (opset 1 or 3 attributes), reached through `Identity` and
//! `Cast`-to-float nodes and followed by element-wise `Identity`, `Cast` (to float),
//! `Mul` / `Add` by a constant, `Softmax` and `Sigmoid` nodes. Other nodes may feed other
//! outputs (the `label` output, say); they are not evaluated.
//!
//! The semantics are ONNX Runtime's (`tree_ensemble_common.h`, `ml_common.h`):
//! - a tree is the run of nodes with one tree id; its first node is the root;
//! - a split goes to its true node when `x MODE value`, or, for NaN, when its
//!   `nodes_missing_value_tracks_true` entry is 1 (`BRANCH_NEQ` is true for NaN);
//! - leaf weights (`class_*` / `target_*`) are added per output in tree order, in f32
//!   (with one output, a leaf counts once: its first weight, else its `nodes_values`
//!   entry);
//!   base values are added after (opset 3 `*_as_tensor` attributes must be float32:
//!   ONNX Runtime refuses double ones for a float input);
//! - classifiers with three or more classes apply `post_transform` to all scores;
//!   two-class classifiers whose weights all go to class 0 give `[σ(−s), σ(s)]` with
//!   LOGISTIC, else `[1 − s, s]` (all weights ≥ 0) or `[−s, s]` (mixed signs); regressors
//!   aggregate by `aggregate_function`, and a target no leaf weighted reads 0.
//!
//! Anything else is [`NotNative`]: the caller runs the graph on ONNX Runtime and reports
//! the reason.

use std::collections::{BTreeSet, HashMap};

use super::forest::{Aggregate, BaseAt, Forest, Node, Precision, Split, Test, Tree};
use super::transform::{BinaryScores, Elementwise, PostTransform, Transform};
use crate::models::onnx_proto::onnx::{
    attribute_proto::AttributeType, tensor_proto::DataType, AttributeProto, GraphProto, ModelProto,
    NodeProto, TensorProto,
};

/// Why a graph is left to ONNX Runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotNative(pub String);

impl std::fmt::Display for NotNative {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn not_native<T>(message: impl Into<String>) -> Result<T, NotNative> {
    Err(NotNative(message.into()))
}

/// A tree ensemble read from an ONNX graph.
pub(crate) struct OnnxTrees {
    pub forest: Forest,
    pub transform: Transform,
    /// Applied in order after `transform`.
    pub elementwise: Vec<Elementwise>,
    /// `op_type` of the tree-ensemble node.
    pub operator: String,
}

struct Graph<'g> {
    graph: &'g GraphProto,
    producers: HashMap<&'g str, &'g NodeProto>,
    initializers: HashMap<&'g str, &'g TensorProto>,
    default_opset: i64,
}

impl<'g> Graph<'g> {
    fn new(model: &'g ModelProto) -> Result<Self, NotNative> {
        let Some(graph) = &model.graph else {
            return not_native("the model has no graph");
        };
        let producers = graph
            .node
            .iter()
            .flat_map(|node| node.output.iter().map(move |out| (out.as_str(), node)))
            .collect();
        let initializers = graph
            .initializer
            .iter()
            .map(|tensor| (tensor.name(), tensor))
            .collect();
        let default_opset = model
            .opset_import
            .iter()
            .find(|opset| matches!(opset.domain(), "" | "ai.onnx"))
            .map_or(1, |opset| opset.version());
        Ok(Self {
            graph,
            producers,
            initializers,
            default_opset,
        })
    }

    /// A float constant: an initializer or a `Constant` node's value.
    fn constant(&self, name: &str) -> Option<Vec<f32>> {
        let tensor = match self.initializers.get(name) {
            Some(tensor) => *tensor,
            None => {
                let node = self.producers.get(name)?;
                if node.op_type() != "Constant" {
                    return None;
                }
                node.attribute
                    .iter()
                    .find(|a| a.name() == "value")?
                    .t
                    .as_ref()?
            }
        };
        float_values(tensor)
    }
}

fn float_values(tensor: &TensorProto) -> Option<Vec<f32>> {
    if tensor.data_type() != DataType::Float as i32 {
        return None;
    }
    if !tensor.float_data.is_empty() {
        return Some(tensor.float_data.clone());
    }
    let raw = tensor.raw_data();
    (raw.len() % 4 == 0).then(|| {
        raw.chunks_exact(4)
            .map(|bytes| f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
            .collect()
    })
}

fn is_default_domain(node: &NodeProto) -> bool {
    matches!(node.domain(), "" | "ai.onnx")
}

fn describe(node: &NodeProto) -> String {
    let op = if is_default_domain(node) {
        node.op_type().to_string()
    } else {
        format!("{}:{}", node.domain(), node.op_type())
    };
    if node.name().is_empty() {
        op
    } else {
        format!("{op} ({})", node.name())
    }
}

/// Reads the tree ensemble that computes `output` from `input`, or says why it cannot.
pub(crate) fn read(model: &ModelProto, input: &str, output: &str) -> Result<OnnxTrees, NotNative> {
    let graph = Graph::new(model)?;
    if !graph.graph.output.iter().any(|o| o.name() == output) {
        return not_native(format!("the graph has no output {output:?}"));
    }
    let mut elementwise = Vec::new();
    let mut current = output;
    let ensemble =
        loop {
            let Some(node) = graph.producers.get(current).copied() else {
                return not_native(format!(
                    "output {output:?} is not computed by a tree-ensemble node"
                ));
            };
            if node.domain() == "ai.onnx.ml"
                && matches!(
                    node.op_type(),
                    "TreeEnsembleClassifier" | "TreeEnsembleRegressor"
                )
            {
                break node;
            }
            if !is_default_domain(node) {
                return not_native(format!(
                    "node {} between the inputs and output {output:?} is not one the native \
                 evaluator reproduces",
                    describe(node)
                ));
            }
            match node.op_type() {
                "Identity" => current = graph_input_name(node)?,
                "Cast" if cast_to_float(node) => current = graph_input_name(node)?,
                "Softmax" => {
                    let axis = int_attribute(node, "axis")
                        .unwrap_or(if graph.default_opset >= 13 { -1 } else { 1 });
                    if axis != 1 && axis != -1 {
                        return not_native(format!("{} over axis {axis}", describe(node)));
                    }
                    elementwise.push(Elementwise::Softmax);
                    current = graph_input_name(node)?;
                }
                "Sigmoid" => {
                    elementwise.push(Elementwise::Sigmoid);
                    current = graph_input_name(node)?;
                }
                "Mul" | "Add" => {
                    let (data, constant) = match (node.input.first(), node.input.get(1)) {
                        (Some(a), Some(b)) => match (graph.constant(a), graph.constant(b)) {
                            (None, Some(c)) => (a, c),
                            (Some(c), None) => (b, c),
                            _ => {
                                return not_native(format!(
                                    "{} does not combine the scores with one float constant",
                                    describe(node)
                                ))
                            }
                        },
                        _ => return not_native(format!("{} needs two inputs", describe(node))),
                    };
                    elementwise.push(if node.op_type() == "Mul" {
                        Elementwise::Mul(constant)
                    } else {
                        Elementwise::Add(constant)
                    });
                    current = data.as_str();
                }
                _ => {
                    return not_native(format!(
                        "node {} between the inputs and output {output:?} is not one the native \
                     evaluator reproduces",
                        describe(node)
                    ))
                }
            }
        };
    elementwise.reverse();
    // The ensemble's scores output is its second output (classifier) or its only one.
    let scores_output = match ensemble.op_type() {
        "TreeEnsembleClassifier" => ensemble.output.get(1),
        _ => ensemble.output.first(),
    };
    if scores_output.map(String::as_str) != Some(current) {
        return not_native(format!(
            "output {output:?} comes from the label output of {}",
            describe(ensemble)
        ));
    }
    let mut source = ensemble
        .input
        .first()
        .map(String::as_str)
        .unwrap_or_default();
    while source != input {
        match graph.producers.get(source) {
            Some(node)
                if is_default_domain(node)
                    && (node.op_type() == "Identity"
                        || (node.op_type() == "Cast" && cast_to_float(node))) =>
            {
                source = node.input.first().map(String::as_str).unwrap_or_default();
            }
            Some(node) => {
                return not_native(format!(
                    "node {} between input {input:?} and the tree ensemble is not one the \
                     native evaluator reproduces",
                    describe(node)
                ))
            }
            None => {
                return not_native(format!(
                    "the tree ensemble does not read the bundle's input {input:?}"
                ))
            }
        }
    }
    let n_features = graph
        .graph
        .input
        .iter()
        .find(|value| value.name() == input)
        .and_then(input_width);
    let (forest, transform) = read_ensemble(ensemble, n_features)?;
    Ok(OnnxTrees {
        forest,
        transform,
        elementwise,
        operator: ensemble.op_type().to_string(),
    })
}

fn graph_input_name(node: &NodeProto) -> Result<&str, NotNative> {
    node.input
        .first()
        .map(String::as_str)
        .ok_or_else(|| NotNative(format!("node {} has no input", describe(node))))
}

fn cast_to_float(node: &NodeProto) -> bool {
    int_attribute(node, "to") == Some(DataType::Float as i64)
}

fn input_width(value: &crate::models::onnx_proto::onnx::ValueInfoProto) -> Option<usize> {
    use crate::models::onnx_proto::onnx::{tensor_shape_proto::dimension::Value, type_proto};
    let Some(type_proto::Value::TensorType(tensor)) = value.r#type.as_ref()?.value.as_ref() else {
        return None;
    };
    match tensor.shape.as_ref()?.dim.last()?.value.as_ref()? {
        Value::DimValue(width) if *width > 0 => usize::try_from(*width).ok(),
        _ => None,
    }
}

fn attribute<'n>(node: &'n NodeProto, name: &str) -> Option<&'n AttributeProto> {
    node.attribute.iter().find(|a| a.name() == name)
}

fn int_attribute(node: &NodeProto, name: &str) -> Option<i64> {
    attribute(node, name).and_then(|a| a.i)
}

fn ints(node: &NodeProto, name: &str) -> Vec<i64> {
    attribute(node, name)
        .map(|a| a.ints.clone())
        .unwrap_or_default()
}

fn strings(node: &NodeProto, name: &str) -> Vec<String> {
    attribute(node, name)
        .map(|a| {
            a.strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn string(node: &NodeProto, name: &str, default: &str) -> String {
    attribute(node, name)
        .and_then(|a| a.s.as_ref())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .unwrap_or_else(|| default.to_string())
}

/// `NAME` (floats) or `NAME_as_tensor` (a float tensor), as f64. ONNX Runtime refuses
/// double tensors for a float input, so they are not read either.
fn values(node: &NodeProto, name: &str) -> Result<Vec<f64>, NotNative> {
    if let Some(tensor) = attribute(node, &format!("{name}_as_tensor")) {
        let values = tensor
            .t
            .as_ref()
            .filter(|_| tensor.r#type() == AttributeType::Tensor)
            .and_then(float_values)
            .ok_or_else(|| {
                NotNative(format!(
                    "attribute {name}_as_tensor is not a float32 tensor (ONNX Runtime refuses \
                     double attributes for a float input)"
                ))
            })?;
        return Ok(values.into_iter().map(f64::from).collect());
    }
    Ok(attribute(node, name)
        .map(|a| a.floats.iter().map(|&v| f64::from(v)).collect())
        .unwrap_or_default())
}

fn post_transform(name: &str) -> Result<PostTransform, NotNative> {
    Ok(match name {
        "NONE" => PostTransform::None,
        "LOGISTIC" => PostTransform::Logistic,
        "SOFTMAX" => PostTransform::Softmax,
        "SOFTMAX_ZERO" => PostTransform::SoftmaxZero,
        "PROBIT" => PostTransform::Probit,
        other => return not_native(format!("post_transform {other:?}")),
    })
}

fn read_ensemble(
    node: &NodeProto,
    declared_width: Option<usize>,
) -> Result<(Forest, Transform), NotNative> {
    let classifier = node.op_type() == "TreeEnsembleClassifier";
    let prefix = if classifier { "class" } else { "target" };
    let tree_ids = ints(node, "nodes_treeids");
    let node_ids = ints(node, "nodes_nodeids");
    let features = ints(node, "nodes_featureids");
    let modes = strings(node, "nodes_modes");
    let true_ids = ints(node, "nodes_truenodeids");
    let false_ids = ints(node, "nodes_falsenodeids");
    let missing = ints(node, "nodes_missing_value_tracks_true");
    let thresholds = values(node, "nodes_values")?;
    let n = tree_ids.len();
    for (name, len) in [
        ("nodes_nodeids", node_ids.len()),
        ("nodes_featureids", features.len()),
        ("nodes_modes", modes.len()),
        ("nodes_truenodeids", true_ids.len()),
        ("nodes_falsenodeids", false_ids.len()),
        ("nodes_values", thresholds.len()),
    ] {
        if len != n {
            return not_native(format!("{name} has {len} entries for {n} nodes"));
        }
    }
    let weight_trees = ints(node, &format!("{prefix}_treeids"));
    let weight_nodes = ints(node, &format!("{prefix}_nodeids"));
    let weight_outputs = ints(node, &format!("{prefix}_ids"));
    let weights = values(node, &format!("{prefix}_weights"))?;
    if [weight_nodes.len(), weight_outputs.len(), weights.len()]
        .iter()
        .any(|&len| len != weight_trees.len())
    {
        return not_native(format!("the {prefix}_* attributes differ in length"));
    }
    let base = values(node, "base_values")?;
    let post = post_transform(&string(node, "post_transform", "NONE"))?;
    let n_outputs = if classifier {
        strings(node, "classlabels_strings")
            .len()
            .max(ints(node, "classlabels_int64s").len())
    } else {
        usize::try_from(int_attribute(node, "n_targets").unwrap_or(0)).unwrap_or(0)
    };
    if n_outputs == 0 {
        return not_native("the ensemble declares no classes or targets");
    }

    // Trees: runs of equal tree ids, in order; a tree id seen again later is refused.
    let mut trees: Vec<(i64, Vec<usize>)> = Vec::new();
    for (position, &tree) in tree_ids.iter().enumerate() {
        match trees.last_mut() {
            Some((id, members)) if *id == tree => members.push(position),
            _ => {
                if trees.iter().any(|(id, _)| *id == tree) {
                    return not_native(format!("the nodes of tree {tree} are not contiguous"));
                }
                trees.push((tree, vec![position]));
            }
        }
    }
    // Leaf weights in ONNX Runtime's order: sorted by (tree, node), then attribute order.
    let mut order: Vec<usize> = (0..weight_trees.len()).collect();
    order.sort_by_key(|&i| (weight_trees[i], weight_nodes[i], i));
    let mut leaf_weights: HashMap<(i64, i64), Vec<(u32, f64)>> = HashMap::new();
    for i in order {
        let output = u32::try_from(weight_outputs[i])
            .ok()
            .filter(|&o| (o as usize) < n_outputs)
            .ok_or_else(|| {
                NotNative(format!(
                    "{prefix}_ids[{i}] = {} is out of range",
                    weight_outputs[i]
                ))
            })?;
        leaf_weights
            .entry((weight_trees[i], weight_nodes[i]))
            .or_default()
            .push((output, weights[i]));
    }
    let mut forest_trees = Vec::with_capacity(trees.len());
    let mut used_weights = 0;
    for (tree_id, members) in &trees {
        let index: HashMap<i64, usize> = members
            .iter()
            .enumerate()
            .map(|(local, &position)| (node_ids[position], local))
            .collect();
        if index.len() != members.len() {
            return not_native(format!("tree {tree_id} repeats a node id"));
        }
        let local = |id: i64| {
            index.get(&id).map(|&l| l as u32).ok_or_else(|| {
                NotNative(format!(
                    "tree {tree_id} points to node {id}, which it does not have"
                ))
            })
        };
        let mut nodes = Vec::with_capacity(members.len());
        for &position in members {
            let mode = modes[position].as_str();
            if mode == "LEAF" {
                let mut weights = leaf_weights
                    .get(&(*tree_id, node_ids[position]))
                    .cloned()
                    .unwrap_or_default();
                used_weights += weights.len();
                if classifier && weights.is_empty() {
                    return not_native(format!(
                        "tree {tree_id} has a leaf without class weights (ONNX Runtime fails \
                         on the rows that reach only such leaves)"
                    ));
                }
                if n_outputs == 1 {
                    // One output: ONNX Runtime takes a leaf's first weight, or its
                    // `nodes_values` entry when it has none.
                    let value = weights.first().map_or(thresholds[position], |w| w.1);
                    weights = vec![(0, value)];
                }
                nodes.push(Node::Leaf(weights));
                continue;
            }
            let test = match mode {
                "BRANCH_LEQ" => Test::Le,
                "BRANCH_LT" => Test::Lt,
                "BRANCH_GTE" => Test::Ge,
                "BRANCH_GT" => Test::Gt,
                "BRANCH_EQ" => Test::Eq,
                "BRANCH_NEQ" => Test::Ne,
                other => return not_native(format!("node mode {other:?}")),
            };
            let feature = u32::try_from(features[position])
                .map_err(|_| NotNative(format!("feature id {} is negative", features[position])))?;
            let threshold = thresholds[position];
            nodes.push(Node::Split(Split {
                feature,
                test,
                threshold,
                yes: local(true_ids[position])?,
                no: local(false_ids[position])?,
                nan_yes: missing.get(position) == Some(&1) || test == Test::Ne,
                zero_is_missing: false,
            }));
        }
        // The tree's first node (local index 0) is its root, as in ONNX Runtime.
        forest_trees.push(Tree { nodes });
    }
    if used_weights != weights.len() {
        return not_native(format!(
            "{} of the {} {prefix} weights do not belong to a leaf",
            weights.len() - used_weights,
            weights.len()
        ));
    }
    let max_feature = forest_trees
        .iter()
        .flat_map(|tree| &tree.nodes)
        .filter_map(|node| match node {
            Node::Split(split) => Some(split.feature as usize + 1),
            Node::Leaf(_) => None,
        })
        .max()
        .unwrap_or(0);
    let aggregate = if classifier {
        Aggregate::Sum
    } else {
        match string(node, "aggregate_function", "SUM").as_str() {
            "SUM" => Aggregate::Sum,
            "AVERAGE" => Aggregate::Average,
            "MIN" => Aggregate::Min,
            "MAX" => Aggregate::Max,
            other => return not_native(format!("aggregate_function {other:?}")),
        }
    };
    let transform = if classifier && n_outputs == 2 {
        binary_transform(&weight_outputs, &weights, &forest_trees, base.len(), post)?
    } else if n_outputs == 1 {
        match post {
            PostTransform::Probit => Transform::Onnx(PostTransform::Probit),
            _ => Transform::Identity,
        }
    } else {
        Transform::Onnx(post)
    };
    // ONNX Runtime adds one base value to class 0 of a two-class classifier.
    let (n_outputs, base) = match (&transform, base.len()) {
        (Transform::OnnxBinary(..), _) => (1, vec![base.first().copied().unwrap_or(0.0)]),
        (_, 0) => (n_outputs, vec![0.0; n_outputs]),
        (_, 1) if classifier && n_outputs == 2 => (n_outputs, vec![base[0], 0.0]),
        (_, len) if len == n_outputs => (n_outputs, base),
        (_, len) => {
            return not_native(format!(
                "{len} base values for {n_outputs} outputs (ONNX leaves this case open)"
            ))
        }
    };
    let forest = Forest {
        n_features: declared_width.unwrap_or(max_feature).max(max_feature),
        n_outputs,
        trees: forest_trees,
        aggregate,
        precision: Precision::F32,
        base,
        base_at: BaseAt::End,
        flush_tiny_to_zero: false,
        // ONNX Runtime writes a regressor's targets through `ScoreValue`, which reads 0
        // when no tree weighted the target (its base value is dropped too).
        unscored_is_zero: !classifier && n_outputs > 1,
    };
    forest
        .validate()
        .map_err(|err| NotNative(format!("the tree ensemble is not well formed: {err}")))?;
    Ok((forest, transform))
}

/// The two-class cases ONNX Runtime defines the same way in every version (see the
/// module docs); the others are left to it.
fn binary_transform(
    outputs: &[i64],
    weights: &[f64],
    trees: &[Tree],
    n_base: usize,
    post: PostTransform,
) -> Result<Transform, NotNative> {
    let classes: BTreeSet<i64> = outputs.iter().copied().collect();
    if n_base > 1 {
        return not_native(
            "a two-class classifier with two base values (ONNX Runtime versions disagree on it)",
        );
    }
    if classes == BTreeSet::from([0]) {
        if post == PostTransform::Probit {
            return not_native("a two-class classifier with one weighted class and PROBIT");
        }
        let kind = if weights.iter().all(|&w| w >= 0.0) {
            BinaryScores::Complement
        } else {
            BinaryScores::Mirrored
        };
        return Ok(Transform::OnnxBinary(kind, post));
    }
    let every_leaf_has_both = trees
        .iter()
        .flat_map(|tree| &tree.nodes)
        .all(|node| match node {
            Node::Leaf(weights) => {
                weights.iter().any(|(o, _)| *o == 0) && weights.iter().any(|(o, _)| *o == 1)
            }
            Node::Split(_) => true,
        });
    if every_leaf_has_both {
        return Ok(Transform::Onnx(post));
    }
    not_native("a two-class classifier whose leaves weight class 1 only on some rows")
}
