//! The state machines several feature families build on (preallocated, no
//! allocation per update): rolling windows with compensated sums, rolling means that
//! share one history, and the pandas EMA. Each family's own state machine lives in
//! its file under `indicators/`.
//!
//! **Lanes.** Every state machine runs `L` independent series at once, one per lane
//! of a [`Lanes`] array: streaming uses one lane, batch up to four symbols that share
//! every open time. A lane performs exactly the floating-point operations, in the
//! same order, as a single series would, so its values do not depend on the lane
//! count or on its neighbours; only the bar count, common to all lanes, is shared.
//! The per-lane loops are straight-line (selects, not branches), so the compiler
//! turns them into vector instructions.

/// One value per lane.
pub(crate) type Lanes<const L: usize> = [f64; L];

/// `f` applied lane by lane. (A plain loop: `std::array::from_fn` is not always
/// inlined, and a call per lane would defeat the vectorization.)
#[inline(always)]
pub(crate) fn per_lane<const L: usize>(mut f: impl FnMut(usize) -> f64) -> Lanes<L> {
    let mut lanes = [0.0; L];
    for (l, lane) in lanes.iter_mut().enumerate() {
        *lane = f(l);
    }
    lanes
}

/// `if condition { if_true } else { if_false }` with both already computed, as
/// bit operations: the compiler neither branches nor moves a division into one of
/// the arms, so the lanes of a [`per_lane`] loop share vector divisions.
/// (`std::hint::select_unpredictable` is newer than the supported Rust.)
#[inline(always)]
pub(crate) fn select(condition: bool, if_true: f64, if_false: f64) -> f64 {
    let mask = u64::from(condition).wrapping_neg();
    f64::from_bits((if_true.to_bits() & mask) | (if_false.to_bits() & !mask))
}

/// 1.0 for true, 0.0 for false.
#[inline(always)]
pub(crate) fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// The compensated running sum of a fixed-length window and its mean; the window's
/// values are kept by its owner ([`RollingWindow`] or [`RollingMeans`]).
///
/// `mean = Σ window · (1/len)` with the sum kept by Neumaier's compensated summation
/// (adds and removes), so it does not drift over millions of updates. (Multiplying
/// by the rounded `1/len` is within an ulp of dividing by `len`.)
#[derive(Debug, Clone)]
// `sum` and `compensation` apart in memory: adjacent, the compiler packs the end
// of one with the start of the other into one vector register, and the next bar's
// load of either then spans two stores (which stalls it).
#[repr(C)]
struct WindowSum<const L: usize> {
    sum: Lanes<L>,
    /// [`WindowSum::push`]'s mean, NaN until the window is full.
    mean: Lanes<L>,
    compensation: Lanes<L>,
    len: usize,
    /// `1/len`: the mean and the standard deviation multiply by it (a vector division
    /// takes many times as long as a multiplication).
    inverse_len: f64,
}

impl<const L: usize> WindowSum<L> {
    /// `len` ≥ 1.
    fn new(len: usize) -> Self {
        Self {
            sum: [0.0; L],
            mean: [f64::NAN; L],
            compensation: [0.0; L],
            len,
            inverse_len: 1.0 / len as f64,
        }
    }

    /// Neumaier's step: `sum += x`, the lost low-order part into `compensation`.
    ///
    /// The lost part, the exact rounding error of `sum + x`, is computed by Knuth's
    /// branch-free TwoSum rather than by Neumaier's comparison of magnitudes: both
    /// give that same exact value, and straight-line arithmetic keeps every lane in
    /// one vector instruction.
    #[inline(always)]
    fn add(sum: &mut Lanes<L>, compensation: &mut Lanes<L>, x: Lanes<L>) {
        let t = per_lane::<L>(|l| sum[l] + x[l]);
        let error = per_lane::<L>(|l| {
            let z = t[l] - sum[l];
            (sum[l] - (t[l] - z)) + (x[l] - z)
        });
        *compensation = per_lane(|l| compensation[l] + error[l]);
        *sum = t;
    }

