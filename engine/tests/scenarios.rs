//! Hand-computed scenarios, one per rule and fill rule.

mod common;

use common::*;
use gauntlet_datasets::{CandleSeries, Interval};
use gauntlet_engine::order::FillCause;
use gauntlet_engine::risk::RefusalReason;
use gauntlet_engine::{
    simulate, AmbiguityPolicy, CircuitBreaker, Distance, EngineConfig, EngineError, ExitReason,
    OrderStatus, RampStep, RiskRule, RunResult, SlippageConfig, SymbolInput, VolumeCap,
    VolumeRemainder,
};
use gauntlet_strategies::strategy::{EntryIntent, EntryKind, OrderIntent, Side};
use rstest::rstest;

fn base() -> EngineConfig {
    EngineConfig {
        initial_cash: 1_000.0,
        ..EngineConfig::default()
    }
}

fn run(
    config: &EngineConfig,
    script: &[(usize, usize, OrderIntent)],
    series: &[&CandleSeries],
) -> RunResult {
    let inputs: Vec<_> = series.iter().map(|s| SymbolInput::new(s)).collect();
    simulate(config, &Script::new(script), &inputs).unwrap()
}

#[test]
fn market_entry_fills_at_next_open_and_latency_delays_it() {
    let s = series(
        "A",
        Interval::M1,
        0,
        &[
            (10.0, 10.0, 10.0, 10.0),
            (11.0, 12.0, 10.0, 11.0),
            (12.0, 12.0, 12.0, 12.0),
            (13.0, 13.0, 13.0, 13.0),
        ],
    );
    let r = run(&base(), &[(0, 0, long())], &[&s]);
    assert_eq!((r.fills[0].bar_index, r.fills[0].price), (1, 11.0));
    // all in: 1000 / 11 units; equity at the close of bar 2 = 1000 + q × (12 − 11)
    let q = 1000.0 / 11.0;
    assert_eq!(r.fills[0].quantity, q);
    assert!((r.equity.equity[2] - (1000.0 + q)).abs() < 1e-9);
    let mut late = base();
    late.fills.latency_bars = 1;
    let r = run(&late, &[(0, 0, long())], &[&s]);
    assert_eq!((r.fills[0].bar_index, r.fills[0].price), (2, 12.0));
}

#[test]
fn fees_min_fee_and_slippage() {
    let s = series(
        "A",
        Interval::M1,
        0,
        &[
            (100.0, 100.0, 100.0, 100.0),
            (100.0, 110.0, 90.0, 100.0),
            (100.0, 100.0, 100.0, 100.0),
            (100.0, 100.0, 100.0, 100.0),
        ],
    );
    let mut c = base();
    c.fills.fees.taker_bps = 10.0;
    c.fills.fees.min_fee = 0.5;
    c.fills.slippage = SlippageConfig::FixedBps { bps: 100.0 };
    c.risk.sizing = gauntlet_engine::Sizing::FixedFraction { fraction: 0.9 };
    let r = run(&c, &[(0, 0, long()), (0, 1, OrderIntent::Exit)], &[&s]);
    let buy = r.fills[0];
    assert_eq!(buy.price, 101.0);
    let q = 0.9 * 1000.0 / (101.0 * 1.001);
    assert!((buy.quantity - q).abs() < 1e-12);
    assert!((buy.fee - q * 101.0 * 0.001).abs() < 1e-12);
    let sell = r.fills[1];
    assert_eq!(sell.price, 99.0);
    let t = &r.trades[0];
    assert!((t.pnl - (q * (99.0 - 101.0) - buy.fee - sell.fee)).abs() < 1e-9);
    // min fee: a tiny position pays 0.5
    c.risk.sizing = gauntlet_engine::Sizing::FixedFraction { fraction: 0.001 };
    let r = run(&c, &[(0, 0, long())], &[&s]);
    assert_eq!(r.fills[0].fee, 0.5);
    // range-fraction slippage: 10 % of bar 1's range (20) = 2
    c.fills.slippage = SlippageConfig::RangeFraction { fraction: 0.1 };
    let r = run(&c, &[(0, 0, long())], &[&s]);
    assert_eq!(r.fills[0].price, 102.0);
}

