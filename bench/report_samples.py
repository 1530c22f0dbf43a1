"""Benchmark: `gananalyze report` on the sample runs, with the t-SNE computed vs read back.

    uv run --frozen python bench/report_samples.py [--repeats 3] [--runs healthy,...]
        [--baseline REF] [--tsne computed,kept]

For each sample run (sample_runs/, with their FID sweeps and the kept t-SNE) it times
`python -m gananalyze report RUN -o OUT` as a fresh process, pinned to 2 cores when the
machine has more: (a) on a copy of the run without its kept t-SNE (metrics/tsne-*.npz
removed before every repeat: what the first report of a run costs, the t-SNE computed
and kept) and (b) on the run as committed (the t-SNE read back). Prints the median wall
time, CPU time (user + system of the child) and peak memory, the machine and its load.
With `--baseline REF` (a git commit, branch or tag) the same reports are also timed with
the code of REF (bench/baseline.py), interleaved with this checkout's, so that both
figures come from one run under one load. Target (issue 24): under 5 s each on 2 cores.
Bytecode caching stays on (a shell that sets PYTHONDONTWRITEBYTECODE would recompile scipy
and pandas in every process).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from baseline import checkout

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 5.0


def one(run: Path, out: Path, code: Path = ROOT) -> tuple[float, float, float]:
    """(wall s, CPU s, peak MB) of one report of `run` in a fresh process, by the package
    under `code` (this checkout, or a baseline's tree)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.setdefault("OMP_NUM_THREADS", "2")
    cmd = [sys.executable, "-m", "gananalyze", "report", str(run), "-o", str(out)]
    pre = None
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 2:
        pre = lambda: os.sched_setaffinity(0, {0, 1})  # noqa: E731
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=code, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        preexec_fn=pre,
    )
    err = proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)  # this child's own CPU time and peak memory
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"report of {run} failed ({proc.returncode}):\n{err.decode()}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--runs", default="healthy,mode-collapse,d-overpowers")
    ap.add_argument("--baseline", help="also time the code of this git commit, interleaved")
    ap.add_argument("--tsne", default="computed,kept",
                    help="which t-SNE cases to time: computed, kept or both")
    args = ap.parse_args()
    print(
        f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} at start; "
        f"medians of {args.repeats}"
    )
    with tempfile.TemporaryDirectory() as d:
        codes = {"this": ROOT}
        if args.baseline:
            base = checkout(args.baseline, Path(d) / "baseline")
            codes = {f"{args.baseline} ({(base / 'REF').read_text()})": base, "this": ROOT}
        for code in codes.values():  # compile each tree's bytecode before timing
            one(ROOT / "sample_runs" / args.runs.split(",")[0], Path(d) / "warm.html", code)
        print(f"{'code':<22} {'run':<15} {'t-SNE':<9} {'wall s':>7} {'CPU s':>7} {'peak MB':>8}")
        for name in args.runs.split(","):
            src = ROOT / "sample_runs" / name
            fresh = Path(d) / name
            shutil.copytree(src, fresh)
            for label, run in (("computed", fresh), ("kept", src)):
                if label not in args.tsne.split(","):
                    continue
                rows: dict[str, list] = {k: [] for k in codes}
                for _ in range(args.repeats):
                    for key, code in codes.items():
                        if run is fresh:
                            for p in (fresh / "metrics").glob("tsne-*.npz"):
                                p.unlink()
                        rows[key].append(one(run, Path(d) / f"{name}.html", code))
                for key, rs in rows.items():
                    wall = statistics.median(r[0] for r in rs)
                    cpu = statistics.median(r[1] for r in rs)
                    peak = max(r[2] for r in rs)
                    print(
                        f"{key:<22} {name:<15} {label:<9} {wall:>7.2f} {cpu:>7.2f} {peak:>8.0f}"
                    )
    print(
        f"target: < {TARGET_S:.0f} s each on 2 cores (CPU time is about the wall time on an "
        f"idle machine); load {os.getloadavg()[0]:.1f} at the end"
    )


if __name__ == "__main__":
    main()
