//! Reliability tables: (confidence, outcome) pairs grouped into bins, and the expected /
//! maximum calibration errors derived from them.

use serde::{Deserialize, Serialize};

use crate::error::ReportsError;

/// Which bin an equal-width edge value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeRule {
    /// Bins are `[lo, hi)` (the last one `[lo, 1]`): `b = min(⌊n·c⌋, n − 1)`. netcal's and
    /// the goldens' own ECE convention.
    LowerInclusive,
    /// Bins are `(lo, hi]` (the first one `[0, hi]`): `b = #{inner edges e_k < c}` with
    /// `e_k = k · (1/n)`, i.e. numpy `searchsorted(edges[1:-1], c, side='left')` as in
    /// sklearn's `calibration_curve`.
    UpperInclusive,
}

/// How confidences are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "strategy")]
pub enum Binning {
    /// `bins` equal-width bins over [0, 1].
    Uniform {
        /// Number of bins (≥ 1).
        bins: usize,
        /// Where a confidence exactly on an inner edge goes.
        edge_rule: EdgeRule,
    },
    /// `bins` bins whose edges are the confidences' quantiles `q = k / bins` (numpy
    /// `percentile`, linear interpolation), assigned with the [`EdgeRule::UpperInclusive`]
    /// rule on those edges (sklearn `strategy='quantile'`). Tied confidences can leave bins
    /// empty.
    Quantile {
        /// Number of bins (≥ 1).
        bins: usize,
    },
}

impl Binning {
    /// 10 equal-width, lower-inclusive bins: the ECE convention of the reports.
    pub const ECE_DEFAULT: Binning = Binning::Uniform {
        bins: 10,
        edge_rule: EdgeRule::LowerInclusive,
    };

    fn bins(self) -> usize {
        match self {
            Binning::Uniform { bins, .. } | Binning::Quantile { bins } => bins,
        }
    }
}

/// One bin of a reliability table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge.
    pub lo: f64,
    /// Upper edge.
    pub hi: f64,
    /// Number of predictions in the bin.
    pub count: usize,
    /// Mean confidence in the bin (`None` if empty).
    pub mean_confidence: Option<f64>,
    /// Share of positive outcomes in the bin (`None` if empty).
    pub observed_frequency: Option<f64>,
    /// `|observed_frequency − mean_confidence|` (`None` if empty).
    pub gap: Option<f64>,
}

/// Reliability table with its calibration errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityTable {
    /// The binning used.
    pub binning: Binning,
    /// Every bin, empty ones included, in confidence order.
    pub bins: Vec<ReliabilityBin>,
    /// Expected calibration error `ECE = Σ_b (n_b / N) · |freq_b − conf_b|` over non-empty
    /// bins (count-weighted). `None` with no predictions.
    pub ece: Option<f64>,
    /// Maximum calibration error `MCE = max_b |freq_b − conf_b|` over non-empty bins.
    pub mce: Option<f64>,
}

impl ReliabilityTable {
    /// Bins `(confidence, outcome)` pairs; confidences must lie in [0, 1] (the caller
    /// validated them), outcomes are true for a positive / correct prediction.
    pub fn new(
        confidence: &[f64],
        outcome: &[bool],
        binning: Binning,
    ) -> Result<Self, ReportsError> {
        let n_bins = binning.bins();
        if n_bins == 0 {
            return Err(ReportsError::InvalidParameter {
                parameter: "bins",
                reason: "a reliability table needs at least 1 bin".to_string(),
            });
        }
        if confidence.len() != outcome.len() {
            return Err(ReportsError::LengthMismatch {
                what: "outcomes",
                per: "confidence",
                expected: confidence.len(),
                actual: outcome.len(),
            });
        }
        let mut sums = BinSums::new(binning, edges(confidence, binning));
        for (&c, &o) in confidence.iter().zip(outcome) {
            sums.add(c, o);
        }
        Ok(sums.table())
    }

    /// Counts per bin (a confidence histogram when built from top-label confidences).
    pub fn counts(&self) -> Vec<usize> {
        self.bins.iter().map(|b| b.count).collect()
    }
}

/// A reliability table's bins filled one `(confidence, outcome)` pair at a time, in
/// the order the pairs come (the sums depend on it).
#[derive(Debug, Clone)]
pub(crate) struct BinSums {
    binning: Binning,
    edges: Vec<f64>,
    count: Vec<usize>,
    sum_conf: Vec<f64>,
    sum_pos: Vec<f64>,
}

impl BinSums {
    /// Empty bins between `edges` (n + 1 of them for n ≥ 1 bins).
    pub(crate) fn new(binning: Binning, edges: Vec<f64>) -> Self {
        let n_bins = edges.len().saturating_sub(1).max(1);
        Self {
            binning,
            edges,
            count: vec![0; n_bins],
            sum_conf: vec![0.0; n_bins],
            sum_pos: vec![0.0; n_bins],
        }
    }

    /// Equal-width bins (see [`Binning::Uniform`]); they need no data for their edges.
    pub(crate) fn uniform(binning: Binning) -> Self {
        Self::new(binning, edges(&[], binning))
    }

