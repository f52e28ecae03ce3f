//! A forest laid out for evaluation over blocks of rows: every split rewritten as
//! `x ≤ t` on an f32 threshold, each tree walked for a block of rows at a time (the
//! tree stays in cache, the rows stay in cache, several rows walk side by side), and
//! leaf values added in the forest's precision in tree order, so the sums are bit for
//! bit those of [`Forest::reference_scores`].
//!
//! Rewriting the tests: for a float32 `x` that is not NaN,
//! - `x ≤ t` ⇔ `x ≤ t'` with `t'` the largest f32 ≤ `t`;
//! - `x < t` ⇔ `x ≤ t'` with `t'` the largest f32 < `t`;
//! - `x ≥ t` and `x > t` are the negations of those two (children swapped).
//!
//! Blocks holding NaN, and forests with tests that cannot be rewritten (`==`, `!=`,
//! LightGBM's zero-as-missing), leaves that add to several outputs (or to different
//! outputs within one tree) or the min/max aggregates, are evaluated by the reference
//! walk instead.
//!
//! Trees whose depth is at most [`MAX_HEAP_DEPTH`] are stored as complete binary trees
//! in heap order (node `i` has children `2i + 1` (yes) and `2i + 2`); a leaf above the
//! bottom becomes a chain of always-yes splits, so every row takes exactly `depth` steps
//! with no branch. Deeper trees keep their own shape, with leaves that point to
//! themselves, and a block's rows step together until all of them rest on leaves.

use super::forest::{Accumulator, Aggregate, BaseAt, Forest, Node, Precision, Test, Tree};

/// Deepest tree stored in heap order (2^8 leaves: 4 KB of splits and leaves per tree).
pub(crate) const MAX_HEAP_DEPTH: usize = 8;

/// Rows evaluated together: their features (31 × 4 B each) and sums stay in L1.
pub(crate) const BLOCK_ROWS: usize = 64;

/// Rows that walk a tree side by side (independent chains of loads for the CPU).
const LANES: usize = 8;

