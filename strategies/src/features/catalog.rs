//! Every built-in feature: its formula (in the doc comments), parameters, name and
//! warm-up, and the built-in sets `core31` and `mtf50`.

use std::fmt;

use gauntlet_datasets::Interval;
use serde::{Deserialize, Serialize};

/// Largest window any parameter may take (guards against a typo allocating GBs).
pub const MAX_WINDOW: usize = 100_000;

/// The three higher timeframes of `mtf50` and of [`FeatureKind::MtfTrendAlignment`].
pub const MTF_TIMEFRAMES: [Interval; 3] = [Interval::M5, Interval::M15, Interval::H1];

/// A parameter value as recorded in a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Int(i64),
    Float(f64),
    Text(String),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{v:?}"),
            ParamValue::Text(v) => f.write_str(v),
        }
    }
}

/// Which Bollinger output a feature is (all share one band computation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BollingerOutput {
    /// `bb_high = mavg + k·σ`.
    High,
    /// `bb_low = mavg − k·σ`.
    Low,
    /// `bb_width = (high − low)/mavg · 100` (percent, `ta` wband).
    Width,
    /// `bb_position = (close − low)/(high − low)` (`ta` pband); 0.5 when high == low
    /// (`ta` gives NaN there; a flat market should not make the row unusable).
    Position,
}

/// Which MACD output a feature is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacdOutput {
    /// `macd = EMA_span(fast) − EMA_span(slow)` of close.
    Macd,
    /// `macd_signal = EMA_span(signal)` of macd.
    Signal,
    /// `macd_diff = macd − macd_signal`.
    Diff,
}

/// Which class of the volatility-regime one-hot a feature is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolatilityClass {
    Low,
    Medium,
    High,
}

/// Which higher-timeframe quantity a multi-timeframe feature is.
///
/// All are computed on bars of `timeframe` aggregated causally from the base bars
/// (open = first open, high = max, low = min, close = last close, volume = sum of the
/// base bars whose open time lies in the bucket `[b, b + D)`, `b` aligned to UTC epoch
/// multiples of `D`). A bucket becomes usable at the first base bar with
/// `ts ≥ b + D`, so a base bar only ever sees *completed* higher-timeframe bars.
/// `C_k, H_k, L_k, V_k` are the last completed bar's close, high, low, volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MtfOutput {
    /// `C_k / C_{k−1} − 1`. Warm-up: 1 completed bar.
    Return,
    /// `ta` RSI(window) over the completed closes. Warm-up: window − 1.
    Rsi { window: usize },
    /// `ta` ATR(window) over the completed bars, divided by `C_k`. Warm-up: window − 1.
    AtrRatio { window: usize },
    /// `EMA_span(fast)/EMA_span(slow) − 1` of the completed closes (EMAs seeded with
    /// the first close). Warm-up: slow − 1.
    Trend { fast: usize, slow: usize },
    /// `(C_k − min L)/(max H − min L)` over the last `window` completed bars; 0.5 when
    /// max H == min L. Warm-up: window − 1.
    RangePosition { window: usize },
    /// `V_k / mean(V over the last window completed bars)`; 1 when that mean is 0.
    /// Warm-up: window − 1.
    VolumeRatio { window: usize },
}

