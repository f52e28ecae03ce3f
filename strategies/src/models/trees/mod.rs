//! Native evaluation of tree ensembles: ONNX `TreeEnsembleClassifier` /
//! `TreeEnsembleRegressor` graphs, XGBoost JSON and LightGBM text models, read into one
//! [`Forest`](forest::Forest) and evaluated over blocks of rows
//! ([`layout`]) with the arithmetic of the library that defines each format, so the
//! scores equal ONNX Runtime's, XGBoost's or LightGBM's own.
//!
//! [`TreeModel`] is what scoring uses: raw scores → the format's output transform
//! ([`transform`]) → the element-wise ONNX nodes after the ensemble, one output row per
//! input row, no allocation per row.

mod forest;
#[cfg(test)]
mod fuzz;
mod layout;
mod lightgbm;
mod onnx;
#[cfg(test)]
mod onnx_semantics;
#[cfg(test)]
mod parity;
mod transform;
mod xgboost;

use std::fmt;

pub use onnx::NotNative;

use forest::{Forest, Node, Precision};
use gauntlet_kernels::trees::{Kernel, BLOCK_ROWS};
use layout::{block_scores, Layout, Scratch as LayoutScratch};
use transform::{Elementwise, Transform};

use super::bundle::OutputKind;
use super::onnx_proto::ModelProto;

/// A model file gauntlet evaluates natively could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFileError(pub String);

impl fmt::Display for TreeFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TreeFileError {}

/// A tree ensemble ready to score rows natively.
#[derive(Debug, Clone)]
pub struct TreeModel {
    forest: Forest,
    layout: Layout,
    kernel: Kernel,
    transform: Transform,
    elementwise: Vec<Elementwise>,
    width: usize,
    source: String,
}

/// Reusable buffers of one scoring thread.
#[derive(Debug, Default)]
pub struct TreeScratch {
    layout: LayoutScratch,
    block: Vec<f32>,
    scores: Vec<f64>,
    row: Vec<f64>,
}

impl TreeModel {
    fn new(
        forest: Forest,
        transform: Transform,
        elementwise: Vec<Elementwise>,
        source: String,
    ) -> Self {
        let layout = Layout::new(&forest);
        let width = transform.width(forest.n_outputs);
        Self {
            forest,
            layout,
            kernel: Kernel::detect(),
            transform,
            elementwise,
            width,
            source,
        }
    }

    /// The tree ensemble that computes `output` from `input` in an ONNX graph, or why the
    /// native evaluator cannot reproduce the graph.
    pub(crate) fn from_onnx(
        model: &ModelProto,
        input: &str,
        output: &str,
    ) -> Result<Self, NotNative> {
        let trees = onnx::read(model, input, output)?;
        Ok(Self::new(
            trees.forest,
            trees.transform,
            trees.elementwise,
            format!("ONNX {}", trees.operator),
        ))
    }

    /// An XGBoost JSON model (`Booster.save_model("model.json")`) whose output rows hold
    /// `output`: `predict_proba`, or the margins as logits.
    pub fn from_xgboost_json(bytes: &[u8], output: OutputKind) -> Result<Self, TreeFileError> {
        let model = xgboost::read(bytes)?;
        let transform = match output {
            OutputKind::Probabilities => model.probabilities,
            OutputKind::Logits => model.logits,
        };
        Ok(Self::new(
            model.forest,
            transform,
            Vec::new(),
            "XGBoost JSON".into(),
        ))
    }

    /// A LightGBM text model (`Booster.save_model("model.txt")`) whose output rows hold
    /// `output`: `predict_proba`, or the raw scores as logits.
    pub fn from_lightgbm_text(text: &str, output: OutputKind) -> Result<Self, TreeFileError> {
        let model = lightgbm::read(text)?;
        let transform = match output {
            OutputKind::Probabilities => model.probabilities,
            OutputKind::Logits => model.logits,
        };
        Ok(Self::new(
            model.forest,
            transform,
            Vec::new(),
            "LightGBM text".into(),
        ))
    }

    /// Features each row must have.
    pub fn n_features(&self) -> usize {
        self.forest.n_features
    }

    /// Values per output row.
    pub fn n_outputs(&self) -> usize {
        self.width
    }

    /// One line for `models inspect` and reports, e.g. `ONNX TreeEnsembleClassifier:
    /// 300 trees, depth ≤ 2, 2062 nodes, f32 sums, heap layout`.
    pub fn describe(&self) -> String {
        fn depth(nodes: &[Node], at: usize) -> usize {
            match &nodes[at] {
                Node::Leaf(_) => 0,
                Node::Split(split) => {
                    1 + depth(nodes, split.yes as usize).max(depth(nodes, split.no as usize))
                }
            }
        }
        let trees = &self.forest.trees;
        let max_depth = trees.iter().map(|t| depth(&t.nodes, 0)).max().unwrap_or(0);
        let nodes: usize = trees.iter().map(|t| t.nodes.len()).sum();
        let precision = match self.forest.precision {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        };
        let walk = if !self.layout.is_fast() {
            "reference walk"
        } else if max_depth <= layout::MAX_HEAP_DEPTH {
            "heap layout"
        } else {
            "node layout"
        };
        format!(
            "{}: {} trees, depth ≤ {max_depth}, {nodes} nodes, {precision} sums, {walk}",
            self.source,
            trees.len()
        )
    }

    /// Scores `rows` (row-major, `n_features` per row) into `out` (`n_outputs` per row),
    /// in f64 (exact for the formats that compute in f32).
    pub(crate) fn score_f64(&self, rows: &[f32], out: &mut [f64], scratch: &mut TreeScratch) {
        let features = self.forest.n_features;
        let n_scores = self.forest.n_outputs;
        for (block, out) in rows
            .chunks(BLOCK_ROWS * features)
            .zip(out.chunks_mut(BLOCK_ROWS * self.width))
        {
            let n_rows = block.len() / features;
            let block = if self.forest.flush_tiny_to_zero {
                scratch.block.clear();
                scratch
                    .block
                    .extend(block.iter().map(|&x| self.forest.input(x)));
                scratch.block.as_slice()
            } else {
                block
            };
            scratch.scores.resize(n_rows * n_scores, 0.0);
            block_scores(
                &self.forest,
                &self.layout,
                self.kernel,
                block,
                &mut scratch.scores,
                &mut scratch.layout,
            );
            for (scores, out) in scratch
                .scores
                .chunks_exact(n_scores)
                .zip(out.chunks_exact_mut(self.width))
            {
                self.transform.apply(scores, out);
                for step in &self.elementwise {
                    step.apply(out);
                }
            }
        }
    }

    /// Scores `rows` (row-major, `n_features` per row) into `out` (`n_outputs` per row).
    pub fn score(&self, rows: &[f32], out: &mut [f32], scratch: &mut TreeScratch) {
        let mut wide = std::mem::take(&mut scratch.row);
        for (rows, out) in rows
            .chunks(BLOCK_ROWS * self.forest.n_features)
            .zip(out.chunks_mut(BLOCK_ROWS * self.width))
        {
            wide.resize(out.len(), 0.0);
            self.score_f64(rows, &mut wide, scratch);
            for (slot, value) in out.iter_mut().zip(&wide) {
                *slot = *value as f32;
            }
        }
        scratch.row = wide;
    }
}
