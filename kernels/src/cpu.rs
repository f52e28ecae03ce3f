//! Which instruction sets the kernels may use. The `scalar` cargo feature forces the
//! portable paths everywhere, so the tests check them against the same references on
//! any machine.

/// Whether AVX2 code may run: the CPU has it and the `scalar` feature is off.
#[inline(always)]
pub fn avx2() -> bool {
    #[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(all(target_arch = "x86_64", not(feature = "scalar"))))]
    {
        false
    }
}

/// Runs `compute`, compiled with AVX2 enabled when [`avx2`] allows it (LLVM then
/// vectorizes it for 256-bit registers), else as portable code. Only code inlined into
/// the AVX2 copy is compiled for AVX2: `compute` should be an `#[inline(always)]`
/// closure whose body calls `#[inline(always)]` functions.
///
/// The result is the same either way as long as the code does not depend on the
/// instruction set (floating-point operations are not reordered and fused multiply-adds
/// are never formed, so plain Rust qualifies).
#[inline(always)]
pub fn with_avx2<R>(compute: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { compiled_for_avx2(compute) };
    }
    compute()
}

/// `compute()` compiled for AVX2 (see [`with_avx2`]).
///
/// # Safety
/// The CPU supports AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn compiled_for_avx2<R>(compute: impl FnOnce() -> R) -> R {
    compute()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_avx2_returns_what_the_computation_returns() {
        let values = [1.5f64, -2.25, 3.0];
        let sum = with_avx2(|| values.iter().sum::<f64>());
        assert_eq!(sum.to_bits(), values.iter().sum::<f64>().to_bits());
    }

    #[test]
    #[cfg(feature = "scalar")]
    fn the_scalar_feature_turns_avx2_off() {
        assert!(!avx2());
    }
}
