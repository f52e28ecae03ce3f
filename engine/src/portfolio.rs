//! Cash and positions, with two independent accountings of equity.
//!
//! * cash: `cash -= q × p + fee` for every fill of signed quantity `q` at price `p`;
//! * balance: `initial + realized P&L − fees`, with realized P&L booked when a position
//!   is reduced: `|q_closed| × (p − avg_entry) × sign(position)`.
//!
//! Equity = `balance + Σ q_i × (mark_i − avg_entry_i)`, and it must always equal
//! `cash + Σ q_i × mark_i` (checked by a property test).

use serde::{Deserialize, Serialize};

/// One symbol's net position.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Position {
    /// Signed units: `> 0` long, `< 0` short.
    pub quantity: f64,
    /// Volume-weighted average entry price of the open quantity (0 when flat).
    pub avg_entry: f64,
}

/// Equity and exposures at the current marks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Valuation {
    /// `balance + Σ q × (mark − avg_entry)`.
    pub equity: f64,
    /// `Σ |q| × mark`.
    pub gross_exposure: f64,
    /// `Σ q × mark`.
    pub net_exposure: f64,
}

/// Cash, positions and marks of all symbols.
#[derive(Debug, Clone, PartialEq)]
pub struct Portfolio {
    cash: f64,
    balance: f64,
    fees: f64,
    realized: f64,
    positions: Vec<Position>,
    marks: Vec<f64>,
    /// Number of non-zero positions, so valuing a flat book needs no pass.
    open: usize,
    /// Bit `s` set ⇔ symbol `s` has a non-zero position: the sums below visit the open
    /// positions in symbol order without testing (and mispredicting on) every symbol.
    open_bits: Vec<u64>,
}

/// Calls `f` with the index of every set bit of `words`, ascending.
#[inline(always)]
fn for_each_set_bit(words: &[u64], mut f: impl FnMut(usize)) {
    for (w, &word) in words.iter().enumerate() {
        let mut rest = word;
        while rest != 0 {
            f(w * 64 + rest.trailing_zeros() as usize);
            rest &= rest - 1;
        }
    }
}

/// The indices of the set bits of `words`, ascending.
#[cfg(test)]
fn set_bits(words: &[u64]) -> impl Iterator<Item = usize> + '_ {
    words.iter().enumerate().flat_map(|(w, &word)| {
        let mut rest = word;
        std::iter::from_fn(move || {
            if rest == 0 {
                return None;
            }
            let bit = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            Some(w * 64 + bit)
        })
    })
}

impl Portfolio {
    pub fn new(initial_cash: f64, symbols: usize) -> Self {
        Self {
            cash: initial_cash,
            balance: initial_cash,
            fees: 0.0,
            realized: 0.0,
            positions: vec![Position::default(); symbols],
            marks: vec![0.0; symbols],
            open: 0,
            open_bits: vec![0; symbols.div_ceil(64)],
        }
    }

    #[inline]
    pub fn cash(&self) -> f64 {
        self.cash
    }

    /// Total fees paid.
    #[inline]
    pub fn fees(&self) -> f64 {
        self.fees
    }

    /// Total realized P&L (before fees).
    pub fn realized(&self) -> f64 {
        self.realized
    }

    #[inline]
    pub fn position(&self, symbol: usize) -> Position {
        self.positions[symbol]
    }

    #[inline]
    pub fn mark(&self, symbol: usize) -> f64 {
        self.marks[symbol]
    }

    /// Sets the price positions of `symbol` are valued at (the latest close).
    #[inline]
    pub fn set_mark(&mut self, symbol: usize, price: f64) {
        self.marks[symbol] = price;
    }

