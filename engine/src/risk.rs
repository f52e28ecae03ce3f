//! The risk pipeline: the only code that can approve an order for execution.
//!
//! # Fixed order of the rules
//! At the **open and inside** each bar of a symbol (see [`crate::sim`] for the fill steps):
//! 1. protective levels of the open position: stop-loss / trailing stop (the tighter of
//!    the two) and take-profit, first against the open (gap), then against high/low.
//!
//! At the **close** of each timestamp, after every symbol's bar has been marked:
//! 2. equity circuit breaker (equity vs running peak) ⇒ flatten + halt;
//! 3. daily drawdown limit (equity vs the UTC day's starting equity) ⇒ flatten + block
//!    entries until the next UTC day;
//! 4. per symbol, in symbol order: time stop, then trailing-stop update, then the
//!    strategy's intent through [`RiskState::approve_entry`]: halts (circuit breaker,
//!    daily limit, consecutive losses), max open positions, ATR availability;
//! 5. at the entry fill: stop-loss/take-profit levels from the fill price, sizing
//!    (fixed fraction | risk per trade | volatility target) on the ramp-scaled equity,
//!    whole units, per-symbol exposure cap, gross exposure (leverage) cap.
//!
//! The consecutive-loss halt is updated whenever a trade closes.
//!
//! Every firing is a [`RiskEvent`] with the values that triggered it.
//!
//! # Type-level guarantee
//! [`RiskApproved`] has a private field and no public constructor: only this module
//! creates it. The fill model ([`crate::fill::FillModel`]) executes nothing but a
//! `RiskApproved<`[`SizedOrder`]`>`, which this module makes from an approved entry
//! when it sizes it ([`RiskState::size_entry`]) and from an approved exit order or
//! protection (their `size_exit`): an order that did not pass the pipeline
//! cannot be executed, nor at another price or quantity than it was sized at.
//!
//! ```compile_fail
//! use gauntlet_engine::risk::RiskApproved;
//! fn forge<T>(order: T) -> RiskApproved<T> { RiskApproved { inner: order } }
//! ```

use gauntlet_strategies::strategy::Side;
use serde::{Deserialize, Serialize};

use crate::config::{Distance, RiskConfig, Sizing};
use crate::order::{ExitReason, Order, OrderPurpose};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// A value that passed the risk pipeline. Only [`crate::risk`] can create one.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskApproved<T> {
    inner: T,
}

impl<T> RiskApproved<T> {
    fn approve(inner: T) -> Self {
        Self { inner }
    }

    pub fn get(&self) -> &T {
        &self.inner
    }

    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl RiskApproved<Order> {
    /// Records that only `remaining` units are left to fill; it can only shrink the order.
    pub fn shrink_to(&mut self, remaining: f64) {
        let current = self.inner.remaining.unwrap_or(f64::INFINITY);
        self.inner.remaining = Some(remaining.max(0.0).min(current));
    }

    /// This exit order's execution at `price` (after slippage): the whole position,
    /// `position_quantity` units (exits reduce risk).
    pub fn size_exit(&self, price: f64, position_quantity: f64) -> RiskApproved<SizedOrder> {
        debug_assert!(matches!(self.inner.purpose, OrderPurpose::Exit { .. }));
        RiskApproved::approve(SizedOrder {
            price,
            quantity: position_quantity,
        })
    }
}

impl RiskApproved<Protection> {
    /// The execution, at `price` (after slippage), of the exit this protection makes
    /// when its stop or target is reached: the whole position, `position_quantity` units.
    pub fn size_exit(&self, price: f64, position_quantity: f64) -> RiskApproved<SizedOrder> {
        RiskApproved::approve(SizedOrder {
            price,
            quantity: position_quantity,
        })
    }
}

/// One execution that the risk pipeline allows: up to `quantity` units (≥ 0; the fill
/// model's volume cap may fill fewer) at `price`, the price after slippage at which they
/// were sized.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizedOrder {
    pub price: f64,
    pub quantity: f64,
}

