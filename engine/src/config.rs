//! Run configuration: fills, costs and risk rules. Every struct rejects unknown keys
//! (`deny_unknown_fields`); [`EngineConfig::validate`] reports every invalid field at once.

use serde::{Deserialize, Serialize};

pub use gauntlet_strategies::strategy::{ConfigError, FieldError};

/// Everything the simulator needs besides the data and the strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    /// Starting cash. Default 10 000.
    #[serde(default = "default_initial_cash")]
    pub initial_cash: f64,
    /// Order execution: latency, costs, same-bar ambiguity, volume cap.
    #[serde(default)]
    pub fills: FillConfig,
    /// Risk rules and position sizing.
    #[serde(default)]
    pub risk: RiskConfig,
}

fn default_initial_cash() -> f64 {
    10_000.0
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            initial_cash: default_initial_cash(),
            fills: FillConfig::default(),
            risk: RiskConfig::default(),
        }
    }
}

/// How orders become fills.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FillConfig {
    /// Extra bars between a decision at the close of bar t and its earliest fill:
    /// market orders fill at the open of bar `t + 1 + latency_bars`. Default 0.
    #[serde(default)]
    pub latency_bars: usize,
    /// Commissions. Default: none.
    #[serde(default)]
    pub fees: FeeConfig,
    /// Price impact applied against the trader on every fill. Default: none.
    #[serde(default)]
    pub slippage: SlippageConfig,
    /// Which exit wins when a bar's range touches both the stop and the target.
    /// Default `pessimistic`.
    #[serde(default)]
    pub ambiguity: AmbiguityPolicy,
    /// Cap on the share of a bar's volume one fill may take. Default: no cap.
    #[serde(default)]
    pub volume_cap: Option<VolumeCap>,
}

impl Default for FillConfig {
    fn default() -> Self {
        Self {
            latency_bars: 0,
            fees: FeeConfig::default(),
            slippage: SlippageConfig::None,
            ambiguity: AmbiguityPolicy::Pessimistic,
            volume_cap: None,
        }
    }
}

/// Commission per fill: `fee = max(min_fee, |quantity| × price × bps / 10 000)`, with
/// `maker_bps` for fills of resting limit orders (limit entries, take-profits) and
/// `taker_bps` for everything else (market orders, stops, gap fills of stops).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeConfig {
    /// Default 0.
    #[serde(default)]
    pub maker_bps: f64,
    /// Default 0.
    #[serde(default)]
    pub taker_bps: f64,
    /// Smallest fee charged per fill, in cash. Default 0.
    #[serde(default)]
    pub min_fee: f64,
}

/// Slippage moves every fill price against the trader (buys higher, sells lower).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "model", rename_all = "snake_case")]
pub enum SlippageConfig {
    /// Fill at the reference price.
    #[default]
    None,
    /// `price × (1 ± bps / 10 000)`.
    FixedBps { bps: f64 },
    /// `price ± fraction × (high − low)` of the fill bar.
    RangeFraction { fraction: f64 },
}

/// Resolution of a bar whose range reaches both the stop-loss and the take-profit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmbiguityPolicy {
    /// The stop fills first (worst case). The default.
    #[default]
    Pessimistic,
    /// The target fills first (best case).
    Optimistic,
    /// Assume the path O→H→L→C when `high − open < open − low` (the high is nearer the
    /// open), else O→L→H→C; the level on the first leg fills. Ties resolve pessimistically.
    OhlcPath,
    /// Replay the bar's finer (e.g. 1m) candles in order; the first candle touching
    /// only one level decides; a finer candle touching both resolves pessimistically.
    /// Requires finer candles for every symbol.
    DrillDown,
}

/// At most `max_fraction × bar volume` units per fill.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeCap {
    /// In (0, 1].
    pub max_fraction: f64,
    /// What happens to the unfilled rest of an entry order. Default `keep_working`.
    /// Exits always keep working: a position is never left without its exit.
    #[serde(default)]
    pub remainder: VolumeRemainder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VolumeRemainder {
    /// The rest fills at later bars (at their open for market orders).
    #[default]
    KeepWorking,
    /// The rest is cancelled.
    Cancel,
}

/// A price distance from the entry.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "snake_case")]
pub enum Distance {
    /// `multiple × ATR(period)` of the decision bar (default multiple 1.2).
    Atr {
        #[serde(default = "default_atr_multiple")]
        multiple: f64,
    },
    /// `percent / 100 × reference price`.
    Percent { percent: f64 },
}

