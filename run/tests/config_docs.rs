//! docs/config.md documents every key of every file gauntlet reads: the run config,
//! gates, sweep grids, tolerances and custom feature sets, and every statistic a gate,
//! grid objective or tolerance can name. The keys are read from the parsers themselves:
//! each is given an unknown key `zz_probe` and its error lists the keys it knows, so a
//! key added to a parser and not to the docs fails here.

use std::path::Path;

use gauntlet_reports::calibration::CalibrationReport;
use gauntlet_reports::gates::{GateSpec, SHORTHANDS};
use gauntlet_reports::regress::{Tolerances, DEFAULT_TOLERANCES};
use gauntlet_reports::stats::statistic_names;
use gauntlet_run::config::{RunConfig, TOP_LEVEL_KEYS};
use gauntlet_run::grid::Grid;
use gauntlet_strategies::features::FeatureSet;

const DOC: &str = include_str!("../../docs/config.md");

/// The part of docs/config.md under the `## ` heading that starts with `title`.
fn section(title: &str) -> &'static str {
    let start = DOC
        .find(&format!("\n## {title}"))
        .unwrap_or_else(|| panic!("docs/config.md has no section \"## {title}\""));
    let rest = &DOC[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |end| end + 3);
    &rest[..end]
}

/// The keys of `keys` that `text` names neither as `` `key` `` nor as a table
/// (`` `[key]` ``, `` `[[key]]` ``).
fn undocumented(text: &str, keys: &[String]) -> Vec<String> {
    keys.iter()
        .filter(|key| {
            ![
                format!("`{key}`"),
                format!("`[{key}]`"),
                format!("`[[{key}]]`"),
            ]
            .iter()
            .any(|form| text.contains(form.as_str()))
        })
        .cloned()
        .collect()
}

fn assert_documented(title: &str, keys: &[String]) {
    assert!(!keys.is_empty(), "{title}: no keys found");
    let missing = undocumented(section(title), keys);
    assert!(
        missing.is_empty(),
        "docs/config.md, \"## {title}\", lacks: {}",
        missing.join(", ")
    );
}

/// The keys a serde error about the unknown field `zz_probe` lists ("expected one of
/// `a`, `b`"); none when the table has no fields.
fn expected_fields(message: &str) -> Vec<String> {
    let (_, tail) = message
        .split_once("unknown field `zz_probe`")
        .unwrap_or_else(|| panic!("no unknown-field error in:\n{message}"));
    let tail = tail.lines().next().unwrap_or("");
    tail.split('`')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect()
}

/// `prefix.key` for every key of the table the probe `text` puts `zz_probe` into.
fn probe(prefix: &str, text: &str, parse: impl Fn(&str) -> Result<(), String>) -> Vec<String> {
    let message = parse(text).expect_err("a probe is refused");
    expected_fields(&message)
        .into_iter()
        .map(|key| match prefix {
            "" => key,
            prefix => format!("{prefix}.{key}"),
        })
        .collect()
}

#[test]
fn every_run_config_key_is_documented() {
    let parse = |text: &str| {
        RunConfig::parse(text, Path::new("probe.toml"))
            .map(drop)
            .map_err(|err| err.to_string())
    };
    let probes: &[(&str, &str)] = &[
        ("data", "[data]\nzz_probe = 1\n"),
        ("features", "[features]\nzz_probe = 1\n"),
        ("models", "[models]\nzz_probe = 1\n"),
        (
            "models.members",
            "[[models.members]]\nbundle = \"x\"\nzz_probe = 1\n",
        ),
        (
            "strategy",
            "[strategy]\nkind = \"sma_cross\"\nzz_probe = 1\n",
        ),
        (
            "strategy",
            "[strategy]\nkind = \"ensemble_threshold\"\nzz_probe = 1\n",
        ),
        (
            "strategy",
            "[strategy]\nkind = \"buy_and_hold\"\nzz_probe = 1\n",
        ),
        ("fills", "[fills]\nzz_probe = 1\n"),
        ("fills.fees", "[fills.fees]\nzz_probe = 1\n"),
        (
            "fills.volume_cap",
            "[fills.volume_cap]\nmax_fraction = 0.5\nzz_probe = 1\n",
        ),
        (
            "fills.slippage",
            "[fills.slippage]\nmodel = \"fixed_bps\"\nzz_probe = 1\n",
        ),
        (
            "fills.slippage",
            "[fills.slippage]\nmodel = \"range_fraction\"\nzz_probe = 1\n",
        ),
        ("risk", "[risk]\nzz_probe = 1\n"),
        (
            "risk.stop_loss",
            "[risk.stop_loss]\ntype = \"atr\"\nzz_probe = 1\n",
        ),
        (
            "risk.stop_loss",
            "[risk.stop_loss]\ntype = \"percent\"\nzz_probe = 1\n",
        ),
        (
            "risk.sizing",
            "[risk.sizing]\ntype = \"fixed_fraction\"\nzz_probe = 1\n",
        ),
        (
            "risk.sizing",
            "[risk.sizing]\ntype = \"risk_per_trade\"\nzz_probe = 1\n",
        ),
        (
            "risk.sizing",
            "[risk.sizing]\ntype = \"volatility_target\"\nzz_probe = 1\n",
        ),
        (
            "risk.circuit_breaker",
            "[risk.circuit_breaker]\ndrawdown = 0.1\nzz_probe = 1\n",
        ),
        (
            "risk.capital_ramp",
            "[[risk.capital_ramp]]\nafter_minutes = 0\nfraction = 1.0\nzz_probe = 1\n",
        ),
        ("reporting", "[reporting]\nzz_probe = 1\n"),
    ];
    let mut keys: Vec<String> = TOP_LEVEL_KEYS.iter().map(|k| k.to_string()).collect();
    for (prefix, text) in probes {
        keys.extend(probe(prefix, text, parse));
    }
    keys.sort();
    keys.dedup();
    assert_documented("Run config", &keys);
}