/// A strategy's time stop closes like a signal exit, at the next open, and is reported
/// as a time stop.
#[test]
fn a_strategy_time_stop_exits_at_the_next_open_as_time_stop() {
    let s = series(
        "A",
        Interval::M1,
        0,
        &[
            (100.0, 100.0, 100.0, 100.0),
            (101.0, 101.0, 101.0, 101.0),
            (102.0, 102.0, 102.0, 102.0),
            (103.0, 103.0, 103.0, 103.0),
        ],
    );
    let r = run(
        &base(),
        &[(0, 0, long()), (0, 1, OrderIntent::TimeStop)],
        &[&s],
    );
    let t = &r.trades[0];
    assert_eq!(
        (t.exit_reason, t.exit_bar, t.exit_price),
        (ExitReason::TimeStop, 2, 102.0)
    );
}

fn stop_config(sl_pct: f64, tp_pct: Option<f64>) -> EngineConfig {
    let mut c = base();
    c.risk.stop_loss = Some(Distance::Percent { percent: sl_pct });
    c.risk.take_profit = tp_pct.map(|percent| Distance::Percent { percent });
    c
}

/// B's market entry fills at the open of bar 2, before anything A does later in that
/// bar: A's intrabar stop-out (−50) and its close move the equity only after B is sized.
#[test]
fn a_fill_at_the_open_does_not_see_later_in_its_bar() {
    let b = series("B", Interval::M1, 0, &flat(4, 100.0));
    let mut c = stop_config(10.0, None);
    c.risk.sizing = gauntlet_engine::Sizing::FixedFraction { fraction: 0.5 };
    let script = [(0, 0, long()), (1, 1, long())];
    for (bar2, a_stopped) in [
        ((100.0, 100.0, 100.0, 100.0), false),
        ((100.0, 100.0, 50.0, 60.0), true),
    ] {
        let mut rows = flat(4, 100.0);
        rows[2] = bar2;
        let a = series("A", Interval::M1, 0, &rows);
        let r = run(&c, &script, &[&a, &b]);
        // A: 0.5 × 1000 / 100 = 5 units at bar 1's open. B at bar 2's open: equity 1000
        // (A marked at bar 1's close), so 5 units too.
        let b_fill = r.fills.iter().find(|f| f.symbol == 1).unwrap();
        assert_eq!(
            (b_fill.bar_index, b_fill.quantity),
            (2, 5.0),
            "A stopped: {a_stopped}"
        );
        let a_stop = r
            .trades
            .iter()
            .find(|t| t.symbol_index == 0 && t.exit_reason == ExitReason::StopLoss);
        assert_eq!(
            a_stop.map(|t| (t.exit_bar, t.exit_price)),
            a_stopped.then_some((2, 90.0))
        );
    }
}

#[test]
fn gap_through_stop_fills_at_the_open() {
    // entry at 100 (bar 1 open), stop 2 % = 98; bar 2 gaps to 95
    let s = series(
        "A",
        Interval::M1,
        0,
        &[
            (100.0, 100.0, 100.0, 100.0),
            (100.0, 101.0, 99.0, 100.0),
            (95.0, 96.0, 94.0, 95.0),
            (95.0, 95.0, 95.0, 95.0),
        ],
    );
    let r = run(&stop_config(2.0, None), &[(0, 0, long())], &[&s]);
    let t = &r.trades[0];
    assert_eq!(
        (t.exit_reason, t.exit_bar, t.exit_price),
        (ExitReason::StopLoss, 2, 95.0)
    );
    let stop_event = r
        .risk_events
        .iter()
        .find(|e| matches!(e.rule, RiskRule::StopLoss { .. }))
        .unwrap();
    assert_eq!(
        stop_event.rule,
        RiskRule::StopLoss {
            level: 98.0,
            trigger: 95.0,
            fill_price: 95.0
        }
    );
    assert_eq!(stop_event.ts, 2 * MIN);
    // MAE: worst price 95 vs entry 100, 10 units
    assert_eq!((t.quantity, t.mae), (10.0, 50.0));
}

