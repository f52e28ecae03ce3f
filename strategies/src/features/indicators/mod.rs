//! Every feature family, one file each, and the registry that lists them.
//!
//! A family file holds everything about its features: the parameter type (whose doc
//! comment has the formula), the custom-set families with their parameters and
//! defaults, name, warm-up, its state machine (if it has one) and how its columns
//! are computed from a [`Block`]. It implements [`Family`]; `registry!` turns the
//! list of families into [`FeatureKind`] and the engine's enums, so each bar's work
//! is dispatched by a `match`, never through a vtable.
//!
//! **Adding a feature**: a file here implementing [`Family`] (copy `rsi.rs`; a
//! single-value multi-timeframe feature implements [`HigherTimeframe`] instead, copy
//! `mtf_rsi.rs`) and one line in the `registry!` call below; add it to a built-in set
//! in `catalog.rs` only if that set changes.
//!
//! How the engine (`stream.rs`) drives a family: when a set is compiled, each
//! feature's [`Family::compile`] asks the [`Planner`] for the per-bar quantities it
//! reads — bar fields, shared rolling means, or its own state machine's outputs —
//! each a slot of the [`Block`]; features with equal state-machine parameters share
//! one machine. Per bar, the engine updates every machine ([`Machine::on_bar`]) and
//! stores its outputs; per block of bars, [`Family::column`] turns slots into the
//! feature's column.

mod atr;
mod bollinger;
mod calendar;
mod macd;
mod mtf_atr_ratio;
mod mtf_range_position;
mod mtf_return;
mod mtf_rsi;
mod mtf_trend;
mod mtf_trend_alignment;
mod mtf_volume_ratio;
mod rsi;
mod session;
mod sma;
mod spread;
mod volatility;
mod volume;

use std::fmt;

use gauntlet_datasets::Interval;
use gauntlet_kernels::lanes::LaneBar;

pub use atr::Atr;
pub use bollinger::{Bollinger, BollingerOutput};
pub use calendar::Calendar;
pub use macd::{Macd, MacdOutput};
pub use mtf_atr_ratio::MtfAtrRatio;
pub use mtf_range_position::MtfRangePosition;
pub use mtf_return::MtfReturn;
pub use mtf_rsi::MtfRsi;
pub use mtf_trend::MtfTrend;
pub use mtf_trend_alignment::{MtfTrendAlignment, MTF_TIMEFRAMES};
pub use mtf_volume_ratio::MtfVolumeRatio;
pub use rsi::Rsi;
pub use session::Session;
pub use sma::Sma;
pub use spread::Spread;
pub use volatility::{Volatility, VolatilityClass};
pub use volume::Volume;

use super::params::{Builder, FamilySpec, ParamValue, Params, Resolved};
use super::primitives::Lanes;
use super::stream::{Block, Planner, Slot};

