//! The deterministic list of synthetic symbols and their per-symbol parameters.

/// What kind of market a synthetic symbol imitates; it sets the tick-size rule,
/// how strongly the symbol follows the common market factor and how often it jumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssetClass {
    /// `XXX-USD` crypto pairs: high volatility, strong co-movement, frequent jumps.
    Crypto,
    /// Equity-like tickers (`AAPL`): medium volatility, whole-share volumes.
    Equity,
    /// FX-like pairs (`EUR-USD`): low volatility, weak co-movement, rare jumps.
    Fx,
}

/// The fixed parameters of one synthetic symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolProfile {
    /// Ticker, also the file-name stem (`BTC-USD` → `BTC-USD_1m.parquet`).
    pub name: &'static str,
    pub class: AssetClass,
    /// Price of the first bar's open (before tick rounding).
    pub start_price: f64,
    /// Annualized volatility of log returns (365-day year of 24/7 trading),
    /// before the regime and seasonality multipliers.
    pub annual_volatility: f64,
    /// Average traded notional per minute, in quote currency.
    pub notional_per_minute: f64,
    /// Prices are multiples of `10^-price_decimals` (the tick size).
    pub price_decimals: u32,
    /// Volumes are multiples of `10^-volume_decimals` (the lot size).
    pub volume_decimals: u32,
}

impl SymbolProfile {
    /// The tick size `10^-price_decimals`.
    pub fn tick_size(&self) -> f64 {
        1.0 / 10f64.powi(self.price_decimals as i32)
    }

    /// The lot size `10^-volume_decimals`.
    pub fn lot_size(&self) -> f64 {
        1.0 / 10f64.powi(self.volume_decimals as i32)
    }
}

use AssetClass::{Crypto, Equity, Fx};

