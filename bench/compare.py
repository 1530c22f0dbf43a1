"""Benchmark: `gananalyze compare` on 20 runs x 200,000 steps x 8 metrics, end to end.

Generates the runs once into a cache directory (native format, written with
gananalyze.runio.parts.write_part: 4 Parquet parts of 50,000 rows per run, FID every
10,000 steps, one sample grid), then times the real command in a subprocess:

    gananalyze compare RUN_DIR/run-* -o out.html

and prints the median of several repetitions. Target: under 15 s on 2 cores.

`--case sweep`: 1,000 runs x 5,000 steps x 4 metrics (G/D loss, D(x), D(G(z))), an
lr x seed sweep with FID every 500 steps, the sweep page written (issue 17's case;
target under 30 s on 2 cores, rule checks included). Also prints the peak memory of
the command (its own and its workers', from getrusage).

    uv run --frozen python bench/compare.py [--repeat 3] [--cache DIR] [--group-by lr]
    uv run --frozen python bench/compare.py --case sweep [--baseline OTHER/.venv/bin/python]
    uv run --frozen python bench/compare.py --scale 1000 2500 5000 10000

`--baseline`: the sweep case side by side with another installation (today's main), timed
alternately in the same run. `--scale`: wall, CPU and the whole command's
peak memory (its process tree, sampled) at growing run counts, medians of `--repeat`, and the
line through them (the sweep's runs hard-linked into more run directories):

    uv run --frozen python bench/compare.py --scale 1000 3000 10000 --scale-steps 500 --repeat 1
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

RUNS = 20
STEPS = 200_000
PART_ROWS = 50_000
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
LRS = (1e-4, 2e-4, 5e-4, 1e-3)
VERSION = 1


def _default_cache() -> Path:
    return (
        Path(
            os.environ.get(
                "GANANALYZE_BENCH_CACHE", Path(tempfile.gettempdir()) / "gananalyze-bench"
            )
        )
        / f"compare-{RUNS}x{STEPS}-v{VERSION}"
    )


def _grid_png(rng: np.random.Generator) -> bytes:
    from PIL import Image

    img = (rng.random((8 * 30 + 2, 8 * 30 + 2, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def write_run(path: Path, i: int) -> None:
    """One synthetic native run: healthy-ish curves whose quality depends on lr, plus noise."""
    from gananalyze.files import atomic
    from gananalyze.runio import parts, store

    rng = np.random.default_rng(i)
    lr = LRS[i % len(LRS)]
    seed = i // len(LRS)
    steps = np.arange(STEPS, dtype=np.int64)
    t = steps / STEPS
    gap = 0.05 + 0.4 * (lr / max(LRS)) * t  # larger lr: D pulls ahead over time
    d_x = np.clip(0.5 + gap + rng.normal(0, 0.05, STEPS), 1e-4, 1 - 1e-4)
    d_gz = np.clip(0.5 - gap + rng.normal(0, 0.05, STEPS), 1e-4, 1 - 1e-4)
    d_gz_after = np.clip(d_gz + rng.normal(0, 0.02, STEPS), 1e-4, 1 - 1e-4)
    cols = {
        "G_loss": -np.log(d_gz_after),
        "D_loss": -np.log(d_x) - np.log(1 - d_gz),
        "D_x": d_x,
        "D_G_z_before": d_gz,
        "D_G_z_after": d_gz_after,
        "D_acc": np.clip(0.5 + gap + rng.normal(0, 0.03, STEPS), 0, 1),
        "G_grad_norm": np.exp(rng.normal(0, 0.3, STEPS)) * (1 - 0.5 * t),
        "D_grad_norm": np.exp(rng.normal(0, 0.3, STEPS)) * (1 + t),
    }
    wall = 1.7e9 + steps * 0.05 * (1 + 0.1 * rng.random())
    epoch = steps // 1000
    atomic.atomic_write_json(
        path / store.RUN_JSON,
        {
            "format": "gananalyze-run",
            "version": store.FORMAT_VERSION,
            "name": path.name,
            "loss": "bce",
            "config": {"lr": lr, "seed": seed, "batch_size": 64, "model": {"nz": 100, "ngf": 64}},
            "generator": None,
        },
    )
    for k, lo in enumerate(range(0, STEPS, PART_ROWS)):
        sl = slice(lo, lo + PART_ROWS)
        table = pa.table(
            {
                "step": steps[sl],
                "epoch": epoch[sl].astype(np.float64),
                "wall_time": wall[sl],
                **{m: cols[m][sl] for m in METRICS},
            }
        )
        parts.write_part(path / store.SCALARS_DIR, table, k)
    fid_steps = np.arange(10_000, STEPS + 1, 10_000)
    fid = (
        30
        + 200 * np.exp(-fid_steps / 40_000)
        + 40 * (lr / max(LRS)) * (fid_steps / STEPS) ** 2
        + rng.normal(0, 1.5, len(fid_steps))
    )
    store.append_sample_metrics(
        path, pd.DataFrame({"step": fid_steps, "features": "inception", "fid": fid})
    )
    samples = path / store.SAMPLES_DIR
    samples.mkdir(parents=True, exist_ok=True)
    atomic.atomic_write_bytes(samples / f"step-{STEPS - 1:09d}.png", _grid_png(rng))
    atomic.atomic_write_bytes(
        samples / store.SAMPLES_INDEX,
        (
            json.dumps(
                {
                    "file": f"step-{STEPS - 1:09d}.png",
                    "step": STEPS - 1,
                    "nrow": 8,
                    "ncol": 8,
                    "tile": [28, 28],
                    "padding": 2,
                    "count": 64,
                }
            )
            + "\n"
        ).encode(),
    )


def ensure_runs(cache: Path) -> list[Path]:
    """The benchmark runs, generated on first use (a `.complete`
    marker guards half-written caches).
    """
    paths = [cache / f"run-{i:02d}" for i in range(RUNS)]
    if (cache / ".complete").is_file():
        return paths
    import shutil

    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    t0 = time.perf_counter()
    for i, p in enumerate(paths):
        write_run(p, i)
    (cache / ".complete").write_text("ok\n")
    print(
        f"generated {RUNS} runs x {STEPS:,} steps x "
        f"{len(METRICS)} metrics in {time.perf_counter() - t0:.1f} s into "
        f"{cache}"
    )
    return paths


SWEEP_RUNS, SWEEP_STEPS = 1000, 5000
SWEEP_METRICS = ("G_loss", "D_loss", "D_x", "D_G_z_before")
SWEEP_LRS = (5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2)


def write_sweep_run(path: Path, i: int, n: int = SWEEP_STEPS) -> None:
    """One sweep run of `n` steps: lr from SWEEP_LRS, seed i // 8; lr >= 2e-3 lets D pull
    ahead; FID at 10 evenly spaced steps."""
    from gananalyze.files import atomic
    from gananalyze.runio import parts, store

    rng = np.random.default_rng(i)
    lr = SWEEP_LRS[i % len(SWEEP_LRS)]
    steps = np.arange(n, dtype=np.int64)
    t = steps / n
    gap = 0.05 + (0.44 if lr >= 2e-3 else 0.0) * np.minimum(1, 3 * t)
    d_x = np.clip(0.5 + gap + rng.normal(0, 0.03, n), 1e-4, 1 - 1e-4)
    d_gz = np.clip(0.5 - gap + rng.normal(0, 0.03, n), 1e-4, 1 - 1e-4)
    atomic.atomic_write_json(
        path / store.RUN_JSON,
        {
            "format": "gananalyze-run",
            "version": store.FORMAT_VERSION,
            "name": path.name,
            "loss": "bce",
            "config": {"lr": lr, "seed": i // len(SWEEP_LRS)},
            "generator": None,
        },
    )
    cols = {
        "G_loss": -np.log(d_gz),
        "D_loss": -np.log(d_x) - np.log(1 - d_gz),
        "D_x": d_x,
        "D_G_z_before": d_gz,
    }
    parts.write_part(
        path / store.SCALARS_DIR, pa.table({"step": steps, **cols}), 0
    )
    fs = np.arange(n // 10, n + 1, n // 10)
    fid = (
        25
        + 40 * abs(np.log10(lr / 2e-4))
        + 150 * np.exp(-fs / (0.24 * n))
        + rng.normal(0, 2, len(fs))
    )
    store.append_sample_metrics(
        path, pd.DataFrame({"step": fs, "features": "inception", "fid": fid})
    )


def ensure_sweep(cache: Path, steps: int = SWEEP_STEPS) -> Path:
    if (cache / ".complete").is_file():
        return cache
    import shutil

    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    t0 = time.perf_counter()
    for i in range(SWEEP_RUNS):
        write_sweep_run(cache / f"run-{i:04d}", i, steps)
    (cache / ".complete").write_text("ok\n")
    dt = time.perf_counter() - t0
    print(f"generated {SWEEP_RUNS} runs x {steps:,} steps in {dt:.1f} s")
    return cache


# Commands run from here: `python -m gananalyze` puts the working directory first on sys.path,
# so run from a checkout it would import that checkout's package, not the one timed.
NEUTRAL_CWD = tempfile.gettempdir()
LAST_CPU: list[float] = [0.0]  # CPU seconds (user + system) of the last `_timed` command


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB of the command and its workers) of one run; its CPU seconds,
    workers included, in LAST_CPU[0]."""
    import resource

    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=NEUTRAL_CWD)
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"compare failed (exit {res.returncode}):\n{res.stderr[-3000:]}")
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[0] = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    return dt, max(r1.ru_maxrss, r0.ru_maxrss) / 1024


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (from /proc's children lists)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def _mem_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KB (PSS shares pages the processes have in common)."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def _whole_command(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run `cmd` and measure it as a whole: wall seconds, CPU seconds (user + system, its
    workers included), the largest single process's peak RSS (getrusage of the child, as
    /usr/bin/time reports it), and the whole process tree's peak, sampled every 0.2 s, as
    summed RSS (counts shared pages once per process: an upper bound) and summed PSS (shared
    pages split between the processes: the memory the command takes from the machine)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=NEUTRAL_CWD, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    err: list[bytes] = []
    import threading

    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
    reader.start()
    peak_rss = peak_pss = 0
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        mem = [_mem_kb(p) for p in _tree(proc.pid)]
        peak_rss = max(peak_rss, sum(m[0] for m in mem))
        peak_pss = max(peak_pss, sum(m[1] for m in mem))
        time.sleep(0.2)
    dt = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    if proc.returncode:
        sys.exit(f"compare failed (exit {proc.returncode}):\n{b''.join(err).decode()[-3000:]}")
    return {
        "wall": dt,
        "cpu": ru.ru_utime + ru.ru_stime,
        "largest_mb": ru.ru_maxrss / 1024,
        "tree_rss_mb": peak_rss / 1024,
        "tree_pss_mb": peak_pss / 1024,
    }


