//! `report.md`: a one-screen summary, verdict first.

use std::fmt::Write as _;

use super::model::{iso_time, CalibrationSection};
use super::{Report, ReportFormat};
use crate::breakdown::TradeGroup;
use crate::calibration::CalibrationReport;
use crate::gates::GateRow;
use crate::halts::describe_halts;

/// Statistics shown in the summaries, in display order.
pub(super) const KEY_STATISTICS: [&str; 16] = [
    "total_return",
    "cagr",
    "sharpe_ratio",
    "sortino_ratio",
    "calmar_ratio",
    "max_drawdown",
    "max_drawdown_duration_days",
    "win_rate",
    "profit_factor",
    "expectancy",
    "number_of_trades",
    "exposure_time",
    "fees_paid",
    "stop_loss_hit_rate",
    "probabilistic_sharpe_ratio",
    "deflated_sharpe_ratio",
];

/// Statistics that are fractions and print as percentages.
const PERCENT_STATISTICS: [&str; 17] = [
    "total_return",
    "cagr",
    "annual_volatility",
    "downside_risk",
    "max_drawdown",
    "average_drawdown",
    "win_rate",
    "exposure_time",
    "stop_loss_hit_rate",
    "take_profit_hit_rate",
    "trailing_stop_rate",
    "average_mae",
    "average_mfe",
    "accuracy",
    "ece",
    "mce",
    "overconfident_share",
];

/// Human form of a statistic: percentages with 2 decimals for fractions, integers for
/// counts, 4 significant-ish decimals otherwise; `n/a` when undefined.
/// The threshold of a verdict row: `>= 1.100`, and for a gate relative to the champion
/// `>= 1.100 (champion + 0.1; champion 1.000)`.
pub(super) fn threshold_cell(row: &GateRow) -> String {
    let number = format_statistic(&row.statistic, row.threshold);
    match &row.relative {
        Some(expression) => format!(
            "{} {number} ({expression}; champion {})",
            row.comparison,
            format_statistic(&row.statistic, row.champion)
        ),
        None => format!("{} {number}", row.comparison),
    }
}

pub(super) fn format_statistic(name: &str, value: Option<f64>) -> String {
    match value {
        None => "n/a".to_string(),
        Some(v) if PERCENT_STATISTICS.contains(&name) => format!("{:.2}%", v * 100.0 + 0.0),
        Some(v) if name == "number_of_trades" || name == "dropped_members" => format!("{v:.0}"),
        Some(v) => format_number(v),
    }
}

/// `{:.4}` for |v| < 1e6, else `{:.4e}`; −0 prints as 0.
pub(super) fn format_number(v: f64) -> String {
    // An empty f64 sum is −0.0; a reader should see 0.
    let v = if v == 0.0 { 0.0 } else { v };
    if v.abs() < 1e6 {
        format!("{v:.4}")
    } else {
        format!("{v:.4e}")
    }
}

/// `n/a` or the number.
pub(super) fn format_optional(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), format_number)
}

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Symbols with their trade group, ranked.
pub(super) type RankedSymbols<'a> = Vec<(&'a str, &'a TradeGroup)>;

/// Symbols ranked by total P&L: the best `n` and the worst `n` (disjoint).
pub(super) fn top_and_bottom(report: &Report, n: usize) -> (RankedSymbols<'_>, RankedSymbols<'_>) {
    let mut ranked: Vec<(&str, &TradeGroup)> = report
        .breakdowns
        .per_symbol
        .iter()
        .map(|(s, g)| (s.as_str(), g))
        .collect();
    // Stable sort on a total order: ties keep the symbol order.
    ranked.sort_by(|a, b| b.1.total_pnl.total_cmp(&a.1.total_pnl));
    let top: Vec<_> = ranked.iter().take(n).copied().collect();
    let bottom: Vec<_> = ranked
        .iter()
        .rev()
        .take(n.min(ranked.len().saturating_sub(top.len())))
        .copied()
        .collect();
    (top, bottom)
}

