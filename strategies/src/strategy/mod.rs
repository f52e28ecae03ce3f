//! The strategy interface: what a strategy sees at the close of a bar and the
//! order intents it may return, plus the provided strategies.
//!
//! Timing contract (enforced by the engine): [`Strategy::on_bar`] is called at the
//! *close* of bar `t` of one symbol, with data of bars `≤ t` only. Any intent it
//! returns is executed by the engine no earlier than the open of bar `t + 1`.
//! Strategies never size orders: quantity is decided by the engine's risk pipeline.

mod buy_and_hold;
mod config;
mod ensemble_threshold;
mod model_view;
mod sma_cross;

pub use buy_and_hold::BuyAndHold;
pub use config::{ConfigError, FieldError};
pub use ensemble_threshold::{EnsembleThreshold, EnsembleThresholdConfig};
pub use gauntlet_datasets::Bar;
pub use model_view::{ModelOutputs, ModelOutputsError, ModelView};
pub use sma_cross::{SmaCross, SmaCrossConfig};

use serde::{Deserialize, Serialize};

/// Direction of a position or of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Long,
    Short,
}

impl Side {
    /// `+1.0` for long, `-1.0` for short: signed quantity = `sign() * |quantity|`.
    pub const fn sign(self) -> f64 {
        match self {
            Side::Long => 1.0,
            Side::Short => -1.0,
        }
    }

    pub const fn opposite(self) -> Side {
        match self {
            Side::Long => Side::Short,
            Side::Short => Side::Long,
        }
    }
}

/// The symbol's position at the close of the current bar.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct PositionView {
    /// Signed quantity: `> 0` long, `< 0` short, `0` flat.
    pub quantity: f64,
    /// Volume-weighted average entry price (0 when flat).
    pub avg_entry: f64,
    /// Bars of this symbol since the entry fill, the entry bar counting as 1 (0 when flat).
    pub bars_held: usize,
}

impl PositionView {
    /// The position's side, `None` when flat.
    #[inline]
    pub fn side(&self) -> Option<Side> {
        if self.quantity > 0.0 {
            Some(Side::Long)
        } else if self.quantity < 0.0 {
            Some(Side::Short)
        } else {
            None
        }
    }
}

/// Everything a strategy may look at when bar `bar_index` of symbol `symbol_index`
/// has closed. All of it describes bars `≤ bar_index`.
#[derive(Debug, Clone, Copy)]
pub struct BarContext<'a> {
    pub symbol_index: usize,
    /// Index of this bar in the symbol's own series.
    pub bar_index: usize,
    pub bar: Bar,
    /// This bar's row of the feature matrix, when features were supplied.
    pub features: Option<&'a [f32]>,
    /// This bar's model output, when predictions were supplied.
    pub model: Option<ModelView<'a>>,
    pub position: PositionView,
}

/// How an entry order is priced.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum EntryKind {
    /// Fill at the next eligible bar's open.
    Market,
    /// Buy at `price` or lower (sell at `price` or higher); keeps working until filled or replaced.
    Limit { price: f64 },
    /// Buy when the price trades at `price` or higher (sell: at or lower); keeps working.
    Stop { price: f64 },
}

/// An entry request. With `stop_loss` and/or `take_profit` it is a bracket order:
/// once the entry fills, both exits work together and the first to fill cancels
/// the other (one-cancels-other).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EntryIntent {
    pub side: Side,
    pub kind: EntryKind,
    /// Absolute stop-loss price; `None` lets the engine's risk rules choose.
    pub stop_loss: Option<f64>,
    /// Absolute take-profit price; `None` lets the engine's risk rules choose.
    pub take_profit: Option<f64>,
}

impl EntryIntent {
    /// A plain market entry without bracket prices.
    pub const fn market(side: Side) -> Self {
        Self {
            side,
            kind: EntryKind::Market,
            stop_loss: None,
            take_profit: None,
        }
    }
}

/// What a strategy asks for at the close of a bar.
///
/// An entry in the direction of the current position is ignored (no pyramiding);
/// an entry against it closes the position first, then opens the new one
/// (close-then-reverse, both at the same open).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "intent")]
pub enum OrderIntent {
    Enter(EntryIntent),
    /// Close the whole position at the next open and cancel working entry orders.
    Exit,
    /// [`OrderIntent::Exit`] because the position has been held for the strategy's
    /// longest holding period: its trade's exit reason is `time_stop`, not `signal`.
    TimeStop,
}

/// A trading strategy, called once per bar per symbol in time order.
///
/// Per-symbol memory lives in [`Strategy::State`] (one value per symbol, created by
/// [`Strategy::new_state`]), so a strategy value is immutable during a run and the
/// engine can dispatch statically. `on_bar` must not allocate in steady state.
pub trait Strategy: Sync {
    type State: Send + Clone;

    /// A short, stable name for reports.
    fn name(&self) -> &'static str;

    /// Fresh state for one symbol.
    fn new_state(&self) -> Self::State;

    /// Called at the close of `ctx.bar`; returns at most one intent. Mark
    /// implementations `#[inline]`: the engine's loop is generic over the strategy, and
    /// across the crate boundary only inlinable code folds into it (a call per bar
    /// otherwise).
    fn on_bar(&self, state: &mut Self::State, ctx: &BarContext<'_>) -> Option<OrderIntent>;

    /// While symbol `symbol_index` keeps `position` (as it was at the close of bar
    /// `from − 1`, its `bars_held` growing by one per bar) with no working order: the
    /// first bar at or after `from` at whose close [`Strategy::on_bar`] may return an
    /// intent. The engine may then skip the symbol's bars before it (no `on_bar` call for
    /// them). The default, `from`, asks at every bar; a strategy whose state must see
    /// every bar keeps it. A hint earlier than needed only costs a call.
    #[inline]
    fn next_decision(&self, symbol_index: usize, from: usize, position: &PositionView) -> usize {
        let _ = (symbol_index, position);
        from
    }
}

/// The first element of `column` for which `acts` holds. Blocks are tested whole,
/// without an early exit, so the test vectorizes: a strategy's next decision is found
/// in a fraction of a nanosecond per quiet bar.
#[inline]
fn first_acting<T: Copy>(column: &[T], acts: impl Fn(T) -> bool) -> Option<usize> {
    const BLOCK: usize = 32;
    let quiet_blocks = column
        .chunks_exact(BLOCK)
        .take_while(|block| !block.iter().fold(false, |any, &x| any | acts(x)))
        .count();
    let rest = &column[quiet_blocks * BLOCK..];
    rest.iter()
        .position(|&x| acts(x))
        .map(|k| quiet_blocks * BLOCK + k)
}
