//! Incremental indicator state machines (preallocated, no allocation per update).
//!
//! Each follows the convention of the Python `ta` 0.11 library where one exists
//! (see the goldens README): the batch computation drives these same state
//! machines, so streaming and batch agree bit for bit.

/// A fixed-length window over the last `len` values with a compensated running sum.
///
/// `mean = Σ window / len` with the sum kept by Neumaier's compensated summation
/// (adds and removes), so it does not drift over millions of updates.
/// [`RollingWindow::population_std`] is computed exactly by a second pass over the
/// window: `sqrt(Σ (x_i − mean)² / len)` — never from a running sum of squares.
#[derive(Debug, Clone)]
pub(crate) struct RollingWindow {
    values: Vec<f64>,
    next: usize,
    filled: usize,
    sum: f64,
    compensation: f64,
}

impl RollingWindow {
    /// `len` must be ≥ 1 (checked when the feature set is built).
    pub(crate) fn new(len: usize) -> Self {
        Self {
            values: vec![0.0; len.max(1)],
            next: 0,
            filled: 0,
            sum: 0.0,
            compensation: 0.0,
        }
    }

    #[inline]
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    #[inline]
    pub(crate) fn push(&mut self, x: f64) {
        let len = self.values.len();
        if self.filled == len {
            let old = self.values[self.next];
            self.add(-old);
        } else {
            self.filled += 1;
        }
        self.add(x);
        self.values[self.next] = x;
        self.next += 1;
        if self.next == len {
            self.next = 0;
        }
    }

    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        self.filled == self.values.len()
    }

    /// Mean of the window, NaN until it is full.
    #[inline]
    pub(crate) fn mean(&self) -> f64 {
        if self.is_full() {
            (self.sum + self.compensation) / self.values.len() as f64
        } else {
            f64::NAN
        }
    }

    /// Population standard deviation (ddof = 0) of the full window, NaN until full.
    pub(crate) fn population_std(&self) -> f64 {
        if !self.is_full() {
            return f64::NAN;
        }
        let mean = self.mean();
        // Four accumulators: instruction-level parallelism; the order is fixed by the
        // buffer layout, so the result is deterministic.
        let mut acc = [0.0f64; 4];
        let mut chunks = self.values.chunks_exact(4);
        for chunk in &mut chunks {
            for (a, &x) in acc.iter_mut().zip(chunk) {
                let d = x - mean;
                *a += d * d;
            }
        }
        let mut ss = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for &x in chunks.remainder() {
            let d = x - mean;
            ss += d * d;
        }
        (ss / self.values.len() as f64).sqrt()
    }

    /// Largest and smallest value of the full window (NaN until full).
    pub(crate) fn max(&self) -> f64 {
        if !self.is_full() {
            return f64::NAN;
        }
        self.values
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
    }

    pub(crate) fn min(&self) -> f64 {
        if !self.is_full() {
            return f64::NAN;
        }
        self.values.iter().copied().fold(f64::INFINITY, f64::min)
    }
}

/// pandas `ewm(alpha, adjust=False).mean()`, seeded with the first value:
/// `y_0 = x_0`, `y_i = ((1 − α) y_{i−1} + α x_i) / ((1 − α) + α)` — the division
/// by the (rounded) weight sum and the `y == x` short cut replicate pandas exactly.
#[derive(Debug, Clone)]
pub(crate) struct Ema {
    alpha: f64,
    one_minus_alpha: f64,
    weight_sum: f64,
    value: f64,
    count: usize,
}

impl Ema {
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
            value: f64::NAN,
            count: 0,
        }
    }

    pub(crate) fn update(&mut self, x: f64) {
        if self.count == 0 {
            self.value = x;
        } else if self.value != x {
            let weighted = self.one_minus_alpha * self.value + self.alpha * x;
            // The weight sum rounds to exactly 1 for common spans (9, 12, 26, Wilder
            // 14): dividing by it would change nothing but cost a division per bar.
            self.value = if self.weight_sum == 1.0 {
                weighted
            } else {
                weighted / self.weight_sum
            };
        }
        self.count += 1;
    }

    /// Current value (defined from the first update on; callers apply `min_periods`).
    pub(crate) fn value(&self) -> f64 {
        self.value
    }

    pub(crate) fn count(&self) -> usize {
        self.count
    }
}