/// One line per calibration report: accuracy, ECE, Brier, log loss, overconfidence,
/// average confidence, dominant class share, consensus.
/// One calibration table row; `engine` is the member's scoring engine (its first word:
/// `native` or `onnxruntime`; the whole choice is in report.json and report.html).
fn calibration_row(name: &str, engine: Option<&str>, c: &CalibrationReport) -> String {
    let v = c.values();
    let get = |k: &str| v.get(k).copied().flatten();
    let engine = engine
        .and_then(|e| e.split_whitespace().next())
        .unwrap_or("-");
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        cell(name),
        cell(engine),
        c.rows,
        format_statistic("accuracy", get("accuracy")),
        format_statistic("ece", get("ece")),
        format_optional(get("brier")),
        format_optional(get("log_loss")),
        format_statistic("overconfident_share", get("overconfident_share")),
        format_optional(get("average_confidence")),
        format_optional(get("consensus_rate")),
    )
}

/// A small table for both renderers: title, column headers, rows of cells.
pub(super) struct DiagnosticTable {
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// The per-class diagnostics of one calibration report (classes named by `section`, in
/// the model's output order): precision and recall per class, the confusion matrix
/// (rows = realized class, columns = predicted class) and the top-label reliability
/// table with quantile bins (equal counts per bin).
pub(super) fn class_tables(
    section: &CalibrationSection,
    c: &CalibrationReport,
) -> [DiagnosticTable; 3] {
    let name = |k: usize| section.class_name(k);
    let per_class = DiagnosticTable {
        title: "Precision and recall per class".into(),
        header: ["class", "precision", "recall", "realized", "predicted"]
            .map(String::from)
            .to_vec(),
        rows: (0..c.n_classes)
            .map(|k| {
                let realized: usize = c.confusion_matrix.get(k).map_or(0, |r| r.iter().sum());
                let predicted: usize = c
                    .confusion_matrix
                    .iter()
                    .map(|r| r.get(k).copied().unwrap_or(0))
                    .sum();
                vec![
                    name(k),
                    format_optional(c.precision.get(k).copied().flatten()),
                    format_optional(c.recall.get(k).copied().flatten()),
                    realized.to_string(),
                    predicted.to_string(),
                ]
            })
            .collect(),
    };
    let mut header = vec!["realized vs predicted".to_string()];
    header.extend((0..c.n_classes).map(name));
    let confusion = DiagnosticTable {
        title: "Confusion matrix".into(),
        header,
        rows: c
            .confusion_matrix
            .iter()
            .enumerate()
            .map(|(k, counts)| {
                let mut cells = vec![name(k)];
                cells.extend(counts.iter().map(usize::to_string));
                cells
            })
            .collect(),
    };
    let reliability = DiagnosticTable {
        title: "Reliability (top label, quantile bins)".into(),
        header: [
            "bin",
            "confidence range",
            "rows",
            "mean confidence",
            "observed",
            "gap",
        ]
        .map(String::from)
        .to_vec(),
        rows: c
            .top_label_quantile
            .bins
            .iter()
            .enumerate()
            .map(|(i, bin)| {
                vec![
                    (i + 1).to_string(),
                    format!("{} – {}", format_number(bin.lo), format_number(bin.hi)),
                    bin.count.to_string(),
                    format_optional(bin.mean_confidence),
                    format_optional(bin.observed_frequency),
                    format_optional(bin.gap),
                ]
            })
            .collect(),
    };
    [per_class, confusion, reliability]
}

fn markdown_table(md: &mut String, table: &DiagnosticTable) {
    // A heading line may be followed by the table directly (no blank line needed).
    let _ = writeln!(md, "#### {}", cell(&table.title));
    let header: Vec<String> = table.header.iter().map(|h| cell(h)).collect();
    let _ = writeln!(md, "| {} |", header.join(" | "));
    let _ = writeln!(md, "|{}", "---|".repeat(table.header.len()));
    for row in &table.rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        let _ = writeln!(md, "| {} |", cells.join(" | "));
    }
    md.push('\n');
}