    /// Books a fill of signed `quantity` at `price` paying `fee`; returns the realized
    /// P&L (before fees) of the part that reduced the position. A fill never flips a
    /// position: the engine closes before it reverses, so `quantity` is clamped to the
    /// open quantity when it reduces.
    pub fn apply_fill(&mut self, symbol: usize, quantity: f64, price: f64, fee: f64) -> f64 {
        let pos = &mut self.positions[symbol];
        let was_open = pos.quantity != 0.0;
        let mut realized = 0.0;
        let quantity = if pos.quantity != 0.0 && pos.quantity.signum() != quantity.signum() {
            let closed = quantity.abs().min(pos.quantity.abs());
            realized = closed * (price - pos.avg_entry) * pos.quantity.signum();
            let q = closed * quantity.signum();
            pos.quantity += q;
            if pos.quantity.abs() <= 1e-12 * closed.max(1.0) {
                *pos = Position::default();
            }
            q
        } else {
            let new_qty = pos.quantity + quantity;
            // An opening fill's average is its price exactly (no q·p/q rounding).
            pos.avg_entry = if pos.quantity == 0.0 {
                price
            } else {
                (pos.quantity.abs() * pos.avg_entry + quantity.abs() * price) / new_qty.abs()
            };
            pos.quantity = new_qty;
            quantity
        };
        let is_open = pos.quantity != 0.0;
        if is_open != was_open {
            self.open_bits[symbol / 64] ^= 1 << (symbol % 64);
            if is_open {
                self.open += 1;
            } else {
                self.open -= 1;
            }
        }
        self.cash -= quantity * price + fee;
        self.balance += realized - fee;
        self.realized += realized;
        self.fees += fee;
        realized
    }

    /// `balance + Σ q × (mark − avg_entry)`.
    #[inline]
    pub fn equity(&self) -> f64 {
        let mut unrealized = 0.0;
        for_each_set_bit(&self.open_bits, |s| {
            let p = &self.positions[s];
            unrealized += p.quantity * (self.marks[s] - p.avg_entry);
        });
        self.balance + unrealized
    }

    /// `Σ q × mark`.
    pub fn market_value(&self) -> f64 {
        self.positions
            .iter()
            .zip(&self.marks)
            .map(|(p, &m)| p.quantity * m)
            .sum()
    }

    /// `(Σ |q| × mark, Σ q × mark)`, optionally skipping one symbol.
    #[inline]
    pub fn exposures(&self, skip: Option<usize>) -> (f64, f64) {
        let mut gross = 0.0;
        let mut net = 0.0;
        for_each_set_bit(&self.open_bits, |s| {
            if Some(s) != skip {
                let (q, m) = (self.positions[s].quantity, self.marks[s]);
                gross += (q * m).abs();
                net += q * m;
            }
        });
        (gross, net)
    }

    /// `(equity(), exposures(Some(skip)).0)`: equity and the gross exposure of the
    /// other symbols, in one pass over the open positions with the same arithmetic
    /// (and summation order) as the two separate calls.
    #[inline]
    pub fn equity_and_other_gross(&self, skip: usize) -> (f64, f64) {
        self.equity_and_other_gross_marked(skip, |s| self.marks[s])
    }

    /// [`Portfolio::equity_and_other_gross`] with symbol `s` marked at `mark(s)` instead
    /// of its stored mark.
    #[inline]
    pub fn equity_and_other_gross_marked(
        &self,
        skip: usize,
        mark: impl Fn(usize) -> f64,
    ) -> (f64, f64) {
        let mut unrealized = 0.0;
        let mut gross = 0.0;
        for_each_set_bit(&self.open_bits, |s| {
            let p = &self.positions[s];
            let m = mark(s);
            unrealized += p.quantity * (m - p.avg_entry);
            if s != skip {
                gross += (p.quantity * m).abs();
            }
        });
        (self.balance + unrealized, gross)
    }

    /// Equity and exposures in one pass over the positions, with the same arithmetic
    /// (and summation order) as [`Portfolio::equity`] and [`Portfolio::exposures`].
    #[inline]
    pub fn valuation(&self) -> Valuation {
        if self.open == 0 {
            // What the pass below computes when every quantity is zero.
            return Valuation {
                equity: self.balance + 0.0,
                gross_exposure: 0.0,
                net_exposure: 0.0,
            };
        }
        self.valuation_of_open()
    }

    fn valuation_of_open(&self) -> Valuation {
        self.valuation_marked(|s| self.marks[s])
    }