fn default_atr_multiple() -> f64 {
    1.2
}

/// How many units an entry buys, evaluated at the fill with `E` = current equity ×
/// capital-ramp fraction and `p` = fill price.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "snake_case")]
pub enum Sizing {
    /// `q = fraction × E / (p × (1 + taker_bps/10 000))` (the fee is paid from the same cash).
    FixedFraction { fraction: f64 },
    /// Lose `risk_fraction × E` if the stop-loss fills: `q = risk_fraction × E / |p − stop|`.
    /// Requires a stop-loss.
    RiskPerTrade { risk_fraction: f64 },
    /// Volatility targeting: weight `w = min(max_fraction, target_bar_volatility / (ATR_t / close_t))`
    /// with ATR and close of the decision bar, then `q = w × E / p`.
    VolatilityTarget {
        target_bar_volatility: f64,
        max_fraction: f64,
    },
}

impl Default for Sizing {
    fn default() -> Self {
        Sizing::FixedFraction { fraction: 1.0 }
    }
}

/// Equity circuit breaker: equity `< (1 − drawdown) × running peak` ⇒ flatten and halt.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreaker {
    /// Fraction below the peak, in (0, 1) (0.12 = 12 %).
    pub drawdown: f64,
    /// Minutes without new entries after a trip; `None` halts for the rest of the run.
    /// On resuming, the running peak restarts at the equity of that moment. Default none.
    #[serde(default)]
    pub cooldown_minutes: Option<u64>,
}

/// From `after_minutes` since the first bar of the run on, only `fraction` of the
/// equity is usable (for sizing and exposure caps).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RampStep {
    pub after_minutes: u64,
    /// In (0, 1].
    pub fraction: f64,
}

/// Risk rules and sizing. All rules are off by default except the leverage limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskConfig {
    /// ATR period (Wilder, SMA-seeded). Default 14.
    #[serde(default = "default_atr_period")]
    pub atr_period: usize,
    /// Stop-loss distance from the entry fill price. Default none.
    #[serde(default)]
    pub stop_loss: Option<Distance>,
    /// Take-profit distance from the entry fill price. Default none.
    #[serde(default)]
    pub take_profit: Option<Distance>,
    /// Trailing stop distance from the best close since entry (ATR of the latest bar
    /// for `atr`). Default none.
    #[serde(default)]
    pub trailing_stop: Option<Distance>,
    /// Exit at the next open once a position has been held this many bars. Default none.
    #[serde(default)]
    pub time_stop_bars: Option<usize>,
    /// Default: fixed fraction 1.0 (all in).
    #[serde(default)]
    pub sizing: Sizing,
    /// Round quantities down to whole units. Default false.
    #[serde(default)]
    pub whole_units: bool,
    /// Most positions open at once (pending entries count). Default none.
    #[serde(default)]
    pub max_open_positions: Option<usize>,
    /// Largest `|notional| / E` of one symbol. Default none.
    #[serde(default)]
    pub max_symbol_exposure: Option<f64>,
    /// Leverage limit: largest `Σ |notional| / E` over all symbols. Default 1.0.
    #[serde(default = "default_max_gross_exposure")]
    pub max_gross_exposure: f64,
    /// Equity `< (1 − limit) ×` the UTC day's starting equity ⇒ flatten, no entries until
    /// the next UTC day (0.08 = 8 %). Default none.
    #[serde(default)]
    pub daily_drawdown_limit: Option<f64>,
    /// Default none.
    #[serde(default)]
    pub circuit_breaker: Option<CircuitBreaker>,
    /// Capital ramp, `after_minutes` strictly increasing. Before the first step (or with
    /// no steps) all capital is usable. Default empty.
    #[serde(default)]
    pub capital_ramp: Vec<RampStep>,
    /// No new entries for the rest of the run after this many losing trades in a row
    /// (net P&L ≤ 0). Default none.
    #[serde(default)]
    pub max_consecutive_losses: Option<usize>,
    /// How the symbols share the capital. Default `shared`.
    #[serde(default)]
    pub capital: Capital,
}

/// How the symbols of a run share its capital.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capital {
    /// One account: sizing and every rule see the whole portfolio (its equity, its
    /// open positions, its gross exposure). The default.
    #[default]
    Shared,
    /// Every symbol trades an account of its own holding `initial_cash / symbols` (a
    /// sleeve), exactly as if it were simulated alone, with every rule applied to that
    /// account: sizing uses the sleeve's equity, a daily drawdown limit or circuit
    /// breaker flattens and halts that symbol only, `max_open_positions` counts its own
    /// position only, a capital ramp starts at the symbol's first bar. The run's equity
    /// curve, fees and final equity are the sums of the sleeves'; the sleeves run in
    /// parallel (see the engine's `sleeves` module for the merged result's order). This
    /// is how vectorbt simulates several columns without cash sharing.
    PerSymbol,
}