#[test]
fn intrabar_stop_and_target_fill_at_their_level() {
    let s = series(
        "A",
        Interval::M1,
        0,
        &[
            (100.0, 100.0, 100.0, 100.0),
            (100.0, 101.0, 99.0, 100.0),
            (100.0, 100.5, 97.0, 99.0),
            (99.0, 99.0, 99.0, 99.0),
        ],
    );
    let r = run(&stop_config(2.0, Some(3.0)), &[(0, 0, long())], &[&s]);
    assert_eq!(
        (r.trades[0].exit_reason, r.trades[0].exit_price),
        (ExitReason::StopLoss, 98.0)
    );
    let s = series(
        "A",
        Interval::M1,
        0,
        &[
            (100.0, 100.0, 100.0, 100.0),
            (100.0, 101.0, 99.0, 100.0),
            (100.0, 104.0, 99.5, 101.0),
            (99.0, 99.0, 99.0, 99.0),
        ],
    );
    let r = run(&stop_config(2.0, Some(3.0)), &[(0, 0, short())], &[&s]);
    // short at 100: stop 102 reached by the high 104
    assert_eq!(
        (r.trades[0].exit_reason, r.trades[0].exit_price),
        (ExitReason::StopLoss, 102.0)
    );
    let r = run(&stop_config(2.0, Some(3.0)), &[(0, 0, long())], &[&s]);
    assert_eq!(
        (r.trades[0].exit_reason, r.trades[0].exit_price),
        (ExitReason::TakeProfit, 103.0)
    );
    assert_eq!(
        r.fills[1].liquidity,
        gauntlet_engine::order::Liquidity::Maker
    );
    // ATR multiple at exit: ATR(14) unavailable this early ⇒ None
    assert_eq!(r.trades[0].atr_multiple_at_exit, None);
}

/// Entry at 100, stop 98, target 103; bar 2 reaches both.
#[rstest]
#[case::pessimistic(AmbiguityPolicy::Pessimistic, (100.0, 103.5, 96.0, 100.0), 98.0)]
#[case::optimistic(AmbiguityPolicy::Optimistic, (100.0, 103.5, 96.0, 100.0), 103.0)]
// high 3.5 from the open, low 4.0: O→H→L→C, the target first
#[case::ohlc_path_high_first(AmbiguityPolicy::OhlcPath, (100.0, 103.5, 96.0, 100.0), 103.0)]
// high 4.0, low 3.5: O→L→H→C, the stop first
#[case::ohlc_path_low_first(AmbiguityPolicy::OhlcPath, (100.0, 104.0, 96.5, 100.0), 98.0)]
fn both_levels_in_one_bar(
    #[case] policy: AmbiguityPolicy,
    #[case] bar2: (f64, f64, f64, f64),
    #[case] exit: f64,
) {
    let s = series(
        "A",
        Interval::M1,
        0,
        &[
            (100.0, 100.0, 100.0, 100.0),
            (100.0, 101.0, 99.0, 100.0),
            bar2,
            (99.0, 99.0, 99.0, 99.0),
        ],
    );
    let mut c = stop_config(2.0, Some(3.0));
    c.fills.ambiguity = policy;
    let r = run(&c, &[(0, 0, long())], &[&s]);
    assert_eq!(r.trades[0].exit_price, exit);
    assert_eq!(r.ambiguity.ambiguous_bars, 1);
    // 10 units × (103 − 98)
    assert_eq!(r.ambiguity.optimistic_minus_pessimistic_pnl, 50.0);
}

#[test]
fn drill_down_uses_the_finer_bars_and_needs_them() {
    let coarse = series(
        "A",
        Interval::M5,
        0,
        &[
            (100.0, 100.0, 100.0, 100.0),
            (100.0, 101.0, 99.0, 100.0),
            (100.0, 104.0, 96.0, 100.0),
            (99.0, 99.0, 99.0, 99.0),
        ],
    );
    let mut fine_rows = flat(10, 100.0);
    // 1m bars of coarse bar 2 (minutes 10..15): the low comes first
    fine_rows.extend([
        (100.0, 100.0, 96.0, 97.0),
        (97.0, 104.0, 97.0, 100.0),
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 100.0, 100.0, 100.0),
    ]);
    fine_rows.extend(flat(5, 99.0));
    let fine = series("A", Interval::M1, 0, &fine_rows);
    let mut c = stop_config(2.0, Some(3.0));
    c.fills.ambiguity = AmbiguityPolicy::DrillDown;
    let mut input = SymbolInput::new(&coarse);
    input.detail = Some(&fine);
    let r = simulate(&c, &Script::new(&[(0, 0, long())]), &[input]).unwrap();
    assert_eq!(r.trades[0].exit_price, 98.0);
    assert_eq!(r.ambiguity.resolved_stop_first, 1);
    // the high first in the finer bars ⇒ target
    fine_rows[10] = (100.0, 104.0, 100.0, 101.0);
    let fine = series("A", Interval::M1, 0, &fine_rows);
    input.detail = Some(&fine);
    let r = simulate(&c, &Script::new(&[(0, 0, long())]), &[input]).unwrap();
    assert_eq!(r.trades[0].exit_price, 103.0);
    let err = simulate(&c, &Script::default(), &[SymbolInput::new(&coarse)]).unwrap_err();
    assert_eq!(err, EngineError::DrillDownMissing { symbol: "A".into() });
}

