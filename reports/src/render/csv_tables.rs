//! `trades.csv` and `risk_events.csv`: a header row, then one row per trade / event, in
//! the fixed column order below. Numbers use Rust's shortest round-trip formatting.

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

fn finish(writer: csv::Writer<Vec<u8>>, file: &'static str) -> Result<Vec<u8>, RenderError> {
    writer.into_inner().map_err(|e| RenderError::Csv {
        file,
        source: csv::Error::from(e.into_error()),
    })
}

/// `trades.csv` bytes.
pub fn render_trades_csv(report: &Report) -> Result<Vec<u8>, RenderError> {
    const FILE: &str = "trades.csv";
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(TRADE_COLUMNS).map_err(csv_error(FILE))?;
    for t in &report.trades {
        w.write_record([
            t.symbol.clone(),
            t.side.clone(),
            t.entry_ts_ms.to_string(),
            t.exit_ts_ms.to_string(),
            t.entry_time.clone(),
            t.exit_time.clone(),
            t.bars_held.to_string(),
            t.quantity.to_string(),
            t.entry_price.to_string(),
            t.exit_price.to_string(),
            t.fees.to_string(),
            t.pnl.to_string(),
            t.return_pct.to_string(),
            t.exit_reason.as_str().to_string(),
            t.mae.to_string(),
            t.mfe.to_string(),
            t.counted_in_statistics.to_string(),
        ])
        .map_err(csv_error(FILE))?;
    }
    finish(w, FILE)
}

/// `risk_events.csv` bytes.
pub fn render_risk_events_csv(report: &Report) -> Result<Vec<u8>, RenderError> {
    const FILE: &str = "risk_events.csv";
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(RISK_EVENT_COLUMNS)
        .map_err(csv_error(FILE))?;
    for e in &report.risk_events {
        w.write_record([
            e.ts_ms.to_string().as_str(),
            &e.time,
            &e.symbol,
            &e.rule,
            &e.details,
        ])
        .map_err(csv_error(FILE))?;
    }
    finish(w, FILE)
}
