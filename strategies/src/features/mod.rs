//! The unified feature pipeline: one implementation of every feature, used both to
//! export training data and to backtest.
//!
//! - A [`FeatureSet`] is an ordered list of [`FeatureDef`]s (name + [`FeatureKind`]
//!   with its parameters); built-ins are `core31` and `mtf50`, custom sets come from
//!   TOML ([`FeatureSet::from_toml_str`], format in the `set` module docs).
//! - Its [`FeatureManifest`] (set name, version, ordered names, parameters, warm-up)
//!   has a sha256 content hash over a canonical form.
//! - [`compute`] / [`compute_universe`] produce a [`FeatureMatrix`] (f32 row-major +
//!   a per-row `ready` flag); [`StreamingComputer`] yields the same rows one bar at a
//!   time. Batch drives the streaming state machines, so they agree bit for bit;
//!   [`compute_universe`] runs them for four aligned symbols at once, one per SIMD
//!   lane, with the same bits per symbol.
//! - Every family has one file in `indicators/` (the RSI in `indicators/rsi.rs`) with
//!   its parameters, name, warm-up, state machine and column; its formula is in the
//!   doc comment of its parameter type ([`Rsi`], [`Macd`], …), the payload of its
//!   [`FeatureKind`] variant. `ta`-compatible ones (RSI, MACD, Bollinger, ATR, SMA)
//!   follow `ta` 0.11 seeding.
//!
//! Bad input: too few bars is not an error (rows stay not ready); an unusable bar
//! (NaN, non-positive price, negative volume) is skipped — its row is not ready and
//! the state continues from the previous usable bar (see [`StreamingComputer`]);
//! unsorted timestamps are an error in batch.

mod batch;
mod catalog;
mod error;
mod indicators;
mod labels;
mod manifest;
mod params;
mod primitives;
mod set;
mod stream;

pub use batch::{
    compute, compute_as, compute_universe, compute_universe_as, FeatureMatrix, FeatureValue,
};
pub use error::{FeatureError, SetIssue};
pub use gauntlet_datasets::Bar;
pub use indicators::{
    Atr, Bollinger, BollingerOutput, Calendar, FeatureKind, Macd, MacdOutput, MtfAtrRatio,
    MtfRangePosition, MtfReturn, MtfRsi, MtfTrend, MtfTrendAlignment, MtfVolumeRatio, Rsi, Session,
    Sma, Spread, Volatility, VolatilityClass, Volume, MTF_TIMEFRAMES,
};
pub use labels::{forward_return_labels, Label};
pub use manifest::{FeatureManifest, ManifestFeature, MANIFEST_SCHEMA};
pub use params::{ParamValue, MAX_WINDOW};
pub use set::{FeatureDef, FeatureSet, BUILTIN_SETS, RESERVED_COLUMNS};
pub use stream::StreamingComputer;
