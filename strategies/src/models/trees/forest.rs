//! The forest every tree format is read into, and its reference evaluation: one row at
//! a time, node by node, exactly as the training library or ONNX Runtime defines it.
//! The fast layouts in [`super::layout`] must agree with it bit for bit.
//!
//! A split at node `n` on feature `f` with threshold `t` (f64: it holds every f32
//! threshold exactly, and LightGBM's own f64 thresholds) sends the row to `yes` when
//!
//! - `x` is NaN: `nan_yes` (ONNX: the missing-value track, or `x != t` being true for
//!   NaN; XGBoost: the default child; LightGBM: per its missing type);
//! - `zero_is_missing` and `x == 0` (LightGBM's missing type "zero"): `nan_yes`;
//! - otherwise: `x CMP t`, compared in f64 (exact for f32 `x`).
//!
//! Leaves hold `(output, weight)` pairs. Per row and output `o`, with the trees in file
//! order and the weights of a leaf in their order:
//!
//! - `Sum`: `s_o = b_o + Σ w` when the base is added first (XGBoost), else
//!   `s_o = (Σ w) + b_o` (ONNX Runtime, LightGBM with `b = 0`);
//! - `Average`: `s_o = (Σ w) / T + b_o` (T trees);
//! - `Min` / `Max`: the smallest / largest weight any tree gave output `o` (0 when none)
//!   `+ b_o`,
//!
//! each sum accumulated in the forest's [`Precision`] (f32: ONNX ensembles and XGBoost;
//! f64: LightGBM), left to right. With `unscored_is_zero` (ONNX Runtime's regressors with
//! two or more targets), an output no leaf of the row weighted is 0, base value included.

use std::fmt;

/// The comparison of a split: the row goes to `yes` when `x CMP threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Test {
    Le,
    Lt,
    Ge,
    Gt,
    Eq,
    Ne,
}

impl Test {
    fn holds(self, x: f64, threshold: f64) -> bool {
        match self {
            Self::Le => x <= threshold,
            Self::Lt => x < threshold,
            Self::Ge => x >= threshold,
            Self::Gt => x > threshold,
            Self::Eq => x == threshold,
            Self::Ne => x != threshold,
        }
    }
}

/// An inner node (see the module docs for where a row goes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Split {
    pub feature: u32,
    pub test: Test,
    pub threshold: f64,
    /// Node indices within the tree.
    pub yes: u32,
    pub no: u32,
    pub nan_yes: bool,
    pub zero_is_missing: bool,
}

impl Split {
    /// Whether row value `x` goes to `yes`.
    #[inline]
    pub(crate) fn goes_yes(&self, x: f32) -> bool {
        if x.is_nan() || (self.zero_is_missing && x == 0.0) {
            self.nan_yes
        } else {
            self.test.holds(f64::from(x), self.threshold)
        }
    }
}

/// One node of a tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Split(Split),
    /// `(output, weight)` pairs, added in this order.
    Leaf(Vec<(u32, f64)>),
}

/// One tree; `nodes[0]` is its root.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
}

/// How the trees' weights are combined per output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Aggregate {
    Sum,
    Average,
    Min,
    Max,
}

/// The floating-point type sums are accumulated in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Precision {
    F32,
    F64,
}

/// Where the base values enter a sum (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BaseAt {
    /// Before the first tree (XGBoost's base margin).
    Start,
    /// After the aggregation (ONNX Runtime).
    End,
}

/// A tree ensemble read from a file, validated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Forest {
    /// Features a row must have (one more than the largest feature index used, or the
    /// width the file declares).
    pub n_features: usize,
    /// Width of the raw score vector.
    pub n_outputs: usize,
    pub trees: Vec<Tree>,
    pub aggregate: Aggregate,
    pub precision: Precision,
    /// One value per output.
    pub base: Vec<f64>,
    pub base_at: BaseAt,
    /// LightGBM reads every |x| ≤ 1e-35 (as f32) as 0 before the trees see it.
    pub flush_tiny_to_zero: bool,
    /// An output no leaf of the row weighted is 0 (see the module docs).
    pub unscored_is_zero: bool,
}

/// LightGBM's `kZeroThreshold` (`1e-35f`): smaller magnitudes are read as 0.
pub(crate) const LIGHTGBM_ZERO: f32 = 1e-35;

