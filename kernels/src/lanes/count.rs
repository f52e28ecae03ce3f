//! Rank counts over a history of lanes: how many past values lie below the current one
//! (the volatility regime's percentile), in the loop shape that is fastest for the lane
//! count and instruction set.

use super::per_lane;

/// `#{ v ∈ history : v < vol }` per lane (exact; a NaN is never below anything and
/// counts nothing).
///
/// The loop's shape is chosen per lane count, for the instructions the compiler
/// makes of it. One lane: integer counts, which it vectorizes across the values.
/// Four lanes on a CPU with AVX2: per value one comparison of all lanes and one
/// integer subtraction of its all-ones mask (`count_below_avx2`). Otherwise four
/// f64 counters (exact up to 2^53) over four values at a time; since it may not
/// reorder floating-point sums, the compiler keeps that shape and compares all
/// lanes of one value with one instruction (integer counters it would regroup four
/// values lane by lane first, at twice the instructions).
#[inline(always)]
pub fn count_below<const L: usize>(history: &[[f64; L]], vol: [f64; L]) -> [f64; L] {
    if L == 1 {
        let below = history
            .iter()
            .map(|v| u64::from(v[0] < vol[0]))
            .sum::<u64>();
        return [below as f64; L];
    }
    #[cfg(target_arch = "x86_64")]
    if L == 4 && crate::cpu::avx2() {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { count_below_avx2(history, vol) };
    }
    count_below_by_value(history, vol)
}

/// [`count_below`] with four f64 counters per lane over four values at a time.
#[inline(always)]
fn count_below_by_value<const L: usize>(history: &[[f64; L]], vol: [f64; L]) -> [f64; L] {
    let mut counts = [[0.0f64; L]; 4];
    let mut chunks = history.chunks_exact(4);
    for chunk in &mut chunks {
        for (count, v) in counts.iter_mut().zip(chunk) {
            for l in 0..L {
                count[l] += if v[l] < vol[l] { 1.0 } else { 0.0 };
            }
        }
    }
    let mut below: [f64; L] =
        per_lane(|l| (counts[0][l] + counts[1][l]) + (counts[2][l] + counts[3][l]));
    for v in chunks.remainder() {
        for l in 0..L {
            below[l] += if v[l] < vol[l] { 1.0 } else { 0.0 };
        }
    }
    below
}

/// [`count_below`] of four lanes in AVX2: `vol > v` compares the four lanes of a
/// value at once (ordered: false for NaN, like `v < vol`), and subtracting its mask
/// (all ones, −1, where true) counts. Four counters over four values at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn count_below_avx2<const L: usize>(history: &[[f64; L]], vol: [f64; L]) -> [f64; L] {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi64, _mm256_castpd_si256, _mm256_cmp_pd, _mm256_loadu_pd,
        _mm256_setzero_si256, _mm256_storeu_si256, _mm256_sub_epi64, _CMP_GT_OQ,
    };
    assert_eq!(L, 4, "four lanes fill one AVX2 register");
    // SAFETY: with L == 4 every lane array is four f64.
    let vol = unsafe { _mm256_loadu_pd(vol.as_ptr()) };
    let count = |counter: __m256i, v: &[f64; L]| {
        // SAFETY: as above.
        let v = unsafe { _mm256_loadu_pd(v.as_ptr()) };
        let below = _mm256_cmp_pd::<_CMP_GT_OQ>(vol, v);
        _mm256_sub_epi64(counter, _mm256_castpd_si256(below))
    };
    let mut counters = [_mm256_setzero_si256(); 4];
    let mut chunks = history.chunks_exact(4);
    for chunk in &mut chunks {
        for (counter, v) in counters.iter_mut().zip(chunk) {
            *counter = count(*counter, v);
        }
    }
    let mut total = _mm256_add_epi64(
        _mm256_add_epi64(counters[0], counters[1]),
        _mm256_add_epi64(counters[2], counters[3]),
    );
    for v in chunks.remainder() {
        total = count(total, v);
    }
    let mut below = [0i64; 4];
    // SAFETY: `below` is four i64, 32 bytes.
    unsafe { _mm256_storeu_si256(below.as_mut_ptr().cast(), total) };
    per_lane(|l| below[l] as f64)
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// Every shape of [`count_below`] counts each lane's own values, with ties and
    /// NaNs (never below, and nothing is below a NaN).
    #[test]
    fn count_below_counts_each_lane_in_every_shape() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let value = |rng: &mut ChaCha8Rng| match rng.gen_range(0..10) {
            0 => f64::NAN,
            1..=3 => rng.gen_range(0..4) as f64,
            _ => rng.gen_range(0.0..4.0),
        };
        for len in [1usize, 3, 4, 7, 100, 101] {
            for _ in 0..200 {
                let history: Vec<[f64; 4]> = (0..len)
                    .map(|_| std::array::from_fn(|_| value(&mut rng)))
                    .collect();
                let vol: [f64; 4] = std::array::from_fn(|_| value(&mut rng));
                let naive: [f64; 4] = std::array::from_fn(|l| {
                    history.iter().filter(|v| v[l] < vol[l]).count() as f64
                });
                assert_eq!(count_below(&history, vol), naive, "len {len}");
                assert_eq!(count_below_by_value(&history, vol), naive, "len {len}");
                let first: Vec<[f64; 1]> = history.iter().map(|v| [v[0]]).collect();
                assert_eq!(count_below(&first, [vol[0]]), [naive[0]], "len {len}");
            }
        }
    }
}
