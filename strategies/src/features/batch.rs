//! Batch computation: a whole series (or a universe of them, in parallel) into a
//! row-major feature matrix.

use std::sync::Arc;

use gauntlet_datasets::memory::{prefetch, CACHE_LINE};
use gauntlet_datasets::CandleSeries;
use ndarray::Array2;
use rayon::prelude::*;

use super::error::FeatureError;
use super::indicators::per_lane;
use super::set::FeatureSet;
use super::stream::{batch_rows, LaneBar, Rows};
#[cfg(doc)]
use gauntlet_datasets::Bar;

/// The element type of a feature matrix: `f32` (what models consume, the default)
/// or `f64` (`--precision f64`, golden tests). Values are always computed in f64.
///
/// Sealed: implemented for `f32` and `f64` only, whose bits the batch code moves
/// with vector and streaming stores.
pub trait FeatureValue:
    sealed::Sealed
    + Copy
    + Send
    + Sync
    + 'static
    + std::ops::Add<Output = Self>
    + std::ops::Mul<Output = Self>
{
    const NAN: Self;
    const ZERO: Self;
    fn from_f64(value: f64) -> Self;
    fn is_finite(self) -> bool;

    /// Writes `WIDTH` (at most 4) columns of `L` lanes across: `columns[c][l]` to
    /// `rows[l] + c` for `c < WIDTH`.
    ///
    /// # Safety
    /// Each `rows[l]` is valid for writing `WIDTH` values.
    #[doc(hidden)]
    #[inline(always)]
    unsafe fn write_across<const L: usize, const WIDTH: usize>(
        columns: &[[Self; L]; 4],
        rows: [*mut Self; L],
    ) {
        // SAFETY: forwarded.
        unsafe { write_across_by_lane::<Self, L, WIDTH>(columns, rows) }
    }
}

/// [`FeatureValue::write_across`] one value at a time.
///
/// # Safety
/// Each `rows[l]` is valid for writing `WIDTH` values.
#[inline(always)]
unsafe fn write_across_by_lane<T: FeatureValue, const L: usize, const WIDTH: usize>(
    columns: &[[T; L]; 4],
    rows: [*mut T; L],
) {
    for (l, row) in rows.into_iter().enumerate() {
        for (c, column) in columns[..WIDTH].iter().enumerate() {
            // SAFETY: `c < WIDTH`, see the function's contract.
            unsafe { row.add(c).write(column[l]) };
        }
    }
}

mod sealed {
    /// Keeps [`super::FeatureValue`] to the types implemented here.
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

impl FeatureValue for f32 {
    const NAN: Self = f32::NAN;
    const ZERO: Self = 0.0;
    fn from_f64(value: f64) -> Self {
        value as f32
    }
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }

    /// With four lanes on x86_64: four loads, a 4×4 transpose in SSE registers (part
    /// of every x86_64 CPU) and per lane one store of `width` values, instead of
    /// `4·width` scalar stores.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn write_across<const L: usize, const WIDTH: usize>(
        columns: &[[f32; L]; 4],
        rows: [*mut f32; L],
    ) {
        use std::arch::x86_64::{
            _mm_castps_pd, _mm_loadu_ps, _mm_movehl_ps, _mm_movelh_ps, _mm_store_ss, _mm_storel_pd,
            _mm_storeu_ps, _mm_unpackhi_ps, _mm_unpacklo_ps,
        };
        if L != 4 {
            // SAFETY: forwarded.
            return unsafe { write_across_by_lane::<f32, L, WIDTH>(columns, rows) };
        }
        // SAFETY: with `L == 4` each column is four f32 to load; each lane's store
        // writes `WIDTH` values (the function's contract).
        unsafe {
            let [c0, c1, c2, c3] = columns.each_ref().map(|c| _mm_loadu_ps(c.as_ptr()));
            let (low01, low23) = (_mm_unpacklo_ps(c0, c1), _mm_unpacklo_ps(c2, c3));
            let (high01, high23) = (_mm_unpackhi_ps(c0, c1), _mm_unpackhi_ps(c2, c3));
            let lanes = [
                _mm_movelh_ps(low01, low23),
                _mm_movehl_ps(low23, low01),
                _mm_movelh_ps(high01, high23),
                _mm_movehl_ps(high23, high01),
            ];
            for (row, lane) in rows.into_iter().zip(lanes) {
                match WIDTH {
                    4 => _mm_storeu_ps(row, lane),
                    3 => {
                        _mm_storel_pd(row.cast(), _mm_castps_pd(lane));
                        _mm_store_ss(row.add(2), _mm_movehl_ps(lane, lane));
                    }
                    2 => _mm_storel_pd(row.cast(), _mm_castps_pd(lane)),
                    1 => _mm_store_ss(row, lane),
                    _ => {}
                }
            }
        }
    }
}

