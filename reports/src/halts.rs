//! Trading halts: the stretches of a run in which a portfolio rule kept new entries out,
//! found in the run's risk events, so that a report says when trading stopped and for
//! how long instead of leaving it to a count of risk events.
//!
//! | rule | from | until |
//! |---|---|---|
//! | circuit breaker | the close that breached the drawdown | the end of its cooldown, or the end of the run |
//! | daily drawdown limit | the close that breached the limit | the next UTC midnight |
//! | consecutive-loss limit | the exit of the losing trade that reached it | the end of the run |
//!
//! A halt's duration is the part of `[from, until)` inside the run, whose end is the
//! open time of its last bar: `max(0, min(until, end) − from)`; its share of the run is
//! `duration / (end − start)` (0 for a run of one timestamp). With per-symbol capital a
//! halt stops one symbol's sleeve and names that symbol.

use gauntlet_engine::{RiskRule, RunResult};
use serde::{Deserialize, Serialize};

use crate::render::iso_time;
use crate::series::MS_PER_DAY;

/// One halt (see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Halt {
    /// `circuit_breaker`, `daily_drawdown` or `consecutive_losses` (the risk event's rule).
    pub rule: String,
    /// The sleeve's symbol with per-symbol capital; `None`: the whole portfolio.
    pub symbol: Option<String>,
    /// Open time (ms UTC) of the bar at which the rule fired.
    pub from_ts_ms: i64,
    /// When entries were allowed again (ms UTC); `None`: never, up to the end of the run.
    pub until_ts_ms: Option<i64>,
    /// `max(0, min(until, end) − from)` in ms.
    pub duration_ms: i64,
    /// `duration / (end − start)` of the run.
    pub share_of_run: f64,
}

/// Every halt of `run`, in the order of its risk events.
pub fn halts(run: &RunResult) -> Vec<Halt> {
    let (Some(&start), Some(&end)) = (run.equity.ts.first(), run.equity.ts.last()) else {
        return Vec::new();
    };
    run.risk_events
        .iter()
        .filter_map(|event| {
            let (rule, until) = match event.rule {
                RiskRule::CircuitBreaker { halted_until, .. } => ("circuit_breaker", halted_until),
                RiskRule::DailyDrawdown { .. } => (
                    "daily_drawdown",
                    Some((event.ts.div_euclid(MS_PER_DAY) + 1) * MS_PER_DAY),
                ),
                RiskRule::ConsecutiveLosses { .. } => ("consecutive_losses", None),
                _ => return None,
            };
            let duration_ms = (until.unwrap_or(end).min(end) - event.ts).max(0);
            Some(Halt {
                rule: rule.to_string(),
                symbol: event
                    .symbol
                    .map(|s| run.symbols.get(s).cloned().unwrap_or_default()),
                from_ts_ms: event.ts,
                until_ts_ms: until,
                duration_ms,
                share_of_run: if end > start {
                    duration_ms as f64 / (end - start) as f64
                } else {
                    0.0
                },
            })
        })
        .collect()
}

/// One sentence per rule that halted trading, for the summary and the report header,
/// e.g. "Trading halted by the circuit breaker at 2024-03-18T14:02:00Z until the end of
/// the run: 12.0 days (13.3 % of the run)." or, for several halts of a rule, their count,
/// total time and the longest.
pub fn describe_halts(halts: &[Halt]) -> Vec<String> {
    let mut rules: Vec<&str> = halts.iter().map(|h| h.rule.as_str()).collect();
    rules.sort_unstable();
    rules.dedup();
    rules
        .into_iter()
        .map(|rule| {
            let of_rule: Vec<&Halt> = halts.iter().filter(|h| h.rule == rule).collect();
            let name = match rule {
                "circuit_breaker" => "the circuit breaker",
                "daily_drawdown" => "the daily drawdown limit",
                _ => "the consecutive-loss limit",
            };
            let longest = of_rule
                .iter()
                .copied()
                .max_by_key(|h| (h.duration_ms, std::cmp::Reverse(h.from_ts_ms)))
                .expect("a rule listed has a halt");
            let one = |h: &Halt| {
                let symbol = h
                    .symbol
                    .as_ref()
                    .map_or_else(String::new, |s| format!(" in {s}"));
                let until = h
                    .until_ts_ms
                    .map_or_else(|| "the end of the run".to_string(), iso_time);
                format!(
                    "at {}{symbol} until {until}: {}",
                    iso_time(h.from_ts_ms),
                    span(h.duration_ms, h.share_of_run)
                )
            };
            if let [halt] = of_rule[..] {
                format!("Trading halted by {name} {}.", one(halt))
            } else {
                let total: i64 = of_rule.iter().map(|h| h.duration_ms).sum();
                let share: f64 = of_rule.iter().map(|h| h.share_of_run).sum();
                format!(
                    "Trading halted by {name} {} times, {} in all; the longest {}.",
                    of_rule.len(),
                    span(total, share),
                    one(longest)
                )
            }
        })
        .collect()
}