fn default_atr_period() -> usize {
    14
}

fn default_max_gross_exposure() -> f64 {
    1.0
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            atr_period: default_atr_period(),
            stop_loss: None,
            take_profit: None,
            trailing_stop: None,
            time_stop_bars: None,
            sizing: Sizing::default(),
            whole_units: false,
            max_open_positions: None,
            max_symbol_exposure: None,
            max_gross_exposure: default_max_gross_exposure(),
            daily_drawdown_limit: None,
            circuit_breaker: None,
            capital_ramp: Vec::new(),
            max_consecutive_losses: None,
            capital: Capital::Shared,
        }
    }
}

impl EngineConfig {
    /// backtesting.py 0.6.6 semantics (`Backtest(..., cash, commission, exclusive_orders=True)`
    /// with default spread 0, margin 1): next-open market fills, relative commission on
    /// entry and exit, all-in whole-unit sizing `floor(E / (open × (1 + c)))`, no risk rules.
    /// `commission` is a fraction (0.002 = 0.2 %).
    pub fn backtesting_py(cash: f64, commission: f64) -> Self {
        Self {
            initial_cash: cash,
            fills: FillConfig {
                fees: FeeConfig {
                    maker_bps: commission * 10_000.0,
                    taker_bps: commission * 10_000.0,
                    min_fee: 0.0,
                },
                ..FillConfig::default()
            },
            risk: RiskConfig {
                whole_units: true,
                ..RiskConfig::default()
            },
        }
    }