    /// [`Portfolio::valuation`] with symbol `s` marked at `mark(s)` instead of its
    /// stored mark (same arithmetic and order), e.g. at a past bar's closes while the
    /// positions have not changed since.
    #[inline]
    pub fn valuation_marked(&self, mark: impl Fn(usize) -> f64) -> Valuation {
        if self.open == 0 {
            return self.valuation();
        }
        let mut unrealized = 0.0;
        let mut gross = 0.0;
        let mut net = 0.0;
        for_each_set_bit(&self.open_bits, |s| {
            let p = &self.positions[s];
            let m = mark(s);
            unrealized += p.quantity * (m - p.avg_entry);
            gross += (p.quantity * m).abs();
            net += p.quantity * m;
        });
        Valuation {
            equity: self.balance + unrealized,
            gross_exposure: gross,
            net_exposure: net,
        }
    }

    /// [`Portfolio::valuation_marked`] at `count` successive sets of marks, appended to
    /// `equity`, `gross` and `net`: at step `k` symbol `s` is marked at `marks(s)[k]`
    /// (`marks(s)` must hold at least `count` prices for every open `s`). The positions
    /// do not change across the steps, so the book is read once, and a flat book or a
    /// single open position is valued as one pass per column.
    pub fn valuations_into<'m>(
        &self,
        count: usize,
        marks: impl Fn(usize) -> &'m [f64],
        equity: &mut Vec<f64>,
        gross: &mut Vec<f64>,
        net: &mut Vec<f64>,
    ) {
        match self.open {
            0 => {
                // What the pass below computes when every quantity is zero.
                let flat = self.valuation();
                equity.extend(std::iter::repeat_n(flat.equity, count));
                gross.extend(std::iter::repeat_n(flat.gross_exposure, count));
                net.extend(std::iter::repeat_n(flat.net_exposure, count));
            }
            1 => {
                let mut only = 0;
                for_each_set_bit(&self.open_bits, |s| only = s);
                let Position {
                    quantity: q,
                    avg_entry,
                } = self.positions[only];
                let marks = &marks(only)[..count];
                // The sums of the general pass, starting from 0.0, over one term.
                let balance = self.balance;
                equity.extend(marks.iter().map(|&m| balance + (0.0 + q * (m - avg_entry))));
                gross.extend(marks.iter().map(|&m| 0.0 + (q * m).abs()));
                net.extend(marks.iter().map(|&m| 0.0 + q * m));
            }
            _ => {
                equity.reserve(count);
                gross.reserve(count);
                net.reserve(count);
                for k in 0..count {
                    let v = self.valuation_marked(|s| marks(s)[k]);
                    equity.push(v.equity);
                    gross.push(v.gross_exposure);
                    net.push(v.net_exposure);
                }
            }
        }
    }

    /// Number of symbols with a non-zero position.
    pub fn open_positions(&self) -> usize {
        self.open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn long_round_trip_hand_computed() {
        let mut p = Portfolio::new(1000.0, 1);
        assert_eq!(p.apply_fill(0, 10.0, 50.0, 1.0), 0.0);
        p.set_mark(0, 55.0);
        assert_eq!(p.cash(), 1000.0 - 500.0 - 1.0);
        assert_eq!(p.equity(), 1000.0 - 1.0 + 50.0);
        assert_eq!(p.apply_fill(0, -4.0, 60.0, 1.0), 40.0);
        assert_eq!(p.position(0).quantity, 6.0);
        assert_eq!(p.apply_fill(0, -6.0, 40.0, 1.0), -60.0);
        assert_eq!(p.position(0), Position::default());
        assert_eq!(p.equity(), 1000.0 - 3.0 + 40.0 - 60.0);
        assert_eq!(p.cash(), p.equity());
    }

    #[test]
    fn short_and_average_entry() {
        let mut p = Portfolio::new(1000.0, 1);
        p.apply_fill(0, -2.0, 100.0, 0.0);
        p.apply_fill(0, -2.0, 110.0, 0.0);
        assert_eq!(p.position(0).avg_entry, 105.0);
        assert_eq!(p.apply_fill(0, 4.0, 95.0, 0.0), 40.0);
    }

    #[test]
    fn open_positions_across_bitset_words_are_summed_in_symbol_order() {
        let mut p = Portfolio::new(1e6, 130);
        for (s, q) in [(129, 1.0), (3, -2.0), (64, 3.0), (63, 0.5), (70, 1.0)] {
            p.apply_fill(s, q, 10.0 + s as f64, 0.0);
            p.set_mark(s, 11.0 + s as f64 * 1.01);
        }
        p.apply_fill(70, -1.0, 12.0, 0.0);
        assert_eq!(set_bits(&p.open_bits).collect::<Vec<_>>(), [3, 63, 64, 129]);
        let unrealized: f64 = [3, 63, 64, 129].iter().fold(0.0, |u, &s| {
            u + p.positions[s].quantity * (p.marks[s] - p.positions[s].avg_entry)
        });
        assert_eq!(p.equity(), p.balance + unrealized);
        assert_eq!(p.open_positions(), 4);
    }

    proptest! {
        /// cash + market value == equity at every step, to 1e-9 relative.
        #[test]
        fn cash_plus_market_value_is_equity(
            steps in prop::collection::vec((0usize..3, -50i32..50, 1.0f64..200.0, 0.0f64..2.0, 1.0f64..200.0), 1..200)
        ) {
            let mut p = Portfolio::new(10_000.0, 3);
            for (symbol, q, price, fee, mark) in steps {
                if q != 0 {
                    p.apply_fill(symbol, q as f64 * 0.5, price, fee);
                }
                p.set_mark(symbol, mark);
                let equity = p.equity();
                let other = p.cash() + p.market_value();
                let v = p.valuation();
                prop_assert_eq!(v.equity, equity);
                prop_assert_eq!(p.open_positions(), p.positions.iter().filter(|p| p.quantity != 0.0).count());
                // The open-position bitset visits exactly the non-zero positions in order.
                let mut scan = (0.0, 0.0, 0.0);
                for (q, &m) in p.positions.iter().zip(&p.marks) {
                    if q.quantity != 0.0 {
                        scan.0 += q.quantity * (m - q.avg_entry);
                        scan.1 += (q.quantity * m).abs();
                        scan.2 += q.quantity * m;
                    }
                }
                prop_assert_eq!(equity.to_bits(), (p.balance + scan.0).to_bits());
                prop_assert_eq!((v.gross_exposure.to_bits(), v.net_exposure.to_bits()), (scan.1.to_bits(), scan.2.to_bits()));
                prop_assert_eq!((v.gross_exposure, v.net_exposure), p.exposures(None));
                for skip in 0..3 {
                    let (e, g) = p.equity_and_other_gross(skip);
                    prop_assert_eq!(
                        (e.to_bits(), g.to_bits()),
                        (equity.to_bits(), p.exposures(Some(skip)).0.to_bits())
                    );
                }
                // Valuing at other marks is valuing a copy marked there.
                let mut remarked = p.clone();
                for s in 0..3 {
                    remarked.set_mark(s, p.mark(s) * 1.25 + s as f64);
                }
                let at = p.valuation_marked(|s| p.mark(s) * 1.25 + s as f64);
                let expected = remarked.valuation();
                prop_assert_eq!(
                    (at.equity.to_bits(), at.gross_exposure.to_bits(), at.net_exposure.to_bits()),
                    (expected.equity.to_bits(), expected.gross_exposure.to_bits(), expected.net_exposure.to_bits())
                );
                // Block valuation at three steps of marks: each step as one valuation.
                let steps: Vec<Vec<f64>> = (0..3)
                    .map(|s| (0..3).map(|k| p.mark(s) * (1.0 + 0.1 * k as f64) - k as f64).collect())
                    .collect();
                let (mut e, mut g, mut n) = (vec![-1.0], vec![], vec![]);
                p.valuations_into(3, |s| &steps[s], &mut e, &mut g, &mut n);
                prop_assert_eq!(e.len(), 4);
                for k in 0..3 {
                    let one = p.valuation_marked(|s| steps[s][k]);
                    prop_assert_eq!(
                        (e[k + 1].to_bits(), g[k].to_bits(), n[k].to_bits()),
                        (one.equity.to_bits(), one.gross_exposure.to_bits(), one.net_exposure.to_bits())
                    );
                }
                prop_assert!((equity - other).abs() <= 1e-9 * equity.abs().max(other.abs()).max(1.0),
                    "equity {equity} vs cash + mv {other}");
            }
        }
    }
}
