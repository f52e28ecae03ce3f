#!/usr/bin/env bash
# The end-to-end benchmark (W2, benches/WORKLOADS.md): 100 symbols × 90 days × 5m = 2,592,000
# candles, core31, the XGBoost + LightGBM + MLP ensemble, the risk settings of
# configs/universe_5m_risk.toml. Records each stage's wall time (printed by gauntlet)
# and the peak RSS (/usr/bin/time -v) of:
#   1. the first backtest (scores every model, fills the prediction cache),
#   2. the second backtest (reads the cache),
#   3. a sweep of 100 risk configs (benches/e2e/grid100.toml) after the first run.
#
#   benches/e2e/run.sh            # builds in release first (the criterion benches' build)
set -euo pipefail
cd "$(dirname "$0")/../.."
# The same release build as the criterion benches (`cargo build --release --bin gauntlet`
# unifies dependency features differently and would compile polars a second time).
cargo bench --workspace --no-run
G=target/release/gauntlet
WORK=${E2E_WORK:-target/e2e}
mkdir -p "$WORK"
if [ ! -d data/universe_5m ]; then
  $G data synth --symbols 100 --days 90 --interval 5m --seed 7 --out data/universe_5m
fi
rm -rf .gauntlet-cache/predictions
measure() {
  local name=$1; shift
  /usr/bin/time -v "$@" > "$WORK/$name.out" 2> "$WORK/$name.time" || true
  local rss wall
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f MiB", $2/1024}' "$WORK/$name.time")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/$name.time")
  echo "== $name: wall $wall, peak RSS $rss"
  grep -E "stage timings|sweep of" "$WORK/$name.out" || tail -5 "$WORK/$name.out"
}
measure backtest-cold $G backtest -c configs/universe_5m_risk.toml --out "$WORK/run1"
measure backtest-cached $G backtest -c configs/universe_5m_risk.toml --out "$WORK/run2"
measure sweep-100 $G sweep -c configs/universe_5m_risk.toml --grid benches/e2e/grid100.toml --out "$WORK/sweep"
cmp "$WORK/run1/report.json" "$WORK/run2/report.json" && echo "cached run: report.json byte-identical"
