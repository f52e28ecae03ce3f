//! The fill model: prices (slippage), fees and volume caps of executions. It prices
//! only risk-approved orders and protections ([`RiskApproved`]) and executes only the
//! orders the risk pipeline sized ([`SizedOrder`]).

use gauntlet_strategies::strategy::{Bar, Side};

use crate::config::{AmbiguityPolicy, FeeConfig, SlippageConfig, VolumeCap};
use crate::order::{Liquidity, Order};
use crate::risk::{Protection, RiskApproved, SizedOrder};

/// Moves a reference price against the trader.
pub trait SlippageModel: Sync {
    /// Fill price for a trade in direction `side` (`Long` buys) at `price` within `bar`.
    fn fill_price(&self, price: f64, side: Side, bar: &Bar) -> f64;
}

/// Fill at the reference price.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSlippage;

impl SlippageModel for NoSlippage {
    #[inline]
    fn fill_price(&self, price: f64, _side: Side, _bar: &Bar) -> f64 {
        price
    }
}

/// `price × (1 + sign × rate)`, `rate = bps / 10 000`, sign = +1 buying, −1 selling.
#[derive(Debug, Clone, Copy)]
pub struct FixedBpsSlippage {
    pub rate: f64,
}

impl SlippageModel for FixedBpsSlippage {
    #[inline]
    fn fill_price(&self, price: f64, side: Side, _bar: &Bar) -> f64 {
        price * (1.0 + side.sign() * self.rate)
    }
}

/// `price + sign × fraction × (high − low)`.
#[derive(Debug, Clone, Copy)]
pub struct RangeFractionSlippage {
    pub fraction: f64,
}

impl SlippageModel for RangeFractionSlippage {
    #[inline]
    fn fill_price(&self, price: f64, side: Side, bar: &Bar) -> f64 {
        price + side.sign() * self.fraction * (bar.high - bar.low)
    }
}

/// Chooses the slippage model type for a config (the run is then monomorphized on it).
pub enum SlippageChoice {
    None(NoSlippage),
    FixedBps(FixedBpsSlippage),
    RangeFraction(RangeFractionSlippage),
}

impl From<SlippageConfig> for SlippageChoice {
    fn from(c: SlippageConfig) -> Self {
        match c {
            SlippageConfig::None => SlippageChoice::None(NoSlippage),
            SlippageConfig::FixedBps { bps } => SlippageChoice::FixedBps(FixedBpsSlippage {
                rate: bps / 10_000.0,
            }),
            SlippageConfig::RangeFraction { fraction } => {
                SlippageChoice::RangeFraction(RangeFractionSlippage { fraction })
            }
        }
    }
}

/// Price, quantity and fee of one execution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Execution {
    pub price: f64,
    /// Units (≥ 0) actually filled after the volume cap.
    pub quantity: f64,
    pub fee: f64,
    pub liquidity: Liquidity,
}

/// Slippage + fees + volume cap.
#[derive(Debug, Clone, Copy)]
pub struct FillModel<S> {
    slippage: S,
    maker_rate: f64,
    taker_rate: f64,
    min_fee: f64,
    volume_cap: Option<VolumeCap>,
    whole_units: bool,
}

impl<S: SlippageModel> FillModel<S> {
    pub fn new(
        slippage: S,
        fees: FeeConfig,
        volume_cap: Option<VolumeCap>,
        whole_units: bool,
    ) -> Self {
        Self {
            slippage,
            maker_rate: fees.maker_bps / 10_000.0,
            taker_rate: fees.taker_bps / 10_000.0,
            min_fee: fees.min_fee,
            volume_cap,
            whole_units,
        }
    }

    /// `taker_bps / 10 000`.
    pub fn taker_rate(&self) -> f64 {
        self.taker_rate
    }

    /// Price after slippage of an approved order's trade at `reference`.
    pub fn order_price(&self, order: &RiskApproved<Order>, reference: f64, bar: &Bar) -> f64 {
        self.slippage.fill_price(reference, order.get().side, bar)
    }

