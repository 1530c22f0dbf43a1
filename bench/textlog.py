"""Benchmark: reading a long free-text training log against pandas reading the same values as CSV.

    uv run --frozen python bench/textlog.py                    # 1,000,000 lines, 500-line preamble
    uv run --frozen python bench/textlog.py --lines 200000 --repeats 3

The log is what research GAN libraries print: a preamble (the network printed line by
line, then the config as `key: value`), then one line per report,
    [2024-01-01 12:00:07] Step: 70 Progress: 0.01% Gen_loss: 0.84442 Dis_loss: 0.75795
with an evaluation line `FID score (Step: N, Using train moments): x` every 2,000 lines.

Cases, each a fresh subprocess timed from start to end (imports included), median of
--repeats, wall time and the child's CPU time (user + system: less sensitive to a
machine shared with other jobs); every case's values are checked against the generator's
(same count, same sums):
  ours     `load_run(log)`: detect the format, read every line, build the Run
  pandas   `pandas.read_csv(csv, engine="pyarrow")` on the same values written as a CSV
           (step, progress, Gen_loss, Dis_loss): what the user would run had the trainer
           written a table
Target: ours < 3 s on 2 cores for 1,000,000 lines.

Where PYTHONDONTWRITEBYTECODE is set, both cases compile every import on each start
(about 2 s of CPU for pandas alone on a 2-core machine); `--cached-imports` gives the
children a bytecode cache under --cache (one untimed warm-up run per case), as an
installed package has.
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

OURS = """
import json, sys
import numpy as np
from gananalyze.loader import load_run
r = load_run(sys.argv[1])
print(json.dumps({"rows": int(len(r.scalars)),
                  "g": float(np.nansum(r.scalars["Gen_loss"])),
                  "fid": int(r.scalars["FID_score (Using train moments)"].notna().sum())}))
"""

PANDAS = """
import json, sys
import pandas as pd
df = pd.read_csv(sys.argv[1], engine="pyarrow")
print(json.dumps({"rows": int(len(df)), "g": float(df["Gen_loss"].sum()), "fid": 0}))
"""


def make(folder: Path, lines: int, preamble: int, seed: int = 0) -> tuple[Path, Path, dict]:
    """The log, the same values as CSV, and what both must give back."""
    log, csv = folder / f"train-{lines}.log", folder / f"train-{lines}.csv"
    rng = np.random.default_rng(seed)
    g = np.round(rng.random(lines), 5)
    d = np.round(rng.random(lines), 5)
    if not log.exists() or not csv.exists():
        with open(log, "w") as f:
            net = preamble * 4 // 5
            f.write("Generator(\n")
            for i in range(net - 2):
                f.write(f"  (conv{i}): Conv2d(64, 128, kernel_size=(4, 4), stride=(2, 2))\n")
            f.write(")\n")
            for i in range(preamble - net):
                f.write(f"option_{i}: {i * 0.5}\n")
            for i in range(lines):
                f.write(
                    f"[2024-01-01 12:{i // 60 % 60:02d}:{i % 60:02d}] Step: {i * 10} "
                    f"Progress: {i / lines * 100:.2f}% Gen_loss: {g[i]:.5f} Dis_loss: {d[i]:.5f}\n"
                )
                if i % 2000 == 1999:
                    f.write(f"FID score (Step: {i * 10}, Using train moments): {40 - i / lines}\n")
        with open(csv, "w") as f:
            f.write("step,progress,Gen_loss,Dis_loss\n")
            for i in range(lines):
                f.write(f"{i * 10},{i / lines * 100:.2f},{g[i]:.5f},{d[i]:.5f}\n")
    return log, csv, {"rows": lines, "g": float(g.sum()), "fid": lines // 2000}


def _child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_case(code: str, path: Path, env: dict) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds of the child, its answer)."""
    c0, t = _child_cpu(), time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env
    )
    dt, cpu = time.perf_counter() - t, _child_cpu() - c0
    if out.returncode:
        raise SystemExit(out.stderr)
    return dt, cpu, json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--preamble", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "gananalyze-bench")
    ap.add_argument(
        "--cached-imports", action="store_true", help="let the children cache their bytecode"
    )
    a = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if a.cached_imports:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(a.cache / "pycache")
    compiled = "cached" if "PYTHONDONTWRITEBYTECODE" not in env else "compiled on every start"
    a.cache.mkdir(parents=True, exist_ok=True)
    log, csv, want = make(a.cache, a.lines, a.preamble)
    print(
        f"{a.lines:,} lines + {a.preamble} preamble lines ({log.stat().st_size / 1e6:.0f} MB); "
        f"CSV {csv.stat().st_size / 1e6:.0f} MB; {os.cpu_count()} CPUs; median of {a.repeats}; "
        f"imports {compiled}; load average {os.getloadavg()[0]:.1f}"
    )
    for name, code, path in (("ours", OURS, log), ("pandas", PANDAS, csv)):
        times, cpus = [], []
        if a.cached_imports:
            run_case(code, path, env)  # warm-up: writes the bytecode cache
        for _ in range(a.repeats):
            dt, cpu, got = run_case(code, path, env)
            if got["rows"] < want["rows"] or abs(got["g"] - want["g"]) > 1e-3 * want["rows"]:
                raise SystemExit(f"{name}: wrong values {got} (want {want})")
            if name == "ours" and got["fid"] != want["fid"]:
                raise SystemExit(f"{name}: {got['fid']} FID values (want {want['fid']})")
            times.append(dt)
            cpus.append(cpu)
        med = statistics.median(times)
        target = "  (target < 3 s)" if name == "ours" else ""
        print(
            f"{name:<7} median {med:6.2f} s wall (min {min(times):.2f}, max {max(times):.2f}), "
            f"{statistics.median(cpus):.2f} s CPU{target}; load average {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
