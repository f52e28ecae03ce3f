//! Orders, their log records, and fills.

use gauntlet_strategies::strategy::{EntryKind, Side};
use serde::{Deserialize, Serialize};

/// Sequential id of an order within one run (0, 1, 2, … in submission order).
pub type OrderId = u64;

/// Why a position was closed: one vocabulary for the engine's fills and trades and the
/// reports' trade records, breakdowns and CSV files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// The strategy's signal closed or reversed it.
    Signal,
    /// The stop-loss price was hit (including a gap through it).
    StopLoss,
    /// The take-profit price was hit.
    TakeProfit,
    /// The trailing stop was hit.
    TrailingStop,
    /// A maximum holding time elapsed (`risk.time_stop_bars` or the strategy's own).
    TimeStop,
    /// A portfolio risk rule (daily drawdown limit, circuit breaker) flattened it.
    RiskFlatten,
    /// Still open when the data ended: closed at the last close without fees (the
    /// equity curve already holds this mark).
    EndOfData,
}

impl ExitReason {
    /// All reasons, in report order.
    pub const ALL: [ExitReason; 7] = [
        Self::Signal,
        Self::StopLoss,
        Self::TakeProfit,
        Self::TrailingStop,
        Self::TimeStop,
        Self::RiskFlatten,
        Self::EndOfData,
    ];

    /// The snake_case name used in reports and CSV files (the serde name).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signal => "signal",
            Self::StopLoss => "stop_loss",
            Self::TakeProfit => "take_profit",
            Self::TrailingStop => "trailing_stop",
            Self::TimeStop => "time_stop",
            Self::RiskFlatten => "risk_flatten",
            Self::EndOfData => "end_of_data",
        }
    }
}

/// What an order is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "purpose")]
pub enum OrderPurpose {
    /// Open (or add to) a position on `side`.
    Entry,
    /// Close the whole position.
    Exit { reason: ExitReason },
}

/// An order as decided at the close of bar `created_bar` of its symbol.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub symbol: usize,
    pub created_ts: i64,
    pub created_bar: usize,
    /// First bar index of the symbol at which the order may fill
    /// (`created_bar + 1 + latency_bars`).
    pub active_from_bar: usize,
    /// Trade direction: `Long` buys, `Short` sells (an exit of a long sells).
    pub side: Side,
    pub purpose: OrderPurpose,
    /// Pricing of entries; exits are always market orders.
    pub kind: EntryKind,
    /// Bracket stop-loss price requested by the strategy.
    pub stop_loss: Option<f64>,
    /// Bracket take-profit price requested by the strategy.
    pub take_profit: Option<f64>,
    /// ATR of the decision bar (NaN during the ATR warm-up).
    pub atr: f64,
    /// Close of the decision bar.
    pub decision_close: f64,
    /// Units still to fill once sized (after a partial fill); `None` = size at the fill.
    pub remaining: Option<f64>,
}

/// Final state of an order at the end of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Not yet filled when the data ended.
    Working,
    Filled,
    /// Partly filled, the rest cancelled or still working at the end.
    PartiallyFilled,
    /// Replaced by a newer intent, cancelled by a risk flatten or a volume-cap
    /// remainder policy, or left without a position to close.
    Cancelled,
    /// Reached the fill model but sized to zero units (caps, ramp, whole units).
    Rejected,
}

/// One submitted order and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRecord {
    pub order: Order,
    pub status: OrderStatus,
    pub filled_quantity: f64,
}

/// Whether a fill took liquidity (market, stop) or rested in the book (limit, target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Liquidity {
    Maker,
    Taker,
}

/// What triggered a fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FillCause {
    Entry,
    Exit { reason: ExitReason },
}

/// One execution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FillRecord {
    /// The order filled; `None` for position-attached stops/targets (bracket legs and
    /// risk stops live on the position, so their one-cancels-other is structural).
    pub order_id: Option<OrderId>,
    pub ts: i64,
    pub symbol: usize,
    pub bar_index: usize,
    /// Signed: `> 0` bought, `< 0` sold.
    pub quantity: f64,
    /// Price after slippage.
    pub price: f64,
    pub fee: f64,
    pub liquidity: Liquidity,
    pub cause: FillCause,
}
