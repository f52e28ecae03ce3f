//! Batch computation: a whole series (or a universe of them, in parallel) into a
//! row-major feature matrix.

use gauntlet_datasets::CandleSeries;
use ndarray::Array2;
use rayon::prelude::*;

use super::error::FeatureError;
use super::set::FeatureSet;
use super::stream::{Bar, StreamingComputer};

/// The element type of a feature matrix: `f32` (what models consume, the default)
/// or `f64` (`--precision f64`, golden tests). Values are always computed in f64.
pub trait FeatureValue: Copy + Send + Sync + 'static {
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

/// Features of one series: drives a [`StreamingComputer`] over the bars in blocks,
/// column by column, into a preallocated matrix (no allocation per row).
///
/// Errors: bar open times not strictly increasing; a feature timeframe shorter than
/// the series interval. Too few bars for the warm-up is not an error: those rows
/// are simply not ready (an empty series gives an empty matrix).
pub fn compute_as<T: FeatureValue>(
    set: &FeatureSet,
    series: &CandleSeries,
) -> Result<FeatureMatrix<T>, FeatureError> {
    let ts = series.ts();
    if let Some(i) = ts.windows(2).position(|w| w[1] <= w[0]) {
        return Err(FeatureError::UnsortedTimestamps {
            symbol: series.symbol().to_string(),
            row: i + 1,
            previous: ts[i],
            ts: ts[i + 1],
        });
    }
    let computer = StreamingComputer::new(set, series.interval())?;
    let columns = set.len();
    let rows = series.len();
    let (open, high, low, close, volume) = (
        series.open(),
        series.high(),
        series.low(),
        series.close(),
        series.volume(),
    );
    let bars = (0..rows).map(|i| Bar {
        ts: ts[i],
        open: open[i],
        high: high[i],
        low: low[i],
        close: close[i],
        volume: volume[i],
    });
    let (flat, ready) = computer.into_rows::<T>(rows, bars);
    let values = Array2::from_shape_vec((rows, columns), flat)
        .expect("into_rows returns rows × columns values in row-major order");
    Ok(FeatureMatrix {
        symbol: series.symbol().to_string(),
        manifest_hash: set.manifest().hash,
        names: set.names().into_iter().map(str::to_string).collect(),
        ts: ts.to_vec(),
        values,
        ready,
    })
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
pub fn compute_universe_as<T: FeatureValue>(
    set: &FeatureSet,
    universe: &[CandleSeries],
) -> Result<Vec<FeatureMatrix<T>>, FeatureError> {
    universe
        .par_iter()
        .map(|series| compute_as::<T>(set, series))
        .collect()
}
