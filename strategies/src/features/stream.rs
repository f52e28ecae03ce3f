//! The engine that drives every feature family: one state machine per distinct
//! indicator, fed one bar at a time, and the columns computed from the per-bar
//! quantities. Batch computation drives this same engine, so both agree bit for bit
//! by construction (and a property test checks it anyway). What a feature computes
//! is in its family's file (`indicators/`); this file knows no family.
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
//!
//! **Higher timeframes.** Base bars are aggregated causally into the bars of each
//! timeframe a feature reads (see `MtfReturn`); a family's state machine on such a
//! timeframe is fed each bar when it completes, and its outputs hold until the next.

use gauntlet_datasets::{Bar, Interval};
use gauntlet_kernels::lanes::{write_across, LaneBar};
use gauntlet_kernels::memory::StreamingVec;

use super::batch::FeatureValue;
use super::error::FeatureError;
use super::indicators::{AnyState, FeatureKind, Op};
use super::primitives::{flag, per_lane, Lanes, RollingMeans};
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

/// The index of one per-bar quantity in a [`Block`].
pub(crate) type Slot = usize;

/// The first slots: the bar itself and its UTC calendar fields (the hour of day,
/// and the weekday with Monday = 0).
pub(crate) const HIGH: Slot = 0;
pub(crate) const LOW: Slot = 1;
pub(crate) const CLOSE: Slot = 2;
pub(crate) const VOLUME: Slot = 3;
pub(crate) const HOUR: Slot = 4;
pub(crate) const WEEKDAY: Slot = 5;
const BAR_SLOTS: usize = 6;

/// The slot of `key` in `list`, or `n` new slots for it.
fn intern<K: PartialEq>(list: &mut Vec<(K, Slot)>, key: K, slots: &mut usize, n: usize) -> Slot {
    if let Some(&(_, slot)) = list.iter().find(|(k, _)| *k == key) {
        return slot;
    }
    let slot = *slots;
    *slots += n;
    list.push((key, slot));
    slot
}

/// The state machines of one higher timeframe.
#[derive(Debug, Clone)]
struct TimeframePlan {
    timeframe: Interval,
    /// Completed bars before every feature on the timeframe is past its warm-up.
    warmup: usize,
    /// Each machine's feature and first output slot.
    machines: Vec<(FeatureKind, Slot)>,
    /// The slot of every machine output, machine after machine.
    held_slots: Vec<Slot>,
}

/// The per-bar quantities of a set being compiled: each feature's
/// `Family::compile` asks for those its column reads and gets their slots. Equal
/// requests share one slot, and one state: a window of the close is kept once however
/// many features read it, and features whose state-machine parameters are equal
/// share one machine.
#[derive(Debug, Clone)]
pub(crate) struct Planner {
    slots: usize,
    /// The rolling means of the close: window, slot.
    close_means: Vec<(usize, Slot)>,
    /// The rolling means of the volume: window, slot.
    volume_means: Vec<(usize, Slot)>,
    /// Population stds of close windows: index into `close_means`, slot.
    close_stds: Vec<(usize, Slot)>,
    /// The state machines on the base bars: feature, first output slot.
    machines: Vec<(FeatureKind, Slot)>,
    timeframes: Vec<TimeframePlan>,
}

impl Planner {
    fn new() -> Self {
        Self {
            slots: BAR_SLOTS,
            close_means: vec![],
            volume_means: vec![],
            close_stds: vec![],
            machines: vec![],
            timeframes: vec![],
        }
    }

    /// `mean(close over the last window bars)`, NaN until `window` bars are seen.
    pub(crate) fn close_mean(&mut self, window: usize) -> Slot {
        intern(&mut self.close_means, window, &mut self.slots, 1)
    }

    /// The population standard deviation (ddof = 0, exact two-pass) of the last
    /// `window` closes, NaN until `window` bars are seen.
    pub(crate) fn close_std(&mut self, window: usize) -> Slot {
        self.close_mean(window);
        let mean = self
            .close_means
            .iter()
            .position(|&(w, _)| w == window)
            .expect("the window's mean was just requested");
        intern(&mut self.close_stds, mean, &mut self.slots, 1)
    }

    /// `mean(volume over the last window bars)`, NaN until `window` bars are seen.
    pub(crate) fn volume_mean(&mut self, window: usize) -> Slot {
        intern(&mut self.volume_means, window, &mut self.slots, 1)
    }

    /// The first of the outputs of `feature`'s state machine (its family's
    /// `Family::State`), run on the bars of the feature's timeframe.
    pub(crate) fn machine(&mut self, feature: FeatureKind) -> Slot {
        let outputs = feature.outputs();
        let timeframe = match feature.timeframes()[..] {
            [] => None,
            [timeframe] => Some(self.timeframe(timeframe)),
            _ => panic!("a state machine runs on one timeframe: {feature:?}"),
        };
        let machines = match timeframe {
            None => &mut self.machines,
            Some(t) => &mut self.timeframes[t].machines,
        };
        intern(machines, feature, &mut self.slots, outputs)
    }

