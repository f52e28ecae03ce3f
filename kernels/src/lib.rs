//! The workspace's SIMD kernels and memory hints: the one crate with `unsafe` code.
//! Every other crate is `#![forbid(unsafe_code)]` and reaches the hardware through the
//! safe functions here.
//!
//! Each kernel has a portable path written in plain Rust and, on x86-64 CPUs with AVX2,
//! a vector path that gives the same bits (the same IEEE operations in the same order;
//! no fused multiply-add is formed). The `scalar` cargo feature forces the portable
//! paths on any machine, so the tests compare both with the same references
//! (`make test` runs them both ways).
//!
//! - [`cpu`]: which paths may run, and running a computation compiled for AVX2;
//! - [`memory`]: huge pages, prefetching and streaming stores for large outputs;
//! - [`lanes`]: four aligned series side by side — reading their bars, writing their
//!   feature rows, and the per-lane `ln` and rank count of the feature pipeline;
//! - [`trees`]: the inner loops of the tree-ensemble evaluator.
//!
//! Every `unsafe` block carries a `// SAFETY:` comment; every `unsafe fn` states its
//! contract, and its body still marks each unsafe operation.

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(feature = "counting-allocator")]
pub mod counting_allocator;
pub mod cpu;
pub mod lanes;
pub mod memory;
pub mod trees;

mod sealed {
    /// Keeps [`super::Number`] to the types implemented in this crate, and holds what
    /// each of them does differently (implemented in [`super::lanes`]).
    pub trait Sealed: Sized {
        /// Writes `WIDTH` (at most 4) columns of `L` lanes across: `columns[c][l]` to
        /// `rows[l] + c` for `c < WIDTH`.
        ///
        /// # Safety
        /// Each `rows[l]` is valid for writing `WIDTH` values.
        unsafe fn write_across<const L: usize, const WIDTH: usize>(
            columns: &[[Self; L]; 4],
            rows: [*mut Self; L],
        );
    }
}

/// The plain numbers the kernels move with vector and streaming stores: `f32` and
/// `f64` (no padding bytes, every bit pattern valid). Sealed.
pub trait Number: sealed::Sealed + Copy + Send + Sync + 'static {}

impl Number for f32 {}
impl Number for f64 {}
