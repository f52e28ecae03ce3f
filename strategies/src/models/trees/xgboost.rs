//! XGBoost's JSON model format (`Booster.save_model("model.json")`, XGBoost ≥ 1.0),
//! evaluated the way XGBoost's CPU predictor evaluates it: each node sends `x` left
//! when `x < split_condition` (f32), NaN to the node's default child; per class the
//! margin starts at the base score and adds the leaf values in tree order in f32
//! (a tree's class is its `tree_info` entry).
//!
//! The base score is stored in probability space for `binary:logistic` (margin
//! `−ln(1/b − 1)`, in f32) and in margin space otherwise; XGBoost 3 stores one value per
//! class (`"[a,b,c]"`).
//!
//! Outputs: `multi:softprob` / `multi:softmax` → XGBoost's softmax; `binary:logistic` →
//! `p = 1 / (1 + exp(−s))` and `[1 − p, p]`. As logits: the margins, or `[0, s]`.
//!
//! Refused with a message: boosters other than `gbtree` (dart weights trees, gblinear
//! has none), categorical splits, vector leaves (multi-target trees) and a recorded
//! `best_iteration` below the last one (the library's own `predict_proba` would use
//! fewer trees than the file holds).

use serde::Deserialize;
use serde_json::Value;

use super::forest::{Aggregate, BaseAt, Forest, Node, Precision, Split, Test, Tree};
use super::transform::Transform;
use super::TreeFileError;

/// An XGBoost JSON model: its forest and how margins become class probabilities.
#[derive(Debug)]
pub(crate) struct XgboostModel {
    pub forest: Forest,
    pub probabilities: Transform,
    pub logits: Transform,
}

fn error(message: impl Into<String>) -> TreeFileError {
    TreeFileError(message.into())
}

#[derive(Deserialize)]
struct JsonTree {
    left_children: Vec<i64>,
    right_children: Vec<i64>,
    split_indices: Vec<i64>,
    split_conditions: Vec<f64>,
    default_left: Vec<u8>,
    #[serde(default)]
    split_type: Vec<u8>,
    #[serde(default)]
    categories: Vec<i64>,
    tree_param: TreeParam,
}

#[derive(Deserialize)]
struct TreeParam {
    num_nodes: String,
    #[serde(default = "one")]
    size_leaf_vector: String,
}

fn one() -> String {
    "1".into()
}

/// A number XGBoost wrote as a JSON string (`"31"`, `"5E-1"`).
fn number<T: std::str::FromStr>(value: &Value, path: &str) -> Result<T, TreeFileError> {
    let text = value
        .as_str()
        .ok_or_else(|| error(format!("`{path}` is missing or not a string")))?;
    text.trim()
        .parse()
        .map_err(|_| error(format!("`{path}` = {text:?} is not a number")))
}

