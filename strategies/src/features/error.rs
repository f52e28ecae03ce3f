//! Errors of the feature pipeline.

use std::fmt;
use std::path::PathBuf;

use gauntlet_datasets::Interval;

/// Everything that can go wrong building a feature set or computing features.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// `--set NAME` names neither a built-in set nor a `.toml` file.
    #[error("unknown feature set {name:?}: expected one of {} or a path to a .toml file", crate::features::BUILTIN_SETS.join(", "))]
    UnknownSet { name: String },
    /// A custom-set file could not be read.
    #[error("cannot read feature set file {}: {source}", path.display())]
    ReadSet {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A custom set has one or more problems (all of them are listed).
    #[error("invalid feature set {origin}: {}", issues.iter().map(|i| format!("\n  - {i}")).collect::<String>())]
    InvalidSet {
        origin: String,
        issues: Vec<SetIssue>,
    },
    /// A multi-timeframe feature reads bars shorter than the series' own bars.
    #[error("feature {feature} reads {timeframe} bars, which are shorter than the series interval {base}: use a base interval ≤ {timeframe}")]
    TimeframeBelowBase {
        feature: String,
        timeframe: Interval,
        base: Interval,
    },
    /// Batch computation needs strictly increasing bar open times.
    #[error("{symbol}: bar open times must increase strictly, but row {row} (ts {ts}) follows ts {previous}")]
    UnsortedTimestamps {
        symbol: String,
        row: usize,
        previous: i64,
        ts: i64,
    },
    /// A manifest JSON document that does not parse or has the wrong schema.
    #[error("invalid feature manifest: {0}")]
    ManifestFormat(String),
    /// A manifest whose recorded hash does not match its content.
    #[error("feature manifest hash mismatch: recorded {recorded}, content hashes to {computed}")]
    ManifestHash { recorded: String, computed: String },
    /// Label parameters out of range.
    #[error("invalid label parameters: {0}")]
    InvalidLabels(String),
}

/// One problem in a feature-set definition. Entries are numbered from 1.
#[derive(Debug, Clone, PartialEq)]
pub enum SetIssue {
    /// The TOML does not parse.
    Syntax(String),
    /// A required top-level key is absent.
    MissingKey { key: &'static str },
    /// A top-level key that is not `name`, `version` or `features`.
    UnknownKey { key: String },
    /// A value of the wrong type.
    WrongType {
        at: String,
        expected: String,
        found: String,
    },
    /// A value of the right type but out of range.
    InvalidValue { at: String, message: String },
    /// Neither a built-in feature name nor a family.
    UnknownFeature {
        entry: usize,
        name: String,
        valid: Vec<&'static str>,
    },
    /// A parameter the family does not have.
    UnknownParameter {
        feature: String,
        parameter: String,
        valid: Vec<&'static str>,
    },
    /// A required parameter that was not given.
    MissingParameter { feature: String, parameter: String },
    /// Two features with the same name.
    DuplicateName {
        name: String,
        first: usize,
        second: usize,
    },
    /// A feature or set name that is not allowed.
    InvalidName { name: String, reason: String },
    /// A set without features.
    Empty,
}

impl fmt::Display for SetIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetIssue::Syntax(message) => write!(f, "TOML syntax: {message}"),
            SetIssue::MissingKey { key } => write!(f, "missing key `{key}`"),
            SetIssue::UnknownKey { key } => {
                write!(f, "unknown key `{key}`: valid keys are name, version, features")
            }
            SetIssue::WrongType {
                at,
                expected,
                found,
            } => write!(f, "{at}: expected {expected}, found {found}"),
            SetIssue::InvalidValue { at, message } => write!(f, "{at}: {message}"),
            SetIssue::UnknownFeature { entry, name, valid } => write!(
                f,
                "features[{entry}]: unknown feature `{name}`; valid families: {} (and every name of the built-in sets, e.g. sma_7, mtf_5m_rsi)",
                valid.join(", ")
            ),
            SetIssue::UnknownParameter {
                feature,
                parameter,
                valid,
            } => {
                if valid.is_empty() {
                    write!(f, "{feature}: unknown parameter `{parameter}`; it takes no parameters (only `name`)")
                } else {
                    write!(
                        f,
                        "{feature}: unknown parameter `{parameter}`; valid parameters: {}, name",
                        valid.join(", ")
                    )
                }
            }
            SetIssue::MissingParameter { feature, parameter } => {
                write!(f, "{feature}: missing parameter `{parameter}`")
            }
            SetIssue::DuplicateName {
                name,
                first,
                second,
            } => write!(
                f,
                "duplicate feature name `{name}` (features[{first}] and features[{second}]); rename one with `name = \"...\"`"
            ),
            SetIssue::InvalidName { name, reason } => write!(f, "invalid name `{name}`: {reason}"),
            SetIssue::Empty => write!(f, "`features` is empty: a set needs at least one feature"),
        }
    }
}
