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
//!    configured [`AmbiguityPolicy`]), then working limit/stop entries at their price.
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

use gauntlet_datasets::CandleSeries;
use gauntlet_strategies::strategy::{
    Bar, BarContext, EntryKind, ModelOutputs, OrderIntent, PositionView, Side, Strategy,
};
use rayon::prelude::*;

use crate::atr::StreamingAtr;
use crate::config::{AmbiguityPolicy, Capital, ConfigError, EngineConfig, VolumeRemainder};
use crate::fill::{resolve_ambiguity, FillModel, FirstHit, SlippageChoice, SlippageModel};
use crate::order::{
    ExitReason, FillCause, FillRecord, Liquidity, Order, OrderId, OrderPurpose, OrderRecord,
    OrderStatus,
};
use crate::portfolio::Portfolio;
use crate::result::{AmbiguityStats, EquityCurve, ModelSnapshot, RunResult, Trade};
use crate::risk::{
    PortfolioAction, Protection, RiskApproved, RiskEvent, RiskRule, RiskState, SizingInputs,
};
use crate::sleeves::simulate_sleeves;

/// A row-major f32 feature matrix of one symbol that a strategy reads: row `i` belongs
/// to bar `i` (warm-up rows included; the models' scored rows are
/// `gauntlet_strategies::models::FeatureRows`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureMatrix<'a> {
    pub values: &'a [f32],
    pub n_columns: usize,
}

impl<'a> FeatureMatrix<'a> {
    fn row(&self, i: usize) -> Option<&'a [f32]> {
        let start = i.checked_mul(self.n_columns)?;
        self.values.get(start..start + self.n_columns)
    }
}

/// One symbol's data for a run.
#[derive(Debug, Clone, Copy)]
pub struct SymbolInput<'a> {
    pub candles: &'a CandleSeries,
    pub features: Option<FeatureMatrix<'a>>,
    pub model: Option<ModelOutputs<'a>>,
    /// Finer candles covering the same period, for [`AmbiguityPolicy::DrillDown`].
    pub detail: Option<&'a CandleSeries>,
}

impl<'a> SymbolInput<'a> {
    /// Candles only.
    pub fn new(candles: &'a CandleSeries) -> Self {
        Self {
            candles,
            features: None,
            model: None,
            detail: None,
        }
    }
}

/// Why a run could not start.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("no symbols to simulate: expected at least one candle series")]
    NoSymbols,
    #[error("timestamps of {symbol} are not strictly increasing at row {row}")]
    UnsortedTimestamps { symbol: String, row: usize },
    #[error("features of {symbol}: {len} values are not {bars} bars × {n_columns} columns")]
    FeatureShape {
        symbol: String,
        len: usize,
        bars: usize,
        n_columns: usize,
    },
    #[error("model outputs of {symbol} cover {rows} bars but there are {bars} candles")]
    ModelLength {
        symbol: String,
        rows: usize,
        bars: usize,
    },
    #[error("ambiguity policy drill_down needs finer candles (SymbolInput::detail) for {symbol}")]
    DrillDownMissing { symbol: String },
    #[error(
        "drill_down candles of {symbol} are {fine}, which is not finer than the simulated {coarse}"
    )]
    DrillDownInterval {
        symbol: String,
        fine: String,
        coarse: String,
    },
}

/// The first `i` with `ts[i + 1] <= ts[i]`. Blocks of eight pairs are tested without a
/// branch per pair (the common, sorted case); the exact position only in a failing block.
fn first_not_increasing(ts: &[i64]) -> Option<usize> {
    const BLOCK: usize = 8;
    let mut start = 0;
    for block in ts.windows(BLOCK + 1).step_by(BLOCK) {
        let mut unsorted = false;
        for j in 0..BLOCK {
            unsorted |= block[j + 1] <= block[j];
        }
        if unsorted {
            break;
        }
        start += BLOCK;
    }
    ts[start..]
        .windows(2)
        .position(|w| w[1] <= w[0])
        .map(|p| start + p)
}

