//! Memory hints for columns streamed through once.
//!
//! Backing for large, short-lived columns: W1's feature matrices (1.6 GB) and a
//! million-bar equity curve (40 MB) are written once, front to back, right after
//! they are allocated. In 4 KiB pages the kernel's page faults cost about a third
//! of that work's time; in 2 MiB transparent huge pages, a few percent.
//!
//! Prefetching: a loop that reads many columns at once (the feature pipeline reads
//! 21) outruns the CPU's own prefetching, and its loads wait for memory;
//! [`prefetch`] asks for a cache line ahead of use.
//!
//! Streaming stores: a store to a line that is not in the cache first reads the line
//! from memory, only to overwrite it. [`StreamingVec::extend_streaming`] writes whole
//! lines around the cache instead, which halves the memory traffic of an output
//! written once.

use std::marker::PhantomData;
use std::mem::MaybeUninit;

use crate::Number;

/// An empty vector with room for `capacity` values, which the kernel is asked to back
/// with transparent huge pages before it is first written. Only the 2 MiB-aligned part
/// of the allocation can be, so small vectors are left alone. A refusal (no THP
/// support, or THP `never`) keeps ordinary pages; contents and results never change.
/// Linux only; elsewhere a plain `Vec::with_capacity`.
pub fn with_huge_pages<T>(capacity: usize) -> Vec<T> {
    let values = Vec::with_capacity(capacity);
    advise_huge_pages(&values);
    values
}

/// Bytes per cache line (x86-64 and most ARM cores).
pub const CACHE_LINE: usize = 64;

/// Asks the CPU to start loading the cache line that holds `address` into its caches.
/// A hint: it never faults (any address may be given) and changes no memory.
/// Nothing on architectures other than x86-64.
#[inline(always)]
pub fn prefetch<T>(address: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only reads into the cache; it does not fault, even for an
    // address outside any allocation.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// Asks the CPU to start loading the cache line that holds `address` into its L2 cache
/// (not L1): for loops that visit many streams a few rows ahead of use, where L1 would
/// evict the lines before they are read. A hint like [`prefetch`].
#[inline(always)]
pub fn prefetch_into_l2<T>(address: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only reads into the cache; it does not fault, even for an
    // address outside any allocation.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// Copies `src` into `dst` (of the same length) and returns `dst`, now initialized.
/// On x86-64 the cache lines that `dst` covers whole are written with non-temporal
/// stores (SSE2, part of every x86-64 CPU), which neither read the line first nor
/// keep it in the cache; the partial lines at either end, and every byte on other
/// architectures, are copied normally.
///
/// This thread reads its own copies like any other store; for other threads,
/// non-temporal stores are ordered with nothing until [`store_fence`].
///
/// # Safety
/// This thread calls [`store_fence`] before any other thread can access `dst`'s
/// memory, including before that memory is freed.
///
/// # Panics
/// When the lengths differ.
#[inline]
unsafe fn copy_streaming<'a, T: Number>(src: &[T], dst: &'a mut [MaybeUninit<T>]) -> &'a mut [T] {
    assert_eq!(
        src.len(),
        dst.len(),
        "copy_streaming between different lengths"
    );
    let bytes = std::mem::size_of_val(src);
    let (from, to) = (src.as_ptr().cast::<u8>(), dst.as_mut_ptr().cast::<u8>());
    // SAFETY: `from` and `to` are each valid for `bytes` bytes (two slices of the same
    // length and type) and do not overlap (one is borrowed mutably); every offset
    // below stays inside `0..bytes`.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_loadu_si128, _mm_stream_si128};
            let head = to.align_offset(CACHE_LINE).min(bytes);
            // The partial lines are skipped when empty (a copy into line-aligned rows
            // has none): a call per copy would cost more than a short one copies.
            if head > 0 {
                std::ptr::copy_nonoverlapping(from, to, head);
            }
            let lines_end = head + (bytes - head) / CACHE_LINE * CACHE_LINE;
            let (mut source, mut line) = (from.add(head), to.add(head));
            let lines_end_ptr = to.add(lines_end);
            while line < lines_end_ptr {
                // The four loads first, then the four stores: every `line + k` is
                // 16-byte aligned (`line` is line aligned).
                let parts = [0, 16, 32, 48].map(|k| _mm_loadu_si128(source.add(k).cast()));
                for (k, part) in [0, 16, 32, 48].into_iter().zip(parts) {
                    _mm_stream_si128(line.add(k).cast(), part);
                }
                source = source.add(CACHE_LINE);
                line = line.add(CACHE_LINE);
            }
            if lines_end < bytes {
                std::ptr::copy_nonoverlapping(
                    from.add(lines_end),
                    to.add(lines_end),
                    bytes - lines_end,
                );
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        std::ptr::copy_nonoverlapping(from, to, bytes);
        std::slice::from_raw_parts_mut(dst.as_mut_ptr().cast::<T>(), dst.len())
    }
}