    /// Neumaier's step for `sum −= x`: [`WindowSum::add`] of `−x`, the same bits
    /// (`a − x = a + (−x)` and `−x − z = −(x + z)` exactly) without negating `x`.
    #[inline(always)]
    fn subtract(sum: &mut Lanes<L>, compensation: &mut Lanes<L>, x: &Lanes<L>) {
        let t = per_lane::<L>(|l| sum[l] - x[l]);
        let error = per_lane::<L>(|l| {
            let z = t[l] - sum[l];
            (sum[l] - (t[l] - z)) - (x[l] + z)
        });
        *compensation = per_lane(|l| compensation[l] + error[l]);
        *sum = t;
    }

    /// Removes `leaving`, then adds `x`; `full`: the window is full after this push.
    /// While the window fills, `leaving` is +0.0, whose removal changes nothing the
    /// mean shows (the sum keeps its bits; the compensation at most the sign of a
    /// zero), so no push branches on it.
    ///
    /// The sums are kept in locals and the mean computed from them: read back from
    /// the state right after being written, they cannot be forwarded from the store
    /// buffer (the compiler writes them in halves) and the load waits for the stores.
    #[inline(always)]
    fn push(&mut self, x: Lanes<L>, leaving: &Lanes<L>, full: bool) {
        let (mut sum, mut compensation) = (self.sum, self.compensation);
        Self::subtract(&mut sum, &mut compensation, leaving);
        Self::add(&mut sum, &mut compensation, x);
        (self.sum, self.compensation) = (sum, compensation);
        if full {
            let inverse_len = self.inverse_len;
            self.mean = per_lane(|l| (sum[l] + compensation[l]) * inverse_len);
        }
    }

    /// Population standard deviation (ddof = 0) of `values`, the full window whose
    /// mean this is: `sqrt(Σ (x_i − mean)² · (1/len))` by a second pass over the
    /// values — never from a running sum of squares.
    #[inline(always)]
    fn population_std(&self, values: &[Lanes<L>]) -> Lanes<L> {
        let mean = self.mean;
        // Four accumulators per lane: instruction-level parallelism; the order is
        // fixed (the values' order), so the result is deterministic.
        let mut acc = [[0.0f64; L]; 4];
        let mut chunks = values.chunks_exact(4);
        for chunk in &mut chunks {
            for (a, x) in acc.iter_mut().zip(chunk) {
                for l in 0..L {
                    let d = x[l] - mean[l];
                    a[l] += d * d;
                }
            }
        }
        let mut ss: Lanes<L> = per_lane(|l| (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]));
        for x in chunks.remainder() {
            for l in 0..L {
                let d = x[l] - mean[l];
                ss[l] += d * d;
            }
        }
        per_lane(|l| (ss[l] * self.inverse_len).sqrt())
    }
}

/// A fixed-length window over the last `len` values with a compensated running sum:
/// its mean is [`WindowSum`]'s; [`RollingWindow::population_std`] is computed
/// exactly by a second pass over the window (in its storage order).
#[derive(Debug, Clone)]
pub(crate) struct RollingWindow<const L: usize> {
    sum: WindowSum<L>,
    values: Vec<Lanes<L>>,
    next: usize,
    filled: usize,
}

impl<const L: usize> RollingWindow<L> {
    /// `len` must be ≥ 1 (checked when the feature set is built).
    pub(crate) fn new(len: usize) -> Self {
        let len = len.max(1);
        Self {
            sum: WindowSum::new(len),
            values: vec![[0.0; L]; len],
            next: 0,
            filled: 0,
        }
    }

    /// Adds `x` and, once full, drops the oldest value.
    #[inline(always)]
    pub(crate) fn push(&mut self, x: Lanes<L>) {
        let len = self.values.len();
        if self.filled < len {
            self.filled += 1;
        }
        // Until the window is full, the slot holds its initial +0.0.
        self.sum
            .push(x, &self.values[self.next], self.filled == len);
        self.values[self.next] = x;
        self.next += 1;
        if self.next == len {
            self.next = 0;
        }
    }

    #[inline(always)]
    pub(crate) fn is_full(&self) -> bool {
        self.filled == self.values.len()
    }

