"""Benchmark: the memory `compare`'s parent process holds for N runs, beside another install.

With more than 12 runs, each `compare` worker hands back a thinned run and its diagnosis
(`analysis.runset.thin_run`); the parent keeps them all, what they hold in common once
(`runset._Shared`). This measures that part without running N full compares: 50 runs of
the sweep case (bench/compare.py --case sweep, 5,000 steps x 4 metrics) are loaded,
checked and thinned as a worker does, pickled, and unpickled N times in one process; it
prints the RSS growth. `--baseline PYTHON` measures the same with another installation
(e.g. today's main), in the same run.

    uv run --frozen python bench/compare_memory.py [--runs 10000] [--baseline PYTHON]

The whole command's peak (workers, the page) at growing run counts is
`bench/compare.py --scale`.
"""

from __future__ import annotations

import argparse
import glob
import os
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def held(n: int, sweep: Path) -> str:
    import gananalyze.analysis.runset as rs
    from gananalyze.analysis import analyze
    from gananalyze.loader import load_run

    pts = rs.curve_points(n) if hasattr(rs, "curve_points") else rs.CURVE_POINTS
    blobs = []
    for p in sorted(glob.glob(str(sweep / "run-*")))[:50]:
        run = load_run(p)
        d = analyze(run)[1]
        if hasattr(rs, "curve_points"):
            rs.thin_run(run, "fid", pts)
        else:
            rs.thin_run(run)
        blobs.append(pickle.dumps(("ok", run, d)))
    r0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    shared = rs._Shared() if hasattr(rs, "_Shared") else None  # as load_and_diagnose keeps them
    kept = []
    for i in range(n):
        status, run, d = pickle.loads(blobs[i % len(blobs)])
        if shared is not None:
            run, d = shared.run(run), shared.diagnosis(d)
        kept.append((status, run, d))
    r1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (
        f"{len(kept)} thinned runs ({pts} curve points each): +{(r1 - r0) / 1024:.0f} MB RSS "
        f"({(r1 - r0) / n:.0f} KB per run), process {r1 / 1024:.0f} MB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--baseline", default=None, metavar="PYTHON")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--sweep", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(held(args.runs, args.sweep))
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from compare import SWEEP_RUNS, SWEEP_STEPS, VERSION, _default_cache, ensure_sweep

    sweep = ensure_sweep(_default_cache().parent / f"sweep-{SWEEP_RUNS}x{SWEEP_STEPS}-v{VERSION}")
    me = str(Path(__file__).resolve())
    for name, py in (("this", sys.executable), ("baseline", args.baseline)):
        if py is None:
            continue
        out = subprocess.run(  # outside any checkout: `python FILE` keeps the install's package
            [py, me, "--child", "--runs", str(args.runs), "--sweep", str(sweep)],
            capture_output=True, text=True, cwd=tempfile.gettempdir(),
        )  # fmt: skip
        if out.returncode:
            sys.exit(out.stderr[-2000:])
        print(f"{name} ({py}): {out.stdout.strip()}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          f"({platform.machine()}, Python {platform.python_version()})")  # fmt: skip


if __name__ == "__main__":
    main()