/// The Markdown summary.
pub fn render_markdown(report: &Report) -> String {
    let mut md = String::new();
    // `write!` into a String cannot fail; the results are ignored on purpose.
    let meta = &report.metadata;
    match &report.verdict {
        Some(v) if v.passed => {
            let _ = writeln!(md, "# Verdict: PASS ({} gates)", v.rows.len());
        }
        Some(v) => {
            let failed: Vec<_> = v.failures().collect();
            let _ = writeln!(
                md,
                "# Verdict: FAIL ({} of {} gates failed)",
                failed.len(),
                v.rows.len()
            );
            md.push('\n');
            md.push_str("| gate | symbol | actual | threshold | margin | note |\n|---|---|---|---|---|---|\n");
            for row in failed {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} | {} |",
                    cell(&row.gate),
                    cell(row.symbol.as_deref().unwrap_or("all")),
                    format_statistic(&row.statistic, row.actual),
                    cell(&threshold_cell(row)),
                    format_optional(row.margin),
                    cell(row.note.as_deref().unwrap_or("")),
                );
            }
        }
        None => md.push_str("# Verdict: not evaluated (no gates given)\n"),
    }
    md.push('\n');
    if let Some(notice) = &report.notices.dropped_members_notice {
        let _ = writeln!(md, "> **{}**\n", notice.trim());
    }
    for warning in &report.notices.input_distribution_warnings {
        let _ = writeln!(md, "> **{}**\n", warning.trim());
    }
    for halt in describe_halts(&report.halts) {
        let _ = writeln!(md, "> **{halt}**\n");
    }
    let _ = writeln!(
        md,
        "Strategy `{}` on {} symbols, {} → {} ({} bars); gauntlet {}. Annualization: {}.",
        meta.strategy.replace('`', "'"),
        meta.symbols.len(),
        meta.first_bar_ts_ms.map_or_else(|| "n/a".into(), iso_time),
        meta.last_bar_ts_ms.map_or_else(|| "n/a".into(), iso_time),
        meta.bars,
        meta.gauntlet_version,
        report.annualization.description,
    );
    let acc = &report.trade_accounting;
    let _ = writeln!(
        md,
        "Trades: {} counted of {} ({} still open at the end of the data, P&L {}, {} trade statistics; their value is in the equity).\n",
        acc.trades_counted,
        acc.trades_total,
        acc.open_at_end,
        format_number(acc.open_at_end_pnl),
        match acc.end_of_data {
            crate::run::EndOfDataPolicy::Exclude => "excluded from",
            crate::run::EndOfDataPolicy::Include => "included in",
        },
    );
    md.push_str("## Key statistics\n\n| statistic | value |\n|---|---|\n");
    for name in KEY_STATISTICS {
        let value = report.statistics.values.get(name).copied().flatten();
        let _ = writeln!(md, "| {name} | {} |", format_statistic(name, value));
    }
    md.push('\n');
    if let Some(cal) = &report.calibration {
        md.push_str("## Calibration\n\n| model | engine | rows | accuracy | ECE | Brier | log loss | >0.99 conf. | avg conf. | consensus |\n|---|---|---|---|---|---|---|---|---|---|\n");
        if let Some(e) = &cal.ensemble {
            md.push_str(&calibration_row("ensemble", None, e));
            md.push('\n');
        }
        let engines = &report.metadata.provenance.scoring_engines;
        for (name, c) in &cal.members {
            md.push_str(&calibration_row(
                name,
                engines.get(name).map(String::as_str),
                c,
            ));
            md.push('\n');
        }
        md.push('\n');
        // One screen: the ensemble's (else the first member's) class and reliability
        // tables here; every member's are in report.html and report.json.
        let primary = cal
            .ensemble
            .as_ref()
            .map(|e| ("ensemble", e))
            .or_else(|| cal.members.iter().next().map(|(n, c)| (n.as_str(), c)));
        if let Some((name, c)) = primary {
            let [per_class, confusion, reliability] = class_tables(cal, c);
            let mut header = per_class.header;
            header.extend((0..c.n_classes).map(|k| format!("as {}", cal.class_name(k))));
            let rows = per_class
                .rows
                .into_iter()
                .zip(confusion.rows)
                .map(|(mut row, counts)| {
                    row.extend(counts.into_iter().skip(1));
                    row
                })
                .collect();
            let combined = DiagnosticTable {
                title: format!(
                    "{name}: classes (precision, recall; confusion: realized class by row, \
                     predicted as each class)"
                ),
                header,
                rows,
            };
            markdown_table(&mut md, &combined);
            markdown_table(
                &mut md,
                &DiagnosticTable {
                    title: format!("{name}: {}", reliability.title),
                    ..reliability
                },
            );
        }
    }
    if !report.breakdowns.per_symbol.is_empty() {
        let (top, bottom) = top_and_bottom(report, 3);
        md.push_str(
            "## Symbols by P&L\n\n| | symbol | trades | P&L | win rate |\n|---|---|---|---|---|\n",
        );
        for (label, rows) in [("best", top), ("worst", bottom)] {
            for (symbol, g) in rows {
                let _ = writeln!(
                    md,
                    "| {label} | {} | {} | {} | {} |",
                    cell(symbol),
                    g.trades,
                    format_number(g.total_pnl),
                    format_statistic("win_rate", g.statistics.get("win_rate").copied().flatten()),
                );
            }
        }
        md.push('\n');
    }
    let fired: Vec<String> = report
        .breakdowns
        .per_risk_rule
        .iter()
        .map(|(rule, s)| format!("{rule} ×{}", s.firings))
        .collect();
    let _ = writeln!(
        md,
        "Risk rules fired: {}. Ambiguous bars (stop and target both reachable): {}.\n",
        if fired.is_empty() {
            "none".to_string()
        } else {
            fired.join(", ")
        },
        report.ambiguity.ambiguous_bars,
    );
    md.push_str("## Files\n\n");
    for format in ReportFormat::ALL {
        let what = match format {
            ReportFormat::TradesCsv => "every trade",
            ReportFormat::RiskEventsCsv => "every risk-rule firing",
            ReportFormat::Markdown => "this summary",
            ReportFormat::Html => "plots and full tables (self-contained)",
            ReportFormat::Json => "everything, machine-readable (JSON schema)",
        };
        let _ = writeln!(md, "- `{}`: {what}", format.file_name());
    }
    md
}

