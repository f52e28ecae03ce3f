//! The event loop.
//!
//! Time advances over the union of all symbols' bar open times. At each timestamp `T`
//! the symbols that have a bar at `T` are processed in symbol-index order (a symbol with
//! a gap has no event at `T`; its position stays marked at its last close):
//!
//! **Open, then intrabar** (fixed order: steps 1 and 2 for every symbol of the
//! timestamp in symbol order, then step 3 for every symbol):
//! 1. gap check at the open: a stop-loss/trailing stop or take-profit already crossed by
//!    the open fills at the open; a working limit/stop entry crossed by the open fills at
//!    the open;
//! 2. pending market orders at the open: exits first, then entries (close-then-reverse);
//! 3. intrabar against high/low: the position's stop and target (both reached ⇒ the
//!    configured [`AmbiguityPolicy`](crate::AmbiguityPolicy)), then working limit/stop entries at their price.
//!    Protective levels of an entry filled intrabar are checked from the next bar on.
//!
//! Every fill values the positions at their marks of the previous timestamp (0 before a
//! symbol's first bar), so no fill at the open of `T` depends on anything later in bar
//! `T`, not even another symbol's intrabar fill or close.
//!
//! **Close of the timestamp**: positions marked at their close, equity recorded, then
//! the portfolio risk rules, then per symbol (symbol order) time stop, trailing stop
//! update and the strategy, whose intents pass [`RiskState::approve_entry`] and wait for
//! bar `t + 1 + latency_bars` of their symbol.
//!
//! One concern per file: the run's inputs and their checks (`inputs.rs`), a symbol's
//! state (`slot.rs`) and candle columns with the prefetch hints (`columns.rs`), the
//! loop over time for symbols sharing one grid (`aligned.rs`) or not (`merged.rs`),
//! steps 1 and 2 at the open (`open_fills.rs`), step 3 inside the bar (`intrabar.rs`),
//! executing and booking fills (`execution.rs`), the close (`close.rs`), the equity
//! curve (`curve.rs`) and the sleep/wake fast path of both loops (`sleep.rs`).

mod aligned;
mod close;
mod columns;
mod curve;
mod execution;
mod inputs;
mod intrabar;
mod merged;
mod open_fills;
mod sleep;
mod slot;

use gauntlet_strategies::strategy::Strategy;
use rayon::prelude::*;

use crate::atr::StreamingAtr;
use crate::config::{Capital, EngineConfig};
use crate::fill::{FillModel, SlippageChoice, SlippageModel};
use crate::order::{ExitReason, FillRecord, Liquidity, Order, OrderId, OrderRecord, OrderStatus};
use crate::portfolio::Portfolio;
use crate::result::{AmbiguityStats, EquityCurve, RunResult, Trade};
use crate::risk::{RiskApproved, RiskEvent, RiskState};
use crate::sleeves::simulate_sleeves;

use columns::Columns;
use inputs::check_inputs;
pub use inputs::{EngineError, FeatureMatrix, SymbolInput};
use slot::Slot;

