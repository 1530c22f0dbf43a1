"""Real writer processes: kill -9 loses at most 2 x flush_rows - 1 completed steps,
and two writers on one run directory keep every row."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np

from gananalyze.loader import load_run

WRITER = r"""
import sys
from gananalyze import RunLog
path, first, n, flush_rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
log = RunLog(path, flush_rows=flush_rows, flush_seconds=1000.0, durable=True)
for step in range(first, first + n):
    log.scalars(step, G_loss=float(step), D_loss=1.0)
    print(step, flush=True)
log.close()
print("closed", flush=True)
"""


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def test_kill_9_loses_at_most_two_flushes_minus_one(tmp_path):
    flush_rows = 50
    bound = 2 * flush_rows - 1
    rng = np.random.default_rng(0)
    for trial in range(3):
        run = tmp_path / f"r{trial}"
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(run), "0", "1000000", str(flush_rows)],
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        stop_after = int(rng.integers(300, 1500))
        seen = -1
        for line in proc.stdout:
            seen = int(line)
            if seen >= stop_after:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        completed = seen + 1  # calls known to have returned before the kill
        r = load_run(run)
        kept = r.steps.tolist()
        assert kept == list(range(len(kept)))  # a prefix, nothing corrupt
        assert len(kept) >= completed - bound, (trial, completed, len(kept))
        assert r.damaged == []
        assert not any("unreadable" in w for w in r.warnings)


def test_two_writer_processes_on_one_run_keep_every_row(tmp_path):
    run = tmp_path / "twice"
    n = 20_000
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(run), str(first), str(n), "500"],
            stdout=subprocess.DEVNULL,
            env=_env(),
        )
        for first in (0, n)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    r = load_run(run)
    assert len(r.scalars) == 2 * n
    assert r.steps.tolist() == list(range(2 * n))
    assert r.series("G_loss").sum() == float(sum(range(2 * n)))
    assert r.writers == 2
    assert any("written by 2 writers" in w for w in r.warnings)
    parts = sorted(p.name for p in (run / "scalars").iterdir())
    assert len(parts) == 2 * n // 500
    assert len({p.split("-")[2] for p in parts}) == 2  # two writer ids


def test_two_writers_logging_the_same_steps_are_flagged_not_lost(tmp_path):
    run = tmp_path / "same"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(run), "0", "3000", "300"],
            stdout=subprocess.DEVNULL,
            env=_env(),
        )
        for _ in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    r = load_run(run)
    assert r.steps.tolist() == list(range(3000))
    assert r.writers == 2
    assert r.duplicates_replaced == 3000
    assert any("3000 step(s) were written more than once" in w for w in r.warnings)
