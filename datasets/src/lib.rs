//! gauntlet-datasets owns market data: the columnar [`CandleSeries`], loading it
//! from Parquet/CSV (polars stays inside this crate), validating it with errors that
//! name file, row and column, resampling 1m bars to coarser intervals, and the
//! deterministic synthetic universe used by the demo, tests and benchmarks.
//!
//! Timing convention: `ts` is the bar *open* time in milliseconds since the Unix
//! epoch (UTC). A bar with open time `t` and interval `d` covers `[t, t + d)`.

mod candles;
mod interval;
pub mod synth;
pub mod write;

pub use candles::{CandleSeries, CandleSeriesError};
pub use interval::{Interval, ParseIntervalError};
pub use write::FileFormat;
