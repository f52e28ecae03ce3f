//! What a run produces; all of it serde-serializable for the reports crate.

use gauntlet_kernels::memory::with_huge_pages;
use gauntlet_strategies::strategy::Side;
use serde::{Deserialize, Serialize};

use crate::order::{ExitReason, FillRecord, OrderRecord};
use crate::risk::RiskEvent;

/// Portfolio values at the close of every timestamp of the run (columnar).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EquityCurve {
    /// Bar open time (ms UTC) of the timestamp.
    pub ts: Vec<i64>,
    /// `cash + Σ q × close`.
    pub equity: Vec<f64>,
    pub cash: Vec<f64>,
    /// `Σ |q| × close`.
    pub gross_exposure: Vec<f64>,
    /// `Σ q × close`.
    pub net_exposure: Vec<f64>,
}

impl EquityCurve {
    /// Room for `n` bars, on huge pages where the kernel offers them
    /// ([`with_huge_pages`]: five f64 columns of a million bars are 40 MB).
    pub fn with_capacity(n: usize) -> Self {
        Self {
            ts: with_huge_pages(n),
            equity: with_huge_pages(n),
            cash: with_huge_pages(n),
            gross_exposure: with_huge_pages(n),
            net_exposure: with_huge_pages(n),
        }
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }
}

/// The model output of the decision bar of an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSnapshot {
    pub probabilities: Vec<f32>,
    pub consensus: f32,
}

/// One round trip: from flat to flat on one symbol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    /// Index of the symbol in [`RunResult::symbols`] (and in the simulated inputs).
    pub symbol_index: usize,
    pub side: Side,
    /// Time and index (in the symbol's series) of the first entry fill's bar.
    pub entry_ts: i64,
    pub entry_bar: usize,
    /// Time and index of the bar of the fill that made the position flat.
    pub exit_ts: i64,
    pub exit_bar: usize,
    /// Volume-weighted average entry price.
    pub entry_price: f64,
    /// Volume-weighted average exit price.
    pub exit_price: f64,
    /// Units entered (absolute).
    pub quantity: f64,
    /// Entry and exit fees.
    pub fees: f64,
    /// `Σ exit q × (exit − entry) × sign − fees`.
    pub pnl: f64,
    /// `sign × (exit/entry − 1) − fees / (quantity × entry)` (backtesting.py's ReturnPct).
    pub return_fraction: f64,
    /// Reason of the fill that closed the position.
    pub exit_reason: ExitReason,
    /// Maximum adverse excursion in cash: `quantity × max(0, worst price move against
    /// the position)`, over the bars held (the exit bar contributes its exit price only).
    pub mae: f64,
    /// Maximum favourable excursion in cash, likewise.
    pub mfe: f64,
    /// `sign × (exit − entry) / ATR at the entry decision` (`None` without a finite ATR).
    pub atr_multiple_at_exit: Option<f64>,
    pub model_at_entry: Option<ModelSnapshot>,
}

/// Bars whose range reached both the stop and the target of a position.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AmbiguityStats {
    pub ambiguous_bars: u64,
    pub resolved_stop_first: u64,
    pub resolved_target_first: u64,
    /// `Σ |q| × |target − stop|` over ambiguous bars: how much more the run would have
    /// made, per bar, resolving every ambiguity optimistically instead of pessimistically
    /// (levels before slippage and fees; later path effects not included).
    pub optimistic_minus_pessimistic_pnl: f64,
}

/// Everything one simulation produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub strategy: String,
    /// Symbol names; `symbol` fields of orders, fills and events index into this.
    pub symbols: Vec<String>,
    pub initial_cash: f64,
    pub final_equity: f64,
    pub total_fees: f64,
    pub equity: EquityCurve,
    pub trades: Vec<Trade>,
    pub orders: Vec<OrderRecord>,
    pub fills: Vec<FillRecord>,
    pub risk_events: Vec<RiskEvent>,
    pub ambiguity: AmbiguityStats,
    /// Candles processed (all symbols).
    pub candles: u64,
}
