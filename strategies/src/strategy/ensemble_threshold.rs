//! Turns ensemble probabilities into entries and exits with thresholds.

use serde::{Deserialize, Serialize};

use super::{
    first_acting, BarContext, ConfigError, EntryIntent, FieldError, ModelOutputs, ModelView,
    OrderIntent, PositionView, Side, Strategy,
};

/// Parameters of [`EnsembleThreshold`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleThresholdConfig {
    /// Enter long when `P(up) ≥ enter` (short: `P(down) ≥ enter`). Default 0.6.
    #[serde(default = "default_enter")]
    pub enter: f32,
    /// And only when `consensus ≥ min_consensus`. Default 0.5.
    #[serde(default = "default_min_consensus")]
    pub min_consensus: f32,
    /// Exit a long when `P(up) < exit_below` (a short when `P(down) < exit_below`);
    /// must not exceed `enter`. Default 0.5.
    #[serde(default = "default_exit_below")]
    pub exit_below: f32,
    /// Exit after this many bars held (the entry bar counts as 1). Default none.
    #[serde(default)]
    pub max_holding_bars: Option<usize>,
    /// Allow short entries. Default false.
    #[serde(default)]
    pub allow_short: bool,
}

fn default_enter() -> f32 {
    0.6
}
fn default_min_consensus() -> f32 {
    0.5
}
fn default_exit_below() -> f32 {
    0.5
}

impl Default for EnsembleThresholdConfig {
    fn default() -> Self {
        Self {
            enter: default_enter(),
            min_consensus: default_min_consensus(),
            exit_below: default_exit_below(),
            max_holding_bars: None,
            allow_short: false,
        }
    }
}

impl EnsembleThresholdConfig {
    /// Collects every invalid field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut errors = Vec::new();
        let unit = |x: f32| (0.0..=1.0).contains(&x);
        if !unit(self.enter) {
            errors.push(FieldError::new(
                "enter",
                format!("must be in [0, 1], got {}", self.enter),
            ));
        }
        if !unit(self.min_consensus) {
            errors.push(FieldError::new(
                "min_consensus",
                format!("must be in [0, 1], got {}", self.min_consensus),
            ));
        }
        if !unit(self.exit_below) || self.exit_below > self.enter {
            errors.push(FieldError::new(
                "exit_below",
                format!(
                    "must be in [0, enter = {}], got {}",
                    self.enter, self.exit_below
                ),
            ));
        }
        if self.max_holding_bars == Some(0) {
            errors.push(FieldError::new(
                "max_holding_bars",
                "must be at least 1 when set",
            ));
        }
        ConfigError::check(errors)
    }
}

/// Threshold strategy over the ensemble's output. At the close of each bar that has a
/// model view (bars without one produce no intent):
/// * flat: enter long if `P(up) ≥ enter ∧ consensus ≥ min_consensus`; otherwise, if
///   `allow_short`, enter short if `P(down) ≥ enter ∧ consensus ≥ min_consensus`;
/// * long: on the opposite signal (`P(down) ≥ enter ∧ consensus ≥ min_consensus`)
///   reverse to short if `allow_short`, else exit; otherwise exit if
///   `P(up) < exit_below` or `bars_held ≥ max_holding_bars`; shorts mirror this.
///
/// The thresholds are applied to every bar's predictions once, when the strategy is
/// made, so the engine can skip the bars where nothing crosses them
/// ([`Strategy::next_decision`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EnsembleThreshold {
    config: EnsembleThresholdConfig,
    /// `readings[symbol][bar]`: [`Reading`] bits.
    readings: Vec<Vec<u8>>,
}

/// What one bar's predictions say against the thresholds, as bits of a `u8`.
struct Reading;

