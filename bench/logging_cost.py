"""Per-call cost of `RunLog.scalars()` with 8 metrics, flushing included.

    uv run --frozen python bench/logging_cost.py [--calls 200000] [--repeats 5]

Each repeat logs --calls steps into a fresh run (default flush_rows=1000, so
the Parquet flushes are part of the cost) and divides the total time by the
number of calls; the median over repeats is printed in ns per call, next to
the cost of building the same keyword dict alone (the floor for any API of this
shape).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TAGS = (
    "G_loss",
    "D_loss",
    "D_x",
    "D_G_z_before",
    "D_G_z_after",
    "D_acc",
    "G_grad_norm",
    "D_grad_norm",
)


def one_repeat(calls: int, values: np.ndarray, flush_rows: int) -> float:
    from gananalyze import RunLog

    rows = values.tolist()
    with tempfile.TemporaryDirectory() as d:
        log = RunLog(Path(d) / "r", flush_rows=flush_rows)
        t = time.perf_counter()
        for i in range(calls):
            r = rows[i]
            log.scalars(
                i,
                G_loss=r[0],
                D_loss=r[1],
                D_x=r[2],
                D_G_z_before=r[3],
                D_G_z_after=r[4],
                D_acc=r[5],
                G_grad_norm=r[6],
                D_grad_norm=r[7],
            )
        log.close()  # the final flush counts too
        return (time.perf_counter() - t) / calls * 1e9


def training_overhead(steps: int, values: np.ndarray, step_seconds: float) -> float:
    """Extra wall time per step that logging adds to a loop whose step waits
    `step_seconds` with the GIL released (as a GPU training step waiting on CUDA)."""
    from gananalyze import RunLog

    rows = values.tolist()

    def loop(log) -> float:
        t = time.perf_counter()
        for i in range(steps):
            time.sleep(step_seconds)
            if log is not None:
                r = rows[i]
                log.scalars(
                    i,
                    G_loss=r[0],
                    D_loss=r[1],
                    D_x=r[2],
                    D_G_z_before=r[3],
                    D_G_z_after=r[4],
                    D_acc=r[5],
                    G_grad_norm=r[6],
                    D_grad_norm=r[7],
                )
        return time.perf_counter() - t

    with tempfile.TemporaryDirectory() as d:
        bare = loop(None)
        log = RunLog(Path(d) / "r")
        logged = loop(log)
        log.close()
    return (logged - bare) / steps * 1e9


def baseline(calls: int, values: np.ndarray) -> float:
    rows = values.tolist()
    sink = []
    t = time.perf_counter()
    for i in range(calls):
        r = rows[i]
        sink.append(
            dict(
                G_loss=r[0],
                D_loss=r[1],
                D_x=r[2],
                D_G_z_before=r[3],
                D_G_z_after=r[4],
                D_acc=r[5],
                G_grad_norm=r[6],
                D_grad_norm=r[7],
            )
        )
    return (time.perf_counter() - t) / calls * 1e9


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--flush-rows", type=int, default=1000)
    args = ap.parse_args()
    values = np.random.default_rng(0).random((args.calls, len(TAGS)))
    per_call = [one_repeat(args.calls, values, args.flush_rows) for _ in range(args.repeats)]
    base = statistics.median(baseline(args.calls, values) for _ in range(args.repeats))
    over = statistics.median(training_overhead(5000, values, 0.0005) for _ in range(args.repeats))
    print(
        "in a loop whose step waits 0.5 ms outside the GIL (like a GPU "
        f"step): logging adds median {over:,.0f} ns/step ("
        f"{over / 5e5 * 100:.2f}% of the step)"
    )
    print(
        "tight loop, RunLog.scalars(step, 8 metrics), flush_rows="
        f"{args.flush_rows}: median {statistics.median(per_call):,.0f} "
        f"ns/call over {args.repeats} x {args.calls:,} calls (min "
        f"{min(per_call):,.0f}, max {max(per_call):,.0f}); building the "
        f"kwargs dict alone: {base:,.0f} ns"
    )


if __name__ == "__main__":
    main()