/// Runs one simulation of `strategy` over `inputs` (symbol index = position in `inputs`).
/// Validates the config (all field errors at once) and the inputs first. The loop is
/// monomorphized on the strategy and the slippage model.
pub fn simulate<S: Strategy>(
    config: &EngineConfig,
    strategy: &S,
    inputs: &[SymbolInput<'_>],
) -> Result<RunResult, EngineError> {
    config.validate()?;
    let aligned = check_inputs(config, inputs)?;
    if config.risk.capital == Capital::PerSymbol && inputs.len() > 1 {
        return Ok(simulate_sleeves(config, strategy, inputs, aligned));
    }
    Ok(run_validated(config, strategy, inputs, aligned))
}

/// [`simulate`] after the checks; `aligned`: every symbol has the same timestamps.
pub(crate) fn run_validated<S: Strategy>(
    config: &EngineConfig,
    strategy: &S,
    inputs: &[SymbolInput<'_>],
    aligned: bool,
) -> RunResult {
    match SlippageChoice::from(config.fills.slippage) {
        SlippageChoice::None(s) => Simulator::new(config, strategy, inputs, s, aligned).run(),
        SlippageChoice::FixedBps(s) => Simulator::new(config, strategy, inputs, s, aligned).run(),
        SlippageChoice::RangeFraction(s) => {
            Simulator::new(config, strategy, inputs, s, aligned).run()
        }
    }
}

/// Runs one simulation per config in parallel (rayon); results in `configs` order and
/// identical for any thread count.
pub fn simulate_many<S: Strategy>(
    configs: &[EngineConfig],
    strategy: &S,
    inputs: &[SymbolInput<'_>],
) -> Vec<Result<RunResult, EngineError>> {
    configs
        .par_iter()
        .map(|c| simulate(c, strategy, inputs))
        .collect()
}

/// One run over all symbols: the loop's state, monomorphized on the strategy `S` and the
/// slippage model `Sl`.
struct Simulator<'a, S: Strategy, Sl> {
    config: &'a EngineConfig,
    strategy: &'a S,
    inputs: &'a [SymbolInput<'a>],
    /// Every symbol has the same timestamps: each timestamp is one row index of all.
    aligned: bool,
    fill: FillModel<Sl>,
    risk: RiskState<'a>,
    portfolio: Portfolio,
    slots: Vec<Slot<'a, S::State>>,
    /// Merged loop: the symbols that have a bar at the current timestamp.
    active: Vec<usize>,
    curve: EquityCurve,
    /// Aligned grid without equity-based portfolio rules: nothing reads equity at each
    /// close, so the curve rows are written in blocks, from the closes, whenever the
    /// portfolio is about to change ([`Self::flush_curve`]) and at the end. The marks are
    /// not kept either: sizing values the positions at the previous closes directly.
    deferred_curve: bool,
    /// No symbol has features or model outputs (the strategy sees `None` for both).
    candles_only: bool,
    trades: Vec<Trade>,
    orders: Vec<OrderRecord>,
    fills: Vec<FillRecord>,
    events: Vec<RiskEvent>,
    ambiguity: AmbiguityStats,
}

impl<'a, S: Strategy, Sl: SlippageModel> Simulator<'a, S, Sl> {
    /// A run before its first timestamp: all cash, every symbol with a fresh strategy
    /// state.
    fn new(
        config: &'a EngineConfig,
        strategy: &'a S,
        inputs: &'a [SymbolInput<'a>],
        slippage: Sl,
        aligned: bool,
    ) -> Self {
        let longest = inputs.iter().map(|i| i.candles.len()).max().unwrap_or(0);
        let candles: usize = inputs.iter().map(|i| i.candles.len()).sum();
        Self {
            config,
            strategy,
            inputs,
            aligned,
            fill: FillModel::new(
                slippage,
                config.fills.fees,
                config.fills.volume_cap,
                config.risk.whole_units,
            ),
            risk: RiskState::new(&config.risk, config.initial_cash),
            portfolio: Portfolio::new(config.initial_cash, inputs.len()),
            slots: inputs
                .iter()
                .map(|input| Slot {
                    cursor: 0,
                    last_bar: None,
                    state: strategy.new_state(),
                    pending_exit: None,
                    pending_entry: None,
                    trade: None,
                    columns: Columns::new(input.candles),
                    atr: StreamingAtr::new(config.risk.atr_period),
                    atr_next: 0,
                    asleep_from: 0,
                    asleep_until: 0,
                })
                .collect(),
            active: Vec::with_capacity(inputs.len()),
            curve: EquityCurve::with_capacity(longest),
            candles_only: inputs
                .iter()
                .all(|i| i.features.is_none() && i.model.is_none()),
            deferred_curve: aligned
                && config.risk.circuit_breaker.is_none()
                && config.risk.daily_drawdown_limit.is_none(),
            // Room for an order and a fill every 16 candles and a trade and a risk event
            // every 32, so a strategy trading less often never moves (copies) a log while
            // running; untouched capacity costs address space only and is given back at
            // the end.
            trades: Vec::with_capacity(candles / 32),
            orders: Vec::with_capacity(candles / 16),
            fills: Vec::with_capacity(candles / 16),
            events: Vec::with_capacity(candles / 32),
            ambiguity: AmbiguityStats::default(),
        }
    }

    /// Runs the loop over time to the end and returns the run's result.
    fn run(mut self) -> RunResult {
        let candles = if self.aligned {
            self.run_aligned()
        } else {
            self.run_merged()
        };
        self.finish(candles)
    }

    /// The id of the next order, its index in the order log.
    fn next_id(&self) -> OrderId {
        self.orders.len() as OrderId
    }

    /// Updates an order's status in the order log.
    fn set_status(&mut self, order: &RiskApproved<Order>, status: OrderStatus) {
        self.orders[order.get().id as usize].status = status;
    }

    /// Closes the open trades at the last close of their symbol (end of data) and
    /// assembles the run's result from `candles` processed candles.
    fn finish(mut self, candles: u64) -> RunResult {
        for s in 0..self.slots.len() {
            let Some(last) = self.slots[s].last_bar else {
                continue;
            };
            if self.slots[s].trade.is_some() {
                let bar = self.slots[s].columns.bar(last);
                let qty = self.portfolio.position(s).quantity.abs();
                self.book_exit(
                    s,
                    last,
                    &bar,
                    None,
                    ExitReason::EndOfData,
                    bar.close,
                    qty,
                    0.0,
                    Liquidity::Taker,
                );
            }
        }
        self.trades.shrink_to_fit();
        self.orders.shrink_to_fit();
        self.fills.shrink_to_fit();
        self.events.shrink_to_fit();
        RunResult {
            strategy: self.strategy.name().to_string(),
            symbols: self
                .inputs
                .iter()
                .map(|i| i.candles.symbol().to_string())
                .collect(),
            initial_cash: self.config.initial_cash,
            final_equity: self.portfolio.equity(),
            total_fees: self.portfolio.fees(),
            equity: self.curve,
            trades: self.trades,
            orders: self.orders,
            fills: self.fills,
            risk_events: self.events,
            ambiguity: self.ambiguity,
            candles,
        }
    }
}
