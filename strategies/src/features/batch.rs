//! Batch computation: a whole series (or a universe of them, in parallel) into a
//! row-major feature matrix.

use gauntlet_datasets::memory::{prefetch, CACHE_LINE};
use gauntlet_datasets::CandleSeries;
use ndarray::Array2;
use rayon::prelude::*;
use std::mem::MaybeUninit;

use super::error::FeatureError;
use super::indicators::per_lane;
use super::set::FeatureSet;
#[cfg(doc)]
use super::stream::Bar;
use super::stream::{batch_rows, LaneBar, Rows};

/// The element type of a feature matrix: `f32` (what models consume, the default)
/// or `f64` (`--precision f64`, golden tests). Values are always computed in f64.
pub trait FeatureValue:
    Copy + Send + Sync + 'static + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self>
{
    const NAN: Self;
    const ZERO: Self;
    fn from_f64(value: f64) -> Self;
    fn is_finite(self) -> bool;

    /// Writes four columns of `L` lanes across: `columns[c][l]` into
    /// `rows[l][at + c]`.
    #[inline(always)]
    fn write_across<const L: usize>(
        columns: &[[Self; L]; 4],
        rows: &mut [&mut [MaybeUninit<Self>]; L],
        at: usize,
    ) {
        write_across_by_lane(columns, rows, at);
    }
}

/// [`FeatureValue::write_across`] one value at a time, for any number of columns.
#[inline(always)]
pub(crate) fn write_across_by_lane<T: FeatureValue, const L: usize>(
    columns: &[[T; L]],
    rows: &mut [&mut [MaybeUninit<T>]; L],
    at: usize,
) {
    for (l, row) in rows.iter_mut().enumerate() {
        for (cell, column) in row[at..at + columns.len()].iter_mut().zip(columns) {
            cell.write(column[l]);
        }
    }
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
    /// of every x86_64 CPU) and four stores, instead of sixteen scalar stores.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn write_across<const L: usize>(
        columns: &[[f32; L]; 4],
        rows: &mut [&mut [MaybeUninit<f32>]; L],
        at: usize,
    ) {
        use std::arch::x86_64::{
            _mm_loadu_ps, _mm_movehl_ps, _mm_movelh_ps, _mm_storeu_ps, _mm_unpackhi_ps,
            _mm_unpacklo_ps,
        };
        if L != 4 {
            return write_across_by_lane(columns, rows, at);
        }
        // SAFETY: with `L == 4` each column is four f32 to load, and each store
        // writes a row slice of length four (checked by the slicing).
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
            for (row, lane) in rows.iter_mut().zip(lanes) {
                _mm_storeu_ps(row[at..at + 4].as_mut_ptr().cast(), lane);
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
/// (the manifest order). `values` is row-major and contiguous.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMatrix<T = f32> {
    pub symbol: String,
    /// The set's manifest hash (`sha256:…`).
    pub manifest_hash: String,
    pub names: Vec<String>,
    pub ts: Vec<i64>,
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
    let [rows] = batch_rows::<T, 1>(
        set,
        series.interval(),
        series.len(),
        lane_bars([series], false),
    )?;
    Ok(matrix(set, series, rows))
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
                return Ok(group
                    .iter()
                    .zip(lanes)
                    .map(|(series, rows)| matrix(set, series, rows))
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
    if std::arch::is_x86_feature_detected!("avx2") {
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
    if !group.iter().all(all_usable) {
        return Ok(None);
    }
    let first = &group[0];
    let bars = lane_bars(group.each_ref(), true);
    batch_rows::<T, LANES>(set, first.interval(), first.len(), bars).map(Some)
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

/// Every bar is [`Bar::is_usable`]: finite positive prices, finite non-negative
/// volume. (Folded without short cuts, so it vectorizes; NaN fails every comparison.)
#[inline(always)]
fn all_usable(series: &CandleSeries) -> bool {
    fn all(column: &[f64], ok: impl Fn(f64) -> bool) -> bool {
        column.iter().fold(true, |all, &x| all & ok(x))
    }
    let price = |p: f64| (p > 0.0) & (p < f64::INFINITY);
    all(series.open(), price)
        & all(series.high(), price)
        & all(series.low(), price)
        & all(series.close(), price)
        & all(series.volume(), |v| (0.0..f64::INFINITY).contains(&v))
}

/// The bars of `L` series with the same open times, one per lane. With
/// `known_usable` (every bar of every series checked by [`all_usable`]) the bars are
/// not checked again one by one.
fn lane_bars<const L: usize>(series: [&CandleSeries; L], known_usable: bool) -> LaneBars<'_, L> {
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
        known_usable,
    }
}

/// Values of a column in one cache line.
const BARS_PER_LINE: usize = CACHE_LINE / std::mem::size_of::<f64>();

/// How many bars ahead [`LaneBars`] prefetches its columns (eight cache lines).
const PREFETCH_DISTANCE: usize = 8 * BARS_PER_LINE;

/// The iterator of [`lane_bars`]. (A named type, so that `next` can be inlined into
/// the computation that consumes it.)
struct LaneBars<'a, const L: usize> {
    ts: &'a [i64],
    open: [&'a [f64]; L],
    high: [&'a [f64]; L],
    low: [&'a [f64]; L],
    close: [&'a [f64]; L],
    volume: [&'a [f64]; L],
    next: usize,
    known_usable: bool,
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
        let (open, high, low, close, volume) = (
            per_lane(|l| self.open[l][i]),
            per_lane(|l| self.high[l][i]),
            per_lane(|l| self.low[l][i]),
            per_lane(|l| self.close[l][i]),
            per_lane(|l| self.volume[l][i]),
        );
        Some(LaneBar {
            ts,
            usable: self.known_usable || LaneBar::usable(&open, &high, &low, &close, &volume),
            open,
            high,
            low,
            close,
            volume,
        })
    }
}

/// `series`' matrix from its computed rows.
fn matrix<T: FeatureValue>(
    set: &FeatureSet,
    series: &CandleSeries,
    rows: Rows<T>,
) -> FeatureMatrix<T> {
    let columns = set.len();
    let values = Array2::from_shape_vec((series.len(), columns), rows.values)
        .expect("batch_rows returns rows × columns values in row-major order");
    FeatureMatrix {
        symbol: series.symbol().to_string(),
        manifest_hash: set.manifest().hash,
        names: set.names().into_iter().map(str::to_string).collect(),
        ts: series.ts().to_vec(),
        values,
        ready: rows.ready,
    }
}
