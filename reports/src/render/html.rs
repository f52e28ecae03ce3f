//! `report.html`: one self-contained page (inline CSS, inline SVG, no script, no external
//! resource of any kind). Every piece of text from the run or the caller is escaped.

use std::fmt::Write as _;

use super::markdown::{
    class_tables, format_number, format_optional, format_statistic, threshold_cell, KEY_STATISTICS,
};
use super::model::{iso_time, CalibrationSection};
use super::svg::{
    confidence_histogram, drawdown_chart, equity_chart, escape, monthly_heatmap,
    reliability_diagram, risk_timeline, symbol_bars,
};
use super::Report;
use crate::calibration::CalibrationReport;
use crate::halts::describe_halts;
use crate::run::EndOfDataPolicy;

/// Rows of the trade table in the page (the full list is in `trades.csv`).
pub const HTML_TRADE_ROWS: usize = 200;

/// Symbols shown in the per-symbol chart: the best and the worst this many each.
const CHART_SYMBOLS_EACH_SIDE: usize = 15;

pub(super) const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#222;line-height:1.4;padding:0 16px}\
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:16px 0 6px}\
.verdict{padding:12px 16px;border-radius:6px;font-size:20px;font-weight:bold;margin:12px 0}\
.pass{background:#e8f5e9;color:#1b5e20;border:1px solid #a5d6a7}.fail{background:#ffebee;color:#b71c1c;border:1px solid #ef9a9a}.none{background:#f5f5f5;color:#555;border:1px solid #ddd}\
.notice{background:#fff8e1;border:1px solid #ffcc80;padding:8px 12px;border-radius:6px;margin:8px 0;font-weight:bold}\
table{border-collapse:collapse;margin:6px 0;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f5f5f5}td.l,th.l{text-align:left}td{white-space:nowrap}td:last-child{white-space:normal}\
tr.failed td{background:#ffebee}.cards{display:flex;flex-wrap:wrap;gap:8px}.card{border:1px solid #ddd;border-radius:6px;padding:6px 10px;min-width:120px}\
.card .k{font-size:11px;color:#666}.card .v{font-size:17px;font-weight:bold}.charts{display:flex;flex-wrap:wrap;gap:12px}svg.chart{max-width:100%;height:auto;background:#fff}\
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}.muted{color:#666;font-size:13px}";

pub(super) fn table_header(html: &mut String, columns: &[&str]) {
    html.push_str("<table><tr>");
    for (i, c) in columns.iter().enumerate() {
        let class = if i == 0 { " class=\"l\"" } else { "" };
        let _ = write!(html, "<th{class}>{}</th>", escape(c));
    }
    html.push_str("</tr>");
}

pub(super) fn row(html: &mut String, cells: &[String]) {
    html.push_str("<tr>");
    for (i, c) in cells.iter().enumerate() {
        let class = if i == 0 { " class=\"l\"" } else { "" };
        let _ = write!(html, "<td{class}>{}</td>", escape(c));
    }
    html.push_str("</tr>");
}

fn verdict_section(html: &mut String, report: &Report) {
    match &report.verdict {
        None => html
            .push_str("<div class=\"verdict none\">Verdict: not evaluated (no gates given)</div>"),
        Some(v) => {
            let failed = v.failures().count();
            if v.passed {
                let _ = write!(
                    html,
                    "<div class=\"verdict pass\">PASS — all {} gates passed</div>",
                    v.rows.len()
                );
            } else {
                let _ = write!(
                    html,
                    "<div class=\"verdict fail\">FAIL — {failed} of {} gates failed</div>",
                    v.rows.len()
                );
            }
            table_header(
                html,
                &[
                    "gate",
                    "symbol",
                    "statistic",
                    "actual",
                    "threshold",
                    "margin",
                    "result",
                    "note",
                ],
            );
            for r in &v.rows {
                html.push_str(if r.passed {
                    "<tr>"
                } else {
                    "<tr class=\"failed\">"
                });
                let cells = [
                    r.gate.clone(),
                    r.symbol.clone().unwrap_or_else(|| "all".into()),
                    r.statistic.clone(),
                    format_statistic(&r.statistic, r.actual),
                    threshold_cell(r),
                    format_optional(r.margin),
                    if r.passed { "pass" } else { "FAIL" }.to_string(),
                    r.note.clone().unwrap_or_default(),
                ];
                for (i, c) in cells.iter().enumerate() {
                    let class = if i == 0 { " class=\"l\"" } else { "" };
                    let _ = write!(html, "<td{class}>{}</td>", escape(c));
                }
                html.push_str("</tr>");
            }
            html.push_str("</table>");
        }
    }
}

fn metadata_section(html: &mut String, report: &Report) {
    let m = &report.metadata;
    let p = &m.provenance;
    html.push_str("<h2>Run</h2>");
    table_header(html, &["field", "value"]);
    let period = format!(
        "{} → {} ({} bars, {} candles)",
        m.first_bar_ts_ms.map_or_else(|| "n/a".into(), iso_time),
        m.last_bar_ts_ms.map_or_else(|| "n/a".into(), iso_time),
        m.bars,
        m.candles
    );
    let acc = &report.trade_accounting;
    let accounting = format!(
        "{} of {} trades counted; {} still open at the end of the data (P&L {}) {} trade statistics, their value is in the equity",
        acc.trades_counted,
        acc.trades_total,
        acc.open_at_end,
        format_number(acc.open_at_end_pnl),
        match acc.end_of_data {
            EndOfDataPolicy::Exclude => "excluded from",
            EndOfDataPolicy::Include => "included in",
        }
    );
    let rows = [
        ("strategy", m.strategy.clone()),
        ("symbols", m.symbols.join(", ")),
        ("period", period),
        ("initial cash", format_number(m.initial_cash)),
        ("final equity", format_number(m.final_equity)),
        ("annualization", report.annualization.description.clone()),
        ("trades", accounting),
        ("gauntlet version", m.gauntlet_version.clone()),
        (
            "data hash",
            p.data_hash.clone().unwrap_or_else(|| "n/a".into()),
        ),
        (
            "manifest hash",
            p.manifest_hash.clone().unwrap_or_else(|| "n/a".into()),
        ),
    ];
    for (k, v) in rows {
        row(html, &[k.to_string(), v]);
    }
    for (member, hash) in &p.bundle_hashes {
        row(html, &[format!("bundle {member}"), hash.clone()]);
    }
    for (member, engine) in &p.scoring_engines {
        row(html, &[format!("engine {member}"), engine.clone()]);
    }
    html.push_str("</table>");
    let config = serde_json::to_string_pretty(&p.config).unwrap_or_default();
    let _ = write!(
        html,
        "<details><summary>Configuration</summary><pre>{}</pre></details>",
        escape(&config)
    );
}

fn statistics_section(html: &mut String, report: &Report) {
    html.push_str("<h2>Performance</h2><div class=\"cards\">");
    for name in KEY_STATISTICS {
        let value = report.statistics.values.get(name).copied().flatten();
        let _ = write!(
            html,
            "<div class=\"card\"><div class=\"k\">{}</div><div class=\"v\">{}</div></div>",
            escape(name),
            escape(&format_statistic(name, value))
        );
    }
    html.push_str("</div>");
    html.push_str(&equity_chart(
        &report.equity_plot,
        report.metadata.initial_cash,
    ));
    html.push_str(&drawdown_chart(&report.equity_plot));
    html.push_str("<details><summary>All statistics</summary>");
    table_header(html, &["statistic", "value"]);
    for (name, value) in &report.statistics.values {
        row(html, &[name.clone(), format_statistic(name, *value)]);
    }
    html.push_str("</table></details>");
}

fn calibration_block(
    html: &mut String,
    section: &CalibrationSection,
    name: &str,
    c: &CalibrationReport,
) {
    let _ = write!(html, "<h3>{}</h3><div class=\"charts\">", escape(name));
    html.push_str(&reliability_diagram(
        &format!("Reliability — {name}"),
        &c.top_label_uniform,
    ));
    html.push_str(&confidence_histogram(
        &format!("Confidence — {name}"),
        &c.confidence_histogram,
    ));
    html.push_str("</div>");
    table_header(html, &["diagnostic", "value"]);
    for (k, v) in c.values() {
        row(html, &[k.clone(), format_statistic(&k, v)]);
    }
    row(html, &["rows".into(), c.rows.to_string()]);
    html.push_str("</table>");
    for table in class_tables(section, c) {
        let _ = write!(html, "<h4>{}</h4>", escape(&table.title));
        let header: Vec<&str> = table.header.iter().map(String::as_str).collect();
        table_header(html, &header);
        for cells in &table.rows {
            row(html, cells);
        }
        html.push_str("</table>");
    }
}

fn calibration_section(html: &mut String, report: &Report) {
    let Some(cal) = &report.calibration else {
        return;
    };
    html.push_str("<h2>Calibration</h2>");
    if let Some(e) = &cal.ensemble {
        calibration_block(html, cal, "ensemble", e);
    }
    for (name, c) in &cal.members {
        calibration_block(html, cal, name, c);
    }
}

fn breakdown_sections(html: &mut String, report: &Report) {
    let b = &report.breakdowns;
    html.push_str("<h2>Per symbol</h2>");
    let mut ranked: Vec<(&str, f64)> = b
        .per_symbol
        .iter()
        .map(|(s, g)| (s.as_str(), g.total_pnl))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let chart_rows: Vec<(&str, f64)> = if ranked.len() > 2 * CHART_SYMBOLS_EACH_SIDE {
        let mut rows = ranked[..CHART_SYMBOLS_EACH_SIDE].to_vec();
        rows.extend_from_slice(&ranked[ranked.len() - CHART_SYMBOLS_EACH_SIDE..]);
        html.push_str(&format!(
            "<p class=\"muted\">Chart: best and worst {CHART_SYMBOLS_EACH_SIDE} of {} symbols.</p>",
            ranked.len()
        ));
        rows
    } else {
        ranked
    };
    html.push_str(&symbol_bars(&chart_rows));
    let group_columns = [
        "group",
        "trades",
        "share",
        "P&L",
        "win rate",
        "profit factor",
        "expectancy",
        "SL hit rate",
    ];
    let group_cells = |name: String, g: &crate::breakdown::TradeGroup| {
        let s = |k: &str| format_statistic(k, g.statistics.get(k).copied().flatten());
        vec![
            name,
            g.trades.to_string(),
            format!("{:.1}%", g.share_of_trades * 100.0),
            format_number(g.total_pnl),
            s("win_rate"),
            s("profit_factor"),
            s("expectancy"),
            s("stop_loss_hit_rate"),
        ]
    };
    table_header(html, &group_columns);
    for (symbol, g) in &b.per_symbol {
        row(html, &group_cells(symbol.clone(), g));
    }
    html.push_str("</table><h2>Per exit reason</h2>");
    table_header(html, &group_columns);
    for (reason, g) in &b.per_exit_reason {
        row(html, &group_cells(reason.as_str().to_string(), g));
    }
    html.push_str("</table><h2>Monthly returns</h2>");
    html.push_str(&monthly_heatmap(&b.monthly));
}

fn risk_section(html: &mut String, report: &Report) {
    html.push_str("<h2>Risk rules</h2>");
    let m = &report.metadata;
    html.push_str(&risk_timeline(
        &report.risk_events,
        m.first_bar_ts_ms.unwrap_or(0),
        m.last_bar_ts_ms.unwrap_or(0),
    ));
    if !report.breakdowns.per_risk_rule.is_empty() {
        table_header(
            html,
            &[
                "rule",
                "firings",
                "symbols",
                "first",
                "last",
                "exits caused",
                "P&L of exits",
                "trades after",
                "P&L after",
            ],
        );
        for (rule, s) in &report.breakdowns.per_risk_rule {
            row(
                html,
                &[
                    rule.clone(),
                    s.firings.to_string(),
                    s.symbols.to_string(),
                    iso_time(s.first_ts_ms),
                    iso_time(s.last_ts_ms),
                    s.exits_caused.to_string(),
                    format_number(s.exits_caused_pnl),
                    s.trades_after.to_string(),
                    format_number(s.pnl_after),
                ],
            );
        }
        html.push_str("</table><p class=\"muted\">Exits caused: trades the rule closed. Trades after: trades entered after the rule first fired for their symbol (or portfolio-wide).</p>");
    }
    let a = &report.ambiguity;
    let _ = write!(
        html,
        "<h3>Ambiguous bars</h3><p>{} bars reached both stop and target ({} resolved stop first, {} target first); resolving all optimistically would have added {}.</p>",
        a.ambiguous_bars,
        a.resolved_stop_first,
        a.resolved_target_first,
        format_number(a.optimistic_minus_pessimistic_pnl)
    );
}

fn trades_section(html: &mut String, report: &Report) {
    let _ = write!(
        html,
        "<h2>Trades</h2><p class=\"muted\">{} trades{}; the full list is in <a href=\"trades.csv\">trades.csv</a>.</p>",
        report.trades.len(),
        if report.trades.len() > HTML_TRADE_ROWS {
            format!(", first {HTML_TRADE_ROWS} shown")
        } else {
            String::new()
        }
    );
    if report.trades.is_empty() {
        return;
    }
    table_header(
        html,
        &[
            "symbol",
            "side",
            "entry",
            "exit",
            "bars",
            "entry price",
            "exit price",
            "P&L",
            "return",
            "exit reason",
            "MAE",
            "MFE",
        ],
    );
    for t in report.trades.iter().take(HTML_TRADE_ROWS) {
        row(
            html,
            &[
                t.symbol.clone(),
                t.side.clone(),
                t.entry_time.clone(),
                t.exit_time.clone(),
                t.bars_held.to_string(),
                format_number(t.entry_price),
                format_number(t.exit_price),
                format_number(t.pnl),
                format!("{:.2}%", t.return_pct * 100.0),
                t.exit_reason.as_str().to_string(),
                format!("{:.2}%", t.mae * 100.0),
                format!("{:.2}%", t.mfe * 100.0),
            ],
        );
    }
    html.push_str("</table>");
}

/// The HTML page.
pub fn render_html(report: &Report) -> String {
    let mut html = String::with_capacity(64 * 1024);
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>gauntlet report — {}</title><style>{STYLE}</style></head><body><h1>gauntlet report — {}</h1>",
        escape(&report.metadata.strategy),
        escape(&report.metadata.strategy)
    );
    verdict_section(&mut html, report);
    if let Some(notice) = &report.notices.dropped_members_notice {
        let _ = write!(html, "<div class=\"notice\">{}</div>", escape(notice));
    }
    for warning in &report.notices.input_distribution_warnings {
        let _ = write!(html, "<div class=\"notice\">{}</div>", escape(warning));
    }
    for halt in describe_halts(&report.halts) {
        let _ = write!(html, "<div class=\"notice\">{}</div>", escape(&halt));
    }
    statistics_section(&mut html, report);
    calibration_section(&mut html, report);
    breakdown_sections(&mut html, report);
    risk_section(&mut html, report);
    trades_section(&mut html, report);
    metadata_section(&mut html, report);
    html.push_str("</body></html>\n");
    html
}
