//! Feature sets: built-in (`core31`, `mtf50`) or custom from TOML.
//!
//! Custom-set TOML (all problems are reported together, each naming the entry,
//! feature and parameter):
//!
//! ```toml
//! name = "my_set"          # required; letters, digits, `_`, `-`
//! version = 2              # optional, default 1
//! features = [
//!   "session_london",            # a family with default parameters
//!   "sma_7",                     # or any name of core31 / mtf50
//!   { sma = [5, 10, 200] },      # list shorthand: sma_5, sma_10, sma_200
//!   { rsi = { window = 21, name = "rsi_21" } },
//!   { bb_width = { window = 30, std = 2.5 } },
//!   { mtf_rsi = ["15m", "1h"] }, # mtf_15m_rsi, mtf_1h_rsi
//! ]
//! ```
//!
//! Families with a list shorthand: `sma`, `price_sma_ratio` (over `window`) and the
//! `mtf_*` families except `mtf_trend_alignment` (over `timeframe`).

use std::path::Path;

use gauntlet_datasets::Interval;
use toml::Value;

use super::catalog::{core31, mtf50};
use super::error::{FeatureError, SetIssue};
use super::indicators::{build_kind, family_spec, family_specs, FeatureKind};
use super::manifest::FeatureManifest;
use super::params::{
    FamilySpec, ParamDefault, ParamKind, ParamSpec, ParamValue, Resolved, MAX_WINDOW,
};

/// Names of the built-in sets.
pub const BUILTIN_SETS: [&str; 2] = ["core31", "mtf50"];

/// Column names an export writes besides the features; features may not use them.
pub const RESERVED_COLUMNS: [&str; 4] = ["symbol", "ts", "label", "ready"];

/// One feature of a set: its column name and what it computes.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureDef {
    name: String,
    kind: FeatureKind,
}

impl FeatureDef {
    /// A feature under its default name ([`FeatureKind::default_name`]).
    pub fn new(kind: FeatureKind) -> Self {
        Self {
            name: kind.default_name(),
            kind,
        }
    }

    /// A feature under a chosen column name.
    pub fn named(name: impl Into<String>, kind: FeatureKind) -> Self {
        Self {
            name: name.into(),
            kind,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> &FeatureKind {
        &self.kind
    }

    pub fn family(&self) -> &'static str {
        self.kind.family()
    }

    pub fn params(&self) -> Vec<(&'static str, ParamValue)> {
        self.kind.params()
    }

    /// Leading bars without a value, in bars of the feature's own timeframe.
    pub fn warmup_bars(&self) -> usize {
        self.kind.warmup_bars()
    }
}

/// A named, versioned, ordered list of features: the columns of a feature matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSet {
    name: String,
    version: u32,
    features: Vec<FeatureDef>,
}

impl FeatureSet {
    /// Builds a set, checking names (non-empty, `[A-Za-z0-9_]`, unique, not a reserved
    /// column) and parameter ranges (windows 1..=100000, fast < slow, std > 0).
    pub fn new(
        name: impl Into<String>,
        version: u32,
        features: Vec<FeatureDef>,
    ) -> Result<Self, FeatureError> {
        let name = name.into();
        let mut issues = Vec::new();
        check_set_name(&name, &mut issues);
        check_features(&features, &mut issues);
        if issues.is_empty() {
            Ok(Self {
                name,
                version,
                features,
            })
        } else {
            Err(FeatureError::InvalidSet {
                origin: name,
                issues,
            })
        }
    }

    /// The 31 core features (see the crate docs for the list), version 1.
    pub fn core31() -> Self {
        Self::from_kinds("core31", core31())
    }

    /// `core31` plus 19 multi-timeframe features (5m/15m/1h), version 1.
    pub fn mtf50() -> Self {
        Self::from_kinds("mtf50", mtf50())
    }

    fn from_kinds(name: &str, kinds: Vec<FeatureKind>) -> Self {
        Self {
            name: name.to_string(),
            version: 1,
            features: kinds.into_iter().map(FeatureDef::new).collect(),
        }
    }

    /// A built-in set by name.
    pub fn builtin(name: &str) -> Result<Self, FeatureError> {
        match name {
            "core31" => Ok(Self::core31()),
            "mtf50" => Ok(Self::mtf50()),
            _ => Err(FeatureError::UnknownSet {
                name: name.to_string(),
            }),
        }
    }

    /// A built-in set name, or a path to a custom-set `.toml` file.
    pub fn load(spec: &str) -> Result<Self, FeatureError> {
        if BUILTIN_SETS.contains(&spec) {
            return Self::builtin(spec);
        }
        let path = Path::new(spec);
        if spec.ends_with(".toml") || path.is_file() {
            return Self::from_toml_file(path);
        }
        Err(FeatureError::UnknownSet {
            name: spec.to_string(),
        })
    }