/// One indicator family: the parameters of one feature (`Self`) and all that is
/// specific to computing it.
pub(crate) trait Family:
    Clone + PartialEq + fmt::Debug + Into<FeatureKind> + 'static
{
    /// The custom-set families this type implements, each with its parameters and
    /// how to build the feature from them, in documentation order.
    const FAMILIES: &'static [Builder<Self>];

    /// The family name used in custom-set TOML and in the manifest.
    fn family(&self) -> &'static str;

    /// The column name when the set does not rename the feature.
    fn default_name(&self) -> String {
        self.family().to_string()
    }

    /// Parameters in name order, as the manifest records them.
    fn params(&self) -> Vec<(&'static str, ParamValue)>;

    /// Bars before the first defined value, counted in bars of the feature's own
    /// timeframe (completed higher-timeframe bars for multi-timeframe features).
    fn warmup_bars(&self) -> usize;

    /// The higher timeframes the feature reads (empty: the base series). A state
    /// machine of the feature runs on the bars of its (single) timeframe.
    fn timeframes(&self) -> Vec<Interval> {
        Vec::new()
    }

    /// The family's state machine over `L` lanes ([`Stateless`] if it has none).
    type State<const L: usize>: Machine<L>;

    /// A new state machine for this feature's parameters. Called only for the
    /// features a [`Family::compile`] passes to [`Planner::machine`].
    fn state<const L: usize>(&self) -> Self::State<L>;

    /// What [`Family::column`] needs: the slots it reads and any constants.
    type Column: Copy + fmt::Debug;

    /// Requests the per-bar quantities the feature reads from `plan`.
    fn compile(&self, plan: &mut Planner) -> Self::Column;

    /// The feature's values for the block's bars, handed to `put` as `(k, value)` in
    /// bar order.
    fn column<const L: usize>(
        column: &Self::Column,
        block: &Block<L>,
        put: impl FnMut(usize, Lanes<L>),
    );
}

/// A multi-timeframe family with one value per bar, computed by its state machine
/// from the completed bars of one higher timeframe (aggregated as described at
/// [`MtfReturn`]). Implementing it implements [`Family`]: the family name is that of
/// its one builder, the default name `mtf_{timeframe}_{family without "mtf_"}`, the
/// parameters `timeframe` and the family's own in name order, and the column is the
/// machine's output.
pub(crate) trait HigherTimeframe:
    Copy + PartialEq + fmt::Debug + Into<FeatureKind> + 'static
{
    /// The family's one builder, its first parameter the timeframe.
    const FAMILIES: &'static [Builder<Self>];

    fn timeframe(&self) -> Interval;

    /// Parameters other than `timeframe`.
    fn own_params(&self) -> Vec<(&'static str, ParamValue)>;

    /// Completed bars of the timeframe before the first defined value.
    fn warmup(&self) -> usize;

    /// The machine fed the completed bars; its one output is the value.
    type BarMachine<const L: usize>: Machine<L>;

    fn bar_machine<const L: usize>(&self) -> Self::BarMachine<L>;
}

impl<T: HigherTimeframe> Family for T {
    const FAMILIES: &'static [Builder<Self>] = <T as HigherTimeframe>::FAMILIES;

    fn family(&self) -> &'static str {
        <T as HigherTimeframe>::FAMILIES[0].spec.family
    }

    fn default_name(&self) -> String {
        let quantity = self.family().strip_prefix("mtf_").unwrap_or(self.family());
        format!("mtf_{}_{quantity}", self.timeframe())
    }

    fn params(&self) -> Vec<(&'static str, ParamValue)> {
        let mut params = self.own_params();
        params.push(("timeframe", ParamValue::Text(self.timeframe().to_string())));
        params.sort_by_key(|&(name, _)| name);
        params
    }

    fn warmup_bars(&self) -> usize {
        self.warmup()
    }

    fn timeframes(&self) -> Vec<Interval> {
        vec![self.timeframe()]
    }

    type State<const L: usize> = T::BarMachine<L>;

    fn state<const L: usize>(&self) -> Self::State<L> {
        self.bar_machine()
    }

    /// The slot of the machine's value.
    type Column = Slot;

    fn compile(&self, plan: &mut Planner) -> Slot {
        plan.machine((*self).into())
    }

    #[inline(always)]
    fn column<const L: usize>(
        &value: &Slot,
        block: &Block<L>,
        mut put: impl FnMut(usize, Lanes<L>),
    ) {
        block.each(value, &mut put, |x| x);
    }
}

/// A family's incremental state over `L` lanes, fed one bar at a time (base bars, or
/// completed bars of the family's higher timeframe).
pub(crate) trait Machine<const L: usize>: Clone + fmt::Debug {
    /// The number of outputs (consecutive slots) [`Machine::outputs`] writes.
    const OUTPUTS: usize;

    /// Consumes one bar.
    fn on_bar(&mut self, bar: &LaneBar<L>);

    /// Hands each output `(i, value)` to `put`, `i < OUTPUTS`.
    fn outputs(&self, put: impl FnMut(usize, Lanes<L>));
}

/// The state of a family computed from shared quantities only.
#[derive(Debug, Clone)]
pub(crate) struct Stateless;

impl<const L: usize> Machine<L> for Stateless {
    const OUTPUTS: usize = 0;

    fn on_bar(&mut self, _: &LaneBar<L>) {}

    fn outputs(&self, _: impl FnMut(usize, Lanes<L>)) {}
}

/// Generates, from the list of families, [`FeatureKind`] (a variant per family, named
/// like its type), the engine's [`Op`] and [`AnyState`], and the lookup of custom-set
/// families. The order of the list is the documentation order of the families.
macro_rules! registry {
    ($($module:ident::$family:ident,)*) => {
        /// One feature with its parameters: a variant per family, holding that
        /// family's parameter type, whose doc comment gives the formula. Times are bar
        /// *open* times in UTC; "close" etc. are the current bar's values unless stated
        /// otherwise.
        #[derive(Debug, Clone, PartialEq)]
        pub enum FeatureKind {
            $($family($module::$family),)*
        }

        $(
            impl From<$module::$family> for FeatureKind {
                fn from(feature: $module::$family) -> Self {
                    FeatureKind::$family(feature)
                }
            }
        )*

        impl FeatureKind {
            /// The family name used in custom-set TOML and in the manifest.
            pub fn family(&self) -> &'static str {
                match self {
                    $(FeatureKind::$family(f) => f.family(),)*
                }
            }

            /// The feature's name when the set does not rename it: the family for
            /// most, `sma_{window}`, `price_sma_{window}_ratio`,
            /// `mtf_{timeframe}_{quantity}`.
            pub fn default_name(&self) -> String {
                match self {
                    $(FeatureKind::$family(f) => f.default_name(),)*
                }
            }

            /// Parameters in name order.
            pub fn params(&self) -> Vec<(&'static str, ParamValue)> {
                match self {
                    $(FeatureKind::$family(f) => f.params(),)*
                }
            }

            /// Bars before the first defined value, counted in bars of the feature's
            /// own timeframe (completed higher-timeframe bars for multi-timeframe
            /// features).
            pub fn warmup_bars(&self) -> usize {
                match self {
                    $(FeatureKind::$family(f) => f.warmup_bars(),)*
                }
            }

            /// The higher timeframes the feature reads (empty: the base series).
            pub fn timeframes(&self) -> Vec<Interval> {
                match self {
                    $(FeatureKind::$family(f) => f.timeframes(),)*
                }
            }

            /// The column operation of the feature, its quantities requested from
            /// `plan`.
            pub(crate) fn compile(&self, plan: &mut Planner) -> Op {
                match self {
                    $(FeatureKind::$family(f) => Op::$family(f.compile(plan)),)*
                }
            }

            /// A new state machine for the feature.
            pub(crate) fn state<const L: usize>(&self) -> AnyState<L> {
                match self {
                    $(FeatureKind::$family(f) => AnyState::$family(f.state::<L>()),)*
                }
            }

            /// The number of outputs of the feature's state machine.
            pub(crate) fn outputs(&self) -> usize {
                match self {
                    $(
                        FeatureKind::$family(_) => {
                            <<$module::$family as Family>::State<1> as Machine<1>>::OUTPUTS
                        }
                    )*
                }
            }
        }

        /// How one column is computed: its family's [`Family::Column`].
        #[derive(Debug, Clone, Copy)]
        pub(crate) enum Op {
            $($family(<$module::$family as Family>::Column),)*
        }

        impl Op {
            /// The column's values for the block's bars, `(k, value)` in bar order.
            /// The match is per block, the loops (in the family's code) per bar.
            #[inline(always)]
            pub(crate) fn column<const L: usize>(
                &self,
                block: &Block<L>,
                put: impl FnMut(usize, Lanes<L>),
            ) {
                match self {
                    $(Op::$family(c) => <$module::$family as Family>::column(c, block, put),)*
                }
            }
        }

        /// One family's state machine.
        #[derive(Debug, Clone)]
        pub(crate) enum AnyState<const L: usize> {
            $($family(<$module::$family as Family>::State<L>),)*
        }

        impl<const L: usize> AnyState<L> {
            /// Consumes one bar and hands the outputs to `put`.
            #[inline(always)]
            pub(crate) fn step(&mut self, bar: &LaneBar<L>, put: impl FnMut(usize, Lanes<L>)) {
                match self {
                    $(
                        AnyState::$family(s) => {
                            s.on_bar(bar);
                            s.outputs(put);
                        }
                    )*
                }
            }
        }

        /// Every custom-set family, in documentation order.
        pub(crate) fn family_specs() -> impl Iterator<Item = &'static FamilySpec> {
            [$(
                <$module::$family as Family>::FAMILIES
                    .iter()
                    .map(|b| &b.spec)
                    .collect::<Vec<_>>(),
            )*]
            .into_iter()
            .flatten()
        }

        /// Builds a feature of `family` from its type-checked parameters (every
        /// parameter of the family present; cross-parameter rules are checked here).
        pub(crate) fn build_kind(
            family: &str,
            get: impl Fn(&str) -> Option<Resolved>,
        ) -> Result<FeatureKind, String> {
            let params = Params::new(&get);
            $(
                if let Some(builder) = <$module::$family as Family>::FAMILIES
                    .iter()
                    .find(|b| b.spec.family == family)
                {
                    return (builder.build)(&params).map(FeatureKind::from);
                }
            )*
            Err(format!("unknown family {family}"))
        }
    };
}

