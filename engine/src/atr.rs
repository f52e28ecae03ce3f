//! Average true range for ATR-based stops and sizing.
//!
//! Interim home: the engine computes ATR itself until the shared feature pipeline
//! (strategies::features) provides it; the definition is the one pinned by the goldens.

/// Wilder's ATR as in `ta` 0.11 (`AverageTrueRange`, SMA-seeded):
/// `TR_0 = high_0 − low_0`, `TR_i = max(high_i − low_i, |high_i − close_{i−1}|, |low_i − close_{i−1}|)`;
/// `ATR_{n−1} = mean(TR_0..=TR_{n−1})`, `ATR_i = ATR_{i−1} × d + TR_i × g` for `i ≥ n`, with
/// `d = (n − 1) / n` and `g = 1 / n` rounded once.
/// `ta` evaluates the recursion as `(ATR_{i−1} × (n − 1) + TR_i) / n`: the same value
/// up to a few units in the last place, which do not accumulate (each step shrinks the
/// previous error by `d`). The form here keeps the division out of the bar-to-bar
/// dependency chain, which bounds the simulator's ATR (about 8 cycles per bar instead of
/// about 21).
/// Rows `0..n−1` have no value and are NaN here (`ta` writes 0.0 there).
/// Causal: `out[i]` uses bars `≤ i` only. Writes into `out` (cleared first).
pub fn wilder_atr(high: &[f64], low: &[f64], close: &[f64], period: usize, out: &mut Vec<f64>) {
    out.clear();
    let n = high.len().min(low.len()).min(close.len());
    out.resize(n, f64::NAN);
    if period == 0 || n < period {
        return;
    }
    let true_range = |i: usize| {
        let range = high[i] - low[i];
        if i == 0 {
            range
        } else {
            let prev = close[i - 1];
            range.max((high[i] - prev).abs()).max((low[i] - prev).abs())
        }
    };
    let seed: f64 = (0..period).map(true_range).sum::<f64>() / period as f64;
    out[period - 1] = seed;
    let mut atr = seed;
    let (decay, gain) = recursion_weights(period);
    for (i, slot) in out.iter_mut().enumerate().skip(period) {
        atr = atr * decay + true_range(i) * gain;
        *slot = atr;
    }
}

/// The recursion's `(d, g) = ((n − 1) / n, 1 / n)` of [`wilder_atr`].
fn recursion_weights(period: usize) -> (f64, f64) {
    let n = period as f64;
    ((n - 1.0) / n, 1.0 / n)
}

/// [`wilder_atr`] one bar at a time, with the same arithmetic in the same order, so
/// `value()` after bar `i` equals `wilder_atr(..)[i]` bit for bit (NaN before bar
/// `n − 1`). Lets the simulator keep ATR in registers instead of a precomputed column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamingAtr {
    period: usize,
    period_f64: f64,
    /// The recursion's weights `(d, g)` ([`wilder_atr`]).
    decay: f64,
    gain: f64,
    seen: usize,
    /// `period ≥ 1` bars seen: every further bar takes the steady-state recursion.
    steady: bool,
    previous_close: f64,
    seed_sum: f64,
    atr: f64,
}

impl StreamingAtr {
    pub fn new(period: usize) -> Self {
        let (decay, gain) = recursion_weights(period);
        Self {
            period,
            period_f64: period as f64,
            decay,
            gain,
            seen: 0,
            steady: false,
            previous_close: f64::NAN,
            seed_sum: -0.0,
            atr: f64::NAN,
        }
    }

    /// Adds the next bar.
    #[inline(always)]
    pub fn push(&mut self, high: f64, low: f64, close: f64) {
        if self.steady {
            // The last branch of `push_warmup`, without the counting: a few instructions
            // per bar in the simulator's loop over every candle.
            let prev = self.previous_close;
            let true_range = (high - low)
                .max((high - prev).abs())
                .max((low - prev).abs());
            self.previous_close = close;
            self.atr = self.atr * self.decay + true_range * self.gain;
        } else {
            self.push_warmup(high, low, close);
        }
    }