    /// Price after slippage of the exit of a protected position whose stop or target was
    /// reached; `reference` is the open on a gap, else the level.
    pub fn protective_price(
        &self,
        protection: &RiskApproved<Protection>,
        reference: f64,
        bar: &Bar,
    ) -> f64 {
        self.slippage
            .fill_price(reference, protection.get().side.opposite(), bar)
    }

    /// Executes a sized order (an entry, an exit order or a protective exit): up to its
    /// quantity, at its price.
    pub fn execute_order(
        &self,
        order: RiskApproved<SizedOrder>,
        bar: &Bar,
        liquidity: Liquidity,
    ) -> Execution {
        let SizedOrder { price, quantity } = order.into_inner();
        self.execute(price, quantity, bar, liquidity)
    }

    /// `fee = max(min_fee, |q| × price × rate)`; `q` capped at `max_fraction × volume`.
    fn execute(&self, price: f64, quantity: f64, bar: &Bar, liquidity: Liquidity) -> Execution {
        let mut quantity = quantity;
        if let Some(cap) = self.volume_cap {
            quantity = quantity.min(cap.max_fraction * bar.volume);
            if self.whole_units {
                quantity = quantity.floor();
            }
        }
        let rate = match liquidity {
            Liquidity::Maker => self.maker_rate,
            Liquidity::Taker => self.taker_rate,
        };
        let fee = if quantity > 0.0 {
            (quantity * price * rate).max(self.min_fee)
        } else {
            0.0
        };
        Execution {
            price,
            quantity,
            fee,
            liquidity,
        }
    }
}

/// Which level of a bar that reached both the stop and the target filled first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstHit {
    Stop,
    Target,
}

