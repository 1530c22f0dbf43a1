"""fid-sweep across machines: two torchrun agents on this machine acting as two nodes.

The documented two-node command (docs/fid-sweep.md: `torchrun --nnodes=2 --rdzv-endpoint=...`)
run as two separate torchrun agents (one process each, gloo on CPU, c10d rendezvous on
127.0.0.1), sharing the run directory as two machines would share storage. The numbers
must be exactly those of one process.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from sweep_models import make_run, save_tiny_features  # noqa: E402

from gananalyze import store  # noqa: E402
from gananalyze.metrics.sweep import sweep  # noqa: E402

TESTS = Path(__file__).resolve().parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_torchrun_nodes_give_the_numbers_of_one_process(tmp_path):
    run = make_run(tmp_path / "run", steps=(0, 100))  # one checkpoint per node
    feats = str(save_tiny_features(tmp_path / "feat.pt"))
    single = sweep(
        run,
        "sklearn-digits",
        features=feats,
        metrics="fid,pr",
        num_samples=64,
        batch_size=32,
        device="cpu",
        cache_dir=tmp_path / "cache1",
    )
    run2 = tmp_path / "run2"
    shutil.copytree(run, run2)
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(TESTS.parent), os.environ.get("PYTHONPATH", "")]),
    }
    port = _free_port()
    agent = [
        sys.executable, "-m", "torch.distributed.run",
        "--nnodes=2", "--nproc_per_node=1",
        "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}", "--rdzv-id=g26",
        "-m", "gananalyze", "fid-sweep", str(run2), "--real", "sklearn-digits",
        "--features", feats, "--metrics", "fid,pr", "--num-samples", "64",
        "--batch-size", "32", "--device", "cpu", "--cache-dir", str(tmp_path / "cache2"),
    ]  # fmt: skip
    nodes = [
        subprocess.Popen(agent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = []
    try:
        for p in nodes:
            out, err = p.communicate(timeout=240)
            outs.append((p.returncode, out, err))
    finally:
        for p in nodes:
            if p.poll() is None:
                p.kill()
    for rc, out, err in outs:
        assert rc == 0, out + err
    # one agent's process is rank 0: it alone prints the result and writes the run
    assert sum(out.count("best checkpoint:") for _, out, _ in outs) == 1
    multi = store.load_native(run2).sample_metrics
    assert list(multi["step"]) == [0, 100]
    cols = ["fid", "fid_std", "precision", "recall"]
    np.testing.assert_array_equal(
        multi[cols].to_numpy(dtype=float), single[cols].to_numpy(dtype=float)
    )
