//! Hand-built inline SVG charts for `report.html`. No external resources; inline SVG in
//! HTML5 needs no namespace declaration, so the page contains no URL at all. Coordinates
//! are printed with 1 decimal, so the markup is deterministic.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::model::{iso_time, EquityBucket, RiskEventRow};
use crate::breakdown::MonthlyReturn;
use crate::calibration::ReliabilityTable;

const GREEN: &str = "#2e7d32";
const RED: &str = "#c62828";
const BLUE: &str = "#1f5fa8";
const GRID: &str = "#d9d9d9";
const TEXT: &str = "#333";
const MID: &str = "#888";
const DARK: &str = "#111";
const EMPTY: &str = "#f2f2f2";

/// Escapes `& < > " '` for HTML text and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Maps `v` from `[d0, d1]` to `[r0, r1]`; the middle of the range when the domain is empty.
fn scale(v: f64, d0: f64, d1: f64, r0: f64, r1: f64) -> f64 {
    if d1 > d0 {
        r0 + (v - d0) / (d1 - d0) * (r1 - r0)
    } else {
        (r0 + r1) / 2.0
    }
}

/// Plot area inside an SVG of `width × height` with fixed margins.
struct Frame {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Frame {
    fn new(width: f64, height: f64) -> Self {
        Self {
            width,
            height,
            left: 70.0,
            right: width - 20.0,
            top: 25.0,
            bottom: height - 30.0,
        }
    }

    fn open(&self, svg: &mut String, title: &str) {
        let _ = write!(
            svg,
            r#"<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{t}"><text x="{x:.1}" y="16" font-size="13" font-weight="bold" fill="{TEXT}">{t}</text>"#,
            w = self.width,
            h = self.height,
            t = escape(title),
            x = self.left,
        );
    }

    fn axes(&self, svg: &mut String) {
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="{GRID}"/>"#,
            self.left,
            self.top,
            self.right - self.left,
            self.bottom - self.top
        );
    }

    /// Horizontal grid line with a label at `y` (data coordinate already mapped).
    fn y_tick(&self, svg: &mut String, y: f64, label: &str) {
        let _ = write!(
            svg,
            r#"<line x1="{l:.1}" y1="{y:.1}" x2="{r:.1}" y2="{y:.1}" stroke="{GRID}"/><text x="{tx:.1}" y="{ty:.1}" font-size="11" text-anchor="end" fill="{TEXT}">{label}</text>"#,
            l = self.left,
            r = self.right,
            tx = self.left - 5.0,
            ty = y + 4.0,
            label = escape(label),
        );
    }

    fn x_label(&self, svg: &mut String, x: f64, label: &str, anchor: &str) {
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="11" text-anchor="{anchor}" fill="{TEXT}">{label}</text>"#,
            y = self.bottom + 16.0,
            label = escape(label),
        );
    }
}

fn empty_chart(title: &str, message: &str) -> String {
    let frame = Frame::new(900.0, 80.0);
    let mut svg = String::new();
    frame.open(&mut svg, title);
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="50" font-size="12" fill="{MID}">{}</text></svg>"#,
        frame.left,
        escape(message)
    );
    svg
}

fn date(ts_ms: i64) -> String {
    let iso = iso_time(ts_ms);
    iso.get(..10).map(str::to_string).unwrap_or(iso)
}

