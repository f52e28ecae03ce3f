//! `grid.toml`: which run-config keys a sweep varies, over which values, and the
//! statistic it ranks the configs by.
//!
//! ```toml
//! objective = "sharpe_ratio"   # any statistic of the report (default sharpe_ratio)
//! direction = "max"            # max (default) or min
//!
//! [grid]
//! "risk.stop_loss.multiple" = [0.8, 1.2, 1.6, 2.0]
//! "risk.daily_drawdown_limit" = [0.05, 0.08]
//! "strategy.enter" = [0.55, 0.6, 0.65]
//! ```
//!
//! The grid is the cartesian product of the value lists, keys in sorted order, the last
//! key varying fastest. Only keys that do not change the data, features or predictions
//! may vary (`initial_cash`, `fills.…`, `risk.…`, `strategy.…`): those are computed once
//! and shared by every config.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use gauntlet_reports::calibration::CalibrationReport;
use gauntlet_reports::stats::statistic_names;
use serde::Deserialize;

use crate::config::{ConfigErrors, RunConfig};

/// Key prefixes a sweep may vary.
pub const SWEEPABLE: [&str; 4] = ["initial_cash", "fills.", "risk.", "strategy."];

/// Whether the objective is maximized or minimized.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    #[default]
    Max,
    Min,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrid {
    #[serde(default = "default_objective")]
    objective: String,
    #[serde(default)]
    direction: Goal,
    grid: BTreeMap<String, Vec<toml::Value>>,
}

fn default_objective() -> String {
    "sharpe_ratio".to_string()
}

/// A validated grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub objective: String,
    pub direction: Goal,
    /// Keys in sorted order with their values.
    pub axes: Vec<(String, Vec<toml::Value>)>,
}

/// One config of the grid: `(key, value)` per axis.
pub type GridPoint = Vec<(String, toml::Value)>;

impl Grid {
    /// Reads and checks a grid file; every problem at once, naming the key.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        // What an objective may name: every statistic and every calibration value.
        let mut known_statistics = statistic_names();
        known_statistics.extend(CalibrationReport::VALUE_NAMES);
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the grid {}", path.display()))?;
        let raw: RawGrid = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid grid file", path.display()))?;
        let mut problems = Vec::new();
        if !known_statistics.contains(&raw.objective.as_str()) {
            problems.push(format!(
                "objective = {:?} is not a statistic; expected one of {}",
                raw.objective,
                known_statistics.join(", ")
            ));
        }
        if raw.grid.is_empty() {
            problems.push("[grid] is empty: give at least one key = [values]".to_string());
        }
        for (key, values) in &raw.grid {
            if !SWEEPABLE
                .iter()
                .any(|p| key == p.trim_end_matches('.') || key.starts_with(p))
            {
                problems.push(format!(
                    "grid key {key:?}: a sweep varies only {} keys (data, features and models are computed once)",
                    SWEEPABLE.join(", ")
                ));
            }
            if values.is_empty() {
                problems.push(format!("grid key {key:?} has no values"));
            }
            for value in values {
                if !matches!(
                    value,
                    toml::Value::Integer(_)
                        | toml::Value::Float(_)
                        | toml::Value::Boolean(_)
                        | toml::Value::String(_)
                ) {
                    problems.push(format!(
                        "grid key {key:?}: {value} is not a number, boolean or string"
                    ));
                }
            }
        }
        if !problems.is_empty() {
            bail!(
                "{}: {} problem(s) in the grid:\n  {}",
                path.display(),
                problems.len(),
                problems.join("\n  ")
            );
        }
        Ok(Self {
            objective: raw.objective,
            direction: raw.direction,
            axes: raw.grid.into_iter().collect(),
        })
    }

    /// Every point of the grid, the last axis varying fastest.
    pub fn points(&self) -> Vec<GridPoint> {
        let mut points: Vec<GridPoint> = vec![Vec::new()];
        for (key, values) in &self.axes {
            points = points
                .into_iter()
                .flat_map(|point| {
                    values.iter().map(move |value| {
                        let mut next = point.clone();
                        next.push((key.clone(), value.clone()));
                        next
                    })
                })
                .collect();
        }
        points
    }
}