/// One built-in feature with its parameters. Times are bar *open* times in UTC;
/// "close" etc. are the current bar's values unless stated otherwise.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureKind {
    /// 1 if the bar's UTC open hour h satisfies 0 ≤ h < 9 (Tokyo), else 0.
    SessionTokyo,
    /// 1 if 7 ≤ h < 16 UTC (London), else 0.
    SessionLondon,
    /// 1 if 13 ≤ h < 22 UTC (New York), else 0.
    SessionNewYork,
    /// Day of the week of the bar's UTC open time, 0 = Monday … 6 = Sunday.
    DayOfWeek,
    /// 1 if day_of_week ≥ 5 (Saturday or Sunday UTC), else 0.
    IsWeekend,
    /// `high − low` (price units).
    Spread,
    /// `(high − low) / close`.
    SpreadPct,
    /// `ta` ATR(window), Wilder-smoothed and SMA-seeded; 0.0 during warm-up like `ta`.
    Atr { window: usize },
    /// `(high − low) / ATR(window)`; 0 when ATR is 0.
    SpreadAtrRatio { window: usize },
    /// `mean(volume over the last window bars)`.
    VolumeMa { window: usize },
    /// `volume / volume_ma(window)`; 1 when that mean is 0.
    VolumeRatio { window: usize },
    /// `mean(volume, fast)/mean(volume, slow) − 1` over the last fast / slow bars;
    /// 0 when the slow mean is 0.
    VolumeTrend { fast: usize, slow: usize },
    /// `mean(close over the last window bars)` (pandas `rolling(window).mean()`).
    Sma { window: usize },
    /// `close / sma(window)`.
    PriceSmaRatio { window: usize },
    /// `ta` RSI(window): zero-seeded Wilder EMAs of up/down moves (see `indicators`).
    Rsi { window: usize },
    /// `ta` MACD(fast, slow, signal); span-EMAs seeded with the first value.
    Macd {
        output: MacdOutput,
        fast: usize,
        slow: usize,
        signal: usize,
    },
    /// `ta` Bollinger bands: `mavg = sma(window)`, `σ` = population std of the last
    /// window closes (exact two-pass), bands `mavg ± std·σ`.
    Bollinger {
        output: BollingerOutput,
        window: usize,
        std: f64,
    },
    /// One-hot of the causal volatility regime: `vol_i` = population std of the last
    /// `window` log returns `ln(close_i/close_{i−1})`; with `b` = the number of the
    /// `history` previous `vol` values strictly below `vol_i`: low if `3b < history`,
    /// high if `3b ≥ 2·history`, else medium. Warm-up: window + history bars.
    Volatility {
        class: VolatilityClass,
        window: usize,
        history: usize,
    },
    /// A multi-timeframe feature on completed `timeframe` bars (see [`MtfOutput`]).
    Mtf {
        output: MtfOutput,
        timeframe: Interval,
    },
    /// `(sgn T_5m + sgn T_15m + sgn T_1h)/3` with `T_tf` = the `mtf_trend(fast, slow)`
    /// of each timeframe and sgn 0 = 0. Warm-up: slow − 1 completed bars of each.
    MtfTrendAlignment { fast: usize, slow: usize },
}