    /// Mean of the window, NaN until it is full.
    #[inline(always)]
    pub(crate) fn mean(&self) -> Lanes<L> {
        self.sum.mean
    }

    /// Population standard deviation (ddof = 0) of the full window, NaN until full.
    #[inline(always)]
    pub(crate) fn population_std(&self) -> Lanes<L> {
        if !self.is_full() {
            return [f64::NAN; L];
        }
        self.sum.population_std(&self.values)
    }

    /// Largest value of the full window (NaN until full).
    pub(crate) fn max(&self) -> Lanes<L> {
        if !self.is_full() {
            return [f64::NAN; L];
        }
        per_lane(|l| {
            self.values
                .iter()
                .fold(f64::NEG_INFINITY, |m, x| m.max(x[l]))
        })
    }

    /// Smallest value of the full window (NaN until full).
    pub(crate) fn min(&self) -> Lanes<L> {
        if !self.is_full() {
            return [f64::NAN; L];
        }
        per_lane(|l| self.values.iter().fold(f64::INFINITY, |m, x| m.min(x[l])))
    }
}

/// Rolling means of one input over several window lengths (say the SMAs of the
/// close), sharing one history of the input: a push stores the value once however
/// many windows read it, and every window finds its oldest value at a fixed distance
/// back. Each window's mean is [`WindowSum`]'s, bit for bit what a
/// [`RollingWindow`] of that length gives; [`RollingMeans::population_std`] is
/// exact (a second pass over the window, oldest value first).
#[derive(Debug, Clone)]
pub(crate) struct RollingMeans<const L: usize> {
    /// The last `capacity` inputs, twice: `history[i]` and `history[i + capacity]` hold
    /// the same value, so the last `len < capacity` values are always one slice.
    history: Vec<Lanes<L>>,
    /// A power of two above every window length.
    capacity: usize,
    pushed: usize,
    windows: Vec<WindowSum<L>>,
}

impl<const L: usize> RollingMeans<L> {
    /// One window per length, in this order; every length must be ≥ 1 (checked when
    /// the feature set is built).
    pub(crate) fn new(lengths: &[usize]) -> Self {
        let longest = lengths.iter().copied().max().unwrap_or(0);
        let capacity = (longest + 1).next_power_of_two();
        Self {
            history: vec![[0.0; L]; 2 * capacity],
            capacity,
            pushed: 0,
            windows: lengths
                .iter()
                .map(|&len| WindowSum::new(len.max(1)))
                .collect(),
        }
    }

    /// Adds `x` to every window and, in each that is full, drops its oldest value.
    #[inline(always)]
    pub(crate) fn push(&mut self, x: Lanes<L>) {
        let capacity = self.capacity;
        let at = self.pushed & (capacity - 1);
        // The value `len` pushes back sits at `at + capacity − len`, which is neither
        // `at` nor `at + capacity` (`1 ≤ len < capacity`): written below. Before the
        // window is full, that slot still holds its initial +0.0.
        let before = &self.history[at + 1..at + capacity];
        let pushed = self.pushed;
        for window in &mut self.windows {
            let len = window.len;
            window.push(x, &before[capacity - 1 - len], pushed + 1 >= len);
        }
        self.history[at] = x;
        self.history[at + capacity] = x;
        self.pushed += 1;
    }

    /// Window `i`'s mean, NaN until it is full.
    #[inline(always)]
    pub(crate) fn mean(&self, i: usize) -> Lanes<L> {
        self.windows[i].mean
    }

    /// Window `i`'s population standard deviation (ddof = 0), NaN until it is full.
    #[inline(always)]
    pub(crate) fn population_std(&self, i: usize) -> Lanes<L> {
        let window = &self.windows[i];
        if self.pushed < window.len {
            return [f64::NAN; L];
        }
        let newest = (self.pushed - 1) & (self.capacity - 1);
        let end = newest + self.capacity + 1;
        window.population_std(&self.history[end - window.len..end])
    }
}