/// Checks the inputs; returns whether every symbol has the same timestamps.
fn check_inputs(config: &EngineConfig, inputs: &[SymbolInput<'_>]) -> Result<bool, EngineError> {
    if inputs.is_empty() {
        return Err(EngineError::NoSymbols);
    }
    let mut shared_grid = true;
    for (k, input) in inputs.iter().enumerate() {
        let c = input.candles;
        let symbol = || c.symbol().to_string();
        // Timestamps equal to the previous symbol's were checked with those (a shared
        // grid costs one comparison pass per symbol instead of an ordering scan).
        let same_as_previous = k > 0 && inputs[k - 1].candles.ts() == c.ts();
        shared_grid &= k == 0 || same_as_previous;
        if !same_as_previous {
            if let Some(row) = first_not_increasing(c.ts()) {
                return Err(EngineError::UnsortedTimestamps {
                    symbol: symbol(),
                    row: row + 1,
                });
            }
        }
        if let Some(f) = input.features {
            if f.n_columns == 0 || f.values.len() != c.len() * f.n_columns {
                return Err(EngineError::FeatureShape {
                    symbol: symbol(),
                    len: f.values.len(),
                    bars: c.len(),
                    n_columns: f.n_columns,
                });
            }
        }
        if let Some(m) = input.model {
            if m.len() != c.len() {
                return Err(EngineError::ModelLength {
                    symbol: symbol(),
                    rows: m.len(),
                    bars: c.len(),
                });
            }
        }
        if config.fills.ambiguity == AmbiguityPolicy::DrillDown {
            let detail = input
                .detail
                .ok_or_else(|| EngineError::DrillDownMissing { symbol: symbol() })?;
            if detail.interval().millis() >= c.interval().millis() {
                return Err(EngineError::DrillDownInterval {
                    symbol: symbol(),
                    fine: detail.interval().to_string(),
                    coarse: c.interval().to_string(),
                });
            }
        }
    }
    Ok(shared_grid)
}

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

struct OpenTrade {
    side: Side,
    entry_ts: i64,
    entry_bar: usize,
    entered_qty: f64,
    entry_value: f64,
    exited_qty: f64,
    exit_value: f64,
    entry_fills: u32,
    exit_fills: u32,
    first_entry_price: f64,
    first_exit_price: f64,
    fees: f64,
    realized: f64,
    protection: RiskApproved<Protection>,
    /// [`Protection::quiet_band`] of `protection`, refreshed whenever it changes.
    quiet_band: (f64, f64),
    atr_at_entry: f64,
    model: Option<ModelSnapshot>,
    bars_held: usize,
    low_water: f64,
    high_water: f64,
    /// First bar index at which the protective levels are checked intrabar.
    checks_from_bar: usize,
}

struct Slot<'a, St> {
    cursor: usize,
    last_bar: Option<usize>,
    state: St,
    pending_exit: Option<RiskApproved<Order>>,
    pending_entry: Option<RiskApproved<Order>>,
    trade: Option<OpenTrade>,
    /// The symbol's candles, and its ATR after bar `atr_next − 1`: kept with the rest of
    /// the symbol's state so the loop indexes one array per symbol.
    columns: Columns<'a>,
    atr: StreamingAtr,
    atr_next: usize,
    /// Aligned grid: rows `asleep_from..asleep_until` of the symbol are skipped. It has
    /// no working order, its strategy will not act before `asleep_until`
    /// ([`Strategy::next_decision`]) and, holding a position, no bar before it reaches a
    /// protective level or the time stop (see [`Simulator::sleep`]); when it wakes,
    /// ATR, the excursions and the bar count catch up.
    asleep_from: usize,
    asleep_until: usize,
}

