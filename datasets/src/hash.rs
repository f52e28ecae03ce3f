//! The content hash of a candle universe: the "data hash" part of a prediction-cache
//! key, so predictions are reused only for exactly the same bars.

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::CandleSeries;

/// Version of the hash definition below; part of the hashed bytes, so changing the
/// definition changes every hash.
pub const DATA_HASH_VERSION: u32 = 1;

/// SHA-256 (lower-case hex) identifying `series`, in the given order.
///
/// Each symbol is hashed on its own (in parallel):
/// `d_s = sha256(len(name) as u64 LE ‖ name (UTF-8) ‖ len(interval) as u64 LE ‖ interval
/// (its text, e.g. "1m") ‖ n_rows as u64 LE ‖ ts[0..n] as i64 LE ‖ open[0..n] ‖ high ‖ low
/// ‖ close ‖ volume)`, each price/volume column as the f64 values' IEEE-754 bits in LE
/// (so `-0.0` differs from `0.0` and NaN payloads count). Then
/// `data_hash = sha256("gauntlet-data-hash" ‖ DATA_HASH_VERSION as u32 LE ‖
/// n_symbols as u64 LE ‖ d_1 ‖ … ‖ d_k)`.
///
/// Any change to a symbol's name, interval, length, any timestamp or any OHLCV value,
/// and any change to the order of symbols changes the hash.
pub fn data_hash(series: &[CandleSeries]) -> String {
    let digests: Vec<[u8; 32]> = series.par_iter().map(symbol_digest).collect();
    let mut hasher = Sha256::new();
    hasher.update(b"gauntlet-data-hash");
    hasher.update(DATA_HASH_VERSION.to_le_bytes());
    hasher.update((series.len() as u64).to_le_bytes());
    for digest in &digests {
        hasher.update(digest);
    }
    hex(&hasher.finalize())
}

fn symbol_digest(series: &CandleSeries) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let interval = series.interval().to_string();
    for text in [series.symbol(), interval.as_str()] {
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    }
    hasher.update((series.len() as u64).to_le_bytes());
    // Hash through a stack buffer: little-endian bytes without a per-symbol copy.
    let mut buffer = [0u8; 8 * 512];
    for chunk in series.ts().chunks(512) {
        for (slot, value) in buffer.chunks_exact_mut(8).zip(chunk) {
            slot.copy_from_slice(&value.to_le_bytes());
        }
        hasher.update(&buffer[..8 * chunk.len()]);
    }
    for column in [
        series.open(),
        series.high(),
        series.low(),
        series.close(),
        series.volume(),
    ] {
        for chunk in column.chunks(512) {
            for (slot, value) in buffer.chunks_exact_mut(8).zip(chunk) {
                slot.copy_from_slice(&value.to_bits().to_le_bytes());
            }
            hasher.update(&buffer[..8 * chunk.len()]);
        }
    }
    hasher.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Interval;

    fn series(symbol: &str, interval: Interval, n: usize) -> CandleSeries {
        let mut s = CandleSeries::with_capacity(symbol, interval, n);
        for i in 0..n {
            let x = 100.0 + i as f64;
            s.push(i as i64 * 60_000, x, x + 1.0, x - 1.0, x + 0.5, 10.0 + x);
        }
        s
    }

    /// Rebuilds `s` with value `column`[`row`] replaced by `f(old)`; column 0 is ts.
    fn edited(s: &CandleSeries, column: usize, row: usize, f: impl Fn(f64) -> f64) -> CandleSeries {
        let mut ts = s.ts().to_vec();
        let mut cols: Vec<Vec<f64>> = [s.open(), s.high(), s.low(), s.close(), s.volume()]
            .iter()
            .map(|c| c.to_vec())
            .collect();
        if column == 0 {
            ts[row] = f(ts[row] as f64) as i64;
        } else {
            cols[column - 1][row] = f(cols[column - 1][row]);
        }
        let [open, high, low, close, volume]: [Vec<f64>; 5] = cols.try_into().unwrap();
        CandleSeries::new(s.symbol(), s.interval(), ts, open, high, low, close, volume).unwrap()
    }

    #[test]
    fn hash_is_deterministic_hex() {
        let universe = vec![series("A", Interval::M1, 5), series("B", Interval::M1, 3)];
        let hash = data_hash(&universe);
        assert_eq!(hash.len(), 64);
        assert!(hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(hash, data_hash(&universe.clone()));
    }

    #[test]
    fn every_value_name_interval_length_and_order_changes_the_hash() {
        let universe = vec![series("A", Interval::M1, 4), series("B", Interval::M1, 4)];
        let base = data_hash(&universe);
        let mut seen = std::collections::BTreeSet::from([base.clone()]);
        for symbol in 0..2 {
            for column in 0..6 {
                for row in 0..4 {
                    let mut changed = universe.clone();
                    changed[symbol] = edited(&universe[symbol], column, row, |v| v + 1.0);
                    let hash = data_hash(&changed);
                    assert_ne!(hash, base, "symbol {symbol} column {column} row {row}");
                    assert!(seen.insert(hash), "collision at {symbol}/{column}/{row}");
                }
            }
        }
        // The sign of zero and NaN bits are values too.
        let mut zero = universe.clone();
        zero[0] = edited(&universe[0], 5, 0, |_| 0.0);
        let mut negative_zero = universe.clone();
        negative_zero[0] = edited(&universe[0], 5, 0, |_| -0.0);
        assert_ne!(data_hash(&zero), data_hash(&negative_zero));
        let renamed = vec![series("C", Interval::M1, 4), universe[1].clone()];
        assert_ne!(data_hash(&renamed), base);
        let resampled = vec![series("A", Interval::M5, 4), universe[1].clone()];
        assert_ne!(data_hash(&resampled), base);
        let shorter = vec![series("A", Interval::M1, 3), universe[1].clone()];
        assert_ne!(data_hash(&shorter), base);
        let swapped = vec![universe[1].clone(), universe[0].clone()];
        assert_ne!(data_hash(&swapped), base);
        assert_ne!(data_hash(&universe[..1]), base);
        assert_ne!(data_hash(&[]), base);
    }

    #[test]
    fn symbol_boundaries_are_part_of_the_hash() {
        // "AB" + "" must not hash like "A" + "B".
        let a = vec![series("AB", Interval::M1, 0), series("", Interval::M1, 0)];
        let b = vec![series("A", Interval::M1, 0), series("B", Interval::M1, 0)];
        assert_ne!(data_hash(&a), data_hash(&b));
    }

    proptest::proptest! {
        #[test]
        fn any_single_value_change_changes_the_hash(
            values in proptest::collection::vec(-1e6f64..1e6, 1..20),
            column in 1usize..6,
            pick in 0usize..1000,
            delta in proptest::prop_oneof![1e-9f64..1e3, -1e3f64..-1e-9],
        ) {
            let mut s = CandleSeries::with_capacity("X", Interval::M1, values.len());
            for (i, &v) in values.iter().enumerate() {
                s.push(i as i64 * 60_000, v, v, v, v, v);
            }
            let row = pick % values.len();
            let changed = edited(&s, column, row, |v| v + delta);
            let (old, new) = (values[row], values[row] + delta);
            proptest::prop_assume!(old.to_bits() != new.to_bits());
            proptest::prop_assert_ne!(data_hash(&[s]), data_hash(&[changed]));
        }
    }
}
