//! The streaming feature computer: one state machine per distinct indicator, fed one
//! bar at a time. Batch computation drives this same computer, so both agree bit for
//! bit by construction (and a property test checks it anyway).
//!
//! **Unusable bars.** A bar with a non-finite or non-positive open/high/low/close, a
//! non-finite or negative volume, or an open time not after the previous usable bar's
//! is *skipped*: its row is not ready, all its values are NaN, and it enters no state;
//! the next usable bar continues as if the skipped bar were absent (rolling windows
//! span it, the warm-up is not restarted).
//!
//! **Ready.** A row is ready when its bar is usable, every feature is past its warm-up
//! (counted in usable base bars, or completed higher-timeframe bars) and every value
//! is finite. Rows before that carry whatever is defined (`ta`'s NaNs, ATR's leading
//! 0.0) — use `ready`, not the values, to decide.

use gauntlet_datasets::Interval;

use super::catalog::{BollingerOutput, FeatureKind, MacdOutput, MtfOutput, VolatilityClass};
use super::error::FeatureError;
use super::indicators::{Atr, Ema, Macd, Regime, RollingWindow, Rsi, VolatilityRegime};
use super::set::FeatureSet;

/// One candle as the streaming computer takes it (`ts` = open time, ms UTC).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub ts: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

impl Bar {
    /// Finite positive prices and a finite non-negative volume.
    pub fn is_usable(&self) -> bool {
        let price = |p: f64| p.is_finite() && p > 0.0;
        price(self.open)
            && price(self.high)
            && price(self.low)
            && price(self.close)
            && self.volume.is_finite()
            && self.volume >= 0.0
    }
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// What one column computes, with indices into the shared indicator states.
#[derive(Debug, Clone, Copy)]
enum Op {
    Session {
        start: i64,
        end: i64,
    },
    DayOfWeek,
    IsWeekend,
    Spread,
    SpreadPct,
    Atr(usize),
    SpreadAtrRatio(usize),
    VolumeMa(usize),
    VolumeRatio(usize),
    VolumeTrend {
        fast: usize,
        slow: usize,
    },
    Sma(usize),
    PriceSmaRatio(usize),
    Rsi(usize),
    Macd(usize, MacdOutput),
    Bollinger {
        band: usize,
        mean: usize,
        k: f64,
        output: BollingerOutput,
    },
    Volatility(usize, Regime),
    MtfReturn(usize),
    MtfRsi(usize, usize),
    MtfAtrRatio(usize, usize),
    MtfTrend(usize, usize),
    MtfRangePosition(usize, usize),
    MtfVolumeRatio(usize, usize),
    MtfTrendAlignment([(usize, usize); 3]),
}

fn intern<K: PartialEq>(keys: &mut Vec<K>, key: K) -> usize {
    match keys.iter().position(|k| *k == key) {
        Some(i) => i,
        None => {
            keys.push(key);
            keys.len() - 1
        }
    }
}

/// Indicator keys of one higher timeframe.
#[derive(Debug, Clone, Default)]
struct TimeframePlan {
    rsi: Vec<usize>,
    atr: Vec<usize>,
    trend: Vec<(usize, usize)>,
    range: Vec<usize>,
    volume: Vec<usize>,
    warmup: usize,
}

/// The compiled set: columns as ops, and the keys of every distinct indicator.
#[derive(Debug, Clone)]
struct Plan {
    ops: Vec<Op>,
    close_windows: Vec<usize>,
    volume_windows: Vec<usize>,
    /// Close-window indices whose population std is needed.
    bands: Vec<usize>,
    rsi: Vec<usize>,
    atr: Vec<usize>,
    macd: Vec<(usize, usize, usize)>,
    regimes: Vec<(usize, usize)>,
    timeframes: Vec<Interval>,
    timeframe_plans: Vec<TimeframePlan>,
    base_warmup: usize,
}

impl Plan {
    fn compile(set: &FeatureSet, base: Interval) -> Result<Self, FeatureError> {
        let mut plan = Plan {
            ops: Vec::with_capacity(set.len()),
            close_windows: vec![],
            volume_windows: vec![],
            bands: vec![],
            rsi: vec![],
            atr: vec![],
            macd: vec![],
            regimes: vec![],
            timeframes: vec![],
            timeframe_plans: vec![],
            base_warmup: 0,
        };
        for def in set.features() {
            let kind = def.kind();
            for tf in kind.timeframes() {
                if tf.millis() < base.millis() {
                    return Err(FeatureError::TimeframeBelowBase {
                        feature: def.name().to_string(),
                        timeframe: tf,
                        base,
                    });
                }
            }
            if kind.timeframes().is_empty() {
                plan.base_warmup = plan.base_warmup.max(kind.warmup_bars());
            }
            let op = plan.op_for(kind);
            plan.ops.push(op);
        }
        Ok(plan)
    }

