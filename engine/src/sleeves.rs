//! [`Capital::PerSymbol`](crate::Capital::PerSymbol): every symbol trades an account
//! of its own, so the symbols are independent and run in parallel, each as a
//! one-symbol simulation with `initial_cash / symbols`; the runs are then merged into
//! one [`RunResult`].
//!
//! The merged result lists trades by exit time, fills and risk events by time, and
//! orders by creation time, each then by symbol; order ids are renumbered in that
//! order. A sleeve's portfolio-level risk event (daily drawdown limit, circuit breaker,
//! …) names its symbol. The equity curve has a row at every timestamp of any symbol;
//! a sleeve contributes its values at its latest bar at or before that timestamp (its
//! initial cash before its first bar), summed in symbol order.

use rayon::prelude::*;

use gauntlet_strategies::strategy::{BarContext, OrderIntent, PositionView, Strategy};

use crate::config::{Capital, EngineConfig};
use crate::order::{FillRecord, OrderId, OrderRecord};
use crate::result::{AmbiguityStats, EquityCurve, RunResult, Trade};
use crate::risk::RiskEvent;
use crate::sim::{run_validated, SymbolInput};

/// Runs every symbol of `inputs` on its own sleeve (in parallel) and merges the runs.
/// `config` and `inputs` were validated; `shared_grid`: every symbol has the same
/// timestamps.
///
/// The sleeves run a few at a time ([`sleeves_at_once`]): each group's curves are added
/// to the merged curve and dropped before the next group starts, so memory holds the
/// curves of one group, not of the universe (100 sleeves of 90 days of 1m bars: 520 MB).
pub(crate) fn simulate_sleeves<S: Strategy>(
    config: &EngineConfig,
    strategy: &S,
    inputs: &[SymbolInput<'_>],
    shared_grid: bool,
) -> RunResult {
    let mut sleeve = config.clone();
    sleeve.initial_cash = config.initial_cash / inputs.len() as f64;
    sleeve.risk.capital = Capital::Shared;
    let mut curve = CurveSum::new(inputs, sleeve.initial_cash, shared_grid);
    let mut runs: Vec<RunResult> = Vec::with_capacity(inputs.len());
    let group_size = sleeves_at_once();
    for (first, group) in (0..).step_by(group_size).zip(inputs.chunks(group_size)) {
        let mut group_runs: Vec<RunResult> = group
            .par_iter()
            .enumerate()
            .map(|(offset, input)| {
                let strategy = OneSymbol {
                    strategy,
                    symbol: first + offset,
                };
                // One symbol is always on a grid of its own.
                run_validated(&sleeve, &strategy, std::slice::from_ref(input), true)
            })
            .collect();
        curve.add(group, &group_runs);
        for run in &mut group_runs {
            run.equity = EquityCurve::default();
        }
        runs.extend(group_runs);
    }
    merge(config.initial_cash, curve.into_curve(), runs)
}

/// Sleeves simulated at once: enough to keep every worker busy to the end of a group,
/// few enough that their curves stay small. The merged result does not depend on it.
fn sleeves_at_once() -> usize {
    (4 * rayon::current_num_threads()).max(16)
}

/// `strategy` seen by a one-symbol run of symbol `symbol`: the run's symbol 0 is
/// `symbol` of the strategy's universe.
struct OneSymbol<'a, S> {
    strategy: &'a S,
    symbol: usize,
}

impl<S: Strategy> Strategy for OneSymbol<'_, S> {
    type State = S::State;

    fn name(&self) -> &'static str {
        self.strategy.name()
    }

    fn new_state(&self) -> S::State {
        self.strategy.new_state()
    }

    #[inline]
    fn on_bar(&self, state: &mut S::State, ctx: &BarContext<'_>) -> Option<OrderIntent> {
        let ctx = BarContext {
            symbol_index: self.symbol,
            ..*ctx
        };
        self.strategy.on_bar(state, &ctx)
    }

    #[inline]
    fn next_decision(&self, _symbol_index: usize, from: usize, position: &PositionView) -> usize {
        self.strategy.next_decision(self.symbol, from, position)
    }
}

