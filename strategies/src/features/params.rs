//! Feature parameters: how a family declares them (name, type, default), how custom-set
//! TOML values are type-checked against them, and how a manifest records them.

use std::fmt;

use gauntlet_datasets::Interval;
use serde::{Deserialize, Serialize};

/// Largest window any parameter may take (guards against a typo allocating GBs).
pub const MAX_WINDOW: usize = 100_000;

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

/// A window-like parameter as recorded in a manifest.
pub(crate) fn int(value: usize) -> ParamValue {
    ParamValue::Int(value as i64)
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

/// A parameter default (`Required`: the parameter has none).
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

/// A window parameter named `window` with a default.
pub(crate) const fn window(default: usize) -> ParamSpec {
    ParamSpec {
        name: "window",
        kind: ParamKind::Window,
        default: ParamDefault::Window(default),
    }
}

/// A window-like integer parameter with a default.
pub(crate) const fn window_named(name: &'static str, default: usize) -> ParamSpec {
    ParamSpec {
        name,
        kind: ParamKind::Window,
        default: ParamDefault::Window(default),
    }
}

/// A `window` without default.
pub(crate) const REQUIRED_WINDOW: ParamSpec = ParamSpec {
    name: "window",
    kind: ParamKind::Window,
    default: ParamDefault::Required,
};

/// The required `timeframe` of the multi-timeframe families.
pub(crate) const TIMEFRAME: ParamSpec = ParamSpec {
    name: "timeframe",
    kind: ParamKind::Timeframe,
    default: ParamDefault::Required,
};

/// A family as custom sets can use it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FamilySpec {
    /// The family name used in custom-set TOML and in the manifest.
    pub(crate) family: &'static str,
    pub(crate) params: &'static [ParamSpec],
    /// The parameter a list shorthand (`sma = [5, 10]`) expands over.
    pub(crate) list_param: Option<&'static str>,
}

/// A family and how to build its feature `F` from type-checked parameters (every
/// parameter of the family present); cross-parameter rules (fast < slow) are checked
/// by `build`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Builder<F> {
    pub(crate) spec: FamilySpec,
    pub(crate) build: fn(&Params<'_>) -> Result<F, String>,
}

impl<F> Builder<F> {
    pub(crate) const fn new(
        family: &'static str,
        params: &'static [ParamSpec],
        list_param: Option<&'static str>,
        build: fn(&Params<'_>) -> Result<F, String>,
    ) -> Self {
        Self {
            spec: FamilySpec {
                family,
                params,
                list_param,
            },
            build,
        }
    }
}

/// The type-checked parameters a [`Builder`] reads.
pub(crate) struct Params<'a> {
    get: &'a dyn Fn(&str) -> Option<Resolved>,
}

impl<'a> Params<'a> {
    pub(crate) fn new(get: &'a dyn Fn(&str) -> Option<Resolved>) -> Self {
        Self { get }
    }

    /// The window-like integer parameter `name`.
    pub(crate) fn window(&self, name: &str) -> Result<usize, String> {
        match (self.get)(name) {
            Some(Resolved::Window(v)) => Ok(v),
            _ => Err(format!("parameter {name} is missing")),
        }
    }

    /// The float parameter `name`.
    pub(crate) fn float(&self, name: &str) -> Result<f64, String> {
        match (self.get)(name) {
            Some(Resolved::Float(v)) => Ok(v),
            _ => Err(format!("parameter {name} is missing")),
        }
    }

    /// The `timeframe` parameter.
    pub(crate) fn timeframe(&self) -> Result<Interval, String> {
        match (self.get)("timeframe") {
            Some(Resolved::Timeframe(v)) => Ok(v),
            _ => Err("parameter timeframe is missing".to_string()),
        }
    }

    /// `fast` and `slow`, with fast < slow.
    pub(crate) fn fast_slow(&self) -> Result<(usize, usize), String> {
        let (fast, slow) = (self.window("fast")?, self.window("slow")?);
        if fast >= slow {
            return Err(format!("fast ({fast}) must be smaller than slow ({slow})"));
        }
        Ok((fast, slow))
    }
}