/// Equity line (last equity per bucket) over a light min–max band, with the initial
/// equity as a dashed reference.
pub(super) fn equity_chart(buckets: &[EquityBucket], initial_equity: f64) -> String {
    let title = "Equity";
    if buckets.is_empty() {
        return empty_chart(title, "no bars");
    }
    let frame = Frame::new(900.0, 280.0);
    let lo = buckets
        .iter()
        .map(|b| b.min_equity)
        .fold(initial_equity, f64::min);
    let hi = buckets
        .iter()
        .map(|b| b.max_equity)
        .fold(initial_equity, f64::max);
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    };
    let n = buckets.len();
    let x = |i: usize| {
        scale(
            i as f64,
            0.0,
            (n.max(2) - 1) as f64,
            frame.left,
            frame.right,
        )
    };
    let y = |v: f64| scale(v, lo, hi, frame.bottom, frame.top);
    let mut svg = String::new();
    frame.open(&mut svg, title);
    frame.axes(&mut svg);
    for k in 0..=4 {
        let v = lo + (hi - lo) * k as f64 / 4.0;
        frame.y_tick(&mut svg, y(v), &format!("{v:.2}"));
    }
    let mut band = String::new();
    for (i, b) in buckets.iter().enumerate() {
        let _ = write!(band, "{:.1},{:.1} ", x(i), y(b.max_equity));
    }
    for (i, b) in buckets.iter().enumerate().rev() {
        let _ = write!(band, "{:.1},{:.1} ", x(i), y(b.min_equity));
    }
    let _ = write!(
        svg,
        r#"<polygon points="{}" fill="{BLUE}" fill-opacity="0.15" stroke="none"/>"#,
        band.trim_end()
    );
    let _ = write!(
        svg,
        r#"<line x1="{l:.1}" y1="{y0:.1}" x2="{r:.1}" y2="{y0:.1}" stroke="{MID}" stroke-dasharray="4 3"/>"#,
        l = frame.left,
        r = frame.right,
        y0 = y(initial_equity)
    );
    let line: Vec<String> = buckets
        .iter()
        .enumerate()
        .map(|(i, b)| format!("{:.1},{:.1}", x(i), y(b.equity)))
        .collect();
    let _ = write!(
        svg,
        r#"<polyline points="{}" fill="none" stroke="{BLUE}" stroke-width="1.5"/>"#,
        line.join(" ")
    );
    frame.x_label(&mut svg, frame.left, &date(buckets[0].ts_ms), "start");
    frame.x_label(&mut svg, frame.right, &date(buckets[n - 1].ts_ms), "end");
    svg.push_str("</svg>");
    svg
}

/// Drawdown area below zero (deepest drawdown per bucket), in percent.
pub(super) fn drawdown_chart(buckets: &[EquityBucket]) -> String {
    let title = "Drawdown";
    if buckets.is_empty() {
        return empty_chart(title, "no bars");
    }
    let frame = Frame::new(900.0, 180.0);
    let deepest = buckets.iter().map(|b| b.drawdown).fold(0.0, f64::max);
    let floor = if deepest > 0.0 { deepest } else { 0.01 };
    let n = buckets.len();
    let x = |i: usize| {
        scale(
            i as f64,
            0.0,
            (n.max(2) - 1) as f64,
            frame.left,
            frame.right,
        )
    };
    let y = |d: f64| scale(d, 0.0, floor, frame.top, frame.bottom);
    let mut svg = String::new();
    frame.open(&mut svg, title);
    frame.axes(&mut svg);
    for k in 0..=2 {
        let d = floor * k as f64 / 2.0;
        frame.y_tick(&mut svg, y(d), &format!("-{:.1}%", d * 100.0));
    }
    let mut points = format!("{:.1},{:.1} ", x(0), y(0.0));
    for (i, b) in buckets.iter().enumerate() {
        let _ = write!(points, "{:.1},{:.1} ", x(i), y(b.drawdown));
    }
    let _ = write!(points, "{:.1},{:.1}", x(n - 1), y(0.0));
    let _ = write!(
        svg,
        r#"<polygon points="{points}" fill="{RED}" fill-opacity="0.35" stroke="{RED}" stroke-width="1"/>"#
    );
    frame.x_label(&mut svg, frame.left, &date(buckets[0].ts_ms), "start");
    frame.x_label(&mut svg, frame.right, &date(buckets[n - 1].ts_ms), "end");
    svg.push_str("</svg>");
    svg
}