impl FeatureKind {
    /// The family name used in custom-set TOML and in the manifest.
    pub fn family(&self) -> &'static str {
        match self {
            FeatureKind::SessionTokyo => "session_tokyo",
            FeatureKind::SessionLondon => "session_london",
            FeatureKind::SessionNewYork => "session_new_york",
            FeatureKind::DayOfWeek => "day_of_week",
            FeatureKind::IsWeekend => "is_weekend",
            FeatureKind::Spread => "spread",
            FeatureKind::SpreadPct => "spread_pct",
            FeatureKind::Atr { .. } => "atr",
            FeatureKind::SpreadAtrRatio { .. } => "spread_atr_ratio",
            FeatureKind::VolumeMa { .. } => "volume_ma",
            FeatureKind::VolumeRatio { .. } => "volume_ratio",
            FeatureKind::VolumeTrend { .. } => "volume_trend",
            FeatureKind::Sma { .. } => "sma",
            FeatureKind::PriceSmaRatio { .. } => "price_sma_ratio",
            FeatureKind::Rsi { .. } => "rsi",
            FeatureKind::Macd { output, .. } => match output {
                MacdOutput::Macd => "macd",
                MacdOutput::Signal => "macd_signal",
                MacdOutput::Diff => "macd_diff",
            },
            FeatureKind::Bollinger { output, .. } => match output {
                BollingerOutput::High => "bb_high",
                BollingerOutput::Low => "bb_low",
                BollingerOutput::Width => "bb_width",
                BollingerOutput::Position => "bb_position",
            },
            FeatureKind::Volatility { class, .. } => match class {
                VolatilityClass::Low => "volatility_low",
                VolatilityClass::Medium => "volatility_medium",
                VolatilityClass::High => "volatility_high",
            },
            FeatureKind::Mtf { output, .. } => match output {
                MtfOutput::Return => "mtf_return",
                MtfOutput::Rsi { .. } => "mtf_rsi",
                MtfOutput::AtrRatio { .. } => "mtf_atr_ratio",
                MtfOutput::Trend { .. } => "mtf_trend",
                MtfOutput::RangePosition { .. } => "mtf_range_position",
                MtfOutput::VolumeRatio { .. } => "mtf_volume_ratio",
            },
            FeatureKind::MtfTrendAlignment { .. } => "mtf_trend_alignment",
        }
    }

    /// The feature's name when the set does not rename it: the family for most,
    /// `sma_{window}`, `price_sma_{window}_ratio`, `mtf_{timeframe}_{quantity}`.
    pub fn default_name(&self) -> String {
        match self {
            FeatureKind::Sma { window } => format!("sma_{window}"),
            FeatureKind::PriceSmaRatio { window } => format!("price_sma_{window}_ratio"),
            FeatureKind::Mtf { timeframe, .. } => {
                let quantity = self.family().trim_start_matches("mtf_");
                format!("mtf_{timeframe}_{quantity}")
            }
            _ => self.family().to_string(),
        }
    }

    /// Parameters in name order.
    pub fn params(&self) -> Vec<(&'static str, ParamValue)> {
        let int = |v: usize| ParamValue::Int(v as i64);
        match *self {
            FeatureKind::SessionTokyo
            | FeatureKind::SessionLondon
            | FeatureKind::SessionNewYork
            | FeatureKind::DayOfWeek
            | FeatureKind::IsWeekend
            | FeatureKind::Spread
            | FeatureKind::SpreadPct => vec![],
            FeatureKind::Atr { window }
            | FeatureKind::SpreadAtrRatio { window }
            | FeatureKind::VolumeMa { window }
            | FeatureKind::VolumeRatio { window }
            | FeatureKind::Sma { window }
            | FeatureKind::PriceSmaRatio { window }
            | FeatureKind::Rsi { window } => vec![("window", int(window))],
            FeatureKind::VolumeTrend { fast, slow }
            | FeatureKind::MtfTrendAlignment { fast, slow } => {
                vec![("fast", int(fast)), ("slow", int(slow))]
            }
            FeatureKind::Macd {
                fast, slow, signal, ..
            } => vec![
                ("fast", int(fast)),
                ("signal", int(signal)),
                ("slow", int(slow)),
            ],
            FeatureKind::Bollinger { window, std, .. } => {
                vec![("std", ParamValue::Float(std)), ("window", int(window))]
            }
            FeatureKind::Volatility {
                window, history, ..
            } => vec![("history", int(history)), ("window", int(window))],
            FeatureKind::Mtf { output, timeframe } => {
                let tf = ("timeframe", ParamValue::Text(timeframe.to_string()));
                match output {
                    MtfOutput::Return => vec![tf],
                    MtfOutput::Rsi { window }
                    | MtfOutput::AtrRatio { window }
                    | MtfOutput::RangePosition { window }
                    | MtfOutput::VolumeRatio { window } => vec![tf, ("window", int(window))],
                    MtfOutput::Trend { fast, slow } => {
                        vec![("fast", int(fast)), ("slow", int(slow)), tf]
                    }
                }
            }
        }
    }

    /// Bars before the first defined value, counted in bars of the feature's own
    /// timeframe (completed higher-timeframe bars for multi-timeframe features).
    pub fn warmup_bars(&self) -> usize {
        match *self {
            FeatureKind::SessionTokyo
            | FeatureKind::SessionLondon
            | FeatureKind::SessionNewYork
            | FeatureKind::DayOfWeek
            | FeatureKind::IsWeekend
            | FeatureKind::Spread
            | FeatureKind::SpreadPct => 0,
            FeatureKind::Atr { window }
            | FeatureKind::SpreadAtrRatio { window }
            | FeatureKind::VolumeMa { window }
            | FeatureKind::VolumeRatio { window }
            | FeatureKind::Sma { window }
            | FeatureKind::PriceSmaRatio { window }
            | FeatureKind::Rsi { window }
            | FeatureKind::Bollinger { window, .. } => window - 1,
            FeatureKind::VolumeTrend { slow, .. } | FeatureKind::MtfTrendAlignment { slow, .. } => {
                slow - 1
            }
            FeatureKind::Macd {
                output,
                slow,
                signal,
                ..
            } => match output {
                MacdOutput::Macd => slow - 1,
                MacdOutput::Signal | MacdOutput::Diff => slow - 1 + signal - 1,
            },
            FeatureKind::Volatility {
                window, history, ..
            } => window + history,
            FeatureKind::Mtf { output, .. } => match output {
                MtfOutput::Return => 1,
                MtfOutput::Rsi { window }
                | MtfOutput::AtrRatio { window }
                | MtfOutput::RangePosition { window }
                | MtfOutput::VolumeRatio { window } => window - 1,
                MtfOutput::Trend { slow, .. } => slow - 1,
            },
        }
    }

    /// The higher timeframes the feature reads (empty: the base series).
    pub fn timeframes(&self) -> Vec<Interval> {
        match self {
            FeatureKind::Mtf { timeframe, .. } => vec![*timeframe],
            FeatureKind::MtfTrendAlignment { .. } => MTF_TIMEFRAMES.to_vec(),
            _ => vec![],
        }
    }
}

