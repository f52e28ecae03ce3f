//! A forest laid out for evaluation over blocks of rows: every split rewritten as
//! `x ≤ t` on an f32 threshold, the block's rows transposed so each feature's values
//! are contiguous, each tree evaluated for the whole block at a time (the tree stays in
//! cache, the rows stay in cache), and leaf values added in the forest's precision in
//! tree order, so the sums are bit for bit those of [`Forest::reference_scores`].
//!
//! Rewriting the tests: for a float32 `x` that is not NaN,
//! - `x ≤ t` ⇔ `x ≤ t'` with `t'` the largest f32 ≤ `t`;
//! - `x < t` ⇔ `x ≤ t'` with `t'` the largest f32 < `t`;
//! - `x ≥ t` and `x > t` are the negations of those two (children swapped).
//!
//! Blocks holding NaN, and forests with tests that cannot be rewritten (`==`, `!=`,
//! LightGBM's zero-as-missing), leaves that add to several outputs (or to different
//! outputs within one tree), the min/max aggregates or outputs some rows leave unscored
//! (see [`Forest::unscored_is_zero`]), are evaluated by the reference walk instead.
//!
//! Three shapes (`gauntlet_kernels::trees` evaluates them):
//! - trees of depth ≤ [`MAX_SELECT_DEPTH`]: complete binary trees in heap order (node
//!   `i` has children `2i + 1` (yes) and `2i + 2`, a leaf above the bottom becomes a
//!   chain of always-yes splits); every split is compared for eight rows at once and
//!   the leaf value chosen by selects from the bottom up, with no branch and no
//!   per-row addressing;
//! - deeper trees up to [`MAX_HEAP_DEPTH`]: the same heap order, walked by several rows
//!   side by side, each exactly `depth` steps;
//! - deeper trees still: their own nodes, leaves pointing to themselves, walked by
//!   several rows side by side until all of them rest on leaves.

use gauntlet_kernels::trees::{
    DeepNode, HeapSplit, HeapSplits, Kernel, MaskSplit, MaskWords, BLOCK_ROWS, MAX_MASK_LEAVES,
    MAX_SELECT_DEPTH,
};

use super::forest::{Accumulator, Aggregate, BaseAt, Forest, Node, Precision, Test, Tree};

/// Deepest tree stored in heap order (2^8 leaves: 4 KB of splits and leaves per tree).
pub(crate) const MAX_HEAP_DEPTH: usize = 8;

#[derive(Debug, Clone, PartialEq)]
enum Shape {
    /// `heap_splits[first..first + 2^depth − 1]`, leaves
    /// `heap_values[first_leaf..first_leaf + 2^depth]`.
    Heap {
        depth: usize,
        first: usize,
        first_leaf: usize,
    },
    /// Splits `mask_splits[first..first + splits]` (see [`MaskWords`]), leaf values
    /// (left to right) `mask_values[first_leaf..first_leaf + 64]`.
    Masks {
        first: usize,
        splits: usize,
        words: MaskWords,
        first_leaf: usize,
    },
    /// Nodes from `deep_nodes[root]`; an index ≥ `first_leaf` is a leaf, its value at
    /// `deep_values[index]`.
    Deep { root: u32, first_leaf: u32 },
}

#[derive(Debug, Clone, PartialEq)]
struct FastTree {
    shape: Shape,
    output: usize,
}

/// The forest in the layout above, with its leaf values in precision `A`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Laid<A> {
    trees: Vec<FastTree>,
    heap_splits: HeapSplits,
    heap_values: Vec<A>,
    mask_splits: Vec<MaskSplit>,
    mask_values: Vec<A>,
    deep_nodes: Vec<DeepNode>,
    /// Indexed like `deep_nodes` (0 for inner nodes).
    deep_values: Vec<A>,
}

/// The layout of a forest in its precision, or `Reference` when only the reference walk
/// can evaluate it (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Layout {
    F32(Laid<f32>),
    F64(Laid<f64>),
    Reference,
}

