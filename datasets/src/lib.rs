//! gauntlet-datasets owns market data: the columnar [`CandleSeries`], loading it
//! from Parquet/CSV (polars stays inside this crate), validating it with errors that
//! name file, row and column, resampling 1m bars to coarser intervals, and the
//! deterministic synthetic universe used by the demo, tests and benchmarks.
//!
//! Timing convention: `ts` is the bar *open* time in milliseconds since the Unix
//! epoch (UTC). A bar with open time `t` and interval `d` covers `[t, t + d)`.

#![forbid(unsafe_code)]

mod candles;
pub mod hash;
mod interval;
pub mod load;
pub mod resample;
pub mod synth;
pub mod table;
pub mod validate;
pub mod write;

pub use candles::{Bar, CandleSeries, CandleSeriesError};
pub use interval::{Interval, ParseIntervalError};
pub use load::{load, LoadError, LoadRequest, LoadedUniverse, SourceInfo, SymbolFilter};
pub use resample::{resample, resample_all, ResampleError, Resampled};
pub use validate::{
    ensure_clean, validate, validate_universe, DirtyData, Issue, IssueKind, ValidationReport,
};
pub use write::FileFormat;
