"""Benchmark: `gananalyze report` end to end on a 1,000,000-step x 8-metric run.

    uv run --frozen python bench/report.py [--repeats 5] [--steps 1000000] [--cache DIR]

Generates (once, cached) a native run without checkpoints: 1,000,000 steps of
8 metrics (G/D loss, D(x), D(G(z)) before/after, D accuracy, G/D gradient
norms) written with parts.write_part in 100,000-row parts, with a few spikes
so that the envelope plotting has something to keep. Then runs
`python -m gananalyze report RUN -o OUT --no-tsne` as a fresh process several
times, each pinned to 2 CPU cores when the machine has more, and reports the
wall time from process start to the HTML written (the process exits right
after writing), its CPU time (a check on a busy machine) and the peak resident memory of the
children
(getrusage(RUSAGE_CHILDREN).ru_maxrss). Targets (issue 24): < 5 s, < 1 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_S = 5.0
TARGET_MB = 1024.0
METRICS = (
    "G_loss",
    "D_loss",
    "D_x",
    "D_G_z_before",
    "D_G_z_after",
    "D_acc",
    "G_grad_norm",
    "D_grad_norm",
)


def make_run(path: Path, steps: int, chunk: int = 100_000, seed: int = 0) -> Path:
    """A native run directory with `steps` rows of the 8 metrics (no checkpoints, no samples)."""
    import pyarrow as pa

    from gananalyze.files import atomic
    from gananalyze.runio import parts, store

    done = path / ".complete"
    if done.is_file() and json.loads(done.read_text()).get("steps") == steps:
        return path
    if path.exists():
        import shutil

        shutil.rmtree(path)
    rng = np.random.default_rng(seed)
    atomic.atomic_write_json(
        path / store.RUN_JSON,
        {
            "format": "gananalyze-run",
            "version": store.FORMAT_VERSION,
            "name": f"bench-{steps}",
            "loss": "bce",
            "config": {"lr": 2e-4, "batch_size": 64, "d_loss_reduction": "sum"},
            "generator": None,
        },
    )
    t0 = 1.7e9
    for k, start in enumerate(range(0, steps, chunk)):
        s = np.arange(start, min(start + chunk, steps), dtype=np.int64)
        n = len(s)
        drift = np.sin(s / steps * 6.0)
        dx = np.clip(0.6 + 0.1 * drift + rng.normal(0, 0.05, n), 1e-4, 1 - 1e-4)
        dg = np.clip(0.4 - 0.1 * drift + rng.normal(0, 0.05, n), 1e-4, 1 - 1e-4)
        cols = {
            "step": s,
            "epoch": s / 1000.0,
            "wall_time": t0 + s * 0.05,
            "G_loss": -np.log(dg) + rng.normal(0, 0.05, n),
            "D_loss": -np.log(dx) - np.log(1 - dg) + rng.normal(0, 0.05, n),
            "D_x": dx,
            "D_G_z_before": dg,
            "D_G_z_after": np.clip(dg - 0.02, 1e-4, 1),
            "D_acc": np.clip(0.5 + (dx - dg) / 2 + rng.normal(0, 0.03, n), 0, 1),
            "G_grad_norm": np.exp(rng.normal(0, 0.3, n)),
            "D_grad_norm": np.exp(rng.normal(0.5, 0.3, n)),
        }
        spikes = rng.choice(n, 3, replace=False)
        cols["G_loss"][spikes] += 25.0  # one-step spikes the envelope must keep
        parts.write_part(path / store.SCALARS_DIR, pa.table(cols), k)
    done.write_text(json.dumps({"steps": steps}))
    return path


def _pin(cpus: int):
    def pin() -> None:
        if hasattr(os, "sched_setaffinity"):
            have = sorted(os.sched_getaffinity(0))
            if len(have) > cpus:
                os.sched_setaffinity(0, have[:cpus])

    return pin


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cpus", type=int, default=2, help="pin the report process to this many cores")
    ap.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("GANANALYZE_CACHE", Path.home() / ".cache" / "gananalyze"))
        / "bench",
    )
    args = ap.parse_args(argv)

    t = time.perf_counter()
    run = make_run(args.cache / f"report-run-{args.steps}", args.steps)
    print(
        f"run: {run} ({args.steps:,} steps x {len(METRICS)} metrics; ready "
        f"in {time.perf_counter() - t:.1f} s)"
    )

    times, cpus = [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.html"
        env = {**os.environ, "MPLBACKEND": "Agg"}
        for i in range(args.repeats):
            if out.exists():
                out.unlink()
            ru = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            r = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "gananalyze",
                    "report",
                    str(run),
                    "-o",
                    str(out),
                    "--no-tsne",
                ],
                capture_output=True,
                text=True,
                env=env,
                preexec_fn=_pin(args.cpus),
            )
            dt = time.perf_counter() - t
            if r.returncode != 0 or not out.is_file():
                print(r.stdout, r.stderr, sep="\n")
                print(f"run {i + 1}: FAILED (exit code {r.returncode})")
                return 1
            ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (ru2.ru_utime - ru.ru_utime) + (ru2.ru_stime - ru.ru_stime)
            times.append(dt)
            cpus.append(cpu)
            print(
                f"run {i + 1}/{args.repeats}: {dt:.2f} s wall, "
                f"{cpu:.2f} s CPU  ({out.stat().st_size / 1e6:.2f} MB HTML)"
            )
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    med = statistics.median(times)
    print()
    print(
        f"report, {args.steps:,} steps x {len(METRICS)} metrics, process "
        f"start to HTML written, {args.cpus} cores:"
    )
    print(
        f"  median {med:.2f} s  (min {min(times):.2f}, max "
        f"{max(times):.2f}, {len(times)} runs)   target < "
        f"{TARGET_S:.0f} s: {'PASS' if med < TARGET_S else 'FAIL'}"
    )
    print(
        f"  CPU time (user + system) median {statistics.median(cpus):.2f} "
        "s: about the wall time on an idle machine; wall time well above "
        "it means the machine was busy"
    )
    print(
        f"  peak memory {peak_mb:.0f} MB   target < "
        f"{TARGET_MB:.0f} MB: {'PASS' if peak_mb < TARGET_MB else 'FAIL'}"
    )
    return 0 if med < TARGET_S and peak_mb < TARGET_MB else 2


if __name__ == "__main__":
    sys.exit(main())
