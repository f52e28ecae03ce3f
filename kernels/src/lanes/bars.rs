//! Reading the bars of `L` series that share their open times, one series per lane:
//! each bar's five columns gathered into lanes, checked, and the columns prefetched
//! ahead of use.

use crate::memory::{prefetch, CACHE_LINE};

/// Whether a bar can enter the feature state: finite positive prices and a finite
/// non-negative volume (`Bar::is_usable` of `gauntlet-datasets`; the AVX2 gather of
/// [`LaneBars`] checks the same in vector registers).
#[inline(always)]
pub fn is_usable_bar(open: f64, high: f64, low: f64, close: f64, volume: f64) -> bool {
    let price = |p: f64| p.is_finite() && p > 0.0;
    price(open) && price(high) && price(low) && price(close) && volume.is_finite() && volume >= 0.0
}

/// The bars of `L` series at one shared open time, one per lane.
#[derive(Debug, Clone, Copy)]
pub struct LaneBar<const L: usize> {
    pub ts: i64,
    /// Every lane's bar is usable ([`is_usable_bar`]).
    pub usable: bool,
    pub open: [f64; L],
    pub high: [f64; L],
    pub low: [f64; L],
    pub close: [f64; L],
    pub volume: [f64; L],
}

impl<const L: usize> LaneBar<L> {
    /// Whether every lane's bar is usable ([`is_usable_bar`]).
    #[inline(always)]
    pub fn usable(
        open: &[f64; L],
        high: &[f64; L],
        low: &[f64; L],
        close: &[f64; L],
        volume: &[f64; L],
    ) -> bool {
        (0..L).all(|l| is_usable_bar(open[l], high[l], low[l], close[l], volume[l]))
    }
}

/// Values of a column in one cache line.
const BARS_PER_LINE: usize = CACHE_LINE / std::mem::size_of::<f64>();

/// How many bars ahead [`LaneBars`] prefetches its columns (eight cache lines).
const PREFETCH_DISTANCE: usize = 8 * BARS_PER_LINE;

