//! Sweep results: one row per config of a grid, ranked by the objective, the deflated
//! Sharpe ratio of the best config given the number of trials, and the walk-forward
//! folds; rendered as JSON, CSV, Markdown and a self-contained HTML page (with a heatmap
//! of the objective over each pair of grid keys that vary).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::html::{row, table_header, STYLE};
use super::markdown::format_statistic;
use super::svg::escape;
use super::{Provenance, RenderError};

/// Version of the sweep JSON layout.
pub const SWEEP_SCHEMA_VERSION: u32 = 1;

/// Statistics shown for every config (besides the objective).
pub const SWEEP_STATISTICS: [&str; 7] = [
    "total_return",
    "sharpe_ratio",
    "max_drawdown",
    "number_of_trades",
    "win_rate",
    "stop_loss_hit_rate",
    "profit_factor",
];

/// One config of the grid and its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    /// Position in the grid (the last key varies fastest).
    pub index: usize,
    /// 1 = best; configs with an undefined objective rank last, ties by index.
    pub rank: usize,
    /// `(key, value)` per grid key, values as written in TOML.
    pub params: Vec<(String, String)>,
    pub objective: Option<f64>,
    /// [`SWEEP_STATISTICS`] (and the objective) by name.
    pub statistics: BTreeMap<String, Option<f64>>,
}

/// The best config, judged against the number of configs tried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestConfig {
    pub index: usize,
    pub params: Vec<(String, String)>,
    pub objective: Option<f64>,
    /// Annualized Sharpe ratio of the best config.
    pub sharpe_ratio: Option<f64>,
    /// Probability that its true Sharpe exceeds the best of as many unskilled trials.
    pub deflated_sharpe_ratio: Option<f64>,
    /// The files of its full report, relative to the sweep's directory
    /// (`best/report.html`, …).
    #[serde(default)]
    pub reports: Vec<String>,
}

/// How the objective moves along one grid key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeySensitivity {
    pub key: String,
    /// Per value of the key, in grid order: the mean of the defined objectives of the
    /// configs with that value (`None` when none is defined).
    pub mean_objective: Vec<(String, Option<f64>)>,
    /// `max − min` of the defined means: how much choosing this key can move the
    /// objective on average.
    pub spread: Option<f64>,
    /// The key takes at least two values and every config has the same objective and
    /// statistics as every config that differs from it only in this key: the setting
    /// changed nothing on this data (for example a limit never reached).
    pub no_effect: bool,
}

/// [`KeySensitivity`] of each grid key (`keys`, the order of every row's params).
pub fn sensitivity(keys: &[String], rows: &[SweepRow]) -> Vec<KeySensitivity> {
    let mut in_grid_order: Vec<&SweepRow> = rows.iter().collect();
    in_grid_order.sort_by_key(|r| r.index);
    keys.iter()
        .enumerate()
        .map(|(k, key)| {
            let mut values: Vec<&str> = Vec::new();
            // The first config of each combination of the other keys' values.
            let mut first_of: BTreeMap<Vec<&str>, &SweepRow> = BTreeMap::new();
            let mut no_effect = true;
            for r in &in_grid_order {
                let value = r.params[k].1.as_str();
                if !values.contains(&value) {
                    values.push(value);
                }
                let others: Vec<&str> = r
                    .params
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != k)
                    .map(|(_, (_, v))| v.as_str())
                    .collect();
                let first = *first_of.entry(others).or_insert(r);
                no_effect &= first.objective == r.objective && first.statistics == r.statistics;
            }
            let mean_objective: Vec<(String, Option<f64>)> = values
                .iter()
                .map(|&value| {
                    let defined: Vec<f64> = in_grid_order
                        .iter()
                        .filter(|r| r.params[k].1 == value)
                        .filter_map(|r| r.objective)
                        .collect();
                    let mean = (!defined.is_empty())
                        .then(|| defined.iter().sum::<f64>() / defined.len() as f64);
                    (value.to_string(), mean)
                })
                .collect();
            let means: Vec<f64> = mean_objective.iter().filter_map(|(_, m)| *m).collect();
            let spread = (!means.is_empty()).then(|| {
                means.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                    - means.iter().copied().fold(f64::INFINITY, f64::min)
            });
            KeySensitivity {
                key: key.clone(),
                mean_objective,
                spread,
                no_effect: no_effect && values.len() > 1,
            }
        })
        .collect()
}