    /// The index of `timeframe`'s plan.
    fn timeframe(&mut self, timeframe: Interval) -> usize {
        match self
            .timeframes
            .iter()
            .position(|p| p.timeframe == timeframe)
        {
            Some(t) => t,
            None => {
                self.timeframes.push(TimeframePlan {
                    timeframe,
                    warmup: 0,
                    machines: vec![],
                    held_slots: vec![],
                });
                self.timeframes.len() - 1
            }
        }
    }
}

/// The compiled set: a column operation per feature and the quantities they read.
#[derive(Debug, Clone)]
struct Plan {
    ops: Vec<Op>,
    quantities: Planner,
    base_warmup: usize,
    /// 1.0 when every feature is past its warm-up, else 0.0.
    warm: Slot,
    slots: usize,
}

impl Plan {
    fn compile(set: &FeatureSet, base: Interval) -> Result<Self, FeatureError> {
        let mut quantities = Planner::new();
        let mut ops = Vec::with_capacity(set.len());
        let mut base_warmup = 0;
        for def in set.features() {
            let kind = def.kind();
            let timeframes = kind.timeframes();
            for &tf in &timeframes {
                if tf.millis() < base.millis() {
                    return Err(FeatureError::TimeframeBelowBase {
                        feature: def.name().to_string(),
                        timeframe: tf,
                        base,
                    });
                }
            }
            if timeframes.is_empty() {
                base_warmup = base_warmup.max(kind.warmup_bars());
            }
            for tf in timeframes {
                let t = quantities.timeframe(tf);
                let warmup = &mut quantities.timeframes[t].warmup;
                *warmup = (*warmup).max(kind.warmup_bars());
            }
            ops.push(kind.compile(&mut quantities));
        }
        for tf in &mut quantities.timeframes {
            tf.held_slots = tf
                .machines
                .iter()
                .flat_map(|(kind, first)| *first..first + kind.outputs())
                .collect();
        }
        let warm = quantities.slots;
        Ok(Plan {
            ops,
            slots: warm + 1,
            quantities,
            base_warmup,
            warm,
        })
    }
}

/// Causal aggregation of base bars into one higher timeframe, with that timeframe's
/// state machines. Their outputs are refreshed only when a bucket completes.
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
    /// Each machine and where its outputs start in `held`.
    machines: Vec<(AnyState<L>, usize)>,
    /// The outputs of the last completed bar, in the order of the plan's `held_slots`.
    held: Vec<Lanes<L>>,
}

impl<const L: usize> HigherTimeframe<L> {
    fn new(plan: &TimeframePlan) -> Self {
        let mut at = 0;
        let machines = plan
            .machines
            .iter()
            .map(|(kind, _)| {
                let first = at;
                at += kind.outputs();
                (kind.state(), first)
            })
            .collect();
        Self {
            timeframe: plan.timeframe,
            warmup: plan.warmup,
            bucket: None,
            open: [f64::NAN; L],
            high: [f64::NAN; L],
            low: [f64::NAN; L],
            close: [f64::NAN; L],
            volume: [0.0; L],
            completed: 0,
            machines,
            held: vec![[f64::NAN; L]; at],
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
            Some(current) => self.complete(current),
            None => {}
        }
        self.bucket = Some(bucket);
        self.open = bar.open;
        self.high = bar.high;
        self.low = bar.low;
        self.close = bar.close;
        self.volume = bar.volume;
    }

    /// The bucket opened at `bucket` is complete (a base bar of a later bucket
    /// arrived): its bar goes through every machine.
    fn complete(&mut self, bucket: i64) {
        self.completed += 1;
        let bar = LaneBar {
            ts: bucket,
            usable: true,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: self.volume,
        };
        let held = &mut self.held;
        for (machine, first) in &mut self.machines {
            machine.step(&bar, |i, v| held[*first + i] = v);
        }
    }
}

/// Per-bar quantities of up to `stride` consecutive usable bars, slot-major
/// (`values[slot · stride + k]` for the block's k-th bar, one value per lane).
/// Streaming uses blocks of one bar, batch longer ones; both compute every column by
/// [`Op::column`], so they agree bit for bit.
#[derive(Debug, Clone)]
pub(crate) struct Block<const L: usize> {
    stride: usize,
    len: usize,
    values: Vec<Lanes<L>>,
}

impl<const L: usize> Block<L> {
    fn new(slots: usize, stride: usize) -> Self {
        Self {
            stride,
            len: 0,
            values: vec![[f64::NAN; L]; slots * stride],
        }
    }

    /// The number of bars in the block.
    #[inline(always)]
    pub(crate) fn bars(&self) -> usize {
        self.len
    }