/// One run out of the sleeves' runs (`runs[s]` traded symbol `s` alone, as its symbol 0)
/// and the sum of their curves, `equity` ([`CurveSum`]).
fn merge(initial_cash: f64, equity: EquityCurve, mut runs: Vec<RunResult>) -> RunResult {
    let sleeves = &runs;
    let ((orders, fills), (trades, risk_events)) = rayon::join(
        || {
            fn orders(r: &RunResult) -> &[OrderRecord] {
                &r.orders
            }
            let order = merged_order(sleeves, orders, |o| o.order.created_ts);
            // `new_ids[s][k]`: the merged id of sleeve `s`'s order `k`.
            let mut new_ids: Vec<Vec<OrderId>> =
                sleeves.iter().map(|r| vec![0; r.orders.len()]).collect();
            for (id, &(s, k)) in order.iter().enumerate() {
                new_ids[s as usize][k as usize] = id as OrderId;
            }
            let orders = gather(sleeves, orders, &order, |s, id, o| {
                o.order.id = id as OrderId;
                o.order.symbol = s;
            });
            fn fills(r: &RunResult) -> &[FillRecord] {
                &r.fills
            }
            let order = merged_order(sleeves, fills, |f| f.ts);
            let fills = gather(sleeves, fills, &order, |s, _, f| {
                f.symbol = s;
                f.order_id = f.order_id.map(|id| new_ids[s][id as usize]);
            });
            (orders, fills)
        },
        || {
            rayon::join(
                || {
                    fn trades(r: &RunResult) -> &[Trade] {
                        &r.trades
                    }
                    let order = merged_order(sleeves, trades, |t| t.exit_ts);
                    gather(sleeves, trades, &order, |s, _, t| t.symbol_index = s)
                },
                || {
                    fn events(r: &RunResult) -> &[RiskEvent] {
                        &r.risk_events
                    }
                    let order = merged_order(sleeves, events, |e| e.ts);
                    gather(sleeves, events, &order, |s, _, e| e.symbol = Some(s))
                },
            )
        },
    );
    let mut ambiguity = AmbiguityStats::default();
    for a in runs.iter().map(|r| &r.ambiguity) {
        ambiguity.ambiguous_bars += a.ambiguous_bars;
        ambiguity.resolved_stop_first += a.resolved_stop_first;
        ambiguity.resolved_target_first += a.resolved_target_first;
        ambiguity.optimistic_minus_pessimistic_pnl += a.optimistic_minus_pessimistic_pnl;
    }
    RunResult {
        strategy: std::mem::take(&mut runs[0].strategy),
        symbols: runs.iter_mut().flat_map(|r| r.symbols.drain(..)).collect(),
        initial_cash,
        final_equity: runs.iter().map(|r| r.final_equity).sum(),
        total_fees: runs.iter().map(|r| r.total_fees).sum(),
        equity,
        trades,
        orders,
        fills,
        risk_events,
        ambiguity,
        candles: runs.iter().map(|r| r.candles).sum(),
    }
}

/// Where each record of the merged list comes from, `(sleeve, index in its list)`,
/// for the sleeves' lists `list(&runs[s])` (each ordered by `time`): ordered by time,
/// then by sleeve, each sleeve's records in their own order.
fn merged_order<T>(
    runs: &[RunResult],
    list: impl Fn(&RunResult) -> &[T],
    time: impl Fn(&T) -> i64,
) -> Vec<(u32, u32)> {
    let mut keys: Vec<(i64, u32, u32)> =
        Vec::with_capacity(runs.iter().map(|r| list(r).len()).sum());
    for (s, list) in runs.iter().map(list).enumerate() {
        debug_assert!(
            list.is_sorted_by_key(&time),
            "sleeve {s} is not in time order"
        );
        keys.extend(
            list.iter()
                .enumerate()
                .map(|(k, record)| (time(record), s as u32, k as u32)),
        );
    }
    keys.par_sort_unstable();
    keys.into_iter().map(|(_, s, k)| (s, k)).collect()
}