/// One walk-forward fold: chosen in sample, judged out of sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalkForwardFold {
    /// `[from, to)` bar open times, ISO 8601.
    pub in_sample: (String, String),
    pub out_of_sample: (String, String),
    /// Grid index and params of the config chosen in sample.
    pub chosen_index: usize,
    pub chosen_params: Vec<(String, String)>,
    pub in_sample_objective: Option<f64>,
    pub out_of_sample_objective: Option<f64>,
    pub out_of_sample_statistics: BTreeMap<String, Option<f64>>,
}

/// Walk-forward validation of the selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalkForward {
    /// How the window was split, in words.
    pub scheme: String,
    pub folds: Vec<WalkForwardFold>,
    /// Mean of the defined out-of-sample objectives: the number to trust.
    pub mean_out_of_sample_objective: Option<f64>,
}

/// Everything a sweep reports. Serialized as `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    pub schema_version: u32,
    pub objective: String,
    /// `"max"` or `"min"`.
    pub direction: String,
    /// The grid keys, in column order.
    pub keys: Vec<String>,
    /// Number of configs tried N.
    pub trials: usize,
    /// Sample variance (n − 1) of the configs' per-period Sharpe ratios.
    pub sharpe_variance_per_period: Option<f64>,
    pub best: Option<BestConfig>,
    /// Every config, best first.
    pub rows: Vec<SweepRow>,
    pub walk_forward: Option<WalkForward>,
    /// Per grid key, how much it moves the objective ([`sensitivity`]).
    #[serde(default)]
    pub sensitivity: Vec<KeySensitivity>,
    /// The data, manifest and bundles the sweep ran on.
    pub provenance: Provenance,
}