    /// Reads a custom set from a TOML file.
    pub fn from_toml_file(path: &Path) -> Result<Self, FeatureError> {
        let text = std::fs::read_to_string(path).map_err(|source| FeatureError::ReadSet {
            path: path.to_path_buf(),
            source,
        })?;
        parse_toml(&text, &path.display().to_string())
    }

    /// Parses a custom set from TOML text (see the module docs for the format).
    pub fn from_toml_str(text: &str) -> Result<Self, FeatureError> {
        parse_toml(text, "<toml>")
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    pub fn features(&self) -> &[FeatureDef] {
        &self.features
    }

    /// Column names in order.
    pub fn names(&self) -> Vec<&str> {
        self.features.iter().map(|f| f.name.as_str()).collect()
    }

    pub fn len(&self) -> usize {
        self.features.len()
    }

    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// The manifest (names, parameters, warm-up, version) with its content hash.
    pub fn manifest(&self) -> FeatureManifest {
        FeatureManifest::of(self)
    }

    /// Leading rows that are not ready on a gap-free series of `base` bars whose first
    /// bar opens on a boundary of every timeframe the set reads:
    /// `max(base warm-up, max over timeframes tf of (warm-up_tf + 1)·(tf / base))`.
    /// (Starting mid-bucket makes the first higher-timeframe bar partial and ready
    /// earlier; gaps and unusable bars make it later.)
    pub fn warmup_rows(&self, base: Interval) -> usize {
        let base_ms = base.millis().max(1);
        self.features
            .iter()
            .map(|f| {
                let tfs = f.kind.timeframes();
                if tfs.is_empty() {
                    f.warmup_bars()
                } else {
                    tfs.iter()
                        .map(|tf| (f.warmup_bars() + 1) * (tf.millis() / base_ms).max(1) as usize)
                        .max()
                        .unwrap_or(0)
                }
            })
            .max()
            .unwrap_or(0)
    }
}

fn check_set_name(name: &str, issues: &mut Vec<SetIssue>) {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        issues.push(SetIssue::InvalidName {
            name: name.to_string(),
            reason: "a set name needs letters, digits, `_` or `-` only".to_string(),
        });
    }
}

fn check_features(features: &[FeatureDef], issues: &mut Vec<SetIssue>) {
    if features.is_empty() {
        issues.push(SetIssue::Empty);
    }
    for (i, def) in features.iter().enumerate() {
        let ok = !def.name.is_empty()
            && def
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            issues.push(SetIssue::InvalidName {
                name: def.name.clone(),
                reason: "a feature name needs letters, digits or `_` only".to_string(),
            });
        } else if RESERVED_COLUMNS.contains(&def.name.as_str()) {
            issues.push(SetIssue::InvalidName {
                name: def.name.clone(),
                reason: format!(
                    "reserved for export columns ({})",
                    RESERVED_COLUMNS.join(", ")
                ),
            });
        }
        if let Some(first) = features[..i].iter().position(|f| f.name == def.name) {
            issues.push(SetIssue::DuplicateName {
                name: def.name.clone(),
                first: first + 1,
                second: i + 1,
            });
        }
        if let Err(message) = check_kind(&def.kind) {
            issues.push(SetIssue::InvalidValue {
                at: def.name.clone(),
                message,
            });
        }
    }
}

/// Range checks of a programmatically built feature (TOML input is checked while
/// parsing, with the same rules).
fn check_kind(kind: &FeatureKind) -> Result<(), String> {
    for (name, value) in kind.params() {
        match value {
            ParamValue::Int(v) if !(1..=MAX_WINDOW as i64).contains(&v) => {
                return Err(format!("parameter {name} = {v}: expected 1..={MAX_WINDOW}"));
            }
            ParamValue::Float(v) if !(v.is_finite() && v > 0.0) => {
                return Err(format!("parameter {name} = {v}: expected a number > 0"));
            }
            _ => {}
        }
    }
    let get = |param: &str| {
        kind.params()
            .into_iter()
            .find(|(n, _)| *n == param)
            .and_then(|(_, v)| match v {
                ParamValue::Int(v) => Some(Resolved::Window(v as usize)),
                ParamValue::Float(v) => Some(Resolved::Float(v)),
                ParamValue::Text(t) => t.parse::<Interval>().ok().map(Resolved::Timeframe),
            })
    };
    build_kind(kind.family(), get).map(|_| ())
}

