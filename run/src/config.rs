//! The run config (`run.toml`): one file that says what to load, which features and
//! models, which strategy, how orders fill, which risk rules apply and what to write.
//!
//! ```toml
//! threads = 0                 # 0 = all cores; results never depend on it
//! initial_cash = 100000
//!
//! [data]
//! path = "../gauntlet-demo/data"   # relative paths are relative to this file
//! symbols = "all"                  # or ["SYM000", "SYM001"]
//! interval = "5m"
//! from = "2024-01-22"              # optional, bar open times [from, to)
//! to = "2024-02-01"
//!
//! [features]
//! set = "core31"                   # built-in name or a custom-set .toml
//!
//! [models]                         # the ensemble (needed by ensemble_threshold)
//! method = "mean"
//! engine = "auto"                  # native for tree ensembles; or native, onnxruntime
//! [[models.members]]
//! bundle = "../tests/fixtures/models/xgb3.bundle.json"
//!
//! [strategy]
//! kind = "ensemble_threshold"      # or sma_cross, buy_and_hold
//! enter = 0.6
//!
//! [fills]                          # gauntlet_engine::FillConfig
//! [risk]                           # gauntlet_engine::RiskConfig
//! [reporting]
//! out = "../reports/run"
//! ```
//!
//! Every table rejects unknown keys. [`RunConfig::parse`] reads each section on its own,
//! so a mistake in one section does not hide the mistakes in the others, then checks the
//! values (engine, strategy, ensemble, data window, feature set, files) and returns every
//! problem at once, each with the key and the line of the file it is on.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;
use std::path::{Path, PathBuf};

use gauntlet_datasets::load::parse_iso8601_ms;
use gauntlet_datasets::Interval;
use gauntlet_engine::{AmbiguityPolicy, EngineConfig, FillConfig, RiskConfig};
use gauntlet_reports::render::ReportFormat;
use gauntlet_reports::run::EndOfDataPolicy;
use gauntlet_reports::Annualization;
use gauntlet_strategies::ensemble::{CombineMethod, EnsembleConfig, MemberConfig, OnModelError};
use gauntlet_strategies::features::FeatureSet;
use gauntlet_strategies::models::EnginePreference;
use gauntlet_strategies::strategy::{EnsembleThresholdConfig, SmaCrossConfig};
use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// Top-level keys of a run config, in documentation order.
pub const TOP_LEVEL_KEYS: [&str; 9] = [
    "threads",
    "initial_cash",
    "data",
    "features",
    "models",
    "strategy",
    "fills",
    "risk",
    "reporting",
];

/// The most worker threads a run may ask for: far beyond any machine's cores, well
/// below the thousands a typo starts.
pub const MAX_THREADS: usize = 256;

/// A validated run config. Paths are already resolved against the config file's folder.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Worker threads for features, inference and sweeps (0 = all cores, at most
    /// [`MAX_THREADS`]).
    pub threads: usize,
    pub data: DataConfig,
    pub features: FeatureSet,
    pub models: Option<ModelsConfig>,
    pub strategy: StrategyConfig,
    /// Initial cash, fills and risk, as the engine takes them.
    pub engine: EngineConfig,
    pub reporting: ReportingConfig,
    /// The config as written (TOML parsed into JSON), echoed into every report.
    pub echo: serde_json::Value,
}

/// `[data]`, with the window parsed to ms.
#[derive(Debug, Clone, PartialEq)]
pub struct DataConfig {
    pub path: PathBuf,
    /// `None` = every symbol found.
    pub symbols: Option<Vec<String>>,
    pub interval: Interval,
    /// Finer candles of the same symbols (e.g. 1m under 5m) for `drill_down` fills.
    pub detail_interval: Option<Interval>,
    /// Bar open times `[from, to)` in ms.
    pub window: Option<(i64, i64)>,
}

/// `[models]`: the ensemble plus how it is checked and cached.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelsConfig {
    pub ensemble: EnsembleConfig,
    /// Run even if the backtest window overlaps a model's training window (leakage).
    pub allow_training_overlap: bool,
    /// Prediction cache folder; `None` disables caching.
    pub cache: Option<PathBuf>,
    /// Rows per inference call.
    pub batch_size: usize,
    /// Which engine scores ONNX models (default `auto`: native for tree ensembles).
    pub engine: EnginePreference,
}

/// `[strategy]`, by `kind`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StrategyConfig {
    EnsembleThreshold(EnsembleThresholdConfig),
    SmaCross(SmaCrossConfig),
    BuyAndHold,
}

