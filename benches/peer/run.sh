#!/usr/bin/env bash
# PEER whole commands side by side (#26): `gauntlet backtest` as a fresh process (start to
# exit, every report format) against the same job written for vectorbt 1.2 with its Rust
# engine (vectorbt_peer.py, timed inside an already started Python, imports excluded),
# alternately, ROUNDS times each, on the same 100 Parquet files. Prints every round and the
# medians.
#
#   make bench-peer               # installs the peer's venv, builds, runs 7 rounds
#   benches/peer/run.sh [ROUNDS]  # after that
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-7}
G=target/release/gauntlet
PY=${PEER_PYTHON:-.venv-peer/bin/python}
DATA=target/bench-data/peer_1m
if [ ! -d "$DATA" ]; then
  $G data synth --symbols 100 --days 7 --interval 1m --seed 7 --out "$DATA" > /dev/null
fi
ours=(); theirs=()
for round in $(seq "$ROUNDS"); do
  wall=$( { /usr/bin/time -f "%e" $G backtest -c benches/peer/peer.toml > /dev/null; } 2>&1 | tail -1)
  peer=$($PY benches/peer/vectorbt_peer.py "$DATA")
  peer_wall=$(sed -E 's/.*"whole_s": ([0-9.]+).*/\1/' <<< "$peer")
  echo "round $round: gauntlet ${wall} s, vectorbt ${peer_wall} s  ($peer)"
  ours+=("$wall"); theirs+=("$peer_wall")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m_ours=$(median "${ours[@]}"); m_theirs=$(median "${theirs[@]}")
echo "median over $ROUNDS rounds: gauntlet ${m_ours} s, vectorbt ${m_theirs} s," \
  "ratio $(awk -v a="$m_theirs" -v b="$m_ours" 'BEGIN {printf "%.1f", a / b}')x"
