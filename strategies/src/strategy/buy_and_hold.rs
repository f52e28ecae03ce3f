//! Buy and hold: the benchmark every model must beat.

use super::{BarContext, EntryIntent, OrderIntent, PositionView, Side, Strategy};

/// Enters long at the first bar of each symbol (filled at the next open) and never
/// exits; the engine closes the position at the end of the data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BuyAndHold;

impl Strategy for BuyAndHold {
    /// Whether the entry has already been requested.
    type State = bool;

    fn name(&self) -> &'static str {
        "buy_and_hold"
    }

    fn new_state(&self) -> bool {
        false
    }

    #[inline]
    fn on_bar(&self, requested: &mut bool, ctx: &BarContext<'_>) -> Option<OrderIntent> {
        if *requested || ctx.position.quantity != 0.0 {
            return None;
        }
        *requested = true;
        Some(OrderIntent::Enter(EntryIntent::market(Side::Long)))
    }

    /// Holding, it never acts again: the engine may skip the symbol's bars until a
    /// protective level or the end of the data. Flat, it is asked at every bar.
    #[inline]
    fn next_decision(&self, _symbol_index: usize, from: usize, position: &PositionView) -> usize {
        position.side().map_or(from, |_| usize::MAX)
    }
}