/// An entry the risk pipeline refused, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskRefused<T> {
    pub order: T,
    pub reason: RefusalReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    CircuitBreakerHalt,
    DailyDrawdownBlock,
    ConsecutiveLossHalt,
    MaxOpenPositions,
    /// An ATR-based rule needs ATR and the decision bar is still in the ATR warm-up.
    AtrWarmup,
}

/// The protective exits attached to an open position (one-cancels-other: closing the
/// position removes all of them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Protection {
    /// Side of the position protected.
    pub side: Side,
    pub stop_loss: Option<f64>,
    pub take_profit: Option<f64>,
    pub trailing_stop: Option<f64>,
    /// Best close since entry (highest for longs, lowest for shorts), for trailing.
    pub best_close: f64,
}

impl Protection {
    /// The effective stop and the take-profit that prices in `[low, high]` reach:
    /// long stop if `low <= level`, long target if `high >= tp`, mirrored for shorts.
    /// The gap check at the open passes `(open, open)`, the intrabar check the bar's
    /// `(low, high)`.
    #[inline]
    pub fn reached(&self, low: f64, high: f64) -> (Option<(f64, ExitReason)>, Option<f64>) {
        let long = self.side == Side::Long;
        let stop = self.effective_stop().filter(
            |&(level, _)| {
                if long {
                    low <= level
                } else {
                    high >= level
                }
            },
        );
        let target = self
            .take_profit
            .filter(|&tp| if long { high >= tp } else { low <= tp });
        (stop, target)
    }

    /// `(below, above)`: a bar with `open` and `low` above `below` and `open` and
    /// `high` below `above` reaches no level, neither at the open nor inside the bar
    /// ([`Protection::reached`] finds nothing). Long: the effective stop and the target;
    /// short: the target and the effective stop; ±∞ for a missing level. A NaN level
    /// makes every bar fail the test (and take the full check).
    #[inline]
    pub fn quiet_band(&self) -> (f64, f64) {
        let stop = self.effective_stop().map(|(level, _)| level);
        match self.side {
            Side::Long => (
                stop.unwrap_or(f64::NEG_INFINITY),
                self.take_profit.unwrap_or(f64::INFINITY),
            ),
            Side::Short => (
                self.take_profit.unwrap_or(f64::NEG_INFINITY),
                stop.unwrap_or(f64::INFINITY),
            ),
        }
    }

    /// The tighter of stop-loss and trailing stop, with the reason it would report.
    #[inline]
    pub fn effective_stop(&self) -> Option<(f64, ExitReason)> {
        match (self.stop_loss, self.trailing_stop) {
            (Some(s), Some(t)) => {
                let trail_tighter = match self.side {
                    Side::Long => t > s,
                    Side::Short => t < s,
                };
                Some(if trail_tighter {
                    (t, ExitReason::TrailingStop)
                } else {
                    (s, ExitReason::StopLoss)
                })
            }
            (Some(s), None) => Some((s, ExitReason::StopLoss)),
            (None, Some(t)) => Some((t, ExitReason::TrailingStop)),
            (None, None) => None,
        }
    }
}

/// A risk rule that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskEvent {
    /// Bar open time (ms UTC) of the bar at which the rule fired.
    pub ts: i64,
    /// Symbol concerned, `None` for portfolio-wide rules.
    pub symbol: Option<usize>,
    pub rule: RiskRule,
}