/// `ta` RSI(n): `d_i = close_i − close_{i−1}` with `d_0 = 0`; `up = max(d, 0)`,
/// `dn = max(−d, 0)`; `U, D` = Wilder EMA (α = 1/n, seeded with row 0's zero);
/// `RSI = 100 − 100/(1 + U/D)`, and 100 where `D == 0`. NaN for the first n − 1 rows.
#[derive(Debug, Clone)]
pub(crate) struct Rsi {
    window: usize,
    up: Ema,
    down: Ema,
    prev_close: f64,
}

impl Rsi {
    pub(crate) fn new(window: usize) -> Self {
        Self {
            window,
            up: Ema::with_wilder(window),
            down: Ema::with_wilder(window),
            prev_close: f64::NAN,
        }
    }

    pub(crate) fn update(&mut self, close: f64) {
        let diff = if self.up.count() == 0 {
            0.0
        } else {
            close - self.prev_close
        };
        self.up.update(if diff > 0.0 { diff } else { 0.0 });
        self.down.update(if diff < 0.0 { -diff } else { 0.0 });
        self.prev_close = close;
    }

    pub(crate) fn value(&self) -> f64 {
        if self.up.count() < self.window {
            return f64::NAN;
        }
        let down = self.down.value();
        if down == 0.0 {
            100.0
        } else {
            100.0 - 100.0 / (1.0 + self.up.value() / down)
        }
    }
}

/// `ta` ATR(n): `TR_0 = high_0 − low_0`, `TR_i = max(high − low, |high − close_{i−1}|,
/// |low − close_{i−1}|)`; `ATR_{n−1} = mean(TR_0..TR_{n−1})`,
/// `ATR_i = (ATR_{i−1}(n − 1) + TR_i)/n`; rows 0..n−2 are 0.0 (as in `ta`).
#[derive(Debug, Clone)]
pub(crate) struct Atr {
    window: usize,
    count: usize,
    seed_sum: f64,
    prev_close: f64,
    value: f64,
}

impl Atr {
    pub(crate) fn new(window: usize) -> Self {
        Self {
            window,
            count: 0,
            seed_sum: 0.0,
            prev_close: f64::NAN,
            value: 0.0,
        }
    }

    pub(crate) fn update(&mut self, high: f64, low: f64, close: f64) {
        let range = high - low;
        let true_range = if self.count == 0 {
            range
        } else {
            range
                .max((high - self.prev_close).abs())
                .max((low - self.prev_close).abs())
        };
        self.count += 1;
        if self.count < self.window {
            self.seed_sum += true_range;
        } else if self.count == self.window {
            self.value = (self.seed_sum + true_range) / self.window as f64;
        } else {
            self.value = (self.value * (self.window - 1) as f64 + true_range) / self.window as f64;
        }
        self.prev_close = close;
    }

    /// 0.0 during warm-up (rows 0..n−2), like `ta`.
    pub(crate) fn value(&self) -> f64 {
        self.value
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.count >= self.window
    }
}

/// `ta` MACD(fast, slow, signal): `macd = EMA_span(fast) − EMA_span(slow)` of close
/// (both seeded with the first close), NaN for the first `slow − 1` rows;
/// `signal = EMA_span(signal)` of macd seeded with its first valid value (row
/// `slow − 1`), NaN for the first `signal − 1` macd values; `diff = macd − signal`.
#[derive(Debug, Clone)]
pub(crate) struct Macd {
    fast: Ema,
    slow: Ema,
    signal: Ema,
    slow_window: usize,
    signal_window: usize,
    macd: f64,
}

impl Macd {
    pub(crate) fn new(fast: usize, slow: usize, signal: usize) -> Self {
        Self {
            fast: Ema::with_span(fast),
            slow: Ema::with_span(slow),
            signal: Ema::with_span(signal),
            slow_window: slow,
            signal_window: signal,
            macd: f64::NAN,
        }
    }

