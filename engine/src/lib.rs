//! gauntlet-engine simulates trading: one event loop over time across all symbols,
//! orders and the fill model (next-open fills, slippage, fees, stops), the portfolio
//! and its accounting, the risk rules that every order must pass, and sweeps.
//!
//! Entry point: [`simulate`] (one run) and [`simulate_many`] (a parallel sweep over
//! configs). The processing order inside a bar is documented in [`sim`], the order of
//! the risk rules in [`risk`]. With per-symbol capital ([`Capital::PerSymbol`]) the
//! symbols do not share an account, so each runs that loop alone, in parallel, and the
//! runs are merged (`sleeves.rs`).

#![forbid(unsafe_code)]

pub mod atr;
pub mod config;
pub mod fill;
pub mod order;
pub mod portfolio;
pub mod result;
pub mod risk;
pub mod sim;
mod sleeves;
#[cfg(test)]
mod testing;

pub use config::{
    AmbiguityPolicy, Capital, CircuitBreaker, Distance, EngineConfig, FeeConfig, FillConfig,
    RampStep, RiskConfig, Sizing, SlippageConfig, VolumeCap, VolumeRemainder,
};
pub use order::{ExitReason, FillRecord, Order, OrderRecord, OrderStatus};
pub use result::{AmbiguityStats, EquityCurve, ModelSnapshot, RunResult, Trade};
pub use risk::{RiskApproved, RiskEvent, RiskRule};
pub use sim::{simulate, simulate_many, EngineError, FeatureMatrix, SymbolInput};