impl FeatureValue for f64 {
    const NAN: Self = f64::NAN;
    const ZERO: Self = 0.0;
    fn from_f64(value: f64) -> Self {
        value
    }
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
}

/// One symbol's features: row i belongs to bar `ts[i]`, columns follow `names`
/// (the manifest order). `values` is row-major and contiguous. Symbols computed
/// together in lanes share one `ts` (they have the same open times).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMatrix<T = f32> {
    pub symbol: String,
    /// The set's manifest hash (`sha256:…`).
    pub manifest_hash: String,
    pub names: Vec<String>,
    pub ts: Arc<[i64]>,
    /// `rows × names.len()`, row-major.
    pub values: Array2<T>,
    /// False during warm-up, for unusable bars and for rows with a non-finite value.
    pub ready: Vec<bool>,
}

impl<T: FeatureValue> FeatureMatrix<T> {
    pub fn rows(&self) -> usize {
        self.ts.len()
    }

    /// Index of the first ready row.
    pub fn first_ready(&self) -> Option<usize> {
        self.ready.iter().position(|&r| r)
    }

    /// Column index of a feature.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

/// Features of one series as f32 (see [`compute_as`]).
pub fn compute(set: &FeatureSet, series: &CandleSeries) -> Result<FeatureMatrix, FeatureError> {
    compute_as::<f32>(set, series)
}

/// Features of one series: drives the streaming state machines over the bars in
/// blocks, column by column, into a preallocated matrix (no allocation per row).
///
/// Errors: bar open times not strictly increasing; a feature timeframe shorter than
/// the series interval. Too few bars for the warm-up is not an error: those rows
/// are simply not ready (an empty series gives an empty matrix).
pub fn compute_as<T: FeatureValue>(
    set: &FeatureSet,
    series: &CandleSeries,
) -> Result<FeatureMatrix<T>, FeatureError> {
    check_sorted(series)?;
    let [rows] = batch_rows::<T, 1>(set, series.interval(), series.len(), lane_bars([series]))?
        .expect("one lane skips unusable bars");
    Ok(matrix(set, series, series.ts().into(), rows))
}

/// Features of every series as f32, in parallel across series (rayon); the output
/// order is the input order and the values do not depend on the thread count.
pub fn compute_universe(
    set: &FeatureSet,
    universe: &[CandleSeries],
) -> Result<Vec<FeatureMatrix>, FeatureError> {
    compute_universe_as::<f32>(set, universe)
}

/// [`compute_universe`] with a chosen element type.
///
/// Consecutive series are taken four at a time: when they share every open time
/// and every bar is usable (a clean aligned universe), they are computed together,
/// one per lane; otherwise one by one. Either way each series gets exactly the
/// values [`compute_as`] gives it.
pub fn compute_universe_as<T: FeatureValue>(
    set: &FeatureSet,
    universe: &[CandleSeries],
) -> Result<Vec<FeatureMatrix<T>>, FeatureError> {
    let chunks = universe
        .par_chunks(LANES)
        .map(|chunk| compute_chunk::<T>(set, chunk))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(chunks.into_iter().flatten().collect())
}

/// Series computed together by [`compute_universe_as`].
const LANES: usize = 4;

/// The features of up to [`LANES`] consecutive series, together when they can be.
fn compute_chunk<T: FeatureValue>(
    set: &FeatureSet,
    chunk: &[CandleSeries],
) -> Result<Vec<FeatureMatrix<T>>, FeatureError> {
    if let Ok(group) = <&[CandleSeries; LANES]>::try_from(chunk) {
        let first = &group[0];
        let aligned = group
            .iter()
            .all(|series| series.interval() == first.interval() && series.ts() == first.ts());
        if aligned {
            check_sorted(first)?;
            if let Some(lanes) = in_lanes::<T>(set, group)? {
                let ts: Arc<[i64]> = first.ts().into();
                return Ok(group
                    .iter()
                    .zip(lanes)
                    .map(|(series, rows)| matrix(set, series, Arc::clone(&ts), rows))
                    .collect());
            }
        }
    }
    chunk.iter().map(|series| compute_as(set, series)).collect()
}

/// [`batch_rows`] of [`LANES`] series with the same open times, one per lane, or
/// `None` when one of them has an unusable bar. Compiled for AVX2 when the CPU has
/// it: one instruction then serves all four lanes. The results are the same bits
/// either way (the same IEEE operations in the same order; fused multiply-adds are
/// never formed).
fn in_lanes<T: FeatureValue>(
    set: &FeatureSet,
    group: &[CandleSeries; LANES],
) -> Result<Option<[Rows<T>; LANES]>, FeatureError> {
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::avx2() {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { in_lanes_avx2(set, group) };
    }
    in_lanes_here(set, group)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn in_lanes_avx2<T: FeatureValue>(
    set: &FeatureSet,
    group: &[CandleSeries; LANES],
) -> Result<Option<[Rows<T>; LANES]>, FeatureError> {
    in_lanes_here(set, group)
}

/// The body of [`in_lanes`], inlined into each of its compilations.
#[inline(always)]
fn in_lanes_here<T: FeatureValue>(
    set: &FeatureSet,
    group: &[CandleSeries; LANES],
) -> Result<Option<[Rows<T>; LANES]>, FeatureError> {
    let first = &group[0];
    batch_rows::<T, LANES>(
        set,
        first.interval(),
        first.len(),
        lane_bars(group.each_ref()),
    )
}

/// Open times must strictly increase.
fn check_sorted(series: &CandleSeries) -> Result<(), FeatureError> {
    let ts = series.ts();
    match ts.windows(2).position(|w| w[1] <= w[0]) {
        Some(i) => Err(FeatureError::UnsortedTimestamps {
            symbol: series.symbol().to_string(),
            row: i + 1,
            previous: ts[i],
            ts: ts[i + 1],
        }),
        None => Ok(()),
    }
}

/// The bars of `L` series with the same open times, one per lane.
fn lane_bars<const L: usize>(series: [&CandleSeries; L]) -> LaneBars<'_, L> {
    let ts = series[0].ts();
    let column = |get: fn(&CandleSeries) -> &[f64]| series.map(|s| &get(s)[..ts.len()]);
    LaneBars {
        ts,
        open: column(CandleSeries::open),
        high: column(CandleSeries::high),
        low: column(CandleSeries::low),
        close: column(CandleSeries::close),
        volume: column(CandleSeries::volume),
        next: 0,
    }
}

/// Values of a column in one cache line.
const BARS_PER_LINE: usize = CACHE_LINE / std::mem::size_of::<f64>();

/// How many bars ahead [`LaneBars`] prefetches its columns (eight cache lines).
const PREFETCH_DISTANCE: usize = 8 * BARS_PER_LINE;

/// The iterator of [`lane_bars`]. (A named type, so that `next` can be inlined into
/// the computation that consumes it.)
struct LaneBars<'a, const L: usize> {
    /// Every column is exactly as long as `ts` (sliced so by [`lane_bars`]).
    ts: &'a [i64],
    open: [&'a [f64]; L],
    high: [&'a [f64]; L],
    low: [&'a [f64]; L],
    close: [&'a [f64]; L],
    volume: [&'a [f64]; L],
    next: usize,
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
        let at = |columns: &[&[f64]; L]| per_lane(|l| unsafe { *columns[l].get_unchecked(i) });
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

impl<'a, const L: usize> LaneBars<'a, L> {
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
    /// `i < self.ts.len()`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn four_lanes_avx2(&self, i: usize, ts: i64) -> LaneBar<L> {
        use std::arch::x86_64::{
            __m256d, _mm256_and_pd, _mm256_cmp_pd, _mm256_movemask_pd, _mm256_set1_pd,
            _mm256_set_pd, _mm256_setzero_pd, _mm256_storeu_pd, _CMP_GE_OQ, _CMP_GT_OQ, _CMP_LT_OQ,
        };
        assert_eq!(L, 4, "four lanes fill one AVX2 register");
        // SAFETY: `i` is below every column's length (the function's contract).
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
        // Ordered comparisons: false for NaN, as in `Bar::is_usable`.
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

/// `series`' matrix from its computed rows and its open times `ts`.
fn matrix<T: FeatureValue>(
    set: &FeatureSet,
    series: &CandleSeries,
    ts: Arc<[i64]>,
    rows: Rows<T>,
) -> FeatureMatrix<T> {
    let columns = set.len();
    let values = Array2::from_shape_vec((series.len(), columns), rows.values)
        .expect("batch_rows returns rows × columns values in row-major order");
    FeatureMatrix {
        symbol: series.symbol().to_string(),
        manifest_hash: set.manifest().hash,
        names: set.names().into_iter().map(str::to_string).collect(),
        ts,
        values,
        ready: rows.ready,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_computed_in_lanes_share_their_open_times() {
        use gauntlet_datasets::synth::{generate, SynthConfig};
        let universe = generate(&SynthConfig {
            symbols: LANES + 1,
            days: 1,
            missing_bar_probability: 0.0,
            ..Default::default()
        })
        .unwrap();
        let matrices = compute_universe(&FeatureSet::core31(), &universe).unwrap();
        for (series, matrix) in universe.iter().zip(&matrices) {
            assert_eq!(&*matrix.ts, series.ts());
        }
        let (lanes, alone) = matrices.split_at(LANES);
        assert!(lanes.iter().all(|m| Arc::ptr_eq(&m.ts, &lanes[0].ts)));
        assert!(!Arc::ptr_eq(&alone[0].ts, &lanes[0].ts));
    }

    /// `write_across` of width `WIDTH` writes exactly the first `WIDTH` cells after
    /// each row pointer, column `c` of lane `l` into row `l`'s cell `c`.
    fn writes_exactly_width_values<
        T: FeatureValue + PartialEq + std::fmt::Debug,
        const WIDTH: usize,
    >(
        value: impl Fn(usize) -> T,
    ) {
        let untouched = value(999);
        let columns: [[T; 4]; 4] =
            std::array::from_fn(|c| std::array::from_fn(|l| value(10 * c + l)));
        let mut rows = [[untouched; 6]; 4];
        // SAFETY: each row has five cells after its first, and `WIDTH` ≤ 4.
        unsafe {
            T::write_across::<4, WIDTH>(&columns, rows.each_mut().map(|r| &mut r[1] as *mut T))
        };
        for (l, row) in rows.iter().enumerate() {
            let expected: Vec<T> = (0..6)
                .map(|i| match i {
                    1.. if i <= WIDTH => value(10 * (i - 1) + l),
                    _ => untouched,
                })
                .collect();
            assert_eq!(row.to_vec(), expected, "width {WIDTH}, lane {l}");
        }
    }

    /// Every width of `T`.
    fn writes_exactly_every_width<T: FeatureValue + PartialEq + std::fmt::Debug>(
        value: impl Fn(usize) -> T + Copy,
    ) {
        writes_exactly_width_values::<T, 0>(value);
        writes_exactly_width_values::<T, 1>(value);
        writes_exactly_width_values::<T, 2>(value);
        writes_exactly_width_values::<T, 3>(value);
        writes_exactly_width_values::<T, 4>(value);
    }

    #[test]
    fn write_across_writes_each_lane_s_values_and_nothing_else() {
        // f32: transposed in SSE registers on x86_64; f64: value by value.
        writes_exactly_every_width(|x| x as f32);
        writes_exactly_every_width(|x| x as f64);
    }
}