/// pandas `ewm(alpha, adjust=False).mean()`, seeded with the first value:
/// `y_0 = x_0`, `y_i = ((1 − α) y_{i−1} + α x_i) / ((1 − α) + α)` — the division
/// by the (rounded) weight sum and the `y == x` short cut replicate pandas exactly.
#[derive(Debug, Clone)]
pub(crate) struct Ema<const L: usize> {
    alpha: f64,
    one_minus_alpha: f64,
    weight_sum: f64,
    value: Lanes<L>,
    count: usize,
}

impl<const L: usize> Ema<L> {
    /// `span` n: pandas computes `com = (n − 1)/2`, `α = 1/(1 + com)`.
    pub(crate) fn with_span(span: usize) -> Self {
        let com = (span as f64 - 1.0) / 2.0;
        Self::with_com(com)
    }

    /// Wilder smoothing `α = 1/n`; pandas turns it into `com = (1 − α)/α` first.
    pub(crate) fn with_wilder(window: usize) -> Self {
        let alpha = 1.0 / window as f64;
        Self::with_com((1.0 - alpha) / alpha)
    }

    fn with_com(com: f64) -> Self {
        let alpha = 1.0 / (1.0 + com);
        let one_minus_alpha = 1.0 - alpha;
        Self {
            alpha,
            one_minus_alpha,
            weight_sum: one_minus_alpha + alpha,
            value: [f64::NAN; L],
            count: 0,
        }
    }

    #[inline(always)]
    pub(crate) fn update(&mut self, x: Lanes<L>) {
        if self.count == 0 {
            self.value = x;
        } else {
            let (alpha, one_minus_alpha) = (self.alpha, self.one_minus_alpha);
            let weighted = per_lane::<L>(|l| one_minus_alpha * self.value[l] + alpha * x[l]);
            // The weight sum rounds to exactly 1 for common spans (9, 12, 26, Wilder
            // 14): dividing by it would change nothing but cost a division per bar.
            // (Out of line: inlined, the compiler computes the division always.)
            let next = if self.weight_sum == 1.0 {
                weighted
            } else {
                divide(weighted, self.weight_sum)
            };
            let value = self.value;
            self.value = per_lane(|l| if value[l] != x[l] { next[l] } else { value[l] });
        }
        self.count += 1;
    }

    /// Current value (defined from the first update on; callers apply `min_periods`).
    pub(crate) fn value(&self) -> Lanes<L> {
        self.value
    }

    pub(crate) fn count(&self) -> usize {
        self.count
    }
}