impl Layout {
    pub(crate) fn new(forest: &Forest) -> Self {
        let fast = matches!(forest.aggregate, Aggregate::Sum | Aggregate::Average)
            && (!forest.unscored_is_zero || forest.scores_every_output())
            && forest.trees.iter().all(|tree| {
                let mut outputs = tree.nodes.iter().filter_map(|node| match node {
                    Node::Leaf(weights) => weights.first().map(|(output, _)| *output),
                    Node::Split(_) => None,
                });
                let first = outputs.next();
                outputs.all(|output| Some(output) == first)
                    && tree.nodes.iter().all(|node| match node {
                        Node::Split(split) => {
                            !split.zero_is_missing && !matches!(split.test, Test::Eq | Test::Ne)
                        }
                        Node::Leaf(weights) => weights.len() == 1,
                    })
            });
        if !fast {
            return Self::Reference;
        }
        match forest.precision {
            Precision::F32 => Self::F32(Laid::new(forest)),
            Precision::F64 => Self::F64(Laid::new(forest)),
        }
    }

    /// Whether blocks without NaN take the fast walk.
    pub(crate) fn is_fast(&self) -> bool {
        !matches!(self, Self::Reference)
    }
}

/// `(threshold', swap)`: the split `x TEST t` as `x ≤ threshold'`, with yes and no
/// swapped when `swap` (see the module docs). A test no float32 satisfies (`x < −∞`)
/// becomes `x ≤ +∞` with the sides swapped: always the other side.
fn as_less_equal(test: Test, threshold: f64) -> (f32, bool) {
    // The largest f32 t' with x ≤ t' ⇔ x ≤ t (or x < t when strict); None if no f32 x
    // satisfies it.
    let below = |strict: bool| {
        let t = threshold as f32;
        let too_high = if strict {
            f64::from(t) >= threshold
        } else {
            f64::from(t) > threshold
        };
        match (too_high, t == f32::NEG_INFINITY) {
            (false, _) => Some(t),
            (true, true) => None,
            (true, false) => Some(next_down(t)),
        }
    };
    let (bound, swap) = match test {
        Test::Le => (below(false), false),
        Test::Lt => (below(true), false),
        Test::Gt => (below(false), true),
        Test::Ge => (below(true), true),
        Test::Eq | Test::Ne => unreachable!("Layout::new keeps ==/!= on the reference walk"),
    };
    match bound {
        Some(t) => (t, swap),
        None => (f32::INFINITY, !swap),
    }
}

/// The largest f32 below `x` (finite or +∞ `x`).
fn next_down(x: f32) -> f32 {
    let bits = x.to_bits();
    if x == 0.0 {
        -f32::from_bits(1)
    } else if x > 0.0 {
        f32::from_bits(bits - 1)
    } else {
        f32::from_bits(bits + 1)
    }
}

fn depth(tree: &Tree, node: usize) -> usize {
    match &tree.nodes[node] {
        Node::Leaf(_) => 0,
        Node::Split(split) => {
            1 + depth(tree, split.yes as usize).max(depth(tree, split.no as usize))
        }
    }
}

fn leaf_value(node: &Node) -> (usize, f64) {
    match node {
        Node::Leaf(weights) => (weights[0].0 as usize, weights[0].1),
        Node::Split(_) => unreachable!("called on leaves only"),
    }
}

impl<A: Accumulator> Laid<A> {
    fn new(forest: &Forest) -> Self {
        let mut laid = Self {
            trees: Vec::with_capacity(forest.trees.len()),
            heap_splits: HeapSplits::default(),
            heap_values: Vec::new(),
            mask_splits: Vec::new(),
            mask_values: Vec::new(),
            deep_nodes: Vec::new(),
            deep_values: Vec::new(),
        };
        for tree in &forest.trees {
            let depth = depth(tree, 0);
            let leaves = tree
                .nodes
                .iter()
                .filter(|n| matches!(n, Node::Leaf(_)))
                .count();
            let fast = if depth <= MAX_HEAP_DEPTH {
                laid.push_heap(tree, depth)
            } else if leaves <= MAX_MASK_LEAVES {
                laid.push_masks(tree)
            } else {
                laid.push_deep(tree)
            };
            laid.trees.push(fast);
        }
        laid
    }

