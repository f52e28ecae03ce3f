//! `report.md`: a one-screen summary, verdict first.

use std::fmt::Write as _;

use super::model::iso_time;
use super::{Report, ReportFormat};
use crate::breakdown::TradeGroup;
use crate::calibration::CalibrationReport;
use crate::gates::GateRow;

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
fn calibration_row(name: &str, c: &CalibrationReport) -> String {
    let v = c.values();
    let get = |k: &str| v.get(k).copied().flatten();
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        cell(name),
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
        md.push_str("## Calibration\n\n| model | rows | accuracy | ECE | Brier | log loss | >0.99 conf. | avg conf. | consensus |\n|---|---|---|---|---|---|---|---|---|\n");
        if let Some(e) = &cal.ensemble {
            md.push_str(&calibration_row("ensemble", e));
            md.push('\n');
        }
        for (name, c) in &cal.members {
            md.push_str(&calibration_row(name, c));
            md.push('\n');
        }
        md.push('\n');
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
