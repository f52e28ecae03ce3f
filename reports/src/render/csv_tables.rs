//! `trades.csv` and `risk_events.csv`: a header row, then one row per trade / event, in
//! the fixed column order below. Numbers use Rust's shortest round-trip formatting.

use std::fmt::{Display, Write as _};
use std::io::Write;

use super::{RenderError, Report};

/// Columns of `trades.csv`.
pub const TRADE_COLUMNS: [&str; 17] = [
    "symbol",
    "side",
    "entry_ts_ms",
    "exit_ts_ms",
    "entry_time",
    "exit_time",
    "bars_held",
    "quantity",
    "entry_price",
    "exit_price",
    "fees",
    "pnl",
    "return_pct",
    "exit_reason",
    "mae",
    "mfe",
    "counted_in_statistics",
];

/// Columns of `risk_events.csv`.
pub const RISK_EVENT_COLUMNS: [&str; 5] = ["ts_ms", "time", "symbol", "rule", "details"];

fn csv_error(file: &'static str) -> impl Fn(csv::Error) -> RenderError {
    move |source| RenderError::Csv { file, source }
}

/// A CSV writer of one file's rows, each field written from a reused buffer (220,000
/// trades are 3.7 million fields: no allocation per field).
struct Rows<W: Write> {
    writer: csv::Writer<W>,
    field: String,
    file: &'static str,
}

impl<W: Write> Rows<W> {
    fn new(out: W, file: &'static str, header: &[&str]) -> Result<Self, RenderError> {
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(header).map_err(csv_error(file))?;
        Ok(Self {
            writer,
            field: String::new(),
            file,
        })
    }

    /// Writes `value` formatted with `Display` (shortest round-trip for floats).
    fn value(&mut self, value: impl Display) -> Result<(), RenderError> {
        self.field.clear();
        write!(self.field, "{value}").expect("formatting into a String cannot fail");
        self.writer
            .write_field(&self.field)
            .map_err(csv_error(self.file))
    }

    fn text(&mut self, text: &str) -> Result<(), RenderError> {
        self.writer.write_field(text).map_err(csv_error(self.file))
    }

    fn end_row(&mut self) -> Result<(), RenderError> {
        self.writer
            .write_record(None::<&[u8]>)
            .map_err(csv_error(self.file))
    }

    fn finish(self) -> Result<(), RenderError> {
        let file = self.file;
        self.writer
            .into_inner()
            .map(drop)
            .map_err(|e| RenderError::Csv {
                file,
                source: csv::Error::from(e.into_error()),
            })
    }
}

/// Writes `trades.csv` to `out`.
pub(super) fn write_trades_csv(report: &Report, out: impl Write) -> Result<(), RenderError> {
    let mut rows = Rows::new(out, "trades.csv", &TRADE_COLUMNS)?;
    for t in &report.trades {
        rows.text(&t.symbol)?;
        rows.text(&t.side)?;
        rows.value(t.entry_ts_ms)?;
        rows.value(t.exit_ts_ms)?;
        rows.text(&t.entry_time)?;
        rows.text(&t.exit_time)?;
        rows.value(t.bars_held)?;
        rows.value(t.quantity)?;
        rows.value(t.entry_price)?;
        rows.value(t.exit_price)?;
        rows.value(t.fees)?;
        rows.value(t.pnl)?;
        rows.value(t.return_pct)?;
        rows.text(t.exit_reason.as_str())?;
        rows.value(t.mae)?;
        rows.value(t.mfe)?;
        rows.value(t.counted_in_statistics)?;
        rows.end_row()?;
    }
    rows.finish()
}

/// Writes `risk_events.csv` to `out`.
pub(super) fn write_risk_events_csv(report: &Report, out: impl Write) -> Result<(), RenderError> {
    let mut rows = Rows::new(out, "risk_events.csv", &RISK_EVENT_COLUMNS)?;
    for e in &report.risk_events {
        rows.value(e.ts_ms)?;
        rows.text(&e.time)?;
        rows.text(&e.symbol)?;
        rows.text(&e.rule)?;
        rows.text(&e.details)?;
        rows.end_row()?;
    }
    rows.finish()
}