/// Which rule fired, with the values that made it fire.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum RiskRule {
    /// `trigger` = the open (gap) or the low/high that reached `level`.
    StopLoss {
        level: f64,
        trigger: f64,
        fill_price: f64,
    },
    TakeProfit {
        level: f64,
        trigger: f64,
        fill_price: f64,
    },
    TrailingStop {
        level: f64,
        trigger: f64,
        fill_price: f64,
    },
    TimeStop {
        bars_held: usize,
        limit: usize,
    },
    DailyDrawdown {
        equity: f64,
        day_start_equity: f64,
        limit: f64,
    },
    CircuitBreaker {
        equity: f64,
        peak: f64,
        limit: f64,
        halted_until: Option<i64>,
    },
    CircuitBreakerResumed {
        equity: f64,
    },
    ConsecutiveLosses {
        losses: usize,
        limit: usize,
    },
    CapitalRamp {
        fraction: f64,
    },
    EntryRefused {
        reason: RefusalReason,
    },
    /// The entry's quantity was reduced by a cap (exposure, leverage); `binding` names it.
    QuantityCapped {
        requested: f64,
        allowed: f64,
        binding: CapKind,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapKind {
    SymbolExposure,
    GrossExposure,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Halt {
    None,
    Until(i64),
    RestOfRun,
}

/// Portfolio-level state of the risk rules during a run.
#[derive(Debug, Clone)]
pub struct RiskState<'c> {
    config: &'c RiskConfig,
    start_ts: Option<i64>,
    day: i64,
    /// `[day_from_ms, day_until_ms)` is the UTC day `day` (empty before the first
    /// timestamp), so the roll-over check needs no division while inside it.
    day_from_ms: i64,
    day_until_ms: i64,
    day_start_equity: f64,
    daily_blocked: bool,
    peak: f64,
    halt: Halt,
    consecutive_losses: usize,
    loss_halt: bool,
    ramp_fraction: f64,
}

/// What the portfolio check at a close asks the engine to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortfolioAction {
    Continue,
    Flatten,
}

/// Inputs of the entry sizing at the fill.
#[derive(Debug, Clone, Copy)]
pub struct SizingInputs {
    /// Fill price after slippage.
    pub price: f64,
    /// Current equity (marks at the latest closes).
    pub equity: f64,
    /// `Σ |notional|` of the other symbols' positions.
    pub other_gross: f64,
    /// `|notional|` of this symbol's existing position at `price`.
    pub own_notional: f64,
    /// Taker fee rate (`taker_bps / 10 000`).
    pub taker_rate: f64,
    pub stop_loss: Option<f64>,
}

impl<'c> RiskState<'c> {
    pub fn new(config: &'c RiskConfig, initial_equity: f64) -> Self {
        Self {
            config,
            start_ts: None,
            day: i64::MIN,
            day_from_ms: i64::MAX,
            day_until_ms: i64::MIN,
            day_start_equity: initial_equity,
            daily_blocked: false,
            peak: initial_equity,
            halt: Halt::None,
            consecutive_losses: 0,
            loss_halt: false,
            ramp_fraction: 1.0,
        }
    }

    /// Usable share of equity now (capital ramp).
    pub fn ramp_fraction(&self) -> f64 {
        self.ramp_fraction
    }

    /// Called before any bar of timestamp `ts` is processed, with the equity carried in:
    /// UTC day roll-over (new day ⇒ new starting equity, daily block lifted), circuit
    /// breaker cooldown expiry, capital ramp step.
    #[inline]
    pub fn begin_timestamp(&mut self, ts: i64, equity: f64, events: &mut Vec<RiskEvent>) {
        // Inside the current UTC day, with no cooldown running and no ramp, nothing
        // below can change (the first call always goes on: no day is current yet).
        let quiet = ts >= self.day_from_ms
            && ts < self.day_until_ms
            && !matches!(self.halt, Halt::Until(_))
            && self.config.capital_ramp.is_empty();
        if !quiet {
            self.begin_timestamp_rules(ts, equity, events);
        }
    }