    /// Checks every field and returns all problems together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut e = Vec::new();
        let mut bad = |field: &str, message: String| e.push(FieldError::new(field, message));
        if !(self.initial_cash.is_finite() && self.initial_cash > 0.0) {
            bad(
                "initial_cash",
                format!("must be a positive number, got {}", self.initial_cash),
            );
        }
        let f = &self.fills;
        for (field, v) in [
            ("fills.fees.maker_bps", f.fees.maker_bps),
            ("fills.fees.taker_bps", f.fees.taker_bps),
            ("fills.fees.min_fee", f.fees.min_fee),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                bad(field, format!("must be ≥ 0, got {v}"));
            }
        }
        match f.slippage {
            SlippageConfig::FixedBps { bps } if !(bps.is_finite() && bps >= 0.0) => {
                bad("fills.slippage.bps", format!("must be ≥ 0, got {bps}"))
            }
            SlippageConfig::RangeFraction { fraction } if !(0.0..=1.0).contains(&fraction) => bad(
                "fills.slippage.fraction",
                format!("must be in [0, 1], got {fraction}"),
            ),
            _ => {}
        }
        if let Some(cap) = f.volume_cap {
            if !(cap.max_fraction > 0.0 && cap.max_fraction <= 1.0) {
                bad(
                    "fills.volume_cap.max_fraction",
                    format!("must be in (0, 1], got {}", cap.max_fraction),
                );
            }
        }
        let r = &self.risk;
        if r.atr_period == 0 {
            bad("risk.atr_period", "must be at least 1".into());
        }
        for (field, d) in [
            ("risk.stop_loss", r.stop_loss),
            ("risk.take_profit", r.take_profit),
            ("risk.trailing_stop", r.trailing_stop),
        ] {
            match d {
                Some(Distance::Atr { multiple }) if !(multiple.is_finite() && multiple > 0.0) => {
                    bad(
                        &format!("{field}.multiple"),
                        format!("must be > 0, got {multiple}"),
                    )
                }
                Some(Distance::Percent { percent }) if !(percent > 0.0 && percent < 100.0) => bad(
                    &format!("{field}.percent"),
                    format!("must be in (0, 100), got {percent}"),
                ),
                _ => {}
            }
        }
        if r.time_stop_bars == Some(0) {
            bad("risk.time_stop_bars", "must be at least 1 when set".into());
        }
        match r.sizing {
            Sizing::FixedFraction { fraction } if !(fraction > 0.0 && fraction.is_finite()) => bad(
                "risk.sizing.fraction",
                format!("must be > 0, got {fraction}"),
            ),
            Sizing::RiskPerTrade { risk_fraction } => {
                if !(risk_fraction > 0.0 && risk_fraction < 1.0) {
                    bad(
                        "risk.sizing.risk_fraction",
                        format!("must be in (0, 1), got {risk_fraction}"),
                    );
                }
                if r.stop_loss.is_none() {
                    bad(
                        "risk.sizing",
                        "risk_per_trade needs risk.stop_loss to know the stop distance".into(),
                    );
                }
            }
            Sizing::VolatilityTarget {
                target_bar_volatility,
                max_fraction,
            } => {
                if !(target_bar_volatility > 0.0 && target_bar_volatility.is_finite()) {
                    bad(
                        "risk.sizing.target_bar_volatility",
                        format!("must be > 0, got {target_bar_volatility}"),
                    );
                }
                if !(max_fraction > 0.0 && max_fraction.is_finite()) {
                    bad(
                        "risk.sizing.max_fraction",
                        format!("must be > 0, got {max_fraction}"),
                    );
                }
            }
            _ => {}
        }
        if r.max_open_positions == Some(0) {
            bad(
                "risk.max_open_positions",
                "must be at least 1 when set".into(),
            );
        }
        if let Some(x) = r.max_symbol_exposure {
            if !(x > 0.0 && x.is_finite()) {
                bad("risk.max_symbol_exposure", format!("must be > 0, got {x}"));
            }
        }
        if !(r.max_gross_exposure > 0.0 && r.max_gross_exposure.is_finite()) {
            bad(
                "risk.max_gross_exposure",
                format!("must be > 0, got {}", r.max_gross_exposure),
            );
        }
        if let Some(x) = r.daily_drawdown_limit {
            if !(x > 0.0 && x < 1.0) {
                bad(
                    "risk.daily_drawdown_limit",
                    format!("must be in (0, 1), got {x}"),
                );
            }
        }
        if let Some(cb) = r.circuit_breaker {
            if !(cb.drawdown > 0.0 && cb.drawdown < 1.0) {
                bad(
                    "risk.circuit_breaker.drawdown",
                    format!("must be in (0, 1), got {}", cb.drawdown),
                );
            }
            if cb.cooldown_minutes == Some(0) {
                bad(
                    "risk.circuit_breaker.cooldown_minutes",
                    "must be at least 1 when set".into(),
                );
            }
        }
        for (i, step) in r.capital_ramp.iter().enumerate() {
            if !(step.fraction > 0.0 && step.fraction <= 1.0) {
                bad(
                    &format!("risk.capital_ramp[{i}].fraction"),
                    format!("must be in (0, 1], got {}", step.fraction),
                );
            }
            if i > 0 && step.after_minutes <= r.capital_ramp[i - 1].after_minutes {
                bad(
                    &format!("risk.capital_ramp[{i}].after_minutes"),
                    format!(
                        "must be greater than the previous step's {}, got {}",
                        r.capital_ramp[i - 1].after_minutes,
                        step.after_minutes
                    ),
                );
            }
        }
        if r.max_consecutive_losses == Some(0) {
            bad(
                "risk.max_consecutive_losses",
                "must be at least 1 when set".into(),
            );
        }
        ConfigError::check(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let c = EngineConfig::default();
        c.validate().unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<EngineConfig>(&json).unwrap(), c);
        EngineConfig::backtesting_py(10_000.0, 0.002)
            .validate()
            .unwrap();
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let err =
            serde_json::from_str::<EngineConfig>(r#"{"risk": {"stop_los": null}}"#).unwrap_err();
        assert!(err.to_string().contains("stop_los"), "{err}");
    }

    #[test]
    fn validation_collects_every_error() {
        let mut c = EngineConfig {
            initial_cash: -1.0,
            ..EngineConfig::default()
        };
        c.fills.fees.taker_bps = -2.0;
        c.risk.sizing = Sizing::RiskPerTrade { risk_fraction: 2.0 };
        c.risk.daily_drawdown_limit = Some(1.5);
        c.risk.capital_ramp = vec![
            RampStep {
                after_minutes: 10,
                fraction: 0.1,
            },
            RampStep {
                after_minutes: 10,
                fraction: 1.5,
            },
        ];
        let err = c.validate().unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "initial_cash",
                "fills.fees.taker_bps",
                "risk.sizing.risk_fraction",
                "risk.sizing",
                "risk.daily_drawdown_limit",
                "risk.capital_ramp[1].fraction",
                "risk.capital_ramp[1].after_minutes",
            ]
        );
    }
}