/// Orders every earlier [`copy_streaming`] of this thread before its later stores,
/// which makes them visible to other threads like ordinary stores (x86-64 `sfence`;
/// nothing elsewhere, where the copies are ordinary).
#[inline]
fn store_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a fence only orders stores (SSE, part of every x86-64 CPU).
    unsafe {
        std::arch::x86_64::_mm_sfence();
    }
}

/// A vector filled by one thread, partly with streaming stores, for output that is
/// written once and not read back soon (reading it right after comes from memory).
///
/// Non-temporal stores are ordered with nothing until a store fence, which waits until
/// they reach memory, so one fence after many copies is much cheaper than one per copy.
/// The vector gets it when it leaves: [`StreamingVec::into_vec`] and dropping it fence
/// on the filling thread, and it cannot move to another thread before (it is neither
/// `Send` nor `Sync`).
#[derive(Debug)]
pub struct StreamingVec<T: Number> {
    values: Vec<T>,
    /// Keeps the vector on the thread whose stores it holds.
    _this_thread: PhantomData<*const ()>,
}

impl<T: Number> StreamingVec<T> {
    /// An empty vector with room for `capacity` values, on huge pages
    /// ([`with_huge_pages`]).
    pub fn with_huge_pages(capacity: usize) -> Self {
        Self {
            values: with_huge_pages(capacity),
            _this_thread: PhantomData,
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Appends `values`. On x86-64 the cache lines they cover whole are written with
    /// non-temporal stores (SSE2, part of every x86-64 CPU), which neither read the line
    /// first nor keep it in the cache; the partial lines at either end, and every byte
    /// on other architectures, are copied normally. Grows the vector first when its
    /// capacity is short.
    #[inline]
    pub fn extend_streaming(&mut self, values: &[T]) {
        self.values.reserve(values.len());
        let len = self.values.len();
        let spare = &mut self.values.spare_capacity_mut()[..values.len()];
        // SAFETY: the vector leaves this thread only through `into_vec` or `drop`,
        // which fence first; `T` is a plain number (`Number`).
        unsafe { copy_streaming(values, spare) };
        // SAFETY: the `values.len()` values after the first `len` were just written.
        unsafe { self.values.set_len(len + values.len()) };
    }

    /// Appends `count` copies of `value` (ordinary stores).
    pub fn extend_repeated(&mut self, count: usize, value: T) {
        self.values.extend(std::iter::repeat_n(value, count));
    }

    /// Shortens or lengthens the vector to `len` values, new ones `value` (ordinary
    /// stores).
    pub fn resize(&mut self, len: usize, value: T) {
        self.values.resize(len, value);
    }

    /// The values, their stores fenced: from here on they are an ordinary vector.
    pub fn into_vec(mut self) -> Vec<T> {
        // `drop` fences.
        std::mem::take(&mut self.values)
    }
}

impl<T: Number> Drop for StreamingVec<T> {
    fn drop(&mut self) {
        store_fence();
    }
}

/// Asks the kernel to back the 2 MiB-aligned part of `values`' allocated capacity with
/// transparent huge pages ([`with_huge_pages`]).
fn advise_huge_pages<T>(values: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE_PAGE: usize = 2 << 20;
        let start = values.as_ptr() as usize;
        let end = start + values.capacity() * std::mem::size_of::<T>();
        let (first, last) = (
            start.next_multiple_of(HUGE_PAGE),
            end / HUGE_PAGE * HUGE_PAGE,
        );
        if last > first {
            // SAFETY: the range lies inside `values`' allocation and is page aligned;
            // MADV_HUGEPAGE only changes how the kernel backs it, never its contents,
            // and its result needs no handling (see above).
            unsafe {
                libc::madvise(
                    first as *mut libc::c_void,
                    last - first,
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_on_huge_pages_are_ordinary_vectors() {
        for len in [0usize, 1, 1 << 20, (5 << 20) + 3] {
            let mut values: Vec<u64> = with_huge_pages(len);
            assert!(values.is_empty() && values.capacity() >= len);
            values.extend(0..len as u64);
            assert!(values.iter().enumerate().all(|(i, &v)| v == i as u64));
        }
    }

    #[test]
    fn prefetching_any_address_changes_nothing() {
        let values: Vec<u64> = (0..1000).collect();
        for address in [
            std::ptr::null(),
            values.as_ptr(),
            values.as_ptr().wrapping_add(500),
            values.as_ptr().wrapping_add(1 << 40),
            usize::MAX as *const u64,
        ] {
            prefetch(address);
            prefetch_into_l2(address);
        }
        assert!(values.iter().enumerate().all(|(i, &v)| v == i as u64));
    }

    /// Every length and every alignment of the destination within a line (the
    /// whole-line middle, the partial ends, copies shorter than a line) copies every
    /// value and touches nothing around the destination.
    #[test]
    fn streaming_copies_are_exact_copies() {
        let src: Vec<f32> = (0..200u32)
            .map(|i| f32::from_bits(i.wrapping_mul(2_654_435_761) >> 2))
            .collect();
        let untouched = f32::from_bits(u32::MAX >> 2);
        for offset in 0..CACHE_LINE / 4 + 1 {
            for len in [0, 1, 3, 15, 16, 17, 31, 64, 100, 200 - CACHE_LINE / 4] {
                let mut buffer = vec![MaybeUninit::new(untouched); 256];
                // SAFETY: fenced right after, on this thread.
                let copied =
                    unsafe { copy_streaming(&src[..len], &mut buffer[offset..offset + len]) };
                let same =
                    |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
                assert!(same(copied, &src[..len]), "offset {offset}, len {len}");
                store_fence();
                // SAFETY: every value of `buffer` was initialized above.
                let buffer: Vec<f32> = buffer.iter().map(|v| unsafe { v.assume_init() }).collect();
                assert!(buffer[..offset]
                    .iter()
                    .all(|v| v.to_bits() == untouched.to_bits()));
                assert!(same(&buffer[offset..offset + len], &src[..len]));
                assert!(buffer[offset + len..]
                    .iter()
                    .all(|v| v.to_bits() == untouched.to_bits()));
            }
        }
    }

    #[test]
    #[should_panic(expected = "different lengths")]
    fn streaming_copies_need_equal_lengths() {
        let mut buffer = [MaybeUninit::new(0f64); 4];
        // SAFETY: panics before it stores anything.
        unsafe { copy_streaming(&[1.0, 2.0, 3.0], &mut buffer) };
    }

    /// Appended blocks, streamed or repeated, end up in order in the vector, also when
    /// it must grow.
    #[test]
    fn a_streaming_vector_holds_what_was_appended() {
        let mut values = StreamingVec::<f64>::with_huge_pages(10);
        let block: Vec<f64> = (0..37).map(f64::from).collect();
        values.extend_streaming(&block);
        values.extend_repeated(3, f64::NAN);
        values.extend_streaming(&block[..5]);
        values.resize(50, 0.0);
        assert_eq!(values.len(), 50);
        let values = values.into_vec();
        let mut expected = block.clone();
        expected.extend([f64::NAN; 3]);
        expected.extend_from_slice(&block[..5]);
        expected.resize(50, 0.0);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&values), bits(&expected));
    }

    /// `THPeligible` of the mapping that holds `address`, from `/proc/self/smaps`.
    #[cfg(target_os = "linux")]
    fn huge_page_eligible(address: usize) -> bool {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("read smaps");
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((from, to)) = range.split_once('-') {
                    if let (Ok(from), Ok(to)) = (
                        usize::from_str_radix(from, 16),
                        usize::from_str_radix(to, 16),
                    ) {
                        inside = (from..to).contains(&address);
                        continue;
                    }
                }
            }
            if inside {
                if let Some(flag) = line.strip_prefix("THPeligible:") {
                    return flag.trim() == "1";
                }
            }
        }
        panic!("no mapping holds {address:#x}");
    }

    /// Where the kernel offers huge pages only on request (THP `madvise`, as on the
    /// project's machine), a large vector is eligible after the advice and not before.
    #[cfg(target_os = "linux")]
    #[test]
    fn advice_makes_a_large_vector_eligible_for_huge_pages() {
        let mode = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .unwrap_or_default();
        if !mode.contains("[madvise]") {
            return;
        }
        let values: Vec<u64> = Vec::with_capacity(8 << 20);
        let aligned = (values.as_ptr() as usize).next_multiple_of(2 << 20);
        assert!(!huge_page_eligible(aligned), "eligible before the advice");
        advise_huge_pages(&values);
        assert!(huge_page_eligible(aligned), "not eligible after the advice");
    }
}
