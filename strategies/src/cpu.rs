//! Which instruction sets the SIMD kernels may use. The `scalar` cargo feature forces
//! the portable paths everywhere, so the tests check them against the same references
//! on any machine (`make test` runs the strategies tests both ways).

/// Whether AVX2 code may run: the CPU has it and the `scalar` feature is off.
#[inline(always)]
pub(crate) fn avx2() -> bool {
    #[cfg(all(target_arch = "x86_64", not(feature = "scalar")))]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(all(target_arch = "x86_64", not(feature = "scalar"))))]
    {
        false
    }
}