    fn push_heap(&mut self, tree: &Tree, depth: usize) -> FastTree {
        let first = self.heap_splits.len();
        let first_leaf = self.heap_values.len();
        let inner = (1usize << depth) - 1;
        let always_yes = HeapSplit {
            feature: 0,
            threshold: f32::INFINITY,
        };
        self.heap_splits.extend_repeated(inner, always_yes);
        self.heap_values
            .resize(first_leaf + (1usize << depth), A::ZERO);
        let mut output = 0;
        // (tree node, heap position); a leaf above the bottom walks down its yes side.
        let mut pending = vec![(0usize, 0usize)];
        while let Some((node, position)) = pending.pop() {
            match &tree.nodes[node] {
                Node::Split(split) => {
                    let (threshold, swap) = as_less_equal(split.test, split.threshold);
                    let laid = HeapSplit {
                        feature: split.feature * BLOCK_ROWS as u32,
                        threshold,
                    };
                    self.heap_splits.set(first + position, laid);
                    let (yes, no) = if swap {
                        (split.no, split.yes)
                    } else {
                        (split.yes, split.no)
                    };
                    pending.push((yes as usize, 2 * position + 1));
                    pending.push((no as usize, 2 * position + 2));
                }
                leaf => {
                    let mut position = position;
                    while position < inner {
                        position = 2 * position + 1;
                    }
                    let (leaf_output, value) = leaf_value(leaf);
                    output = leaf_output;
                    self.heap_values[first_leaf + position - inner] = A::from_f64(value);
                }
            }
        }
        FastTree {
            shape: Shape::Heap {
                depth,
                first,
                first_leaf,
            },
            output,
        }
    }

    fn push_masks(&mut self, tree: &Tree) -> FastTree {
        let first = self.mask_splits.len();
        let first_leaf = self.mask_values.len();
        self.mask_values
            .resize(first_leaf + MAX_MASK_LEAVES, A::ZERO);
        let mut output = 0;
        // Depth first, yes side first: leaves get their left-to-right numbers; a split
        // learns its yes side's leaf range once that side is done.
        let mut next_leaf = 0usize;
        let mut pending = vec![(0usize, false)];
        let mut opened: Vec<(usize, usize)> = Vec::new();
        while let Some((node, yes_done)) = pending.pop() {
            match &tree.nodes[node] {
                Node::Split(split) if !yes_done => {
                    let (threshold, swap) = as_less_equal(split.test, split.threshold);
                    let (yes, no) = if swap {
                        (split.no, split.yes)
                    } else {
                        (split.yes, split.no)
                    };
                    self.mask_splits.push(MaskSplit {
                        feature: split.feature * BLOCK_ROWS as u32,
                        threshold,
                        clear: [0; 2],
                    });
                    opened.push((self.mask_splits.len() - 1, next_leaf));
                    pending.push((no as usize, false));
                    pending.push((node, true));
                    pending.push((yes as usize, false));
                }
                Node::Split(_) => {
                    // Its yes side is finished: leaves [start, next_leaf) are cleared
                    // when the split is false.
                    let (index, start) = opened.pop().expect("a split was opened");
                    let bits = (start..next_leaf).fold(0u64, |bits, leaf| bits | 1 << leaf);
                    self.mask_splits[index].clear = [bits as u32, (bits >> 32) as u32];
                }
                leaf => {
                    let (leaf_output, value) = leaf_value(leaf);
                    output = leaf_output;
                    self.mask_values[first_leaf + next_leaf] = A::from_f64(value);
                    next_leaf += 1;
                }
            }
        }
        let splits = &mut self.mask_splits[first..];
        let word_use = |split: &MaskSplit| match split.clear {
            [_, 0] => 1,
            [0, _] => 2,
            _ => 0,
        };
        splits.sort_by_key(word_use);
        let words = MaskWords {
            both: splits.iter().filter(|s| word_use(s) == 0).count(),
            low: splits.iter().filter(|s| word_use(s) == 1).count(),
        };
        FastTree {
            shape: Shape::Masks {
                first,
                splits: splits.len(),
                words,
                first_leaf,
            },
            output,
        }
    }