fn params_text(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn columns(report: &SweepReport) -> Vec<String> {
    let mut columns: Vec<String> = SWEEP_STATISTICS.iter().map(|s| s.to_string()).collect();
    if !columns.contains(&report.objective) {
        columns.insert(0, report.objective.clone());
    }
    columns
}

/// `sweep.json`: pretty-printed, trailing newline.
pub fn render_sweep_json(report: &SweepReport) -> Result<String, RenderError> {
    let mut text = serde_json::to_string_pretty(report).map_err(|source| RenderError::Json {
        file: "sweep.json",
        source,
    })?;
    text.push('\n');
    Ok(text)
}

/// `sweep.csv`: rank, index, one column per grid key, the objective, the statistics.
pub fn render_sweep_csv(report: &SweepReport) -> Result<Vec<u8>, RenderError> {
    let stats = columns(report);
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["rank".to_string(), "index".to_string()];
    header.extend(report.keys.iter().cloned());
    header.push("objective".to_string());
    header.extend(stats.iter().cloned());
    let error = |source| RenderError::Csv {
        file: "sweep.csv",
        source,
    };
    writer.write_record(&header).map_err(error)?;
    for r in &report.rows {
        let mut record = vec![r.rank.to_string(), r.index.to_string()];
        record.extend(r.params.iter().map(|(_, v)| v.clone()));
        record.push(r.objective.map_or_else(String::new, |v| v.to_string()));
        for s in &stats {
            record.push(
                r.statistics
                    .get(s)
                    .copied()
                    .flatten()
                    .map_or_else(String::new, |v| v.to_string()),
            );
        }
        writer.write_record(&record).map_err(error)?;
    }
    writer
        .into_inner()
        .map_err(|e| error(csv::Error::from(e.into_error())))
}

/// Rows shown in the Markdown and HTML tables (the CSV and JSON hold all).
pub const SWEEP_TABLE_ROWS: usize = 25;

/// `sweep.md`: best config and its deflated Sharpe first, walk-forward, then the ranking.
pub fn render_sweep_markdown(report: &SweepReport) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# Sweep: {} configs, ranked by {} ({})\n",
        report.trials, report.objective, report.direction
    );
    for line in headline(report) {
        let _ = writeln!(md, "{}\n", line.markdown());
    }
    let pages = best_report_pages(report);
    if !pages.is_empty() {
        let links: Vec<String> = pages.iter().map(|f| format!("[{f}]({f})")).collect();
        let _ = writeln!(
            md,
            "Full report of the best config: {}.\n",
            links.join(", ")
        );
    }
    for warning in no_effect_warnings(report) {
        let _ = writeln!(md, "> **{warning}**\n");
    }
    if let Some(wf) = &report.walk_forward {
        let _ = writeln!(
            md,
            "## Walk-forward (out-of-sample: the number to trust)\n\n{}\n\nMean out-of-sample {}: {}\n",
            wf.scheme,
            report.objective,
            format_statistic(&report.objective, wf.mean_out_of_sample_objective)
        );
        md.push_str("| fold | in sample | out of sample | chosen | in-sample objective | out-of-sample objective |\n|---|---|---|---|---|---|\n");
        for (i, f) in wf.folds.iter().enumerate() {
            let _ = writeln!(
                md,
                "| {} | {} → {} | {} → {} | {} | {} | {} |",
                i + 1,
                f.in_sample.0,
                f.in_sample.1,
                f.out_of_sample.0,
                f.out_of_sample.1,
                params_text(&f.chosen_params),
                format_statistic(&report.objective, f.in_sample_objective),
                format_statistic(&report.objective, f.out_of_sample_objective)
            );
        }
        md.push('\n');
    }
    if !report.sensitivity.is_empty() {
        md.push_str("## Sensitivity\n\n| key | spread of the mean objective | mean objective per value | effect |\n|---|---|---|---|\n");
        for key in &report.sensitivity {
            let [key_name, spread, means, effect] = sensitivity_cells(report, key);
            let _ = writeln!(md, "| {key_name} | {spread} | {means} | {effect} |");
        }
        md.push('\n');
    }
    let stats = columns(report);
    md.push_str("## Ranking\n\n| rank |");
    for k in &report.keys {
        let _ = write!(md, " {k} |");
    }
    for s in &stats {
        let _ = write!(md, " {s} |");
    }
    md.push_str("\n|---|");
    md.push_str(&"---|".repeat(report.keys.len() + stats.len()));
    md.push('\n');
    for r in report.rows.iter().take(SWEEP_TABLE_ROWS) {
        let _ = write!(md, "| {} |", r.rank);
        for (_, v) in &r.params {
            let _ = write!(md, " {v} |");
        }
        for s in &stats {
            let _ = write!(
                md,
                " {} |",
                format_statistic(s, r.statistics.get(s).copied().flatten())
            );
        }
        md.push('\n');
    }
    if report.rows.len() > SWEEP_TABLE_ROWS {
        let _ = writeln!(
            md,
            "\n{} more configs in sweep.csv.",
            report.rows.len() - SWEEP_TABLE_ROWS
        );
    }
    md
}

/// A line of the page's head: plain text with its most important part set off.
struct HeadlineLine {
    before: String,
    strong: String,
    after: String,
}

impl HeadlineLine {
    fn markdown(&self) -> String {
        format!("{}**{}**{}", self.before, self.strong, self.after)
    }

    fn html(&self) -> String {
        format!(
            "{}<b>{}</b>{}",
            escape(&self.before),
            escape(&self.strong),
            escape(&self.after)
        )
    }
}