    pub(crate) fn update(&mut self, close: f64) {
        self.fast.update(close);
        self.slow.update(close);
        if self.slow.count() >= self.slow_window {
            self.macd = self.fast.value() - self.slow.value();
            self.signal.update(self.macd);
        }
    }

    pub(crate) fn macd(&self) -> f64 {
        self.macd
    }

    pub(crate) fn signal(&self) -> f64 {
        if self.signal.count() >= self.signal_window {
            self.signal.value()
        } else {
            f64::NAN
        }
    }
}

/// Causal volatility regime.
///
/// `r_i = ln(close_i / close_{i−1})`; `vol_i` = population std of the last
/// `window` returns (exact two-pass); the regime at bar i compares `vol_i` with the
/// `history` previous values `vol_{i−history} .. vol_{i−1}`:
/// `b = #{ v : v < vol_i }`, low if `3b < history`, high if `3b ≥ 2·history`,
/// medium otherwise. Defined from bar `window + history` on (bar 0 has no return).
///
/// `b` is counted over the `history` previous values on every bar: a branch-free
/// comparison per value that the compiler vectorizes. That costs about as many
/// instructions as keeping a sorted copy (two binary searches and a shift per bar)
/// but is simpler and has no data-dependent branches. A NaN volatility (only from
/// overflowing returns) is never below anything and counts nothing.
#[derive(Debug, Clone)]
pub(crate) struct VolatilityRegime {
    prev_close: f64,
    returns: RollingWindow,
    /// The last `history` volatilities, a ring in arrival order.
    history: Vec<f64>,
    history_next: usize,
    history_filled: usize,
    regime: Regime,
}

/// The tercile a bar's volatility falls into (`Undefined` during warm-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Regime {
    Undefined,
    Low,
    Medium,
    High,
}

/// `#{ v ∈ values : v < x }`.
#[inline]
fn count_below(values: &[f64], x: f64) -> usize {
    values.iter().map(|&v| usize::from(v < x)).sum()
}

impl VolatilityRegime {
    pub(crate) fn new(window: usize, history: usize) -> Self {
        Self {
            prev_close: f64::NAN,
            returns: RollingWindow::new(window),
            history: vec![0.0; history.max(1)],
            history_next: 0,
            history_filled: 0,
            regime: Regime::Undefined,
        }
    }

    #[inline]
    pub(crate) fn update(&mut self, close: f64) {
        if self.prev_close.is_nan() {
            self.prev_close = close;
            return;
        }
        self.returns.push((close / self.prev_close).ln());
        self.prev_close = close;
        if !self.returns.is_full() {
            return;
        }
        let vol = self.returns.population_std();
        let len = self.history.len();
        if self.history_filled == len {
            let below = count_below(&self.history, vol);
            self.regime = if 3 * below < len {
                Regime::Low
            } else if 3 * below >= 2 * len {
                Regime::High
            } else {
                Regime::Medium
            };
        } else {
            self.history_filled += 1;
        }
        self.history[self.history_next] = vol;
        self.history_next += 1;
        if self.history_next == len {
            self.history_next = 0;
        }
    }

