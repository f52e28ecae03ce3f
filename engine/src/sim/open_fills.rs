//! Steps 1 and 2 of a bar, at its open: protective levels and working limit/stop entries
//! that the open crosses (gaps), then the pending market orders, exits before entries.
//! A symbol with no working order and an open inside its levels takes the short path.

use gauntlet_strategies::strategy::{EntryKind, Side, Strategy};

use super::Simulator;
use crate::fill::SlippageModel;
use crate::order::{ExitReason, Liquidity};

impl<S: Strategy, Sl: SlippageModel> Simulator<'_, S, Sl> {
    /// Steps (1) and (2) of bar `i` of symbol `s`: what its open crosses and the market
    /// orders that fill at it. Run for every symbol of a timestamp before any symbol's
    /// intrabar step, so no fill at the open depends on anything later in that bar.
    #[inline(always)]
    pub(super) fn open_bar(&mut self, s: usize, i: usize) {
        let slot = &self.slots[s];
        let idle = slot.pending_entry.is_none()
            && slot.pending_exit.is_none()
            && slot.trade.as_ref().is_none_or(|t| {
                // The open reaches neither the stop nor the target.
                let (below, above) = t.quiet_band;
                let open = slot.columns.open[i];
                t.checks_from_bar <= i && open > below && open < above
            });
        if !idle {
            self.open_busy_bar(s, i);
        }
    }

    /// [`Self::open_bar`] of a symbol with a working order or an open beyond a level.
    #[inline(never)]
    fn open_busy_bar(&mut self, s: usize, i: usize) {
        let bar = self.slots[s].columns.bar(i);

        // (1) gap check at the open
        if let Some(t) = &self.slots[s].trade {
            let p = *t.protection.get();
            let (stop, target) = p.reached(bar.open, bar.open);
            if let Some((level, reason)) = stop {
                self.exit_protective(
                    s,
                    i,
                    &bar,
                    reason,
                    level,
                    bar.open,
                    bar.open,
                    Liquidity::Taker,
                );
            } else if let Some(tp) = target {
                self.exit_protective(
                    s,
                    i,
                    &bar,
                    ExitReason::TakeProfit,
                    tp,
                    bar.open,
                    bar.open,
                    Liquidity::Maker,
                );
            }
        }
        if let Some(order) = self.slots[s]
            .pending_entry
            .as_ref()
            .filter(|o| o.get().active_from_bar <= i)
        {
            let o = order.get();
            let buy = o.side == Side::Long;
            let opposite_open = self.slots[s]
                .trade
                .as_ref()
                .is_some_and(|t| t.side != o.side);
            match o.kind {
                _ if opposite_open => {}
                EntryKind::Limit { price }
                    if (buy && bar.open <= price) || (!buy && bar.open >= price) =>
                {
                    self.fill_entry(s, i, &bar, bar.open, Liquidity::Maker, i);
                }
                EntryKind::Stop { price }
                    if (buy && bar.open >= price) || (!buy && bar.open <= price) =>
                {
                    self.fill_entry(s, i, &bar, bar.open, Liquidity::Taker, i);
                }
                _ => {}
            }
        }

        // (2) pending market orders at the open: exits, then entries
        if self.slots[s]
            .pending_exit
            .as_ref()
            .is_some_and(|o| o.get().active_from_bar <= i)
        {
            self.fill_exit_order(s, i, &bar);
        }
        if let Some(order) = self.slots[s].pending_entry.as_ref() {
            let o = order.get();
            let opposite_open = self.slots[s]
                .trade
                .as_ref()
                .is_some_and(|t| t.side != o.side);
            if o.active_from_bar <= i && o.kind == EntryKind::Market && !opposite_open {
                self.fill_entry(s, i, &bar, bar.open, Liquidity::Taker, i);
            }
        }
    }
}
