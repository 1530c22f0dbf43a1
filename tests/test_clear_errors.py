"""One clear line instead of a traceback: the CLI guard and the cases issue 12 listed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from bs4 import BeautifulSoup
from click.testing import CliRunner
from conftest import write_digits_run

from gananalyze import RunLog
from gananalyze.cli import main
from gananalyze.pages.text import sweep_text

SWEEP = [
    "--real",
    "sklearn-digits",
    "--features",
    "digits",
    "--num-samples",
    "20",
    "--device",
    "cpu",
]


def _digits_run(path: Path, nan_last: bool = False) -> Path:
    return write_digits_run(path, nan_last=nan_last)


def test_guard_turns_an_unexpected_exception_into_one_line(tmp_path, monkeypatch):
    run = _digits_run(tmp_path / "r")

    def boom(*a, **k):
        raise PermissionError(13, "Permission denied", str(run / "run.json"))

    monkeypatch.setattr("gananalyze.loader.load_run", boom)
    res = CliRunner().invoke(main, ["info", str(run)])
    assert res.exit_code == 3
    assert res.output == (
        f"Error: {run}: unexpected error (file {run / 'run.json'}): PermissionError: "
        "Permission denied; rerun as `gananalyze --debug ...` for the traceback\n"
    )
    res = CliRunner().invoke(main, ["--debug", "info", str(run)])
    assert isinstance(res.exception, PermissionError)  # the traceback, as asked


def test_report_with_nan_weights_in_the_last_checkpoint_says_so(tmp_path):
    run = _digits_run(tmp_path / "nan", nan_last=True)
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", str(run), "-o", str(out)])
    assert res.exit_code == 0, res.output
    notes = BeautifulSoup(out.read_text(), "html.parser").select_one("#tsne").text
    assert (
        f"{run / 'checkpoints'}/" in notes
        and ": the generator at step 59 produced NaN/Inf samples (100% of values; are its "
        "weights NaN?)"
        in notes
    )


def test_report_when_every_value_is_nan_or_inf(tmp_path):
    with RunLog(tmp_path / "allnan", loss="bce", flush_rows=1000) as log:
        for i in range(80):
            log.scalars(i, G_loss=np.nan, D_loss=np.inf, D_x=np.nan, D_G_z_before=-np.inf)
    res = CliRunner().invoke(
        main, ["report", str(tmp_path / "allnan"), "-o", str(tmp_path / "a.html")]
    )
    assert res.exit_code == 0, res.output
    assert res.output == f"wrote {tmp_path / 'a.html'}\n"


def test_compare_to_an_unwritable_path_is_one_line(tmp_path):
    run = _digits_run(tmp_path / "r")
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "c.html"
    res = CliRunner().invoke(main, ["compare", str(run), "-o", str(out)])
    assert res.exit_code == 3
    assert res.output.splitlines()[-1] == (
        f"Error: {out}: cannot write the comparison page (File exists)"
    )


def test_fid_sweep_on_a_target_that_builds_nothing(tmp_path):
    run = _digits_run(tmp_path / "r")
    meta = json.loads((run / "run.json").read_text())
    for target, kind in (("os:sep", "str"), ("os:path", "module")):
        meta["generator"]["target"] = target
        (run / "run.json").write_text(json.dumps(meta))
        res = CliRunner().invoke(main, ["fid-sweep", str(run), *SWEEP, "--trust-code"])
        assert res.exit_code == 3
        assert res.output == (
            f"Error: {run}: generator target {target!r} is a {kind}, not a class or function "
            "that builds the generator\n"
        )


def test_one_failing_checkpoint_marks_only_its_row_and_the_error_line_ends(tmp_path):
    run = _digits_run(tmp_path / "r")
    ckpts = sorted((run / "checkpoints").iterdir())
    ckpts[-1].write_bytes(b"not a checkpoint")
    res = CliRunner().invoke(main, ["fid-sweep", str(run), *SWEEP])
    assert res.exit_code == 3
    rows = [ln.split() for ln in res.output.splitlines() if ln.strip()[:2] in ("0 ", "59")]
    assert rows[0][-1] != "error" and rows[1][-1] == "error"
    assert res.output.endswith(
        "Error: 1 of 2 checkpoint(s) could not be evaluated (see above); the other 1 were "
        "evaluated and saved in the run.\n"
    )


def test_sweep_text_does_not_take_a_nan_error_for_an_error():
    frame = pd.DataFrame(
        {
            "step": [0, 10],
            "fid": [3.0, np.nan],
            "error": [np.nan, "boom"],
            "source": ["computed", "computed"],
            "features": "digits",
            "num_samples": 20,
            "quantized": True,
            "real": "abc",
        }
    )
    frame.attrs["want_columns"] = ["fid"]
    lines = sweep_text(frame, None).splitlines()
    assert lines[1].split() == ["0", "3.0000"] and lines[2].split()[-1] == "error"
