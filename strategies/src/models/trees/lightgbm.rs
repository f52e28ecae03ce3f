//! LightGBM's text model format (`Booster.save_model`, `model.txt`), evaluated the way
//! LightGBM's own `predict` evaluates it: every |x| ≤ 1e-35 is read as 0, then each
//! node sends `x` left when `x ≤ threshold` in f64 (exact: a float32 `x` satisfies it
//! exactly when `x ≤` the largest float32 not above the threshold), NaN and zero by the
//! node's missing type, leaf values summed in f64 per class in tree order
//! (class = tree index mod `num_tree_per_iteration`).
//!
//! Outputs: `multiclass` → `softmax(s)`; `binary` → `p = 1 / (1 + exp(−σ·s))` and the
//! pair `[1 − p, p]` (`predict_proba`). As logits: `s`, or `[0, σ·s]` for binary (whose
//! softmax is `[1 − p, p]`).
//!
//! Refused with a message: categorical splits, linear trees, `average_output` (random
//! forest mode) and objectives other than `binary` and `multiclass`.

use std::collections::HashMap;

use super::forest::{Aggregate, BaseAt, Forest, Node, Precision, Split, Test, Tree};
use super::transform::Transform;
use super::TreeFileError;

/// Bits of LightGBM's `decision_type`.
const CATEGORICAL: u8 = 1;
const DEFAULT_LEFT: u8 = 2;
const MISSING_ZERO: u8 = 1;
const MISSING_NAN: u8 = 2;

/// A LightGBM text model: its forest and how raw scores become class probabilities.
#[derive(Debug)]
pub(crate) struct LightgbmModel {
    pub forest: Forest,
    pub probabilities: Transform,
    pub logits: Transform,
}

fn error(message: impl Into<String>) -> TreeFileError {
    TreeFileError(message.into())
}