/// How a parameter is typed in custom-set TOML.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ParamKind {
    /// An integer in 1..=MAX_WINDOW.
    Window,
    /// A finite float > 0.
    PositiveFloat,
    /// A timeframe string (`5m`, `15m`, `1h`, `4h`, `1d`).
    Timeframe,
}

impl ParamKind {
    pub(crate) fn expected(self) -> &'static str {
        match self {
            ParamKind::Window => "an integer from 1 to 100000",
            ParamKind::PositiveFloat => "a number > 0",
            ParamKind::Timeframe => "a timeframe string (1m, 5m, 15m, 1h, 4h, 1d)",
        }
    }
}

/// A parameter default (`None`: the parameter is required).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ParamDefault {
    Required,
    Window(usize),
    Float(f64),
}

/// A parameter value after type checking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Resolved {
    Window(usize),
    Float(f64),
    Timeframe(Interval),
}

/// One parameter of a family.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParamSpec {
    pub(crate) name: &'static str,
    pub(crate) kind: ParamKind,
    pub(crate) default: ParamDefault,
}

/// A feature family as custom sets can use it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FamilySpec {
    pub(crate) family: &'static str,
    pub(crate) params: &'static [ParamSpec],
    /// The parameter a list shorthand (`sma = [5, 10]`) expands over.
    pub(crate) list_param: Option<&'static str>,
}

const fn window(default: usize) -> ParamSpec {
    ParamSpec {
        name: "window",
        kind: ParamKind::Window,
        default: ParamDefault::Window(default),
    }
}

const fn int(name: &'static str, default: usize) -> ParamSpec {
    ParamSpec {
        name,
        kind: ParamKind::Window,
        default: ParamDefault::Window(default),
    }
}

const REQUIRED_WINDOW: ParamSpec = ParamSpec {
    name: "window",
    kind: ParamKind::Window,
    default: ParamDefault::Required,
};

const TIMEFRAME: ParamSpec = ParamSpec {
    name: "timeframe",
    kind: ParamKind::Timeframe,
    default: ParamDefault::Required,
};

const BB_STD: ParamSpec = ParamSpec {
    name: "std",
    kind: ParamKind::PositiveFloat,
    default: ParamDefault::Float(2.0),
};

const MACD_PARAMS: &[ParamSpec] = &[int("fast", 12), int("slow", 26), int("signal", 9)];
const BB_PARAMS: &[ParamSpec] = &[window(20), BB_STD];
const VOLATILITY_PARAMS: &[ParamSpec] = &[window(20), int("history", 100)];

const fn family(
    family: &'static str,
    params: &'static [ParamSpec],
    list_param: Option<&'static str>,
) -> FamilySpec {
    FamilySpec {
        family,
        params,
        list_param,
    }
}