/// Reads an XGBoost JSON model.
pub(crate) fn read(bytes: &[u8]) -> Result<XgboostModel, TreeFileError> {
    let root: Value = serde_json::from_slice(bytes)
        .map_err(|err| error(format!("not a JSON document: {err}")))?;
    let learner = root
        .get("learner")
        .ok_or_else(|| error("no `learner` object: not an XGBoost JSON model"))?;
    let param = &learner["learner_model_param"];
    let n_features: usize = number(&param["num_feature"], "learner_model_param.num_feature")?;
    let num_class: usize = number(&param["num_class"], "learner_model_param.num_class")?;
    if let Some(targets) = param.get("num_target") {
        if number::<usize>(targets, "learner_model_param.num_target")? != 1 {
            return Err(error(
                "the model has several targets; gauntlet evaluates classifiers",
            ));
        }
    }
    let objective = learner["objective"]["name"]
        .as_str()
        .ok_or_else(|| error("no `learner.objective.name`"))?;
    let booster = &learner["gradient_booster"];
    let booster_name = booster["name"].as_str().unwrap_or("");
    if booster_name != "gbtree" {
        return Err(error(format!(
            "booster `{booster_name}`: gauntlet evaluates `gbtree` models natively"
        )));
    }
    let (n_outputs, probabilities, logits) = match objective {
        "multi:softprob" | "multi:softmax" if num_class >= 2 => {
            (num_class, Transform::XgboostSoftmax, Transform::Identity)
        }
        "binary:logistic" => (
            1,
            Transform::XgboostLogistic,
            Transform::BinaryLogits { scale: 1.0 },
        ),
        other => {
            return Err(error(format!(
                "objective `{other}`: gauntlet evaluates XGBoost `binary:logistic` and \
                 `multi:softprob` classifiers"
            )))
        }
    };
    let base = base_margins(&param["base_score"], objective, n_outputs)?;
    let model = &booster["model"];
    let tree_info: Vec<u32> = serde_json::from_value(model["tree_info"].clone())
        .map_err(|err| error(format!("`tree_info`: {err}")))?;
    let json_trees: Vec<JsonTree> = serde_json::from_value(model["trees"].clone())
        .map_err(|err| error(format!("`trees`: {err}")))?;
    if json_trees.len() != tree_info.len() {
        return Err(error(format!(
            "{} trees but {} `tree_info` entries",
            json_trees.len(),
            tree_info.len()
        )));
    }
    check_best_iteration(learner, json_trees.len(), n_outputs, model)?;
    let trees = json_trees
        .iter()
        .zip(&tree_info)
        .enumerate()
        .map(|(index, (tree, &output))| {
            read_tree(tree, output).map_err(|message| error(format!("tree {index}: {message}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let forest = Forest {
        n_features,
        n_outputs,
        trees,
        aggregate: Aggregate::Sum,
        precision: Precision::F32,
        base,
        base_at: BaseAt::Start,
        flush_tiny_to_zero: false,
        unscored_is_zero: false,
    };
    forest.validate().map_err(|err| error(err.0))?;
    Ok(XgboostModel {
        forest,
        probabilities,
        logits,
    })
}

/// The base margins per output, as f32 values (see the module docs).
fn base_margins(
    value: &Value,
    objective: &str,
    n_outputs: usize,
) -> Result<Vec<f64>, TreeFileError> {
    let text = value
        .as_str()
        .ok_or_else(|| error("`learner_model_param.base_score` is missing"))?;
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    let values = inner
        .split(',')
        .map(|v| v.trim().parse::<f32>())
        .collect::<Result<Vec<f32>, _>>()
        .map_err(|_| error(format!("`base_score` = {text:?} is not a number or a list")))?;
    let values = match values.len() {
        1 => vec![values[0]; n_outputs],
        n if n == n_outputs => values,
        n => {
            return Err(error(format!(
                "`base_score` has {n} values for {n_outputs} outputs"
            )))
        }
    };
    values
        .into_iter()
        .map(|b| {
            if objective == "binary:logistic" {
                if !(b > 0.0 && b < 1.0) {
                    return Err(error(format!(
                        "`base_score` {b} is not a probability in (0, 1)"
                    )));
                }
                Ok(f64::from(-(1.0f32 / b - 1.0).ln()))
            } else {
                Ok(f64::from(b))
            }
        })
        .collect()
}

fn check_best_iteration(
    learner: &Value,
    n_trees: usize,
    n_outputs: usize,
    model: &Value,
) -> Result<(), TreeFileError> {
    let Some(best) = learner["attributes"].get("best_iteration") else {
        return Ok(());
    };
    let best: usize = number(best, "learner.attributes.best_iteration")?;
    let per_iteration = n_outputs
        * model["gbtree_model_param"]
            .get("num_parallel_tree")
            .map(|v| number::<usize>(v, "gbtree_model_param.num_parallel_tree"))
            .transpose()?
            .unwrap_or(1);
    let iterations = n_trees / per_iteration.max(1);
    if best + 1 < iterations {
        return Err(error(format!(
            "the model records best_iteration = {best} (early stopping) but holds {iterations} \
             iterations; XGBoost's predict_proba would use only the first {}. Save the trimmed \
             model (`booster[: best_iteration + 1].save_model(...)`) and bundle that",
            best + 1
        )));
    }
    Ok(())
}

fn read_tree(tree: &JsonTree, output: u32) -> Result<Tree, String> {
    let n: usize = tree
        .tree_param
        .num_nodes
        .parse()
        .map_err(|_| "`tree_param.num_nodes` is not a count".to_string())?;
    if tree.tree_param.size_leaf_vector.trim() != "1"
        && tree.tree_param.size_leaf_vector.trim() != "0"
    {
        return Err("vector leaves (multi-target trees) are not evaluated natively".into());
    }
    if !tree.categories.is_empty() || tree.split_type.iter().any(|&t| t != 0) {
        return Err(
            "categorical splits are not evaluated natively; encode categories as numbers".into(),
        );
    }
    for (name, len) in [
        ("left_children", tree.left_children.len()),
        ("right_children", tree.right_children.len()),
        ("split_indices", tree.split_indices.len()),
        ("split_conditions", tree.split_conditions.len()),
        ("default_left", tree.default_left.len()),
    ] {
        if len != n {
            return Err(format!("`{name}` has {len} entries for {n} nodes"));
        }
    }
    let index = |value: i64| -> Result<u32, String> {
        u32::try_from(value)
            .ok()
            .filter(|&i| (i as usize) < n)
            .ok_or_else(|| format!("child {value} is out of range"))
    };
    let mut nodes = Vec::with_capacity(n);
    for node in 0..n {
        let left = tree.left_children[node];
        // XGBoost keeps a leaf's value in `split_conditions`.
        let value = tree.split_conditions[node] as f32;
        if left == -1 {
            nodes.push(Node::Leaf(vec![(output, f64::from(value))]));
            continue;
        }
        let feature = u32::try_from(tree.split_indices[node])
            .map_err(|_| format!("node {node} splits on feature {}", tree.split_indices[node]))?;
        nodes.push(Node::Split(Split {
            feature,
            test: Test::Lt,
            threshold: f64::from(value),
            yes: index(left)?,
            no: index(tree.right_children[node])?,
            nan_yes: tree.default_left[node] != 0,
            zero_is_missing: false,
        }));
    }
    Ok(Tree { nodes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(objective: &str, base_score: &str, extra: &str) -> String {
        format!(
            r#"{{"learner": {{"attributes": {{{extra}}}, "feature_names": [], "feature_types": [],
            "gradient_booster": {{"model": {{"gbtree_model_param": {{"num_parallel_tree": "1", "num_trees": "2"}},
              "tree_info": [0, 0],
              "trees": [
                {{"left_children": [1, -1, -1], "right_children": [2, -1, -1], "split_indices": [1, 0, 0],
                  "split_conditions": [0.5, -0.25, 0.75], "default_left": [1, 0, 0], "split_type": [0, 0, 0],
                  "categories": [], "tree_param": {{"num_nodes": "3", "size_leaf_vector": "1", "num_feature": "2"}}}},
                {{"left_children": [-1], "right_children": [-1], "split_indices": [0],
                  "split_conditions": [0.125], "default_left": [0], "split_type": [0],
                  "categories": [], "tree_param": {{"num_nodes": "1", "size_leaf_vector": "1", "num_feature": "2"}}}}
              ]}}, "name": "gbtree"}},
            "learner_model_param": {{"base_score": "{base_score}", "num_class": "0", "num_feature": "2", "num_target": "1"}},
            "objective": {{"name": "{objective}"}}}}, "version": [3, 2, 0]}}"#
        )
    }

    fn raw(model: &XgboostModel, row: [f32; 2]) -> f64 {
        let mut out = [0.0];
        model.forest.reference_scores(&row, &mut out);
        out[0]
    }

    #[test]
    fn reads_trees_base_margin_and_default_children() {
        let m = read(model("binary:logistic", "5E-1", "").as_bytes()).unwrap();
        assert_eq!(m.probabilities.width(m.forest.n_outputs), 2);
        // base 0.5 is margin 0.
        assert_eq!(raw(&m, [0.0, 0.25]), f64::from(-0.25f32 + 0.125));
        assert_eq!(raw(&m, [0.0, 0.5]), 0.875, "x < 0.5 is strict");
        assert_eq!(
            raw(&m, [0.0, f32::NAN]),
            f64::from(-0.25f32 + 0.125),
            "default left"
        );
    }

    #[test]
    fn unsupported_models_are_refused_with_the_reason() {
        let early = model("binary:logistic", "5E-1", r#""best_iteration": "0""#);
        let err = read(early.as_bytes()).unwrap_err().0;
        assert!(err.contains("best_iteration = 0"), "{err}");
        let regression = model("reg:squarederror", "5E-1", "");
        assert!(read(regression.as_bytes())
            .unwrap_err()
            .0
            .contains("reg:squarederror"));
        let bad_base = model("binary:logistic", "1.5", "");
        assert!(read(bad_base.as_bytes())
            .unwrap_err()
            .0
            .contains("not a probability"));
        assert!(read(b"tree\nversion=v4")
            .unwrap_err()
            .0
            .contains("not a JSON document"));
    }
}