/// Why a forest is not well formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ForestError(pub String);

impl fmt::Display for ForestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Forest {
    /// Checks that every tree is a tree (children in range, no node reached twice, no
    /// cycle), every feature and output index is in range, and the base has one value
    /// per output.
    pub(crate) fn validate(&self) -> Result<(), ForestError> {
        let fail = |message: String| Err(ForestError(message));
        if self.n_outputs == 0 {
            return fail("the model has no outputs".into());
        }
        if self.trees.is_empty() {
            return fail("the model has no trees".into());
        }
        if self.base.len() != self.n_outputs {
            return fail(format!(
                "{} base values for {} outputs",
                self.base.len(),
                self.n_outputs
            ));
        }
        for (index, tree) in self.trees.iter().enumerate() {
            self.validate_tree(tree)
                .map_err(|message| ForestError(format!("tree {index}: {message}")))?;
        }
        Ok(())
    }

    fn validate_tree(&self, tree: &Tree) -> Result<(), String> {
        if tree.nodes.is_empty() {
            return Err("no nodes".into());
        }
        let mut reached = vec![false; tree.nodes.len()];
        let mut pending = vec![0u32];
        reached[0] = true;
        while let Some(index) = pending.pop() {
            match &tree.nodes[index as usize] {
                Node::Split(split) => {
                    if split.feature as usize >= self.n_features {
                        return Err(format!(
                            "node {index} splits on feature {} but rows have {}",
                            split.feature, self.n_features
                        ));
                    }
                    if split.threshold.is_nan() {
                        return Err(format!("node {index} has a NaN threshold"));
                    }
                    for child in [split.yes, split.no] {
                        let Some(seen) = reached.get_mut(child as usize) else {
                            return Err(format!(
                                "node {index} points to node {child}, which does not exist"
                            ));
                        };
                        if *seen {
                            return Err(format!(
                                "node {child} is reached twice (the nodes do not form a tree)"
                            ));
                        }
                        *seen = true;
                        pending.push(child);
                    }
                }
                Node::Leaf(weights) => {
                    if let Some((output, _)) =
                        weights.iter().find(|(o, _)| *o as usize >= self.n_outputs)
                    {
                        return Err(format!(
                            "leaf {index} adds to output {output} but the model has {}",
                            self.n_outputs
                        ));
                    }
                    if let Some((_, weight)) = weights.iter().find(|(_, w)| !w.is_finite()) {
                        return Err(format!("leaf {index} has the weight {weight}"));
                    }
                }
            }
        }
        Ok(())
    }

    /// The leaf `row` reaches in `tree` (node by node).
    #[inline]
    pub(crate) fn leaf<'t>(&self, tree: &'t Tree, row: &[f32]) -> &'t [(u32, f64)] {
        let mut index = 0usize;
        loop {
            match &tree.nodes[index] {
                Node::Split(split) => {
                    let x = self.input(row[split.feature as usize]);
                    index = if split.goes_yes(x) {
                        split.yes
                    } else {
                        split.no
                    } as usize;
                }
                Node::Leaf(weights) => return weights,
            }
        }
    }

    /// The value a tree compares for `x`.
    #[inline]
    pub(crate) fn input(&self, x: f32) -> f32 {
        if self.flush_tiny_to_zero && x.abs() <= LIGHTGBM_ZERO {
            0.0
        } else {
            x
        }
    }

    /// The raw scores of one row (see the module docs), widened to f64.
    pub(crate) fn reference_scores(&self, row: &[f32], scores: &mut [f64]) {
        match self.precision {
            Precision::F32 => self.aggregate_row::<f32>(row, scores),
            Precision::F64 => self.aggregate_row::<f64>(row, scores),
        }
    }

    fn aggregate_row<A: Accumulator>(&self, row: &[f32], scores: &mut [f64]) {
        let n = self.n_outputs;
        let mut sums = vec![A::ZERO; n];
        let mut seen = vec![false; n];
        if self.base_at == BaseAt::Start {
            for (sum, &base) in sums.iter_mut().zip(&self.base) {
                *sum = A::from_f64(base);
            }
        }
        for tree in &self.trees {
            for &(output, weight) in self.leaf(tree, row) {
                let (sum, seen) = (&mut sums[output as usize], &mut seen[output as usize]);
                let weight = A::from_f64(weight);
                *sum = match self.aggregate {
                    Aggregate::Sum | Aggregate::Average => *sum + weight,
                    Aggregate::Min if *seen => sum.min(weight),
                    Aggregate::Max if *seen => sum.max(weight),
                    Aggregate::Min | Aggregate::Max => weight,
                };
                *seen = true;
            }
        }
        self.finish(&mut sums);
        for ((score, sum), seen) in scores.iter_mut().zip(sums).zip(seen) {
            *score = if self.unscored_is_zero && !seen {
                0.0
            } else {
                sum.to_f64()
            };
        }
    }

    /// Whether every row gets a weight for every output: some tree weights the output in
    /// each of its leaves.
    pub(crate) fn scores_every_output(&self) -> bool {
        (0..self.n_outputs as u32).all(|output| {
            self.trees.iter().any(|tree| {
                tree.nodes.iter().all(|node| match node {
                    Node::Leaf(weights) => weights.iter().any(|(o, _)| *o == output),
                    Node::Split(_) => true,
                })
            })
        })
    }

    /// Applies the average's division and the base values that come after the trees.
    pub(crate) fn finish<A: Accumulator>(&self, sums: &mut [A]) {
        if self.aggregate == Aggregate::Average {
            let trees = A::from_f64(self.trees.len() as f64);
            sums.iter_mut().for_each(|sum| *sum = *sum / trees);
        }
        if self.base_at == BaseAt::End {
            for (sum, &base) in sums.iter_mut().zip(&self.base) {
                *sum = *sum + A::from_f64(base);
            }
        }
    }
}