/// Reads a LightGBM text model.
pub(crate) fn read(text: &str) -> Result<LightgbmModel, TreeFileError> {
    let mut lines = text.lines().enumerate().peekable();
    match lines.next() {
        Some((_, "tree")) => {}
        _ => {
            return Err(error(
                "the first line is not `tree`: not a LightGBM text model",
            ))
        }
    }
    let mut header = HashMap::new();
    let mut average_output = false;
    let mut trees = Vec::new();
    while let Some((number, line)) = lines.next() {
        if line.starts_with("Tree=") {
            let mut block = HashMap::new();
            while let Some((_, line)) = lines.peek() {
                if line.is_empty() {
                    break;
                }
                if let Some((key, value)) = line.split_once('=') {
                    block.insert(key, value);
                }
                lines.next();
            }
            trees.push((number + 1, block));
        } else if line == "end of trees" {
            break;
        } else if line == "average_output" {
            average_output = true;
        } else if let Some((key, value)) = line.split_once('=') {
            header.insert(key, value);
        }
    }
    let field = |key: &str| {
        header
            .get(key)
            .copied()
            .ok_or_else(|| error(format!("the header has no `{key}=` line")))
    };
    let count = |key: &str| -> Result<usize, TreeFileError> {
        field(key)?.trim().parse().map_err(|_| {
            error(format!(
                "`{key}={}` is not a count",
                field(key).unwrap_or("")
            ))
        })
    };
    let n_classes = count("num_class")?;
    let per_iteration = count("num_tree_per_iteration")?;
    let n_features = count("max_feature_idx")? + 1;
    if average_output {
        return Err(error(
            "the model averages its trees (random forest mode, `average_output`), which gauntlet \
             does not evaluate natively yet; train with boosting_type=gbdt",
        ));
    }
    let objective = field("objective")?;
    let mut words = objective.split_whitespace();
    let name = words.next().unwrap_or("");
    let sigmoid = words
        .find_map(|word| word.strip_prefix("sigmoid:"))
        .map(|value| value.parse::<f64>())
        .transpose()
        .map_err(|_| error(format!("objective `{objective}` has an invalid sigmoid")))?
        .unwrap_or(1.0);
    let (probabilities, logits, n_outputs) = match name {
        "multiclass" | "softmax" if per_iteration == n_classes && n_classes >= 2 => {
            (Transform::LightgbmSoftmax, Transform::Identity, n_classes)
        }
        "binary" if per_iteration == 1 => (
            Transform::LightgbmSigmoid { sigmoid },
            Transform::BinaryLogits { scale: sigmoid },
            1,
        ),
        _ => {
            return Err(error(format!(
                "objective `{objective}` with {per_iteration} tree(s) per iteration: gauntlet \
                 evaluates LightGBM `binary` and `multiclass` classifiers"
            )))
        }
    };
    if trees.is_empty() {
        return Err(error("the model has no trees"));
    }
    let trees = trees
        .iter()
        .enumerate()
        .map(|(index, (line, block))| {
            read_tree(block, (index % per_iteration) as u32)
                .map_err(|message| error(format!("Tree={index} (line {line}): {message}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let forest = Forest {
        n_features,
        n_outputs,
        trees,
        aggregate: Aggregate::Sum,
        precision: Precision::F64,
        base: vec![0.0; n_outputs],
        base_at: BaseAt::End,
        flush_tiny_to_zero: true,
        unscored_is_zero: false,
    };
    forest.validate().map_err(|err| error(err.0))?;
    Ok(LightgbmModel {
        forest,
        probabilities,
        logits,
    })
}

fn list<T: std::str::FromStr>(
    block: &HashMap<&str, &str>,
    key: &str,
    len: usize,
) -> Result<Vec<T>, String> {
    let text = block.get(key).ok_or_else(|| format!("no `{key}=` line"))?;
    let values = text
        .split_whitespace()
        .map(|value| {
            value
                .parse()
                .map_err(|_| format!("`{key}` holds {value:?}, not a number"))
        })
        .collect::<Result<Vec<T>, _>>()?;
    if values.len() != len {
        return Err(format!(
            "`{key}` has {} values, expected {len}",
            values.len()
        ));
    }
    Ok(values)
}

fn read_tree(block: &HashMap<&str, &str>, output: u32) -> Result<Tree, String> {
    let leaves: usize = block
        .get("num_leaves")
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n| n >= 1)
        .ok_or("no valid `num_leaves=` line")?;
    if block.get("num_cat").is_some_and(|v| v.trim() != "0") {
        return Err(
            "categorical splits are not evaluated natively; encode categories as numbers".into(),
        );
    }
    if block.get("is_linear").is_some_and(|v| v.trim() != "0") {
        return Err("linear trees (`linear_tree=true`) are not evaluated natively".into());
    }
    let values: Vec<f64> = list(block, "leaf_value", leaves)?;
    let inner = leaves - 1;
    let leaf = |index: usize| Node::Leaf(vec![(output, values[index])]);
    if inner == 0 {
        return Ok(Tree {
            nodes: vec![leaf(0)],
        });
    }
    let features: Vec<u32> = list(block, "split_feature", inner)?;
    let thresholds: Vec<f64> = list(block, "threshold", inner)?;
    let decisions: Vec<u8> = list(block, "decision_type", inner)?;
    let left: Vec<i64> = list(block, "left_child", inner)?;
    let right: Vec<i64> = list(block, "right_child", inner)?;
    // Inner nodes keep their indices; leaf `l` (child `~l`) becomes node `inner + l`.
    let child = |value: i64| -> Result<u32, String> {
        let index = if value >= 0 {
            value as usize
        } else {
            inner + (!value) as usize
        };
        if index < inner + leaves {
            Ok(index as u32)
        } else {
            Err(format!("child {value} is out of range"))
        }
    };
    let mut nodes = Vec::with_capacity(inner + leaves);
    for node in 0..inner {
        let decision = decisions[node];
        if decision & CATEGORICAL != 0 {
            return Err(format!(
                "node {node} is a categorical split, not evaluated natively; encode categories as numbers"
            ));
        }
        let threshold = thresholds[node];
        let default_left = decision & DEFAULT_LEFT != 0;
        let (nan_yes, zero_is_missing) = match (decision >> 2) & 3 {
            MISSING_NAN => (default_left, false),
            MISSING_ZERO => (default_left, true),
            // Missing type "none": NaN is read as 0.
            _ => (0.0 <= threshold, false),
        };
        nodes.push(Node::Split(Split {
            feature: features[node],
            test: Test::Le,
            threshold,
            yes: child(left[node])?,
            no: child(right[node])?,
            nan_yes,
            zero_is_missing,
        }));
    }
    nodes.extend((0..leaves).map(leaf));
    Ok(Tree { nodes })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_TREES: &str = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\n\
        label_index=0\nmax_feature_idx=1\nobjective=binary sigmoid:1\n\n\
        Tree=0\nnum_leaves=3\nnum_cat=0\nsplit_feature=1 0\nthreshold=0.5 -1.0000000180025095e-35\n\
        decision_type=2 6\nleft_child=1 -1\nright_child=-2 -3\nleaf_value=0.25 -0.5 1\n\
        is_linear=0\nshrinkage=1\n\n\nTree=1\nnum_leaves=1\nnum_cat=0\nleaf_value=0.125\n\
        is_linear=0\nshrinkage=1\n\n\nend of trees\n";

    fn raw(model: &LightgbmModel, row: [f32; 2]) -> f64 {
        let mut out = [0.0];
        model.forest.reference_scores(&row, &mut out);
        out[0]
    }

    #[test]
    fn reads_splits_leaves_and_missing_types() {
        let model = read(TWO_TREES).unwrap();
        assert_eq!(model.forest.trees.len(), 2);
        assert_eq!(model.probabilities.width(model.forest.n_outputs), 2);
        // Tree 0: feature 1 ≤ 0.5 → node 1 (feature 0, missing "zero", default left), else leaf 1.
        assert_eq!(raw(&model, [-1.0, 0.0]), 0.25 + 0.125);
        assert_eq!(raw(&model, [1.0, 0.0]), 1.0 + 0.125);
        assert_eq!(
            raw(&model, [0.0, 0.0]),
            0.25 + 0.125,
            "zero is missing: default left"
        );
        assert_eq!(raw(&model, [1e-36, 0.0]), 0.25 + 0.125, "tiny is zero");
        assert_eq!(raw(&model, [f32::NAN, 0.0]), 0.25 + 0.125);
        assert_eq!(raw(&model, [0.0, 2.0]), -0.5 + 0.125);
        // Missing type "none" on feature 1: NaN is 0 ≤ 0.5.
        assert_eq!(raw(&model, [-1.0, f32::NAN]), 0.25 + 0.125);
    }

    #[test]
    fn unsupported_models_are_refused_with_the_reason() {
        let categorical = TWO_TREES.replace("decision_type=2 6", "decision_type=3 6");
        let err = read(&categorical).unwrap_err().0;
        assert!(
            err.contains("Tree=0 (line 9): node 0 is a categorical split"),
            "{err}"
        );
        let regression = TWO_TREES.replace("objective=binary sigmoid:1", "objective=regression");
        assert!(read(&regression)
            .unwrap_err()
            .0
            .contains("objective `regression`"));
        let truncated = TWO_TREES.replace("leaf_value=0.25 -0.5 1", "leaf_value=0.25 -0.5");
        let err = read(&truncated).unwrap_err().0;
        assert!(
            err.contains("`leaf_value` has 2 values, expected 3"),
            "{err}"
        );
        assert!(read("{\"learner\": {}}")
            .unwrap_err()
            .0
            .contains("not a LightGBM"));
    }
}
