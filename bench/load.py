"""Benchmark: loading a long run (default 1,000,000 steps x 8 metrics) completely.

    uv run --frozen python bench/load.py                 # full size, tbparse/EA at 200k steps
    uv run --frozen python bench/load.py --steps 200000 --small-steps 50000
    uv run --frozen python bench/load.py --full-others   # tbparse/EA at full size too (minutes)

Cases (every tool must return every point; counts are checked):
  native       gananalyze's own format (Parquet parts), `load_run`, in a fresh
               subprocess (imports included) and in-process; median of --repeats
  tb-ours      our TensorBoard importer on the same data as one event file
  tbparse      tbparse.SummaryReader(path).scalars
  tb-EA        TensorBoard's EventAccumulator with size_guidance={"scalars": 0}
               (0 = keep every point, no reservoir sampling)
tbparse and EventAccumulator take minutes at 8M points, so by default they run
on a --small-steps event file and their full-size time is extrapolated
linearly (marked "extrapolated"); our importer runs on both files, so the
ratio at the small size is measured, not extrapolated.

Inputs are cached under --cache (default: $TMPDIR/gananalyze-bench) and reused.
  csv-ours     `load_run` on a --csv-rows x 4 CSV (step + 3 metrics), side by side with
  csv-pandas   pandas.read_csv(engine="pyarrow") and the default C engine on the same file
               (the pandas cases only parse; ours also merges steps and checks values)
    uv run --frozen python bench/load.py --only-csv      # just the CSV case

Targets: native < 1 s (2 cores) and >= 20x faster than tbparse; our
TensorBoard importer >= 10x faster than tbparse.
"""

from __future__ import annotations

import argparse
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TAGS = [f"metric_{i}" for i in range(8)]


def make_values(steps: int, n_tags: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((steps, n_tags)) * 0.1 + 1.0).astype(
        np.float32
    )  # float32: what TB stores


