//! gauntlet-run runs a config: it reads and checks the run config and sweep grids
//! ([`config`], [`grid`]), drives the backtest pipeline from candles to a report
//! ([`pipeline`]: load, predict, calibrate, simulate, report), writes a run's reports
//! ([`backtest`]) or a sweep with walk-forward ([`sweep`]) as one output set
//! ([`output`]), fits ensemble members' temperatures into calibrated bundles
//! ([`calibrate`]), and times the stages ([`timings`]). It also runs the model and
//! feature commands: bundling a model file ([`bundle`]), scoring a table of feature
//! rows ([`score`]) and exporting the training table ([`export`]).
//!
//! The command line (`src/`) parses arguments, prints and sets exit codes; everything
//! it runs is here, usable and testable without the binary.

#![forbid(unsafe_code)]

pub mod backtest;
pub mod bundle;
pub mod calibrate;
pub mod config;
pub mod export;
pub mod grid;
pub mod output;
pub mod pipeline;
pub mod score;
pub mod sweep;
pub mod timings;