    fn timeframe(&mut self, tf: Interval, warmup: usize) -> usize {
        let i = intern(&mut self.timeframes, tf);
        if i == self.timeframe_plans.len() {
            self.timeframe_plans.push(TimeframePlan::default());
        }
        let plan = &mut self.timeframe_plans[i];
        plan.warmup = plan.warmup.max(warmup);
        i
    }

    fn op_for(&mut self, kind: &FeatureKind) -> Op {
        let warmup = kind.warmup_bars();
        match *kind {
            FeatureKind::SessionTokyo => Op::Session { start: 0, end: 9 },
            FeatureKind::SessionLondon => Op::Session { start: 7, end: 16 },
            FeatureKind::SessionNewYork => Op::Session { start: 13, end: 22 },
            FeatureKind::DayOfWeek => Op::DayOfWeek,
            FeatureKind::IsWeekend => Op::IsWeekend,
            FeatureKind::Spread => Op::Spread,
            FeatureKind::SpreadPct => Op::SpreadPct,
            FeatureKind::Atr { window } => Op::Atr(intern(&mut self.atr, window)),
            FeatureKind::SpreadAtrRatio { window } => {
                Op::SpreadAtrRatio(intern(&mut self.atr, window))
            }
            FeatureKind::VolumeMa { window } => {
                Op::VolumeMa(intern(&mut self.volume_windows, window))
            }
            FeatureKind::VolumeRatio { window } => {
                Op::VolumeRatio(intern(&mut self.volume_windows, window))
            }
            FeatureKind::VolumeTrend { fast, slow } => Op::VolumeTrend {
                fast: intern(&mut self.volume_windows, fast),
                slow: intern(&mut self.volume_windows, slow),
            },
            FeatureKind::Sma { window } => Op::Sma(intern(&mut self.close_windows, window)),
            FeatureKind::PriceSmaRatio { window } => {
                Op::PriceSmaRatio(intern(&mut self.close_windows, window))
            }
            FeatureKind::Rsi { window } => Op::Rsi(intern(&mut self.rsi, window)),
            FeatureKind::Macd {
                output,
                fast,
                slow,
                signal,
            } => Op::Macd(intern(&mut self.macd, (fast, slow, signal)), output),
            FeatureKind::Bollinger {
                output,
                window,
                std,
            } => {
                let mean = intern(&mut self.close_windows, window);
                Op::Bollinger {
                    band: intern(&mut self.bands, mean),
                    mean,
                    k: std,
                    output,
                }
            }
            FeatureKind::Volatility {
                class,
                window,
                history,
            } => Op::Volatility(
                intern(&mut self.regimes, (window, history)),
                match class {
                    VolatilityClass::Low => Regime::Low,
                    VolatilityClass::Medium => Regime::Medium,
                    VolatilityClass::High => Regime::High,
                },
            ),
            FeatureKind::Mtf { output, timeframe } => {
                let t = self.timeframe(timeframe, warmup);
                let plan = &mut self.timeframe_plans[t];
                match output {
                    MtfOutput::Return => Op::MtfReturn(t),
                    MtfOutput::Rsi { window } => Op::MtfRsi(t, intern(&mut plan.rsi, window)),
                    MtfOutput::AtrRatio { window } => {
                        Op::MtfAtrRatio(t, intern(&mut plan.atr, window))
                    }
                    MtfOutput::Trend { fast, slow } => {
                        Op::MtfTrend(t, intern(&mut plan.trend, (fast, slow)))
                    }
                    MtfOutput::RangePosition { window } => {
                        Op::MtfRangePosition(t, intern(&mut plan.range, window))
                    }
                    MtfOutput::VolumeRatio { window } => {
                        Op::MtfVolumeRatio(t, intern(&mut plan.volume, window))
                    }
                }
            }
            FeatureKind::MtfTrendAlignment { fast, slow } => {
                let mut trends = [(0, 0); 3];
                for (slot, tf) in trends.iter_mut().zip(super::catalog::MTF_TIMEFRAMES) {
                    let t = self.timeframe(tf, warmup);
                    *slot = (t, intern(&mut self.timeframe_plans[t].trend, (fast, slow)));
                }
                Op::MtfTrendAlignment(trends)
            }
        }
    }
}

/// A pair of span-EMAs for `fast/slow − 1`.
#[derive(Debug, Clone)]
struct Trend {
    fast: Ema,
    slow: Ema,
    slow_window: usize,
}

/// Causal aggregation of base bars into one higher timeframe, with that timeframe's
/// indicators. Outputs are refreshed only when a bucket completes.
#[derive(Debug, Clone)]
struct HigherTimeframe {
    timeframe: Interval,
    warmup: usize,
    bucket: Option<i64>,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
    completed: usize,
    last_close: f64,
    ret: f64,
    rsi: Vec<Rsi>,
    atr: Vec<Atr>,
    trend: Vec<Trend>,
    range: Vec<(RollingWindow, RollingWindow)>,
    volume_windows: Vec<RollingWindow>,
    rsi_out: Vec<f64>,
    atr_out: Vec<f64>,
    trend_out: Vec<f64>,
    range_out: Vec<f64>,
    volume_out: Vec<f64>,
}

impl HigherTimeframe {
    fn new(timeframe: Interval, plan: &TimeframePlan) -> Self {
        let nan = |n: usize| vec![f64::NAN; n];
        Self {
            timeframe,
            warmup: plan.warmup,
            bucket: None,
            open: f64::NAN,
            high: f64::NAN,
            low: f64::NAN,
            close: f64::NAN,
            volume: 0.0,
            completed: 0,
            last_close: f64::NAN,
            ret: f64::NAN,
            rsi: plan.rsi.iter().map(|&w| Rsi::new(w)).collect(),
            atr: plan.atr.iter().map(|&w| Atr::new(w)).collect(),
            trend: plan
                .trend
                .iter()
                .map(|&(fast, slow)| Trend {
                    fast: Ema::with_span(fast),
                    slow: Ema::with_span(slow),
                    slow_window: slow,
                })
                .collect(),
            range: plan
                .range
                .iter()
                .map(|&w| (RollingWindow::new(w), RollingWindow::new(w)))
                .collect(),
            volume_windows: plan.volume.iter().map(|&w| RollingWindow::new(w)).collect(),
            rsi_out: nan(plan.rsi.len()),
            atr_out: nan(plan.atr.len()),
            trend_out: nan(plan.trend.len()),
            range_out: nan(plan.range.len()),
            volume_out: nan(plan.volume.len()),
        }
    }