/// (name, class, start price, annualized volatility, notional per minute).
/// BTC-USD, ETH-USD, SOL-USD come first; then a cheap coin so that a 4-symbol
/// universe already spans ~0.01..~100,000.
const TABLE: [(&str, AssetClass, f64, f64, f64); 100] = [
    ("BTC-USD", Crypto, 80_000.0, 0.50, 1_500_000.0),
    ("ETH-USD", Crypto, 3_200.0, 0.60, 700_000.0),
    ("SOL-USD", Crypto, 150.0, 0.85, 250_000.0),
    ("JASMY-USD", Crypto, 0.014, 1.10, 15_000.0),
    ("BNB-USD", Crypto, 580.0, 0.55, 120_000.0),
    ("XRP-USD", Crypto, 0.55, 0.70, 150_000.0),
    ("ADA-USD", Crypto, 0.45, 0.75, 60_000.0),
    ("DOGE-USD", Crypto, 0.12, 0.90, 120_000.0),
    ("AVAX-USD", Crypto, 35.0, 0.90, 50_000.0),
    ("DOT-USD", Crypto, 6.5, 0.80, 40_000.0),
    ("LINK-USD", Crypto, 15.0, 0.85, 45_000.0),
    ("MATIC-USD", Crypto, 0.70, 0.85, 35_000.0),
    ("LTC-USD", Crypto, 80.0, 0.70, 40_000.0),
    ("BCH-USD", Crypto, 420.0, 0.75, 35_000.0),
    ("TRX-USD", Crypto, 0.12, 0.55, 25_000.0),
    ("ATOM-USD", Crypto, 8.5, 0.80, 25_000.0),
    ("XLM-USD", Crypto, 0.11, 0.70, 20_000.0),
    ("UNI-USD", Crypto, 7.5, 0.90, 25_000.0),
    ("ETC-USD", Crypto, 26.0, 0.80, 20_000.0),
    ("FIL-USD", Crypto, 5.5, 0.95, 20_000.0),
    ("APT-USD", Crypto, 9.0, 1.00, 25_000.0),
    ("ARB-USD", Crypto, 1.10, 1.00, 30_000.0),
    ("OP-USD", Crypto, 2.20, 1.00, 25_000.0),
    ("NEAR-USD", Crypto, 5.0, 1.00, 30_000.0),
    ("ICP-USD", Crypto, 11.0, 0.95, 15_000.0),
    ("HBAR-USD", Crypto, 0.08, 0.90, 15_000.0),
    ("VET-USD", Crypto, 0.035, 0.90, 12_000.0),
    ("ALGO-USD", Crypto, 0.18, 0.85, 10_000.0),
    ("AAVE-USD", Crypto, 95.0, 0.95, 20_000.0),
    ("MKR-USD", Crypto, 2_400.0, 0.85, 15_000.0),
    ("GRT-USD", Crypto, 0.22, 1.00, 12_000.0),
    ("SAND-USD", Crypto, 0.45, 1.00, 12_000.0),
    ("MANA-USD", Crypto, 0.42, 1.00, 10_000.0),
    ("AXS-USD", Crypto, 7.0, 1.00, 8_000.0),
    ("EGLD-USD", Crypto, 40.0, 0.95, 6_000.0),
    ("XTZ-USD", Crypto, 0.90, 0.85, 6_000.0),
    ("EOS-USD", Crypto, 0.75, 0.85, 8_000.0),
    ("FLOW-USD", Crypto, 0.85, 0.95, 5_000.0),
    ("CHZ-USD", Crypto, 0.11, 0.95, 8_000.0),
    ("CRV-USD", Crypto, 0.50, 1.05, 10_000.0),
    ("LDO-USD", Crypto, 2.10, 1.05, 12_000.0),
    ("INJ-USD", Crypto, 25.0, 1.10, 15_000.0),
    ("RUNE-USD", Crypto, 5.0, 1.10, 12_000.0),
    ("SUI-USD", Crypto, 1.10, 1.15, 20_000.0),
    ("SEI-USD", Crypto, 0.50, 1.15, 10_000.0),
    ("TIA-USD", Crypto, 10.0, 1.15, 12_000.0),
    ("IMX-USD", Crypto, 2.0, 1.05, 8_000.0),
    ("ZIL-USD", Crypto, 0.022, 0.95, 5_000.0),
    ("ENJ-USD", Crypto, 0.30, 0.95, 5_000.0),
    ("YFI-USD", Crypto, 7_500.0, 0.90, 5_000.0),
    ("AAPL", Equity, 190.0, 0.25, 400_000.0),
    ("MSFT", Equity, 410.0, 0.25, 350_000.0),
    ("NVDA", Equity, 650.0, 0.50, 600_000.0),
    ("AMZN", Equity, 175.0, 0.32, 300_000.0),
    ("GOOGL", Equity, 150.0, 0.30, 250_000.0),
    ("META", Equity, 480.0, 0.38, 300_000.0),
    ("TSLA", Equity, 190.0, 0.55, 500_000.0),
    ("BRK-B", Equity, 410.0, 0.18, 80_000.0),
    ("JPM", Equity, 190.0, 0.22, 100_000.0),
    ("V", Equity, 275.0, 0.20, 80_000.0),
    ("JNJ", Equity, 155.0, 0.16, 60_000.0),
    ("WMT", Equity, 60.0, 0.18, 70_000.0),
    ("XOM", Equity, 110.0, 0.25, 80_000.0),
    ("UNH", Equity, 490.0, 0.24, 70_000.0),
    ("PG", Equity, 160.0, 0.16, 50_000.0),
    ("MA", Equity, 460.0, 0.21, 60_000.0),
    ("HD", Equity, 350.0, 0.22, 50_000.0),
    ("CVX", Equity, 155.0, 0.24, 50_000.0),
    ("KO", Equity, 60.0, 0.15, 50_000.0),
    ("PEP", Equity, 170.0, 0.16, 40_000.0),
    ("ABBV", Equity, 175.0, 0.22, 40_000.0),
    ("COST", Equity, 720.0, 0.20, 50_000.0),
    ("MRK", Equity, 125.0, 0.20, 40_000.0),
    ("AVGO", Equity, 1_300.0, 0.40, 150_000.0),
    ("ADBE", Equity, 520.0, 0.35, 60_000.0),
    ("CRM", Equity, 290.0, 0.33, 50_000.0),
    ("NFLX", Equity, 600.0, 0.38, 60_000.0),
    ("AMD", Equity, 170.0, 0.50, 200_000.0),
    ("INTC", Equity, 35.0, 0.35, 80_000.0),
    ("BKNG", Equity, 3_600.0, 0.28, 20_000.0),
    ("EUR-USD", Fx, 1.08, 0.07, 2_000_000.0),
    ("GBP-USD", Fx, 1.27, 0.08, 1_200_000.0),
    ("USD-JPY", Fx, 150.0, 0.09, 1_500_000.0),
    ("AUD-USD", Fx, 0.66, 0.10, 600_000.0),
    ("USD-CHF", Fx, 0.88, 0.08, 500_000.0),
    ("USD-CAD", Fx, 1.35, 0.07, 600_000.0),
    ("NZD-USD", Fx, 0.61, 0.10, 300_000.0),
    ("EUR-GBP", Fx, 0.86, 0.06, 400_000.0),
    ("EUR-JPY", Fx, 162.0, 0.09, 400_000.0),
    ("GBP-JPY", Fx, 190.0, 0.11, 300_000.0),
    ("EUR-CHF", Fx, 0.95, 0.06, 200_000.0),
    ("AUD-JPY", Fx, 99.0, 0.12, 200_000.0),
    ("USD-SEK", Fx, 10.4, 0.10, 100_000.0),
    ("USD-NOK", Fx, 10.5, 0.11, 100_000.0),
    ("USD-MXN", Fx, 17.0, 0.12, 150_000.0),
    ("USD-ZAR", Fx, 18.7, 0.15, 100_000.0),
    ("USD-SGD", Fx, 1.34, 0.05, 100_000.0),
    ("USD-HKD", Fx, 7.8, 0.02, 100_000.0),
    ("USD-TRY", Fx, 31.0, 0.20, 50_000.0),
    ("USD-INR", Fx, 83.0, 0.04, 80_000.0),
];