/// Every family, in documentation order.
pub(crate) const FAMILIES: &[FamilySpec] = &[
    family("session_tokyo", &[], None),
    family("session_london", &[], None),
    family("session_new_york", &[], None),
    family("day_of_week", &[], None),
    family("is_weekend", &[], None),
    family("spread", &[], None),
    family("spread_pct", &[], None),
    family("atr", &[window(14)], None),
    family("spread_atr_ratio", &[window(14)], None),
    family("volume_ma", &[window(20)], None),
    family("volume_ratio", &[window(20)], None),
    family("volume_trend", &[int("fast", 5), int("slow", 20)], None),
    family("sma", &[REQUIRED_WINDOW], Some("window")),
    family("price_sma_ratio", &[REQUIRED_WINDOW], Some("window")),
    family("rsi", &[window(14)], None),
    family("macd", MACD_PARAMS, None),
    family("macd_signal", MACD_PARAMS, None),
    family("macd_diff", MACD_PARAMS, None),
    family("bb_high", BB_PARAMS, None),
    family("bb_low", BB_PARAMS, None),
    family("bb_width", BB_PARAMS, None),
    family("bb_position", BB_PARAMS, None),
    family("volatility_low", VOLATILITY_PARAMS, None),
    family("volatility_medium", VOLATILITY_PARAMS, None),
    family("volatility_high", VOLATILITY_PARAMS, None),
    family("mtf_return", &[TIMEFRAME], Some("timeframe")),
    family("mtf_rsi", &[TIMEFRAME, window(14)], Some("timeframe")),
    family("mtf_atr_ratio", &[TIMEFRAME, window(14)], Some("timeframe")),
    family(
        "mtf_trend",
        &[TIMEFRAME, int("fast", 8), int("slow", 21)],
        Some("timeframe"),
    ),
    family(
        "mtf_range_position",
        &[TIMEFRAME, window(20)],
        Some("timeframe"),
    ),
    family(
        "mtf_volume_ratio",
        &[TIMEFRAME, window(20)],
        Some("timeframe"),
    ),
    family(
        "mtf_trend_alignment",
        &[int("fast", 8), int("slow", 21)],
        None,
    ),
];

pub(crate) fn family_spec(name: &str) -> Option<&'static FamilySpec> {
    FAMILIES.iter().find(|f| f.family == name)
}

/// Builds a feature from its family and type-checked parameters (every parameter of
/// the family present). Cross-parameter rules (fast < slow) are checked here.
pub(crate) fn build_kind(
    family: &str,
    get: impl Fn(&str) -> Option<Resolved>,
) -> Result<FeatureKind, String> {
    let w = |name: &str| match get(name) {
        Some(Resolved::Window(v)) => Ok(v),
        _ => Err(format!("parameter {name} is missing")),
    };
    let tf = || match get("timeframe") {
        Some(Resolved::Timeframe(v)) => Ok(v),
        _ => Err("parameter timeframe is missing".to_string()),
    };
    let fast_slow = || -> Result<(usize, usize), String> {
        let (fast, slow) = (w("fast")?, w("slow")?);
        if fast >= slow {
            return Err(format!("fast ({fast}) must be smaller than slow ({slow})"));
        }
        Ok((fast, slow))
    };
    let macd = |output| -> Result<FeatureKind, String> {
        let (fast, slow) = fast_slow()?;
        Ok(FeatureKind::Macd {
            output,
            fast,
            slow,
            signal: w("signal")?,
        })
    };
    let bollinger = |output| -> Result<FeatureKind, String> {
        let std = match get("std") {
            Some(Resolved::Float(v)) => v,
            _ => return Err("parameter std is missing".to_string()),
        };
        Ok(FeatureKind::Bollinger {
            output,
            window: w("window")?,
            std,
        })
    };
    let volatility = |class| -> Result<FeatureKind, String> {
        Ok(FeatureKind::Volatility {
            class,
            window: w("window")?,
            history: w("history")?,
        })
    };
    let mtf = |output| -> Result<FeatureKind, String> {
        Ok(FeatureKind::Mtf {
            output,
            timeframe: tf()?,
        })
    };
    Ok(match family {
        "session_tokyo" => FeatureKind::SessionTokyo,
        "session_london" => FeatureKind::SessionLondon,
        "session_new_york" => FeatureKind::SessionNewYork,
        "day_of_week" => FeatureKind::DayOfWeek,
        "is_weekend" => FeatureKind::IsWeekend,
        "spread" => FeatureKind::Spread,
        "spread_pct" => FeatureKind::SpreadPct,
        "atr" => FeatureKind::Atr {
            window: w("window")?,
        },
        "spread_atr_ratio" => FeatureKind::SpreadAtrRatio {
            window: w("window")?,
        },
        "volume_ma" => FeatureKind::VolumeMa {
            window: w("window")?,
        },
        "volume_ratio" => FeatureKind::VolumeRatio {
            window: w("window")?,
        },
        "volume_trend" => {
            let (fast, slow) = fast_slow()?;
            FeatureKind::VolumeTrend { fast, slow }
        }
        "sma" => FeatureKind::Sma {
            window: w("window")?,
        },
        "price_sma_ratio" => FeatureKind::PriceSmaRatio {
            window: w("window")?,
        },
        "rsi" => FeatureKind::Rsi {
            window: w("window")?,
        },
        "macd" => macd(MacdOutput::Macd)?,
        "macd_signal" => macd(MacdOutput::Signal)?,
        "macd_diff" => macd(MacdOutput::Diff)?,
        "bb_high" => bollinger(BollingerOutput::High)?,
        "bb_low" => bollinger(BollingerOutput::Low)?,
        "bb_width" => bollinger(BollingerOutput::Width)?,
        "bb_position" => bollinger(BollingerOutput::Position)?,
        "volatility_low" => volatility(VolatilityClass::Low)?,
        "volatility_medium" => volatility(VolatilityClass::Medium)?,
        "volatility_high" => volatility(VolatilityClass::High)?,
        "mtf_return" => mtf(MtfOutput::Return)?,
        "mtf_rsi" => mtf(MtfOutput::Rsi {
            window: w("window")?,
        })?,
        "mtf_atr_ratio" => mtf(MtfOutput::AtrRatio {
            window: w("window")?,
        })?,
        "mtf_trend" => {
            let (fast, slow) = fast_slow()?;
            mtf(MtfOutput::Trend { fast, slow })?
        }
        "mtf_range_position" => mtf(MtfOutput::RangePosition {
            window: w("window")?,
        })?,
        "mtf_volume_ratio" => mtf(MtfOutput::VolumeRatio {
            window: w("window")?,
        })?,
        "mtf_trend_alignment" => {
            let (fast, slow) = fast_slow()?;
            FeatureKind::MtfTrendAlignment { fast, slow }
        }
        other => return Err(format!("unknown family {other}")),
    })
}