/// "12.0 days (13.3 % of the run)" (hours below two days, minutes below two hours).
fn span(duration_ms: i64, share_of_run: f64) -> String {
    let minutes = duration_ms as f64 / 60_000.0;
    let length = if minutes < 120.0 {
        format!("{minutes:.0} minutes")
    } else if minutes < 2_880.0 {
        format!("{:.1} hours", minutes / 60.0)
    } else {
        format!("{:.1} days", minutes / 1_440.0)
    };
    // Halts of several sleeves can overlap: their shares add up past 100 %.
    format!("{length} ({:.1} % of the run)", 100.0 * share_of_run)
}

#[cfg(test)]
mod tests {
    use gauntlet_engine::{EquityCurve, RiskEvent};

    use super::*;

    const HOUR: i64 = 3_600_000;

    /// A run over `[0, 10 days]` with `events`, symbols A and B.
    fn run(events: Vec<RiskEvent>) -> RunResult {
        RunResult {
            strategy: "test".into(),
            symbols: vec!["A".into(), "B".into()],
            initial_cash: 1.0,
            final_equity: 1.0,
            total_fees: 0.0,
            equity: EquityCurve {
                ts: vec![0, 10 * MS_PER_DAY],
                equity: vec![1.0, 1.0],
                cash: vec![1.0, 1.0],
                gross_exposure: vec![0.0, 0.0],
                net_exposure: vec![0.0, 0.0],
            },
            trades: Vec::new(),
            orders: Vec::new(),
            fills: Vec::new(),
            risk_events: events,
            ambiguity: Default::default(),
            candles: 2,
        }
    }

    fn breaker(ts: i64, until: Option<i64>) -> RiskEvent {
        RiskEvent {
            ts,
            symbol: None,
            rule: RiskRule::CircuitBreaker {
                equity: 88.0,
                peak: 100.0,
                limit: 0.12,
                halted_until: until,
            },
        }
    }

    #[test]
    fn each_rule_halts_until_its_own_end() {
        let daily = RiskEvent {
            ts: 2 * MS_PER_DAY + 18 * HOUR,
            symbol: Some(1),
            rule: RiskRule::DailyDrawdown {
                equity: 95.0,
                day_start_equity: 100.0,
                limit: 0.05,
            },
        };
        let losses = RiskEvent {
            ts: 9 * MS_PER_DAY,
            symbol: None,
            rule: RiskRule::ConsecutiveLosses {
                losses: 5,
                limit: 5,
            },
        };
        let ramp = RiskEvent {
            ts: 0,
            symbol: None,
            rule: RiskRule::CapitalRamp { fraction: 0.5 },
        };
        let found = halts(&run(vec![
            ramp,
            breaker(MS_PER_DAY, Some(MS_PER_DAY + 2 * HOUR)),
            daily,
            losses,
            breaker(8 * MS_PER_DAY, None),
        ]));
        let summary: Vec<_> = found
            .iter()
            .map(|h| {
                (
                    h.rule.as_str(),
                    h.symbol.as_deref(),
                    h.until_ts_ms,
                    h.duration_ms,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "circuit_breaker",
                    None,
                    Some(MS_PER_DAY + 2 * HOUR),
                    2 * HOUR
                ),
                // Until the next UTC midnight.
                ("daily_drawdown", Some("B"), Some(3 * MS_PER_DAY), 6 * HOUR),
                ("consecutive_losses", None, None, MS_PER_DAY),
                ("circuit_breaker", None, None, 2 * MS_PER_DAY),
            ]
        );
        assert_eq!(found[3].share_of_run, 0.2);
    }

    #[test]
    fn a_cooldown_past_the_end_counts_up_to_the_end() {
        let found = halts(&run(vec![breaker(9 * MS_PER_DAY, Some(12 * MS_PER_DAY))]));
        assert_eq!(found[0].duration_ms, MS_PER_DAY);
        assert_eq!(found[0].until_ts_ms, Some(12 * MS_PER_DAY));
    }

    #[test]
    fn the_sentences_name_the_rule_the_time_and_the_share() {
        let one = halts(&run(vec![breaker(8 * MS_PER_DAY, None)]));
        assert_eq!(
            describe_halts(&one),
            ["Trading halted by the circuit breaker at 1970-01-09T00:00:00Z until the end of the run: 2.0 days (20.0 % of the run)."]
        );
        let daily = |ts: i64| RiskEvent {
            ts,
            symbol: None,
            rule: RiskRule::DailyDrawdown {
                equity: 95.0,
                day_start_equity: 100.0,
                limit: 0.05,
            },
        };
        let two = halts(&run(vec![
            daily(MS_PER_DAY + 23 * HOUR),
            breaker(MS_PER_DAY, Some(MS_PER_DAY + 90 * 60_000)),
            daily(4 * MS_PER_DAY + 20 * HOUR),
        ]));
        assert_eq!(
            describe_halts(&two),
            [
                "Trading halted by the circuit breaker at 1970-01-02T00:00:00Z until 1970-01-02T01:30:00Z: 90 minutes (0.6 % of the run).",
                "Trading halted by the daily drawdown limit 2 times, 5.0 hours (2.1 % of the run) in all; the longest at 1970-01-05T20:00:00Z until 1970-01-06T00:00:00Z: 4.0 hours (1.7 % of the run).",
            ]
        );
        assert!(describe_halts(&[]).is_empty());
    }
}
