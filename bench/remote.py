"""Benchmark: runs on object storage against the same runs read locally, on a local S3 server.

Starts moto's S3 server on 127.0.0.1 (as the tests do), uploads

- one native run of 2,000 steps with 500 MB of checkpoint files (5 x 100 MB), and
- a sweep of 100 small native runs (2,000 steps x 4 metrics, FID every 200 steps),

then times the real commands in subprocesses, alternating local and remote:

    gananalyze check RUN            vs  gananalyze --debug check s3://bench/ck/RUN
    gananalyze compare 'SWEEP/*'    vs  gananalyze compare 's3://bench/sweep/*'

and prints medians, the bytes each remote command fetched (from `--debug`) and the targets
(check: under 10 MB moved and at most 1.5x local; compare of 100 runs: at most 2x local).

`--baseline PYTHON` also times the same remote commands with another installation (e.g. a
checkout of the previous release with its own virtual environment: PATH/.venv/bin/python),
with the bytes it fetched (the prefix's total for one that copies every object).

    uv run --frozen python bench/remote.py [--repeat 5] [--baseline /path/to/main/.venv/bin/python]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

CKPT_MB, CKPTS = 100, 5


def write_run(path: Path, i: int, steps: int = 2000, fid_every: int = 200) -> None:
    from gananalyze.files import atomic
    from gananalyze.runio import store

    rng = np.random.default_rng(i)
    s = np.arange(steps, dtype=np.int64)
    d_x = np.clip(0.6 + rng.normal(0, 0.03, steps), 1e-4, 1 - 1e-4)
    d_gz = np.clip(0.4 + rng.normal(0, 0.03, steps), 1e-4, 1 - 1e-4)
    atomic.atomic_write_json(
        path / store.RUN_JSON,
        {
            "format": "gananalyze-run",
            "version": store.FORMAT_VERSION,
            "name": path.name,
            "loss": "bce",
            "config": {"lr": [1e-4, 2e-4, 5e-4, 1e-3][i % 4], "seed": i // 4},
            "generator": None,
        },
    )
    cols = {"G_loss": -np.log(d_gz), "D_loss": -np.log(d_x) - np.log(1 - d_gz), "D_x": d_x,
            "D_G_z_before": d_gz}  # fmt: skip
    store.write_part(path / store.SCALARS_DIR, pa.table({"step": s, **cols}), 0)
    fs = np.arange(fid_every, steps + 1, fid_every)
    store.append_sample_metrics(
        path,
        pd.DataFrame(
            {"step": fs, "features": "inception", "fid": 30 + 100 * np.exp(-fs / 600) + i % 7}
        ),
    )


def upload(s3, bucket: str, local: Path, prefix: str) -> int:
    total = 0
    for f in sorted(local.rglob("*")):
        if f.is_file():
            s3.upload_file(str(f), bucket, f"{prefix}/{f.relative_to(local).as_posix()}")
            total += f.stat().st_size
    return total


LAST_CPU: list[float] = [0.0]  # CPU seconds (user + system, workers included) of the last command


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int | None]:
    # outside any checkout: `python -m` puts the working directory first on sys.path
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[0] = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    if p.returncode not in (0, 1):  # check exits 1 on an error finding
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    m = re.search(r"fetched from object storage: (\d+) bytes", p.stderr)
    return dt, int(m.group(1)) if m else None


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--runs", type=int, default=100, help="runs in the compare case")
    ap.add_argument("--baseline", default=None, metavar="PYTHON")
    ap.add_argument("--case", choices=["check", "compare", "both"], default="both",
                    help="which case to time (check uploads 500 MB of checkpoints)")  # fmt: skip
    args = ap.parse_args()

    import logging

    import boto3
    from moto.server import ThreadedMotoServer
    from s3server import _free_port

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the server's line per request
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
               AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint,
               NO_PROXY="127.0.0.1,localhost")  # fmt: skip
    os.environ.update(env)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="bench")
    tmp = Path(tempfile.mkdtemp(prefix="gananalyze-bench-remote-"))
    try:
        ck = tmp / "ck" / "run"
        ck_total = sw_total = 0
        if args.case != "compare":
            write_run(ck, 0)
            (ck / "checkpoints").mkdir()
            block = np.random.default_rng(0).bytes(1 << 20)
            for k in range(CKPTS):
                with open(ck / "checkpoints" / f"step-{(k + 1) * 400 - 1:09d}.pt", "wb") as f:
                    for _ in range(CKPT_MB):
                        f.write(block)
            ck_total = upload(s3, "bench", ck, "ck/run")
        if args.case != "check":
            for i in range(args.runs):
                write_run(tmp / "sweep" / f"run-{i:03d}", i)
            sw_total = upload(s3, "bench", tmp / "sweep", "sweep")
        py = [sys.executable, "-m", "gananalyze"]
        cases = [
            ("check, 2,000 steps + 500 MB checkpoints", ["check", str(ck)],
             ["check", "s3://bench/ck/run"], ck_total, 1.5),
            (f"compare, {args.runs} runs", ["compare", str(tmp / "sweep" / "run-*")],
             ["compare", "s3://bench/sweep/*"], sw_total, 2.0),
        ]  # fmt: skip
        cases = [c for c in cases if args.case == "both" or c[1][0] == args.case]
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f}"
        )
        for name, local_args, remote_args, total, target in cases:
            subprocess.run(  # warm-up
                [*py, *local_args], capture_output=True, env=env, cwd=tempfile.gettempdir()
            )
            loc, rem, base, moved, base_moved = [], [], [], None, None
            cl, cr, srv = [], [], []
            loads = [os.getloadavg()[0]]
            for _ in range(args.repeat):
                loc.append(timed([*py, *local_args], env)[0])
                cl.append(LAST_CPU[0])
                s0 = resource.getrusage(resource.RUSAGE_SELF)
                dt, moved = timed([*py, "--debug", *remote_args], env)
                s1 = resource.getrusage(resource.RUSAGE_SELF)
                rem.append(dt)
                cr.append(LAST_CPU[0])
                srv.append((s1.ru_utime + s1.ru_stime) - (s0.ru_utime + s0.ru_stime))
                if args.baseline:
                    dt, base_moved = timed(
                        [args.baseline, "-m", "gananalyze", "--debug", *remote_args], env
                    )
                    base.append(dt)
                    if base_moved is None:  # no count printed: it copied the whole prefix
                        base_moved = total
                loads.append(os.getloadavg()[0])
            ml, mr = statistics.median(loc), statistics.median(rem)
            print(f"{name}: local {ml:.2f} s, remote {mr:.2f} s ({mr / ml:.2f}x local, "
                  f"target <= {target}x); fetched {(moved or 0) / 1e6:.2f} MB of "
                  f"{total / 1e6:.1f} MB under the prefix (medians of {args.repeat}); load "
                  f"{min(loads):.1f}-{max(loads):.1f}", flush=True)  # fmt: skip
            print(f"  CPU seconds (user + system, workers included): local "
                  f"{statistics.median(cl):.1f}, remote {statistics.median(cr):.1f}; the S3 "
                  f"server (in this process) {statistics.median(srv):.1f} while the remote "
                  f"command ran", flush=True)  # fmt: skip
            if base:
                mb = statistics.median(base)
                print(f"  baseline ({args.baseline}): remote {mb:.2f} s ({mb / ml:.2f}x local), "
                      f"fetched {(base_moved or 0) / 1e6:.2f} MB")  # fmt: skip
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        server.stop()


if __name__ == "__main__":
    main()