#[test]
fn every_gates_key_is_documented() {
    let parse = |text: &str| {
        GateSpec::from_toml_str(text)
            .map(drop)
            .map_err(|err| err.to_string())
    };
    let mut keys: Vec<String> = probe("", "zz_probe = 1\n", parse)
        .into_iter()
        // `[symbols.SYMBOL]`: one table per symbol.
        .map(|key| match key.as_str() {
            "symbols" => "symbols.SYMBOL".to_string(),
            _ => key,
        })
        .collect();
    keys.extend(["min_<statistic>", "max_<statistic>"].map(String::from));
    keys.extend(SHORTHANDS.iter().map(|(key, _, _)| key.to_string()));
    assert_documented("Gates file", &keys);
}

#[test]
fn every_grid_key_is_documented() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grid.toml");
    std::fs::write(
        &path,
        "zz_probe = 1\n[grid]\n\"risk.time_stop_bars\" = [5]\n",
    )
    .unwrap();
    let message = format!("{:#}", Grid::load(&path).unwrap_err());
    assert_documented("Sweep grid", &expected_fields(&message));
}

#[test]
fn every_tolerances_key_is_documented() {
    let parse = |text: &str| {
        Tolerances::from_toml_str(text)
            .map(drop)
            .map_err(|err| err.to_string())
    };
    let mut keys: Vec<String> = probe("", "zz_probe = 1\n", parse)
        .into_iter()
        // `[metrics.NAME]`: one table per metric.
        .map(|key| match key.as_str() {
            "metrics" => "metrics.NAME".to_string(),
            _ => key,
        })
        .collect();
    keys.extend(probe(
        "metrics.NAME",
        "[metrics.sharpe_ratio]\nzz_probe = 1\n",
        parse,
    ));
    assert_documented("Tolerances", &keys);
    // Every metric a tolerance can name: a statistic, or one of the regression's own.
    let names = format!("{}{}", section("Tolerances"), section("Statistic names"));
    let metrics: Vec<String> = DEFAULT_TOLERANCES
        .iter()
        .map(|(name, _)| name.to_string())
        .collect();
    let missing = undocumented(&names, &metrics);
    assert!(
        missing.is_empty(),
        "docs/config.md lacks the metrics {}",
        missing.join(", ")
    );
}

/// The comma-separated list in `message` after `after`, up to `until` or the line's end.
fn listed<'m>(message: &'m str, after: &str, until: &str) -> Vec<&'m str> {
    let (_, tail) = message
        .split_once(after)
        .unwrap_or_else(|| panic!("no {after:?} in:\n{message}"));
    let tail = tail.lines().next().unwrap_or("");
    let list = tail.split_once(until).map_or(tail, |(list, _)| list);
    list.split(", ").map(str::trim).collect()
}

#[test]
fn every_custom_feature_set_key_and_family_is_documented() {
    let refused = |text: &str| FeatureSet::from_toml_str(text).unwrap_err().to_string();
    let doc = section("Custom feature sets");
    let top: Vec<String> = listed(&refused("zz_probe = 1\n"), "valid keys are ", "\n")
        .into_iter()
        .map(String::from)
        .collect();
    assert_documented("Custom feature sets", &top);
    let message = refused("name = \"probe\"\nfeatures = [{ zz_probe = 1 }]\n");
    let families = listed(&message, "valid families: ", " (and");
    let mut missing = Vec::new();
    for family in families {
        // The family's row in the table: "| `family` | parameters | meaning |".
        let Some(row) = doc
            .lines()
            .find(|line| line.starts_with(&format!("| `{family}` |")))
        else {
            missing.push(format!("family {family}"));
            continue;
        };
        let message = refused(&format!(
            "name = \"probe\"\nfeatures = [{{ {family} = {{ zz_probe = 1 }} }}]\n"
        ));
        if message.contains("valid parameters: ") {
            for parameter in listed(&message, "valid parameters: ", "\n") {
                if parameter != "name" && !row.contains(&format!("`{parameter}`")) {
                    missing.push(format!("{family}.{parameter}"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/config.md, \"## Custom feature sets\", lacks: {}",
        missing.join(", ")
    );
}

#[test]
fn every_statistic_is_documented() {
    let names: Vec<String> = statistic_names()
        .into_iter()
        .chain(CalibrationReport::VALUE_NAMES)
        .map(String::from)
        .collect();
    assert_documented("Statistic names", &names);
}