    fn begin_timestamp_rules(&mut self, ts: i64, equity: f64, events: &mut Vec<RiskEvent>) {
        let start = *self.start_ts.get_or_insert(ts);
        if ts < self.day_from_ms || ts >= self.day_until_ms {
            let day = ts.div_euclid(DAY_MS);
            if day != self.day {
                self.day = day;
                self.day_start_equity = equity;
                self.daily_blocked = false;
            }
            self.day_from_ms = day.saturating_mul(DAY_MS);
            self.day_until_ms = (day + 1).saturating_mul(DAY_MS);
        }
        if let Halt::Until(until) = self.halt {
            if ts >= until {
                self.halt = Halt::None;
                self.peak = equity;
                events.push(RiskEvent {
                    ts,
                    symbol: None,
                    rule: RiskRule::CircuitBreakerResumed { equity },
                });
            }
        }
        // Without steps the fraction stays 1.0 (its initial value): nothing to do.
        if self.config.capital_ramp.is_empty() {
            return;
        }
        let elapsed_minutes = (ts - start) / MINUTE_MS;
        let fraction = self
            .config
            .capital_ramp
            .iter()
            .take_while(|s| (s.after_minutes as i64) <= elapsed_minutes)
            .last()
            .map_or(1.0, |s| s.fraction);
        if fraction != self.ramp_fraction {
            self.ramp_fraction = fraction;
            events.push(RiskEvent {
                ts,
                symbol: None,
                rule: RiskRule::CapitalRamp { fraction },
            });
        }
    }

    /// Portfolio rules at the close of timestamp `ts` (circuit breaker, then daily limit).
    #[inline]
    pub fn check_portfolio(
        &mut self,
        ts: i64,
        equity: f64,
        events: &mut Vec<RiskEvent>,
    ) -> PortfolioAction {
        if self.halt == Halt::None {
            self.peak = self.peak.max(equity);
        }
        if self.config.circuit_breaker.is_none() && self.config.daily_drawdown_limit.is_none() {
            return PortfolioAction::Continue;
        }
        self.check_portfolio_rules(ts, equity, events)
    }

    /// The circuit breaker, then the daily limit (after the peak update).
    fn check_portfolio_rules(
        &mut self,
        ts: i64,
        equity: f64,
        events: &mut Vec<RiskEvent>,
    ) -> PortfolioAction {
        let mut action = PortfolioAction::Continue;
        if let Some(cb) = self.config.circuit_breaker {
            if self.halt == Halt::None && equity < (1.0 - cb.drawdown) * self.peak {
                self.halt = match cb.cooldown_minutes {
                    Some(m) => Halt::Until(ts + m as i64 * MINUTE_MS),
                    None => Halt::RestOfRun,
                };
                events.push(RiskEvent {
                    ts,
                    symbol: None,
                    rule: RiskRule::CircuitBreaker {
                        equity,
                        peak: self.peak,
                        limit: cb.drawdown,
                        halted_until: match self.halt {
                            Halt::Until(u) => Some(u),
                            _ => None,
                        },
                    },
                });
                action = PortfolioAction::Flatten;
            }
        }
        if let Some(limit) = self.config.daily_drawdown_limit {
            if !self.daily_blocked && equity < (1.0 - limit) * self.day_start_equity {
                self.daily_blocked = true;
                events.push(RiskEvent {
                    ts,
                    symbol: None,
                    rule: RiskRule::DailyDrawdown {
                        equity,
                        day_start_equity: self.day_start_equity,
                        limit,
                    },
                });
                action = PortfolioAction::Flatten;
            }
        }
        action
    }

    /// Records a closed trade's net P&L for the consecutive-loss halt.
    pub fn record_trade(&mut self, ts: i64, net_pnl: f64, events: &mut Vec<RiskEvent>) {
        if net_pnl > 0.0 {
            self.consecutive_losses = 0;
            return;
        }
        self.consecutive_losses += 1;
        if let Some(limit) = self.config.max_consecutive_losses {
            if !self.loss_halt && self.consecutive_losses >= limit {
                self.loss_halt = true;
                events.push(RiskEvent {
                    ts,
                    symbol: None,
                    rule: RiskRule::ConsecutiveLosses {
                        losses: self.consecutive_losses,
                        limit,
                    },
                });
            }
        }
    }