    fn on_base_bar(&mut self, bar: &Bar) {
        let bucket = self.timeframe.bucket_start(bar.ts);
        match self.bucket {
            Some(current) if current == bucket => {
                self.high = self.high.max(bar.high);
                self.low = self.low.min(bar.low);
                self.close = bar.close;
                self.volume += bar.volume;
                return;
            }
            Some(_) => self.complete(),
            None => {}
        }
        self.bucket = Some(bucket);
        self.open = bar.open;
        self.high = bar.high;
        self.low = bar.low;
        self.close = bar.close;
        self.volume = bar.volume;
    }

    /// The open bucket is complete (a base bar of a later bucket arrived).
    fn complete(&mut self) {
        let (high, low, close, volume) = (self.high, self.low, self.close, self.volume);
        self.completed += 1;
        self.ret = if self.completed >= 2 {
            close / self.last_close - 1.0
        } else {
            f64::NAN
        };
        self.last_close = close;
        for (rsi, out) in self.rsi.iter_mut().zip(&mut self.rsi_out) {
            rsi.update(close);
            *out = rsi.value();
        }
        for (atr, out) in self.atr.iter_mut().zip(&mut self.atr_out) {
            atr.update(high, low, close);
            *out = if atr.is_ready() {
                atr.value() / close
            } else {
                f64::NAN
            };
        }
        for (trend, out) in self.trend.iter_mut().zip(&mut self.trend_out) {
            trend.fast.update(close);
            trend.slow.update(close);
            *out = if trend.slow.count() >= trend.slow_window {
                trend.fast.value() / trend.slow.value() - 1.0
            } else {
                f64::NAN
            };
        }
        for ((highs, lows), out) in self.range.iter_mut().zip(&mut self.range_out) {
            highs.push(high);
            lows.push(low);
            let (max, min) = (highs.max(), lows.min());
            *out = if max == min {
                0.5
            } else {
                (close - min) / (max - min)
            };
        }
        for (window, out) in self.volume_windows.iter_mut().zip(&mut self.volume_out) {
            window.push(volume);
            let mean = window.mean();
            *out = if mean == 0.0 { 1.0 } else { volume / mean };
        }
    }
}

/// Sign with `sgn(0) = 0` (and NaN for NaN).
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else if x == 0.0 {
        0.0
    } else {
        f64::NAN
    }
}