def _slope(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares line y = a + b x: (a, b)."""
    b, a = np.polyfit(np.asarray(xs, float), np.asarray(ys, float), 1)
    return float(a), float(b)


def main_scale(args: argparse.Namespace) -> None:
    """Wall, CPU and whole-command peak memory of compare (sweep page) at growing run counts:
    the sweep's runs hard-linked into distinct run directories (c0-run-0000, c1-run-0000, ...),
    each count `--repeat` times (medians); then the line fitted through the medians."""
    steps = args.scale_steps
    cache = args.cache or (_default_cache().parent / f"sweep-{SWEEP_RUNS}x{steps}-v{VERSION}")
    ensure_sweep(cache, steps)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    rows = []
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; runs of {steps:,} steps x {len(SWEEP_METRICS)} metrics "
          f"(the {SWEEP_RUNS} generated runs hard-linked into more run directories); medians "
          f"of {args.repeat}; load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    for n in args.scale:
        root = cache.parent / f"scale-{n}x{steps}"
        if not (root / ".complete").is_file():
            import shutil

            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            for i in range(n):
                src = cache / f"run-{i % SWEEP_RUNS:04d}"
                shutil.copytree(src, root / f"c{i // SWEEP_RUNS}-{src.name}", copy_function=os.link)
            (root / ".complete").write_text("ok\n")
        out = args.out.with_name(f"gananalyze-bench-scale-{n}.html")
        cmd = [sys.executable, "-m", "gananalyze", "compare", str(root / "c*"), "-o", str(out)]
        got, loads = [], [os.getloadavg()[0]]
        for _ in range(args.repeat):
            got.append(_whole_command(cmd, env))
            loads.append(os.getloadavg()[0])
        m = {k: statistics.median(g[k] for g in got) for k in got[0]}
        rows.append((n, m))
        print(f"{n:>6} runs: {m['wall']:7.1f} s wall ({1000 * m['wall'] / n:.1f} ms/run), "
              f"{m['cpu']:.1f} s CPU ({1000 * m['cpu'] / n:.1f} ms/run); peak memory: whole "
              f"command {m['tree_pss_mb']:.0f} MB PSS ({m['tree_rss_mb']:.0f} MB summed RSS), "
              f"largest process {m['largest_mb']:.0f} MB (target < 1024 MB); page "
              f"{out.stat().st_size / 1e6:.2f} MB; load {min(loads):.1f}-{max(loads):.1f}",
              flush=True)  # fmt: skip
    if len(rows) < 2:
        return
    ns = [r[0] for r in rows]
    for what in ("wall", "cpu"):
        ys = [r[1][what] for r in rows]
        a, b = _slope(ns, ys)
        steps_ms = ", ".join(
            f"{ns[k - 1]}->{ns[k]}: {1000 * (ys[k] - ys[k - 1]) / (ns[k] - ns[k - 1]):.1f}"
            for k in range(1, len(ns))
        )
        print(f"{what}: {a:.1f} s + {1000 * b:.2f} ms x runs (least squares over {len(ns)} "
              f"counts); ms per added run between counts {steps_ms} (linear time: about "
              f"equal)")  # fmt: skip
    a, b = _slope(ns, [r[1]["tree_pss_mb"] for r in rows])
    print(f"whole-command peak memory: {a:.0f} MB + {1000 * b:.1f} KB x runs")


def main_sweep(args: argparse.Namespace) -> None:
    cache = args.cache or (
        _default_cache().parent / f"sweep-{SWEEP_RUNS}x{SWEEP_STEPS}-v{VERSION}"
    )
    ensure_sweep(cache)
    out = args.out.with_name("gananalyze-bench-sweep.html")
    cmd = [sys.executable, "-m", "gananalyze", "compare", str(cache / "run-*"), "-o", str(out)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if args.warmup:
        _timed(cmd, env)  # warm-up: bytecode and OS file cache
    if args.baseline:  # another installation (e.g. the previous release), timed alternately
        base = [args.baseline, "-m", "gananalyze", *cmd[3:]]
        if args.warmup:
            _timed(base, env)
        bt, mt, bc, mc, loads = [], [], [], [], [os.getloadavg()[0]]
        for k in range(args.repeat):
            bt.append(_timed(base, env)[0])
            bc.append(LAST_CPU[0])
            mt.append(_timed(cmd, env)[0])
            mc.append(LAST_CPU[0])
            loads.append(os.getloadavg()[0])
            print(f"run {k + 1}/{args.repeat}: baseline {bt[-1]:.2f} s ({bc[-1]:.1f} s CPU), "
                  f"this {mt[-1]:.2f} s ({mc[-1]:.1f} s CPU); load {loads[-1]:.1f}",
                  flush=True)  # fmt: skip
        b, m = statistics.median(bt), statistics.median(mt)
        cb, cm = statistics.median(bc), statistics.median(mc)
        print(f"compare {SWEEP_RUNS} runs x {SWEEP_STEPS:,} steps x {len(SWEEP_METRICS)} metrics: "
              f"baseline {args.baseline} median {b:.2f} s, this {m:.2f} s ({m / b:.2f}x; "
              f"target <= 0.5x); CPU seconds (user + system, workers included) baseline "
              f"{cb:.1f}, this {cm:.1f} ({cm / cb:.2f}x); load average "
              f"{min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores "
              f"({platform.machine()}, Python {platform.python_version()})")  # fmt: skip
        return
    times = []
    for k in range(args.repeat):
        dt, peak = _timed(cmd, env)
        times.append(dt)
        print(f"run {k + 1}/{args.repeat}: {dt:.2f} s, peak RSS so far {peak:.0f} MB")
    print(
        f"compare {SWEEP_RUNS} runs x {SWEEP_STEPS:,} steps x {len(SWEEP_METRICS)} metrics "
        f"(sweep page): median {statistics.median(times):.2f} s (min {min(times):.2f}, "
        f"max {max(times):.2f}; target < 30 s on 2 cores; {os.cpu_count()} cores "
        f"{platform.machine()}, load {os.getloadavg()[0]:.1f}); largest process peak "
        f"{peak:.0f} MB; HTML {out.stat().st_size / 1e6:.2f} MB at {out}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--case", choices=["runs", "sweep"], default="runs")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--group-by", default=None, help="also pass --group-by (e.g. lr)")
    ap.add_argument("--baseline", default=None, metavar="PYTHON",
                    help="--case sweep: also time this Python's gananalyze (e.g. a checkout of "
                    "the previous release: PATH/.venv/bin/python), alternately")  # fmt: skip
    ap.add_argument("--scale", type=int, nargs="+", default=None, metavar="N",
                    help="time and peak memory of compare at these run counts (e.g. 1000 "
                    "2500 5000 10000)")  # fmt: skip
    ap.add_argument("--no-warmup", dest="warmup", action="store_false",
                    help="--case sweep: no untimed first runs (caches already warm)")  # fmt: skip
    ap.add_argument("--scale-steps", type=int, default=SWEEP_STEPS, metavar="STEPS",
                    help="--scale: steps per run (fewer keep 10,000 runs short)")  # fmt: skip
    ap.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "gananalyze-bench-compare.html"
    )
    args = ap.parse_args()
    if args.scale:
        main_scale(args)
        return
    if args.case == "sweep":
        main_sweep(args)
        return
    cache = args.cache or _default_cache()
    ensure_runs(cache)
    cmd = [sys.executable, "-m", "gananalyze", "compare", str(cache / "run-*"), "-o", str(args.out)]
    if args.group_by:
        cmd += ["--group-by", args.group_by]
    # As on a normal install, Python may cache bytecode (PYTHONDONTWRITEBYTECODE
    # would make every run recompile scipy & co.); one untimed warm-up run fills
    # that cache and the OS file cache.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    warm = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=NEUTRAL_CWD)
    if warm.returncode != 0:
        sys.exit(f"compare failed (exit {warm.returncode}):\n{warm.stderr[-3000:]}")
    times = []
    for k in range(args.repeat):
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=NEUTRAL_CWD)
        dt = time.perf_counter() - t0
        if res.returncode != 0:
            sys.exit(f"compare failed (exit {res.returncode}):\n{res.stderr[-3000:]}")
        times.append(dt)
        print(f"run {k + 1}/{args.repeat}: {dt:.2f} s")
    size = args.out.stat().st_size
    print(
        f"compare {RUNS} runs x {STEPS:,} steps x "
        f"{len(METRICS)} metrics{' --group-by ' + args.group_by if args.group_by else ''}: "
        f"median {statistics.median(times):.2f} s (min "
        f"{min(times):.2f}, max {max(times):.2f}; target < 15 s on 2 cores); "
        f"HTML {size / 1e6:.2f} MB at {args.out}"
    )


if __name__ == "__main__":
    main()
