"""Benchmark: fid-sweep in one process against two torchrun agents acting as two nodes.

The multi-node command of docs/fid-sweep.md, run as two torchrun agents on this machine
(`--nnodes=2 --nproc_per_node=1`, c10d rendezvous on 127.0.0.1, gloo on CPU) sharing the
run directory, against the same sweep in one process (`gananalyze fid-sweep RUN ...`), on a
generated run (digits MLP generator, CHECKPOINTS checkpoints) with a small fixed feature
network. Prints medians, whether the numbers agree exactly, and the machine. On one machine
the two "nodes" share its cores, so this measures the cost of the rendezvous and the
gathering, not a speed-up; across machines each node brings its own.

    uv run --frozen python bench/fid_nodes.py [--repeat 3] [--checkpoints 4] [--num-samples 500]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--checkpoints", type=int, default=4)
    ap.add_argument("--num-samples", type=int, default=500)
    args = ap.parse_args()
    from sweep_models import make_run, save_tiny_features

    from gananalyze.runio import store

    tmp = Path(tempfile.mkdtemp(prefix="gananalyze-bench-nodes-"))
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(
            [str(HERE.parent / "tests"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    try:
        base = make_run(tmp / "run", steps=tuple(100 * i for i in range(args.checkpoints)))
        feats = str(save_tiny_features(tmp / "feat.pt"))
        sweep = ["fid-sweep", "RUN", "--real", "sklearn-digits", "--features", feats,
                 "--metrics", "fid,pr", "--num-samples", str(args.num_samples), "--device",
                 "cpu", "--force"]  # fmt: skip
        one, two, same = [], [], True
        for k in range(args.repeat):
            r1, r2 = tmp / f"one{k}", tmp / f"two{k}"
            shutil.copytree(base, r1)
            shutil.copytree(base, r2)
            one_args = [str(r1) if a == "RUN" else a for a in sweep]
            cmd = [sys.executable, "-m", "gananalyze", *one_args]
            t = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, capture_output=True)
            one.append(time.perf_counter() - t)
            port = _port()
            agent = [sys.executable, "-m", "torch.distributed.run", "--nnodes=2",
                     "--nproc_per_node=1", "--rdzv-backend=c10d",
                     f"--rdzv-endpoint=127.0.0.1:{port}", f"--rdzv-id=bench{k}", "-m",
                     "gananalyze", *[str(r2) if a == "RUN" else a for a in sweep]]  # fmt: skip
            t = time.perf_counter()
            nodes = [subprocess.Popen(agent, env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE) for _ in range(2)]  # fmt: skip
            for p in nodes:
                if p.wait() != 0:
                    sys.exit(f"a torchrun agent failed:\n{p.stderr.read().decode()[-2000:]}")
            two.append(time.perf_counter() - t)
            a = store.load_native(r1).sample_metrics[["step", "fid", "precision", "recall"]]
            b = store.load_native(r2).sample_metrics[["step", "fid", "precision", "recall"]]
            same = same and a.reset_index(drop=True).equals(b.reset_index(drop=True))
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores; load average "
              f"{os.getloadavg()[0]:.1f}")  # fmt: skip
        print(f"fid-sweep, {args.checkpoints} checkpoints x {args.num_samples} samples: one "
              f"process {statistics.median(one):.1f} s, two torchrun nodes "
              f"{statistics.median(two):.1f} s (medians of {args.repeat}); numbers identical: "
              f"{same}")  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