/// How many symbols the list supports.
pub const MAX_SYMBOLS: usize = TABLE.len();

/// Tick decimals: about four significant digits of the start price for crypto,
/// cents for equities, about five significant digits for FX:
/// `clamp(4 - floor(log10 p0), 2, 8)` (crypto), `2` (equity),
/// `clamp(5 - floor(log10 p0), 2, 8)` (FX).
fn price_decimals(class: AssetClass, start_price: f64) -> u32 {
    let magnitude = start_price.log10().floor() as i32;
    match class {
        Crypto => (4 - magnitude).clamp(2, 8) as u32,
        Equity => 2,
        Fx => (5 - magnitude).clamp(2, 8) as u32,
    }
}

/// Lot decimals: whole shares for equities; otherwise about four significant
/// digits of the typical per-minute volume `q = notional / p0`:
/// `clamp(3 - floor(log10 q), 0, 6)`.
fn volume_decimals(class: AssetClass, start_price: f64, notional_per_minute: f64) -> u32 {
    match class {
        Equity => 0,
        Crypto | Fx => {
            let magnitude = (notional_per_minute / start_price).log10().floor() as i32;
            (3 - magnitude).clamp(0, 6) as u32
        }
    }
}

/// The profile of symbol `index` (0-based, `index < MAX_SYMBOLS`).
pub(crate) fn profile(index: usize) -> Option<SymbolProfile> {
    let &(name, class, start_price, annual_volatility, notional_per_minute) = TABLE.get(index)?;
    Some(SymbolProfile {
        name,
        class,
        start_price,
        annual_volatility,
        notional_per_minute,
        price_decimals: price_decimals(class, start_price),
        volume_decimals: volume_decimals(class, start_price, notional_per_minute),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_file_name_safe() {
        let mut names: Vec<&str> = TABLE.iter().map(|row| row.0).collect();
        assert!(names
            .iter()
            .all(|n| n.chars().all(|c| c.is_ascii_uppercase() || c == '-')));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), MAX_SYMBOLS);
    }

    #[test]
    fn tick_sizes_follow_the_class_rules() {
        let decimals = |i: usize| profile(i).unwrap().price_decimals;
        assert_eq!(decimals(0), 2); // BTC-USD 80,000 -> 0.01
        assert_eq!(decimals(3), 6); // JASMY-USD 0.014 -> 0.000001
        assert_eq!(decimals(50), 2); // AAPL -> cents
        assert_eq!(decimals(80), 5); // EUR-USD 1.08 -> 0.00001
        assert_eq!(decimals(82), 3); // USD-JPY 150 -> 0.001
        assert_eq!(profile(0).unwrap().volume_decimals, 2); // ~19 BTC per minute
        assert_eq!(profile(MAX_SYMBOLS), None);
    }
}