    fn push_deep(&mut self, tree: &Tree) -> FastTree {
        // Inner nodes first (in tree order), then the leaves, so "index ≥ first_leaf"
        // tells a leaf.
        let base = self.deep_nodes.len();
        let mut position = vec![0u32; tree.nodes.len()];
        let inner: Vec<usize> = (0..tree.nodes.len())
            .filter(|&i| matches!(tree.nodes[i], Node::Split(_)))
            .collect();
        let leaves: Vec<usize> = (0..tree.nodes.len())
            .filter(|&i| matches!(tree.nodes[i], Node::Leaf(_)))
            .collect();
        for (offset, &node) in inner.iter().chain(&leaves).enumerate() {
            position[node] = (base + offset) as u32;
        }
        let mut output = 0;
        for &node in inner.iter().chain(&leaves) {
            let at = position[node];
            match &tree.nodes[node] {
                Node::Split(split) => {
                    let (threshold, swap) = as_less_equal(split.test, split.threshold);
                    let (yes, no) = (position[split.yes as usize], position[split.no as usize]);
                    let (yes, no) = if swap { (no, yes) } else { (yes, no) };
                    self.deep_nodes.push(DeepNode {
                        feature: split.feature * BLOCK_ROWS as u32,
                        threshold,
                        children: [yes, no],
                    });
                    self.deep_values.push(A::ZERO);
                }
                leaf => {
                    let (leaf_output, value) = leaf_value(leaf);
                    output = leaf_output;
                    self.deep_nodes.push(DeepNode {
                        feature: 0,
                        threshold: f32::INFINITY,
                        children: [at, at],
                    });
                    self.deep_values.push(A::from_f64(value));
                }
            }
        }
        FastTree {
            shape: Shape::Deep {
                root: position[0],
                first_leaf: (base + inner.len()) as u32,
            },
            output,
        }
    }

    /// Adds every tree's leaf value to `sums` (`[n_outputs][BLOCK_ROWS]`, already
    /// holding the base when it comes first) for the rows of `columns`
    /// (`[n_features][BLOCK_ROWS]`, no NaN).
    fn add_trees(&self, kernel: Kernel, columns: &[f32], sums: &mut [A]) {
        for tree in &self.trees {
            let sums = &mut sums[tree.output * BLOCK_ROWS..(tree.output + 1) * BLOCK_ROWS];
            match tree.shape {
                Shape::Heap {
                    depth,
                    first,
                    first_leaf,
                } => {
                    let heap = self.heap_splits.tree(first, depth);
                    let values = &self.heap_values[first_leaf..first_leaf + (1 << depth)];
                    if depth <= MAX_SELECT_DEPTH {
                        kernel.select_tree(depth, heap.splits(), values, columns, sums);
                    } else {
                        kernel.walk_heap(heap, values, columns, sums);
                    }
                }
                Shape::Masks {
                    first,
                    splits,
                    words,
                    first_leaf,
                } => kernel.mask_tree(
                    &self.mask_splits[first..first + splits],
                    words,
                    &self.mask_values[first_leaf..first_leaf + MAX_MASK_LEAVES],
                    columns,
                    sums,
                ),
                Shape::Deep { root, first_leaf } => kernel.walk_deep(
                    &self.deep_nodes,
                    &self.deep_values,
                    root,
                    first_leaf,
                    columns,
                    sums,
                ),
            }
        }
    }
}

/// Reusable buffers of one evaluating thread.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    columns: Vec<f32>,
    f32_sums: Vec<f32>,
    f64_sums: Vec<f64>,
}

/// The raw scores (widened to f64) of `block`'s rows (row-major, at most
/// [`BLOCK_ROWS`]) into `scores` (`[rows, n_outputs]`): the fast walk when `layout` has
/// one and the block holds no NaN, else the reference.
pub(crate) fn block_scores(
    forest: &Forest,
    layout: &Layout,
    kernel: Kernel,
    block: &[f32],
    scores: &mut [f64],
    scratch: &mut Scratch,
) {
    let n = forest.n_outputs;
    let f = forest.n_features;
    // Every block is checked, few hold NaN: a branch-free pass.
    let clean = !block.iter().fold(false, |nan, x| nan | x.is_nan());
    if clean && layout.is_fast() {
        transpose(block, f, &mut scratch.columns);
    }
    match layout {
        Layout::F32(laid) if clean => fast_scores(
            forest,
            laid,
            kernel,
            &scratch.columns,
            block.len() / f,
            scores,
            &mut scratch.f32_sums,
        ),
        Layout::F64(laid) if clean => fast_scores(
            forest,
            laid,
            kernel,
            &scratch.columns,
            block.len() / f,
            scores,
            &mut scratch.f64_sums,
        ),
        _ => {
            for (row, out) in block.chunks_exact(f).zip(scores.chunks_exact_mut(n)) {
                forest.reference_scores(row, out);
            }
        }
    }
}

