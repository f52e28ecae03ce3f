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
        sums.add_all(confidence, |i| outcome[i]);
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
    /// Positive outcomes per bin: counted, not summed as 1.0s (equal, and no chain of
    /// floating-point additions).
    positives: Vec<usize>,
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
            positives: vec![0; n_bins],
        }
    }

    /// Equal-width bins (see [`Binning::Uniform`]); they need no data for their edges.
    pub(crate) fn uniform(binning: Binning) -> Self {
        Self::new(binning, edges(&[], binning))
    }

    /// Adds the pairs `(confidence[i], outcome(i))` in order.
    #[inline]
    pub(crate) fn add_all(&mut self, confidence: &[f64], outcome: impl Fn(usize) -> bool) {
        let n = self.count.len();
        let (count, sum_conf, positives) = (
            &mut self.count[..],
            &mut self.sum_conf[..],
            &mut self.positives[..],
        );
        let mut add = |b: usize, c: f64, positive: bool| {
            count[b] += 1;
            sum_conf[b] += c;
            positives[b] += usize::from(positive);
        };
        match self.binning {
            Binning::Uniform {
                edge_rule: EdgeRule::LowerInclusive,
                ..
            } => {
                // `c · n ≥ 0` (c ∈ [0, 1]): truncation is ⌊c · n⌋, without a call to floor.
                let scale = n as f64;
                for (i, &c) in confidence.iter().enumerate() {
                    add(((c * scale) as usize).min(n - 1), c, outcome(i));
                }
            }
            Binning::Uniform {
                edge_rule: EdgeRule::UpperInclusive,
                ..
            }
            | Binning::Quantile { .. } => {
                let inner = &self.edges[1..self.edges.len() - 1];
                for (i, &c) in confidence.iter().enumerate() {
                    add(inner.partition_point(|&e| e < c), c, outcome(i));
                }
            }
        }
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
                let freq = self.positives[b] as f64 / n;
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
            let values = values_at_ranks(confidence, &ranks);
            let value_at = |rank: usize| values[ranks.partition_point(|&r| r < rank)];
            quantiles
                .iter()
                .map(|&q| percentile_linear(confidence.len(), value_at, q))
                .collect()
        }
    }
}

/// The values of `data` at the given ranks (ascending, distinct, each < `data.len()`) of
/// its `f64::total_cmp` order, without sorting or copying it: one pass counts the values
/// per bucket of the leading bits of their order keys above the smallest, a second
/// gathers the values of the few buckets that hold a wanted rank, and those alone are
/// sorted. Two reads of the data, where selecting in a copy moved it around ~log₂(ranks)
/// times.
fn values_at_ranks(data: &[f64], ranks: &[usize]) -> Vec<f64> {
    // Unsigned order = `f64::total_cmp` order.
    let key = |x: f64| {
        let bits = x.to_bits();
        bits ^ if bits >> 63 == 1 { u64::MAX } else { 1 << 63 }
    };
    let (min, max) = data.iter().fold((u64::MAX, 0), |(lo, hi), &x| {
        (lo.min(key(x)), hi.max(key(x)))
    });
    // About one bucket per value, at most 2¹⁶ (the counts stay in the L2 cache).
    let bucket_bits = (usize::BITS - data.len().leading_zeros()).clamp(1, 16);
    let shift = (u64::BITS - max.saturating_sub(min).leading_zeros()).saturating_sub(bucket_bits);
    let bucket = |x: f64| ((key(x) - min) >> shift) as usize;
    let mut counts = vec![0usize; 1 << bucket_bits];
    for &x in data {
        counts[bucket(x)] += 1;
    }
    // The bucket of each rank and the rank its first value has; `slot[b]` numbers the
    // wanted buckets from 1 (0: not wanted).
    let mut slot = vec![0u32; counts.len()];
    let mut wanted: Vec<(usize, usize)> = Vec::new();
    let (mut b, mut first_rank) = (0, 0);
    let located: Vec<(usize, usize)> = ranks
        .iter()
        .map(|&rank| {
            while first_rank + counts[b] <= rank {
                first_rank += counts[b];
                b += 1;
            }
            if slot[b] == 0 {
                wanted.push((b, first_rank));
                slot[b] = wanted.len() as u32;
            }
            (slot[b] as usize - 1, rank - first_rank)
        })
        .collect();
    let mut gathered: Vec<Vec<f64>> = wanted
        .iter()
        .map(|&(b, _)| Vec::with_capacity(counts[b]))
        .collect();
    for &x in data {
        if let Some(s) = (slot[bucket(x)] as usize).checked_sub(1) {
            gathered[s].push(x);
        }
    }
    for values in &mut gathered {
        values.sort_unstable_by(f64::total_cmp);
    }
    located
        .iter()
        .map(|&(s, offset)| gathered[s][offset])
        .collect()
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
/// `sorted(rank)` is the value of that rank among the `n`; only ranks ⌊h⌋ and ⌊h⌋ + 1
/// are read (see [`values_at_ranks`]).
fn percentile_linear(n: usize, sorted: impl Fn(usize) -> f64, q: f64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let (lo, t) = quantile_position(n, q);
    if lo + 1 >= n {
        return sorted(n - 1);
    }
    let (a, b) = (sorted(lo), sorted(lo + 1));
    if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
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
            conf in prop::collection::vec(prop_oneof![0.0f64..=1.0, Just(0.5), Just(0.0), Just(-0.0)], 0..300),
            bins in 1usize..25,
        ) {
            let mut sorted = conf.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            let expected: Vec<u64> = (0..=bins)
                .map(|k| percentile_linear(sorted.len(), |r| sorted[r], k as f64 / bins as f64).to_bits())
                .collect();
            let got: Vec<u64> = edges(&conf, Binning::Quantile { bins })
                .iter()
                .map(|e| e.to_bits())
                .collect();
            prop_assert_eq!(got, expected);
        }
    }
}