/// The head of the page: with walk-forward, its out-of-sample result first (the number
/// to trust) and the whole-window best labelled in sample; without, the best config.
fn headline(report: &SweepReport) -> Vec<HeadlineLine> {
    let objective = &report.objective;
    let mut lines = Vec::new();
    if let Some(wf) = &report.walk_forward {
        lines.push(HeadlineLine {
            before: String::new(),
            strong: format!(
                "Out of sample (walk-forward, {} folds): mean {objective} {}",
                wf.folds.len(),
                format_statistic(objective, wf.mean_out_of_sample_objective)
            ),
            after: " — the number to trust.".to_string(),
        });
    }
    if let Some(best) = &report.best {
        let label = if report.walk_forward.is_some() {
            "In sample (the whole window, not validated): best "
        } else {
            "Best: "
        };
        lines.push(HeadlineLine {
            before: label.to_string(),
            strong: params_text(&best.params),
            after: format!(
                " — {objective} {}, Sharpe {}, deflated Sharpe {} (given {} trials).",
                format_statistic(objective, best.objective),
                format_statistic("sharpe_ratio", best.sharpe_ratio),
                format_statistic("deflated_sharpe_ratio", best.deflated_sharpe_ratio),
                report.trials
            ),
        });
    }
    lines
}

/// The best config's report pages (HTML, Markdown) among its files.
fn best_report_pages(report: &SweepReport) -> Vec<&str> {
    report
        .best
        .iter()
        .flat_map(|best| &best.reports)
        .map(String::as_str)
        .filter(|f| f.ends_with(".html") || f.ends_with(".md"))
        .collect()
}

/// One warning per grid key that changed nothing ([`KeySensitivity::no_effect`]).
fn no_effect_warnings(report: &SweepReport) -> Vec<String> {
    report
        .sensitivity
        .iter()
        .filter(|k| k.no_effect)
        .map(|k| {
            let values: Vec<&str> = k.mean_objective.iter().map(|(v, _)| v.as_str()).collect();
            format!(
                "No effect: {} = {} gave identical results (every config equals those that differ from it only in {}); this grid dimension tests nothing on this data.",
                k.key,
                values.join(" / "),
                k.key
            )
        })
        .collect()
}

/// The sensitivity table's cells of one key: key, spread, means per value, effect.
fn sensitivity_cells(report: &SweepReport, key: &KeySensitivity) -> [String; 4] {
    let objective = &report.objective;
    let means: Vec<String> = key
        .mean_objective
        .iter()
        .map(|(value, mean)| format!("{value}: {}", format_statistic(objective, *mean)))
        .collect();
    [
        key.key.clone(),
        format_statistic(objective, key.spread),
        means.join("; "),
        if key.no_effect { "none" } else { "" }.to_string(),
    ]
}

/// Background of a heatmap cell: red (worst) → green (best) by rank of the value.
fn heat(value: Option<f64>, lo: f64, hi: f64, maximize: bool) -> String {
    match value {
        Some(v) if hi > lo => {
            let t = (v - lo) / (hi - lo);
            let good = if maximize { t } else { 1.0 - t };
            format!("background:hsl({:.0},70%,82%)", good * 120.0)
        }
        Some(_) => "background:hsl(60,70%,82%)".to_string(),
        None => "background:#eee".to_string(),
    }
}