/// `block` (row-major, `n_features` per row, at most [`BLOCK_ROWS`] rows) as
/// `[n_features][BLOCK_ROWS]`, rows past its end 0.
fn transpose(block: &[f32], n_features: usize, columns: &mut Vec<f32>) {
    columns.clear();
    columns.resize(n_features * BLOCK_ROWS, 0.0);
    // Column by column: strided reads, contiguous writes (writes 256 bytes apart alias
    // in the store buffer).
    for (feature, column) in columns.chunks_exact_mut(BLOCK_ROWS).enumerate() {
        for (slot, row) in column.iter_mut().zip(block.chunks_exact(n_features)) {
            *slot = row[feature];
        }
    }
}

fn fast_scores<A: Accumulator>(
    forest: &Forest,
    laid: &Laid<A>,
    kernel: Kernel,
    columns: &[f32],
    rows: usize,
    scores: &mut [f64],
    sums: &mut Vec<A>,
) {
    let n = forest.n_outputs;
    sums.clear();
    for output in 0..n {
        let start = match forest.base_at {
            BaseAt::Start => A::from_f64(forest.base[output]),
            BaseAt::End => A::ZERO,
        };
        sums.extend(std::iter::repeat_n(start, BLOCK_ROWS));
    }
    // The last n values hold one row's sums at a time.
    sums.resize(n * BLOCK_ROWS + n, A::ZERO);
    let (sums, row_sums) = sums.split_at_mut(n * BLOCK_ROWS);
    laid.add_trees(kernel, columns, sums);
    for (row, out) in scores.chunks_exact_mut(n).take(rows).enumerate() {
        for (output, sum) in row_sums.iter_mut().enumerate() {
            *sum = sums[output * BLOCK_ROWS + row];
        }
        forest.finish(row_sums);
        for (slot, sum) in out.iter_mut().zip(row_sums.iter()) {
            *slot = sum.to_f64();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rewritten test sends every float32 (the edges of the range, signed zeros,
    /// subnormals, and the neighbours of each threshold) where the original test does.
    #[test]
    fn rewritten_tests_agree_with_the_originals() {
        let thresholds = [
            f64::NEG_INFINITY,
            -1e300,
            f64::from(f32::MIN),
            -1.5,
            -0.1,
            -1e-40,
            -0.0,
            0.0,
            1e-45,
            1.000_000_018_002_509_5e-35,
            0.1,
            0.3,
            1.0,
            f64::from(f32::MAX),
            1e300,
            f64::INFINITY,
        ];
        for &t in &thresholds {
            let near = t as f32;
            let mut xs = vec![
                f32::NEG_INFINITY,
                f32::MIN,
                -1.0,
                -0.0,
                0.0,
                f32::from_bits(1),
                -f32::from_bits(1),
                1.0,
                f32::MAX,
                f32::INFINITY,
                near,
            ];
            if near.is_finite() {
                xs.extend([next_down(near), -next_down(-near)]);
            }
            for test in [Test::Le, Test::Lt, Test::Ge, Test::Gt] {
                let (bound, swap) = as_less_equal(test, t);
                for &x in &xs {
                    let original = match test {
                        Test::Le => f64::from(x) <= t,
                        Test::Lt => f64::from(x) < t,
                        Test::Ge => f64::from(x) >= t,
                        Test::Gt => f64::from(x) > t,
                        Test::Eq | Test::Ne => unreachable!(),
                    };
                    // The kernels take the (swapped) no side when x > bound.
                    let rewritten = (x > bound) == swap;
                    assert_eq!(rewritten, original, "{test:?} {t:e}, x = {x:e}");
                }
            }
        }
    }
}
