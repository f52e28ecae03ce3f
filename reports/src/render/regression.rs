//! The Markdown rendering of a [`RegressionReport`] (`regress.md`): the verdict and counts,
//! the metadata differences by severity, and the metric tables.

use std::fmt::Write as _;

use crate::regress::Preference::{
    HigherIsBetter as Higher, LowerIsBetter as Lower, MustEqual as Equal,
};
use crate::regress::{
    MetadataDifference, MetricRow, MetricTolerance, RegressionReport, RegressionVerdict, Severity,
    Status,
};

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Regressed => "**REGRESSED**",
            Status::Missing => "**missing**",
            Status::WithinTolerance => "within tolerance",
            Status::Improved => "improved",
            Status::Unchanged => "unchanged",
        }
    }
}

impl RegressionVerdict {
    fn label(self) -> &'static str {
        match self {
            RegressionVerdict::Pass => "PASS",
            RegressionVerdict::Regressed => "REGRESSED",
            RegressionVerdict::Incomparable => "NOT COMPARABLE",
        }
    }
}

/// A number for the tables: `0`; `{:.4e}` when `|v| < 1e-4` or `|v| ≥ 1e9`; otherwise
/// `{:.6}` without trailing zeros. `−0` prints as `0`.
pub fn format_value(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    if !(1e-4..1e9).contains(&v.abs()) {
        return format!("{v:.4e}");
    }
    let text = format!("{v:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

fn format_signed(v: f64) -> String {
    let text = format_value(v);
    if v > 0.0 {
        format!("+{text}")
    } else {
        text
    }
}

fn format_optional(v: Option<f64>, format: fn(f64) -> String) -> String {
    v.map_or_else(|| "n/a".to_string(), format)
}

fn format_percent(v: f64) -> String {
    format!("{:+.2}%", v * 100.0)
}

/// The tolerance in words: the allowed worsening when the baseline is known
/// (`drop ≤ 0.1`, `rise ≤ 0.01`, `±5`; `no drop` / `no rise` / `exact` when 0), else the
/// configured parts (`drop ≤ 0.1 or 5%`).
fn describe_tolerance(tolerance: &MetricTolerance, allowed: Option<f64>) -> String {
    let (word, zero) = match tolerance.direction {
        Higher => ("drop ≤ ", "no drop"),
        Lower => ("rise ≤ ", "no rise"),
        Equal => ("±", "exact"),
    };
    let amount = match allowed {
        Some(0.0) => return zero.to_string(),
        Some(a) => format_value(a),
        None => {
            let parts: Vec<String> = [
                tolerance.abs.filter(|&a| a > 0.0).map(format_value),
                tolerance
                    .rel
                    .filter(|&r| r > 0.0)
                    .map(|r| format!("{}%", format_value(r * 100.0))),
            ]
            .into_iter()
            .flatten()
            .collect();
            if parts.is_empty() {
                return zero.to_string();
            }
            parts.join(" or ")
        }
    };
    format!("{word}{amount}")
}

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

const TABLE_HEADER: &str = "| scope | metric | baseline | candidate | diff | rel. diff | tolerance | status | note |\n|---|---|---:|---:|---:|---:|---|---|---|\n";

fn write_rows<'a>(
    out: &mut String,
    rows: impl Iterator<Item = &'a MetricRow>,
    allow_missing: bool,
) {
    out.push_str(TABLE_HEADER);
    for row in rows {
        let status = if row.status == Status::Missing && allow_missing {
            "missing (allowed)"
        } else {
            row.status.label()
        };
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&row.scope),
            cell(&row.metric),
            format_optional(row.baseline, format_value),
            format_optional(row.candidate, format_value),
            format_optional(row.diff, format_signed),
            format_optional(row.relative_diff, format_percent),
            describe_tolerance(&row.tolerance, row.allowed_worsening),
            status,
            cell(row.note.as_deref().unwrap_or("")),
        );
    }
}

fn write_metadata(out: &mut String, title: &str, differences: &[&MetadataDifference]) {
    if differences.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}\n");
    for d in differences {
        if d.baseline.is_empty() && d.candidate.is_empty() {
            let _ = writeln!(out, "- `{}`: {}", d.field, d.message);
        } else {
            let _ = writeln!(
                out,
                "- `{}`: {} (baseline `{}`, candidate `{}`)",
                d.field, d.message, d.baseline, d.candidate
            );
        }
    }
    out.push('\n');
}