/// `x / divisor`, lane by lane.
#[inline(never)]
fn divide<const L: usize>(x: Lanes<L>, divisor: f64) -> Lanes<L> {
    per_lane(|l| x[l] / divisor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn two_pass_std(window: &[f64]) -> f64 {
        let n = window.len() as f64;
        let mean = window.iter().sum::<f64>() / n;
        (window.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt()
    }

    #[test]
    fn rolling_std_matches_two_pass_on_a_long_walk_at_a_high_price_level() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let mut price = 60_000.0;
        let prices: Vec<f64> = (0..100_000)
            .map(|_| {
                price += rng.gen_range(-30.0..30.0);
                price
            })
            .collect();
        for len in [2usize, 20, 50] {
            let mut window = RollingWindow::<1>::new(len);
            let mut worst = 0.0f64;
            for (i, &p) in prices.iter().enumerate() {
                window.push([p]);
                if i + 1 >= len {
                    let exact = two_pass_std(&prices[i + 1 - len..=i]);
                    let rel = (window.population_std()[0] - exact).abs() / exact;
                    worst = worst.max(rel);
                    let mean_exact = prices[i + 1 - len..=i].iter().sum::<f64>() / len as f64;
                    assert!((window.mean()[0] - mean_exact).abs() <= 1e-12 * mean_exact);
                } else {
                    assert!(window.population_std()[0].is_nan());
                }
            }
            assert!(
                worst <= 1e-12,
                "window {len}: worst relative error {worst:e}"
            );
        }
    }

    /// `select` is `if`, bit for bit, for every kind of value in either arm.
    #[test]
    fn select_is_if_bit_for_bit() {
        let values = [0.0, -0.0, 1.5, -2.25e300, 5e-324, f64::INFINITY, f64::NAN];
        for a in values {
            for b in values {
                for condition in [false, true] {
                    let expected = if condition { a } else { b };
                    assert_eq!(select(condition, a, b).to_bits(), expected.to_bits());
                }
            }
        }
    }

    /// `add`'s TwoSum keeps exactly the state Neumaier's comparison form keeps.
    #[test]
    fn compensated_add_equals_neumaiers_comparison_form() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (mut two_sum, mut two_sum_compensation) = ([0.0f64], [0.0f64]);
        let (mut sum, mut compensation) = (0.0f64, 0.0f64);
        for _ in 0..200_000 {
            let scale = 10f64.powi(rng.gen_range(-8..9));
            let x = rng.gen_range(-1.0..1.0) * scale;
            WindowSum::add(&mut two_sum, &mut two_sum_compensation, [x]);
            let t = sum + x;
            compensation += if sum.abs() >= x.abs() {
                (sum - t) + x
            } else {
                (x - t) + sum
            };
            sum = t;
            assert_eq!(two_sum[0].to_bits(), sum.to_bits());
            assert_eq!(two_sum_compensation[0].to_bits(), compensation.to_bits());
        }
    }

    /// A window's mean by its definition: Neumaier's sum (comparison form) of the
    /// values added, minus those that left, and nothing removed while it fills.
    fn reference_means(values: &[f64], len: usize) -> Vec<f64> {
        fn add((sum, compensation): &mut (f64, f64), x: f64) {
            let t = *sum + x;
            *compensation += if sum.abs() >= x.abs() {
                (*sum - t) + x
            } else {
                (x - t) + *sum
            };
            *sum = t;
        }
        let mut state = (0.0f64, 0.0f64);
        let mut means = vec![];
        for (i, &x) in values.iter().enumerate() {
            if i >= len {
                add(&mut state, -values[i - len]);
            }
            add(&mut state, x);
            let (sum, compensation) = state;
            means.push(if i + 1 >= len {
                (sum + compensation) * (1.0 / len as f64)
            } else {
                f64::NAN
            });
        }
        means
    }

    #[test]
    fn rolling_means_share_one_history_and_match_each_window_alone() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut price = 1.1;
        let values: Vec<f64> = (0..5_000)
            .map(|i| {
                // Flat stretches: windows of equal values.
                if i % 700 >= 100 {
                    price *= 1.0 + rng.gen_range(-0.002..0.002);
                }
                price
            })
            .collect();
        let lengths = [7, 14, 20, 21, 50, 1, 63];
        let mut means = RollingMeans::<1>::new(&lengths);
        let mut alone: Vec<RollingWindow<1>> =
            lengths.iter().map(|&len| RollingWindow::new(len)).collect();
        let expected: Vec<Vec<f64>> = lengths
            .iter()
            .map(|&len| reference_means(&values, len))
            .collect();
        for (i, &x) in values.iter().enumerate() {
            means.push([x]);
            for (w, window) in alone.iter_mut().enumerate() {
                window.push([x]);
                let [mean] = means.mean(w);
                assert_eq!(
                    mean.to_bits(),
                    expected[w][i].to_bits(),
                    "bar {i} window {w}"
                );
                assert_eq!(
                    mean.to_bits(),
                    window.mean()[0].to_bits(),
                    "bar {i} window {w}"
                );
                let len = lengths[w];
                let [std] = means.population_std(w);
                if i + 1 < len {
                    assert!(std.is_nan(), "bar {i} window {w}");
                } else {
                    // The reference's own mean (a plain sum) is off by an ulp or so
                    // of the price: a flat window's exact std can come out 2e-16.
                    let exact = two_pass_std(&values[i + 1 - len..=i]);
                    assert!(
                        (std - exact).abs() <= 1e-12 * exact + 1e-15 * x,
                        "bar {i} window {w}: {std} against {exact}"
                    );
                }
            }
        }
    }

    #[test]
    fn rolling_std_of_a_constant_window_is_zero() {
        let mut window = RollingWindow::<1>::new(20);
        for _ in 0..100 {
            window.push([60_000.125]);
        }
        assert_eq!(window.population_std(), [0.0]);
        assert_eq!(window.mean(), [60_000.125]);
    }
}
