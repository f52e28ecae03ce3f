//! The natural logarithm of the feature pipeline's log returns: fdlibm's algorithm, the
//! same bits on every platform (libm promises neither that nor a fixed algorithm), for
//! one value and for four lanes at once in AVX2.

use super::per_lane;

/// The natural logarithm of each lane: [`ln`], or on a CPU with AVX2 for four lanes
/// `ln_avx2`, which gives the same bits for all four at once.
#[inline(always)]
pub fn ln_lanes<const L: usize>(x: [f64; L]) -> [f64; L] {
    #[cfg(target_arch = "x86_64")]
    if L == 4 && crate::cpu::avx2() {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { ln_avx2(x) };
    }
    per_lane(|l| ln(x[l]))
}

/// fdlibm's constants for [`ln`] (the shortest decimals of the same doubles): the
/// minimax polynomial `Lg1..Lg7`, and `ln 2` split into a high part with trailing
/// zeros (so that `k·LN2_HI` is exact) and the rest.
const LG: [f64; 7] = [
    0.666_666_666_666_673_5,
    0.399_999_999_994_094_2,
    0.285_714_287_436_623_9,
    0.222_221_984_321_497_84,
    0.181_835_721_616_180_5,
    0.153_138_376_992_093_73,
    0.147_981_986_051_165_86,
];
const LN2_HI: f64 = 0.693_147_180_369_123_8;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// 2⁵⁴, which scales a subnormal into the normal range.
const TWO54: f64 = 18_014_398_509_481_984.0;
const MANTISSA: u64 = (1 << 52) - 1;
/// Added to the mantissa, carries into bit 52 exactly when `m ≥ √2` (fdlibm's 0x95f64).
const SQRT2_CARRY: u64 = 0x95f64 << 32;
/// The exponent field of 1.0.
const EXPONENT_OF_ONE: u64 = 0x3ff << 52;
/// The bits of 2⁵²: `from_bits(TWO52_BITS | e) − 2⁵²` is the integer `e < 2⁵²`.
const TWO52_BITS: u64 = 0x433 << 52;
const TWO52: f64 = 4_503_599_627_370_496.0;
/// The top 20 mantissa bits between these (inclusive): `m` near √2 or √2/2, where
/// fdlibm keeps `f²/2` apart for accuracy.
const EDGE_FROM: u64 = 0x6147a;
const EDGE_TO: u64 = 0x6b851;

/// The natural logarithm `ln x` within 1 ulp (fdlibm's `__ieee754_log`, whose
/// operations `ln_avx2` repeats four lanes at a time, so both give the same bits;
/// and unlike libm's, the same on every platform).
///
/// `x = 2^k·m` with `m ∈ [√2/2, √2)`, `f = m − 1`, `s = f/(2 + f)`:
/// `ln x = k·ln 2 + f − s·(f − R)`, or near the ends of the range
/// `k·ln 2 + f − (f²/2 − s·(f²/2 + R))`, with the polynomial
/// `R = s²·(Lg1 + s⁴·(Lg3 + s⁴·(Lg5 + s⁴·Lg7))) + s⁴·(Lg2 + s⁴·(Lg4 + s⁴·Lg6))`.
/// A subnormal `x` is scaled by 2⁵⁴ first. `ln 0 = −∞`, `ln ∞ = ∞`, and NaN for a
/// negative or NaN `x`.
pub fn ln(x: f64) -> f64 {
    if !(x > 0.0 && x < f64::INFINITY) {
        return if x == 0.0 {
            f64::NEG_INFINITY
        } else if x == f64::INFINITY {
            x
        } else {
            f64::NAN
        };
    }
    let subnormal = x < f64::MIN_POSITIVE;
    let bits = (if subnormal { x * TWO54 } else { x }).to_bits();
    let mantissa = bits & MANTISSA;
    let halve = (mantissa + SQRT2_CARRY) & (1 << 52);
    let f = f64::from_bits(mantissa | (EXPONENT_OF_ONE - halve)) - 1.0;
    let exponent = f64::from_bits(TWO52_BITS | ((bits >> 52) + (halve >> 52))) - TWO52;
    let dk = exponent - if subnormal { 1023.0 + 54.0 } else { 1023.0 };
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let r =
        z * (LG[0] + w * (LG[2] + w * (LG[4] + w * LG[6]))) + w * (LG[1] + w * (LG[3] + w * LG[5]));
    if (EDGE_FROM..=EDGE_TO).contains(&(mantissa >> 32)) {
        let half_square = 0.5 * f * f;
        dk * LN2_HI - ((half_square - (s * (half_square + r) + dk * LN2_LO)) - f)
    } else {
        dk * LN2_HI - ((s * (f - r) - dk * LN2_LO) - f)
    }
}