registry! {
    session::Session,
    calendar::Calendar,
    spread::Spread,
    atr::Atr,
    volume::Volume,
    sma::Sma,
    rsi::Rsi,
    macd::Macd,
    bollinger::Bollinger,
    volatility::Volatility,
    mtf_return::MtfReturn,
    mtf_rsi::MtfRsi,
    mtf_atr_ratio::MtfAtrRatio,
    mtf_trend::MtfTrend,
    mtf_range_position::MtfRangePosition,
    mtf_volume_ratio::MtfVolumeRatio,
    mtf_trend_alignment::MtfTrendAlignment,
}

/// The family of a custom-set family name.
pub(crate) fn family_spec(name: &str) -> Option<&'static FamilySpec> {
    family_specs().find(|f| f.family == name)
}

#[cfg(test)]
mod tests {
    use super::atr::AtrState;
    use super::macd::MacdState;
    use super::rsi::RsiState;
    use super::volatility::VolatilityRegime;
    use crate::features::primitives::{Ema, Lanes, RollingWindow};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Every state machine's outputs over one update, as bits.
    struct Indicators<const L: usize> {
        window: RollingWindow<L>,
        ema: Ema<L>,
        rsi: RsiState<L>,
        atr: AtrState<L>,
        macd: MacdState<L>,
        regime: VolatilityRegime<L>,
    }

