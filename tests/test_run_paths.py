"""Nothing a run names is read outside it, and no FIFO, device or socket is ever opened
(issue 23): run.json's real_data outside the run is not read, a FIFO in the run never
makes a command wait."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import write_digits_run
from PIL import Image

from gananalyze import load_run
from gananalyze.cli import main
from gananalyze.errors import GanAnalyzeError
from gananalyze.metrics import realdata


class FifoWatch:
    """Notices a reader waiting on `path` (opening a FIFO for writing without blocking
    succeeds only then) and lets it go, so a regression fails instead of hanging."""

    def __init__(self, path: Path):
        self.path, self.readers = path, 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                continue
            self.readers += 1
            os.close(fd)

    def __enter__(self) -> FifoWatch:
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


def _with_real(run: Path, real: str) -> Path:
    meta = json.loads((run / "run.json").read_text())
    meta["generator"]["real_data"] = real
    (run / "run.json").write_text(json.dumps(meta))
    return run


def test_real_data_outside_the_run_is_not_read(tmp_path, monkeypatch):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for i in range(40):
        Image.fromarray(np.full((8, 8), i * 6, np.uint8)).save(outside / f"{i:02d}.png")
    run = _with_real(write_digits_run(tmp_path / "run"), str(outside))
    opened = []
    real_load = realdata.load_real
    monkeypatch.setattr(
        realdata, "load_real", lambda *a, **k: opened.append(a) or real_load(*a, **k)
    )
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", str(run), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert opened == []
    why = (
        f"run.json's real_data {str(outside)!r} lies outside the run and is not read; "
        f"pass --real {outside} to use it"
    )
    from gananalyze.analysis.tsne import unavailable_reason

    assert unavailable_reason(load_run(run)) == why
    # the same folder typed on the command line is the user's to read
    assert unavailable_reason(load_run(run), str(outside)) is None
    # a relative path climbing out is outside too; one inside the run is used
    _with_real(run, "../elsewhere")
    assert "lies outside the run" in unavailable_reason(load_run(run))
    (run / "real").mkdir()
    _with_real(run, "real")
    from gananalyze.analysis.tsne import real_source

    assert real_source(load_run(run)) == str(run.resolve() / "real")


def test_a_fifo_as_real_data_never_makes_report_wait(tmp_path):
    run = _with_real(write_digits_run(tmp_path / "run"), "real.npy")
    os.mkfifo(run / "real.npy")
    with pytest.raises(GanAnalyzeError, match=r"real.npy: not a regular file \(a FIFO"):
        realdata.load_real(run / "real.npy")
    out = tmp_path / "r.html"
    with FifoWatch(run / "real.npy") as watch:
        res = CliRunner().invoke(main, ["report", str(run), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert watch.readers == 0
    assert f"{run / 'real.npy'}: not a regular file (a FIFO, device or socket); not opened" in (
        out.read_text()
    )


def test_fifos_among_run_files_are_named_and_never_opened(tmp_path):
    run = write_digits_run(tmp_path / "run")
    part = sorted((run / "scalars").glob("*.parquet"))[0]
    grid = run / "samples" / "step-000000059.png"
    part.rename(run / "part.bak")
    os.mkfifo(part)
    grid.parent.mkdir(exist_ok=True)
    os.mkfifo(grid)
    with FifoWatch(part) as w1, FifoWatch(grid) as w2:
        for cmd in ("info", "check"):
            res = CliRunner().invoke(main, [cmd, str(run)])
            assert res.exit_code in (0, 1), res.output
        r = load_run(run)
    assert w1.readers == 0 and w2.readers == 0
    fifo = "not read: not a regular file (a FIFO, device or socket)"
    assert f"scalars/{part.name}: {fifo}" in r.warnings
    assert f"samples/{grid.name}: {fifo}" in r.warnings