impl<St> Slot<'_, St> {
    /// Adds bar `i` to the symbol's ATR, after the bars it slept through.
    #[inline(always)]
    fn push_atr(&mut self, i: usize, bar: &Bar) {
        if self.atr_next < i {
            self.catch_up_atr(i);
        }
        self.atr.push(bar.high, bar.low, bar.close);
        self.atr_next = i + 1;
    }

    /// At row `row`, after rows `asleep_from..row` were skipped: what the quiet path
    /// would have done to the open trade on them (ATR catches up by itself).
    #[inline(never)]
    fn wake(&mut self, row: usize) {
        let slept = self.asleep_from..row;
        self.asleep_from = row;
        if let Some(t) = self.trade.as_mut() {
            let c = &self.columns;
            t.low_water = c.low[slept.clone()]
                .iter()
                .fold(t.low_water, |m, &x| m.min(x));
            t.high_water = c.high[slept.clone()]
                .iter()
                .fold(t.high_water, |m, &x| m.max(x));
            t.bars_held += slept.len();
        }
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

/// One symbol's candle columns as plain slices of one common length, taken once per run
/// so the hot loop reads them without a call into the datasets crate per field.
#[derive(Debug, Clone, Copy)]
struct Columns<'a> {
    ts: &'a [i64],
    open: &'a [f64],
    high: &'a [f64],
    low: &'a [f64],
    close: &'a [f64],
    volume: &'a [f64],
}

impl<'a> Columns<'a> {
    fn new(c: &'a CandleSeries) -> Self {
        let n = c.len();
        Self {
            ts: &c.ts()[..n],
            open: &c.open()[..n],
            high: &c.high()[..n],
            low: &c.low()[..n],
            close: &c.close()[..n],
            volume: &c.volume()[..n],
        }
    }

    /// Starts loading row `i` of every column into the cache (a hint only).
    #[inline]
    fn prefetch(&self, i: usize) {
        prefetch(self.ts, i);
        prefetch(self.open, i);
        prefetch(self.high, i);
        prefetch(self.low, i);
        prefetch(self.close, i);
        prefetch(self.volume, i);
    }

    /// Row `i` of every column; one bounds check covers all six (they have one length).
    #[inline(always)]
    fn bar(&self, i: usize) -> Bar {
        let n = self.ts.len();
        assert!(i < n, "bar {i} of a series of {n} candles");
        // SAFETY: `new` cuts every column to the same length `n`, and `i < n`.
        unsafe {
            Bar {
                ts: *self.ts.get_unchecked(i),
                open: *self.open.get_unchecked(i),
                high: *self.high.get_unchecked(i),
                low: *self.low.get_unchecked(i),
                close: *self.close.get_unchecked(i),
                volume: *self.volume.get_unchecked(i),
            }
        }
    }
}

/// Rows between a prefetch and the row that reads it: two cache lines of f64 ahead.
const PREFETCH_ROWS: usize = 16;