    #[inline]
    pub(crate) fn add(&mut self, confidence: f64, outcome: bool) {
        let b = bin_index(confidence, self.binning, &self.edges);
        self.count[b] += 1;
        self.sum_conf[b] += confidence;
        self.sum_pos[b] += if outcome { 1.0 } else { 0.0 };
    }

    /// The table: per bin its count, mean confidence, observed frequency and gap; ECE and
    /// MCE over the non-empty bins.
    pub(crate) fn table(self) -> ReliabilityTable {
        let total: usize = self.count.iter().sum();
        let mut bins = Vec::with_capacity(self.count.len());
        let mut ece = 0.0;
        let mut mce: Option<f64> = None;
        for b in 0..self.count.len() {
            let (mean_confidence, observed_frequency, gap) = if self.count[b] == 0 {
                (None, None, None)
            } else {
                let n = self.count[b] as f64;
                let conf = self.sum_conf[b] / n;
                let freq = self.sum_pos[b] / n;
                let gap = (freq - conf).abs();
                ece += n / total as f64 * gap;
                mce = Some(mce.map_or(gap, |m| m.max(gap)));
                (Some(conf), Some(freq), Some(gap))
            };
            bins.push(ReliabilityBin {
                lo: self.edges[b],
                hi: self.edges[b + 1],
                count: self.count[b],
                mean_confidence,
                observed_frequency,
                gap,
            });
        }
        ReliabilityTable {
            binning: self.binning,
            bins,
            ece: (total > 0).then_some(ece),
            mce,
        }
    }
}

/// The n + 1 bin edges. Uniform: `k · (1/n)` with the last edge exactly 1 (numpy
/// `linspace`). Quantile: the `k/n` quantiles of the confidences (all edges 0 if empty).
pub(crate) fn edges(confidence: &[f64], binning: Binning) -> Vec<f64> {
    match binning {
        Binning::Uniform { bins, .. } => {
            let step = 1.0 / bins as f64;
            let mut e: Vec<f64> = (0..=bins).map(|k| k as f64 * step).collect();
            e[bins] = 1.0;
            e
        }
        Binning::Quantile { bins } => {
            let quantiles: Vec<f64> = (0..=bins).map(|k| k as f64 / bins as f64).collect();
            // Only the ranks the quantiles read need their sorted value: selecting them
            // costs O(N log bins) where sorting millions of confidences costs O(N log N).
            let mut ranks: Vec<usize> = quantiles
                .iter()
                .flat_map(|&q| {
                    let lo = quantile_position(confidence.len(), q).0;
                    [lo, lo + 1]
                })
                .filter(|&r| r < confidence.len())
                .collect();
            ranks.sort_unstable();
            ranks.dedup();
            let mut partly_sorted = confidence.to_vec();
            select_ranks(&mut partly_sorted, &ranks, 0);
            quantiles
                .iter()
                .map(|&q| percentile_linear(&partly_sorted, q))
                .collect()
        }
    }
}

/// Moves the elements of the given ranks (ascending, relative to the start of the whole
/// slice, of which `data` begins at rank `offset`) to where a full sort would put them.
fn select_ranks(data: &mut [f64], ranks: &[usize], offset: usize) {
    let split = ranks.len() / 2;
    let Some(&middle) = ranks.get(split) else {
        return;
    };
    let (left, _, right) = data.select_nth_unstable_by(middle - offset, f64::total_cmp);
    select_ranks(left, &ranks[..split], offset);
    select_ranks(right, &ranks[split + 1..], middle + 1);
}

/// numpy's linear-quantile position of `q` among `n` sorted values: `h = q (n − 1)` as
/// `(⌊h⌋, h − ⌊h⌋)`.
fn quantile_position(n: usize, q: f64) -> (usize, f64) {
    let h = q * n.saturating_sub(1) as f64;
    let lo = h.floor();
    (lo as usize, h - lo)
}

