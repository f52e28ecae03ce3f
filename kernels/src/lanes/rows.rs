//! Writing the feature values of `L` lanes into each lane's row-major rows: per bar, a
//! group of up to four columns computed for all lanes (`[column][lane]`) is transposed
//! into the lanes' rows (`[lane][column]`).

use crate::sealed::Sealed;
use crate::Number;

/// Writes each of `bars`' `WIDTH` columns of `L` lanes across into the lanes' rows:
/// for bar `k`, lane `l` and `c < WIDTH`, `group(&bars[k])[c][l]` goes to
/// `rows[l·lane_stride + k·columns + first_column + c]` (each lane's rows are
/// `lane_stride` values of `rows`, row `k` at `k·columns`). With four f32 lanes on
/// x86-64 each bar is four loads, a 4×4 transpose in SSE registers (part of every
/// x86-64 CPU) and one store per lane, instead of `4·WIDTH` scalar stores.
///
/// # Panics
/// When `WIDTH > 4`, `first_column + WIDTH > columns`, `bars.len()·columns >
/// lane_stride` or `L·lane_stride > rows.len()`: when a value would land outside its
/// row, its lane or `rows`.
#[inline(always)]
pub fn write_across<B, T: Number, const L: usize, const WIDTH: usize>(
    bars: &[B],
    group: impl Fn(&B) -> &[[T; L]; 4],
    rows: &mut [T],
    lane_stride: usize,
    columns: usize,
    first_column: usize,
) {
    assert!(WIDTH <= 4, "a group has at most four columns");
    assert!(
        first_column + WIDTH <= columns,
        "the group ends within a row"
    );
    assert!(
        bars.len() * columns <= lane_stride && L * lane_stride <= rows.len(),
        "every bar's row lies within its lane and the lanes within the rows"
    );
    let base = rows.as_mut_ptr();
    for (k, bar) in bars.iter().enumerate() {
        let at = k * columns + first_column;
        // SAFETY: for `l < L`, `l·lane_stride + at + WIDTH ≤ l·lane_stride + (k + 1)·columns
        // ≤ (l + 1)·lane_stride ≤ rows.len()` (asserted above): every lane's pointer is
        // valid for writing `WIDTH` values.
        unsafe {
            T::write_across::<L, WIDTH>(
                group(bar),
                std::array::from_fn(|l| base.add(l * lane_stride + at)),
            )
        };
    }
}

/// [`Sealed::write_across`] one value at a time.
///
/// # Safety
/// Each `rows[l]` is valid for writing `WIDTH` values.
#[inline(always)]
unsafe fn write_across_by_lane<T: Copy, const L: usize, const WIDTH: usize>(
    columns: &[[T; L]; 4],
    rows: [*mut T; L],
) {
    for (l, row) in rows.into_iter().enumerate() {
        for (c, column) in columns[..WIDTH].iter().enumerate() {
            // SAFETY: `c < WIDTH`, see the function's contract.
            unsafe { row.add(c).write(column[l]) };
        }
    }
}

impl Sealed for f64 {
    #[inline(always)]
    unsafe fn write_across<const L: usize, const WIDTH: usize>(
        columns: &[[f64; L]; 4],
        rows: [*mut f64; L],
    ) {
        // SAFETY: forwarded.
        unsafe { write_across_by_lane::<f64, L, WIDTH>(columns, rows) }
    }
}

impl Sealed for f32 {
    #[inline(always)]
    unsafe fn write_across<const L: usize, const WIDTH: usize>(
        columns: &[[f32; L]; 4],
        rows: [*mut f32; L],
    ) {
        #[cfg(target_arch = "x86_64")]
        if L == 4 && !cfg!(feature = "scalar") {
            // SAFETY: forwarded.
            return unsafe { transpose_four_f32::<L, WIDTH>(columns, rows) };
        }
        // SAFETY: forwarded.
        unsafe { write_across_by_lane::<f32, L, WIDTH>(columns, rows) }
    }
}

