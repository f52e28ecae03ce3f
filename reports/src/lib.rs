//! gauntlet-reports turns a run into a verdict: performance statistics (one per
//! file, each with its formula), calibration and model diagnostics, promotion gates,
//! regression diffs, and the JSON / Markdown / HTML / CSV renderers.

#![forbid(unsafe_code)]

pub mod annualization;
pub mod breakdown;
pub mod calibration;
pub mod error;
pub mod gates;
pub mod halts;
pub mod regress;
pub mod render;
pub mod run;
pub mod series;
pub mod stats;
pub mod trades;

pub use annualization::Annualization;
pub use error::ReportsError;
pub use series::{DailyReturns, DrawdownEpisode, EquitySeries};
pub use trades::{ExitReason, TradeRecord};
