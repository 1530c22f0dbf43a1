"""Benchmark: `gananalyze report` on the sample runs, with the t-SNE computed vs read back.

    uv run --frozen python bench/report_samples.py [--repeats 3] [--runs healthy,...]

For each sample run (sample_runs/, with their FID sweeps and the kept t-SNE) it times
`python -m gananalyze report RUN -o OUT` as a fresh process, pinned to 2 cores when the
machine has more: (a) on a copy of the run without its kept t-SNE (metrics/tsne-*.npz
removed before every repeat: what the first report of a run costs, the t-SNE computed
and kept) and (b) on the run as committed (the t-SNE read back). Prints the median wall
time, CPU time (user + system of the child) and peak memory, the machine and its load.
Target (issue 24): under 5 s each on 2 cores. Bytecode caching stays on (a shell that
sets PYTHONDONTWRITEBYTECODE would recompile scipy and pandas in every process).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 5.0


def one(run: Path, out: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, peak MB) of one report of `run` in a fresh process."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("OMP_NUM_THREADS", "2")
    cmd = [sys.executable, "-m", "gananalyze", "report", str(run), "-o", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    pre = None
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 2:
        pre = lambda: os.sched_setaffinity(0, {0, 1})  # noqa: E731
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, capture_output=True, preexec_fn=pre)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--runs", default="healthy,mode-collapse,d-overpowers")
    args = ap.parse_args()
    print(
        f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at start; "
        f"medians of {args.repeats}"
    )
    print(f"{'run':<15} {'t-SNE':<9} {'wall s':>7} {'CPU s':>7} {'peak MB':>8}")
    with tempfile.TemporaryDirectory() as d:
        for name in args.runs.split(","):
            src = ROOT / "sample_runs" / name
            fresh = Path(d) / name
            shutil.copytree(src, fresh)
            for label, run in (("computed", fresh), ("kept", src)):
                rows = []
                for _ in range(args.repeats):
                    if run is fresh:
                        for p in (fresh / "metrics").glob("tsne-*.npz"):
                            p.unlink()
                    rows.append(one(run, Path(d) / f"{name}.html"))
                wall = statistics.median(r[0] for r in rows)
                cpu = statistics.median(r[1] for r in rows)
                peak = max(r[2] for r in rows)
                print(f"{name:<15} {label:<9} {wall:>7.2f} {cpu:>7.2f} {peak:>8.0f}")
    print(
        f"target: < {TARGET_S:.0f} s each on 2 cores (CPU time is about the wall time on an "
        f"idle machine); load {os.getloadavg()[0]:.1f} at the end"
    )


if __name__ == "__main__":
    main()