/// The records of the sleeves' lists `list(&runs[s])` in the merged `order`
/// ([`merged_order`]), each copied and passed to `relabel(sleeve, position in the
/// merged list, record)`; in parallel.
fn gather<T: Clone + Send>(
    runs: &[RunResult],
    list: impl Fn(&RunResult) -> &[T] + Sync,
    order: &[(u32, u32)],
    relabel: impl Fn(usize, usize, &mut T) + Sync,
) -> Vec<T> {
    order
        .par_iter()
        .enumerate()
        .map(|(position, &(s, k))| {
            let mut record = list(&runs[s as usize])[k as usize].clone();
            relabel(s as usize, position, &mut record);
            record
        })
        .collect()
}

/// The merged equity curve (see the module doc), summed sleeve by sleeve in symbol
/// order as the sleeves finish.
struct CurveSum {
    shared_grid: bool,
    /// `equity, cash, gross_exposure, net_exposure` summed over the sleeves added.
    columns: [Vec<f64>; 4],
    ts: Vec<i64>,
    /// A sleeve's values before its first bar: its cash, no exposure.
    before_first: [f64; 4],
}

impl CurveSum {
    /// Zeros at every timestamp of any of `inputs`.
    fn new(inputs: &[SymbolInput<'_>], sleeve_cash: f64, shared_grid: bool) -> Self {
        let ts = if shared_grid {
            inputs[0].candles.ts().to_vec()
        } else {
            inputs.iter().fold(Vec::new(), |union, input| {
                union_of_increasing(&union, input.candles.ts())
            })
        };
        Self {
            shared_grid,
            columns: std::array::from_fn(|_| vec![0.0; ts.len()]),
            ts,
            before_first: [sleeve_cash, sleeve_cash, 0.0, 0.0],
        }
    }

    /// Adds the curves of the next sleeves (`runs`, in symbol order, of `inputs`); the
    /// four columns in parallel.
    fn add(&mut self, inputs: &[SymbolInput<'_>], runs: &[RunResult]) {
        debug_assert!(inputs
            .iter()
            .zip(runs)
            .all(|(input, run)| run.equity.ts == input.candles.ts()));
        /// Value column `k` of a curve.
        fn column(c: &EquityCurve, k: usize) -> &[f64] {
            [&c.equity, &c.cash, &c.gross_exposure, &c.net_exposure][k]
        }
        let (ts, shared_grid) = (&self.ts, self.shared_grid);
        self.columns
            .par_iter_mut()
            .zip(self.before_first)
            .enumerate()
            .for_each(|(k, (sum, before_first))| {
                for run in runs {
                    let (sleeve_ts, values) = (&run.equity.ts, column(&run.equity, k));
                    if shared_grid {
                        sum.iter_mut().zip(values).for_each(|(s, v)| *s += v);
                        continue;
                    }
                    let (mut value, mut i) = (before_first, 0);
                    for (s, t) in sum.iter_mut().zip(ts) {
                        // `i`: the sleeve's rows at or before `t`.
                        while i < sleeve_ts.len() && sleeve_ts[i] <= *t {
                            value = values[i];
                            i += 1;
                        }
                        *s += value;
                    }
                }
            });
    }

    fn into_curve(self) -> EquityCurve {
        let [equity, cash, gross_exposure, net_exposure] = self.columns;
        EquityCurve {
            ts: self.ts,
            equity,
            cash,
            gross_exposure,
            net_exposure,
        }
    }
}

/// The values of two strictly increasing lists, strictly increasing: a merge, so a
/// universe's union of timestamps never holds all of its bars at once.
fn union_of_increasing(a: &[i64], b: &[i64]) -> Vec<i64> {
    let mut union = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        union.push(x.min(y));
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    union.extend_from_slice(&a[i..]);
    union.extend_from_slice(&b[j..]);
    union
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{simulate, Distance, Sizing};
    use gauntlet_datasets::CandleSeries;
    use gauntlet_strategies::strategy::{SmaCross, SmaCrossConfig};

    /// A random walk from minute `first_bar` on whose every `gap`-th bar is missing.
    fn walk(seed: u64, first_bar: i64, bars: usize, gap: usize) -> CandleSeries {
        crate::testing::walk(seed, first_bar, bars, gap, 0.006, 0.001)
    }

    fn config() -> EngineConfig {
        let mut c = EngineConfig {
            initial_cash: 30_000.0,
            ..EngineConfig::default()
        };
        c.fills.fees.taker_bps = 5.0;
        c.risk.stop_loss = Some(Distance::Percent { percent: 0.4 });
        c.risk.sizing = Sizing::FixedFraction { fraction: 0.9 };
        c.risk.daily_drawdown_limit = Some(0.03);
        c.risk.capital = Capital::PerSymbol;
        c
    }

    fn sma_cross(universe: &[CandleSeries]) -> SmaCross {
        let config = SmaCrossConfig {
            fast: 5,
            slow: 12,
            allow_short: true,
        };
        SmaCross::new(config, universe.iter().map(CandleSeries::close)).unwrap()
    }

    /// Each symbol of a per-symbol run trades exactly as it does alone on its share of
    /// the cash; the curve is the sleeves' sum; records are ordered and renumbered.
    fn check_sleeves_are_runs_alone(universe: &[CandleSeries]) {
        let inputs: Vec<_> = universe.iter().map(SymbolInput::new).collect();
        let cross = sma_cross(universe);
        let config = config();
        let merged = simulate(&config, &cross, &inputs).unwrap();

        let mut alone_config = config.clone();
        alone_config.initial_cash = config.initial_cash / universe.len() as f64;
        alone_config.risk.capital = Capital::Shared;
        let mut final_equity = 0.0;
        let mut expected_curve = vec![0.0; merged.equity.len()];
        for (s, input) in inputs.iter().enumerate() {
            let own = sma_cross(std::slice::from_ref(&universe[s]));
            let alone = simulate(&alone_config, &own, std::slice::from_ref(input)).unwrap();
            assert!(alone.trades.len() > 3, "symbol {s} trades");
            final_equity += alone.final_equity;
            // Its equity at its latest bar at or before each merged row (before its
            // first bar, its cash).
            for (row, t) in merged.equity.ts.iter().enumerate() {
                let bars = alone.equity.ts.partition_point(|own| own <= t);
                expected_curve[row] += bars
                    .checked_sub(1)
                    .map_or(alone_config.initial_cash, |k| alone.equity.equity[k]);
            }

            let trades: Vec<_> = merged
                .trades
                .iter()
                .filter(|t| t.symbol_index == s)
                .collect();
            assert_eq!(trades.len(), alone.trades.len());
            for (m, a) in trades.iter().zip(&alone.trades) {
                assert_eq!(
                    **m,
                    Trade {
                        symbol_index: s,
                        ..a.clone()
                    }
                );
            }
            let orders: Vec<_> = merged
                .orders
                .iter()
                .filter(|o| o.order.symbol == s)
                .collect();
            assert_eq!(orders.len(), alone.orders.len());
            for (m, a) in orders.iter().zip(&alone.orders) {
                assert_eq!(m.status, a.status);
                assert_eq!(m.filled_quantity, a.filled_quantity);
                assert_eq!(m.order.created_bar, a.order.created_bar);
            }
            let fills: Vec<_> = merged.fills.iter().filter(|f| f.symbol == s).collect();
            assert_eq!(fills.len(), alone.fills.len());
            for (m, a) in fills.iter().zip(&alone.fills) {
                assert_eq!(
                    (m.ts, m.quantity, m.price, m.fee),
                    (a.ts, a.quantity, a.price, a.fee)
                );
                // The renumbered id names the same order.
                let by_id = |id: Option<OrderId>, orders: &[crate::OrderRecord]| {
                    id.map(|id| orders[id as usize].order.created_bar)
                };
                assert_eq!(
                    by_id(m.order_id, &merged.orders),
                    by_id(a.order_id, &alone.orders)
                );
            }
            let events = merged.risk_events.iter().filter(|e| e.symbol == Some(s));
            assert_eq!(events.count(), alone.risk_events.len());
        }
        // Summed in another order than the merge's.
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs();
        assert!(close(merged.final_equity, final_equity));
        assert_eq!(merged.equity.equity.last(), Some(&merged.final_equity));
        // Summed in the merge's order (symbol by symbol from zero), whatever the groups
        // the sleeves ran in: the same bits.
        for (row, (&m, &e)) in merged.equity.equity.iter().zip(&expected_curve).enumerate() {
            assert_eq!(m.to_bits(), e.to_bits(), "row {row}: {m} against {e}");
        }
        assert!(merged
            .trades
            .is_sorted_by_key(|t| (t.exit_ts, t.symbol_index)));
        assert!(merged.fills.is_sorted_by_key(|f| (f.ts, f.symbol)));
        assert!(merged.risk_events.is_sorted_by_key(|e| (e.ts, e.symbol)));
        assert!(merged
            .orders
            .is_sorted_by_key(|o| (o.order.created_ts, o.order.symbol)));
        assert!(merged
            .orders
            .iter()
            .enumerate()
            .all(|(k, o)| o.order.id == k as OrderId));
        assert_eq!(merged.symbols.len(), universe.len());
    }

    #[test]
    fn on_a_shared_grid_each_symbol_trades_as_alone() {
        let universe: Vec<_> = (1..=6).map(|s| walk(s, 0, 600, 0)).collect();
        check_sleeves_are_runs_alone(&universe);
    }

    #[test]
    fn on_different_grids_each_symbol_trades_as_alone() {
        // Two groups; the last symbol starts after the others end.
        let universe = [
            walk(1, 0, 600, 0),
            walk(2, 40, 600, 7),
            walk(3, 3, 500, 0),
            walk(4, 100, 450, 5),
            walk(5, 0, 600, 0),
            walk(6, 700, 400, 0),
        ];
        check_sleeves_are_runs_alone(&universe);
    }

    #[test]
    fn the_union_of_increasing_lists_is_their_sorted_distinct_values() {
        let (a, b) = ([1, 3, 4, 9], [0, 3, 5, 9, 10, 12]);
        assert_eq!(union_of_increasing(&a, &b), [0, 1, 3, 4, 5, 9, 10, 12]);
        assert_eq!(union_of_increasing(&b, &a), [0, 1, 3, 4, 5, 9, 10, 12]);
        assert_eq!(union_of_increasing(&[], &b), b);
        assert_eq!(union_of_increasing(&a, &[]), a);
    }

    #[test]
    fn sleeves_in_several_groups_merge_as_one() {
        let universe: Vec<_> = (0..2 * sleeves_at_once() as u64 + 3)
            .map(|s| walk(s + 1, (s % 7) as i64 * 13, 300, 3 + s as usize % 5))
            .collect();
        check_sleeves_are_runs_alone(&universe);
    }

    /// Before its first bar a sleeve holds its cash; after its last it keeps its last
    /// values.
    #[test]
    fn the_curve_carries_each_sleeve_between_its_bars() {
        let universe = [walk(1, 0, 3, 0), walk(2, 2, 3, 0)];
        let inputs: Vec<_> = universe.iter().map(SymbolInput::new).collect();
        // Three bars are too few for a cross.
        let run = simulate(&config(), &sma_cross(&universe), &inputs).unwrap();
        let minutes: Vec<i64> = run.equity.ts.iter().map(|t| t / 60_000).collect();
        assert_eq!(minutes, [0, 1, 2, 3, 4]);
        assert!(run.equity.equity.iter().all(|&e| e == 30_000.0));
        assert!(run.equity.cash.iter().all(|&c| c == 30_000.0));
    }

    #[test]
    fn one_symbol_runs_as_with_shared_capital() {
        let universe = [walk(5, 0, 400, 0)];
        let inputs: Vec<_> = universe.iter().map(SymbolInput::new).collect();
        let signals = sma_cross(&universe);
        let mut shared = config();
        shared.risk.capital = Capital::Shared;
        let sleeve = simulate(&config(), &signals, &inputs).unwrap();
        assert_eq!(sleeve, simulate(&shared, &signals, &inputs).unwrap());
    }

    #[test]
    fn the_result_does_not_depend_on_the_thread_count() {
        let universe: Vec<_> = (1..=5).map(|s| walk(s, 0, 500, 0)).collect();
        let inputs: Vec<_> = universe.iter().map(SymbolInput::new).collect();
        let signals = sma_cross(&universe);
        let on = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let run = pool.install(|| simulate(&config(), &signals, &inputs).unwrap());
            serde_json::to_string(&run).unwrap()
        };
        assert_eq!(on(1), on(2));
    }
}
