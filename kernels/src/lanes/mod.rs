//! `L` series that share their open times computed side by side, one series per lane
//! (four lanes fill an AVX2 register of f64): reading their bars ([`LaneBars`]), the
//! per-lane `ln` and rank count of the feature pipeline, and writing each lane's rows
//! ([`write_across`]).

mod bars;
mod count;
mod ln;
mod rows;

pub use bars::{is_usable_bar, LaneBar, LaneBars};
pub use count::count_below;
pub use ln::{ln, ln_lanes};
pub use rows::write_across;

/// `f` applied lane by lane. (A plain loop: `std::array::from_fn` is not always
/// inlined, and a call per lane would defeat the vectorization.)
#[inline(always)]
fn per_lane<const L: usize>(mut f: impl FnMut(usize) -> f64) -> [f64; L] {
    let mut lanes = [0.0; L];
    for (l, lane) in lanes.iter_mut().enumerate() {
        *lane = f(l);
    }
    lanes
}