def write_native(path: Path, values: np.ndarray, tags: list[str], chunk: int = 10_000) -> float:
    """The native run, written part by part with store.write_part; returns seconds."""
    import pyarrow as pa

    from gananalyze.files import atomic
    from gananalyze.runio import parts, store

    t = time.perf_counter()
    path.mkdir(parents=True, exist_ok=True)
    atomic.atomic_write_json(
        path / store.RUN_JSON,
        {
            "format": "gananalyze-run",
            "version": store.FORMAT_VERSION,
            "name": path.name,
            "loss": "bce",
            "config": {},
            "generator": None,
        },
    )
    n = len(values)
    for k, a in enumerate(range(0, n, chunk)):
        b = min(n, a + chunk)
        cols = {
            "step": pa.array(np.arange(a, b, dtype=np.int64)),
            "epoch": pa.array(np.arange(a, b) // 10_000, type=pa.float64()),
            "wall_time": pa.array(1.7e9 + np.arange(a, b) * 0.01),
        }
        for j, tag in enumerate(tags):
            cols[tag] = pa.array(values[a:b, j].astype(np.float64))
        parts.write_part(path / store.SCALARS_DIR, pa.table(cols), k)
    return time.perf_counter() - t


def _varint(x: int) -> bytes:
    out = bytearray()
    while True:
        b = x & 0x7F
        x >>= 7
        if x:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def write_events(path: Path, values: np.ndarray, tags: list[str]) -> float:
    """One event file with one simple_value scalar per event, as SummaryWriter.add_scalar
    writes them (same bytes), built with numpy; returns seconds."""
    from gananalyze.importers.tensorboard import crc32c_rows, masked_crc

    t = time.perf_counter()
    assert len({len(x) for x in tags}) == 1, (
        "equal-length tags keep records of one step group the same size"
    )
    n, k = values.shape
    tl = len(tags[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        from tensorboard.compat.proto import event_pb2

        head = event_pb2.Event(wall_time=1.7e9, file_version="brain.Event:2").SerializeToString()
        hdr = struct.pack("<Q", len(head))

        def crc(b: bytes) -> bytes:
            return struct.pack(
                "<I", int(masked_crc(crc32c_rows(np.frombuffer(b, np.uint8)[None]))[0])
            )

        f.write(hdr + crc(hdr) + head + crc(head))
        bounds = [0, 1, 128, 16384, 2097152, 268435456]
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            a, b = min(lo, n), min(hi, n)
            if a >= b:
                continue
            vl = 0 if lo == 0 else len(_varint(lo))  # step 0 is not written (proto3 default)
            value_len = 2 + tl + 5
            summ_len = 2 + value_len
            L = 9 + (1 + vl if vl else 0) + 2 + summ_len
            for c0 in range(a, b, 100_000):
                c1 = min(b, c0 + 100_000)
                m = c1 - c0
                rec = np.zeros((m, k, 12 + L + 4), dtype=np.uint8)
                rec[:, :, 0:8] = np.frombuffer(struct.pack("<Q", L), np.uint8)
                rec[:, :, 8:12] = np.frombuffer(crc(struct.pack("<Q", L)), np.uint8)
                p = 12
                rec[:, :, p] = 0x09
                wall = (1.7e9 + np.arange(c0, c1) * 0.01).astype("<f8")
                rec[:, :, p + 1 : p + 9] = wall.view(np.uint8).reshape(m, 1, 8)
                p += 9
                if vl:
                    rec[:, :, p] = 0x10
                    s = np.arange(c0, c1, dtype=np.int64)
                    for j in range(vl):
                        byte = (s >> (7 * j)) & 0x7F
                        if j < vl - 1:
                            byte = byte | 0x80
                        rec[:, :, p + 1 + j] = byte.astype(np.uint8)[:, None]
                    p += 1 + vl
                rec[:, :, p : p + 2] = (0x2A, summ_len)
                rec[:, :, p + 2 : p + 4] = (0x0A, value_len)
                rec[:, :, p + 4 : p + 6] = (0x0A, tl)
                for j, tag in enumerate(tags):
                    rec[:, j, p + 6 : p + 6 + tl] = np.frombuffer(tag.encode(), np.uint8)
                q = p + 6 + tl
                rec[:, :, q] = 0x15
                rec[:, :, q + 1 : q + 5] = (
                    values[c0:c1].astype("<f4").view(np.uint8).reshape(m, k, 4)
                )
                flat = rec.reshape(m * k, -1)
                flat[:, 12 + L :] = (
                    masked_crc(crc32c_rows(flat[:, 12 : 12 + L]))
                    .astype("<u4")
                    .view(np.uint8)
                    .reshape(-1, 4)
                )
                f.write(flat.tobytes())
    return time.perf_counter() - t


def median_time(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def native_subprocess(path: Path, repeats: int) -> tuple[float, float, int]:
    code = (
        "import time,sys;from gananalyze.loader import load_run;t=time.perf_counter();"
        "r=load_run(sys.argv[1]);print(time.perf_counter()-t, "
        "sum(r.counts.values()))"
    )
    walls, inner, count = [], [], 0
    for _ in range(repeats):
        t = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code, str(path)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout.split()
        walls.append(time.perf_counter() - t)
        inner.append(float(out[0]))
        count = int(out[1])
    return statistics.median(walls), statistics.median(inner), count


def ensure_inputs(cache: Path, steps: int, tags: list[str]) -> dict[str, Path]:
    native = cache / f"native-{steps}"
    events = cache / f"tb-{steps}" / "events.out.tfevents.1700000000.bench.0"
    if not (native / "run.json").is_file() or not events.is_file():
        values = make_values(steps, len(tags))
        if not (native / "run.json").is_file():
            import shutil

            shutil.rmtree(native, ignore_errors=True)
            print(
                f"  writing native run ({steps:,} steps) ... "
                f"{write_native(native, values, tags):.1f} s",
                flush=True,
            )
        if not events.is_file():
            print(
                f"  writing event file ({steps * len(tags):,} events) ... "
                f"{write_events(events, values, tags):.1f} s",
                flush=True,
            )
    return {"native": native, "events": events.parent}


def bench_runlog(steps: int, tags: list[str]) -> float:
    """Seconds to log `steps` steps with RunLog (flushing included)."""
    from gananalyze import RunLog

    values = make_values(steps, len(tags)).astype(float)
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        with RunLog(Path(d) / "r", flush_rows=10_000) as log:
            for i in range(steps):
                row = values[i]
                log.scalars(i, **{tag: row[j] for j, tag in enumerate(tags)})
        return time.perf_counter() - t


def ensure_csv(cache: Path, rows: int) -> Path:
    """A `rows` x 4 CSV (step, G_loss, D_loss, D_x) written with pyarrow; cached."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    path = cache / f"table-{rows}.csv"
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        v = make_values(rows, 3).astype(np.float64)
        t = pa.table({"step": np.arange(rows, dtype=np.int64), "G_loss": v[:, 0],
                      "D_loss": v[:, 1], "D_x": v[:, 2]})
        pcsv.write_csv(t, path.with_suffix(".tmp"),
                       pcsv.WriteOptions(quoting_style="none"))
        path.with_suffix(".tmp").rename(path)
        print(f"  wrote {path} ({path.stat().st_size / 1e6:.0f} MB)", flush=True)
    return path


def bench_csv(cache: Path, rows: int, repeats: int) -> None:
    """Median seconds of our loader vs pandas on the same CSV, printed side by side."""
    import pandas as pd

    from gananalyze.loader import load_run

    path = ensure_csv(cache, rows)
    cases = [
        ("gananalyze load_run (csv importer)", lambda: sum(load_run(path).counts.values())),
        ('pandas.read_csv(engine="pyarrow")',
         lambda: int(pd.read_csv(path, engine="pyarrow").iloc[:, 1:].notna().sum().sum())),
        ("pandas.read_csv (C engine)",
         lambda: int(pd.read_csv(path).iloc[:, 1:].notna().sum().sum())),
    ]
    print(f"\nCSV: {rows:,} rows x 4 columns, median of {repeats}; cpus={os.cpu_count()}")
    print(f"{'case':<40} {'seconds':>9} {'values':>12}")
    times: dict[str, list[float]] = {name: [] for name, _ in cases}
    counts: dict[str, int] = {}
    for _ in range(repeats):  # interleaved, so that load from other processes hits all alike
        for name, fn in cases:
            t = time.perf_counter()
            counts[name] = fn()
            times[name].append(time.perf_counter() - t)
    res = {name: statistics.median(ts) for name, ts in times.items()}
    for name, _ in cases:
        print(f"{name:<40} {res[name]:>9.3f} {counts[name]:>12,}", flush=True)
    ours, pa_t = res[cases[0][0]], res[cases[1][0]]
    print(f"ours / pandas-pyarrow = {ours / pa_t:.2f} (target <= 1); ours < 5 s: {ours < 5}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument(
        "--small-steps",
        type=int,
        default=200_000,
        help="size for tbparse / EventAccumulator (and ours, for a measured ratio)",
    )
    ap.add_argument(
        "--full-others",
        action="store_true",
        help="run tbparse and EventAccumulator at full size too",
    )
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument(
        "--runlog-steps",
        type=int,
        default=100_000,
        help="steps logged with RunLog for the write timing (0 to skip)",
    )
    ap.add_argument("--skip-others", action="store_true", help="skip tbparse and EventAccumulator")
    ap.add_argument(
        "--cache",
        type=Path,
        default=Path(os.environ.get("TMPDIR", tempfile.gettempdir())) / "gananalyze-bench",
    )
    ap.add_argument("--csv-rows", type=int, default=5_000_000,
                    help="rows of the CSV case (0 to skip)")
    ap.add_argument("--only-csv", action="store_true", help="run only the CSV case")
    args = ap.parse_args()
    if args.only_csv:
        bench_csv(args.cache, args.csv_rows, args.repeats)
        return

    from gananalyze.importers import tensorboard as tb
    from gananalyze.loader import load_run

    n_full = args.steps * len(TAGS)
    print(
        f"gananalyze load benchmark: {args.steps:,} steps x "
        f"{len(TAGS)} metrics = {n_full:,} points; cpus="
        f"{os.cpu_count()}"
    )
    full = ensure_inputs(args.cache, args.steps, TAGS)
    small_n = min(args.small_steps, args.steps)
    small = ensure_inputs(args.cache, small_n, TAGS) if small_n != args.steps else full
    rows: list[tuple[str, int, float, str, int]] = []  # name, steps, seconds, note, points

    wall, inner, cnt = native_subprocess(full["native"], args.repeats)
    rows.append(
        (
            "native load_run (fresh process, incl. imports)",
            args.steps,
            wall,
            f"median of {args.repeats}",
            cnt,
        )
    )
    rows.append(
        (
            "native load_run (fresh process, load only)",
            args.steps,
            inner,
            f"median of {args.repeats}",
            cnt,
        )
    )
    t, r = median_time(lambda: load_run(full["native"]), args.repeats)
    rows.append(
        (
            "native load_run (in-process)",
            args.steps,
            t,
            f"median of {args.repeats}",
            sum(r.counts.values()),
        )
    )
    reps = max(1, min(3, args.repeats))
    t, r = median_time(lambda: tb.load(full["events"]), reps)
    rows.append(
        (
            "TensorBoard: gananalyze importer",
            args.steps,
            t,
            f"median of {reps}",
            sum(r.counts.values()),
        )
    )
    t_ours_small = None
    if small is not full:
        t_ours_small, r = median_time(lambda: tb.load(small["events"]), reps)
        rows.append(
            (
                "TensorBoard: gananalyze importer",
                small_n,
                t_ours_small,
                f"median of {reps}",
                sum(r.counts.values()),
            )
        )

    others: dict[str, tuple[float, int]] = {}
    if not args.skip_others:
        where, n_o = (full, args.steps) if args.full_others else (small, small_n)

        def tbparse_run():
            from tbparse import SummaryReader

            return len(SummaryReader(str(where["events"])).scalars)

        def ea_run():
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

            ea = EventAccumulator(str(where["events"]), size_guidance={"scalars": 0})
            ea.Reload()
            return sum(len(ea.Scalars(t)) for t in ea.Tags()["scalars"])

        for name, fn in (
            ("tbparse SummaryReader(...).scalars", tbparse_run),
            ("EventAccumulator(size_guidance scalars=0)", ea_run),
        ):
            print(f"  running {name} on {n_o:,} steps ...", flush=True)
            t, cnt = median_time(fn, 1)
            rows.append((f"TensorBoard: {name}", n_o, t, "1 run", cnt))
            others[name] = (t, n_o)
            if n_o != args.steps:
                rows.append(
                    (
                        f"TensorBoard: {name}",
                        args.steps,
                        t * args.steps / n_o,
                        "EXTRAPOLATED linearly",
                        -1,
                    )
                )

    print()
    print(f"{'case':<58} {'steps':>10} {'seconds':>9} {'points':>11} {'all?':>5}  note")
    for name, steps, secs, note, cnt in rows:
        ok = "-" if cnt < 0 else ("yes" if cnt == steps * len(TAGS) else "NO")
        print(
            f"{name:<58} {steps:>10,} {secs:>9.3f} {(cnt if cnt >= 0 else float('nan')):>11,.0f} "
            f"{ok:>5}  {note}"
        )

    native_t = next(
        s
        for n, st, s, _, _ in rows
        if n.startswith("native load_run (fresh process, incl") and st == args.steps
    )
    ours_full = next(
        s for n, st, s, _, _ in rows if n.startswith("TensorBoard: gananalyze") and st == args.steps
    )
    print()
    for name, (t_o, n_o) in others.items():
        ours_same = ours_full if n_o == args.steps else t_ours_small
        full_o = t_o * args.steps / n_o
        label = "" if n_o == args.steps else " (tool extrapolated to full size)"
        print(
            f"{name}: our TB importer is {t_o / ours_same:.1f}x faster at "
            f"{n_o:,} steps (measured); native load is "
            f"{full_o / native_t:.1f}x faster at {args.steps:,} steps"
            f"{label}"
        )
    print(
        f"targets: native < 1 s -> {native_t:.2f} s; TB importer >= 10x "
        "tbparse; native >= 20x tbparse"
    )
    if args.csv_rows:
        bench_csv(args.cache, args.csv_rows, args.repeats)
    if args.runlog_steps:
        t = bench_runlog(args.runlog_steps, TAGS)
        print(
            f"writing with RunLog: {args.runlog_steps:,} steps x "
            f"{len(TAGS)} metrics in {t:.2f} s ({t / args.runlog_steps * 1e6:.1f} "
            "us per step, flushing included); see bench/logging_cost.py"
        )


if __name__ == "__main__":
    main()
