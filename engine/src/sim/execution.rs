//! Executing orders through the fill model and booking the fills into the portfolio,
//! the open trade and the logs: entries (sized by the risk rules at the fill), market
//! exits and protective exits; a trade whose position is flat goes to the trade log.

use gauntlet_strategies::strategy::{Bar, Side, Strategy};

use super::slot::OpenTrade;
use super::Simulator;
use crate::config::VolumeRemainder;
use crate::fill::SlippageModel;
use crate::order::{
    ExitReason, FillCause, FillRecord, Liquidity, OrderId, OrderPurpose, OrderStatus,
};
use crate::result::{ModelSnapshot, Trade};
use crate::risk::{RiskEvent, RiskRule, SizingInputs};

impl<S: Strategy, Sl: SlippageModel> Simulator<'_, S, Sl> {
    /// Fills (part of) the working entry at `reference` (before slippage).
    pub(super) fn fill_entry(
        &mut self,
        s: usize,
        i: usize,
        bar: &Bar,
        reference: f64,
        liquidity: Liquidity,
        checks_from_bar: usize,
    ) {
        let Some(mut order) = self.slots[s].pending_entry.take() else {
            return;
        };
        let price = self.fill.order_price(&order, reference, bar);
        let protection = self.risk.protection(&order, price);
        let position = self.portfolio.position(s);
        let (equity, other_gross) = match (self.deferred_curve, i.checked_sub(1)) {
            // A deferred curve leaves the marks stale (nothing else reads them): value
            // the open positions at the previous timestamp's closes.
            (true, Some(previous)) => {
                let slots = &self.slots;
                self.portfolio
                    .equity_and_other_gross_marked(s, |k| slots[k].columns.close[previous])
            }
            _ => self.portfolio.equity_and_other_gross(s),
        };
        let inputs = SizingInputs {
            price,
            equity,
            other_gross,
            own_notional: position.quantity.abs() * price,
            taker_rate: self.fill.taker_rate(),
            stop_loss: protection.get().stop_loss,
        };
        let sized = self
            .risk
            .size_entry(&order, inputs, &mut self.events, bar.ts);
        let wanted = sized.get().quantity;
        let exec = self.fill.execute_order(sized, bar, liquidity);
        let o = *order.get();
        if exec.quantity <= 0.0 {
            if wanted <= 0.0 {
                let status = if self.orders[o.id as usize].filled_quantity > 0.0 {
                    OrderStatus::PartiallyFilled
                } else {
                    OrderStatus::Rejected
                };
                self.set_status(&order, status);
            } else {
                self.slots[s].pending_entry = Some(order);
            }
            return;
        }
        let signed = o.side.sign() * exec.quantity;
        self.flush_curve(i);
        let realized = self.portfolio.apply_fill(s, signed, exec.price, exec.fee);
        debug_assert_eq!(realized, 0.0);
        self.fills.push(FillRecord {
            order_id: Some(o.id),
            ts: bar.ts,
            symbol: s,
            bar_index: i,
            quantity: signed,
            price: exec.price,
            fee: exec.fee,
            liquidity,
            cause: FillCause::Entry,
        });
        let record = &mut self.orders[o.id as usize];
        record.filled_quantity += exec.quantity;
        match self.slots[s].trade.as_mut() {
            Some(t) => {
                t.entry_fills += 1;
                t.entered_qty += exec.quantity;
                t.entry_value += exec.quantity * exec.price;
                t.fees += exec.fee;
            }
            None => {
                let model = self.inputs[s]
                    .model
                    .and_then(|m| m.row(o.created_bar))
                    .map(|v| ModelSnapshot {
                        probabilities: v.probabilities.to_vec(),
                        consensus: v.consensus,
                    });
                self.slots[s].trade = Some(OpenTrade {
                    side: o.side,
                    entry_ts: bar.ts,
                    entry_bar: i,
                    entered_qty: exec.quantity,
                    entry_value: exec.quantity * exec.price,
                    exited_qty: 0.0,
                    exit_value: 0.0,
                    entry_fills: 1,
                    exit_fills: 0,
                    first_entry_price: exec.price,
                    first_exit_price: f64::NAN,
                    fees: exec.fee,
                    realized: 0.0,
                    quiet_band: protection.get().quiet_band(),
                    protection,
                    atr_at_entry: o.atr,
                    model,
                    bars_held: 0,
                    low_water: exec.price,
                    high_water: exec.price,
                    checks_from_bar,
                });
            }
        }
        let remainder = wanted - exec.quantity;
        let keep = self
            .config
            .fills
            .volume_cap
            .is_some_and(|c| c.remainder == VolumeRemainder::KeepWorking);
        if remainder > 0.0 && keep {
            order.shrink_to(remainder);
            self.set_status(&order, OrderStatus::PartiallyFilled);
            self.slots[s].pending_entry = Some(order);
        } else if remainder > 0.0 {
            self.set_status(&order, OrderStatus::PartiallyFilled);
        } else {
            self.set_status(&order, OrderStatus::Filled);
        }
    }

    /// Fills the pending market exit at the open (exits always keep working when capped).
    pub(super) fn fill_exit_order(&mut self, s: usize, i: usize, bar: &Bar) {
        let Some(order) = self.slots[s].pending_exit.take() else {
            return;
        };
        let qty = self.portfolio.position(s).quantity.abs();
        if qty == 0.0 {
            self.set_status(&order, OrderStatus::Cancelled);
            return;
        }
        let o = *order.get();
        let price = self.fill.order_price(&order, bar.open, bar);
        let exec = self
            .fill
            .execute_order(order.size_exit(price, qty), bar, Liquidity::Taker);
        let reason = match o.purpose {
            OrderPurpose::Exit { reason } => reason,
            OrderPurpose::Entry => ExitReason::Signal,
        };
        self.orders[o.id as usize].filled_quantity += exec.quantity;
        self.book_exit(
            s,
            i,
            bar,
            Some(o.id),
            reason,
            exec.price,
            exec.quantity,
            exec.fee,
            Liquidity::Taker,
        );
        if self.slots[s].trade.is_some() {
            self.set_status(&order, OrderStatus::PartiallyFilled);
            self.slots[s].pending_exit = Some(order);
        } else {
            self.set_status(&order, OrderStatus::Filled);
        }
    }

    /// A stop or target of the open position was reached.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn exit_protective(
        &mut self,
        s: usize,
        i: usize,
        bar: &Bar,
        reason: ExitReason,
        level: f64,
        trigger: f64,
        reference: f64,
        liquidity: Liquidity,
    ) {
        let Some(t) = self.slots[s].trade.as_ref() else {
            return;
        };
        let qty = self.portfolio.position(s).quantity.abs();
        let price = self.fill.protective_price(&t.protection, reference, bar);
        let exec = self
            .fill
            .execute_order(t.protection.size_exit(price, qty), bar, liquidity);
        if exec.quantity <= 0.0 {
            return;
        }
        let rule = match reason {
            ExitReason::TakeProfit => RiskRule::TakeProfit {
                level,
                trigger,
                fill_price: exec.price,
            },
            ExitReason::TrailingStop => RiskRule::TrailingStop {
                level,
                trigger,
                fill_price: exec.price,
            },
            _ => RiskRule::StopLoss {
                level,
                trigger,
                fill_price: exec.price,
            },
        };
        self.events.push(RiskEvent {
            ts: bar.ts,
            symbol: Some(s),
            rule,
        });
        self.book_exit(
            s,
            i,
            bar,
            None,
            reason,
            exec.price,
            exec.quantity,
            exec.fee,
            liquidity,
        );
        if self.slots[s].trade.is_none() {
            if let Some(pending) = self.slots[s].pending_exit.take() {
                self.set_status(&pending, OrderStatus::Cancelled);
            }
        }
    }

    /// Books an exit fill; closes the trade when the position is flat.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn book_exit(
        &mut self,
        s: usize,
        i: usize,
        bar: &Bar,
        order_id: Option<OrderId>,
        reason: ExitReason,
        price: f64,
        qty: f64,
        fee: f64,
        liquidity: Liquidity,
    ) {
        self.flush_curve(i);
        let Some(t) = self.slots[s].trade.as_mut() else {
            return;
        };
        let signed = -t.side.sign() * qty;
        let realized = self.portfolio.apply_fill(s, signed, price, fee);
        if t.exit_fills == 0 {
            t.first_exit_price = price;
        }
        t.exit_fills += 1;
        t.exited_qty += qty;
        t.exit_value += qty * price;
        t.fees += fee;
        t.realized += realized;
        t.low_water = t.low_water.min(price);
        t.high_water = t.high_water.max(price);
        self.fills.push(FillRecord {
            order_id,
            ts: bar.ts,
            symbol: s,
            bar_index: i,
            quantity: signed,
            price,
            fee,
            liquidity,
            cause: FillCause::Exit { reason },
        });
        if self.portfolio.position(s).quantity == 0.0 {
            self.close_trade(s, bar.ts, i, reason);
        }
    }

    /// Moves symbol `s`'s open trade, flat since the fill at bar `i` (timestamp `ts`), to
    /// the trade log.
    fn close_trade(&mut self, s: usize, ts: i64, i: usize, reason: ExitReason) {
        let Some(t) = self.slots[s].trade.take() else {
            return;
        };
        let sign = t.side.sign();
        // Volume-weighted averages; a single fill's price is used as is (no q·p/q rounding).
        let entry = if t.entry_fills == 1 {
            t.first_entry_price
        } else {
            t.entry_value / t.entered_qty
        };
        let exit = if t.exit_fills == 1 {
            t.first_exit_price
        } else {
            t.exit_value / t.exited_qty
        };
        let pnl = t.realized - t.fees;
        let (adverse, favourable) = match t.side {
            Side::Long => (entry - t.low_water, t.high_water - entry),
            Side::Short => (t.high_water - entry, entry - t.low_water),
        };
        let atr_multiple = (t.atr_at_entry.is_finite() && t.atr_at_entry > 0.0)
            .then(|| sign * (exit - entry) / t.atr_at_entry);
        if reason != ExitReason::EndOfData {
            self.risk.record_trade(ts, pnl, &mut self.events);
        }
        self.trades.push(Trade {
            symbol_index: s,
            side: t.side,
            entry_ts: t.entry_ts,
            entry_bar: t.entry_bar,
            exit_ts: ts,
            exit_bar: i,
            entry_price: entry,
            exit_price: exit,
            quantity: t.entered_qty,
            fees: t.fees,
            pnl,
            return_fraction: sign * (exit / entry - 1.0) - t.fees / (t.entered_qty * entry),
            exit_reason: reason,
            mae: t.entered_qty * adverse.max(0.0),
            mfe: t.entered_qty * favourable.max(0.0),
            atr_multiple_at_exit: atr_multiple,
            model_at_entry: t.model,
        });
    }
}