/// The heatmap of the objective over grid keys `row_key` and `column_key` (indices into
/// `report.keys`): each cell the mean of the defined objectives of the configs with that
/// pair of values (with two keys, the one config's objective).
fn heatmap(html: &mut String, report: &SweepReport, row_key: usize, column_key: usize) {
    let mut row_values: Vec<&str> = Vec::new();
    let mut column_values: Vec<&str> = Vec::new();
    let mut sums: BTreeMap<(&str, &str), (f64, usize)> = BTreeMap::new();
    let mut by_index: Vec<&SweepRow> = report.rows.iter().collect();
    by_index.sort_by_key(|r| r.index);
    for r in by_index {
        let (a, b) = (
            r.params[row_key].1.as_str(),
            r.params[column_key].1.as_str(),
        );
        if !row_values.contains(&a) {
            row_values.push(a);
        }
        if !column_values.contains(&b) {
            column_values.push(b);
        }
        let (sum, count) = sums.entry((a, b)).or_insert((0.0, 0));
        if let Some(objective) = r.objective {
            *sum += objective;
            *count += 1;
        }
    }
    let cells: BTreeMap<(&str, &str), Option<f64>> = sums
        .into_iter()
        .map(|(cell, (sum, count))| (cell, (count > 0).then(|| sum / count as f64)))
        .collect();
    let defined: Vec<f64> = cells.values().flatten().copied().collect();
    let lo = defined.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = defined.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let [row_key, column_key] = [&report.keys[row_key], &report.keys[column_key]];
    let averaged = if report.keys.len() > 2 {
        ", mean over the other keys"
    } else {
        ""
    };
    let _ = write!(
        html,
        "<h2>Heatmap of {} (rows {}, columns {}{averaged})</h2><table><tr><th class=\"l\">{} \\ {}</th>",
        escape(&report.objective),
        escape(row_key),
        escape(column_key),
        escape(row_key),
        escape(column_key)
    );
    for c in &column_values {
        let _ = write!(html, "<th>{}</th>", escape(c));
    }
    html.push_str("</tr>");
    for r in &row_values {
        let _ = write!(html, "<tr><th class=\"l\">{}</th>", escape(r));
        for c in &column_values {
            let value = cells.get(&(*r, *c)).copied().flatten();
            let _ = write!(
                html,
                "<td style=\"{}\">{}</td>",
                heat(value, lo, hi, report.direction == "max"),
                escape(&format_statistic(&report.objective, value))
            );
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
}

/// `sweep.html`: one self-contained page.
pub fn render_sweep_html(report: &SweepReport) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>gauntlet sweep</title><style>{STYLE}</style></head><body>"
    );
    let md_title = format!(
        "Sweep: {} configs, ranked by {} ({})",
        report.trials, report.objective, report.direction
    );
    let _ = write!(html, "<h1>{}</h1>", escape(&md_title));
    for line in headline(report) {
        let _ = write!(html, "<div class=\"verdict none\">{}</div>", line.html());
    }
    let pages = best_report_pages(report);
    if !pages.is_empty() {
        let links: Vec<String> = pages
            .iter()
            .map(|f| format!("<a href=\"{0}\">{0}</a>", escape(f)))
            .collect();
        let _ = write!(
            html,
            "<p>Full report of the best config: {}</p>",
            links.join(", ")
        );
    }
    for warning in no_effect_warnings(report) {
        let _ = write!(html, "<div class=\"notice\">{}</div>", escape(&warning));
    }
    if let Some(wf) = &report.walk_forward {
        let _ = write!(
            html,
            "<h2>Walk-forward</h2><p class=\"muted\">{}</p><p><b>Mean out-of-sample {}: {}</b> (the number to trust)</p>",
            escape(&wf.scheme),
            escape(&report.objective),
            escape(&format_statistic(&report.objective, wf.mean_out_of_sample_objective))
        );
        table_header(
            &mut html,
            &[
                "fold",
                "in sample",
                "out of sample",
                "chosen",
                "in-sample",
                "out-of-sample",
            ],
        );
        for (i, f) in wf.folds.iter().enumerate() {
            row(
                &mut html,
                &[
                    (i + 1).to_string(),
                    format!("{} → {}", f.in_sample.0, f.in_sample.1),
                    format!("{} → {}", f.out_of_sample.0, f.out_of_sample.1),
                    params_text(&f.chosen_params),
                    format_statistic(&report.objective, f.in_sample_objective),
                    format_statistic(&report.objective, f.out_of_sample_objective),
                ],
            );
        }
        html.push_str("</table>");
    }
    // One heatmap per pair of keys that both vary.
    let varying: Vec<usize> = (0..report.keys.len())
        .filter(|&k| {
            report
                .rows
                .iter()
                .any(|r| r.params[k].1 != report.rows[0].params[k].1)
        })
        .collect();
    for (i, &row_key) in varying.iter().enumerate() {
        for &column_key in &varying[i + 1..] {
            heatmap(&mut html, report, row_key, column_key);
        }
    }
    if !report.sensitivity.is_empty() {
        html.push_str("<h2>Sensitivity</h2>");
        table_header(
            &mut html,
            &[
                "key",
                "spread of the mean objective",
                "mean objective per value",
                "effect",
            ],
        );
        for key in &report.sensitivity {
            row(&mut html, &sensitivity_cells(report, key));
        }
        html.push_str("</table>");
    }
    let stats = columns(report);
    html.push_str("<h2>Ranking</h2>");
    let mut header: Vec<&str> = vec!["rank"];
    header.extend(report.keys.iter().map(String::as_str));
    header.extend(stats.iter().map(String::as_str));
    table_header(&mut html, &header);
    for r in report.rows.iter().take(SWEEP_TABLE_ROWS) {
        let mut cells = vec![r.rank.to_string()];
        cells.extend(r.params.iter().map(|(_, v)| v.clone()));
        cells.extend(
            stats
                .iter()
                .map(|s| format_statistic(s, r.statistics.get(s).copied().flatten())),
        );
        row(&mut html, &cells);
    }
    html.push_str("</table>");
    if report.rows.len() > SWEEP_TABLE_ROWS {
        let _ = write!(
            html,
            "<p class=\"muted\">{} more configs in sweep.csv.</p>",
            report.rows.len() - SWEEP_TABLE_ROWS
        );
    }
    html.push_str("</body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep() -> SweepReport {
        let rows = [
            (0, "0.8", "0.05", Some(1.0)),
            (1, "0.8", "0.08", Some(2.0)),
            (2, "1.2", "0.05", None),
            (3, "1.2", "0.08", Some(0.5)),
        ]
        .into_iter()
        .enumerate()
        .map(|(rank, (index, a, b, objective))| SweepRow {
            index,
            rank: rank + 1,
            params: vec![("risk.a".into(), a.into()), ("risk.b".into(), b.into())],
            objective,
            statistics: BTreeMap::from([("sharpe_ratio".to_string(), objective)]),
        })
        .collect();
        SweepReport {
            schema_version: SWEEP_SCHEMA_VERSION,
            objective: "sharpe_ratio".into(),
            direction: "max".into(),
            keys: vec!["risk.a".into(), "risk.b".into()],
            trials: 4,
            sharpe_variance_per_period: Some(0.01),
            best: None,
            rows,
            walk_forward: None,
            sensitivity: Vec::new(),
            provenance: Provenance::default(),
        }
    }

    #[test]
    fn csv_has_one_row_per_config_and_blank_for_undefined() {
        let text = String::from_utf8(render_sweep_csv(&sweep()).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(
            lines[0].starts_with("rank,index,risk.a,risk.b,objective,total_return,sharpe_ratio")
        );
        assert!(lines[3].starts_with("3,2,1.2,0.05,,"), "{}", lines[3]);
    }

    /// A 2 × 2 grid whose key `risk.b` changes nothing and whose `risk.a` does.
    fn with_a_dead_key() -> SweepReport {
        let mut report = sweep();
        for r in &mut report.rows {
            r.objective = Some(if r.params[0].1 == "0.8" { 1.0 } else { 3.0 });
            r.statistics = BTreeMap::from([("sharpe_ratio".to_string(), r.objective)]);
        }
        report.sensitivity = sensitivity(&report.keys, &report.rows);
        report
    }

    #[test]
    fn sensitivity_means_spread_and_dead_keys() {
        let report = with_a_dead_key();
        let [a, b] = &report.sensitivity[..] else {
            panic!("two keys")
        };
        assert_eq!(
            a.mean_objective,
            [
                ("0.8".to_string(), Some(1.0)),
                ("1.2".to_string(), Some(3.0))
            ]
        );
        assert_eq!((a.spread, a.no_effect), (Some(2.0), false));
        assert_eq!((b.spread, b.no_effect), (Some(0.0), true));
        // The fixture's own objectives (one undefined) differ along both keys.
        let live = sweep();
        let both = sensitivity(&live.keys, &live.rows);
        assert!(both.iter().all(|k| !k.no_effect));
        // Mean over the defined objectives only: 1.2 → (undefined, 0.5).
        assert_eq!(both[0].mean_objective[1], ("1.2".to_string(), Some(0.5)));
    }

    #[test]
    fn a_dead_key_is_pointed_out_on_both_pages() {
        let report = with_a_dead_key();
        let warning = "No effect: risk.b = 0.05 / 0.08 gave identical results";
        assert!(render_sweep_markdown(&report).contains(warning));
        assert!(render_sweep_html(&report).contains(warning));
        assert!(!render_sweep_markdown(&sweep()).contains("No effect"));
    }

    #[test]
    fn with_walk_forward_the_out_of_sample_result_leads() {
        let mut report = sweep();
        report.best = Some(BestConfig {
            index: 1,
            params: report.rows[0].params.clone(),
            objective: Some(2.0),
            sharpe_ratio: Some(2.0),
            deflated_sharpe_ratio: Some(0.4),
            reports: ["trades.csv", "report.html", "report.json"]
                .map(|f| format!("best/{f}"))
                .to_vec(),
        });
        let md = render_sweep_markdown(&report);
        let best_line = md.lines().find(|l| l.starts_with("Best: **")).unwrap();
        assert!(best_line.contains("deflated Sharpe 0.4000"), "{best_line}");
        assert!(
            md.contains("Full report of the best config: [best/report.html](best/report.html).")
        );
        report.walk_forward = Some(WalkForward {
            scheme: "2 folds".into(),
            folds: Vec::new(),
            mean_out_of_sample_objective: Some(-3.15),
        });
        let md = render_sweep_markdown(&report);
        let lines: Vec<&str> = md.lines().filter(|l| !l.is_empty()).collect();
        assert!(
            lines[1].starts_with(
                "**Out of sample (walk-forward, 0 folds): mean sharpe_ratio -3.1500**"
            ),
            "{md}"
        );
        assert!(
            lines[2].starts_with("In sample (the whole window, not validated): best **"),
            "{md}"
        );
        let html = render_sweep_html(&report);
        let out_of_sample = html.find("Out of sample (walk-forward").unwrap();
        assert!(out_of_sample < html.find("In sample (the whole window").unwrap());
        assert!(html.contains("<a href=\"best/report.html\">best/report.html</a>"));
    }

    #[test]
    fn a_three_key_grid_has_a_heatmap_per_pair_of_mean_objectives() {
        // Keys a, b, c with two values each; objective = index (0..8, c fastest).
        let rows = (0..8)
            .map(|index| SweepRow {
                index,
                rank: 8 - index,
                params: ["a", "b", "c"]
                    .iter()
                    .zip([index / 4, index / 2 % 2, index % 2])
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                objective: Some(index as f64),
                statistics: BTreeMap::new(),
            })
            .collect();
        let report = SweepReport {
            keys: ["a", "b", "c"].map(String::from).to_vec(),
            trials: 8,
            rows,
            ..sweep()
        };
        let html = render_sweep_html(&report);
        assert_eq!(html.matches("<h2>Heatmap of").count(), 3);
        assert!(html.contains("(rows a, columns c, mean over the other keys)"));
        // Cell a=1, b=0: the mean of indices 4 and 5.
        let heatmap = &html[html.find("(rows a, columns b").unwrap()..];
        let row = &heatmap[heatmap.find("<th class=\"l\">1</th>").unwrap()..];
        assert!(row.contains(">4.5000</td>"), "{}", &row[..200]);
    }

    #[test]
    fn html_heatmap_colors_best_green_worst_red() {
        let html = render_sweep_html(&sweep());
        assert!(html.contains("Heatmap of sharpe_ratio"));
        // 2.0 is the best (hue 120), 0.5 the worst (hue 0), undefined grey.
        assert!(html.contains("hsl(120,70%,82%)"));
        assert!(html.contains("hsl(0,70%,82%)"));
        assert!(html.contains("background:#eee"));
    }
}