#[cfg(test)]
mod class_table_tests {
    use super::*;
    use crate::calibration::PredictionSet;

    #[test]
    fn class_tables_show_precision_recall_confusion_and_quantile_bins() {
        // Rows: predicted 0, 0, 1, 2; realized 0, 1, 1, 2.
        let probabilities = vec![
            0.8, 0.1, 0.1, //
            0.6, 0.3, 0.1, //
            0.2, 0.7, 0.1, //
            0.1, 0.1, 0.8,
        ];
        let report = PredictionSet::new(3, probabilities, vec![0, 1, 1, 2])
            .unwrap()
            .report();
        let unnamed = CalibrationSection::default();
        let [per_class, confusion, reliability] = class_tables(&unnamed, &report);
        assert_eq!(
            per_class.rows[0],
            ["0", "0.5000", "1.0000", "1", "2"]
                .map(String::from)
                .to_vec()
        );
        assert_eq!(
            per_class.rows[1],
            ["1", "1.0000", "0.5000", "2", "1"]
                .map(String::from)
                .to_vec()
        );
        assert_eq!(confusion.header, ["realized vs predicted", "0", "1", "2"]);
        assert_eq!(confusion.rows[1], ["1", "1", "1", "0"]);
        let counted: usize = reliability
            .rows
            .iter()
            .map(|row| row[2].parse::<usize>().unwrap())
            .sum();
        assert_eq!(counted, 4);
        let mut md = String::new();
        markdown_table(&mut md, &confusion);
        assert!(md.starts_with("#### Confusion matrix\n| realized vs predicted | 0 | 1 | 2 |\n|---|---|---|---|\n| 0 | 1 | 0 | 0 |"), "{md}");
        // With the bundles' class names, every table says them instead of indices.
        let named = CalibrationSection {
            class_labels: ["down", "flat", "up"].map(String::from).to_vec(),
            ..CalibrationSection::default()
        };
        let [per_class, confusion, _] = class_tables(&named, &report);
        assert_eq!(per_class.rows[2][0], "up");
        assert_eq!(
            confusion.header,
            ["realized vs predicted", "down", "flat", "up"]
        );
        assert_eq!(confusion.rows[1][0], "flat");
    }
}