fn type_name(value: &Value) -> String {
    match value {
        Value::String(s) => format!("string {s:?}"),
        Value::Integer(i) => format!("integer {i}"),
        Value::Float(f) => format!("float {f}"),
        Value::Boolean(b) => format!("boolean {b}"),
        Value::Datetime(d) => format!("datetime {d}"),
        Value::Array(_) => "an array".to_string(),
        Value::Table(_) => "a table".to_string(),
    }
}

fn parse_toml(text: &str, origin: &str) -> Result<FeatureSet, FeatureError> {
    let invalid = |issues| FeatureError::InvalidSet {
        origin: origin.to_string(),
        issues,
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| invalid(vec![SetIssue::Syntax(e.to_string())]))?;
    let mut issues = Vec::new();
    for key in table.keys() {
        if !["name", "version", "features"].contains(&key.as_str()) {
            issues.push(SetIssue::UnknownKey { key: key.clone() });
        }
    }
    let name = match table.get("name") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            issues.push(SetIssue::WrongType {
                at: "name".to_string(),
                expected: "a string".to_string(),
                found: type_name(other),
            });
            String::new()
        }
        None => {
            issues.push(SetIssue::MissingKey { key: "name" });
            String::new()
        }
    };
    if !name.is_empty() && BUILTIN_SETS.contains(&name.as_str()) {
        issues.push(SetIssue::InvalidName {
            name: name.clone(),
            reason: "reserved for the built-in set".to_string(),
        });
    }
    let version = match table.get("version") {
        None => 1,
        Some(Value::Integer(v)) if (1..=i64::from(u32::MAX)).contains(v) => *v as u32,
        Some(Value::Integer(v)) => {
            issues.push(SetIssue::InvalidValue {
                at: "version".to_string(),
                message: format!("{v} is not a version ≥ 1"),
            });
            1
        }
        Some(other) => {
            issues.push(SetIssue::WrongType {
                at: "version".to_string(),
                expected: "an integer ≥ 1".to_string(),
                found: type_name(other),
            });
            1
        }
    };
    let mut features = Vec::new();
    match table.get("features") {
        Some(Value::Array(entries)) => {
            for (i, entry) in entries.iter().enumerate() {
                parse_entry(i + 1, entry, &mut features, &mut issues);
            }
        }
        Some(other) => issues.push(SetIssue::WrongType {
            at: "features".to_string(),
            expected: "an array of feature names or { family = ... } tables".to_string(),
            found: type_name(other),
        }),
        None => issues.push(SetIssue::MissingKey { key: "features" }),
    }
    // Entry numbers for duplicate reporting are positions in the expanded list.
    if issues.is_empty() {
        FeatureSet::new(name, version, features).map_err(|e| match e {
            FeatureError::InvalidSet { issues, .. } => invalid(issues),
            other => other,
        })
    } else {
        if !features.is_empty() {
            check_features(&features, &mut issues);
        }
        Err(invalid(issues))
    }
}

fn family_names() -> Vec<&'static str> {
    family_specs().map(|f| f.family).collect()
}

/// A built-in set's feature by exact name (`sma_7`, `mtf_5m_rsi`, …).
fn builtin_feature(name: &str) -> Option<FeatureKind> {
    mtf50().into_iter().find(|k| k.default_name() == name)
}

fn parse_entry(entry: usize, value: &Value, out: &mut Vec<FeatureDef>, issues: &mut Vec<SetIssue>) {
    let at = format!("features[{entry}]");
    match value {
        Value::String(name) => {
            if let Some(kind) = builtin_feature(name) {
                out.push(FeatureDef::new(kind));
                return;
            }
            let Some(spec) = family_spec(name) else {
                issues.push(SetIssue::UnknownFeature {
                    entry,
                    name: name.clone(),
                    valid: family_names(),
                });
                return;
            };
            let params = toml::Table::new();
            if let Some(def) = resolve(spec, &params, name, issues) {
                out.push(def);
            }
        }
        Value::Table(table) if table.len() == 1 => {
            let Some((family, params)) = table.iter().next() else {
                return;
            };
            let Some(spec) = family_spec(family) else {
                issues.push(SetIssue::UnknownFeature {
                    entry,
                    name: family.clone(),
                    valid: family_names(),
                });
                return;
            };
            match params {
                Value::Table(params) => {
                    if let Some(def) = resolve(spec, params, family, issues) {
                        out.push(def);
                    }
                }
                Value::Array(items) => {
                    let Some(list_param) = spec.list_param else {
                        issues.push(SetIssue::WrongType {
                            at: format!("{at} ({family})"),
                            expected: format!(
                                "a parameter table such as {{ {family} = {{ {} }} }} (only sma, price_sma_ratio and mtf_* take a list)",
                                spec.params.iter().map(|p| format!("{} = …", p.name)).collect::<Vec<_>>().join(", ")
                            ),
                            found: "an array".to_string(),
                        });
                        return;
                    };
                    if items.is_empty() {
                        issues.push(SetIssue::InvalidValue {
                            at: format!("{at} ({family})"),
                            message: format!("the list of {list_param} values is empty"),
                        });
                    }
                    for item in items {
                        let mut params = toml::Table::new();
                        params.insert(list_param.to_string(), item.clone());
                        if let Some(def) = resolve(spec, &params, family, issues) {
                            out.push(def);
                        }
                    }
                }
                other => issues.push(SetIssue::WrongType {
                    at: format!("{at} ({family})"),
                    expected: "a parameter table or a list".to_string(),
                    found: type_name(other),
                }),
            }
        }
        other => issues.push(SetIssue::WrongType {
            at,
            expected:
                "a feature name or a table with exactly one family key, e.g. { sma = [5, 10] }"
                    .to_string(),
            found: type_name(other),
        }),
    }
}

