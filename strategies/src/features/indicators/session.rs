//! Trading-session flags: `session_tokyo`, `session_london`, `session_new_york`.

use crate::features::indicators::{Family, Stateless};
use crate::features::params::{Builder, ParamValue};
use crate::features::primitives::{flag, Lanes};
use crate::features::stream::{Block, Planner, HOUR};

/// 1 if the bar's UTC open hour h lies in the session, else 0:
/// Tokyo `0 ≤ h < 9`, London `7 ≤ h < 16`, New York `13 ≤ h < 22`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    Tokyo,
    London,
    NewYork,
}

impl Family for Session {
    const FAMILIES: &'static [Builder<Self>] = &[
        Builder::new("session_tokyo", &[], None, |_| Ok(Session::Tokyo)),
        Builder::new("session_london", &[], None, |_| Ok(Session::London)),
        Builder::new("session_new_york", &[], None, |_| Ok(Session::NewYork)),
    ];

    fn family(&self) -> &'static str {
        match self {
            Session::Tokyo => "session_tokyo",
            Session::London => "session_london",
            Session::NewYork => "session_new_york",
        }
    }

    fn params(&self) -> Vec<(&'static str, ParamValue)> {
        vec![]
    }

    fn warmup_bars(&self) -> usize {
        0
    }

    type State<const L: usize> = Stateless;

    fn state<const L: usize>(&self) -> Stateless {
        Stateless
    }

    /// The session's hours `start..end`.
    type Column = (f64, f64);

    fn compile(&self, _: &mut Planner) -> (f64, f64) {
        match self {
            Session::Tokyo => (0.0, 9.0),
            Session::London => (7.0, 16.0),
            Session::NewYork => (13.0, 22.0),
        }
    }

    #[inline(always)]
    fn column<const L: usize>(
        &(start, end): &(f64, f64),
        block: &Block<L>,
        mut put: impl FnMut(usize, Lanes<L>),
    ) {
        block.each(HOUR, &mut put, |h| flag(h >= start && h < end));
    }
}