    impl<const L: usize> Indicators<L> {
        fn new() -> Self {
            Self {
                window: RollingWindow::new(5),
                ema: Ema::with_span(10),
                rsi: RsiState::new(4),
                atr: AtrState::new(3),
                macd: MacdState::new(3, 6, 2),
                regime: VolatilityRegime::new(3, 5),
            }
        }

        /// The outputs after one bar, `[output][lane]`.
        fn update(&mut self, high: Lanes<L>, low: Lanes<L>, close: Lanes<L>) -> Vec<Lanes<L>> {
            self.window.push(close);
            self.ema.update(close);
            self.rsi.update(close);
            self.atr.update(high, low, close);
            self.macd.update(close);
            self.regime.update(close);
            vec![
                self.window.mean(),
                self.window.population_std(),
                self.window.max(),
                self.window.min(),
                self.ema.value(),
                self.rsi.value(),
                self.atr.value(),
                self.macd.macd(),
                self.macd.signal(),
                self.regime.regime(),
            ]
        }
    }

    #[test]
    fn each_lane_computes_what_one_series_alone_computes() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut lanes = Indicators::<4>::new();
        let mut alone: Vec<Indicators<1>> = (0..4).map(|_| Indicators::new()).collect();
        let mut close = [100.0, 1.0, 60_000.0, 0.01];
        for bar in 0..2_000 {
            for (l, c) in close.iter_mut().enumerate() {
                // Lane 1 stays flat for long stretches (equal values, zero ranges).
                if l != 1 || bar % 300 < 100 {
                    *c *= 1.0 + rng.gen_range(-0.01..0.01);
                }
            }
            let high = close.map(|c| c * 1.001);
            let low = close.map(|c| c * 0.999);
            let together = lanes.update(high, low, close);
            for (l, one) in alone.iter_mut().enumerate() {
                let by_itself = one.update([high[l]], [low[l]], [close[l]]);
                for (output, (both, single)) in together.iter().zip(&by_itself).enumerate() {
                    assert_eq!(
                        both[l].to_bits(),
                        single[0].to_bits(),
                        "bar {bar} lane {l} output {output}"
                    );
                }
            }
        }
    }
}