    /// Exits reduce risk and are always approved.
    pub fn approve_exit(&self, order: Order) -> RiskApproved<Order> {
        debug_assert!(matches!(order.purpose, OrderPurpose::Exit { .. }));
        RiskApproved::approve(order)
    }

    /// Entry checks at the decision: halts, max open positions (`open_elsewhere` counts
    /// other symbols with a position or a working entry), ATR availability.
    // Both variants carry the same `Order` by value; boxing the refusal would allocate.
    #[allow(clippy::result_large_err)]
    pub fn approve_entry(
        &self,
        order: Order,
        open_elsewhere: usize,
        events: &mut Vec<RiskEvent>,
    ) -> Result<RiskApproved<Order>, RiskRefused<Order>> {
        let c = self.config;
        let needs_atr = [c.stop_loss, c.take_profit, c.trailing_stop]
            .iter()
            .any(|d| matches!(d, Some(Distance::Atr { .. })))
            || matches!(c.sizing, Sizing::VolatilityTarget { .. });
        let reason = if self.halt != Halt::None {
            Some(RefusalReason::CircuitBreakerHalt)
        } else if self.daily_blocked {
            Some(RefusalReason::DailyDrawdownBlock)
        } else if self.loss_halt {
            Some(RefusalReason::ConsecutiveLossHalt)
        } else if c
            .max_open_positions
            .is_some_and(|max| open_elsewhere >= max)
        {
            Some(RefusalReason::MaxOpenPositions)
        } else if needs_atr && !(order.atr.is_finite() && order.atr > 0.0) {
            Some(RefusalReason::AtrWarmup)
        } else {
            None
        };
        match reason {
            None => Ok(RiskApproved::approve(order)),
            Some(reason) => {
                events.push(RiskEvent {
                    ts: order.created_ts,
                    symbol: Some(order.symbol),
                    rule: RiskRule::EntryRefused { reason },
                });
                Err(RiskRefused { order, reason })
            }
        }
    }

    /// Protective levels for an entry filled at `price`: the strategy's bracket prices
    /// win, otherwise `price ∓ distance` (stop) and `price ± distance` (target).
    pub fn protection(&self, order: &RiskApproved<Order>, price: f64) -> RiskApproved<Protection> {
        let o = order.get();
        let sign = o.side.sign();
        let distance = |d: Distance| match d {
            Distance::Atr { multiple } => multiple * o.atr,
            Distance::Percent { percent } => percent / 100.0 * price,
        };
        RiskApproved::approve(Protection {
            side: o.side,
            stop_loss: o
                .stop_loss
                .or_else(|| self.config.stop_loss.map(|d| price - sign * distance(d))),
            take_profit: o
                .take_profit
                .or_else(|| self.config.take_profit.map(|d| price + sign * distance(d))),
            trailing_stop: None,
            best_close: price,
        })
    }

    /// Trailing-stop update at a close: `best = max(best, close)` (long; min for short),
    /// `level = best ∓ distance` (ATR of this bar or percent of `best`); the level only
    /// ever tightens.
    #[inline]
    pub fn trail(&self, protection: &mut RiskApproved<Protection>, close: f64, atr: f64) {
        let Some(rule) = self.config.trailing_stop else {
            return;
        };
        let p = &mut protection.inner;
        let sign = p.side.sign();
        p.best_close = match p.side {
            Side::Long => p.best_close.max(close),
            Side::Short => p.best_close.min(close),
        };
        let distance = match rule {
            Distance::Atr { multiple } => multiple * atr,
            Distance::Percent { percent } => percent / 100.0 * p.best_close,
        };
        if !distance.is_finite() {
            return;
        }
        let level = p.best_close - sign * distance;
        p.trailing_stop = Some(match (p.trailing_stop, p.side) {
            (Some(old), Side::Long) => old.max(level),
            (Some(old), Side::Short) => old.min(level),
            (None, _) => level,
        });
    }