/// Asks the CPU to start loading the cache line that holds `values[i]` into L2, so that
/// the loop over timestamps, which visits every symbol's columns at the same row (too
/// many interleaved streams for the hardware prefetcher), does not wait for memory.
/// A hint: it cannot change any result; out-of-range rows are skipped.
#[inline(always)]
fn prefetch<T>(values: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(value) = values.get(i) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
        // SAFETY: the pointer is to a live element, and a prefetch never faults nor
        // makes data visible to the program; it only warms the cache.
        unsafe { _mm_prefetch::<_MM_HINT_T1>((value as *const T).cast()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (values, i);
}

/// The first bar whose open or range reaches outside the open interval
/// `(below, above)` of a quiet band (a bar with a NaN among them reaches too), over the
/// equally long `open`, `low` and `high`.
fn first_reaching(
    open: &[f64],
    low: &[f64],
    high: &[f64],
    (below, above): (f64, f64),
) -> Option<usize> {
    // Blocks are tested whole, without an early exit, so the test vectorizes; the first
    // block with a bar that reaches is then searched bar by bar.
    const BLOCK: usize = 8;
    // The quiet path's test, negated as a whole so that NaN reaches.
    let reaches = |o: f64, l: f64, h: f64| !((o > below) & (l > below) & (o < above) & (h < above));
    let blocks = open
        .chunks_exact(BLOCK)
        .zip(low.chunks_exact(BLOCK))
        .zip(high.chunks_exact(BLOCK));
    let quiet_blocks = blocks
        .take_while(|((o, l), h)| {
            let bars = o.iter().zip(*l).zip(*h);
            !bars.fold(false, |any, ((&o, &l), &h)| any | reaches(o, l, h))
        })
        .count();
    let mut bars = open.iter().zip(low).zip(high).skip(quiet_blocks * BLOCK);
    bars.position(|((&o, &l), &h)| reaches(o, l, h))
        .map(|k| quiet_blocks * BLOCK + k)
}

impl<'a, S: Strategy, Sl: SlippageModel> Simulator<'a, S, Sl> {
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

    fn run(mut self) -> RunResult {
        let candles = if self.aligned {
            self.run_aligned()
        } else {
            self.run_merged()
        };
        self.finish(candles)
    }

    /// Every symbol has the same timestamps: timestamp `row` is bar `row` of every
    /// symbol, so the loop needs no merge and no per-symbol cursor. Returns the candles.
    fn run_aligned(&mut self) -> u64 {
        let timestamps = self.slots[0].columns.ts;
        let symbols = self.slots.len();
        // Equity only changes through fills (at the open or intrabar) and the marks at
        // the close, so the equity carried into a timestamp is the one recorded at the
        // previous close.
        let mut carried = self.portfolio.equity();
        // When every symbol sleeps, the rows until the first wakes can be skipped as a
        // whole, unless a timestamp's start can record something: the capital ramp's
        // steps or the equity-based rules.
        let skip_rows = self.deferred_curve && self.config.risk.capital_ramp.is_empty();
        let (mut row, mut prefetched_to) = (0, 0);
        while let Some(&ts) = timestamps.get(row) {
            if row >= prefetched_to {
                for s in 0..symbols {
                    self.prefetch(s, row + PREFETCH_ROWS);
                }
                prefetched_to = row + 8;
            }
            self.risk.begin_timestamp(ts, carried, &mut self.events);
            for s in 0..symbols {
                let slot = &mut self.slots[s];
                if slot.asleep_until > row {
                    continue;
                }
                if slot.asleep_until == row && slot.asleep_from < row {
                    slot.wake(row);
                }
                self.open_bar(s, row);
            }
            for s in 0..symbols {
                if self.slots[s].asleep_until <= row {
                    self.intrabar(s, row);
                }
            }
            if !self.deferred_curve {
                for (s, slot) in self.slots.iter().enumerate() {
                    self.portfolio.set_mark(s, slot.columns.close[row]);
                }
                let (equity, flatten) = self.record_close(ts);
                carried = equity;
                if flatten {
                    for slot in &mut self.slots {
                        slot.last_bar = Some(row);
                    }
                    self.flatten_all(ts);
                }
            }
            for s in 0..symbols {
                if self.slots[s].asleep_until <= row {
                    self.close_bar(s, ts, row);
                }
            }
            let sleeping = |slot: &Slot<'_, S::State>| slot.asleep_until > row + 1;
            row = if skip_rows && self.slots.iter().all(sleeping) {
                let first_awake = self.slots.iter().map(|slot| slot.asleep_until).min();
                first_awake.unwrap_or(usize::MAX)
            } else {
                row + 1
            };
        }
        self.flush_curve(timestamps.len());
        for slot in &mut self.slots {
            // Still asleep: an open trade is closed at the end of data.
            if slot.asleep_until >= timestamps.len() && slot.asleep_from < timestamps.len() {
                slot.wake(timestamps.len());
            }
            slot.cursor = timestamps.len();
            slot.last_bar = timestamps.len().checked_sub(1);
        }
        (symbols * timestamps.len()) as u64
    }

    /// Timestamps merged over all symbols (some have gaps or other grids). Returns the
    /// candles.
    fn run_merged(&mut self) -> u64 {
        let mut candles = 0u64;
        let mut carried = self.portfolio.equity();
        while let Some(ts) = self.next_timestamp() {
            candles += self.active.len() as u64;
            self.risk.begin_timestamp(ts, carried, &mut self.events);
            for k in 0..self.active.len() {
                let s = self.active[k];
                let i = self.slots[s].cursor;
                if i % 8 == 0 {
                    self.prefetch(s, i + PREFETCH_ROWS);
                }
                self.slots[s].last_bar = Some(i);
                self.open_bar(s, i);
            }
            for k in 0..self.active.len() {
                let s = self.active[k];
                self.intrabar(s, self.slots[s].cursor);
            }
            for &s in &self.active {
                let slot = &self.slots[s];
                self.portfolio.set_mark(s, slot.columns.close[slot.cursor]);
            }
            let (equity, flatten) = self.record_close(ts);
            carried = equity;
            if flatten {
                self.flatten_all(ts);
            }
            for k in 0..self.active.len() {
                let s = self.active[k];
                let i = self.slots[s].cursor;
                self.close_bar(s, ts, i);
                self.slots[s].cursor += 1;
            }
        }
        candles
    }

    /// At the close of `ts`, after every bar of it was marked: appends the equity curve
    /// row and runs the portfolio rules. Returns the equity and whether to flatten.
    #[inline(always)]
    fn record_close(&mut self, ts: i64) -> (f64, bool) {
        let valuation = self.portfolio.valuation();
        self.curve.ts.push(ts);
        self.curve.equity.push(valuation.equity);
        self.curve.cash.push(self.portfolio.cash());
        self.curve.gross_exposure.push(valuation.gross_exposure);
        self.curve.net_exposure.push(valuation.net_exposure);
        let action = self
            .risk
            .check_portfolio(ts, valuation.equity, &mut self.events);
        (valuation.equity, action == PortfolioAction::Flatten)
    }

    /// With a deferred curve: writes the rows of the timestamps before `row` not yet
    /// written, valued as [`Self::record_close`] would have at their closes. Called
    /// before every change of the portfolio (a fill at bar `row`), so the positions and
    /// cash are those of all these rows, and every open position's mark at a row is
    /// that row's close (aligned grid: every symbol has a bar at every timestamp).
    fn flush_curve(&mut self, row: usize) {
        let from = self.curve.len();
        if !self.deferred_curve || row <= from {
            return;
        }
        let (slots, curve) = (&self.slots, &mut self.curve);
        curve.ts.extend_from_slice(&slots[0].columns.ts[from..row]);
        curve
            .cash
            .extend(std::iter::repeat_n(self.portfolio.cash(), row - from));
        self.portfolio.valuations_into(
            row - from,
            |s| &slots[s].columns.close[from..row],
            &mut curve.equity,
            &mut curve.gross_exposure,
            &mut curve.net_exposure,
        );
    }

    /// Unaligned timestamps: the earliest next bar over all symbols, and the symbols
    /// that have a bar then (in `active`, symbol order); `None` when all are done.
    fn next_timestamp(&mut self) -> Option<i64> {
        let mut ts = i64::MAX;
        for slot in &self.slots {
            if let Some(&t) = slot.columns.ts.get(slot.cursor) {
                ts = ts.min(t);
            }
        }
        if ts == i64::MAX {
            return None;
        }
        self.active.clear();
        for (s, slot) in self.slots.iter().enumerate() {
            if slot.columns.ts.get(slot.cursor) == Some(&ts) {
                self.active.push(s);
            }
        }
        Some(ts)
    }

    /// Starts loading row `i` of symbol `s`'s candles and model outputs (a hint only).
    #[inline(always)]
    fn prefetch(&self, s: usize, i: usize) {
        self.slots[s].columns.prefetch(i);
        if let Some(model) = &self.inputs[s].model {
            let (probabilities, consensus) = model.columns();
            prefetch(probabilities, i * model.n_classes());
            prefetch(consensus, i);
        }
    }

    fn next_id(&self) -> OrderId {
        self.orders.len() as OrderId
    }

    fn set_status(&mut self, order: &RiskApproved<Order>, status: OrderStatus) {
        self.orders[order.get().id as usize].status = status;
    }

    // ---- open and intrabar -------------------------------------------------------

    /// Steps (1) and (2) of bar `i` of symbol `s`: what its open crosses and the market
    /// orders that fill at it. Run for every symbol of a timestamp before any symbol's
    /// intrabar step, so no fill at the open depends on anything later in that bar.
    #[inline(always)]
    fn open_bar(&mut self, s: usize, i: usize) {
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

    /// Step (3) of bar `i` of symbol `s` and its bookkeeping: the stop and target against
    /// the bar's range, then working limit/stop entries; ATR, the excursions and the bar
    /// count.
    #[inline(always)]
    fn intrabar(&mut self, s: usize, i: usize) {
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

    /// Fills (part of) the working entry at `reference` (before slippage).
    fn fill_entry(
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
        let wanted = self
            .risk
            .size_entry(&order, inputs, &mut self.events, bar.ts);
        let exec = self
            .fill
            .execute_order(&order, price, wanted, bar, liquidity);
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
    fn fill_exit_order(&mut self, s: usize, i: usize, bar: &Bar) {
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
            .execute_order(&order, price, qty, bar, Liquidity::Taker);
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
    fn exit_protective(
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
        let exec = self
            .fill
            .execute_protective(&t.protection, reference, qty, bar, liquidity);
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
    fn book_exit(
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

    // ---- close -------------------------------------------------------------------

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

    fn flatten_all(&mut self, ts: i64) {
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

    /// Close of bar `i` of symbol `s` (timestamp `ts`): time stop, trailing stop, strategy.
    #[inline(always)]
    fn close_bar(&mut self, s: usize, ts: i64, i: usize) {
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
            if self.aligned && slot.pending_entry.is_none() && slot.pending_exit.is_none() {
                self.sleep(s, i);
            }
            return;
        };
        self.act_on(s, ts, i, &bar, intent);
    }

    /// Aligned grid, at the close of bar `i` of symbol `s`, which has no working order:
    /// lets the symbol sleep until the first later bar at which anything but ATR (and,
    /// holding, the excursions and the bar count) can happen to it. Flat, that is the
    /// strategy's next decision. Holding, also the first bar whose open or range reaches
    /// the stop or target, and the time stop; not at all with a trailing stop (it moves
    /// at every close) or with equity-based rules (they may flatten at any close).
    fn sleep(&mut self, s: usize, i: usize) {
        let slot = &self.slots[s];
        let holding_may_sleep = |t: &OpenTrade| {
            self.deferred_curve
                && self.config.risk.trailing_stop.is_none()
                && t.checks_from_bar <= i + 1
        };
        // Checked before asking the strategy, whose answer may take a scan.
        if slot.trade.as_ref().is_some_and(|t| !holding_may_sleep(t)) {
            return;
        }
        let held = slot.trade.as_ref().map(|t| t.side);
        let mut until = self.strategy.next_decision(s, i + 1, held);
        if let Some(t) = &slot.trade {
            if let Some(limit) = self.config.risk.time_stop_bars {
                // Its close at bar `i + limit − bars_held` reaches the limit.
                until = until.min(i + limit.saturating_sub(t.bars_held));
            }
            let c = &slot.columns;
            // (A hint before `i + 1` would be a strategy's error: then no sleep.)
            let ahead = i + 1..until.clamp(i + 1, c.ts.len());
            let busy = first_reaching(
                &c.open[ahead.clone()],
                &c.low[ahead.clone()],
                &c.high[ahead.clone()],
                t.quiet_band,
            );
            until = busy.map_or(ahead.end, |k| ahead.start + k);
        }
        if until > i + 1 {
            let slot = &mut self.slots[s];
            slot.asleep_from = i + 1;
            slot.asleep_until = until;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Distance, Sizing};
    use gauntlet_datasets::Interval;
    use gauntlet_strategies::strategy::{SmaCross, SmaCrossConfig};
    use proptest::prelude::*;

    /// Symbols on one grid of 1m bars from `(return, range)` steps.
    fn aligned_universe(steps: &[Vec<(f64, f64)>]) -> Vec<CandleSeries> {
        steps
            .iter()
            .enumerate()
            .map(|(k, steps)| {
                let mut series = CandleSeries::with_capacity(format!("S{k}"), Interval::M1, 0);
                let mut close = 100.0;
                for (i, &(ret, range)) in steps.iter().enumerate() {
                    let open = close;
                    close = open * (1.0 + ret);
                    let high = open.max(close) * (1.0 + range);
                    let low = open.min(close) * (1.0 - range);
                    series.push(i as i64 * 60_000, open, high, low, close, 1e6);
                }
                series
            })
            .collect()
    }

    proptest! {
        /// The block-wise scan finds the bar the plain scan finds, NaN included.
        #[test]
        fn first_reaching_finds_the_first_bar_outside_the_band(
            bars in prop::collection::vec(
                prop::array::uniform3(prop_oneof![50 => 1.0f64..3.0, 1 => Just(f64::NAN)]),
                0..40,
            ),
        ) {
            let band = (1.01, 2.99);
            let (open, low, high): (Vec<f64>, Vec<f64>, Vec<f64>) =
                bars.iter().map(|&[o, l, h]| (o, l, h)).collect();
            let expected = bars.iter().position(|&[o, l, h]| {
                !(o > band.0 && l > band.0 && o < band.1 && h < band.1)
            });
            prop_assert_eq!(first_reaching(&open, &low, &high, band), expected);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// On a shared grid the aligned loop (and its deferred curve and marks) gives
        /// exactly what the general merged loop gives.
        #[test]
        fn aligned_loop_equals_merged_loop(
            bars in 40usize..120,
            steps in prop::collection::vec(prop::collection::vec((-0.03f64..0.03, 0.0f64..0.02), 120), 1..4),
            stops in prop::bool::ANY,
            breaker in prop::bool::ANY,
            latency in 0usize..2,
        ) {
            let steps: Vec<Vec<_>> = steps.into_iter().map(|s| s[..bars].to_vec()).collect();
            let universe = aligned_universe(&steps);
            let inputs: Vec<SymbolInput<'_>> = universe.iter().map(SymbolInput::new).collect();
            let mut config = EngineConfig::default();
            config.fills.latency_bars = latency;
            config.fills.fees.taker_bps = 5.0;
            config.risk.sizing = Sizing::FixedFraction { fraction: 0.4 };
            config.risk.max_gross_exposure = 1.5;
            if stops {
                config.risk.atr_period = 3;
                config.risk.stop_loss = Some(Distance::Atr { multiple: 1.2 });
                config.risk.take_profit = Some(Distance::Percent { percent: 2.0 });
                config.risk.time_stop_bars = Some(9);
            }
            if breaker {
                config.risk.daily_drawdown_limit = Some(0.03);
            }
            let strategy = SmaCross::new(SmaCrossConfig { fast: 3, slow: 7, allow_short: true }).unwrap();
            let run = |aligned: bool| {
                let SlippageChoice::None(slippage) = SlippageChoice::from(config.fills.slippage) else {
                    unreachable!("no slippage configured")
                };
                Simulator::new(&config, &strategy, &inputs, slippage, aligned).run()
            };
            let (aligned, merged) = (run(true), run(false));
            prop_assert!(!aligned.trades.is_empty() || bars < 60, "the strategy trades");
            // Debug strings: NaN (ATR warm-up) must compare equal to itself.
            prop_assert_eq!(format!("{aligned:?}"), format!("{merged:?}"));
        }
    }

    #[test]
    fn first_not_increasing_finds_the_first_bad_pair_in_any_block() {
        for n in [0, 1, 2, 8, 9, 17, 40] {
            let sorted: Vec<i64> = (0..n as i64).map(|i| i * 60).collect();
            assert_eq!(first_not_increasing(&sorted), None, "n {n}");
            for bad in 1..n {
                for value in [sorted[bad - 1], sorted[bad - 1] - 1] {
                    let mut ts = sorted.clone();
                    ts[bad] = value;
                    let expected = ts.windows(2).position(|w| w[1] <= w[0]);
                    assert_eq!(first_not_increasing(&ts), expected, "n {n} bad {bad}");
                }
            }
        }
    }
}
