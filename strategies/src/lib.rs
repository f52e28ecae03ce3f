//! gauntlet-strategies turns candles into decisions: the one feature pipeline used
//! both to export training data and to backtest (named, versioned, hashed feature
//! sets), model bundles with ONNX inference and preflight checks, the ensemble, and
//! the strategies that turn predictions into order intents.

#![forbid(unsafe_code)]

pub mod ensemble;
pub mod features;
pub mod models;
pub mod strategy;
