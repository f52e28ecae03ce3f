//! Turns ensemble probabilities into entries and exits with thresholds.

use serde::{Deserialize, Serialize};

use super::{BarContext, ConfigError, EntryIntent, FieldError, OrderIntent, Side, Strategy};

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
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnsembleThreshold {
    config: EnsembleThresholdConfig,
}

/// The strategy keeps no memory between bars.
pub type EnsembleThresholdState = ();

impl EnsembleThreshold {
    /// Validates the parameters.
    pub fn new(config: EnsembleThresholdConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self { config })
    }

    pub fn config(&self) -> &EnsembleThresholdConfig {
        &self.config
    }
}

impl Strategy for EnsembleThreshold {
    type State = EnsembleThresholdState;

    fn name(&self) -> &'static str {
        "ensemble_threshold"
    }

    fn new_state(&self) {}

    #[inline]
    fn on_bar(&self, _state: &mut (), ctx: &BarContext<'_>) -> Option<OrderIntent> {
        let c = &self.config;
        let model = ctx.model?;
        let agreed = model.consensus >= c.min_consensus;
        let signal = |side: Side| {
            let p = match side {
                Side::Long => model.p_up(),
                Side::Short => model.p_down(),
            };
            agreed && p >= c.enter
        };
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
                let p_held = match held {
                    Side::Long => model.p_up(),
                    Side::Short => model.p_down(),
                };
                if p_held < c.exit_below {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::{Bar, ModelView, PositionView};

    fn decide(
        config: EnsembleThresholdConfig,
        probs: [f32; 3],
        consensus: f32,
        quantity: f64,
        held: usize,
    ) -> Option<OrderIntent> {
        let s = EnsembleThreshold::new(config).unwrap();
        let ctx = BarContext {
            symbol_index: 0,
            bar_index: 5,
            bar: Bar {
                ts: 0,
                open: 1.0,
                high: 1.0,
                low: 1.0,
                close: 1.0,
                volume: 1.0,
            },
            features: None,
            // class order [down, flat, up]
            model: Some(ModelView {
                probabilities: &probs,
                up_class: 2,
                down_class: 0,
                consensus,
            }),
            position: PositionView {
                quantity,
                avg_entry: 1.0,
                bars_held: held,
            },
        };
        s.on_bar(&mut (), &ctx)
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
}