/// [`Sealed::write_across`] of four f32 lanes in SSE registers.
///
/// # Safety
/// `L == 4`; each `rows[l]` is valid for writing `WIDTH` values.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn transpose_four_f32<const L: usize, const WIDTH: usize>(
    columns: &[[f32; L]; 4],
    rows: [*mut f32; L],
) {
    use std::arch::x86_64::{
        _mm_castps_pd, _mm_loadu_ps, _mm_movehl_ps, _mm_movelh_ps, _mm_store_ss, _mm_storel_pd,
        _mm_storeu_ps, _mm_unpackhi_ps, _mm_unpacklo_ps,
    };
    // SAFETY: with `L == 4` each column is four f32 to load; each lane's store writes
    // `WIDTH` values (the function's contract).
    unsafe {
        let [c0, c1, c2, c3] = columns.each_ref().map(|c| _mm_loadu_ps(c.as_ptr()));
        let (low01, low23) = (_mm_unpacklo_ps(c0, c1), _mm_unpacklo_ps(c2, c3));
        let (high01, high23) = (_mm_unpackhi_ps(c0, c1), _mm_unpackhi_ps(c2, c3));
        let lanes = [
            _mm_movelh_ps(low01, low23),
            _mm_movehl_ps(low23, low01),
            _mm_movelh_ps(high01, high23),
            _mm_movehl_ps(high23, high01),
        ];
        for (row, lane) in rows.into_iter().zip(lanes) {
            match WIDTH {
                4 => _mm_storeu_ps(row, lane),
                3 => {
                    _mm_storel_pd(row.cast(), _mm_castps_pd(lane));
                    _mm_store_ss(row.add(2), _mm_movehl_ps(lane, lane));
                }
                2 => _mm_storel_pd(row.cast(), _mm_castps_pd(lane)),
                1 => _mm_store_ss(row, lane),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `write_across` of width `WIDTH` writes exactly the first `WIDTH` cells of each
    /// bar's row in each lane, column `c` of lane `l` into lane `l`'s cell `c`.
    fn writes_exactly_width_values<T: Number + PartialEq + std::fmt::Debug, const WIDTH: usize>(
        value: impl Fn(usize) -> T,
    ) {
        let untouched = value(999);
        let (bars, columns, first_column, lane_stride) = (3, 6, 1, 20);
        let groups: Vec<[[T; 4]; 4]> = (0..bars)
            .map(|k| std::array::from_fn(|c| std::array::from_fn(|l| value(100 * k + 10 * c + l))))
            .collect();
        let mut rows = vec![untouched; 4 * lane_stride];
        write_across::<_, T, 4, WIDTH>(
            &groups,
            |g| g,
            &mut rows,
            lane_stride,
            columns,
            first_column,
        );
        for (i, &got) in rows.iter().enumerate() {
            let (l, at) = (i / lane_stride, i % lane_stride);
            let (k, c) = (at / columns, (at % columns).wrapping_sub(first_column));
            let expected = if k < bars && c < WIDTH {
                value(100 * k + 10 * c + l)
            } else {
                untouched
            };
            assert_eq!(got, expected, "width {WIDTH}, lane {l}, cell {at}");
        }
    }

    fn writes_exactly_every_width<T: Number + PartialEq + std::fmt::Debug>(
        value: impl Fn(usize) -> T + Copy,
    ) {
        writes_exactly_width_values::<T, 0>(value);
        writes_exactly_width_values::<T, 1>(value);
        writes_exactly_width_values::<T, 2>(value);
        writes_exactly_width_values::<T, 3>(value);
        writes_exactly_width_values::<T, 4>(value);
    }

    #[test]
    fn write_across_writes_each_lane_s_values_and_nothing_else() {
        // f32: transposed in SSE registers on x86-64; f64: value by value.
        writes_exactly_every_width(|x| x as f32);
        writes_exactly_every_width(|x| x as f64);
    }

    #[test]
    #[should_panic(expected = "within its lane")]
    fn rows_that_would_overflow_a_lane_are_refused() {
        let groups = [[[0.0f32; 4]; 4]; 3];
        let mut rows = vec![0.0f32; 4 * 10];
        write_across::<_, f32, 4, 4>(&groups, |g| g, &mut rows, 10, 4, 0);
    }
}
