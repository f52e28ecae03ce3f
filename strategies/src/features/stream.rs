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

use gauntlet_datasets::{Bar, Interval};
use gauntlet_kernels::lanes::{write_across, LaneBar};
use gauntlet_kernels::memory::StreamingVec;

use super::batch::FeatureValue;
use super::catalog::{BollingerOutput, FeatureKind, MacdOutput, MtfOutput, VolatilityClass};
use super::error::FeatureError;
use super::indicators::{
    per_lane, select, Atr, Ema, Lanes, Macd, Regime, RollingMeans, RollingWindow, Rsi,
    VolatilityRegime,
};
use super::set::FeatureSet;

/// A bar as the bar of one lane.
fn lane_bar(bar: &Bar) -> LaneBar<1> {
    LaneBar {
        ts: bar.ts,
        usable: bar.is_usable(),
        open: [bar.open],
        high: [bar.high],
        low: [bar.low],
        close: [bar.close],
        volume: [bar.volume],
    }
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// The UTC hour of day and weekday (Monday = 0) of the hour that holds the last
/// open time seen, reused while the bars stay in that hour: sub-hour bars then
/// skip the calendar arithmetic (64-bit divisions) on most bars.
#[derive(Debug, Clone)]
struct CalendarHour {
    /// The hour's open times `start..end`, clamped to the `i64` range (empty before
    /// the first bar).
    start: i64,
    end: i64,
    hour: f64,
    weekday: f64,
}

impl Default for CalendarHour {
    fn default() -> Self {
        Self {
            start: 0,
            end: 0,
            hour: f64::NAN,
            weekday: f64::NAN,
        }
    }
}

impl CalendarHour {
    /// `(hour, weekday)` of the open time `ts`.
    #[inline(always)]
    fn of(&mut self, ts: i64) -> (f64, f64) {
        if !(self.start..self.end).contains(&ts) {
            let into_day = ts.rem_euclid(DAY_MS);
            let into_hour = into_day % HOUR_MS;
            self.start = ts.saturating_sub(into_hour);
            self.end = ts.saturating_add(HOUR_MS - into_hour);
            self.hour = (into_day / HOUR_MS) as f64;
            // 1970-01-01 was a Thursday (3 with Monday = 0).
            self.weekday = (ts.div_euclid(DAY_MS) + 3).rem_euclid(7) as f64;
        }
        (self.hour, self.weekday)
    }
}

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
    layout: Layout,
    /// Per timeframe, parallel to `timeframes`.
    timeframe_slots: Vec<TimeframeSlots>,
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
            layout: Layout::default(),
            timeframe_slots: vec![],
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
        plan.layout = Layout::new(&plan);
        let mut first = plan.layout.timeframes;
        for p in &plan.timeframe_plans {
            let slots = TimeframeSlots::of(p, first);
            first += slots.len;
            plan.timeframe_slots.push(slots);
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
struct Trend<const L: usize> {
    fast: Ema<L>,
    slow: Ema<L>,
    slow_window: usize,
}

/// Causal aggregation of base bars into one higher timeframe, with that timeframe's
/// indicators. Outputs are refreshed only when a bucket completes.
#[derive(Debug, Clone)]
struct HigherTimeframe<const L: usize> {
    timeframe: Interval,
    warmup: usize,
    bucket: Option<i64>,
    open: Lanes<L>,
    high: Lanes<L>,
    low: Lanes<L>,
    close: Lanes<L>,
    volume: Lanes<L>,
    completed: usize,
    last_close: Lanes<L>,
    ret: Lanes<L>,
    rsi: Vec<Rsi<L>>,
    atr: Vec<Atr<L>>,
    trend: Vec<Trend<L>>,
    range: Vec<(RollingWindow<L>, RollingWindow<L>)>,
    volume_windows: Vec<RollingWindow<L>>,
    rsi_out: Vec<Lanes<L>>,
    atr_out: Vec<Lanes<L>>,
    trend_out: Vec<Lanes<L>>,
    range_out: Vec<Lanes<L>>,
    volume_out: Vec<Lanes<L>>,
}

impl<const L: usize> HigherTimeframe<L> {
    fn new(timeframe: Interval, plan: &TimeframePlan) -> Self {
        let nan = |n: usize| vec![[f64::NAN; L]; n];
        Self {
            timeframe,
            warmup: plan.warmup,
            bucket: None,
            open: [f64::NAN; L],
            high: [f64::NAN; L],
            low: [f64::NAN; L],
            close: [f64::NAN; L],
            volume: [0.0; L],
            completed: 0,
            last_close: [f64::NAN; L],
            ret: [f64::NAN; L],
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

    #[inline(always)]
    fn on_base_bar(&mut self, bar: &LaneBar<L>) {
        let bucket = self.timeframe.bucket_start(bar.ts);
        match self.bucket {
            Some(current) if current == bucket => {
                let (high, low, volume) = (self.high, self.low, self.volume);
                self.high = per_lane(|l| high[l].max(bar.high[l]));
                self.low = per_lane(|l| low[l].min(bar.low[l]));
                self.volume = per_lane(|l| volume[l] + bar.volume[l]);
                self.close = bar.close;
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
            per_lane(|l| close[l] / self.last_close[l] - 1.0)
        } else {
            [f64::NAN; L]
        };
        self.last_close = close;
        for (rsi, out) in self.rsi.iter_mut().zip(&mut self.rsi_out) {
            rsi.update(close);
            *out = rsi.value();
        }
        for (atr, out) in self.atr.iter_mut().zip(&mut self.atr_out) {
            atr.update(high, low, close);
            let value = atr.value();
            *out = if atr.is_ready() {
                per_lane(|l| value[l] / close[l])
            } else {
                [f64::NAN; L]
            };
        }
        for (trend, out) in self.trend.iter_mut().zip(&mut self.trend_out) {
            trend.fast.update(close);
            trend.slow.update(close);
            let (fast, slow) = (trend.fast.value(), trend.slow.value());
            *out = if trend.slow.count() >= trend.slow_window {
                per_lane(|l| fast[l] / slow[l] - 1.0)
            } else {
                [f64::NAN; L]
            };
        }
        for ((highs, lows), out) in self.range.iter_mut().zip(&mut self.range_out) {
            highs.push(high);
            lows.push(low);
            let (max, min) = (highs.max(), lows.min());
            *out = per_lane(|l| {
                if max[l] == min[l] {
                    0.5
                } else {
                    (close[l] - min[l]) / (max[l] - min[l])
                }
            });
        }
        for (window, out) in self.volume_windows.iter_mut().zip(&mut self.volume_out) {
            window.push(volume);
            let mean = window.mean();
            *out = per_lane(|l| {
                if mean[l] == 0.0 {
                    1.0
                } else {
                    volume[l] / mean[l]
                }
            });
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

/// Where each per-bar quantity the columns read lives in a [`Block`]: one slot
/// (a column of `stride` values) per quantity, slot-major.
#[derive(Debug, Clone, Copy, Default)]
struct Layout {
    close_mean: usize,
    volume_mean: usize,
    band_std: usize,
    rsi: usize,
    atr: usize,
    atr_ready: usize,
    macd: usize,
    macd_signal: usize,
    regime: usize,
    /// Start of the higher-timeframe slots; each timeframe's are in [`Self::tf`].
    timeframes: usize,
    /// 1.0 when every feature is past its warm-up, else 0.0.
    warm: usize,
    slots: usize,
}

/// The first slots: the bar itself and its UTC calendar fields.
const HIGH: usize = 0;
const LOW: usize = 1;
const CLOSE: usize = 2;
const VOLUME: usize = 3;
const HOUR: usize = 4;
const WEEKDAY: usize = 5;
const BAR_SLOTS: usize = 6;

/// The slots of one higher timeframe's outputs.
#[derive(Debug, Clone, Copy)]
struct TimeframeSlots {
    ret: usize,
    rsi: usize,
    atr: usize,
    trend: usize,
    range: usize,
    volume: usize,
    len: usize,
}

impl TimeframeSlots {
    /// The slots of a timeframe whose first slot is `first`.
    fn of(plan: &TimeframePlan, first: usize) -> Self {
        let ret = first;
        let rsi = ret + 1;
        let atr = rsi + plan.rsi.len();
        let trend = atr + plan.atr.len();
        let range = trend + plan.trend.len();
        let volume = range + plan.range.len();
        Self {
            ret,
            rsi,
            atr,
            trend,
            range,
            volume,
            len: volume + plan.volume.len() - first,
        }
    }
}

impl Layout {
    fn new(plan: &Plan) -> Self {
        let close_mean = BAR_SLOTS;
        let volume_mean = close_mean + plan.close_windows.len();
        let band_std = volume_mean + plan.volume_windows.len();
        let rsi = band_std + plan.bands.len();
        let atr = rsi + plan.rsi.len();
        let atr_ready = atr + plan.atr.len();
        let macd = atr_ready + plan.atr.len();
        let macd_signal = macd + plan.macd.len();
        let regime = macd_signal + plan.macd.len();
        let timeframes = regime + plan.regimes.len();
        let warm = timeframes
            + plan
                .timeframe_plans
                .iter()
                .map(|p| TimeframeSlots::of(p, 0).len)
                .sum::<usize>();
        Self {
            close_mean,
            volume_mean,
            band_std,
            rsi,
            atr,
            atr_ready,
            macd,
            macd_signal,
            regime,
            timeframes,
            warm,
            slots: warm + 1,
        }
    }
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// The Bollinger bands `(mavg + k·std, mavg − k·std)`, from which the outputs are
/// `high`, `low`, `(high − low)/mavg·100` and `(close − low)/(high − low)` (0.5 when
/// the bands meet).
#[inline(always)]
fn bollinger_bands(mavg: f64, std: f64, k: f64) -> (f64, f64) {
    (mavg + k * std, mavg - k * std)
}

/// Per-bar quantities of up to `stride` consecutive usable bars, slot-major
/// (`values[slot · stride + k]` for the block's k-th bar, one value per lane).
/// Streaming uses blocks of one bar, batch longer ones; both compute every column by
/// [`Block::column`], so they agree bit for bit.
#[derive(Debug, Clone)]
struct Block<const L: usize> {
    stride: usize,
    len: usize,
    values: Vec<Lanes<L>>,
}

impl<const L: usize> Block<L> {
    fn new(layout: &Layout, stride: usize) -> Self {
        Self {
            stride,
            len: 0,
            values: vec![[f64::NAN; L]; layout.slots * stride],
        }
    }

    /// The filled part of one slot.
    #[inline(always)]
    fn slot(&self, slot: usize) -> &[Lanes<L>] {
        &self.values[slot * self.stride..slot * self.stride + self.len]
    }

    /// `put(k, f(x_k))` over one slot, lane by lane.
    #[inline(always)]
    fn each(&self, slot: usize, put: &mut impl FnMut(usize, Lanes<L>), f: impl Fn(f64) -> f64) {
        for (k, x) in self.slot(slot).iter().enumerate() {
            put(k, per_lane(|l| f(x[l])));
        }
    }

    /// `put(k, f(x_k, y_k))` over two slots, lane by lane.
    #[inline(always)]
    fn pairs(
        &self,
        a: usize,
        b: usize,
        put: &mut impl FnMut(usize, Lanes<L>),
        f: impl Fn(f64, f64) -> f64,
    ) {
        for (k, (x, y)) in self.slot(a).iter().zip(self.slot(b)).enumerate() {
            put(k, per_lane(|l| f(x[l], y[l])));
        }
    }

    /// `put(k, f(x_k, y_k, z_k))` over three slots, lane by lane.
    #[inline(always)]
    fn triples(
        &self,
        [a, b, c]: [usize; 3],
        put: &mut impl FnMut(usize, Lanes<L>),
        f: impl Fn(f64, f64, f64) -> f64,
    ) {
        let (x, y, z) = (self.slot(a), self.slot(b), self.slot(c));
        for k in 0..self.len {
            put(k, per_lane(|l| f(x[k][l], y[k][l], z[k][l])));
        }
    }

    /// Computes the column of `op` for the block's bars, handing `(k, value)` to
    /// `put` in order. The match is per block, the loops per bar.
    #[inline(always)]
    fn column(&self, plan: &Plan, op: &Op, mut put: impl FnMut(usize, Lanes<L>)) {
        let layout = &plan.layout;
        let tfs = &plan.timeframe_slots;
        match *op {
            Op::Session { start, end } => {
                let (start, end) = (start as f64, end as f64);
                self.each(HOUR, &mut put, |h| flag(h >= start && h < end));
            }
            Op::DayOfWeek => self.each(WEEKDAY, &mut put, |d| d),
            Op::IsWeekend => self.each(WEEKDAY, &mut put, |d| flag(d >= 5.0)),
            Op::Spread => self.pairs(HIGH, LOW, &mut put, |h, l| h - l),
            Op::SpreadPct => self.triples([HIGH, LOW, CLOSE], &mut put, |high, low, close| {
                (high - low) / close
            }),
            Op::Atr(i) => self.each(layout.atr + i, &mut put, |a| a),
            Op::SpreadAtrRatio(i) => {
                let (high, low) = (self.slot(HIGH), self.slot(LOW));
                let (atr, ready) = (self.slot(layout.atr + i), self.slot(layout.atr_ready + i));
                for k in 0..self.len {
                    put(
                        k,
                        per_lane(|l| {
                            let ratio =
                                select(atr[k][l] == 0.0, 0.0, (high[k][l] - low[k][l]) / atr[k][l]);
                            select(ready[k][l] == 0.0, f64::NAN, ratio)
                        }),
                    );
                }
            }
            Op::VolumeMa(i) => self.each(layout.volume_mean + i, &mut put, |m| m),
            Op::VolumeRatio(i) => self.pairs(VOLUME, layout.volume_mean + i, &mut put, |v, m| {
                if m == 0.0 {
                    1.0
                } else {
                    v / m
                }
            }),
            Op::VolumeTrend { fast, slow } => self.pairs(
                layout.volume_mean + fast,
                layout.volume_mean + slow,
                &mut put,
                |f, s| if s == 0.0 { 0.0 } else { f / s - 1.0 },
            ),
            Op::Sma(i) => self.each(layout.close_mean + i, &mut put, |m| m),
            Op::PriceSmaRatio(i) => {
                self.pairs(CLOSE, layout.close_mean + i, &mut put, |c, m| c / m)
            }
            Op::Rsi(i) => self.each(layout.rsi + i, &mut put, |r| r),
            Op::Macd(i, output) => match output {
                MacdOutput::Macd => self.each(layout.macd + i, &mut put, |m| m),
                MacdOutput::Signal => self.each(layout.macd_signal + i, &mut put, |s| s),
                MacdOutput::Diff => {
                    self.pairs(layout.macd + i, layout.macd_signal + i, &mut put, |m, s| {
                        m - s
                    })
                }
            },
            Op::Bollinger {
                band,
                mean,
                k: width,
                output,
            } => {
                let (mavg, std) = (layout.close_mean + mean, layout.band_std + band);
                // One loop per output: a match inside the loop would be taken per bar.
                match output {
                    BollingerOutput::High => {
                        self.pairs(mavg, std, &mut put, |m, s| bollinger_bands(m, s, width).0)
                    }
                    BollingerOutput::Low => {
                        self.pairs(mavg, std, &mut put, |m, s| bollinger_bands(m, s, width).1)
                    }
                    BollingerOutput::Width => self.pairs(mavg, std, &mut put, |m, s| {
                        let (high, low) = bollinger_bands(m, s, width);
                        (high - low) / m * 100.0
                    }),
                    BollingerOutput::Position => {
                        self.triples([mavg, std, CLOSE], &mut put, |m, s, close| {
                            let (high, low) = bollinger_bands(m, s, width);
                            select(high == low, 0.5, (close - low) / (high - low))
                        })
                    }
                }
            }
            Op::Volatility(i, class) => {
                let class = class.code();
                // `r·0` is 0, or NaN while the regime is undefined: no branch.
                self.each(layout.regime + i, &mut put, |r| flag(r == class) + r * 0.0);
            }
            Op::MtfReturn(t) => self.each(tfs[t].ret, &mut put, |x| x),
            Op::MtfRsi(t, i) => self.each(tfs[t].rsi + i, &mut put, |x| x),
            Op::MtfAtrRatio(t, i) => self.each(tfs[t].atr + i, &mut put, |x| x),
            Op::MtfTrend(t, i) => self.each(tfs[t].trend + i, &mut put, |x| x),
            Op::MtfRangePosition(t, i) => self.each(tfs[t].range + i, &mut put, |x| x),
            Op::MtfVolumeRatio(t, i) => self.each(tfs[t].volume + i, &mut put, |x| x),
            Op::MtfTrendAlignment(trends) => {
                let [a, b, c] = trends.map(|(t, i)| self.slot(tfs[t].trend + i));
                for k in 0..self.len {
                    put(
                        k,
                        per_lane(|l| {
                            [a[k][l], b[k][l], c[k][l]]
                                .into_iter()
                                .map(sign)
                                .sum::<f64>()
                                / 3.0
                        }),
                    );
                }
            }
        }
    }
}

/// All indicator states of `L` series that share every open time.
#[derive(Debug, Clone)]
struct State<const L: usize> {
    bars: usize,
    last_ts: Option<i64>,
    calendar: CalendarHour,
    close_means: RollingMeans<L>,
    volume_means: RollingMeans<L>,
    rsi: Vec<Rsi<L>>,
    atr: Vec<Atr<L>>,
    macd: Vec<Macd<L>>,
    regimes: Vec<VolatilityRegime<L>>,
    timeframes: Vec<HigherTimeframe<L>>,
}

impl<const L: usize> State<L> {
    fn new(plan: &Plan) -> Self {
        Self {
            bars: 0,
            last_ts: None,
            calendar: CalendarHour::default(),
            close_means: RollingMeans::new(&plan.close_windows),
            volume_means: RollingMeans::new(&plan.volume_windows),
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

    /// Whether `bar` enters the state: a later open time and usable in every lane.
    #[inline(always)]
    fn accepts(&self, bar: &LaneBar<L>) -> bool {
        bar.usable && self.last_ts.is_none_or(|last| bar.ts > last)
    }

    /// Consumes one usable bar and records its quantities as the block's next bar.
    #[inline(always)]
    fn update(&mut self, plan: &Plan, bar: &LaneBar<L>, block: &mut Block<L>) {
        let layout = &plan.layout;
        let (stride, k) = (block.stride, block.len);
        assert!(k < stride, "a full block is flushed before the next bar");
        assert_eq!(
            block.values.len(),
            layout.slots * stride,
            "the plan's block"
        );
        let values = &mut block.values;
        let mut put = |slot: usize, v: Lanes<L>| values[slot * stride + k] = v;
        put(HIGH, bar.high);
        put(LOW, bar.low);
        put(CLOSE, bar.close);
        put(VOLUME, bar.volume);
        let (hour, weekday) = self.calendar.of(bar.ts);
        put(HOUR, [hour; L]);
        put(WEEKDAY, [weekday; L]);
        self.close_means.push(bar.close);
        for i in 0..self.close_means.len() {
            put(layout.close_mean + i, self.close_means.mean(i));
        }
        self.volume_means.push(bar.volume);
        for i in 0..self.volume_means.len() {
            put(layout.volume_mean + i, self.volume_means.mean(i));
        }
        for (i, &mean) in plan.bands.iter().enumerate() {
            put(layout.band_std + i, self.close_means.population_std(mean));
        }
        for (i, rsi) in self.rsi.iter_mut().enumerate() {
            rsi.update(bar.close);
            put(layout.rsi + i, rsi.value());
        }
        for (i, atr) in self.atr.iter_mut().enumerate() {
            atr.update(bar.high, bar.low, bar.close);
            put(layout.atr + i, atr.value());
            put(layout.atr_ready + i, [flag(atr.is_ready()); L]);
        }
        for (i, macd) in self.macd.iter_mut().enumerate() {
            macd.update(bar.close);
            put(layout.macd + i, macd.macd());
            put(layout.macd_signal + i, macd.signal());
        }
        for (i, regime) in self.regimes.iter_mut().enumerate() {
            regime.update(bar.close);
            put(layout.regime + i, regime.regime());
        }
        let mut warm = true;
        for (tf, slots) in self.timeframes.iter_mut().zip(&plan.timeframe_slots) {
            tf.on_base_bar(bar);
            put(slots.ret, tf.ret);
            for (offset, outputs) in [
                (slots.rsi, &tf.rsi_out),
                (slots.atr, &tf.atr_out),
                (slots.trend, &tf.trend_out),
                (slots.range, &tf.range_out),
                (slots.volume, &tf.volume_out),
            ] {
                for (i, &v) in outputs.iter().enumerate() {
                    put(offset + i, v);
                }
            }
            warm &= tf.completed > tf.warmup;
        }
        self.bars += 1;
        self.last_ts = Some(bar.ts);
        put(layout.warm, [flag(warm && self.bars > plan.base_warmup); L]);
        block.len += 1;
    }
}

/// Bar-lanes per block in batch computation (64 bars of one series, 16 bars of
/// four): the block's slots and its output rows stay in the L1 cache while each
/// column is computed in one loop and stored.
const BATCH_BLOCK: usize = 64;

/// One series' batch output: `rows × columns` values, row-major, and the ready flags.
pub(crate) struct Rows<T> {
    pub values: Vec<T>,
    pub ready: Vec<bool>,
}

/// [`Rows`] being written by [`batch_rows`]: the values are streamed past the cache.
struct LaneRows<T: FeatureValue> {
    values: StreamingVec<T>,
    ready: Vec<bool>,
}

/// Batch form of [`StreamingComputer::update`] for `L` series that share every open
/// time: consumes `bars` (`rows` of them, lane `l` = series `l`) and returns each
/// series' values and ready flags exactly as `update` + `values` would give them,
/// computed column by column over blocks of consecutive usable bars straight into
/// the output.
///
/// With one lane, a bar that is not [`LaneBar::usable`] is skipped (the streaming
/// rule). With more, skipping it in every lane would change the other lanes'
/// values: the result is `None` at the first such bar, and the caller computes the
/// series one by one.
#[inline(always)]
pub(crate) fn batch_rows<T: FeatureValue, const L: usize>(
    set: &FeatureSet,
    base: Interval,
    rows: usize,
    bars: impl Iterator<Item = LaneBar<L>>,
) -> Result<Option<[Rows<T>; L]>, FeatureError> {
    let plan = Plan::compile(set, base)?;
    let mut state = State::<L>::new(&plan);
    let columns = plan.ops.len();
    // The values are appended row after row (by `flush` and for skipped bars), so the
    // matrix is written once, not zeroed first.
    let mut out = std::array::from_fn(|_| LaneRows {
        // On huge pages: W1's output is 1.6 GB.
        values: StreamingVec::with_huge_pages(rows * columns),
        ready: vec![false; rows],
    });
    let block_bars = BATCH_BLOCK / L;
    let mut block = Block::new(&plan.layout, block_bars);
    let mut staging = Staging::new(block_bars, columns);
    // The output row of the block's first bar.
    let mut first_row = 0;
    let mut next_row = 0;
    #[expect(
        clippy::explicit_counter_loop,
        reason = "`Enumerate::next` is not inlined into this large function; a call per \
                  bar costs as much as reading the bar"
    )]
    for bar in bars {
        let row = next_row;
        next_row += 1;
        if !state.accepts(&bar) {
            if L > 1 && !bar.usable {
                return Ok(None);
            }
            flush(&plan, &mut block, &mut staging, first_row, &mut out);
            for lane in &mut out {
                debug_assert_eq!(lane.values.len(), row * columns);
                lane.values.extend_repeated(columns, T::NAN);
            }
            continue;
        }
        if block.len == 0 {
            first_row = row;
        }
        state.update(&plan, &bar, &mut block);
        if block.len == block_bars {
            flush(&plan, &mut block, &mut staging, first_row, &mut out);
        }
    }
    flush(&plan, &mut block, &mut staging, first_row, &mut out);
    for lane in &mut out {
        // Rows after the last bar (fewer bars than `rows`): zeros, not ready.
        lane.values.resize(rows * columns, T::ZERO);
    }
    Ok(Some(out.map(|lane| Rows {
        values: lane.values.into_vec(),
        ready: lane.ready,
    })))
}

/// Columns that [`flush`] computes before it stores them: each lane's values are
/// converted together, and each row's values of the group are written side by side.
const STORE_GROUP: usize = 4;

/// One bar of a block in [`flush`]: the values of [`STORE_GROUP`] columns, converted
/// (all lanes at once) but not yet stored, and per lane `Σ value·0` over the bar's
/// converted values so far: zero while all of them are finite, NaN from the first
/// that is not (`±∞·0` is NaN), which costs one multiply-add per value.
#[derive(Clone, Copy)]
struct Staged<T, const L: usize> {
    values: [[T; L]; STORE_GROUP],
    nonfinite: [T; L],
}

impl<T, const L: usize> Staged<T, L> {
    fn values(&self) -> &[[T; L]; STORE_GROUP] {
        &self.values
    }
}

/// [`flush`]'s buffers for the bars of a block, allocated once per computation.
struct Staging<T, const L: usize> {
    bars: Vec<Staged<T, L>>,
    /// Each lane's rows of the block, lane after lane (`rows.len() / L` values each).
    rows: Vec<T>,
}

impl<T: FeatureValue, const L: usize> Staging<T, L> {
    fn new(block_bars: usize, columns: usize) -> Self {
        let bar = Staged {
            values: [[T::ZERO; L]; STORE_GROUP],
            nonfinite: [T::ZERO; L],
        };
        Self {
            bars: vec![bar; block_bars],
            rows: vec![T::ZERO; L * block_bars * columns],
        }
    }
}

/// Appends the block's rows to every lane's output (whose rows before `first_row` are
/// written), and empties the block. `staging` has room for the block's bars.
///
/// The rows are assembled in `staging.rows` (in the L1 cache) and then streamed to the
/// outputs whole ([`StreamingVec::extend_streaming`]). Stored into the outputs
/// directly, value group by value group, each store to a line not yet in the cache
/// would wait for that line to be read from memory first.
#[inline(always)]
fn flush<T: FeatureValue, const L: usize>(
    plan: &Plan,
    block: &mut Block<L>,
    staging: &mut Staging<T, L>,
    first_row: usize,
    out: &mut [LaneRows<T>; L],
) {
    let bars = block.len;
    if bars == 0 {
        return;
    }
    let columns = plan.ops.len();
    let staged = &mut staging.bars[..bars];
    let block_rows = &mut staging.rows;
    for bar in staged.iter_mut() {
        bar.nonfinite = [T::ZERO; L];
    }
    let lane_len = bars * columns;
    let lane_stride = block_rows.len() / L;
    assert!(
        lane_len <= lane_stride,
        "the staging rows hold every bar of the block"
    );
    // The columns of a group are each computed in one contiguous loop over the
    // block's bars, then stored row by row.
    for (group, ops) in plan.ops.chunks(STORE_GROUP).enumerate() {
        for (c, op) in ops.iter().enumerate() {
            block.column(plan, op, |k, v| {
                let bar = &mut staged[k];
                let lanes = bar.values[c].iter_mut().zip(&mut bar.nonfinite).zip(v);
                for ((value, nonfinite), v) in lanes {
                    *value = T::from_f64(v);
                    // A value that is finite in f64 can still overflow f32.
                    *nonfinite = *nonfinite + *value * T::ZERO;
                }
            });
        }
        let first_column = group * STORE_GROUP;
        let (values, rows) = (Staged::values, &mut block_rows[..]);
        // One loop per width, so that the width is a constant in it.
        match ops.len() {
            4 => {
                write_across::<_, T, L, 4>(staged, values, rows, lane_stride, columns, first_column)
            }
            3 => {
                write_across::<_, T, L, 3>(staged, values, rows, lane_stride, columns, first_column)
            }
            2 => {
                write_across::<_, T, L, 2>(staged, values, rows, lane_stride, columns, first_column)
            }
            _ => {
                write_across::<_, T, L, 1>(staged, values, rows, lane_stride, columns, first_column)
            }
        }
    }
    let warm = block.slot(plan.layout.warm);
    for (lane, lane_rows) in out.iter_mut().zip(block_rows.chunks_exact(lane_stride)) {
        debug_assert_eq!(lane.values.len(), first_row * columns);
        // The groups cover every column: every value of the block's rows was written.
        lane.values.extend_streaming(&lane_rows[..lane_len]);
    }
    for (k, (bar, warm)) in staged.iter().zip(warm).enumerate() {
        for (l, lane) in out.iter_mut().enumerate() {
            lane.ready[first_row + k] = warm[l] == 1.0 && bar.nonfinite[l].is_finite();
        }
    }
    block.len = 0;
}

/// Incremental feature computer for one symbol: feed bars in time order with
/// [`StreamingComputer::update`], read the row with [`StreamingComputer::values`].
/// Allocates only in `new`.
#[derive(Debug, Clone)]
pub struct StreamingComputer {
    plan: Plan,
    state: State<1>,
    /// The current bar's quantities (a block of one bar).
    block: Block<1>,
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
            block: Block::new(&plan.layout, 1),
            plan,
            state,
            ready: false,
        })
    }

    /// Consumes one bar and returns whether its row is ready (see the module docs for
    /// unusable bars and readiness).
    pub fn update(&mut self, bar: &Bar) -> bool {
        let bar = lane_bar(bar);
        if !self.state.accepts(&bar) {
            self.row.iter_mut().for_each(|v| *v = f64::NAN);
            self.ready = false;
            return false;
        }
        self.block.len = 0;
        self.state.update(&self.plan, &bar, &mut self.block);
        let mut finite = true;
        for (out, op) in self.row.iter_mut().zip(&self.plan.ops) {
            self.block.column(&self.plan, op, |_, [v]| {
                finite &= v.is_finite();
                *out = v;
            });
        }
        self.ready = finite && self.block.slot(self.plan.layout.warm)[0] == [1.0];
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `(hour, weekday)` computed afresh for every open time (in i128: no overflow).
    fn hour_and_weekday(ts: i64) -> (f64, f64) {
        let (ts, day_ms) = (i128::from(ts), i128::from(DAY_MS));
        let day = ts.div_euclid(day_ms);
        (
            ((ts - day * day_ms) / i128::from(HOUR_MS)) as f64,
            (day + 3).rem_euclid(7) as f64,
        )
    }

    #[test]
    fn the_calendar_hour_is_recomputed_whenever_a_bar_leaves_the_hour() {
        // 2024-01-01 was a Monday; 2024-01-07 13:59:59.999 a Sunday afternoon.
        let monday = 1_704_067_200_000;
        let mut calendar = CalendarHour::default();
        assert_eq!(calendar.of(monday), (0.0, 0.0));
        assert_eq!(
            calendar.of(monday + 6 * DAY_MS + 14 * HOUR_MS - 1),
            (13.0, 6.0)
        );
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut ts = -3 * DAY_MS - 1;
        for _ in 0..100_000 {
            ts = match rng.gen_range(0..100) {
                // Back in time, or anywhere: the cache must not assume order.
                0 => ts - rng.gen_range(0..2 * DAY_MS),
                1 => rng.gen_range(-(1i64 << 50)..1 << 50),
                _ => ts + rng.gen_range(0..20 * 60_000),
            };
            assert_eq!(calendar.of(ts), hour_and_weekday(ts), "ts {ts}");
        }
        for ts in [
            i64::MIN,
            i64::MAX,
            i64::MIN + 1,
            -1,
            0,
            HOUR_MS - 1,
            HOUR_MS,
            i64::MIN,
        ] {
            assert_eq!(calendar.of(ts), hour_and_weekday(ts), "ts {ts}");
        }
    }
}
