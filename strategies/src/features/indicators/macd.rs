//! Moving-average convergence/divergence: `macd`, `macd_signal`, `macd_diff`.

use gauntlet_kernels::lanes::LaneBar;

use crate::features::indicators::{Family, Machine};
use crate::features::params::{int, window_named, Builder, ParamSpec, ParamValue, Params};
use crate::features::primitives::{per_lane, Ema, Lanes};
use crate::features::stream::{Block, Planner, Slot};

/// `ta` MACD(fast, slow, signal), all three outputs from one state: with span-EMAs
/// (pandas `ewm(span, adjust=False)`, `α = 2/(span + 1)`),
/// `macd = EMA_fast − EMA_slow` of close (both seeded with the first close), NaN for
/// the first `slow − 1` rows; `macd_signal = EMA_signal` of macd seeded with its
/// first valid value (row `slow − 1`), NaN for the first `signal − 1` macd values;
/// `macd_diff = macd − macd_signal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Macd {
    pub output: MacdOutput,
    pub fast: usize,
    pub slow: usize,
    pub signal: usize,
}

/// Which MACD output a feature is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacdOutput {
    /// `macd`. Warm-up: slow − 1.
    Macd,
    /// `macd_signal`. Warm-up: slow − 1 + signal − 1.
    Signal,
    /// `macd_diff`. Warm-up: slow − 1 + signal − 1.
    Diff,
}

const PARAMS: &[ParamSpec] = &[
    window_named("fast", 12),
    window_named("slow", 26),
    window_named("signal", 9),
];

impl Macd {
    fn build(output: MacdOutput, p: &Params<'_>) -> Result<Self, String> {
        let (fast, slow) = p.fast_slow()?;
        Ok(Macd {
            output,
            fast,
            slow,
            signal: p.window("signal")?,
        })
    }
}

impl Family for Macd {
    const FAMILIES: &'static [Builder<Self>] = &[
        Builder::new("macd", PARAMS, None, |p| Macd::build(MacdOutput::Macd, p)),
        Builder::new("macd_signal", PARAMS, None, |p| {
            Macd::build(MacdOutput::Signal, p)
        }),
        Builder::new("macd_diff", PARAMS, None, |p| {
            Macd::build(MacdOutput::Diff, p)
        }),
    ];

    fn family(&self) -> &'static str {
        match self.output {
            MacdOutput::Macd => "macd",
            MacdOutput::Signal => "macd_signal",
            MacdOutput::Diff => "macd_diff",
        }
    }

    fn params(&self) -> Vec<(&'static str, ParamValue)> {
        vec![
            ("fast", int(self.fast)),
            ("signal", int(self.signal)),
            ("slow", int(self.slow)),
        ]
    }

    fn warmup_bars(&self) -> usize {
        match self.output {
            MacdOutput::Macd => self.slow - 1,
            MacdOutput::Signal | MacdOutput::Diff => self.slow - 1 + self.signal - 1,
        }
    }

    type State<const L: usize> = MacdState<L>;

    fn state<const L: usize>(&self) -> MacdState<L> {
        MacdState::new(self.fast, self.slow, self.signal)
    }

    /// The output and the first of the state's slots (macd, then signal).
    type Column = (MacdOutput, Slot);

    fn compile(&self, plan: &mut Planner) -> (MacdOutput, Slot) {
        // The three outputs of equal parameters share one state.
        let state = Macd {
            output: MacdOutput::Macd,
            ..*self
        };
        (self.output, plan.machine(state.into()))
    }

    #[inline(always)]
    fn column<const L: usize>(
        &(output, macd): &(MacdOutput, Slot),
        block: &Block<L>,
        mut put: impl FnMut(usize, Lanes<L>),
    ) {
        let signal = macd + 1;
        match output {
            MacdOutput::Macd => block.each(macd, &mut put, |m| m),
            MacdOutput::Signal => block.each(signal, &mut put, |s| s),
            MacdOutput::Diff => block.pairs(macd, signal, &mut put, |m, s| m - s),
        }
    }
}

/// The state of `ta` MACD (formula at [`Macd`]).
#[derive(Debug, Clone)]
pub(crate) struct MacdState<const L: usize> {
    fast: Ema<L>,
    slow: Ema<L>,
    signal: Ema<L>,
    slow_window: usize,
    signal_window: usize,
    macd: Lanes<L>,
}

impl<const L: usize> MacdState<L> {
    pub(crate) fn new(fast: usize, slow: usize, signal: usize) -> Self {
        Self {
            fast: Ema::with_span(fast),
            slow: Ema::with_span(slow),
            signal: Ema::with_span(signal),
            slow_window: slow,
            signal_window: signal,
            macd: [f64::NAN; L],
        }
    }

    #[inline(always)]
    pub(crate) fn update(&mut self, close: Lanes<L>) {
        self.fast.update(close);
        self.slow.update(close);
        if self.slow.count() >= self.slow_window {
            let (fast, slow) = (self.fast.value(), self.slow.value());
            self.macd = per_lane(|l| fast[l] - slow[l]);
            self.signal.update(self.macd);
        }
    }

    pub(crate) fn macd(&self) -> Lanes<L> {
        self.macd
    }

    pub(crate) fn signal(&self) -> Lanes<L> {
        if self.signal.count() >= self.signal_window {
            self.signal.value()
        } else {
            [f64::NAN; L]
        }
    }
}

impl<const L: usize> Machine<L> for MacdState<L> {
    const OUTPUTS: usize = 2;

    #[inline(always)]
    fn on_bar(&mut self, bar: &LaneBar<L>) {
        self.update(bar.close);
    }

    #[inline(always)]
    fn outputs(&self, mut put: impl FnMut(usize, Lanes<L>)) {
        put(0, self.macd());
        put(1, self.signal());
    }
}