    pub(crate) fn regime(&self) -> Regime {
        self.regime
    }
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
            let mut window = RollingWindow::new(len);
            let mut worst = 0.0f64;
            for (i, &p) in prices.iter().enumerate() {
                window.push(p);
                if i + 1 >= len {
                    let exact = two_pass_std(&prices[i + 1 - len..=i]);
                    let rel = (window.population_std() - exact).abs() / exact;
                    worst = worst.max(rel);
                    let mean_exact = prices[i + 1 - len..=i].iter().sum::<f64>() / len as f64;
                    assert!((window.mean() - mean_exact).abs() <= 1e-12 * mean_exact);
                } else {
                    assert!(window.population_std().is_nan());
                }
            }
            assert!(
                worst <= 1e-12,
                "window {len}: worst relative error {worst:e}"
            );
        }
    }

    #[test]
    fn rolling_std_of_a_constant_window_is_zero() {
        let mut window = RollingWindow::new(20);
        for _ in 0..100 {
            window.push(60_000.125);
        }
        assert_eq!(window.population_std(), 0.0);
        assert_eq!(window.mean(), 60_000.125);
    }

    #[test]
    fn atr_is_zero_then_sma_seeded_then_wilder() {
        let mut atr = Atr::new(3);
        // TR: 2 (h−l), max(1, |4−2|, |3−2|) = 2, max(1,|6−3|,|5−3|) = 3, then Wilder.
        atr.update(3.0, 1.0, 2.0);
        assert_eq!(atr.value(), 0.0);
        atr.update(4.0, 3.0, 3.0);
        assert_eq!(atr.value(), 0.0);
        assert!(!atr.is_ready());
        atr.update(6.0, 5.0, 5.0);
        assert!(atr.is_ready());
        assert!((atr.value() - 7.0 / 3.0).abs() < 1e-15);
        atr.update(5.5, 5.0, 5.0); // TR = 0.5
        assert!((atr.value() - (7.0 / 3.0 * 2.0 + 0.5) / 3.0).abs() < 1e-15);
    }

    #[test]
    fn rsi_is_100_without_down_moves_and_nan_in_warm_up() {
        let mut rsi = Rsi::new(3);
        rsi.update(1.0);
        rsi.update(2.0);
        assert!(rsi.value().is_nan());
        rsi.update(3.0);
        assert_eq!(rsi.value(), 100.0);
        rsi.update(2.0);
        assert!(rsi.value() < 100.0 && rsi.value() > 0.0);
    }

    /// The regime by its definition: count the previous `history` vols below.
    fn regimes_by_counting(closes: &[f64], window: usize, history: usize) -> Vec<Regime> {
        let mut returns = RollingWindow::new(window);
        let mut vols: Vec<f64> = vec![];
        let mut out = vec![Regime::Undefined];
        let mut regime = Regime::Undefined;
        for pair in closes.windows(2) {
            returns.push((pair[1] / pair[0]).ln());
            if returns.is_full() {
                let vol = returns.population_std();
                if vols.len() >= history {
                    let previous = &vols[vols.len() - history..];
                    let below = previous.iter().filter(|&&v| v < vol).count();
                    regime = if 3 * below < history {
                        Regime::Low
                    } else if 3 * below >= 2 * history {
                        Regime::High
                    } else {
                        Regime::Medium
                    };
                }
                vols.push(vol);
            }
            out.push(regime);
        }
        out
    }

    #[test]
    fn volatility_regime_equals_counting_with_ties_and_nan_vols() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut close = 100.0;
        let closes: Vec<f64> = (0..20_000)
            .map(|i| {
                // Flat stretches give runs of equal (zero) vols; a jump from 1e-300
                // to 1e300 overflows the return to +inf and the vols to NaN.
                if i % 5_000 == 4_000 {
                    return 1e-300;
                }
                if i % 5_000 == 4_001 {
                    return 1e300;
                }
                if rng.gen_bool(0.7) {
                    close *= 1.0 + rng.gen_range(-0.01..0.01);
                }
                close
            })
            .collect();
        for (window, history) in [(20, 100), (2, 3), (5, 1), (3, 7)] {
            let expected = regimes_by_counting(&closes, window, history);
            let mut regime = VolatilityRegime::new(window, history);
            for (i, &c) in closes.iter().enumerate() {
                regime.update(c);
                assert_eq!(
                    regime.regime(),
                    expected[i],
                    "({window}, {history}) bar {i}"
                );
            }
        }
    }

    #[test]
    fn volatility_regime_classifies_against_its_own_history() {
        let mut regime = VolatilityRegime::new(2, 3);
        for _ in 0..5 {
            regime.update(100.0);
        }
        assert_eq!(regime.regime(), Regime::Undefined);
        regime.update(100.0);
        // Vols at bars 2..=5 are all 0: none strictly below → low.
        assert_eq!(regime.regime(), Regime::Low);
        regime.update(110.0);
        assert_eq!(regime.regime(), Regime::High);
    }
}
