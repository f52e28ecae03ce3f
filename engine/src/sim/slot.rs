//! What the loop keeps per symbol ([`Slot`]): its candle columns, working orders, open
//! trade ([`OpenTrade`]), ATR and the rows it sleeps through.

use gauntlet_strategies::strategy::{Bar, Side};

use super::columns::Columns;
use crate::atr::StreamingAtr;
use crate::order::Order;
use crate::result::ModelSnapshot;
use crate::risk::{Protection, RiskApproved};

/// The trade of a symbol's position, from its first entry fill to the fill that makes
/// the position flat: the running totals that become its [`Trade`](crate::Trade).
pub(super) struct OpenTrade {
    pub(super) side: Side,
    pub(super) entry_ts: i64,
    pub(super) entry_bar: usize,
    pub(super) entered_qty: f64,
    pub(super) entry_value: f64,
    pub(super) exited_qty: f64,
    pub(super) exit_value: f64,
    pub(super) entry_fills: u32,
    pub(super) exit_fills: u32,
    pub(super) first_entry_price: f64,
    pub(super) first_exit_price: f64,
    pub(super) fees: f64,
    pub(super) realized: f64,
    pub(super) protection: RiskApproved<Protection>,
    /// [`Protection::quiet_band`] of `protection`, refreshed whenever it changes.
    pub(super) quiet_band: (f64, f64),
    pub(super) atr_at_entry: f64,
    pub(super) model: Option<ModelSnapshot>,
    pub(super) bars_held: usize,
    pub(super) low_water: f64,
    pub(super) high_water: f64,
    /// First bar index at which the protective levels are checked intrabar.
    pub(super) checks_from_bar: usize,
}

/// One symbol's state during a run; `St` is its strategy state.
pub(super) struct Slot<'a, St> {
    pub(super) cursor: usize,
    pub(super) last_bar: Option<usize>,
    pub(super) state: St,
    pub(super) pending_exit: Option<RiskApproved<Order>>,
    pub(super) pending_entry: Option<RiskApproved<Order>>,
    pub(super) trade: Option<OpenTrade>,
    /// The symbol's candles, and its ATR after bar `atr_next − 1`: kept with the rest of
    /// the symbol's state so the loop indexes one array per symbol.
    pub(super) columns: Columns<'a>,
    pub(super) atr: StreamingAtr,
    pub(super) atr_next: usize,
    /// Aligned grid: rows `asleep_from..asleep_until` of the symbol are skipped. It has
    /// no working order, its strategy will not act before `asleep_until`
    /// ([`Strategy::next_decision`](gauntlet_strategies::strategy::Strategy::next_decision)) and, holding a position, no bar before it reaches a
    /// protective level or the time stop (see [`Simulator::sleep`](super::Simulator::sleep)); when it wakes,
    /// ATR, the excursions and the bar count catch up.
    pub(super) asleep_from: usize,
    pub(super) asleep_until: usize,
}

impl<St> Slot<'_, St> {
    /// Adds bar `i` to the symbol's ATR, after the bars it slept through.
    #[inline(always)]
    pub(super) fn push_atr(&mut self, i: usize, bar: &Bar) {
        if self.atr_next < i {
            self.catch_up_atr(i);
        }
        self.atr.push(bar.high, bar.low, bar.close);
        self.atr_next = i + 1;
    }

    #[inline(never)]
    fn catch_up_atr(&mut self, i: usize) {
        let (c, slept) = (&self.columns, self.atr_next..i);
        self.atr.extend(
            &c.high[slept.clone()],
            &c.low[slept.clone()],
            &c.close[slept],
        );
    }
}