/// All indicator states of one series.
#[derive(Debug, Clone)]
struct State {
    bars: usize,
    last_ts: Option<i64>,
    close_windows: Vec<RollingWindow>,
    volume_windows: Vec<RollingWindow>,
    band_std: Vec<f64>,
    rsi: Vec<Rsi>,
    atr: Vec<Atr>,
    macd: Vec<Macd>,
    regimes: Vec<VolatilityRegime>,
    timeframes: Vec<HigherTimeframe>,
}

impl State {
    fn new(plan: &Plan) -> Self {
        Self {
            bars: 0,
            last_ts: None,
            close_windows: plan
                .close_windows
                .iter()
                .map(|&w| RollingWindow::new(w))
                .collect(),
            volume_windows: plan
                .volume_windows
                .iter()
                .map(|&w| RollingWindow::new(w))
                .collect(),
            band_std: vec![f64::NAN; plan.bands.len()],
            rsi: plan.rsi.iter().map(|&w| Rsi::new(w)).collect(),
            atr: plan.atr.iter().map(|&w| Atr::new(w)).collect(),
            macd: plan
                .macd
                .iter()
                .map(|&(f, s, g)| Macd::new(f, s, g))
                .collect(),
            regimes: plan
                .regimes
                .iter()
                .map(|&(w, h)| VolatilityRegime::new(w, h))
                .collect(),
            timeframes: plan
                .timeframes
                .iter()
                .zip(&plan.timeframe_plans)
                .map(|(&tf, p)| HigherTimeframe::new(tf, p))
                .collect(),
        }
    }

    fn update(&mut self, plan: &Plan, bar: &Bar) {
        for w in &mut self.close_windows {
            w.push(bar.close);
        }
        for w in &mut self.volume_windows {
            w.push(bar.volume);
        }
        for (std, &mean) in self.band_std.iter_mut().zip(&plan.bands) {
            *std = self.close_windows[mean].population_std();
        }
        for rsi in &mut self.rsi {
            rsi.update(bar.close);
        }
        for atr in &mut self.atr {
            atr.update(bar.high, bar.low, bar.close);
        }
        for macd in &mut self.macd {
            macd.update(bar.close);
        }
        for regime in &mut self.regimes {
            regime.update(bar.close);
        }
        for tf in &mut self.timeframes {
            tf.on_base_bar(bar);
        }
        self.bars += 1;
        self.last_ts = Some(bar.ts);
    }