/// An `x ≤ threshold` split: yes = `2i + 1` in a heap tree, `yes` in a deep one.
#[derive(Debug, Clone, Copy, PartialEq)]
struct HeapSplit {
    feature: u32,
    threshold: f32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct DeepNode {
    feature: u32,
    threshold: f32,
    yes: u32,
    no: u32,
}

#[derive(Debug, Clone, PartialEq)]
enum Shape {
    /// `splits[first..first + 2^depth − 1]`, leaves `values[first_leaf..+2^depth]`.
    Heap {
        depth: u32,
        first: usize,
        first_leaf: usize,
    },
    /// Nodes `nodes[root..]`; a node index ≥ `first_leaf` is a leaf (its value at
    /// `values[index]`, offset by `leaf_offset`).
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
    heap_splits: Vec<HeapSplit>,
    heap_values: Vec<A>,
    deep_nodes: Vec<DeepNode>,
    /// Indexed like `deep_nodes` (0 for inner nodes).
    deep_values: Vec<A>,
}

/// The layout of a forest, in its precision; `None` when only the reference walk can
/// evaluate it (see the module docs).
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
/// swapped when `swap` (see the module docs). A NaN threshold' is never true.
fn as_less_equal(test: Test, threshold: f64) -> (f32, bool) {
    let below = |strict: bool| {
        let mut t = threshold as f32;
        let too_high = if strict {
            f64::from(t) >= threshold
        } else {
            f64::from(t) > threshold
        };
        if too_high {
            if t == f32::NEG_INFINITY {
                return f32::NAN;
            }
            t = next_down(t);
        }
        t
    };
    match test {
        Test::Le => (below(false), false),
        Test::Lt => (below(true), false),
        Test::Gt => (below(false), true),
        Test::Ge => (below(true), true),
        Test::Eq | Test::Ne => unreachable!("Layout::new keeps ==/!= on the reference walk"),
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
            heap_splits: Vec::new(),
            heap_values: Vec::new(),
            deep_nodes: Vec::new(),
            deep_values: Vec::new(),
        };
        for tree in &forest.trees {
            let depth = depth(tree, 0);
            let fast = if depth <= MAX_HEAP_DEPTH {
                laid.push_heap(tree, depth)
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
        self.heap_splits.resize(first + inner, always_yes);
        self.heap_values
            .resize(first_leaf + (1usize << depth), A::ZERO);
        let mut output = 0;
        // (tree node, heap position); a leaf above the bottom walks down its yes side.
        let mut pending = vec![(0usize, 0usize)];
        while let Some((node, position)) = pending.pop() {
            match &tree.nodes[node] {
                Node::Split(split) => {
                    let (threshold, swap) = as_less_equal(split.test, split.threshold);
                    self.heap_splits[first + position] = HeapSplit {
                        feature: split.feature,
                        threshold,
                    };
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
                depth: depth as u32,
                first,
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
                        feature: split.feature,
                        threshold,
                        yes,
                        no,
                    });
                    self.deep_values.push(A::ZERO);
                }
                leaf => {
                    let (leaf_output, value) = leaf_value(leaf);
                    output = leaf_output;
                    self.deep_nodes.push(DeepNode {
                        feature: 0,
                        threshold: f32::INFINITY,
                        yes: at,
                        no: at,
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

    /// Adds every tree's leaf value to `sums` (`[rows, n_outputs]`, already holding the
    /// base when it comes first) for the rows of `block` (`[rows, n_features]`, no NaN).
    pub(crate) fn add_trees(
        &self,
        block: &[f32],
        n_features: usize,
        sums: &mut [A],
        n_outputs: usize,
    ) {
        let rows = block.len() / n_features;
        for tree in &self.trees {
            match tree.shape {
                Shape::Heap {
                    depth,
                    first,
                    first_leaf,
                } => {
                    let inner = (1usize << depth) - 1;
                    let splits = &self.heap_splits[first..first + inner];
                    let values = &self.heap_values[first_leaf..first_leaf + inner + 1];
                    walk_heap(
                        splits,
                        values,
                        depth,
                        block,
                        n_features,
                        rows,
                        |row, value| {
                            let sum = &mut sums[row * n_outputs + tree.output];
                            *sum = *sum + value;
                        },
                    );
                }
                Shape::Deep { root, first_leaf } => {
                    walk_deep(
                        &self.deep_nodes,
                        root,
                        first_leaf,
                        block,
                        n_features,
                        rows,
                        |row, leaf| {
                            let sum = &mut sums[row * n_outputs + tree.output];
                            *sum = *sum + self.deep_values[leaf as usize];
                        },
                    );
                }
            }
        }
    }
}

#[inline]
fn walk_heap<A: Copy>(
    splits: &[HeapSplit],
    values: &[A],
    depth: u32,
    block: &[f32],
    n_features: usize,
    rows: usize,
    mut add: impl FnMut(usize, A),
) {
    let inner = splits.len();
    let mut row = 0;
    while row + LANES <= rows {
        let mut at = [0usize; LANES];
        for _ in 0..depth {
            for (lane, at) in at.iter_mut().enumerate() {
                let split = splits[*at];
                let x = block[(row + lane) * n_features + split.feature as usize];
                *at = 2 * *at + 1 + usize::from(x > split.threshold);
            }
        }
        for (lane, at) in at.iter().enumerate() {
            add(row + lane, values[at - inner]);
        }
        row += LANES;
    }
    for row in row..rows {
        let mut at = 0usize;
        for _ in 0..depth {
            let split = splits[at];
            let x = block[row * n_features + split.feature as usize];
            at = 2 * at + 1 + usize::from(x > split.threshold);
        }
        add(row, values[at - inner]);
    }
}

#[inline]
fn walk_deep(
    nodes: &[DeepNode],
    root: u32,
    first_leaf: u32,
    block: &[f32],
    n_features: usize,
    rows: usize,
    mut add: impl FnMut(usize, u32),
) {
    let step = |at: u32, row: usize| {
        let node = nodes[at as usize];
        let x = block[row * n_features + node.feature as usize];
        if x <= node.threshold {
            node.yes
        } else {
            node.no
        }
    };
    let mut row = 0;
    while row + LANES <= rows {
        let mut at = [root; LANES];
        while at.iter().any(|&a| a < first_leaf) {
            for (lane, at) in at.iter_mut().enumerate() {
                *at = step(*at, row + lane);
            }
        }
        for (lane, &at) in at.iter().enumerate() {
            add(row + lane, at);
        }
        row += LANES;
    }
    for row in row..rows {
        let mut at = root;
        while at < first_leaf {
            at = step(at, row);
        }
        add(row, at);
    }
}

/// The raw scores (widened to f64) of `block`'s rows into `scores` (`[rows, n_outputs]`):
/// the fast walk when `layout` has one and the block holds no NaN, else the reference.
/// `sums` is scratch space.
pub(crate) fn block_scores(
    forest: &Forest,
    layout: &Layout,
    block: &[f32],
    scores: &mut [f64],
    scratch: &mut Scratch,
) {
    let n = forest.n_outputs;
    let f = forest.n_features;
    let clean = !block.iter().any(|x| x.is_nan());
    match layout {
        Layout::F32(laid) if clean => {
            fast_scores(forest, laid, block, scores, &mut scratch.f32_sums)
        }
        Layout::F64(laid) if clean => {
            fast_scores(forest, laid, block, scores, &mut scratch.f64_sums)
        }
        _ => {
            for (row, out) in block.chunks_exact(f).zip(scores.chunks_exact_mut(n)) {
                forest.reference_scores(row, out);
            }
        }
    }
}

fn fast_scores<A: Accumulator>(
    forest: &Forest,
    laid: &Laid<A>,
    block: &[f32],
    scores: &mut [f64],
    sums: &mut Vec<A>,
) {
    let n = forest.n_outputs;
    sums.clear();
    let rows = block.len() / forest.n_features;
    match forest.base_at {
        BaseAt::Start => {
            for _ in 0..rows {
                sums.extend(forest.base.iter().map(|&b| A::from_f64(b)));
            }
        }
        BaseAt::End => sums.resize(rows * n, A::ZERO),
    }
    laid.add_trees(block, forest.n_features, sums, n);
    for (row_sums, out) in sums.chunks_exact_mut(n).zip(scores.chunks_exact_mut(n)) {
        forest.finish(row_sums);
        for (slot, sum) in out.iter_mut().zip(row_sums.iter()) {
            *slot = sum.to_f64();
        }
    }
}

/// Reusable buffers of one evaluating thread.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    f32_sums: Vec<f32>,
    f64_sums: Vec<f64>,
}