/// [`ln`] of four lanes in AVX2, operation for operation (both formulas of the last
/// choice are computed, and the special cases are blended in at the end).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn ln_avx2<const L: usize>(x: [f64; L]) -> [f64; L] {
    use std::arch::x86_64::{
        _mm256_add_epi64, _mm256_add_pd, _mm256_and_pd, _mm256_and_si256, _mm256_blendv_pd,
        _mm256_castpd_si256, _mm256_castsi256_pd, _mm256_cmp_pd, _mm256_cmpgt_epi64, _mm256_div_pd,
        _mm256_loadu_pd, _mm256_mul_pd, _mm256_or_si256, _mm256_set1_epi64x, _mm256_set1_pd,
        _mm256_srli_epi64, _mm256_storeu_pd, _mm256_sub_epi64, _mm256_sub_pd, _CMP_EQ_OQ,
        _CMP_GT_OQ, _CMP_LT_OQ,
    };
    assert_eq!(L, 4, "four lanes fill one AVX2 register");
    let int = |v: u64| _mm256_set1_epi64x(v as i64);
    let float = _mm256_set1_pd;
    let (add, sub, mul) = (_mm256_add_pd, _mm256_sub_pd, _mm256_mul_pd);
    // SAFETY: with L == 4 the lanes are four f64.
    let x = unsafe { _mm256_loadu_pd(x.as_ptr()) };
    let subnormal = _mm256_cmp_pd::<_CMP_LT_OQ>(x, float(f64::MIN_POSITIVE));
    let scaled = _mm256_blendv_pd(x, mul(x, float(TWO54)), subnormal);
    let bits = _mm256_castpd_si256(scaled);
    let mantissa = _mm256_and_si256(bits, int(MANTISSA));
    let halve = _mm256_and_si256(_mm256_add_epi64(mantissa, int(SQRT2_CARRY)), int(1 << 52));
    let m = _mm256_or_si256(mantissa, _mm256_sub_epi64(int(EXPONENT_OF_ONE), halve));
    let f = sub(_mm256_castsi256_pd(m), float(1.0));
    let biased = _mm256_add_epi64(
        _mm256_srli_epi64::<52>(bits),
        _mm256_srli_epi64::<52>(halve),
    );
    let exponent = sub(
        _mm256_castsi256_pd(_mm256_or_si256(int(TWO52_BITS), biased)),
        float(TWO52),
    );
    let bias = _mm256_blendv_pd(float(1023.0), float(1023.0 + 54.0), subnormal);
    let dk = sub(exponent, bias);
    let s = _mm256_div_pd(f, add(float(2.0), f));
    let z = mul(s, s);
    let w = mul(z, z);
    let odd = add(float(LG[4]), mul(w, float(LG[6])));
    let odd = mul(z, add(float(LG[0]), mul(w, add(float(LG[2]), mul(w, odd)))));
    let even = mul(
        w,
        add(
            float(LG[1]),
            mul(w, add(float(LG[3]), mul(w, float(LG[5])))),
        ),
    );
    let r = add(odd, even);
    let high = _mm256_srli_epi64::<32>(mantissa);
    let edge = _mm256_castsi256_pd(_mm256_and_si256(
        _mm256_cmpgt_epi64(high, int(EDGE_FROM - 1)),
        _mm256_cmpgt_epi64(int(EDGE_TO + 1), high),
    ));
    let half_square = mul(mul(float(0.5), f), f);
    let near_edge = sub(
        mul(dk, float(LN2_HI)),
        sub(
            sub(
                half_square,
                add(mul(s, add(half_square, r)), mul(dk, float(LN2_LO))),
            ),
            f,
        ),
    );
    let middle = sub(
        mul(dk, float(LN2_HI)),
        sub(sub(mul(s, sub(f, r)), mul(dk, float(LN2_LO))), f),
    );
    let value = _mm256_blendv_pd(middle, near_edge, edge);
    let zero = _mm256_cmp_pd::<_CMP_EQ_OQ>(x, float(0.0));
    let infinite = _mm256_cmp_pd::<_CMP_EQ_OQ>(x, float(f64::INFINITY));
    let special = _mm256_blendv_pd(
        _mm256_blendv_pd(float(f64::NAN), x, infinite),
        float(f64::NEG_INFINITY),
        zero,
    );
    let finite_positive = _mm256_and_pd(
        _mm256_cmp_pd::<_CMP_GT_OQ>(x, float(0.0)),
        _mm256_cmp_pd::<_CMP_LT_OQ>(x, float(f64::INFINITY)),
    );
    let mut out = [0.0; L];
    // SAFETY: `out` is four f64.
    unsafe {
        _mm256_storeu_pd(
            out.as_mut_ptr(),
            _mm256_blendv_pd(special, value, finite_positive),
        )
    };
    out
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// `ln` is within 1 ulp of libm's over the whole positive range (near 1, where
    /// returns lie, most densely), agrees with it on zero, infinity, NaN and negative
    /// numbers, and `ln_lanes` gives the same bits four lanes at a time.
    #[test]
    fn ln_is_within_one_ulp_of_libm_and_the_same_in_lanes() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut xs: Vec<f64> = (0..400_000)
            .map(|_| 1.0 + rng.gen_range(-0.05..0.05))
            .collect();
        xs.extend((0..400_000).map(|_| f64::from_bits(rng.gen_range(1..f64::INFINITY.to_bits()))));
        xs.extend([
            f64::MIN_POSITIVE,
            f64::MIN_POSITIVE / 3.0,
            f64::from_bits(1),
            f64::MAX,
            1.0,
            std::f64::consts::SQRT_2,
            std::f64::consts::FRAC_1_SQRT_2,
            1.0 + f64::EPSILON,
            1.0 - f64::EPSILON / 2.0,
        ]);
        let ulps = |a: f64, b: f64| (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs();
        for &x in &xs {
            assert!(
                ulps(ln(x), x.ln()) <= 1,
                "ln({x:e}) = {:e}, libm {:e}",
                ln(x),
                x.ln()
            );
        }
        assert_eq!(ln(1.0).to_bits(), 0.0f64.to_bits());
        let specials = [
            0.0,
            -0.0,
            f64::INFINITY,
            -1.0,
            f64::NEG_INFINITY,
            f64::NAN,
            -1e-310,
        ];
        for x in specials {
            assert!(
                ln(x) == x.ln() || (ln(x).is_nan() && x.ln().is_nan()),
                "ln({x})"
            );
        }
        xs.extend(specials);
        for four in xs.chunks_exact(4) {
            let four: [f64; 4] = four.try_into().unwrap();
            let lanes = ln_lanes(four).map(f64::to_bits);
            assert_eq!(lanes, four.map(|x| ln(x).to_bits()), "{four:?}");
        }
    }
}
