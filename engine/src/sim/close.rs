//! The close of a bar, after the portfolio rules: time stop, trailing stop update and
//! the strategy, whose intent becomes orders here; and the flattening that the portfolio
//! rules order.

use gauntlet_strategies::strategy::{
    Bar, BarContext, EntryKind, OrderIntent, PositionView, Strategy,
};

use super::Simulator;
use crate::fill::SlippageModel;
use crate::order::{ExitReason, Order, OrderPurpose, OrderRecord, OrderStatus};
use crate::risk::{RiskEvent, RiskRule};

impl<S: Strategy, Sl: SlippageModel> Simulator<'_, S, Sl> {
    /// Close of bar `i` of symbol `s` (timestamp `ts`): time stop, trailing stop, strategy.
    #[inline(always)]
    pub(super) fn close_bar(&mut self, s: usize, ts: i64, i: usize) {
        let bar = self.slots[s].columns.bar(i);
        if let Some(limit) = self.config.risk.time_stop_bars {
            let held = self.slots[s].trade.as_ref().map_or(0, |t| t.bars_held);
            if held >= limit && self.slots[s].pending_exit.is_none() {
                self.events.push(RiskEvent {
                    ts,
                    symbol: Some(s),
                    rule: RiskRule::TimeStop {
                        bars_held: held,
                        limit,
                    },
                });
                self.submit_exit(s, ts, i, ExitReason::TimeStop);
            }
        }
        if self.config.risk.trailing_stop.is_some() && self.slots[s].trade.is_some() {
            let atr = self.slots[s].atr.value();
            if let Some(t) = self.slots[s].trade.as_mut() {
                self.risk.trail(&mut t.protection, bar.close, atr);
                t.quiet_band = t.protection.get().quiet_band();
            }
        }
        let slot = &mut self.slots[s];
        let bars_held = slot.trade.as_ref().map_or(0, |t| t.bars_held);
        let position = self.portfolio.position(s);
        let (features, model) = if self.candles_only {
            (None, None)
        } else {
            let input = &self.inputs[s];
            (
                input.features.and_then(|f| f.row(i)),
                input.model.and_then(|m| m.row(i)),
            )
        };
        let ctx = BarContext {
            symbol_index: s,
            bar_index: i,
            bar,
            features,
            model,
            position: PositionView {
                quantity: position.quantity,
                avg_entry: position.avg_entry,
                bars_held,
            },
        };
        let Some(intent) = self.strategy.on_bar(&mut slot.state, &ctx) else {
            if slot.pending_entry.is_none() && slot.pending_exit.is_none() {
                self.sleep(s, i, &ctx.position);
            }
            return;
        };
        self.act_on(s, ts, i, &bar, intent);
    }

    /// Turns a strategy's intent at the close of bar `i` into orders.
    #[inline(never)]
    fn act_on(&mut self, s: usize, ts: i64, i: usize, bar: &Bar, intent: OrderIntent) {
        match intent {
            OrderIntent::Exit => {
                self.cancel_entry(s);
                self.submit_exit(s, ts, i, ExitReason::Signal);
            }
            OrderIntent::TimeStop => {
                self.cancel_entry(s);
                self.submit_exit(s, ts, i, ExitReason::TimeStop);
            }
            OrderIntent::Enter(e) => {
                let held = self.slots[s].trade.as_ref().map(|t| t.side);
                if held == Some(e.side) {
                    return;
                }
                if held.is_some() {
                    self.submit_exit(s, ts, i, ExitReason::Signal);
                }
                let atr = self.slots[s].atr.value();
                let order = Order {
                    id: self.next_id(),
                    symbol: s,
                    created_ts: ts,
                    created_bar: i,
                    active_from_bar: i + 1 + self.config.fills.latency_bars,
                    side: e.side,
                    purpose: OrderPurpose::Entry,
                    kind: e.kind,
                    stop_loss: e.stop_loss,
                    take_profit: e.take_profit,
                    atr,
                    decision_close: bar.close,
                    remaining: None,
                };
                // Only the max-open-positions rule reads the count: skip the scan without it.
                let open_elsewhere = if self.config.risk.max_open_positions.is_some() {
                    self.slots
                        .iter()
                        .enumerate()
                        .filter(|&(k, slot)| {
                            k != s && (slot.trade.is_some() || slot.pending_entry.is_some())
                        })
                        .count()
                } else {
                    0
                };
                if let Ok(approved) =
                    self.risk
                        .approve_entry(order, open_elsewhere, &mut self.events)
                {
                    self.cancel_entry(s);
                    self.orders.push(OrderRecord {
                        order,
                        status: OrderStatus::Working,
                        filled_quantity: 0.0,
                    });
                    self.slots[s].pending_entry = Some(approved);
                }
            }
        }
    }

    /// Submits a market exit of symbol `s`'s position, decided at the close of bar
    /// `bar_index`, unless it is flat or an exit is already working.
    fn submit_exit(&mut self, s: usize, ts: i64, bar_index: usize, reason: ExitReason) {
        let Some(t) = self.slots[s].trade.as_ref() else {
            return;
        };
        if self.slots[s].pending_exit.is_some() {
            return;
        }
        let order = Order {
            id: self.next_id(),
            symbol: s,
            created_ts: ts,
            created_bar: bar_index,
            active_from_bar: bar_index + 1 + self.config.fills.latency_bars,
            side: t.side.opposite(),
            purpose: OrderPurpose::Exit { reason },
            kind: EntryKind::Market,
            stop_loss: None,
            take_profit: None,
            atr: self.slots[s].atr.value(),
            decision_close: self.slots[s].columns.close[bar_index],
            remaining: None,
        };
        self.orders.push(OrderRecord {
            order,
            status: OrderStatus::Working,
            filled_quantity: 0.0,
        });
        self.slots[s].pending_exit = Some(self.risk.approve_exit(order));
    }

    /// Cancels symbol `s`'s working entry (partially filled, if it filled some units).
    fn cancel_entry(&mut self, s: usize) {
        if let Some(order) = self.slots[s].pending_entry.take() {
            let filled = self.orders[order.get().id as usize].filled_quantity > 0.0;
            self.set_status(
                &order,
                if filled {
                    OrderStatus::PartiallyFilled
                } else {
                    OrderStatus::Cancelled
                },
            );
        }
    }

    /// A portfolio rule fired at the close of `ts`: cancels every working order and submits
    /// an exit of every position (reason: risk flatten).
    pub(super) fn flatten_all(&mut self, ts: i64) {
        for s in 0..self.slots.len() {
            self.cancel_entry(s);
            if let Some(last) = self.slots[s].last_bar {
                if let Some(pending) = self.slots[s].pending_exit.take() {
                    self.set_status(&pending, OrderStatus::Cancelled);
                }
                self.submit_exit(s, ts, last, ExitReason::RiskFlatten);
            }
        }
    }
}