    fn value(&self, op: &Op, bar: &Bar, hour: i64, weekday: i64) -> f64 {
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        match *op {
            Op::Session { start, end } => flag(hour >= start && hour < end),
            Op::DayOfWeek => weekday as f64,
            Op::IsWeekend => flag(weekday >= 5),
            Op::Spread => bar.high - bar.low,
            Op::SpreadPct => (bar.high - bar.low) / bar.close,
            Op::Atr(i) => self.atr[i].value(),
            Op::SpreadAtrRatio(i) => {
                let atr = &self.atr[i];
                if !atr.is_ready() {
                    f64::NAN
                } else if atr.value() == 0.0 {
                    0.0
                } else {
                    (bar.high - bar.low) / atr.value()
                }
            }
            Op::VolumeMa(i) => self.volume_windows[i].mean(),
            Op::VolumeRatio(i) => {
                let mean = self.volume_windows[i].mean();
                if mean == 0.0 {
                    1.0
                } else {
                    bar.volume / mean
                }
            }
            Op::VolumeTrend { fast, slow } => {
                let (f, s) = (
                    self.volume_windows[fast].mean(),
                    self.volume_windows[slow].mean(),
                );
                if s == 0.0 {
                    0.0
                } else {
                    f / s - 1.0
                }
            }
            Op::Sma(i) => self.close_windows[i].mean(),
            Op::PriceSmaRatio(i) => bar.close / self.close_windows[i].mean(),
            Op::Rsi(i) => self.rsi[i].value(),
            Op::Macd(i, output) => {
                let macd = &self.macd[i];
                match output {
                    MacdOutput::Macd => macd.macd(),
                    MacdOutput::Signal => macd.signal(),
                    MacdOutput::Diff => macd.macd() - macd.signal(),
                }
            }
            Op::Bollinger {
                band,
                mean,
                k,
                output,
            } => {
                let mavg = self.close_windows[mean].mean();
                let std = self.band_std[band];
                let high = mavg + k * std;
                let low = mavg - k * std;
                match output {
                    BollingerOutput::High => high,
                    BollingerOutput::Low => low,
                    BollingerOutput::Width => (high - low) / mavg * 100.0,
                    BollingerOutput::Position => {
                        if high == low {
                            0.5
                        } else {
                            (bar.close - low) / (high - low)
                        }
                    }
                }
            }
            Op::Volatility(i, class) => match self.regimes[i].regime() {
                Regime::Undefined => f64::NAN,
                regime => flag(regime == class),
            },
            Op::MtfReturn(t) => self.timeframes[t].ret,
            Op::MtfRsi(t, i) => self.timeframes[t].rsi_out[i],
            Op::MtfAtrRatio(t, i) => self.timeframes[t].atr_out[i],
            Op::MtfTrend(t, i) => self.timeframes[t].trend_out[i],
            Op::MtfRangePosition(t, i) => self.timeframes[t].range_out[i],
            Op::MtfVolumeRatio(t, i) => self.timeframes[t].volume_out[i],
            Op::MtfTrendAlignment(trends) => {
                trends
                    .iter()
                    .map(|&(t, i)| sign(self.timeframes[t].trend_out[i]))
                    .sum::<f64>()
                    / 3.0
            }
        }
    }

    fn past_warmup(&self, plan: &Plan) -> bool {
        self.bars > plan.base_warmup && self.timeframes.iter().all(|tf| tf.completed > tf.warmup)
    }
}

/// Incremental feature computer for one symbol: feed bars in time order with
/// [`StreamingComputer::update`], read the row with [`StreamingComputer::values`].
/// Allocates only in `new`.
#[derive(Debug, Clone)]
pub struct StreamingComputer {
    plan: Plan,
    state: State,
    row: Vec<f64>,
    ready: bool,
}

impl StreamingComputer {
    /// A computer for `set` over bars of interval `base`; fails if a feature reads a
    /// timeframe shorter than `base`.
    pub fn new(set: &FeatureSet, base: Interval) -> Result<Self, FeatureError> {
        let plan = Plan::compile(set, base)?;
        let state = State::new(&plan);
        Ok(Self {
            row: vec![f64::NAN; plan.ops.len()],
            plan,
            state,
            ready: false,
        })
    }

    /// Consumes one bar and returns whether its row is ready (see the module docs for
    /// unusable bars and readiness).
    pub fn update(&mut self, bar: &Bar) -> bool {
        let in_order = self.state.last_ts.is_none_or(|last| bar.ts > last);
        if !(in_order && bar.is_usable()) {
            self.row.iter_mut().for_each(|v| *v = f64::NAN);
            self.ready = false;
            return false;
        }
        self.state.update(&self.plan, bar);
        let hour = bar.ts.div_euclid(HOUR_MS).rem_euclid(24);
        // 1970-01-01 was a Thursday (3 with Monday = 0).
        let weekday = (bar.ts.div_euclid(DAY_MS) + 3).rem_euclid(7);
        let mut finite = true;
        for (out, op) in self.row.iter_mut().zip(&self.plan.ops) {
            let v = self.state.value(op, bar, hour, weekday);
            finite &= v.is_finite();
            *out = v;
        }
        self.ready = finite && self.state.past_warmup(&self.plan);
        self.ready
    }

    /// The last bar's values, in manifest order.
    pub fn values(&self) -> &[f64] {
        &self.row
    }

    /// Whether the last bar's row is ready.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// Number of features (columns).
    pub fn num_features(&self) -> usize {
        self.row.len()
    }

    /// Usable bars consumed so far.
    pub fn bars_seen(&self) -> usize {
        self.state.bars
    }

    /// Forgets all history (as if newly created).
    pub fn reset(&mut self) {
        self.state = State::new(&self.plan);
        self.row.iter_mut().for_each(|v| *v = f64::NAN);
        self.ready = false;
    }
}