impl Reading {
    /// The bar has a model view.
    const MODEL: u8 = 1;
    /// `P(up) ≥ enter ∧ consensus ≥ min_consensus`.
    const LONG: u8 = 1 << 1;
    /// `P(down) ≥ enter ∧ consensus ≥ min_consensus`.
    const SHORT: u8 = 1 << 2;
    /// `P(up) < exit_below`: a long exits.
    const UP_FADED: u8 = 1 << 3;
    /// `P(down) < exit_below`: a short exits.
    const DOWN_FADED: u8 = 1 << 4;

    /// The signal bit of entering `side`.
    fn signal(side: Side) -> u8 {
        match side {
            Side::Long => Self::LONG,
            Side::Short => Self::SHORT,
        }
    }

    /// The bit that closes a `held` position.
    fn faded(held: Side) -> u8 {
        match held {
            Side::Long => Self::UP_FADED,
            Side::Short => Self::DOWN_FADED,
        }
    }

    fn of(c: &EnsembleThresholdConfig, model: &ModelView<'_>) -> u8 {
        let agreed = model.consensus >= c.min_consensus;
        let bit = |set: bool, bit: u8| if set { bit } else { 0 };
        Self::MODEL
            | bit(agreed && model.p_up() >= c.enter, Self::LONG)
            | bit(agreed && model.p_down() >= c.enter, Self::SHORT)
            | bit(model.p_up() < c.exit_below, Self::UP_FADED)
            | bit(model.p_down() < c.exit_below, Self::DOWN_FADED)
    }
}

impl EnsembleThreshold {
    /// Validates the parameters and reads each symbol's predictions against them
    /// (`models[symbol]`, one row per bar; `None`: a symbol without predictions).
    pub fn new<'a>(
        config: EnsembleThresholdConfig,
        models: impl IntoIterator<Item = Option<ModelOutputs<'a>>>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let readings = models
            .into_iter()
            .map(|model| match model {
                Some(m) => m.rows().map(|row| Reading::of(&config, &row)).collect(),
                None => Vec::new(),
            })
            .collect();
        Ok(Self { config, readings })
    }

    pub fn config(&self) -> &EnsembleThresholdConfig {
        &self.config
    }

    /// Symbol `symbol`'s readings from bar `from` on (none beyond its predictions).
    fn readings_from(&self, symbol: usize, from: usize) -> &[u8] {
        self.readings
            .get(symbol)
            .and_then(|readings| readings.get(from..))
            .unwrap_or_default()
    }
}

impl Strategy for EnsembleThreshold {
    type State = ();

