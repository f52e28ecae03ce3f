//! The inputs of a run (per symbol: candles, and optionally features, model outputs and
//! finer candles) and the checks made before the loop starts: a run that fails one does
//! not start, and [`EngineError`] says why.

use gauntlet_datasets::CandleSeries;
use gauntlet_strategies::strategy::ModelOutputs;

use crate::config::{AmbiguityPolicy, ConfigError, EngineConfig};

/// A row-major f32 feature matrix of one symbol that a strategy reads: row `i` belongs
/// to bar `i` (warm-up rows included; the models' scored rows are
/// `gauntlet_strategies::models::FeatureRows`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureMatrix<'a> {
    pub values: &'a [f32],
    pub n_columns: usize,
}

impl<'a> FeatureMatrix<'a> {
    pub(super) fn row(&self, i: usize) -> Option<&'a [f32]> {
        let start = i.checked_mul(self.n_columns)?;
        self.values.get(start..start + self.n_columns)
    }
}

/// One symbol's data for a run.
#[derive(Debug, Clone, Copy)]
pub struct SymbolInput<'a> {
    pub candles: &'a CandleSeries,
    pub features: Option<FeatureMatrix<'a>>,
    pub model: Option<ModelOutputs<'a>>,
    /// Finer candles covering the same period, for [`AmbiguityPolicy::DrillDown`].
    pub detail: Option<&'a CandleSeries>,
}

impl<'a> SymbolInput<'a> {
    /// Candles only.
    pub fn new(candles: &'a CandleSeries) -> Self {
        Self {
            candles,
            features: None,
            model: None,
            detail: None,
        }
    }
}

/// Why a run could not start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("no symbols to simulate: expected at least one candle series")]
    NoSymbols,
    #[error("timestamps of {symbol} are not strictly increasing at row {row}")]
    UnsortedTimestamps { symbol: String, row: usize },
    #[error("features of {symbol}: {len} values are not {bars} bars × {n_columns} columns")]
    FeatureShape {
        symbol: String,
        len: usize,
        bars: usize,
        n_columns: usize,
    },
    #[error("model outputs of {symbol} cover {rows} bars but there are {bars} candles")]
    ModelLength {
        symbol: String,
        rows: usize,
        bars: usize,
    },
    #[error("ambiguity policy drill_down needs finer candles (SymbolInput::detail) for {symbol}")]
    DrillDownMissing { symbol: String },
    #[error(
        "drill_down candles of {symbol} are {fine}, which is not finer than the simulated {coarse}"
    )]
    DrillDownInterval {
        symbol: String,
        fine: String,
        coarse: String,
    },
}

/// The first `i` with `ts[i + 1] <= ts[i]`. Blocks of eight pairs are tested without a
/// branch per pair (the common, sorted case); the exact position only in a failing block.
fn first_not_increasing(ts: &[i64]) -> Option<usize> {
    const BLOCK: usize = 8;
    let mut start = 0;
    for block in ts.windows(BLOCK + 1).step_by(BLOCK) {
        let mut unsorted = false;
        for j in 0..BLOCK {
            unsorted |= block[j + 1] <= block[j];
        }
        if unsorted {
            break;
        }
        start += BLOCK;
    }
    ts[start..]
        .windows(2)
        .position(|w| w[1] <= w[0])
        .map(|p| start + p)
}

/// Checks the inputs; returns whether every symbol has the same timestamps.
pub(super) fn check_inputs(
    config: &EngineConfig,
    inputs: &[SymbolInput<'_>],
) -> Result<bool, EngineError> {
    if inputs.is_empty() {
        return Err(EngineError::NoSymbols);
    }
    let mut shared_grid = true;
    for (k, input) in inputs.iter().enumerate() {
        let c = input.candles;
        let symbol = || c.symbol().to_string();
        // Timestamps equal to the previous symbol's were checked with those (a shared
        // grid costs one comparison pass per symbol instead of an ordering scan).
        let same_as_previous = k > 0 && inputs[k - 1].candles.ts() == c.ts();
        shared_grid &= k == 0 || same_as_previous;
        if !same_as_previous {
            if let Some(row) = first_not_increasing(c.ts()) {
                return Err(EngineError::UnsortedTimestamps {
                    symbol: symbol(),
                    row: row + 1,
                });
            }
        }
        if let Some(f) = input.features {
            if f.n_columns == 0 || f.values.len() != c.len() * f.n_columns {
                return Err(EngineError::FeatureShape {
                    symbol: symbol(),
                    len: f.values.len(),
                    bars: c.len(),
                    n_columns: f.n_columns,
                });
            }
        }
        if let Some(m) = input.model {
            if m.len() != c.len() {
                return Err(EngineError::ModelLength {
                    symbol: symbol(),
                    rows: m.len(),
                    bars: c.len(),
                });
            }
        }
        if config.fills.ambiguity == AmbiguityPolicy::DrillDown {
            let detail = input
                .detail
                .ok_or_else(|| EngineError::DrillDownMissing { symbol: symbol() })?;
            if detail.interval().millis() >= c.interval().millis() {
                return Err(EngineError::DrillDownInterval {
                    symbol: symbol(),
                    fine: detail.interval().to_string(),
                    coarse: c.interval().to_string(),
                });
            }
        }
    }
    Ok(shared_grid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_not_increasing_finds_the_first_bad_pair_in_any_block() {
        for n in [0, 1, 2, 8, 9, 17, 40] {
            let sorted: Vec<i64> = (0..n as i64).map(|i| i * 60).collect();
            assert_eq!(first_not_increasing(&sorted), None, "n {n}");
            for bad in 1..n {
                for value in [sorted[bad - 1], sorted[bad - 1] - 1] {
                    let mut ts = sorted.clone();
                    ts[bad] = value;
                    let expected = ts.windows(2).position(|w| w[1] <= w[0]);
                    assert_eq!(first_not_increasing(&ts), expected, "n {n} bad {bad}");
                }
            }
        }
    }
}