/// Resolves a bar whose range reached both `stop` and `target` of a `side` position.
/// `detail` holds the finer bars inside this bar (only used by `DrillDown`).
pub fn resolve_ambiguity(
    policy: AmbiguityPolicy,
    side: Side,
    bar: &Bar,
    stop: f64,
    target: f64,
    detail: impl IntoIterator<Item = Bar>,
) -> FirstHit {
    match policy {
        AmbiguityPolicy::Pessimistic => FirstHit::Stop,
        AmbiguityPolicy::Optimistic => FirstHit::Target,
        AmbiguityPolicy::OhlcPath => {
            let up = bar.high - bar.open;
            let down = bar.open - bar.low;
            if up == down {
                return FirstHit::Stop;
            }
            let high_first = up < down;
            // Long: the high side holds the target. Short: the high side holds the stop.
            match (side, high_first) {
                (Side::Long, true) | (Side::Short, false) => FirstHit::Target,
                _ => FirstHit::Stop,
            }
        }
        AmbiguityPolicy::DrillDown => {
            for fine in detail {
                let (stop_hit, target_hit) = match side {
                    Side::Long => (fine.low <= stop, fine.high >= target),
                    Side::Short => (fine.high >= stop, fine.low <= target),
                };
                match (stop_hit, target_hit) {
                    (true, _) => return FirstHit::Stop,
                    (false, true) => return FirstHit::Target,
                    _ => {}
                }
            }
            FirstHit::Stop
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn bar(o: f64, h: f64, l: f64, c: f64) -> Bar {
        Bar {
            ts: 0,
            open: o,
            high: h,
            low: l,
            close: c,
            volume: 100.0,
        }
    }

    #[rstest]
    #[case::pessimistic(
        AmbiguityPolicy::Pessimistic,
        Side::Long,
        bar(100.0, 103.0, 95.0, 100.0),
        FirstHit::Stop
    )]
    #[case::optimistic(
        AmbiguityPolicy::Optimistic,
        Side::Long,
        bar(100.0, 103.0, 95.0, 100.0),
        FirstHit::Target
    )]
    // high 3 away, low 5 away: O→H→L→C, long target on the high side fills first
    #[case::path_long_high_first(
        AmbiguityPolicy::OhlcPath,
        Side::Long,
        bar(100.0, 103.0, 95.0, 100.0),
        FirstHit::Target
    )]
    #[case::path_long_low_first(
        AmbiguityPolicy::OhlcPath,
        Side::Long,
        bar(100.0, 106.0, 97.0, 100.0),
        FirstHit::Stop
    )]
    #[case::path_short_high_first(
        AmbiguityPolicy::OhlcPath,
        Side::Short,
        bar(100.0, 103.0, 95.0, 100.0),
        FirstHit::Stop
    )]
    #[case::path_short_low_first(
        AmbiguityPolicy::OhlcPath,
        Side::Short,
        bar(100.0, 106.0, 97.0, 100.0),
        FirstHit::Target
    )]
    #[case::path_tie(
        AmbiguityPolicy::OhlcPath,
        Side::Long,
        bar(100.0, 104.0, 96.0, 100.0),
        FirstHit::Stop
    )]
    fn ambiguity_policies(
        #[case] policy: AmbiguityPolicy,
        #[case] side: Side,
        #[case] b: Bar,
        #[case] expected: FirstHit,
    ) {
        let (stop, target) = match side {
            Side::Long => (97.0, 102.0),
            Side::Short => (102.0, 97.0),
        };
        assert_eq!(
            resolve_ambiguity(policy, side, &b, stop, target, []),
            expected
        );
    }

    #[test]
    fn drill_down_replays_finer_bars() {
        let coarse = bar(100.0, 103.0, 95.0, 100.0);
        let target_first = [
            bar(100.0, 101.0, 99.0, 100.5),
            bar(100.5, 103.0, 100.0, 101.0),
            bar(101.0, 101.0, 95.0, 100.0),
        ];
        assert_eq!(
            resolve_ambiguity(
                AmbiguityPolicy::DrillDown,
                Side::Long,
                &coarse,
                97.0,
                102.0,
                target_first
            ),
            FirstHit::Target
        );
        let stop_first = [bar(100.0, 100.0, 95.0, 96.0), bar(96.0, 103.0, 96.0, 100.0)];
        assert_eq!(
            resolve_ambiguity(
                AmbiguityPolicy::DrillDown,
                Side::Long,
                &coarse,
                97.0,
                102.0,
                stop_first
            ),
            FirstHit::Stop
        );
        let both_in_one = [bar(100.0, 103.0, 95.0, 100.0)];
        assert_eq!(
            resolve_ambiguity(
                AmbiguityPolicy::DrillDown,
                Side::Long,
                &coarse,
                97.0,
                102.0,
                both_in_one
            ),
            FirstHit::Stop
        );
    }

    #[test]
    fn slippage_and_fees() {
        let b = bar(100.0, 110.0, 90.0, 100.0);
        assert_eq!(
            FixedBpsSlippage { rate: 0.001 }.fill_price(100.0, Side::Long, &b),
            100.0 * 1.001
        );
        assert_eq!(
            FixedBpsSlippage { rate: 0.001 }.fill_price(100.0, Side::Short, &b),
            100.0 * 0.999
        );
        assert_eq!(
            RangeFractionSlippage { fraction: 0.1 }.fill_price(100.0, Side::Long, &b),
            102.0
        );
        let fees = FeeConfig {
            maker_bps: 1.0,
            taker_bps: 10.0,
            min_fee: 0.5,
        };
        let m = FillModel::new(
            NoSlippage,
            fees,
            Some(VolumeCap {
                max_fraction: 0.1,
                remainder: Default::default(),
            }),
            false,
        );
        let taker = m.execute(100.0, 50.0, &b, Liquidity::Taker);
        assert_eq!((taker.quantity, taker.fee), (10.0, 10.0 * 100.0 * 0.001));
        let maker = m.execute(100.0, 5.0, &b, Liquidity::Maker);
        assert_eq!(maker.fee, 0.5); // 5 × 100 × 0.0001 = 0.05 < min fee
    }
}