/// `key=value, …` for messages and tables.
pub fn describe(point: &GridPoint) -> String {
    point
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The run config of one grid point: the base config's text with the point's values
/// set (tables created as needed), parsed and checked like any config file.
pub fn config_at(
    base_text: &str,
    base_path: &Path,
    grid_path: &Path,
    point: &GridPoint,
) -> anyhow::Result<RunConfig> {
    let mut document: toml_edit::DocumentMut = base_text
        .parse()
        .with_context(|| format!("{} is not valid TOML", base_path.display()))?;
    for (key, value) in point {
        set(&mut document, key, value).with_context(|| {
            format!("grid key {key:?} cannot be set in {}", base_path.display())
        })?;
    }
    RunConfig::parse(&document.to_string(), base_path)
        .map_err(|errors| point_error(errors, point, grid_path))
}

/// The problems of the config at `point`, each blamed on where it comes from: a key the
/// grid sets on the grid file (a typo there is not the run config's), the others on the
/// run config's line.
fn point_error(errors: ConfigErrors, point: &GridPoint, grid_path: &Path) -> anyhow::Error {
    let set_by_grid = |problem_key: &str| {
        point.iter().any(|(key, _)| {
            key == problem_key
                || key.starts_with(&format!("{problem_key}."))
                || problem_key.starts_with(&format!("{key}."))
        })
    };
    let mut text = format!(
        "grid point {}: {} problem(s)",
        describe(point),
        errors.problems.len()
    );
    for problem in &errors.problems {
        let place = if set_by_grid(&problem.key) {
            format!("{} (grid key)", grid_path.display())
        } else {
            match problem.line {
                Some(line) => format!("{}:{line}", errors.file.display()),
                None => errors.file.display().to_string(),
            }
        };
        text.push_str(&format!(
            "\n  {place}: {}: {}",
            problem.key, problem.message
        ));
    }
    anyhow::anyhow!(text)
}

fn set(
    document: &mut toml_edit::DocumentMut,
    key: &str,
    value: &toml::Value,
) -> anyhow::Result<()> {
    let segments: Vec<&str> = key.split('.').collect();
    let (leaf, parents) = segments.split_last().context("empty key")?;
    let mut table: &mut dyn toml_edit::TableLike = document.as_table_mut();
    for segment in parents {
        if table.get(segment).is_none() {
            table.insert(segment, toml_edit::Item::Table(toml_edit::Table::new()));
        }
        table = table
            .get_mut(segment)
            .and_then(|item| item.as_table_like_mut())
            .with_context(|| format!("{segment:?} is not a table"))?;
    }
    let edit_value: toml_edit::Value = match value {
        toml::Value::Integer(i) => (*i).into(),
        toml::Value::Float(f) => (*f).into(),
        toml::Value::Boolean(b) => (*b).into(),
        toml::Value::String(s) => s.as_str().into(),
        other => bail!("{other} is not a scalar"),
    };
    table.insert(leaf, toml_edit::Item::Value(edit_value));
    Ok(())
}

/// The folder a sweep writes to by default: `<reporting.out>/sweep`.
pub fn default_out(config: &RunConfig) -> PathBuf {
    config.reporting.out.join("sweep")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_the_cartesian_product_last_axis_fastest() {
        let grid = Grid {
            objective: "sharpe_ratio".into(),
            direction: Goal::Max,
            axes: vec![
                (
                    "a".into(),
                    vec![toml::Value::Integer(1), toml::Value::Integer(2)],
                ),
                (
                    "b".into(),
                    vec![toml::Value::Float(0.5), toml::Value::Float(1.5)],
                ),
            ],
        };
        let described: Vec<String> = grid.points().iter().map(describe).collect();
        assert_eq!(
            described,
            ["a=1, b=0.5", "a=1, b=1.5", "a=2, b=0.5", "a=2, b=1.5"]
        );
    }

    #[test]
    fn set_reaches_into_inline_tables_and_creates_missing_ones() {
        let mut document: toml_edit::DocumentMut =
            "[risk]\nstop_loss = { type = \"atr\", multiple = 1.2 }\n"
                .parse()
                .unwrap();
        set(
            &mut document,
            "risk.stop_loss.multiple",
            &toml::Value::Float(2.0),
        )
        .unwrap();
        set(
            &mut document,
            "fills.fees.taker_bps",
            &toml::Value::Integer(5),
        )
        .unwrap();
        let value: toml::Value = toml::from_str(&document.to_string()).unwrap();
        assert_eq!(value["risk"]["stop_loss"]["multiple"].as_float(), Some(2.0));
        assert_eq!(value["risk"]["stop_loss"]["type"].as_str(), Some("atr"));
        assert_eq!(value["fills"]["fees"]["taker_bps"].as_integer(), Some(5));
    }
}