/// numpy's default (`method='linear'`) quantile of sorted data: position `h = q (N − 1)`,
/// `a = x[⌊h⌋]`, `b = x[⌊h⌋ + 1]`, `t = h − ⌊h⌋`, value `a + (b − a) t` (numpy evaluates
/// `b − (b − a)(1 − t)` for t ≥ 0.5; done the same way here so edges agree bit for bit).
/// Only ranks ⌊h⌋ and ⌊h⌋ + 1 of `sorted` are read (see [`select_ranks`]).
fn percentile_linear(sorted: &[f64], q: f64) -> f64 {
    let Some(&last) = sorted.last() else {
        return 0.0;
    };
    let (lo, t) = quantile_position(sorted.len(), q);
    if lo + 1 >= sorted.len() {
        return last;
    }
    let (a, b) = (sorted[lo], sorted[lo + 1]);
    if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

#[inline]
fn bin_index(c: f64, binning: Binning, edges: &[f64]) -> usize {
    let n = edges.len() - 1;
    match binning {
        // `c · n ≥ 0` (c ∈ [0, 1]): truncation is ⌊c · n⌋, without a call to floor.
        Binning::Uniform {
            edge_rule: EdgeRule::LowerInclusive,
            ..
        } => ((c * n as f64) as usize).min(n - 1),
        Binning::Uniform {
            edge_rule: EdgeRule::UpperInclusive,
            ..
        }
        | Binning::Quantile { .. } => edges[1..n].partition_point(|&e| e < c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_rules_differ_only_on_edges() {
        let conf = [0.0, 0.2, 0.25, 1.0];
        let outcome = [false, true, true, true];
        let lower = ReliabilityTable::new(
            &conf,
            &outcome,
            Binning::Uniform {
                bins: 4,
                edge_rule: EdgeRule::LowerInclusive,
            },
        )
        .unwrap();
        let upper = ReliabilityTable::new(
            &conf,
            &outcome,
            Binning::Uniform {
                bins: 4,
                edge_rule: EdgeRule::UpperInclusive,
            },
        )
        .unwrap();
        assert_eq!(lower.counts(), vec![2, 1, 0, 1]); // 0.25 opens bin 1
        assert_eq!(upper.counts(), vec![3, 0, 0, 1]); // 0.25 closes bin 0
        assert_eq!(lower.bins[1].lo, 0.25);
    }

    #[test]
    fn ece_and_mce_by_hand() {
        // Bin [0, 0.5): confidences 0.2, 0.4 (mean 0.3), outcomes 1, 0 → freq 0.5, gap 0.2.
        // Bin [0.5, 1]: 0.9 with outcome 1 → gap 0.1. ECE = 2/3 · 0.2 + 1/3 · 0.1 = 0.1666…
        let t = ReliabilityTable::new(
            &[0.2, 0.4, 0.9],
            &[true, false, true],
            Binning::Uniform {
                bins: 2,
                edge_rule: EdgeRule::LowerInclusive,
            },
        )
        .unwrap();
        assert!((t.ece.unwrap() - 0.5 / 3.0).abs() < 1e-15);
        assert!((t.mce.unwrap() - 0.2).abs() < 1e-15);
    }

    #[test]
    fn empty_input_and_zero_bins() {
        let t = ReliabilityTable::new(&[], &[], Binning::ECE_DEFAULT).unwrap();
        assert_eq!(t.ece, None);
        assert_eq!(t.mce, None);
        assert_eq!(t.bins.len(), 10);
        assert!(ReliabilityTable::new(&[], &[], Binning::Quantile { bins: 0 }).is_err());
    }

    #[test]
    fn quantile_bins_hold_equal_counts() {
        let conf: Vec<f64> = (0..100).map(|i| (i as f64 + 0.5) / 100.0).collect();
        let outcome = vec![true; 100];
        let t = ReliabilityTable::new(&conf, &outcome, Binning::Quantile { bins: 4 }).unwrap();
        assert_eq!(t.counts(), vec![25, 25, 25, 25]);
        assert_eq!(t.bins[0].lo, 0.005);
        assert_eq!(t.bins[3].hi, 0.995);
        // numpy: percentile([0.005, …, 0.995], 25) = 0.25 + 0.75 · 0.01 = 0.2525 (h = 24.75).
        assert!((t.bins[0].hi - 0.2525).abs() < 1e-15);
    }
}

#[cfg(test)]
mod invariants {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Every binning assigns every prediction to exactly one bin, and 0 ≤ ECE ≤ MCE ≤ 1.
        #[test]
        fn counts_sum_and_ece_bounded(
            pairs in prop::collection::vec((0.0f64..=1.0, any::<bool>()), 1..200),
            bins in 1usize..20,
        ) {
            let (conf, outcome): (Vec<f64>, Vec<bool>) = pairs.into_iter().unzip();
            for binning in [
                Binning::Uniform { bins, edge_rule: EdgeRule::LowerInclusive },
                Binning::Uniform { bins, edge_rule: EdgeRule::UpperInclusive },
                Binning::Quantile { bins },
            ] {
                let t = ReliabilityTable::new(&conf, &outcome, binning).unwrap();
                prop_assert_eq!(t.counts().iter().sum::<usize>(), conf.len());
                let (ece, mce) = (t.ece.unwrap(), t.mce.unwrap());
                prop_assert!(ece >= 0.0 && ece <= mce + 1e-12 && mce <= 1.0);
            }
        }

        /// Quantile edges from selected ranks equal the edges read off a full sort, bit
        /// for bit (ties and repeated values included).
        #[test]
        fn quantile_edges_equal_the_full_sort(
            conf in prop::collection::vec(prop_oneof![0.0f64..=1.0, Just(0.5), Just(0.0)], 0..300),
            bins in 1usize..25,
        ) {
            let mut sorted = conf.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            let expected: Vec<u64> = (0..=bins)
                .map(|k| percentile_linear(&sorted, k as f64 / bins as f64).to_bits())
                .collect();
            let got: Vec<u64> = edges(&conf, Binning::Quantile { bins })
                .iter()
                .map(|e| e.to_bits())
                .collect();
            prop_assert_eq!(got, expected);
        }
    }
}