/// The 31 features of `core31`, in order.
pub(crate) fn core31() -> Vec<FeatureKind> {
    let macd = |output| FeatureKind::Macd {
        output,
        fast: 12,
        slow: 26,
        signal: 9,
    };
    let bb = |output| FeatureKind::Bollinger {
        output,
        window: 20,
        std: 2.0,
    };
    let vol = |class| FeatureKind::Volatility {
        class,
        window: 20,
        history: 100,
    };
    let mut kinds = vec![
        FeatureKind::SessionTokyo,
        FeatureKind::SessionLondon,
        FeatureKind::SessionNewYork,
        FeatureKind::DayOfWeek,
        FeatureKind::IsWeekend,
        FeatureKind::Spread,
        FeatureKind::SpreadPct,
        FeatureKind::Atr { window: 14 },
        FeatureKind::SpreadAtrRatio { window: 14 },
        FeatureKind::VolumeMa { window: 20 },
        FeatureKind::VolumeRatio { window: 20 },
        FeatureKind::VolumeTrend { fast: 5, slow: 20 },
    ];
    for window in [7, 14, 21, 50] {
        kinds.push(FeatureKind::Sma { window });
        kinds.push(FeatureKind::PriceSmaRatio { window });
    }
    kinds.extend([
        FeatureKind::Rsi { window: 14 },
        macd(MacdOutput::Macd),
        macd(MacdOutput::Signal),
        macd(MacdOutput::Diff),
        bb(BollingerOutput::High),
        bb(BollingerOutput::Low),
        bb(BollingerOutput::Width),
        bb(BollingerOutput::Position),
        vol(VolatilityClass::Low),
        vol(VolatilityClass::Medium),
        vol(VolatilityClass::High),
    ]);
    kinds
}

/// `core31` followed by 6 quantities × {5m, 15m, 1h} and the trend alignment.
pub(crate) fn mtf50() -> Vec<FeatureKind> {
    let mut kinds = core31();
    for timeframe in MTF_TIMEFRAMES {
        for output in [
            MtfOutput::Return,
            MtfOutput::Rsi { window: 14 },
            MtfOutput::AtrRatio { window: 14 },
            MtfOutput::Trend { fast: 8, slow: 21 },
            MtfOutput::RangePosition { window: 20 },
            MtfOutput::VolumeRatio { window: 20 },
        ] {
            kinds.push(FeatureKind::Mtf { output, timeframe });
        }
    }
    kinds.push(FeatureKind::MtfTrendAlignment { fast: 8, slow: 21 });
    kinds
}