#[test]
fn limit_and_stop_entries() {
    let s = series(
        "A",
        Interval::M1,
        0,
        &[
            (100.0, 100.0, 100.0, 100.0),
            (100.0, 101.0, 99.0, 100.0),
            (99.0, 99.5, 96.0, 97.0),
            (97.0, 97.0, 97.0, 97.0),
        ],
    );
    let limit = OrderIntent::Enter(EntryIntent {
        side: Side::Long,
        kind: EntryKind::Limit { price: 97.5 },
        stop_loss: None,
        take_profit: None,
    });
    let r = run(&base(), &[(0, 0, limit)], &[&s]);
    assert_eq!((r.fills[0].bar_index, r.fills[0].price), (2, 97.5));
    assert_eq!(
        r.fills[0].liquidity,
        gauntlet_engine::order::Liquidity::Maker
    );
    // a sell-stop at 99.5 is already crossed by bar 2's open 99: fills at the open
    let stop = OrderIntent::Enter(EntryIntent {
        side: Side::Short,
        kind: EntryKind::Stop { price: 99.5 },
        stop_loss: None,
        take_profit: None,
    });
    let r = run(&base(), &[(0, 1, stop)], &[&s]);
    assert_eq!((r.fills[0].bar_index, r.fills[0].price), (2, 99.0));
}

#[test]
fn bracket_order_one_cancels_other() {
    let s = series(
        "A",
        Interval::M1,
        0,
        &[
            (100.0, 100.0, 100.0, 100.0),
            (100.0, 101.0, 99.0, 100.0),
            (100.0, 105.5, 99.0, 105.0),
            (90.0, 90.0, 90.0, 90.0),
        ],
    );
    let bracket = OrderIntent::Enter(EntryIntent {
        side: Side::Long,
        kind: EntryKind::Market,
        stop_loss: Some(95.0),
        take_profit: Some(105.0),
    });
    let r = run(&base(), &[(0, 0, bracket)], &[&s]);
    assert_eq!(r.trades.len(), 1);
    assert_eq!(
        (r.trades[0].exit_reason, r.trades[0].exit_price),
        (ExitReason::TakeProfit, 105.0)
    );
    // the stop (95, crossed by bar 3's open) is gone with the position
    assert_eq!(r.fills.len(), 2);
}

#[test]
fn partial_fills_keep_working_or_are_cancelled() {
    let mut s = CandleSeries::with_capacity("A", Interval::M1, 4);
    for i in 0..4 {
        s.push(i * MIN, 100.0, 100.0, 100.0, 100.0, 50.0);
    }
    let mut c = base();
    c.risk.whole_units = true;
    c.fills.volume_cap = Some(VolumeCap {
        max_fraction: 0.1,
        remainder: VolumeRemainder::KeepWorking,
    });
    // wants 10 units, 10 % of 50 = 5 per fill
    let r = run(&c, &[(0, 0, long())], &[&s]);
    let q: Vec<_> = r
        .fills
        .iter()
        .filter(|f| f.cause == FillCause::Entry)
        .map(|f| (f.bar_index, f.quantity))
        .collect();
    assert_eq!(q, [(1, 5.0), (2, 5.0)]);
    assert_eq!(r.orders[0].status, OrderStatus::Filled);
    assert_eq!(r.trades[0].quantity, 10.0);
    c.fills.volume_cap = Some(VolumeCap {
        max_fraction: 0.1,
        remainder: VolumeRemainder::Cancel,
    });
    let r = run(&c, &[(0, 0, long())], &[&s]);
    assert_eq!(
        r.fills
            .iter()
            .filter(|f| f.cause == FillCause::Entry)
            .count(),
        1
    );
    assert_eq!(
        (r.orders[0].status, r.orders[0].filled_quantity),
        (OrderStatus::PartiallyFilled, 5.0)
    );
}