    fn name(&self) -> &'static str {
        "ensemble_threshold"
    }

    fn new_state(&self) {}

    #[inline]
    fn on_bar(&self, _state: &mut (), ctx: &BarContext<'_>) -> Option<OrderIntent> {
        let c = &self.config;
        let reading = self.readings_from(ctx.symbol_index, ctx.bar_index).first();
        let reading = reading.copied().unwrap_or_default();
        if reading & Reading::MODEL == 0 {
            return None;
        }
        let signal = |side: Side| reading & Reading::signal(side) != 0;
        let enter = |side: Side| Some(OrderIntent::Enter(EntryIntent::market(side)));
        match ctx.position.side() {
            None => {
                if signal(Side::Long) {
                    enter(Side::Long)
                } else if c.allow_short && signal(Side::Short) {
                    enter(Side::Short)
                } else {
                    None
                }
            }
            Some(held) => {
                let opposite = held.opposite();
                if signal(opposite) {
                    return if c.allow_short || opposite == Side::Long {
                        enter(opposite)
                    } else {
                        Some(OrderIntent::Exit)
                    };
                }
                if reading & Reading::faded(held) != 0 {
                    Some(OrderIntent::Exit)
                } else if c
                    .max_holding_bars
                    .is_some_and(|max| ctx.position.bars_held >= max)
                {
                    Some(OrderIntent::TimeStop)
                } else {
                    None
                }
            }
        }
    }

    /// Flat: the next bar with an entry signal. Holding: the next bar with the opposite
    /// signal or the held side's probability below `exit_below`, or the bar at which
    /// `max_holding_bars` is reached, whichever comes first (`usize::MAX`: none).
    #[inline]
    fn next_decision(&self, symbol_index: usize, from: usize, position: &PositionView) -> usize {
        let c = &self.config;
        let (acting, time_stop) = match position.side() {
            None if c.allow_short => (Reading::LONG | Reading::SHORT, None),
            None => (Reading::LONG, None),
            Some(held) => (
                Reading::signal(held.opposite()) | Reading::faded(held),
                // At bar `j ≥ from` the position has been held `bars_held + j − (from − 1)` bars.
                c.max_holding_bars.map(|max| {
                    (from + max)
                        .saturating_sub(position.bars_held + 1)
                        .max(from)
                }),
            ),
        };
        let readings = self.readings_from(symbol_index, from);
        let readings =
            &readings[..time_stop.map_or(readings.len(), |t| readings.len().min(t - from))];
        first_acting(readings, |reading| reading & acting != 0)
            .map(|k| from + k)
            .or(time_stop)
            .unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::{Bar, Strategy};
    use proptest::prelude::*;

    /// The context of bar `bar` of symbol 0 (whose model view, if any, the strategy
    /// reads from its own readings).
    fn ctx(bar: usize, quantity: f64, held: usize) -> BarContext<'static> {
        BarContext {
            symbol_index: 0,
            bar_index: bar,
            bar: Bar {
                ts: 0,
                open: 1.0,
                high: 1.0,
                low: 1.0,
                close: 1.0,
                volume: 1.0,
            },
            features: None,
            model: None,
            position: PositionView {
                quantity,
                avg_entry: 1.0,
                bars_held: held,
            },
        }
    }

    fn decide(
        config: EnsembleThresholdConfig,
        probs: [f32; 3],
        consensus: f32,
        quantity: f64,
        held: usize,
    ) -> Option<OrderIntent> {
        // class order [down, flat, up]
        let consensus = [consensus];
        let model = ModelOutputs::new(&probs, 3, &consensus, 2, 0).unwrap();
        let s = EnsembleThreshold::new(config, [Some(model)]).unwrap();
        s.on_bar(&mut (), &ctx(0, quantity, held))
    }

    const LONG: Option<OrderIntent> = Some(OrderIntent::Enter(EntryIntent::market(Side::Long)));
    const SHORT: Option<OrderIntent> = Some(OrderIntent::Enter(EntryIntent::market(Side::Short)));

    #[test]
    fn entries_need_probability_and_consensus() {
        let both = EnsembleThresholdConfig {
            allow_short: true,
            ..Default::default()
        };
        assert_eq!(decide(both, [0.1, 0.2, 0.7], 0.8, 0.0, 0), LONG);
        assert_eq!(decide(both, [0.1, 0.2, 0.7], 0.4, 0.0, 0), None);
        assert_eq!(decide(both, [0.6, 0.2, 0.2], 0.5, 0.0, 0), SHORT);
        assert_eq!(
            decide(Default::default(), [0.6, 0.2, 0.2], 0.5, 0.0, 0),
            None
        );
        // exactly at the threshold enters (≥)
        assert_eq!(decide(both, [0.2, 0.2, 0.6], 0.5, 0.0, 0), LONG);
    }

    #[test]
    fn exits_on_opposite_signal_low_probability_or_holding_time() {
        let long_only = EnsembleThresholdConfig {
            max_holding_bars: Some(10),
            ..Default::default()
        };
        assert_eq!(
            decide(long_only, [0.7, 0.1, 0.2], 0.9, 1.0, 1),
            Some(OrderIntent::Exit)
        );
        let both = EnsembleThresholdConfig {
            allow_short: true,
            ..long_only
        };
        assert_eq!(decide(both, [0.7, 0.1, 0.2], 0.9, 1.0, 1), SHORT);
        assert_eq!(decide(long_only, [0.3, 0.2, 0.5], 0.9, 1.0, 1), None);
        assert_eq!(
            decide(long_only, [0.3, 0.3, 0.4], 0.9, 1.0, 1),
            Some(OrderIntent::Exit)
        );
        // Held for max_holding_bars: a time stop, not a signal exit.
        assert_eq!(
            decide(long_only, [0.1, 0.1, 0.8], 0.9, 1.0, 10),
            Some(OrderIntent::TimeStop)
        );
        // Both at once: the signal.
        assert_eq!(
            decide(long_only, [0.3, 0.3, 0.4], 0.9, 1.0, 10),
            Some(OrderIntent::Exit)
        );
        assert_eq!(decide(both, [0.1, 0.3, 0.6], 0.9, -1.0, 1), LONG);
        assert_eq!(
            decide(both, [0.45, 0.3, 0.25], 0.9, -1.0, 1),
            Some(OrderIntent::Exit)
        );
    }

    #[test]
    fn validation_collects_all_errors() {
        let bad = EnsembleThresholdConfig {
            enter: 1.5,
            min_consensus: -0.1,
            exit_below: 2.0,
            max_holding_bars: Some(0),
            allow_short: false,
        };
        assert_eq!(bad.validate().unwrap_err().errors.len(), 4);
    }

    #[test]
    fn bars_without_predictions_ask_for_nothing_not_even_the_time_stop() {
        let config = EnsembleThresholdConfig {
            max_holding_bars: Some(1),
            ..Default::default()
        };
        let s = EnsembleThreshold::new(config, [None]).unwrap();
        assert_eq!(s.on_bar(&mut (), &ctx(0, 1.0, 5)), None);
        let beyond = EnsembleThreshold::new(config, []).unwrap();
        assert_eq!(beyond.on_bar(&mut (), &ctx(3, 1.0, 5)), None);
    }

    proptest! {
        /// The next decision is at or before the first bar from `from` on at whose close
        /// the strategy asks for something while the position stays as it is (bars held
        /// growing by one per bar), and no bar before it asks for anything.
        #[test]
        fn next_decision_is_the_first_bar_with_an_intent(
            rows in prop::collection::vec((0.0f32..1.0, 0.0f32..1.0, prop::bool::ANY), 0..200),
            enter in 0.5f32..0.9,
            exit_below in 0.0f32..0.5,
            max_holding_bars in prop::option::of(1usize..40),
            allow_short in prop::bool::ANY,
            quantity in prop::sample::select(vec![-2.0, 0.0, 3.0]),
            bars_held in 0usize..50,
            from in 1usize..220,
        ) {
            let probabilities: Vec<f32> = rows.iter().flat_map(|&(up, down, _)| [down, 0.0, up]).collect();
            let consensus: Vec<f32> = rows.iter().map(|&(.., agreed)| if agreed { 0.9 } else { 0.1 }).collect();
            let model = ModelOutputs::new(&probabilities, 3, &consensus, 2, 0).unwrap();
            let config = EnsembleThresholdConfig {
                enter,
                min_consensus: 0.5,
                exit_below,
                max_holding_bars,
                allow_short,
            };
            let s = EnsembleThreshold::new(config, [Some(model)]).unwrap();
            let held = |j: usize| if quantity == 0.0 { 0 } else { bars_held + j + 1 - from };
            let asks = |j: usize| s.on_bar(&mut (), &ctx(j, quantity, held(j))).is_some();
            let position = ctx(0, quantity, bars_held).position;
            let hint = s.next_decision(0, from, &position);
            prop_assert!((from..hint.min(rows.len())).all(|j| !asks(j)), "a bar before {} asks", hint);
            let first = (from..rows.len()).find(|&j| asks(j)).unwrap_or(usize::MAX);
            prop_assert!(hint <= first, "hint {} after the first intent at {}", hint, first);
            // Only a time stop on a bar past the predictions may come early.
            prop_assert!(hint == first || hint >= rows.len(), "hint {} before the first intent at {}", hint, first);
        }
    }
}