/// f32 or f64: the type a forest's sums are accumulated in.
pub(crate) trait Accumulator:
    gauntlet_kernels::trees::Sum + std::ops::Div<Output = Self> + PartialOrd
{
    const ZERO: Self;
    /// Rounds to nearest (exact for every weight a format stores in this type).
    fn from_f64(value: f64) -> Self;
    fn to_f64(self) -> f64;
    /// The values as f32, when they are (the kernels' f32-only vector paths).
    /// ONNX Runtime's `a < b ? a : b` for the aggregates: NaN-free inputs only.
    fn min(self, other: Self) -> Self {
        if other < self {
            other
        } else {
            self
        }
    }
    fn max(self, other: Self) -> Self {
        if other > self {
            other
        } else {
            self
        }
    }
}

impl Accumulator for f32 {
    const ZERO: Self = 0.0;
    fn from_f64(value: f64) -> Self {
        value as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Accumulator for f64 {
    const ZERO: Self = 0.0;
    fn from_f64(value: f64) -> Self {
        value
    }
    fn to_f64(self) -> f64 {
        self
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn split(feature: u32, test: Test, threshold: f64, yes: u32, no: u32) -> Node {
        Node::Split(Split {
            feature,
            test,
            threshold,
            yes,
            no,
            nan_yes: false,
            zero_is_missing: false,
        })
    }

    pub(crate) fn leaf(output: u32, weight: f64) -> Node {
        Node::Leaf(vec![(output, weight)])
    }

    fn stump(test: Test, threshold: f64) -> Forest {
        Forest {
            n_features: 1,
            n_outputs: 1,
            trees: vec![Tree {
                nodes: vec![split(0, test, threshold, 1, 2), leaf(0, 1.0), leaf(0, 2.0)],
            }],
            aggregate: Aggregate::Sum,
            precision: Precision::F32,
            base: vec![0.0],
            base_at: BaseAt::End,
            flush_tiny_to_zero: false,
            unscored_is_zero: false,
        }
    }

    fn score(forest: &Forest, x: f32) -> f64 {
        let mut out = [0.0];
        forest.reference_scores(&[x], &mut out);
        out[0]
    }

    #[test]
    fn every_test_compares_in_its_direction() {
        let cases = [
            (Test::Le, [1.0, 1.0, 2.0]),
            (Test::Lt, [1.0, 2.0, 2.0]),
            (Test::Ge, [2.0, 1.0, 1.0]),
            (Test::Gt, [2.0, 2.0, 1.0]),
            (Test::Eq, [2.0, 1.0, 2.0]),
            (Test::Ne, [1.0, 2.0, 1.0]),
        ];
        for (test, want) in cases {
            let forest = stump(test, 0.5);
            let got = [0.25, 0.5, 0.75].map(|x| score(&forest, x));
            assert_eq!(got, want, "{test:?}");
        }
    }

    #[test]
    fn nan_and_zero_follow_the_missing_rule() {
        let mut forest = stump(Test::Le, 0.5);
        assert_eq!(score(&forest, f32::NAN), 2.0);
        let Node::Split(split) = &mut forest.trees[0].nodes[0] else {
            unreachable!()
        };
        split.nan_yes = true;
        split.threshold = -1.0;
        assert_eq!(score(&forest, f32::NAN), 1.0);
        assert_eq!(score(&forest, 0.0), 2.0);
        let Node::Split(split) = &mut forest.trees[0].nodes[0] else {
            unreachable!()
        };
        split.zero_is_missing = true;
        assert_eq!(score(&forest, 0.0), 1.0);
        assert_eq!(score(&forest, -0.0), 1.0);
    }

    #[test]
    fn tiny_values_are_flushed_only_when_asked() {
        let mut forest = stump(Test::Le, 0.0);
        assert_eq!(score(&forest, 1e-36), 2.0);
        forest.flush_tiny_to_zero = true;
        assert_eq!(score(&forest, 1e-36), 1.0);
        assert_eq!(score(&forest, 2e-35), 2.0);
    }

    #[test]
    fn base_position_changes_the_rounding_as_the_libraries_do() {
        // 2^24 + 1 + 1 in f32: base first rounds twice, base last rounds once.
        let mut forest = stump(Test::Le, 0.0);
        forest.trees[0].nodes[1] = leaf(0, 1.0);
        forest.trees.push(forest.trees[0].clone());
        forest.base = vec![16_777_216.0];
        forest.base_at = BaseAt::Start;
        assert_eq!(score(&forest, -1.0), 16_777_216.0);
        forest.base_at = BaseAt::End;
        assert_eq!(score(&forest, -1.0), 16_777_218.0);
    }

    #[test]
    fn aggregates_follow_their_formulas() {
        let mut forest = stump(Test::Le, 0.0);
        let second = Tree {
            nodes: vec![split(0, Test::Le, 0.0, 1, 2), leaf(0, 4.0), leaf(0, -3.0)],
        };
        forest.trees.push(second);
        forest.base = vec![10.0];
        let expected = [
            (Aggregate::Sum, 15.0, 9.0),
            (Aggregate::Average, 12.5, 9.5),
            (Aggregate::Min, 11.0, 7.0),
            (Aggregate::Max, 14.0, 12.0),
        ];
        for (aggregate, yes, no) in expected {
            forest.aggregate = aggregate;
            assert_eq!([score(&forest, -1.0), score(&forest, 1.0)], [yes, no]);
        }
    }

    #[test]
    fn unscored_outputs_read_zero_when_asked() {
        let mut forest = stump(Test::Le, 0.0);
        forest.n_outputs = 2;
        forest.base = vec![1.0, 2.0];
        let mut out = [0.0; 2];
        forest.reference_scores(&[-1.0], &mut out);
        assert_eq!(out, [2.0, 2.0]);
        assert!(!forest.scores_every_output());
        forest.unscored_is_zero = true;
        forest.reference_scores(&[-1.0], &mut out);
        assert_eq!(out, [2.0, 0.0]);
    }

    #[test]
    fn validation_names_the_tree_and_node() {
        let mut forest = stump(Test::Le, 0.0);
        assert_eq!(forest.validate(), Ok(()));
        forest.trees[0].nodes[0] = split(3, Test::Le, 0.0, 1, 2);
        assert!(forest
            .validate()
            .unwrap_err()
            .0
            .contains("tree 0: node 0 splits on feature 3"));
        forest.trees[0].nodes[0] = split(0, Test::Le, 0.0, 1, 1);
        assert!(forest.validate().unwrap_err().0.contains("reached twice"));
        forest.trees[0].nodes[0] = split(0, Test::Le, 0.0, 1, 7);
        assert!(forest
            .validate()
            .unwrap_err()
            .0
            .contains("node 7, which does not exist"));
        forest.trees[0].nodes[0] = split(0, Test::Le, 0.0, 0, 2);
        assert!(forest.validate().is_err(), "a cycle through the root");
    }
}