#[test]
fn time_stop_and_trailing_stop() {
    let rows = [
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 101.0, 100.0, 101.0),
        (101.0, 102.0, 101.0, 102.0),
        (102.0, 103.0, 102.0, 103.0),
        (103.0, 103.0, 103.0, 103.0),
    ];
    let s = series("A", Interval::M1, 0, &rows);
    let mut c = base();
    c.risk.time_stop_bars = Some(2);
    let r = run(&c, &[(0, 0, long())], &[&s]);
    // held bars 1 and 2 ⇒ exit order at the close of bar 2, filled at bar 3's open
    let t = &r.trades[0];
    assert_eq!(
        (t.exit_reason, t.exit_bar, t.exit_price),
        (ExitReason::TimeStop, 3, 101.0)
    );
    assert!(r.risk_events.iter().any(|e| e.rule
        == RiskRule::TimeStop {
            bars_held: 2,
            limit: 2
        }));

    // trailing 1 %: best close 103 at bar 4 ⇒ level 101.97; bar 5 dips to 101.5
    let mut rows = rows.to_vec();
    rows[5] = (102.5, 102.5, 101.5, 102.0);
    let s = series("A", Interval::M1, 0, &rows);
    let mut c = base();
    c.risk.trailing_stop = Some(Distance::Percent { percent: 1.0 });
    let r = run(&c, &[(0, 0, long())], &[&s]);
    let t = &r.trades[0];
    assert_eq!((t.exit_reason, t.exit_bar), (ExitReason::TrailingStop, 5));
    assert!((t.exit_price - 103.0 * 0.99).abs() < 1e-12);
}

#[test]
fn daily_drawdown_limit_flattens_blocks_and_resets_at_utc_midnight() {
    // hourly bars from 20:00 UTC of day 0; price falls 10 % at 22:00
    let mut rows = vec![(100.0, 100.0, 100.0, 100.0); 2];
    rows.extend(vec![(90.0, 90.0, 90.0, 90.0); 6]);
    let start = 20 * HOUR;
    let s = series("A", Interval::H1, start, &rows);
    let mut c = base();
    c.risk.daily_drawdown_limit = Some(0.08);
    // entry decided at bar 0 (filled 21:00 at 100); bar 2 closes at 90 ⇒ −10 % on the day
    let script = [(0, 0, long()), (0, 3, long()), (0, 4, long())];
    let r = run(&c, &script, &[&s]);
    let dd = r
        .risk_events
        .iter()
        .find(|e| matches!(e.rule, RiskRule::DailyDrawdown { .. }))
        .unwrap();
    assert_eq!(dd.ts, start + 2 * HOUR);
    assert_eq!(
        dd.rule,
        RiskRule::DailyDrawdown {
            equity: 900.0,
            day_start_equity: 1000.0,
            limit: 0.08
        }
    );
    let t = &r.trades[0];
    assert_eq!((t.exit_reason, t.exit_bar), (ExitReason::RiskFlatten, 3));
    // the entry at bar 3 (23:00, flat again) is refused; bar 4 is 00:00 of day 1
    let refused: Vec<i64> = r
        .risk_events
        .iter()
        .filter(|e| {
            e.rule
                == RiskRule::EntryRefused {
                    reason: RefusalReason::DailyDrawdownBlock,
                }
        })
        .map(|e| e.ts)
        .collect();
    assert_eq!(refused, [start + 3 * HOUR]);
    assert_eq!(r.trades[1].entry_bar, 5);
}

#[test]
fn circuit_breaker_flattens_and_halts_for_the_rest_of_the_run() {
    let rows = [
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 100.0, 87.0, 87.0),
        (87.0, 87.0, 87.0, 87.0),
        (87.0, 87.0, 87.0, 87.0),
        (87.0, 87.0, 87.0, 87.0),
    ];
    let s = series("A", Interval::M1, 0, &rows);
    let mut c = base();
    c.risk.circuit_breaker = Some(CircuitBreaker {
        drawdown: 0.12,
        cooldown_minutes: None,
    });
    let r = run(&c, &[(0, 0, long()), (0, 3, long())], &[&s]);
    let cb = r
        .risk_events
        .iter()
        .find(|e| matches!(e.rule, RiskRule::CircuitBreaker { .. }))
        .unwrap();
    assert_eq!(
        cb.rule,
        RiskRule::CircuitBreaker {
            equity: 870.0,
            peak: 1000.0,
            limit: 0.12,
            halted_until: None
        }
    );
    assert_eq!(r.trades.len(), 1);
    assert_eq!(r.trades[0].exit_reason, ExitReason::RiskFlatten);
    assert!(r.risk_events.iter().any(|e| e.rule
        == RiskRule::EntryRefused {
            reason: RefusalReason::CircuitBreakerHalt
        }));
}

