"""PEER as a vectorbt user writes it (benches/WORKLOADS.md): read the universe's Parquet
files, SMA(10)/SMA(30) crossings acted on at the next bar's open, long only, 2 %
stop-loss, all-in per symbol (no cash sharing), no fees, then the statistics gauntlet
reports. Timed inside the already started Python (imports excluded), stage by stage.

    python vectorbt_peer.py DATA_DIR

Prints one JSON line: the stage timings in seconds, the trade count and the statistics.
"""

import json
import pathlib
import sys
import time

import numpy as np
import pandas as pd
import vectorbt as vbt


def load(data_dir):
    frames = {}
    for path in sorted(pathlib.Path(data_dir).glob("*.parquet")):
        symbol = path.stem.rsplit("_", 1)[0]
        frames[symbol] = pd.read_parquet(path).set_index("ts")
    fields = {}
    for field in ("open", "high", "low", "close"):
        fields[field] = pd.DataFrame({s: f[field] for s, f in frames.items()})
    return fields


def main():
    data_dir = sys.argv[1]
    started = time.perf_counter()
    bars = load(data_dir)
    loaded = time.perf_counter()

    close = bars["close"]
    fast = vbt.MA.run(close, window=10, engine="rust").ma
    slow = vbt.MA.run(close, window=30, engine="rust").ma
    fast.columns, slow.columns = close.columns, close.columns
    above = fast > slow
    was_above = above.shift(1, fill_value=False)
    # A cross decided at bar t's close is acted on at bar t + 1's open.
    entries = (above & ~was_above).shift(1, fill_value=False)
    exits = (~above & was_above).shift(1, fill_value=False)
    portfolio = vbt.Portfolio.from_signals(
        close,
        entries,
        exits,
        price=bars["open"],
        open=bars["open"],
        high=bars["high"],
        low=bars["low"],
        size=np.inf,
        sl_stop=0.02,
        stop_entry_price="fillprice",
        stop_exit_price="stoplimit",
        direction="longonly",
        init_cash=100_000 / len(close.columns),
        freq="1min",
        engine="rust",
    )
    simulated = time.perf_counter()

    statistics = {
        "sharpe_ratio": float(portfolio.sharpe_ratio().mean()),
        "max_drawdown": float(portfolio.max_drawdown().min()),
        "total_return": float(portfolio.total_return().mean()),
        "trades": int(portfolio.trades.count().sum()),
        "win_rate": float(portfolio.trades.win_rate().mean()),
    }
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "load_s": round(loaded - started, 4),
                "simulate_s": round(simulated - loaded, 4),
                "statistics_s": round(done - simulated, 4),
                "whole_s": round(done - started, 4),
                **statistics,
            }
        )
    )


if __name__ == "__main__":
    main()