impl RegressionReport {
    /// Markdown for a CI comment or job summary: the verdict and counts first, then the
    /// differences that make the reports incomparable, warnings, the regressed and missing
    /// metrics, what changed between the runs, and every other metric in a collapsed
    /// `<details>` block (within tolerance, improved, unchanged). The labels name the two
    /// reports (e.g. their directories).
    pub fn to_markdown(&self, baseline_label: &str, candidate_label: &str) -> String {
        let c = &self.counts;
        let total = c.regressed + c.missing + c.within_tolerance + c.improved + c.unchanged;
        let mut out = String::new();
        let _ = writeln!(out, "## gauntlet regress: {}\n", self.verdict.label());
        // Bold only what needs attention.
        let loud = |count: usize, what: &str| {
            if count > 0 {
                format!("**{count} {what}**")
            } else {
                format!("{count} {what}")
            }
        };
        let _ = writeln!(
            out,
            "Candidate `{candidate_label}` against baseline `{baseline_label}`: {}, {}{}, {} within tolerance, {} improved, {} unchanged ({total} metrics).\n",
            loud(c.regressed, "regressed"),
            loud(c.missing, "missing"),
            if self.allow_missing && c.missing > 0 { " (allowed)" } else { "" },
            c.within_tolerance,
            c.improved,
            c.unchanged,
        );
        let of = |severity: Severity| -> Vec<&MetadataDifference> {
            self.metadata
                .iter()
                .filter(|d| d.severity == severity)
                .collect()
        };
        write_metadata(
            &mut out,
            "**The reports are not comparable**: regenerate the baseline on the same data and settings before trusting any number below.",
            &of(Severity::Incomparable),
        );
        write_metadata(&mut out, "**Warnings**:", &of(Severity::Warning));
        let failures: Vec<&MetricRow> = self.failures().collect();
        if failures.is_empty() {
            out.push_str("No metric regressed and none is missing.\n\n");
        } else {
            out.push_str("### Regressed and missing metrics\n\n");
            let mut sorted = failures;
            // Stable: scope order within a status.
            sorted.sort_by_key(|r| r.status);
            write_rows(&mut out, sorted.into_iter(), self.allow_missing);
            out.push('\n');
        }
        write_metadata(
            &mut out,
            "### What changed between the runs",
            &of(Severity::Info),
        );
        let mut others: Vec<&MetricRow> = self
            .rows
            .iter()
            .filter(|r| !matches!(r.status, Status::Regressed | Status::Missing))
            .collect();
        if !others.is_empty() {
            others.sort_by_key(|r| r.status);
            let _ = writeln!(
                out,
                "<details>\n<summary>Other metrics ({}): {} within tolerance, {} improved, {} unchanged</summary>\n",
                others.len(),
                c.within_tolerance,
                c.improved,
                c.unchanged
            );
            write_rows(&mut out, others.into_iter(), self.allow_missing);
            out.push_str("\n</details>\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use rstest::rstest;

    use crate::regress::Preference;

    fn tol(direction: Preference, abs: Option<f64>, rel: Option<f64>) -> MetricTolerance {
        MetricTolerance {
            direction,
            abs,
            rel,
        }
    }

    #[rstest]
    #[case(0.0, "0")]
    #[case(-0.0, "0")]
    #[case(1.5, "1.5")]
    #[case(-0.125, "-0.125")]
    #[case(1234.0, "1234")]
    #[case(0.1234567, "0.123457")]
    #[case(0.00001234, "1.2340e-5")]
    #[case(2.5e9, "2.5000e9")]
    fn formats_values(#[case] v: f64, #[case] expected: &str) {
        assert_eq!(format_value(v), expected);
    }

    #[rstest]
    #[case(tol(Higher, Some(0.1), None), Some(0.1), "drop ≤ 0.1")]
    #[case(tol(Lower, Some(0.0), None), Some(0.0), "no rise")]
    #[case(tol(Equal, None, Some(0.05)), Some(5.0), "±5")]
    #[case(tol(Higher, Some(0.1), Some(0.05)), None, "drop ≤ 0.1 or 5%")]
    #[case(tol(Equal, None, None), None, "exact")]
    fn describes_tolerances(
        #[case] tolerance: MetricTolerance,
        #[case] allowed: Option<f64>,
        #[case] expected: &str,
    ) {
        assert_eq!(describe_tolerance(&tolerance, allowed), expected);
    }
}
