//! The tree-ensemble evaluator's inner loops over one transposed block of rows
//! (`[feature][BLOCK_ROWS]`), and the node types they read (the evaluator in
//! `gauntlet-strategies` lays a forest out in them).
//!
//! The loops are compiled twice: as portable Rust, and with AVX2 enabled on x86-64 CPUs
//! that have it, where LLVM turns the eight-row selects into vector compares and blends;
//! two of them are written in AVX2 intrinsics. Both paths perform the same comparisons
//! and the same additions in the same order, so they give the same bits; the
//! evaluator's tests compare them on every fixture.

use std::ops::Add;

/// Deepest tree whose leaf is chosen by selects (eight leaves: they fit in registers).
pub const MAX_SELECT_DEPTH: usize = 3;

/// Most leaves of a deep tree evaluated by leaf masks (two 32-bit words).
pub const MAX_MASK_LEAVES: usize = 64;

/// Rows evaluated together: their features (31 × 4 B each) and sums stay in L1.
pub const BLOCK_ROWS: usize = 64;

/// An `x ≤ threshold` split in heap order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeapSplit {
    /// The feature's offset in a transposed block (feature × BLOCK_ROWS).
    pub feature: u32,
    pub threshold: f32,
}

/// The heap-ordered splits of many trees (each tree's `2^depth − 1` in a row), and the
/// largest column offset any of them reads, kept up to date as splits are set: a walk
/// then checks its block once rather than at every step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HeapSplits {
    splits: Vec<HeapSplit>,
    last_read: u32,
}

impl HeapSplits {
    pub fn len(&self) -> usize {
        self.splits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.splits.is_empty()
    }

    /// Appends `count` copies of `split`.
    pub fn extend_repeated(&mut self, count: usize, split: HeapSplit) {
        self.last_read = self.last_read.max(split.feature);
        self.splits.extend(std::iter::repeat_n(split, count));
    }

    /// Replaces split `index`.
    ///
    /// # Panics
    /// When `index` is out of range.
    pub fn set(&mut self, index: usize, split: HeapSplit) {
        self.last_read = self.last_read.max(split.feature);
        self.splits[index] = split;
    }

    /// The tree of depth `depth` whose splits start at `first`.
    ///
    /// # Panics
    /// When its `2^depth − 1` splits are not all here.
    pub fn tree(&self, first: usize, depth: usize) -> HeapTree<'_> {
        HeapTree {
            splits: &self.splits[first..first + (1 << depth) - 1],
            depth,
            last_read: self.last_read,
        }
    }
}

/// One tree of [`HeapSplits`].
#[derive(Debug, Clone, Copy)]
pub struct HeapTree<'a> {
    splits: &'a [HeapSplit],
    depth: usize,
    /// At least every split's column offset.
    last_read: u32,
}

impl<'a> HeapTree<'a> {
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Its `2^depth − 1` splits.
    pub fn splits(&self) -> &'a [HeapSplit] {
        self.splits
    }
}

/// A split of a deep tree evaluated by masks: `x > threshold` clears the leaves of its
/// yes side (bits `clear` of the tree's leaf words; leaves numbered left to right).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaskSplit {
    /// The feature's offset in a transposed block (feature × BLOCK_ROWS).
    pub feature: u32,
    pub threshold: f32,
    /// The two 32-bit words of the tree's leaf mask this split clears when false.
    pub clear: [u32; 2],
}

/// How a masked tree's splits are ordered: first `both` splits that clear leaves in
/// both words, then `low` that clear only low-word leaves, then the rest (high word
/// only). The order of the splits does not change the result (the clears commute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaskWords {
    pub both: usize,
    pub low: usize,
}

/// A split of a deep tree: to `children[0]` when `x ≤ threshold`, else to
/// `children[1]`; a leaf points to itself with an infinite threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeepNode {
    /// The feature's offset in a transposed block (feature × BLOCK_ROWS).
    pub feature: u32,
    pub threshold: f32,
    pub children: [u32; 2],
}