    /// [`Self::push`] during the first `period` bars (and always when `period` is 0).
    #[inline(never)]
    fn push_warmup(&mut self, high: f64, low: f64, close: f64) {
        let range = high - low;
        let true_range = if self.seen == 0 {
            range
        } else {
            let prev = self.previous_close;
            range.max((high - prev).abs()).max((low - prev).abs())
        };
        self.previous_close = close;
        self.seen += 1;
        if self.period == 0 {
            return;
        }
        // Here `seen ≤ period` (the bar after the seed is steady).
        self.seed_sum += true_range;
        if self.seen == self.period {
            self.atr = self.seed_sum / self.period_f64;
            self.steady = true;
        }
    }

    /// [`Self::push`] of every bar of the equally long `high`, `low` and `close`, with
    /// the steady-state recursion kept in registers.
    pub fn extend(&mut self, high: &[f64], low: &[f64], close: &[f64]) {
        let mut bars = high.iter().zip(low).zip(close);
        while !self.steady {
            let Some(((&h, &l), &c)) = bars.next() else {
                return;
            };
            self.push_warmup(h, l, c);
        }
        let (mut atr, mut prev) = (self.atr, self.previous_close);
        for ((&h, &l), &c) in bars {
            let true_range = (h - l).max((h - prev).abs()).max((l - prev).abs());
            atr = atr * self.decay + true_range * self.gain;
            prev = c;
        }
        (self.atr, self.previous_close) = (atr, prev);
    }

    /// ATR after the latest bar (NaN during the warm-up).
    #[inline]
    pub fn value(&self) -> f64 {
        self.atr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_matches_batch_bit_for_bit() {
        let n = 500;
        let close: Vec<f64> = (0..n)
            .map(|i| 100.0 + ((i * 7919) % 97) as f64 * 0.173 - (i % 7) as f64)
            .collect();
        let high: Vec<f64> = close
            .iter()
            .enumerate()
            .map(|(i, c)| c + 0.01 * (i % 13) as f64)
            .collect();
        let low: Vec<f64> = close
            .iter()
            .enumerate()
            .map(|(i, c)| c - 0.02 * (i % 11) as f64)
            .collect();
        for period in [0, 1, 2, 14, 600] {
            let mut batch = Vec::new();
            wilder_atr(&high, &low, &close, period, &mut batch);
            // In bulk from any bar on, after single pushes up to it.
            for split in [0, 1, period.saturating_sub(1), period, period + 3, n] {
                let split = split.min(n);
                let mut bulk = StreamingAtr::new(period);
                for i in 0..split {
                    bulk.push(high[i], low[i], close[i]);
                }
                bulk.extend(&high[split..], &low[split..], &close[split..]);
                assert_eq!(
                    bulk.value().to_bits(),
                    batch[n - 1].to_bits(),
                    "period {period} split {split}"
                );
                bulk.push(high[0], low[0], close[0]);
                let mut one_by_one = StreamingAtr::new(period);
                for i in 0..n {
                    one_by_one.push(high[i], low[i], close[i]);
                }
                one_by_one.push(high[0], low[0], close[0]);
                // Debug strings: the NaN of the warm-up must compare equal to itself.
                assert_eq!(
                    format!("{bulk:?}"),
                    format!("{one_by_one:?}"),
                    "period {period} split {split}"
                );
            }
            let mut streaming = StreamingAtr::new(period);
            for i in 0..n {
                streaming.push(high[i], low[i], close[i]);
                assert_eq!(
                    streaming.value().to_bits(),
                    batch[i].to_bits(),
                    "period {period} bar {i}"
                );
            }
        }
    }

    #[test]
    fn hand_computed_period_2() {
        // TR: 2, max(1, |4-2|, |3-2|)=2, max(3, |6-3|, |3-3|)=3
        let (h, l, c) = ([3.0, 4.0, 6.0], [1.0, 3.0, 3.0], [2.0, 3.0, 5.0]);
        let mut out = Vec::new();
        wilder_atr(&h, &l, &c, 2, &mut out);
        assert!(out[0].is_nan());
        assert_eq!(out[1], 2.0);
        assert_eq!(out[2], (2.0 * 1.0 + 3.0) / 2.0);
    }
}