/// Type-checks the given parameters against the family, fills defaults, builds the
/// feature. Pushes an issue and returns None on any problem.
fn resolve(
    spec: &FamilySpec,
    params: &toml::Table,
    label: &str,
    issues: &mut Vec<SetIssue>,
) -> Option<FeatureDef> {
    let issues_before = issues.len();
    let mut rename = None;
    for (key, value) in params {
        if key == "name" {
            match value {
                Value::String(s) => rename = Some(s.clone()),
                other => issues.push(SetIssue::WrongType {
                    at: format!("{label}.name"),
                    expected: "a string".to_string(),
                    found: type_name(other),
                }),
            }
        } else if !spec.params.iter().any(|p| p.name == key) {
            issues.push(SetIssue::UnknownParameter {
                feature: label.to_string(),
                parameter: key.clone(),
                valid: spec.params.iter().map(|p| p.name).collect(),
            });
        }
    }
    let mut resolved: Vec<(&'static str, Resolved)> = Vec::new();
    for param in spec.params {
        match params.get(param.name) {
            Some(value) => {
                if let Some(v) = check_param(param, value, label, issues) {
                    resolved.push((param.name, v));
                }
            }
            None => match param.default {
                ParamDefault::Window(v) => resolved.push((param.name, Resolved::Window(v))),
                ParamDefault::Float(v) => resolved.push((param.name, Resolved::Float(v))),
                ParamDefault::Required => issues.push(SetIssue::MissingParameter {
                    feature: label.to_string(),
                    parameter: param.name.to_string(),
                }),
            },
        }
    }
    if issues.len() > issues_before {
        return None;
    }
    let get = |name: &str| resolved.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    match build_kind(spec.family, get) {
        Ok(kind) => Some(match rename {
            Some(name) => FeatureDef::named(name, kind),
            None => FeatureDef::new(kind),
        }),
        Err(message) => {
            issues.push(SetIssue::InvalidValue {
                at: label.to_string(),
                message,
            });
            None
        }
    }
}

fn check_param(
    param: &ParamSpec,
    value: &Value,
    label: &str,
    issues: &mut Vec<SetIssue>,
) -> Option<Resolved> {
    let at = format!("{label}.{}", param.name);
    let wrong = |issues: &mut Vec<SetIssue>| {
        issues.push(SetIssue::WrongType {
            at: at.clone(),
            expected: param.kind.expected().to_string(),
            found: type_name(value),
        })
    };
    match (param.kind, value) {
        (ParamKind::Window, Value::Integer(v)) => {
            if (1..=MAX_WINDOW as i64).contains(v) {
                Some(Resolved::Window(*v as usize))
            } else {
                issues.push(SetIssue::InvalidValue {
                    at: at.clone(),
                    message: format!("{v} is out of range: expected {}", param.kind.expected()),
                });
                None
            }
        }
        (ParamKind::PositiveFloat, Value::Float(_) | Value::Integer(_)) => {
            let v = match value {
                Value::Float(f) => *f,
                Value::Integer(i) => *i as f64,
                _ => f64::NAN,
            };
            if v.is_finite() && v > 0.0 {
                Some(Resolved::Float(v))
            } else {
                issues.push(SetIssue::InvalidValue {
                    at: at.clone(),
                    message: format!("{v} is out of range: expected {}", param.kind.expected()),
                });
                None
            }
        }
        (ParamKind::Timeframe, Value::String(s)) => match s.parse::<Interval>() {
            Ok(tf) => Some(Resolved::Timeframe(tf)),
            Err(e) => {
                issues.push(SetIssue::InvalidValue {
                    at: at.clone(),
                    message: e.to_string(),
                });
                None
            }
        },
        _ => {
            wrong(issues);
            None
        }
    }
}
