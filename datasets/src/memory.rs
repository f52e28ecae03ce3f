//! Memory hints for columns streamed through once.
//!
//! Backing for large, short-lived columns: W1's feature matrices (1.6 GB) and a
//! million-bar equity curve (40 MB) are written once, front to back, right after
//! they are allocated. In 4 KiB pages the kernel's page faults cost about a third
//! of that work's time; in 2 MiB transparent huge pages, a few percent.
//!
//! Prefetching: a loop that reads or writes many columns at once (the feature
//! pipeline reads 20 and writes 4) outruns the CPU's own prefetching, and its loads
//! and stores wait for memory; [`prefetch`] asks for a cache line ahead of use.

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
        }
        assert!(values.iter().enumerate().all(|(i, &v)| v == i as u64));
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