/// The precision leaf values are summed in: `f32` or `f64`.
pub trait Sum: Copy + Add<Output = Self> {
    /// The values as f32, when they are (the f32-only vector paths).
    fn as_f32(values: &[Self]) -> Option<&[f32]>;
    fn as_f32_mut(values: &mut [Self]) -> Option<&mut [f32]>;
}

impl Sum for f32 {
    fn as_f32(values: &[Self]) -> Option<&[f32]> {
        Some(values)
    }
    fn as_f32_mut(values: &mut [Self]) -> Option<&mut [f32]> {
        Some(values)
    }
}

impl Sum for f64 {
    fn as_f32(_: &[Self]) -> Option<&[f32]> {
        None
    }
    fn as_f32_mut(_: &mut [Self]) -> Option<&mut [f32]> {
        None
    }
}

/// Rows that go through a tree side by side (one AVX2 vector of f32).
const LANES: usize = 8;

/// Which compilation of the loops runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kernel(Compiled);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compiled {
    Portable,
    /// Only made by [`Kernel::detect`] on a CPU with AVX2.
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Kernel {
    /// The AVX2 compilation when the CPU supports it, else the portable one.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if crate::cpu::avx2() {
            return Self(Compiled::Avx2);
        }
        Self::portable()
    }

    pub fn portable() -> Self {
        Self(Compiled::Portable)
    }

    /// Adds to `sums[r]` the leaf value row `r` of `columns` reaches in the heap-ordered
    /// tree of `depth ≤ MAX_SELECT_DEPTH` (`splits`: 2^depth − 1, `values`: 2^depth).
    pub fn select_tree<A: Sum>(
        self,
        depth: usize,
        splits: &[HeapSplit],
        values: &[A],
        columns: &[f32],
        sums: &mut [A],
    ) {
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Compiled::Avx2` is only made by `detect`, on a CPU with AVX2.
            Compiled::Avx2 => match (A::as_f32(values), A::as_f32_mut(sums)) {
                // SAFETY: as above.
                (Some(values), Some(sums)) => unsafe {
                    select_f32_avx2(depth, splits, values, columns, sums)
                },
                // SAFETY: as above.
                _ => unsafe { select_tree_avx2(depth, splits, values, columns, sums) },
            },
            Compiled::Portable => select_tree_here(depth, splits, values, columns, sums),
        }
    }

    /// Adds to `sums[r]` the leaf value row `r` reaches in a heap-ordered tree of any
    /// depth, walking `depth` steps.
    pub fn walk_heap<A: Sum>(
        self,
        tree: HeapTree<'_>,
        values: &[A],
        columns: &[f32],
        sums: &mut [A],
    ) {
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Compiled::Avx2` is only made by `detect`, on a CPU with AVX2.
            Compiled::Avx2 => unsafe { walk_heap_avx2(tree, values, columns, sums) },
            Compiled::Portable => walk_heap_here(tree, values, columns, sums),
        }
    }

    /// Adds to `sums[r]` the value of the leaf row `r` reaches in a tree of at most 64
    /// leaves given as mask splits (`values`: 64, left to right).
    pub fn mask_tree<A: Sum>(
        self,
        splits: &[MaskSplit],
        words: MaskWords,
        values: &[A],
        columns: &[f32],
        sums: &mut [A],
    ) {
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Compiled::Avx2` is only made by `detect`, on a CPU with AVX2.
            Compiled::Avx2 => unsafe { mask_tree_avx2(splits, words, values, columns, sums) },
            Compiled::Portable => mask_tree_here(splits, values, columns, sums),
        }
    }

    /// Adds to `sums[r]` the value of the leaf row `r` reaches from `nodes[root]`
    /// (leaves: indices ≥ `first_leaf`, pointing to themselves).
    pub fn walk_deep<A: Sum>(
        self,
        nodes: &[DeepNode],
        values: &[A],
        root: u32,
        first_leaf: u32,
        columns: &[f32],
        sums: &mut [A],
    ) {
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Compiled::Avx2` is only made by `detect`, on a CPU with AVX2.
            Compiled::Avx2 => unsafe {
                walk_deep_avx2(nodes, values, root, first_leaf, columns, sums)
            },
            Compiled::Portable => walk_deep_here(nodes, values, root, first_leaf, columns, sums),
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn select_tree_avx2<A: Sum>(
    depth: usize,
    splits: &[HeapSplit],
    values: &[A],
    columns: &[f32],
    sums: &mut [A],
) {
    select_tree_here(depth, splits, values, columns, sums);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn walk_heap_avx2<A: Sum>(tree: HeapTree<'_>, values: &[A], columns: &[f32], sums: &mut [A]) {
    walk_heap_here(tree, values, columns, sums);
}

/// [`mask_tree_here`] in AVX2 intrinsics: LLVM vectorizes that loop with half-width
/// vectors and blends, twice the instructions of one compare and two and-nots per
/// split; and splits that clear leaves in one word only skip the other word.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn mask_tree_avx2<A: Sum>(
    splits: &[MaskSplit],
    words: MaskWords,
    values: &[A],
    columns: &[f32],
    sums: &mut [A],
) {
    use std::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_andnot_si256, _mm256_castps_si256, _mm256_cmp_ps,
        _mm256_loadu_ps, _mm256_set1_epi32, _mm256_set1_ps, _mm256_storeu_si256, _CMP_GT_OQ,
    };
    let values: &[A; MAX_MASK_LEAVES] = values.try_into().expect("64 leaf values");
    let sums: &mut [A; BLOCK_ROWS] = sums.try_into().expect("sums hold BLOCK_ROWS values");
    assert!(words.both + words.low <= splits.len());
    assert!(splits
        .iter()
        .all(|split| split.feature as usize + BLOCK_ROWS <= columns.len()));
    let (both, rest) = splits.split_at(words.both);
    let (low_only, high_only) = rest.split_at(words.low);
    for first_row in (0..BLOCK_ROWS).step_by(LANES) {
        // All ones in the lanes whose row does not satisfy `x ≤ threshold`.
        let false_split = |split: &MaskSplit| {
            // SAFETY: `split.feature + first_row + LANES ≤ feature + BLOCK_ROWS ≤
            // columns.len()` (asserted above), so the eight floats read are in bounds.
            let x = unsafe {
                _mm256_loadu_ps(columns.as_ptr().add(split.feature as usize + first_row))
            };
            _mm256_castps_si256(_mm256_cmp_ps::<_CMP_GT_OQ>(
                x,
                _mm256_set1_ps(split.threshold),
            ))
        };
        let clear = |standing: __m256i, false_split: __m256i, bits: u32| {
            _mm256_andnot_si256(
                _mm256_and_si256(false_split, _mm256_set1_epi32(bits as i32)),
                standing,
            )
        };
        let mut low = _mm256_set1_epi32(-1);
        let mut high = _mm256_set1_epi32(-1);
        for split in both {
            let f = false_split(split);
            low = clear(low, f, split.clear[0]);
            high = clear(high, f, split.clear[1]);
        }
        for split in low_only {
            low = clear(low, false_split(split), split.clear[0]);
        }
        for split in high_only {
            high = clear(high, false_split(split), split.clear[1]);
        }
        let (mut low_lanes, mut high_lanes) = ([0u32; LANES], [0u32; LANES]);
        // SAFETY: each array holds exactly the 32 bytes one unaligned store writes.
        unsafe {
            _mm256_storeu_si256(low_lanes.as_mut_ptr().cast::<__m256i>(), low);
            _mm256_storeu_si256(high_lanes.as_mut_ptr().cast::<__m256i>(), high);
        }
        add_leaves(
            values,
            &low_lanes,
            &high_lanes,
            &mut sums[first_row..first_row + LANES],
        );
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn walk_deep_avx2<A: Sum>(
    nodes: &[DeepNode],
    values: &[A],
    root: u32,
    first_leaf: u32,
    columns: &[f32],
    sums: &mut [A],
) {
    walk_deep_here(nodes, values, root, first_leaf, columns, sums);
}

#[inline(always)]
fn select_tree_here<A: Sum>(
    depth: usize,
    splits: &[HeapSplit],
    values: &[A],
    columns: &[f32],
    sums: &mut [A],
) {
    match depth {
        0 => select_depth::<A, 0, 1>(splits, values, columns, sums),
        1 => select_depth::<A, 1, 2>(splits, values, columns, sums),
        2 => select_depth::<A, 2, 4>(splits, values, columns, sums),
        3 => select_depth::<A, 3, 8>(splits, values, columns, sums),
        4 => select_depth::<A, 4, 16>(splits, values, columns, sums),
        5 => select_depth::<A, 5, 32>(splits, values, columns, sums),
        6 => select_depth::<A, 6, 64>(splits, values, columns, sums),
        _ => unreachable!("select_tree takes depths ≤ {MAX_SELECT_DEPTH}"),
    }
}

/// Every split's comparison for eight rows at once; each level's leaf indices chosen
/// from the level below (yes: `2j`, no: `2j + 1`), from the leaves up, then each lane's
/// leaf value added. `N` is `2^D`, the leaf count.
#[inline(always)]
fn select_depth<A: Sum, const D: usize, const N: usize>(
    splits: &[HeapSplit],
    values: &[A],
    columns: &[f32],
    sums: &mut [A],
) {
    let mut thresholds = [0f32; N];
    let mut node_columns: [&[f32; BLOCK_ROWS]; N] = [&[0.0; BLOCK_ROWS]; N];
    for (node, split) in splits[..N - 1].iter().enumerate() {
        let start = split.feature as usize;
        node_columns[node] = columns[start..start + BLOCK_ROWS]
            .try_into()
            .expect("a column holds BLOCK_ROWS values");
        thresholds[node] = split.threshold;
    }
    let values: [A; N] = values[..N].try_into().expect("2^depth leaf values");
    let sums: &mut [A; BLOCK_ROWS] = sums.try_into().expect("sums hold BLOCK_ROWS values");
    for first_row in (0..BLOCK_ROWS).step_by(LANES) {
        let mut level: [[u32; LANES]; N] = std::array::from_fn(|leaf| [leaf as u32; LANES]);
        choose::<u32, D, N>(&mut level, &node_columns, &thresholds, first_row);
        for lane in 0..LANES {
            // N is a power of two: the mask keeps the index in range for the compiler.
            let leaf = level[0][lane] as usize & (N - 1);
            sums[first_row + lane] = sums[first_row + lane] + values[leaf];
        }
    }
}

/// [`select_depth`] for f32 sums in AVX2 intrinsics, choosing among the leaf values
/// themselves (LLVM shuffles the generic loop's lanes instead of keeping one vector per
/// entry).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn select_f32_avx2(
    depth: usize,
    splits: &[HeapSplit],
    values: &[f32],
    columns: &[f32],
    sums: &mut [f32],
) {
    match depth {
        0 => select_f32_depth::<0, 1>(splits, values, columns, sums),
        1 => select_f32_depth::<1, 2>(splits, values, columns, sums),
        2 => select_f32_depth::<2, 4>(splits, values, columns, sums),
        3 => select_f32_depth::<3, 8>(splits, values, columns, sums),
        _ => unreachable!("select_tree takes depths ≤ {MAX_SELECT_DEPTH}"),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn select_f32_depth<const D: usize, const N: usize>(
    splits: &[HeapSplit],
    values: &[f32],
    columns: &[f32],
    sums: &mut [f32],
) {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_blendv_ps, _mm256_cmp_ps, _mm256_loadu_ps, _mm256_set1_ps,
        _mm256_storeu_ps, _CMP_GT_OQ,
    };
    assert!(splits.len() >= N - 1 && values.len() >= N && sums.len() >= BLOCK_ROWS);
    assert!(splits[..N - 1]
        .iter()
        .all(|split| split.feature as usize + BLOCK_ROWS <= columns.len()));
    let leaves: [__m256; N] = std::array::from_fn(|leaf| _mm256_set1_ps(values[leaf]));
    let thresholds: [__m256; N] = std::array::from_fn(|node| {
        _mm256_set1_ps(splits.get(node).map_or(0.0, |split| split.threshold))
    });
    for first_row in (0..BLOCK_ROWS).step_by(LANES) {
        let mut level = leaves;
        for depth in (0..D).rev() {
            let first = (1usize << depth) - 1;
            for j in 0..1usize << depth {
                let node = first + j;
                // SAFETY: the split's column offset + first_row + LANES ≤ offset +
                // BLOCK_ROWS ≤ columns.len() (asserted above).
                let x = unsafe {
                    _mm256_loadu_ps(
                        columns
                            .as_ptr()
                            .add(splits[node].feature as usize + first_row),
                    )
                };
                let no = _mm256_cmp_ps::<_CMP_GT_OQ>(x, thresholds[node]);
                level[j] = _mm256_blendv_ps(level[2 * j], level[2 * j + 1], no);
            }
        }
        // SAFETY: first_row + LANES ≤ BLOCK_ROWS ≤ sums.len() (asserted above).
        unsafe {
            let slot = sums.as_mut_ptr().add(first_row);
            _mm256_storeu_ps(slot, _mm256_add_ps(_mm256_loadu_ps(slot), level[0]));
        }
    }
}

/// Replaces `level` (one entry per leaf, per lane) by the entry each lane's row reaches
/// from the root, level by level from the bottom.
#[inline(always)]
fn choose<T: Copy, const D: usize, const N: usize>(
    level: &mut [[T; LANES]; N],
    node_columns: &[&[f32; BLOCK_ROWS]; N],
    thresholds: &[f32; N],
    first_row: usize,
) {
    for depth in (0..D).rev() {
        let first = (1usize << depth) - 1;
        for j in 0..1usize << depth {
            let column = node_columns[first + j];
            let threshold = thresholds[first + j];
            let (yes, no) = (level[2 * j], level[2 * j + 1]);
            for lane in 0..LANES {
                level[j][lane] = if column[first_row + lane] > threshold {
                    no[lane]
                } else {
                    yes[lane]
                };
            }
        }
    }
}

/// Rows of a chunk walk side by side, each exactly `depth` steps. The walk numbers
/// nodes from 1 (children `2i` and `2i + 1`), so a step is one shift-and-add.
#[inline(always)]
fn walk_heap_here<A: Sum>(tree: HeapTree<'_>, values: &[A], columns: &[f32], sums: &mut [A]) {
    let (depth, splits) = (tree.depth, tree.splits);
    let inner = splits.len();
    assert!(inner == (1 << depth) - 1 && values.len() == inner + 1);
    assert!(sums.len() >= BLOCK_ROWS);
    assert!(
        tree.last_read as usize + BLOCK_ROWS <= columns.len(),
        "every split reads a column of the block"
    );
    for first_row in (0..BLOCK_ROWS).step_by(LANES) {
        let chunk = &columns[first_row..];
        let mut at = [1usize; LANES];
        for _ in 0..depth {
            for (lane, at) in at.iter_mut().enumerate() {
                // SAFETY: before step `s` (0-based), 1 ≤ `at` ≤ 2^(s+1) − 1 ≤ 2^depth − 1
                // = `inner` = `splits.len()` (asserted above): the split exists. Its
                // column offset plus `first_row + lane < BLOCK_ROWS` is inside
                // `columns` (the offsets' maximum was checked above). (A bounds check
                // or a clamp per step cost 2.5× and 1.7× the instructions.)
                let (split, x) = unsafe {
                    let split = *splits.get_unchecked(*at - 1);
                    (split, *chunk.get_unchecked(split.feature as usize + lane))
                };
                *at = 2 * *at + usize::from(x > split.threshold);
            }
        }
        for (lane, at) in at.iter().enumerate() {
            sums[first_row + lane] = sums[first_row + lane] + values[at - (inner + 1)];
        }
    }
}

/// Rows of a chunk walk side by side until all of them rest on leaves (a leaf points
/// to itself, so a row that arrived early takes idle steps).
#[inline(always)]
fn walk_deep_here<A: Sum>(
    nodes: &[DeepNode],
    values: &[A],
    root: u32,
    first_leaf: u32,
    columns: &[f32],
    sums: &mut [A],
) {
    assert!((root as usize) < nodes.len() && values.len() == nodes.len());
    assert!(columns.len() >= BLOCK_ROWS && sums.len() >= BLOCK_ROWS);
    let (last_node, last_column) = (nodes.len() - 1, columns.len() - BLOCK_ROWS);
    for first_row in (0..BLOCK_ROWS).step_by(LANES) {
        let chunk = &columns[first_row..];
        let mut at = [root; LANES];
        // Two steps between checks: extra steps on a leaf change nothing.
        while at.iter().any(|&a| a < first_leaf) {
            for _ in 0..2 {
                for (lane, at) in at.iter_mut().enumerate() {
                    // SAFETY: the node index is clamped into `nodes` (non-empty: it
                    // holds `root`) and the column offset to `last_column`, with
                    // `last_column + first_row + lane < columns.len()` (see
                    // `walk_heap_here`). A laid-out forest never needs the clamps: its
                    // children are nodes of the same array and its offsets columns.
                    let (node, x) = unsafe {
                        let node = *nodes.get_unchecked((*at as usize).min(last_node));
                        let offset = (node.feature as usize).min(last_column);
                        (node, *chunk.get_unchecked(offset + lane))
                    };
                    *at = node.children[usize::from(x > node.threshold)];
                }
            }
        }
        for (lane, &at) in at.iter().enumerate() {
            sums[first_row + lane] = sums[first_row + lane] + values[at as usize];
        }
    }
}

/// The leaf masks of QuickScorer (Lucchese et al., SIGIR 2015) evaluated for eight rows
/// at once over every split: a false split (`x > threshold`) clears the leaves of its
/// yes side, and the leftmost leaf left standing is the one the row reaches.
#[inline(always)]
fn mask_tree_here<A: Sum>(splits: &[MaskSplit], values: &[A], columns: &[f32], sums: &mut [A]) {
    let values: &[A; MAX_MASK_LEAVES] = values.try_into().expect("64 leaf values");
    for first_row in (0..BLOCK_ROWS).step_by(LANES) {
        let mut low = [u32::MAX; LANES];
        let mut high = [u32::MAX; LANES];
        for split in splits {
            let start = split.feature as usize + first_row;
            for (lane, &x) in columns[start..start + LANES].iter().enumerate() {
                if x > split.threshold {
                    low[lane] &= !split.clear[0];
                    high[lane] &= !split.clear[1];
                }
            }
        }
        add_leaves(values, &low, &high, &mut sums[first_row..first_row + LANES]);
    }
}

/// Adds each lane's standing leaf (the lowest bit of `high:low`) to its sum.
#[inline(always)]
fn add_leaves<A: Sum>(
    values: &[A; MAX_MASK_LEAVES],
    low: &[u32; LANES],
    high: &[u32; LANES],
    sums: &mut [A],
) {
    for ((sum, &low), &high) in sums.iter_mut().zip(low).zip(high) {
        let standing = u64::from(low) | u64::from(high) << 32;
        // The reached leaf always stands; the mask keeps the index in range regardless.
        let leaf = standing.trailing_zeros() as usize & (MAX_MASK_LEAVES - 1);
        *sum = *sum + values[leaf];
    }
}