/// The bars of `L` series with the same open times `ts`, one per lane, in order.
/// (A named iterator, so that `next` can be inlined into the computation that
/// consumes it.)
#[derive(Debug, Clone)]
pub struct LaneBars<'a, const L: usize> {
    /// Every column is exactly as long as `ts` (sliced so by [`LaneBars::new`]).
    ts: &'a [i64],
    open: [&'a [f64]; L],
    high: [&'a [f64]; L],
    low: [&'a [f64]; L],
    close: [&'a [f64]; L],
    volume: [&'a [f64]; L],
    next: usize,
}

impl<'a, const L: usize> LaneBars<'a, L> {
    /// The bars at `ts` of the series whose columns are given lane by lane.
    ///
    /// # Panics
    /// When a column is shorter than `ts`.
    pub fn new(
        ts: &'a [i64],
        open: [&'a [f64]; L],
        high: [&'a [f64]; L],
        low: [&'a [f64]; L],
        close: [&'a [f64]; L],
        volume: [&'a [f64]; L],
    ) -> Self {
        let n = ts.len();
        let cut = |columns: [&'a [f64]; L]| {
            columns.map(|column| {
                assert!(
                    column.len() >= n,
                    "a lane's column is shorter than its open times"
                );
                &column[..n]
            })
        };
        Self {
            ts,
            open: cut(open),
            high: cut(high),
            low: cut(low),
            close: cut(close),
            volume: cut(volume),
            next: 0,
        }
    }

    /// `at` of the open, high, low, close and volume columns (`L` lanes each).
    #[inline(always)]
    fn gather<V>(&self, at: impl Fn(&[&'a [f64]; L]) -> V) -> (V, V, V, V, V) {
        (
            at(&self.open),
            at(&self.high),
            at(&self.low),
            at(&self.close),
            at(&self.volume),
        )
    }

    /// Bar `i` of four lanes, each column's lanes gathered in a vector register and
    /// checked there ([`LaneBar::usable`]). The compiler builds the lanes of the
    /// generic loop one by one in memory and checks them with scalar integer
    /// tricks, and the vector loads that follow cannot take four separate stores
    /// from the store buffer: they wait for them.
    ///
    /// # Safety
    /// `i < self.ts.len()`, and the CPU supports AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn four_lanes_avx2(&self, i: usize, ts: i64) -> LaneBar<L> {
        use std::arch::x86_64::{
            __m256d, _mm256_and_pd, _mm256_cmp_pd, _mm256_movemask_pd, _mm256_set1_pd,
            _mm256_set_pd, _mm256_setzero_pd, _mm256_storeu_pd, _CMP_GE_OQ, _CMP_GT_OQ, _CMP_LT_OQ,
        };
        assert_eq!(L, 4, "four lanes fill one AVX2 register");
        // SAFETY: `i` is below every column's length (the function's contract: the
        // columns are as long as `ts`).
        let at = |c: &[&[f64]; L]| unsafe {
            _mm256_set_pd(
                *c[3].get_unchecked(i),
                *c[2].get_unchecked(i),
                *c[1].get_unchecked(i),
                *c[0].get_unchecked(i),
            )
        };
        let (open, high, low, close, volume) = self.gather(at);
        let (zero, infinity) = (_mm256_setzero_pd(), _mm256_set1_pd(f64::INFINITY));
        // Ordered comparisons: false for NaN, as in `is_usable_bar`.
        let below_infinity = |x| _mm256_cmp_pd::<_CMP_LT_OQ>(x, infinity);
        let price = |p| _mm256_and_pd(_mm256_cmp_pd::<_CMP_GT_OQ>(p, zero), below_infinity(p));
        let usable = [
            price(high),
            price(low),
            price(close),
            below_infinity(volume),
        ]
        .into_iter()
        .fold(
            _mm256_and_pd(price(open), _mm256_cmp_pd::<_CMP_GE_OQ>(volume, zero)),
            |all, ok| _mm256_and_pd(all, ok),
        );
        let lanes = |v: __m256d| {
            let mut lanes = [0.0; L];
            // SAFETY: with `L == 4`, `lanes` is four f64.
            unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), v) };
            lanes
        };
        LaneBar {
            ts,
            usable: _mm256_movemask_pd(usable) == 0b1111,
            open: lanes(open),
            high: lanes(high),
            low: lanes(low),
            close: lanes(close),
            volume: lanes(volume),
        }
    }
}

impl<const L: usize> Iterator for LaneBars<'_, L> {
    type Item = LaneBar<L>;

    #[inline(always)]
    fn next(&mut self) -> Option<LaneBar<L>> {
        let i = self.next;
        let ts = *self.ts.get(i)?;
        self.next += 1;
        if i % BARS_PER_LINE == 0 {
            // In each of the 1 + 5·L columns read here, the line `PREFETCH_DISTANCE`
            // bars ahead: the CPU's own prefetching does not follow that many streams.
            let ahead = i + PREFETCH_DISTANCE;
            prefetch(self.ts.as_ptr().wrapping_add(ahead));
            for columns in [&self.open, &self.high, &self.low, &self.close, &self.volume] {
                for column in columns {
                    prefetch(column.as_ptr().wrapping_add(ahead));
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        if L == 4 && crate::cpu::avx2() {
            // SAFETY: the CPU supports AVX2, checked just above; `i < ts.len()`.
            return Some(unsafe { self.four_lanes_avx2(i, ts) });
        }
        // SAFETY: `i < ts.len()` (checked by `get` above), the length of every column.
        let at =
            |columns: &[&[f64]; L]| super::per_lane(|l| unsafe { *columns[l].get_unchecked(i) });
        let (open, high, low, close, volume) = self.gather(at);
        Some(LaneBar {
            ts,
            usable: LaneBar::usable(&open, &high, &low, &close, &volume),
            open,
            high,
            low,
            close,
            volume,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four lanes read in vector registers give every lane's values and the same
    /// usable flag as the lane-by-lane rule, on every kind of troublesome value.
    #[test]
    fn four_lanes_read_and_check_what_one_lane_does() {
        let specials = [
            1.0,
            0.0,
            -0.0,
            -1.0,
            f64::MIN_POSITIVE / 2.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e300,
        ];
        // Bar i of lane l: one column takes the special value, the others 1.0.
        let n = specials.len() * 5;
        let ts: Vec<i64> = (0..n as i64).collect();
        let column = |which: usize, lane: usize| -> Vec<f64> {
            (0..n)
                .map(|i| {
                    let (special, column) = ((i + lane) % specials.len(), i / specials.len());
                    if column == which {
                        specials[special]
                    } else {
                        1.0
                    }
                })
                .collect()
        };
        let columns: Vec<[Vec<f64>; 4]> = (0..5)
            .map(|which| std::array::from_fn(|lane| column(which, lane)))
            .collect();
        let lanes = |c: usize| columns[c].each_ref().map(Vec::as_slice);
        let four = LaneBars::new(&ts, lanes(0), lanes(1), lanes(2), lanes(3), lanes(4));
        for (i, bar) in four.enumerate() {
            let one = |l: usize| {
                let at = |c: usize| columns[c][l][i];
                (at(0), at(1), at(2), at(3), at(4))
            };
            let usable = (0..4).all(|l| {
                let (o, h, lo, c, v) = one(l);
                is_usable_bar(o, h, lo, c, v)
            });
            assert_eq!(bar.usable, usable, "bar {i}");
            for l in 0..4 {
                let (o, h, lo, c, v) = one(l);
                let got = (
                    bar.open[l],
                    bar.high[l],
                    bar.low[l],
                    bar.close[l],
                    bar.volume[l],
                );
                let bits =
                    |t: (f64, f64, f64, f64, f64)| [t.0, t.1, t.2, t.3, t.4].map(f64::to_bits);
                assert_eq!(bits(got), bits((o, h, lo, c, v)), "bar {i}, lane {l}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "shorter than its open times")]
    fn columns_shorter_than_the_open_times_are_refused() {
        let short = [1.0];
        let _ = LaneBars::new(
            &[0, 1],
            [&short[..]],
            [&short[..]],
            [&short[..]],
            [&short[..]],
            [&short[..]],
        );
    }
}
