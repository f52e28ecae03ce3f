//! gauntlet-run runs a config: it reads and checks the run config and sweep grids, and
//! (in later modules) drives the backtest pipeline from candles to reports.
//!
//! The command line (`src/`) parses arguments, prints and sets exit codes; everything
//! it runs is here, usable and testable without the binary.

#![forbid(unsafe_code)]

pub mod config;
pub mod grid;