    /// The filled part of one slot.
    #[inline(always)]
    pub(crate) fn slot(&self, slot: Slot) -> &[Lanes<L>] {
        &self.values[slot * self.stride..slot * self.stride + self.len]
    }

    /// `put(k, f(x_k))` over one slot, lane by lane.
    #[inline(always)]
    pub(crate) fn each(
        &self,
        slot: Slot,
        put: &mut impl FnMut(usize, Lanes<L>),
        f: impl Fn(f64) -> f64,
    ) {
        for (k, x) in self.slot(slot).iter().enumerate() {
            put(k, per_lane(|l| f(x[l])));
        }
    }

    /// `put(k, f(x_k, y_k))` over two slots, lane by lane.
    #[inline(always)]
    pub(crate) fn pairs(
        &self,
        a: Slot,
        b: Slot,
        put: &mut impl FnMut(usize, Lanes<L>),
        f: impl Fn(f64, f64) -> f64,
    ) {
        for (k, (x, y)) in self.slot(a).iter().zip(self.slot(b)).enumerate() {
            put(k, per_lane(|l| f(x[l], y[l])));
        }
    }

    /// `put(k, f(x_k, y_k, z_k))` over three slots, lane by lane.
    #[inline(always)]
    pub(crate) fn triples(
        &self,
        [a, b, c]: [Slot; 3],
        put: &mut impl FnMut(usize, Lanes<L>),
        f: impl Fn(f64, f64, f64) -> f64,
    ) {
        let (x, y, z) = (self.slot(a), self.slot(b), self.slot(c));
        for k in 0..self.len {
            put(k, per_lane(|l| f(x[k][l], y[k][l], z[k][l])));
        }
    }
}

/// All state machines of `L` series that share every open time.
#[derive(Debug, Clone)]
struct State<const L: usize> {
    bars: usize,
    last_ts: Option<i64>,
    calendar: CalendarHour,
    close_means: RollingMeans<L>,
    volume_means: RollingMeans<L>,
    /// The base-bar machines, in the order of the plan's.
    machines: Vec<AnyState<L>>,
    timeframes: Vec<HigherTimeframe<L>>,
}

impl<const L: usize> State<L> {
    fn new(plan: &Plan) -> Self {
        let q = &plan.quantities;
        let windows = |means: &[(usize, Slot)]| means.iter().map(|&(w, _)| w).collect::<Vec<_>>();
        Self {
            bars: 0,
            last_ts: None,
            calendar: CalendarHour::default(),
            close_means: RollingMeans::new(&windows(&q.close_means)),
            volume_means: RollingMeans::new(&windows(&q.volume_means)),
            machines: q.machines.iter().map(|(kind, _)| kind.state()).collect(),
            timeframes: q.timeframes.iter().map(HigherTimeframe::new).collect(),
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
        let q = &plan.quantities;
        let (stride, k) = (block.stride, block.len);
        assert!(k < stride, "a full block is flushed before the next bar");
        assert_eq!(block.values.len(), plan.slots * stride, "the plan's block");
        let values = &mut block.values;
        let mut put = |slot: Slot, v: Lanes<L>| values[slot * stride + k] = v;
        put(HIGH, bar.high);
        put(LOW, bar.low);
        put(CLOSE, bar.close);
        put(VOLUME, bar.volume);
        let (hour, weekday) = self.calendar.of(bar.ts);
        put(HOUR, [hour; L]);
        put(WEEKDAY, [weekday; L]);
        self.close_means.push(bar.close);
        for (i, &(_, slot)) in q.close_means.iter().enumerate() {
            put(slot, self.close_means.mean(i));
        }
        self.volume_means.push(bar.volume);
        for (i, &(_, slot)) in q.volume_means.iter().enumerate() {
            put(slot, self.volume_means.mean(i));
        }
        for &(mean, slot) in &q.close_stds {
            put(slot, self.close_means.population_std(mean));
        }
        for (machine, &(_, first)) in self.machines.iter_mut().zip(&q.machines) {
            machine.step(bar, |i, v| put(first + i, v));
        }
        let mut warm = true;
        for (tf, tf_plan) in self.timeframes.iter_mut().zip(&q.timeframes) {
            tf.on_base_bar(bar);
            for (&slot, &v) in tf_plan.held_slots.iter().zip(&tf.held) {
                put(slot, v);
            }
            warm &= tf.completed > tf.warmup;
        }
        self.bars += 1;
        self.last_ts = Some(bar.ts);
        put(plan.warm, [flag(warm && self.bars > plan.base_warmup); L]);
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
    let mut block = Block::new(plan.slots, block_bars);
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
            op.column(block, |k, v| {
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
    let warm = block.slot(plan.warm);
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
            block: Block::new(plan.slots, 1),
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
            op.column(&self.block, |_, [v]| {
                finite &= v.is_finite();
                *out = v;
            });
        }
        self.ready = finite && self.block.slot(self.plan.warm)[0] == [1.0];
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