#[test]
fn capital_ramp_boundaries() {
    let s = series("A", Interval::M1, 0, &flat(130, 10.0));
    let mut c = base();
    c.risk.capital_ramp = vec![
        RampStep {
            after_minutes: 0,
            fraction: 0.1,
        },
        RampStep {
            after_minutes: 60,
            fraction: 0.25,
        },
        RampStep {
            after_minutes: 120,
            fraction: 1.0,
        },
    ];
    let qty = |decided: usize| {
        let r = run(&c, &[(0, decided, long())], &[&s]);
        r.fills[0].quantity
    };
    // decided at minute 58 ⇒ filled at minute 59: 10 % of 1000 at 10
    assert_eq!(qty(58), 10.0);
    // filled at minute 60: 25 %
    assert_eq!(qty(59), 25.0);
    assert_eq!(qty(118), 25.0);
    assert_eq!(qty(119), 100.0);
}

#[test]
fn max_open_positions_and_consecutive_losses() {
    let a = series("A", Interval::M1, 0, &flat(6, 10.0));
    let b = series("B", Interval::M1, 0, &flat(6, 20.0));
    let mut c = base();
    c.risk.max_open_positions = Some(1);
    c.risk.max_gross_exposure = 2.0;
    let r = run(&c, &[(0, 0, long()), (1, 1, long())], &[&a, &b]);
    assert!(r.risk_events.iter().any(|e| e.symbol == Some(1)
        && e.rule
            == RiskRule::EntryRefused {
                reason: RefusalReason::MaxOpenPositions
            }));
    assert_eq!(r.trades.len(), 1);

    // flat prices + fees ⇒ every round trip loses; halt after 2
    let mut c = base();
    c.fills.fees.taker_bps = 10.0;
    c.risk.max_consecutive_losses = Some(2);
    let script = [
        (0, 0, long()),
        (0, 1, OrderIntent::Exit),
        (0, 2, long()),
        (0, 3, OrderIntent::Exit),
        (0, 4, long()),
    ];
    let r = run(&c, &script, &[&a]);
    assert_eq!(r.trades.len(), 2);
    assert!(r.risk_events.iter().any(|e| e.rule
        == RiskRule::ConsecutiveLosses {
            losses: 2,
            limit: 2
        }));
    assert!(r.risk_events.iter().any(|e| e.rule
        == RiskRule::EntryRefused {
            reason: RefusalReason::ConsecutiveLossHalt
        }));
}

#[test]
fn reversal_closes_then_opens_at_the_same_open_and_gaps_skip_symbols() {
    let a = series(
        "A",
        Interval::M1,
        0,
        &[
            (10.0, 10.0, 10.0, 10.0),
            (10.0, 10.0, 10.0, 10.0),
            (12.0, 12.0, 12.0, 12.0),
            (12.0, 12.0, 12.0, 12.0),
        ],
    );
    // B misses minute 1
    let mut b = CandleSeries::with_capacity("B", Interval::M1, 3);
    for m in [0, 2, 3] {
        b.push(m * MIN, 5.0, 5.0, 5.0, 5.0, 1e9);
    }
    let mut c = base();
    c.risk.sizing = gauntlet_engine::Sizing::FixedFraction { fraction: 0.4 };
    let r = run(
        &c,
        &[(0, 0, long()), (0, 1, short()), (1, 0, long())],
        &[&a, &b],
    );
    assert_eq!(r.equity.ts, [0, MIN, 2 * MIN, 3 * MIN]);
    // B's entry decided at its bar 0 fills at its bar 1 = minute 2
    let b_fill = r.fills.iter().find(|f| f.symbol == 1).unwrap();
    assert_eq!((b_fill.ts, b_fill.bar_index), (2 * MIN, 1));
    let a_fills: Vec<_> = r
        .fills
        .iter()
        .filter(|f| f.symbol == 0 && f.bar_index == 2)
        .map(|f| f.cause)
        .collect();
    assert_eq!(
        a_fills,
        [
            FillCause::Exit {
                reason: ExitReason::Signal
            },
            FillCause::Entry
        ]
    );
    for k in 0..r.equity.len() {
        assert!((r.equity.equity[k] - (r.equity.cash[k] + r.equity.net_exposure[k])).abs() < 1e-9);
    }
}