/// Reliability diagram: per non-empty bin, a bar up to the observed frequency spanning the
/// bin and a dot at (mean confidence, observed frequency); the diagonal is perfect
/// calibration.
pub(super) fn reliability_diagram(title: &str, table: &ReliabilityTable) -> String {
    let frame = Frame {
        width: 340.0,
        height: 340.0,
        left: 45.0,
        right: 325.0,
        top: 25.0,
        bottom: 305.0,
    };
    let x = |v: f64| scale(v, 0.0, 1.0, frame.left, frame.right);
    let y = |v: f64| scale(v, 0.0, 1.0, frame.bottom, frame.top);
    let mut svg = String::new();
    frame.open(&mut svg, title);
    frame.axes(&mut svg);
    for k in 0..=4 {
        let v = k as f64 / 4.0;
        frame.y_tick(&mut svg, y(v), &format!("{v:.2}"));
        frame.x_label(&mut svg, x(v), &format!("{v:.2}"), "middle");
    }
    let _ = write!(
        svg,
        r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{MID}" stroke-dasharray="4 3"/>"#,
        x(0.0),
        y(0.0),
        x(1.0),
        y(1.0)
    );
    for bin in &table.bins {
        let (Some(conf), Some(freq)) = (bin.mean_confidence, bin.observed_frequency) else {
            continue;
        };
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{BLUE}" fill-opacity="0.3" stroke="{BLUE}"><title>[{:.3}, {:.3}]: n={}, confidence {:.3}, observed {:.3}</title></rect><circle cx="{:.1}" cy="{:.1}" r="3" fill="{RED}"/>"#,
            x(bin.lo),
            y(freq),
            (x(bin.hi) - x(bin.lo)).max(0.5),
            y(0.0) - y(freq),
            bin.lo,
            bin.hi,
            bin.count,
            conf,
            freq,
            x(conf),
            y(freq),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Histogram of top-label confidences (counts per equal-width bin over [0, 1]).
pub(super) fn confidence_histogram(title: &str, counts: &[usize]) -> String {
    let frame = Frame {
        width: 340.0,
        height: 340.0,
        left: 55.0,
        right: 325.0,
        top: 25.0,
        bottom: 305.0,
    };
    let mut svg = String::new();
    frame.open(&mut svg, title);
    frame.axes(&mut svg);
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let y = |c: f64| scale(c, 0.0, max, frame.bottom, frame.top);
    for k in 0..=2 {
        let c = max * k as f64 / 2.0;
        frame.y_tick(&mut svg, y(c), &format!("{c:.0}"));
    }
    let n = counts.len().max(1) as f64;
    for (i, &c) in counts.iter().enumerate() {
        let x0 = scale(i as f64, 0.0, n, frame.left, frame.right);
        let x1 = scale(i as f64 + 1.0, 0.0, n, frame.left, frame.right);
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{BLUE}" fill-opacity="0.6"><title>{}: {c}</title></rect>"#,
            x0 + 1.0,
            y(c as f64),
            (x1 - x0 - 2.0).max(0.5),
            frame.bottom - y(c as f64),
            escape(&format!("[{:.1}, {:.1}]", i as f64 / n, (i + 1) as f64 / n)),
        );
    }
    for k in 0..=2 {
        let v = k as f64 / 2.0;
        frame.x_label(
            &mut svg,
            scale(v, 0.0, 1.0, frame.left, frame.right),
            &format!("{v:.1}"),
            "middle",
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars of total P&L per symbol (best first); green gains, red losses.
pub(super) fn symbol_bars(rows: &[(&str, f64)]) -> String {
    let title = "P&L per symbol";
    if rows.is_empty() {
        return empty_chart(title, "no trades");
    }
    let row_height = 18.0;
    let mut frame = Frame::new(900.0, 50.0 + row_height * rows.len() as f64);
    frame.left = 160.0;
    let max = rows.iter().map(|(_, v)| v.abs()).fold(0.0, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let zero = (frame.left + frame.right) / 2.0;
    let half = (frame.right - frame.left) / 2.0;
    let mut svg = String::new();
    frame.open(&mut svg, title);
    let _ = write!(
        svg,
        r#"<line x1="{zero:.1}" y1="{:.1}" x2="{zero:.1}" y2="{:.1}" stroke="{MID}"/>"#,
        frame.top, frame.bottom
    );
    for (i, (symbol, pnl)) in rows.iter().enumerate() {
        let top = frame.top + 4.0 + i as f64 * row_height;
        let width = pnl.abs() / max * half;
        let x0 = if *pnl >= 0.0 { zero } else { zero - width };
        let color = if *pnl >= 0.0 { GREEN } else { RED };
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="{TEXT}">{}</text><rect x="{x0:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{color}"><title>{}: {pnl:.2}</title></rect>"#,
            frame.left - 6.0,
            top + 12.0,
            escape(symbol),
            width.max(0.5),
            row_height - 5.0,
            escape(symbol),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Monthly returns heatmap: one row per year, one column per month; colour intensity
/// ∝ |return| / max |return|, green gains, red losses.
pub(super) fn monthly_heatmap(months: &[MonthlyReturn]) -> String {
    let title = "Monthly returns";
    if months.is_empty() {
        return empty_chart(title, "no bars");
    }
    let mut years: BTreeMap<i32, BTreeMap<u32, f64>> = BTreeMap::new();
    for m in months {
        years
            .entry(m.year)
            .or_default()
            .insert(m.month, m.simple_return);
    }
    let max = months
        .iter()
        .map(|m| m.simple_return.abs())
        .fold(0.0, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let (cell_w, cell_h, left, top) = (62.0, 26.0, 60.0, 44.0);
    let width = left + 12.0 * cell_w + 20.0;
    let height = top + cell_h * years.len() as f64 + 10.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{title}"><text x="{left}" y="16" font-size="13" font-weight="bold" fill="{TEXT}">{title}</text>"#
    );
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    for (i, name) in NAMES.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="{TEXT}">{name}</text>"#,
            left + (i as f64 + 0.5) * cell_w,
            top - 8.0
        );
    }
    for (row, (year, by_month)) in years.iter().enumerate() {
        let y = top + row as f64 * cell_h;
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="{TEXT}">{year}</text>"#,
            left - 6.0,
            y + cell_h / 2.0 + 4.0
        );
        for month in 1..=12u32 {
            let x = left + (month - 1) as f64 * cell_w;
            match by_month.get(&month) {
                Some(&r) => {
                    let color = if r >= 0.0 { GREEN } else { RED };
                    let opacity = 0.15 + 0.85 * (r.abs() / max);
                    let _ = write!(
                        svg,
                        r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{color}" fill-opacity="{opacity:.3}"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="{DARK}">{:.2}%</text>"#,
                        cell_w - 2.0,
                        cell_h - 2.0,
                        x + cell_w / 2.0,
                        y + cell_h / 2.0 + 3.0,
                        r * 100.0
                    );
                }
                None => {
                    let _ = write!(
                        svg,
                        r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{EMPTY}"/>"#,
                        cell_w - 2.0,
                        cell_h - 2.0
                    );
                }
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Risk-event timeline: one lane per rule, a tick per firing at its time, over the run's
/// time span.
pub(super) fn risk_timeline(events: &[RiskEventRow], start_ms: i64, end_ms: i64) -> String {
    let title = "Risk-event timeline";
    if events.is_empty() {
        return empty_chart(title, "no risk rule fired");
    }
    let mut lanes: Vec<&str> = events.iter().map(|e| e.rule.as_str()).collect();
    lanes.sort_unstable();
    lanes.dedup();
    let lane_height = 24.0;
    let mut frame = Frame::new(900.0, 60.0 + lane_height * lanes.len() as f64);
    frame.left = 170.0;
    let lo = start_ms.min(events.iter().map(|e| e.ts_ms).min().unwrap_or(start_ms));
    let hi = end_ms.max(events.iter().map(|e| e.ts_ms).max().unwrap_or(end_ms));
    let x = |ts: i64| scale(ts as f64, lo as f64, hi as f64, frame.left, frame.right);
    let mut svg = String::new();
    frame.open(&mut svg, title);
    frame.axes(&mut svg);
    for (i, lane) in lanes.iter().enumerate() {
        let y = frame.top + (i as f64 + 0.5) * lane_height;
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="{TEXT}">{}</text><line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{GRID}"/>"#,
            frame.left - 6.0,
            y + 4.0,
            escape(lane),
            frame.left,
            frame.right
        );
    }
    for e in events {
        let lane = lanes.iter().position(|l| *l == e.rule).unwrap_or(0);
        let y = frame.top + (lane as f64 + 0.5) * lane_height;
        let _ = write!(
            svg,
            r#"<line x1="{cx:.1}" y1="{:.1}" x2="{cx:.1}" y2="{:.1}" stroke="{RED}" stroke-width="2"><title>{}</title></line>"#,
            y - 8.0,
            y + 8.0,
            escape(&format!("{} {} {} {}", e.time, e.rule, e.symbol, e.details)),
            cx = x(e.ts_ms),
        );
    }
    frame.x_label(&mut svg, frame.left, &date(lo), "start");
    frame.x_label(&mut svg, frame.right, &date(hi), "end");
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_characters() {
        assert_eq!(
            escape(r#"<b>"A&B's"</b>"#),
            "&lt;b&gt;&quot;A&amp;B&#39;s&quot;&lt;/b&gt;"
        );
    }

    #[test]
    fn scale_handles_an_empty_domain() {
        assert_eq!(scale(5.0, 0.0, 10.0, 0.0, 100.0), 50.0);
        assert_eq!(scale(5.0, 3.0, 3.0, 0.0, 100.0), 50.0);
    }
}
