//! Step 3 of a bar, against its range: the position's stop and target (both reached: the
//! configured ambiguity policy decides), then working limit/stop entries at their price;
//! and the bar's bookkeeping (ATR, excursions, bars held). A bar whose range reaches no
//! level and no entry takes the short path.

use gauntlet_strategies::strategy::{Bar, EntryKind, Side, Strategy};

use super::Simulator;
use crate::fill::{resolve_ambiguity, FirstHit, SlippageModel};
use crate::order::{ExitReason, Liquidity};

impl<'a, S: Strategy, Sl: SlippageModel> Simulator<'a, S, Sl> {
    /// Step (3) of bar `i` of symbol `s` and its bookkeeping: the stop and target against
    /// the bar's range, then working limit/stop entries; ATR, the excursions and the bar
    /// count.
    #[inline(always)]
    pub(super) fn intrabar(&mut self, s: usize, i: usize) {
        let slot = &self.slots[s];
        if slot.pending_entry.is_none() {
            let Some(t) = &slot.trade else {
                // Nothing to fill or protect: only ATR moves.
                let bar = slot.columns.bar(i);
                self.slots[s].push_atr(i, &bar);
                return;
            };
            if t.checks_from_bar <= i {
                let bar = slot.columns.bar(i);
                // The range reaches no level: only ATR, the excursions and the bar count
                // move (as at the end of the full path).
                let (below, above) = t.quiet_band;
                if bar.low > below && bar.high < above {
                    self.slots[s].push_atr(i, &bar);
                    if let Some(t) = self.slots[s].trade.as_mut() {
                        t.low_water = t.low_water.min(bar.low);
                        t.high_water = t.high_water.max(bar.high);
                        t.bars_held += 1;
                    }
                    return;
                }
            }
        }
        self.intrabar_busy_bar(s, i);
    }

    /// [`Self::intrabar`] of a symbol with a working entry or a level in the bar's range.
    #[inline(never)]
    fn intrabar_busy_bar(&mut self, s: usize, i: usize) {
        let bar = self.slots[s].columns.bar(i);

        // (3) intrabar: the position's stop and target, then working limit/stop entries
        if let Some(t) = self.slots[s]
            .trade
            .as_ref()
            .filter(|t| t.checks_from_bar <= i)
        {
            let p = *t.protection.get();
            let long = p.side == Side::Long;
            let (stop, target) = p.reached(bar.low, bar.high);
            let first = match (stop, target) {
                (Some((level, _)), Some(tp)) => {
                    let qty = self.portfolio.position(s).quantity.abs();
                    let first = resolve_ambiguity(
                        self.config.fills.ambiguity,
                        p.side,
                        &bar,
                        level,
                        tp,
                        self.detail_bars(s, &bar),
                    );
                    self.ambiguity.ambiguous_bars += 1;
                    self.ambiguity.optimistic_minus_pessimistic_pnl += qty * (tp - level).abs();
                    match first {
                        FirstHit::Stop => self.ambiguity.resolved_stop_first += 1,
                        FirstHit::Target => self.ambiguity.resolved_target_first += 1,
                    }
                    Some(first)
                }
                (Some(_), None) => Some(FirstHit::Stop),
                (None, Some(_)) => Some(FirstHit::Target),
                (None, None) => None,
            };
            match (first, stop, target) {
                (Some(FirstHit::Stop), Some((level, reason)), _) => {
                    let trigger = if long { bar.low } else { bar.high };
                    self.exit_protective(
                        s,
                        i,
                        &bar,
                        reason,
                        level,
                        trigger,
                        level,
                        Liquidity::Taker,
                    );
                }
                (Some(FirstHit::Target), _, Some(tp)) => {
                    let trigger = if long { bar.high } else { bar.low };
                    self.exit_protective(
                        s,
                        i,
                        &bar,
                        ExitReason::TakeProfit,
                        tp,
                        trigger,
                        tp,
                        Liquidity::Maker,
                    );
                }
                _ => {}
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
                EntryKind::Limit { price }
                    if !opposite_open
                        && ((buy && bar.low <= price) || (!buy && bar.high >= price)) =>
                {
                    self.fill_entry(s, i, &bar, price, Liquidity::Maker, i + 1);
                }
                EntryKind::Stop { price }
                    if !opposite_open
                        && ((buy && bar.high >= price) || (!buy && bar.low <= price)) =>
                {
                    self.fill_entry(s, i, &bar, price, Liquidity::Taker, i + 1);
                }
                _ => {}
            }
        }

        // ATR and excursions
        self.slots[s].push_atr(i, &bar);
        if let Some(t) = self.slots[s].trade.as_mut() {
            if t.checks_from_bar <= i {
                t.low_water = t.low_water.min(bar.low);
                t.high_water = t.high_water.max(bar.high);
            }
            t.bars_held += 1;
        }
    }

    /// The finer candles inside `bar` (empty unless drill-down data was given).
    fn detail_bars(&self, s: usize, bar: &Bar) -> impl Iterator<Item = Bar> + 'a {
        let input = &self.inputs[s];
        let (detail, start, end) = match input.detail {
            Some(d) => {
                let end_ts = bar.ts + input.candles.interval().millis();
                let start = d.ts().partition_point(|&t| t < bar.ts);
                let end = d.ts().partition_point(|&t| t < end_ts);
                (Some(d), start, end.max(start))
            }
            None => (None, 0, 0),
        };
        (start..end).filter_map(move |j| detail.map(|d| d.bar(j)))
    }
}
