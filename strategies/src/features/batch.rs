//! Batch computation: a whole series (or a universe of them, in parallel) into a
//! row-major feature matrix.

use std::sync::Arc;

use gauntlet_datasets::CandleSeries;
use gauntlet_kernels::cpu::with_avx2;
use gauntlet_kernels::lanes::LaneBars;
use gauntlet_kernels::Number;
use ndarray::Array2;
use rayon::prelude::*;

use super::error::FeatureError;
use super::set::FeatureSet;
use super::stream::{batch_rows, Rows};
#[cfg(doc)]
use gauntlet_datasets::Bar;

/// The element type of a feature matrix: `f32` (what models consume, the default)
/// or `f64` (`--precision f64`, golden tests). Values are always computed in f64.
///
/// Implemented for `f32` and `f64` only (the kernels' sealed [`Number`]s, whose bits
/// the batch code moves with vector and streaming stores).
pub trait FeatureValue:
    Number + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self>
{
    const NAN: Self;
    const ZERO: Self;
    fn from_f64(value: f64) -> Self;
    fn is_finite(self) -> bool;
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
/// it ([`with_avx2`]): one instruction then serves all four lanes. The results are the
/// same bits either way (the same IEEE operations in the same order; fused
/// multiply-adds are never formed).
fn in_lanes<T: FeatureValue>(
    set: &FeatureSet,
    group: &[CandleSeries; LANES],
) -> Result<Option<[Rows<T>; LANES]>, FeatureError> {
    with_avx2(
        #[inline(always)]
        || in_lanes_here(set, group),
    )
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
    LaneBars::new(
        series[0].ts(),
        series.map(|s| s.open()),
        series.map(|s| s.high()),
        series.map(|s| s.low()),
        series.map(|s| s.close()),
        series.map(|s| s.volume()),
    )
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
}