    /// An entry's execution at its fill price `s.price`: the quantity (units, ≥ 0) per
    /// [`Sizing`] on the usable equity `E = equity × ramp`, then capped so that
    /// `|own + q| × price ≤ max_symbol_exposure × E` and
    /// `other_gross + |own + q| × price ≤ max_gross_exposure × E`, then rounded down to
    /// whole units if configured.
    pub fn size_entry(
        &self,
        order: &RiskApproved<Order>,
        s: SizingInputs,
        events: &mut Vec<RiskEvent>,
        ts: i64,
    ) -> RiskApproved<SizedOrder> {
        let c = self.config;
        let o = order.get();
        let usable = s.equity.max(0.0) * self.ramp_fraction;
        let mut qty = match o.remaining {
            Some(units) => units,
            None => match c.sizing {
                Sizing::FixedFraction { fraction } => {
                    fraction * usable / (s.price * (1.0 + s.taker_rate))
                }
                Sizing::RiskPerTrade { risk_fraction } => match s.stop_loss {
                    Some(stop) if (s.price - stop).abs() > 0.0 => {
                        risk_fraction * usable / (s.price - stop).abs()
                    }
                    _ => 0.0,
                },
                Sizing::VolatilityTarget {
                    target_bar_volatility,
                    max_fraction,
                } => {
                    let bar_vol = o.atr / o.decision_close;
                    let weight = if bar_vol > 0.0 {
                        (target_bar_volatility / bar_vol).min(max_fraction)
                    } else {
                        max_fraction
                    };
                    weight * usable / s.price
                }
            },
        };
        if !qty.is_finite() || qty < 0.0 {
            qty = 0.0;
        }
        let requested = qty;
        let mut binding = None;
        if let Some(max) = c.max_symbol_exposure {
            let room = ((max * usable - s.own_notional) / s.price).max(0.0);
            if qty > room {
                qty = room;
                binding = Some(CapKind::SymbolExposure);
            }
        }
        let room =
            ((c.max_gross_exposure * usable - s.other_gross - s.own_notional) / s.price).max(0.0);
        if qty > room {
            qty = room;
            binding = Some(CapKind::GrossExposure);
        }
        if c.whole_units {
            qty = qty.floor();
        }
        if let Some(binding) = binding {
            events.push(RiskEvent {
                ts,
                symbol: Some(o.symbol),
                rule: RiskRule::QuantityCapped {
                    requested,
                    allowed: qty,
                    binding,
                },
            });
        }
        RiskApproved::approve(SizedOrder {
            price: s.price,
            quantity: qty,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CircuitBreaker, RampStep};
    use gauntlet_strategies::strategy::EntryKind;
    use proptest::prelude::*;

    fn level() -> impl Strategy<Value = Option<f64>> {
        prop_oneof![
            Just(None),
            Just(Some(f64::NAN)),
            (90.0..110.0f64).prop_map(Some)
        ]
    }

    proptest! {
        /// A bar inside the quiet band reaches nothing at the open nor intrabar.
        #[test]
        fn bars_inside_the_quiet_band_reach_no_level(
            long in any::<bool>(),
            stop_loss in level(),
            take_profit in level(),
            trailing_stop in level(),
            open in 85.0..115.0f64,
            down in 0.0..10.0f64,
            up in 0.0..10.0f64,
        ) {
            let p = Protection {
                side: if long { Side::Long } else { Side::Short },
                stop_loss,
                take_profit,
                trailing_stop,
                best_close: 100.0,
            };
            let (low, high) = (open - down, open + up);
            let (below, above) = p.quiet_band();
            if open > below && low > below && open < above && high < above {
                prop_assert_eq!(p.reached(open, open), (None, None));
                prop_assert_eq!(p.reached(low, high), (None, None));
            }
        }
    }

    fn entry(atr: f64) -> Order {
        Order {
            id: 0,
            symbol: 0,
            created_ts: 0,
            created_bar: 0,
            active_from_bar: 1,
            side: Side::Long,
            purpose: OrderPurpose::Entry,
            kind: EntryKind::Market,
            stop_loss: None,
            take_profit: None,
            atr,
            decision_close: 100.0,
            remaining: None,
        }
    }

    fn inputs(price: f64, equity: f64) -> SizingInputs {
        SizingInputs {
            price,
            equity,
            other_gross: 0.0,
            own_notional: 0.0,
            taker_rate: 0.0,
            stop_loss: None,
        }
    }

    #[test]
    fn atr_protection_is_measured_from_the_fill() {
        let config = RiskConfig {
            stop_loss: Some(Distance::Atr { multiple: 1.2 }),
            take_profit: Some(Distance::Percent { percent: 5.0 }),
            ..RiskConfig::default()
        };
        let risk = RiskState::new(&config, 1000.0);
        let approved = risk.approve_entry(entry(2.0), 0, &mut Vec::new()).unwrap();
        let p = risk.protection(&approved, 100.0);
        assert_eq!(p.get().stop_loss, Some(100.0 - 2.4));
        assert_eq!(p.get().take_profit, Some(105.0));
        // ATR warm-up refuses entries that need ATR
        let mut events = Vec::new();
        let refused = risk
            .approve_entry(entry(f64::NAN), 0, &mut events)
            .unwrap_err();
        assert_eq!(refused.reason, RefusalReason::AtrWarmup);
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn sizing_rules() {
        let mut config = RiskConfig {
            max_gross_exposure: 10.0,
            ..RiskConfig::default()
        };
        let mut ev = Vec::new();
        let approved = |c: &RiskConfig| {
            RiskState::new(c, 0.0)
                .approve_entry(entry(2.0), 0, &mut Vec::new())
                .unwrap()
        };
        // fixed fraction 50 % of 1000 at price 10 with 1 % fee: 500 / 10.1
        config.sizing = Sizing::FixedFraction { fraction: 0.5 };
        let r = RiskState::new(&config, 1000.0);
        let s = SizingInputs {
            taker_rate: 0.01,
            ..inputs(10.0, 1000.0)
        };
        let sized = r.size_entry(&approved(&config), s, &mut ev, 0);
        assert!((sized.get().quantity - 500.0 / 10.1).abs() < 1e-12);
        assert_eq!(sized.get().price, 10.0);
        // risk per trade: lose 1 % of 1000 = 10 over a stop 2 away ⇒ 5 units
        config.sizing = Sizing::RiskPerTrade {
            risk_fraction: 0.01,
        };
        config.stop_loss = Some(Distance::Percent { percent: 2.0 });
        let r = RiskState::new(&config, 1000.0);
        let s = SizingInputs {
            stop_loss: Some(98.0),
            ..inputs(100.0, 1000.0)
        };
        assert_eq!(
            r.size_entry(&approved(&config), s, &mut ev, 0)
                .get()
                .quantity,
            5.0
        );
        // volatility target: bar vol = 2/100 = 2 %, target 1 % ⇒ weight 0.5 ⇒ 500/100 = 5
        config.sizing = Sizing::VolatilityTarget {
            target_bar_volatility: 0.01,
            max_fraction: 3.0,
        };
        let r = RiskState::new(&config, 1000.0);
        assert_eq!(
            r.size_entry(&approved(&config), inputs(100.0, 1000.0), &mut ev, 0)
                .get()
                .quantity,
            5.0
        );
        assert!(ev.is_empty());
    }

    #[test]
    fn caps_reduce_quantity_and_log_the_binding_cap() {
        let config = RiskConfig {
            max_symbol_exposure: Some(0.3),
            max_gross_exposure: 1.0,
            whole_units: true,
            ..RiskConfig::default()
        };
        let r = RiskState::new(&config, 1000.0);
        let a = r.approve_entry(entry(1.0), 0, &mut Vec::new()).unwrap();
        let mut ev = Vec::new();
        let quantity = r
            .size_entry(&a, inputs(7.0, 1000.0), &mut ev, 5)
            .get()
            .quantity;
        assert_eq!(quantity, 42.0); // floor(300/7)
        assert!(matches!(
            ev[0].rule,
            RiskRule::QuantityCapped {
                binding: CapKind::SymbolExposure,
                ..
            }
        ));
        ev.clear();
        let s = SizingInputs {
            other_gross: 900.0,
            ..inputs(10.0, 1000.0)
        };
        assert_eq!(r.size_entry(&a, s, &mut ev, 5).get().quantity, 10.0);
        assert!(matches!(
            ev[0].rule,
            RiskRule::QuantityCapped {
                binding: CapKind::GrossExposure,
                ..
            }
        ));
    }

    #[test]
    fn ramp_steps_apply_from_their_boundary_on() {
        let config = RiskConfig {
            capital_ramp: vec![
                RampStep {
                    after_minutes: 0,
                    fraction: 0.1,
                },
                RampStep {
                    after_minutes: 60,
                    fraction: 0.25,
                },
                RampStep {
                    after_minutes: 120,
                    fraction: 1.0,
                },
            ],
            ..RiskConfig::default()
        };
        let mut r = RiskState::new(&config, 1000.0);
        let mut ev = Vec::new();
        let at = |m: i64| m * MINUTE_MS;
        r.begin_timestamp(at(0), 1000.0, &mut ev);
        assert_eq!(r.ramp_fraction(), 0.1);
        r.begin_timestamp(at(59), 1000.0, &mut ev);
        assert_eq!(r.ramp_fraction(), 0.1);
        r.begin_timestamp(at(60), 1000.0, &mut ev);
        assert_eq!(r.ramp_fraction(), 0.25);
        r.begin_timestamp(at(119), 1000.0, &mut ev);
        assert_eq!(r.ramp_fraction(), 0.25);
        r.begin_timestamp(at(120), 1000.0, &mut ev);
        assert_eq!(r.ramp_fraction(), 1.0);
        let fractions: Vec<_> = ev.iter().map(|e| e.rule).collect();
        assert_eq!(
            fractions,
            [0.1, 0.25, 1.0].map(|fraction| RiskRule::CapitalRamp { fraction })
        );
    }

    #[test]
    fn circuit_breaker_halts_then_resumes_after_cooldown() {
        let config = RiskConfig {
            circuit_breaker: Some(CircuitBreaker {
                drawdown: 0.12,
                cooldown_minutes: Some(30),
            }),
            ..RiskConfig::default()
        };
        let mut r = RiskState::new(&config, 1000.0);
        let mut ev = Vec::new();
        r.begin_timestamp(0, 1000.0, &mut ev);
        assert_eq!(
            r.check_portfolio(0, 1200.0, &mut ev),
            PortfolioAction::Continue
        );
        // 1056 = 0.88 × 1200 exactly: not below the limit
        assert_eq!(
            r.check_portfolio(MINUTE_MS, 1056.0, &mut ev),
            PortfolioAction::Continue
        );
        assert_eq!(
            r.check_portfolio(2 * MINUTE_MS, 1055.0, &mut ev),
            PortfolioAction::Flatten
        );
        assert_eq!(
            r.approve_entry(entry(1.0), 0, &mut ev).unwrap_err().reason,
            RefusalReason::CircuitBreakerHalt
        );
        r.begin_timestamp(31 * MINUTE_MS, 1055.0, &mut ev);
        assert!(r.approve_entry(entry(1.0), 0, &mut ev).is_err());
        r.begin_timestamp(32 * MINUTE_MS, 1055.0, &mut ev);
        assert!(r.approve_entry(entry(1.0), 0, &mut ev).is_ok());
        assert!(matches!(
            ev.last().unwrap().rule,
            RiskRule::CircuitBreakerResumed { .. }
        ));
        assert_eq!(
            ev[0].rule,
            RiskRule::CircuitBreaker {
                equity: 1055.0,
                peak: 1200.0,
                limit: 0.12,
                halted_until: Some(32 * MINUTE_MS)
            }
        );
    }
}