impl StrategyConfig {
    /// The `kind` as written.
    pub fn name(&self) -> &'static str {
        match self {
            StrategyConfig::EnsembleThreshold(_) => "ensemble_threshold",
            StrategyConfig::SmaCross(_) => "sma_cross",
            StrategyConfig::BuyAndHold => "buy_and_hold",
        }
    }

    /// Whether the strategy reads model predictions.
    pub fn needs_models(&self) -> bool {
        matches!(self, StrategyConfig::EnsembleThreshold(_))
    }
}

/// `[reporting]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportingConfig {
    pub out: PathBuf,
    pub formats: Vec<ReportFormat>,
    pub annualization: Annualization,
    pub end_of_data: EndOfDataPolicy,
}

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted key (`risk.stop_loss.multiple`, `models.members[1].bundle`), or the
    /// section for a problem the TOML reader found inside it.
    pub key: String,
    /// 1-based line in the file, when the key is in the file.
    pub line: Option<usize>,
    pub message: String,
}

/// Every problem of a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    pub file: PathBuf,
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} problem(s) in the run config",
            self.file.display(),
            self.problems.len()
        )?;
        for p in &self.problems {
            match p.line {
                Some(line) => write!(
                    f,
                    "\n  {}:{line}: {}: {}",
                    self.file.display(),
                    p.key,
                    p.message
                )?,
                None => write!(f, "\n  {}: {}: {}", self.file.display(), p.key, p.message)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

// Raw sections as written (serde shapes); converted and checked into `RunConfig`.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawData {
    path: PathBuf,
    #[serde(default)]
    symbols: RawSymbols,
    interval: String,
    #[serde(default)]
    detail_interval: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum RawSymbols {
    #[default]
    #[serde(skip)]
    Unset,
    Keyword(String),
    List(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeatures {
    #[serde(default = "default_set")]
    set: String,
}

fn default_set() -> String {
    "core31".to_string()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModels {
    #[serde(default)]
    method: CombineMethod,
    #[serde(default)]
    on_model_error: OnModelError,
    #[serde(default)]
    allow_training_overlap: bool,
    #[serde(default)]
    cache: Option<PathBuf>,
    #[serde(default = "default_batch_size")]
    batch_size: usize,
    #[serde(default)]
    engine: EnginePreference,
    #[serde(default)]
    members: Vec<MemberConfig>,
}

fn default_batch_size() -> usize {
    4096
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReporting {
    #[serde(default = "default_out")]
    out: PathBuf,
    #[serde(default = "default_formats")]
    formats: Vec<String>,
    #[serde(default)]
    annualization: Option<RawAnnualization>,
    #[serde(default)]
    end_of_data: EndOfDataPolicy,
}

impl Default for RawReporting {
    fn default() -> Self {
        Self {
            out: default_out(),
            formats: default_formats(),
            annualization: None,
            end_of_data: EndOfDataPolicy::default(),
        }
    }
}

fn default_out() -> PathBuf {
    PathBuf::from("reports")
}

fn default_formats() -> Vec<String> {
    ["json", "md", "html", "csv"].map(String::from).to_vec()
}

/// `"calendar_days"` (365/year), `"trading_days"` (252/year) or a number of periods.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawAnnualization {
    Named(String),
    PeriodsPerYear(f64),
}

/// Reads one top-level key of the document and ignores the rest, so that each section
/// is deserialized (and fails) on its own, with the TOML reader's span.
struct Section<T>(&'static str, PhantomData<T>);

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Section<T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for Section<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a TOML document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == self.0 {
                found = Some(map.next_value::<T>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// One `key = value` of the file: its dotted path (`[i]` for array elements), its own
/// name and the bytes it spans, key to end of value.
#[derive(Debug, Clone)]
struct Entry {
    path: String,
    name: String,
    bytes: Range<usize>,
    in_inline_table: bool,
}

/// Every `key = value` under the top-level `section` of `text`, in file order.
fn entries(text: &str, section: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    if let Ok(document) = toml_edit::ImDocument::parse(text) {
        if let Some((key, item)) = document.as_table().get_key_value(section) {
            collect_item(section, key, item, false, &mut out);
        }
    }
    out
}

fn collect_item(
    path: &str,
    key: &toml_edit::Key,
    item: &toml_edit::Item,
    in_inline_table: bool,
    out: &mut Vec<Entry>,
) {
    match item {
        toml_edit::Item::Value(value) => {
            if let (Some(key_span), Some(value_span)) = (key.span(), value.span()) {
                out.push(Entry {
                    path: path.to_string(),
                    name: key.get().to_string(),
                    bytes: key_span.start..value_span.end,
                    in_inline_table,
                });
            }
            match value {
                toml_edit::Value::InlineTable(t) => collect_table(path, t, true, out),
                toml_edit::Value::Array(values) => {
                    for (i, v) in values.iter().enumerate() {
                        if let Some(t) = v.as_inline_table() {
                            collect_table(&format!("{path}[{i}]"), t, true, out);
                        }
                    }
                }
                _ => {}
            }
        }
        toml_edit::Item::Table(t) => collect_table(path, t, false, out),
        toml_edit::Item::ArrayOfTables(tables) => {
            for (i, t) in tables.iter().enumerate() {
                collect_table(&format!("{path}[{i}]"), t, false, out);
            }
        }
        toml_edit::Item::None => {}
    }
}

fn collect_table(
    prefix: &str,
    table: &dyn toml_edit::TableLike,
    in_inline_table: bool,
    out: &mut Vec<Entry>,
) {
    for (name, _) in table.iter() {
        if let Some((key, item)) = table.get_key_value(name) {
            collect_item(&format!("{prefix}.{name}"), key, item, in_inline_table, out);
        }
    }
}

/// The entry a deserialization error is about: the named unknown field, or the
/// innermost entry holding the error's position.
fn offending_entry(entries: &[Entry], err: &toml::de::Error) -> Option<Entry> {
    let span = err.span();
    if let Some(field) = quoted_after(err.message(), "unknown field `") {
        let named = entries.iter().filter(|e| e.name == field);
        let within_span = named.clone().find(|e| {
            span.as_ref()
                .is_some_and(|s| s.contains(&e.bytes.start) || e.bytes.contains(&s.start))
        });
        return within_span.or_else(|| named.clone().next()).cloned();
    }
    let start = span?.start;
    entries
        .iter()
        .filter(|e| e.bytes.contains(&start))
        .min_by_key(|e| e.bytes.len())
        .cloned()
}

/// The text between `prefix` and the next backtick of `message`.
fn quoted_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = &message[message.find(prefix)? + prefix.len()..];
    rest.split_once('`').map(|(field, _)| field)
}

/// `text` with `entry` replaced by spaces (newlines kept, so every other byte offset
/// and line stays where it was); in an inline table one neighbouring comma goes too.
fn blank(text: &str, entry: &Entry) -> String {
    let mut bytes = entry.bytes.clone();
    if entry.in_inline_table {
        let after = text[bytes.end..].trim_start_matches([' ', '\t']);
        if after.starts_with(',') {
            bytes.end = text.len() - after.len() + 1;
        } else {
            let before = text[..bytes.start].trim_end_matches([' ', '\t']);
            if before.ends_with(',') {
                bytes.start = before.len() - 1;
            }
        }
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..bytes.start]);
    // One space per byte: a multi-byte character must not shift what follows.
    out.extend(
        text.as_bytes()[bytes.clone()]
            .iter()
            .map(|&b| if b == b'\n' { '\n' } else { ' ' }),
    );
    out.push_str(&text[bytes.end..]);
    out
}

/// Finds keys in the parsed document to give problems a line number.
struct Locator<'a> {
    text: &'a str,
    document: toml_edit::ImDocument<&'a str>,
}

impl<'a> Locator<'a> {
    fn line_of_offset(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .bytes()
            .filter(|&b| b == b'\n')
            .count()
            + 1
    }

    /// The line of `key` (dotted, with `[i]` for array elements), or of the deepest
    /// part of it that exists in the file.
    fn line(&self, key: &str) -> Option<usize> {
        let mut span: Option<Range<usize>> = None;
        let mut table = Some(self.document.as_table() as &dyn toml_edit::TableLike);
        for segment in key.split('.') {
            let (name, index) = match segment.split_once('[') {
                Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
                None => (segment, None),
            };
            let Some((k, child)) = table.and_then(|t| t.get_key_value(name)) else {
                break;
            };
            span = k.span().or(span);
            if let Some(index) = index {
                match child {
                    toml_edit::Item::ArrayOfTables(tables) => {
                        let Some(t) = tables.get(index) else { break };
                        span = t.span().or(span);
                        table = Some(t);
                        continue;
                    }
                    toml_edit::Item::Value(toml_edit::Value::Array(values)) => {
                        let Some(v) = values.get(index) else { break };
                        span = v.span().or(span);
                        table = v.as_inline_table().map(|t| t as &dyn toml_edit::TableLike);
                        continue;
                    }
                    _ => break,
                }
            }
            table = child.as_table_like();
        }
        span.map(|s| self.line_of_offset(s.start))
    }
}

/// Collects problems, each located in the file.
struct Problems<'a> {
    locator: Locator<'a>,
    list: Vec<ConfigProblem>,
}

impl Problems<'_> {
    fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        let key = key.into();
        let line = self.locator.line(&key);
        self.list.push(ConfigProblem {
            key,
            line,
            message: message.into(),
        });
    }

    /// A deserialization error of `section`, about `entry` when it could be pinned to
    /// one, else located by the reader's span.
    fn push_toml(&mut self, section: &str, err: &toml::de::Error, entry: Option<&Entry>) {
        let (key, line) = match entry {
            Some(entry) => (
                entry.path.clone(),
                Some(self.locator.line_of_offset(entry.bytes.start)),
            ),
            None => (
                section.to_string(),
                err.span().map(|s| self.locator.line_of_offset(s.start)),
            ),
        };
        self.list.push(ConfigProblem {
            key,
            line,
            message: err.message().to_string(),
        });
    }
}

impl RunConfig {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigErrors {
            file: path.to_path_buf(),
            problems: vec![ConfigProblem {
                key: "-".into(),
                line: None,
                message: format!("cannot read the file: {err}"),
            }],
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks `text`; `path` names the file in problems and its folder is
    /// the base of relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigErrors> {
        let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
        let fail = |problems: Vec<ConfigProblem>| ConfigErrors {
            file: path.to_path_buf(),
            problems,
        };
        let document = match toml_edit::ImDocument::parse(text) {
            Ok(document) => document,
            Err(err) => {
                let line = err
                    .span()
                    .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
                return Err(fail(vec![ConfigProblem {
                    key: "-".into(),
                    line,
                    message: format!("not valid TOML: {}", err.message()),
                }]));
            }
        };
        let mut problems = Problems {
            locator: Locator { text, document },
            list: Vec::new(),
        };
        let unknown: Vec<String> = problems
            .locator
            .document
            .as_table()
            .iter()
            .map(|(k, _)| k.to_string())
            .filter(|k| !TOP_LEVEL_KEYS.contains(&k.as_str()))
            .collect();
        for key in unknown {
            problems.push(
                key,
                format!("unknown key; expected one of {}", TOP_LEVEL_KEYS.join(", ")),
            );
        }
        let threads: Option<usize> = section(text, "threads", &mut problems);
        if let Some(threads) = threads.filter(|&t| t > MAX_THREADS) {
            problems.push(
                "threads",
                format!("{threads}: expected 0 (all cores) up to {MAX_THREADS}"),
            );
        }
        let initial_cash: Option<f64> = section(text, "initial_cash", &mut problems);
        let data: Option<RawData> = section(text, "data", &mut problems);
        let features: Option<RawFeatures> = section(text, "features", &mut problems);
        let models: Option<RawModels> = section(text, "models", &mut problems);
        let strategy = strategy_section(text, &mut problems);
        let fills: Option<FillConfig> = section(text, "fills", &mut problems);
        let risk: Option<RiskConfig> = section(text, "risk", &mut problems);
        let reporting: Option<RawReporting> = section(text, "reporting", &mut problems);
        let parsed_sections = problems.list.is_empty();

        let data = match data {
            Some(raw) => check_data(raw, &base, &mut problems),
            None => {
                if parsed_sections || !has_key(&problems, "data") {
                    problems.push(
                        "data",
                        "missing section: [data] with path and interval is required",
                    );
                }
                None
            }
        };
        let features = check_features(features, &base, &mut problems);
        let strategy = match strategy {
            Some(strategy) => {
                check_strategy(&strategy, &mut problems);
                Some(strategy)
            }
            None => {
                if !has_key(&problems, "strategy") {
                    problems.push(
                        "strategy",
                        "missing section: [strategy] with kind = \"ensemble_threshold\" | \"sma_cross\" | \"buy_and_hold\"",
                    );
                }
                None
            }
        };
        let models = models.map(|raw| check_models(raw, &base, &mut problems));
        match (&strategy, &models) {
            (Some(s), None) if s.needs_models() && !has_key(&problems, "models") => problems.push(
                "models",
                "the strategy reads model predictions: add [models] with at least one [[models.members]]",
            ),
            (Some(s), Some(_)) if !s.needs_models() => problems.push(
                "models",
                "the strategy does not read model predictions; remove [models] (or use kind = \"ensemble_threshold\")",
            ),
            _ => {}
        }
        let engine = EngineConfig {
            initial_cash: initial_cash.unwrap_or(EngineConfig::default().initial_cash),
            fills: fills.unwrap_or_default(),
            risk: risk.unwrap_or_default(),
        };
        if let Err(err) = engine.validate() {
            // The engine's field paths match the file: `initial_cash`, `fills.…`, `risk.…`.
            for field in err.errors {
                problems.push(field.field, field.message);
            }
        }
        if let Some(data) = &data {
            if engine.fills.ambiguity == AmbiguityPolicy::DrillDown
                && data.detail_interval.is_none()
            {
                problems.push(
                    "fills.ambiguity",
                    "drill_down replays finer candles: set data.detail_interval (e.g. \"1m\")",
                );
            }
        }
        let reporting = check_reporting(reporting.unwrap_or_default(), &base, &mut problems);

        if !problems.list.is_empty() {
            let mut list = problems.list;
            // In file order; problems without a line (missing sections) last.
            list.sort_by_key(|p| (p.line.is_none(), p.line));
            return Err(fail(list));
        }
        let echo = toml::from_str::<toml::Value>(text)
            .ok()
            .and_then(|v| serde_json::to_value(v).ok())
            .unwrap_or(serde_json::Value::Null);
        match (data, features, strategy) {
            (Some(data), Some(features), Some(strategy)) => Ok(Self {
                threads: threads.unwrap_or(0),
                data,
                features,
                models,
                strategy,
                engine,
                reporting,
                echo,
            }),
            // Unreachable in practice: a missing part always records a problem above.
            _ => Err(fail(vec![ConfigProblem {
                key: "-".into(),
                line: None,
                message: "incomplete config".into(),
            }])),
        }
    }
}

fn has_key(problems: &Problems<'_>, key: &str) -> bool {
    problems
        .list
        .iter()
        .any(|p| p.key == key || p.key.starts_with(&format!("{key}.")))
}

/// Reads the top-level `key` of `text` as `T`, reporting every problem in it: after an
/// error the offending entry is blanked out and the section read again, until it reads
/// cleanly or an error cannot be pinned to an entry. What is left is returned, so that
/// its values are checked too (the config is refused anyway); `None` when the section is
/// absent or an error could not be pinned to an entry.
fn section<T: DeserializeOwned>(
    text: &str,
    key: &'static str,
    problems: &mut Problems<'_>,
) -> Option<T> {
    let mut text = Cow::Borrowed(text);
    let mut blanked: Vec<String> = Vec::new();
    loop {
        let err = match Section::<T>(key, PhantomData).deserialize(toml::Deserializer::new(&text)) {
            Ok(value) => return value,
            Err(err) => err,
        };
        // A required entry blanked after its own error: that error was the report.
        if quoted_after(err.message(), "missing field `")
            .is_some_and(|field| blanked.iter().any(|b| b == field))
        {
            return None;
        }
        let entry = offending_entry(&entries(&text, key), &err);
        problems.push_toml(key, &err, entry.as_ref());
        let entry = entry?;
        let rest = blank(&text, &entry);
        toml_edit::ImDocument::parse(rest.as_str()).ok()?;
        blanked.push(entry.name);
        text = Cow::Owned(rest);
    }
}

/// No keys besides `kind` (`buy_and_hold`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParameters {}

/// `[strategy]`: `kind` picks the variant, whose keys are then read as a section of
/// their own (serde's internally tagged enums buffer the table and lose every position,
/// so only the first problem could be reported, and without its line).
fn strategy_section(text: &str, problems: &mut Problems<'_>) -> Option<StrategyConfig> {
    const KINDS: &str = "\"ensemble_threshold\" | \"sma_cross\" | \"buy_and_hold\"";
    let item = problems.locator.document.get("strategy")?;
    let Some(table) = item.as_table_like() else {
        problems.push("strategy", format!("expected a table with kind = {KINDS}"));
        return None;
    };
    let kind = match table.get("kind").map(|k| k.as_str()) {
        Some(Some(kind)) => kind.to_string(),
        Some(None) => {
            problems.push("strategy.kind", format!("not a string; expected {KINDS}"));
            return None;
        }
        None => {
            problems.push("strategy.kind", format!("missing; expected kind = {KINDS}"));
            return None;
        }
    };
    // Parsing gives every key a span, so the entry is always found.
    let Some(kind_entry) = entries(text, "strategy")
        .into_iter()
        .find(|e| e.path == "strategy.kind")
    else {
        problems.push("strategy.kind", "could not be located in the file");
        return None;
    };
    let rest = blank(text, &kind_entry);
    match kind.as_str() {
        "ensemble_threshold" => {
            section(&rest, "strategy", problems).map(StrategyConfig::EnsembleThreshold)
        }
        "sma_cross" => section(&rest, "strategy", problems).map(StrategyConfig::SmaCross),
        "buy_and_hold" => {
            section::<NoParameters>(&rest, "strategy", problems).map(|_| StrategyConfig::BuyAndHold)
        }
        other => {
            problems.push("strategy.kind", format!("{other:?}: expected {KINDS}"));
            None
        }
    }
}

fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

fn parse_interval(key: &str, text: &str, problems: &mut Problems<'_>) -> Option<Interval> {
    match text.parse::<Interval>() {
        Ok(interval) => Some(interval),
        Err(err) => {
            problems.push(key, err.to_string());
            None
        }
    }
}

fn parse_time(key: &str, text: &str, problems: &mut Problems<'_>) -> Option<i64> {
    let parsed = parse_iso8601_ms(text);
    if parsed.is_none() {
        problems.push(
            key,
            format!("{text:?} is not an ISO-8601 time (e.g. 2024-01-01 or 2024-01-01T00:00:00Z)"),
        );
    }
    parsed
}

fn check_data(raw: RawData, base: &Path, problems: &mut Problems<'_>) -> Option<DataConfig> {
    let path = resolve(base, &raw.path);
    if !path.exists() {
        problems.push(
            "data.path",
            format!(
                "{} does not exist (relative paths start at the config file's folder)",
                path.display()
            ),
        );
    }
    let symbols = match raw.symbols {
        RawSymbols::Unset => None,
        RawSymbols::Keyword(k) if k == "all" => None,
        RawSymbols::Keyword(k) => {
            problems.push(
                "data.symbols",
                format!("{k:?}: expected \"all\" or a list of symbols"),
            );
            None
        }
        RawSymbols::List(list) if list.is_empty() => {
            problems.push(
                "data.symbols",
                "an empty list selects nothing; use \"all\" or name symbols",
            );
            None
        }
        RawSymbols::List(list) => Some(list),
    };
    let interval = parse_interval("data.interval", &raw.interval, problems);
    let detail_interval = raw
        .detail_interval
        .as_deref()
        .and_then(|d| parse_interval("data.detail_interval", d, problems));
    if let (Some(i), Some(d)) = (interval, detail_interval) {
        if d.millis() >= i.millis() {
            problems.push(
                "data.detail_interval",
                format!("{d} is not finer than the run's interval {i}"),
            );
        }
    }
    let from = raw
        .from
        .as_deref()
        .map(|t| parse_time("data.from", t, problems));
    let to = raw
        .to
        .as_deref()
        .map(|t| parse_time("data.to", t, problems));
    let window = match (from, to) {
        (None, None) => None,
        (Some(None), _) | (_, Some(None)) => None,
        (from, to) => {
            let (from, to) = (
                from.flatten().unwrap_or(i64::MIN),
                to.flatten().unwrap_or(i64::MAX),
            );
            if from >= to {
                problems.push("data.to", "must be after data.from");
            }
            Some((from, to))
        }
    };
    Some(DataConfig {
        path,
        symbols,
        interval: interval?,
        detail_interval,
        window,
    })
}

fn check_features(
    raw: Option<RawFeatures>,
    base: &Path,
    problems: &mut Problems<'_>,
) -> Option<FeatureSet> {
    let set = raw.map_or_else(default_set, |r| r.set);
    // A custom set is a file: resolve it like every other path of the config.
    let spec = if set.ends_with(".toml") {
        resolve(base, Path::new(&set))
            .to_string_lossy()
            .into_owned()
    } else {
        set
    };
    match FeatureSet::load(&spec) {
        Ok(set) => Some(set),
        Err(err) => {
            problems.push("features.set", err.to_string());
            None
        }
    }
}

fn check_strategy(strategy: &StrategyConfig, problems: &mut Problems<'_>) {
    let result = match strategy {
        StrategyConfig::EnsembleThreshold(c) => c.validate(),
        StrategyConfig::SmaCross(c) => c.validate(),
        StrategyConfig::BuyAndHold => Ok(()),
    };
    if let Err(err) = result {
        for field in err.errors {
            problems.push(format!("strategy.{}", field.field), field.message);
        }
    }
}

fn check_models(raw: RawModels, base: &Path, problems: &mut Problems<'_>) -> ModelsConfig {
    let members: Vec<MemberConfig> = raw
        .members
        .into_iter()
        .map(|m| MemberConfig {
            bundle: resolve(base, &m.bundle),
            ..m
        })
        .collect();
    if members.is_empty() {
        problems.push(
            "models.members",
            "at least one [[models.members]] with a bundle is required",
        );
    }
    let mut seen: Vec<(PathBuf, usize)> = Vec::new();
    for (index, member) in members.iter().enumerate() {
        if !member.weight.is_finite() || member.weight <= 0.0 {
            problems.push(
                format!("models.members[{index}].weight"),
                format!("{} must be finite and > 0", member.weight),
            );
        }
        let json = gauntlet_strategies::models::bundle_json_path(&member.bundle);
        if !json.exists() {
            problems.push(
                format!("models.members[{index}].bundle"),
                format!("{} does not exist", json.display()),
            );
        } else if let Ok(path) = json.canonicalize() {
            // The same model twice would count its vote twice in the ensemble.
            match seen.iter().find(|(p, _)| *p == path) {
                Some((_, first)) => problems.push(
                    format!("models.members[{index}].bundle"),
                    format!(
                        "{} is already models.members[{first}]: list each bundle once (use \
                         `weight` to give a member more say)",
                        json.display()
                    ),
                ),
                None => seen.push((path, index)),
            }
        }
    }
    if raw.batch_size == 0 {
        problems.push("models.batch_size", "must be at least 1");
    }
    ModelsConfig {
        ensemble: EnsembleConfig {
            method: raw.method,
            on_model_error: raw.on_model_error,
            members,
        },
        allow_training_overlap: raw.allow_training_overlap,
        cache: raw.cache.map(|c| resolve(base, &c)),
        batch_size: raw.batch_size,
        engine: raw.engine,
    }
}

fn check_reporting(raw: RawReporting, base: &Path, problems: &mut Problems<'_>) -> ReportingConfig {
    let mut formats = Vec::new();
    for (index, name) in raw.formats.iter().enumerate() {
        match name.as_str() {
            "json" => formats.push(ReportFormat::Json),
            "md" | "markdown" => formats.push(ReportFormat::Markdown),
            "html" => formats.push(ReportFormat::Html),
            "csv" => formats.extend([ReportFormat::TradesCsv, ReportFormat::RiskEventsCsv]),
            other => problems.push(
                format!("reporting.formats[{index}]"),
                format!("{other:?}: expected json, md, html or csv"),
            ),
        }
    }
    formats.sort();
    formats.dedup();
    let annualization = match raw.annualization {
        None => Annualization::CalendarDays,
        Some(RawAnnualization::Named(name)) => match name.as_str() {
            "calendar_days" => Annualization::CalendarDays,
            "trading_days" => Annualization::TradingDays,
            other => {
                problems.push(
                    "reporting.annualization",
                    format!("{other:?}: expected \"calendar_days\" (365/year), \"trading_days\" (252/year) or a number of periods per year"),
                );
                Annualization::CalendarDays
            }
        },
        Some(RawAnnualization::PeriodsPerYear(p)) => {
            Annualization::custom(p).unwrap_or_else(|err| {
                problems.push("reporting.annualization", err.to_string());
                Annualization::CalendarDays
            })
        }
    };
    ReportingConfig {
        out: resolve(base, &raw.out),
        formats,
        annualization,
        end_of_data: raw.end_of_data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locator(text: &str) -> Locator<'_> {
        Locator {
            text,
            document: toml_edit::ImDocument::parse(text).unwrap(),
        }
    }

    #[test]
    fn locates_nested_keys_array_elements_and_falls_back_to_the_parent() {
        let text = "threads = 1\n\n[risk]\nstop_loss = { type = \"atr\", multiple = 1.2 }\ntake_profit = { type = \"percent\", percent = 2.0 }\n[[models.members]]\nbundle = \"a\"\n\n[[models.members]]\nweight = 2.0\nbundle = \"b\"\n";
        let l = locator(text);
        assert_eq!(l.line("threads"), Some(1));
        assert_eq!(l.line("risk.take_profit.percent"), Some(5));
        assert_eq!(l.line("models.members[1].bundle"), Some(11));
        assert_eq!(l.line("models.members[0].bundle"), Some(7));
        // Not in the file: the deepest part that is.
        assert_eq!(l.line("risk.stop_loss.percent"), Some(4));
        assert_eq!(l.line("fills.fees"), None);
    }

    #[test]
    fn every_problem_of_one_section_is_reported_with_its_line() {
        let text = "[strategy]\nkind = \"sma_cross\"\nfastt = 3\nslow = \"thirty\"\nlong_onli = true\n\n[risk]\nstop_los = 1.0\nmax_open_positions = \"many\"\nstop_loss = { type = \"atr\", multple = 1.2, extra = 1 }\ncapital_ramp = [{ after_minutes = 0, fraction = 0.1 }, { after_minutes = \"x\", fraction = 1.0 }]\n[[risk.unknown_table]]\n";
        let err = RunConfig::parse(text, Path::new("run.toml")).unwrap_err();
        let found: Vec<(Option<usize>, &str, &str)> = err
            .problems
            .iter()
            .map(|p| (p.line, p.key.as_str(), p.message.as_str()))
            .collect();
        let expect = [
            (3, "strategy.fastt", "unknown field `fastt`"),
            (4, "strategy.slow", "invalid type: string \"thirty\""),
            (5, "strategy.long_onli", "unknown field `long_onli`"),
            (8, "risk.stop_los", "unknown field `stop_los`"),
            (
                9,
                "risk.max_open_positions",
                "invalid type: string \"many\"",
            ),
            (10, "risk.stop_loss.multple", "unknown field `multple`"),
            (10, "risk.stop_loss.extra", "unknown field `extra`"),
            (
                11,
                "risk.capital_ramp[1].after_minutes",
                "invalid type: string \"x\"",
            ),
        ];
        for (line, key, message) in expect {
            assert!(
                found
                    .iter()
                    .any(|f| f.0 == Some(line) && f.1 == key && f.2.starts_with(message)),
                "no {line}: {key}: {message} in {found:#?}"
            );
        }
        // Blanked keys never come back as "missing field" problems.
        assert!(
            !found.iter().any(|f| f.2.starts_with("missing field")),
            "{found:#?}"
        );
    }

    #[test]
    fn strategy_kind_problems_name_the_kinds() {
        for (text, key, message) in [
            (
                "[strategy]\nfast = 3\n",
                "strategy.kind",
                "missing; expected kind = ",
            ),
            (
                "[strategy]\nkind = \"sma\"\n",
                "strategy.kind",
                "\"sma\": expected ",
            ),
            (
                "[strategy]\nkind = 3\n",
                "strategy.kind",
                "not a string; expected ",
            ),
            ("strategy = 3\n", "strategy", "expected a table"),
            (
                "[strategy]\nkind = \"buy_and_hold\"\nfast = 3\n",
                "strategy.fast",
                "unknown field `fast`",
            ),
        ] {
            let err = RunConfig::parse(text, Path::new("run.toml")).unwrap_err();
            assert!(
                err.problems
                    .iter()
                    .any(|p| p.key == key && p.message.starts_with(message)),
                "{text:?}: {err}"
            );
        }
    }

    #[test]
    fn blanking_keeps_offsets_and_inline_tables_valid() {
        let text = "[risk]\nstop_loss = { type = \"atr\", \"é\" = 1, multiple = 1.2 }\nx = 1\n";
        let all = entries(text, "risk");
        let accent = all.iter().find(|e| e.name == "é").unwrap();
        let rest = blank(text, accent);
        assert_eq!(rest.len(), text.len());
        assert!(rest.ends_with("multiple = 1.2 }\nx = 1\n"), "{rest}");
        let last = all.iter().find(|e| e.name == "multiple").unwrap();
        let rest = blank(text, last);
        assert!(
            toml_edit::ImDocument::parse(rest.as_str()).is_ok(),
            "{rest}"
        );
        assert_eq!(entries(&rest, "risk").len(), all.len() - 1);
    }

    #[test]
    fn a_missing_section_is_one_problem_and_a_valid_config_parses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.toml");
        let err = RunConfig::parse("[strategy]\nkind = \"buy_and_hold\"\n", &path).unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert_eq!(err.problems[0].key, "data");
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let config = RunConfig::parse(
            "[data]\npath = \"data\"\ninterval = \"5m\"\nfrom = \"2024-01-02\"\nto = \"2024-01-03\"\n[strategy]\nkind = \"buy_and_hold\"\n",
            &path,
        )
        .unwrap();
        assert_eq!(config.data.path, dir.path().join("data"));
        assert_eq!(
            config.data.window,
            Some((1_704_153_600_000, 1_704_240_000_000))
        );
        assert_eq!(config.features.name(), "core31");
        assert_eq!(config.reporting.out, dir.path().join("reports"));
        assert_eq!(config.echo["strategy"]["kind"], "buy_and_hold");
    }

    /// `text` with some characters replaced by ones that matter to TOML, and its tail
    /// maybe cut.
    fn mutated(text: &'static str) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let chars: Vec<char> = text.chars().collect();
        let len = chars.len();
        (
            prop::collection::vec(
                (0..len, prop::sample::select(&b"\"=[]{}.,-+019e\n#_ "[..])),
                1..6,
            ),
            prop_oneof![3 => Just(len), 1 => 0..len],
        )
            .prop_map(move |(edits, keep)| {
                let mut chars = chars.clone();
                for (at, c) in edits {
                    chars[at] = char::from(c);
                }
                chars.truncate(keep);
                chars.into_iter().collect()
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// A damaged run config is parsed or refused, never a panic.
        #[test]
        fn damaged_configs_never_panic(
            text in proptest::prop_oneof![
                mutated(include_str!("../../configs/demo.toml")),
                mutated(include_str!("../../configs/universe_5m_risk.toml")),
            ],
        ) {
            let _ = RunConfig::parse(&text, Path::new("configs/run.toml"));
        }

        /// And a damaged gates file.
        #[test]
        fn damaged_gates_never_panic(text in mutated(include_str!("../../configs/gates.toml"))) {
            let _ = gauntlet_reports::gates::GateSpec::from_toml_str(&text);
        }
    }
}
