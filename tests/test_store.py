"""The native reader: union of part schemas, duplicates, damaged parts, NaN/Inf, empty runs."""

from __future__ import annotations

import math
import os

import numpy as np
import pyarrow as pa
import pytest
from click.testing import CliRunner

from gananalyze import GanAnalyzeError, RunLog, load_run
from gananalyze.cli import main
from gananalyze.loader import formats
from gananalyze.runio import parts


def _part(run_dir, number, **cols):
    parts.write_part(run_dir / "scalars", pa.table(cols), number)


def test_schema_change_mid_run_is_a_union(tmp_path):
    r = tmp_path / "r"
    _part(r, 0, step=np.arange(3, dtype=np.int64), G_loss=[1.0, 2.0, 3.0])
    _part(
        r,
        1,
        step=np.arange(3, 6, dtype=np.int64),
        G_loss=[4.0, 5.0, 6.0],
        fid=np.array([9, 8, 7], dtype=np.int32),
    )
    run = load_run(r)
    assert run.metrics == ["G_loss", "fid"]
    assert run.series("fid").to_dict() == {3: 9.0, 4: 8.0, 5: 7.0}
    assert run.counts == {"G_loss": 6, "fid": 3}
    assert run.scalars["fid"].dtype == np.float64


def test_duplicates_later_part_wins_per_value(tmp_path):
    r = tmp_path / "r"
    _part(
        r,
        0,
        step=np.array([0, 1, 2, 3], dtype=np.int64),
        G_loss=[0.0, 1.0, 2.0, 3.0],
        D_loss=[5.0, 5.0, 5.0, 5.0],
    )
    _part(
        r, 1, step=np.array([2, 3, 4], dtype=np.int64), G_loss=[20.0, 30.0, 40.0]
    )  # resumed, logs G only
    run = load_run(r)
    assert run.series("G_loss").to_dict() == {0: 0.0, 1: 1.0, 2: 20.0, 3: 30.0, 4: 40.0}
    assert run.series("D_loss").to_dict() == {0: 5.0, 1: 5.0, 2: 5.0, 3: 5.0}
    assert run.duplicates_replaced == 2
    assert any("2 step(s) were written more than once" in w for w in run.warnings)


def test_truncated_part_is_skipped_with_a_warning_and_the_rest_used(tmp_path):
    r = tmp_path / "r"
    _part(r, 0, step=np.arange(100, dtype=np.int64), G_loss=np.ones(100))
    _part(r, 1, step=np.arange(100, 200, dtype=np.int64), G_loss=np.full(100, 2.0))
    _part(r, 2, step=np.arange(200, 300, dtype=np.int64), G_loss=np.full(100, 3.0))
    (p1,) = (r / "scalars").glob("part-000001-*.parquet")
    p1.write_bytes(p1.read_bytes()[: p1.stat().st_size // 2])
    (r / "scalars" / ".part-000003.parquet.abc.tmp").write_bytes(b"PAR1 half")
    run = load_run(r)
    assert run.steps.tolist() == list(range(100)) + list(range(200, 300))
    assert any(f"{p1.name}: unreadable Parquet part skipped" in w for w in run.warnings)
    assert any("unfinished temporary file" in w for w in run.warnings)
    result = CliRunner().invoke(main, ["info", str(r)])
    assert result.exit_code == 0 and p1.name in result.output


def test_nan_and_inf_are_kept_and_listed(tmp_path):
    with RunLog(tmp_path / "r") as log:
        log.scalars(0, G_loss=1.0, D_loss=1.0)
        log.scalars(1, G_loss=float("nan"), D_loss=float("inf"))
        log.scalars(2, G_loss=-float("inf"))
    run = load_run(tmp_path / "r")
    assert run.counts == {
        "G_loss": 3,
        "D_loss": 2,
    }  # the logged NaN counts; the unlogged D_loss at 2 does not
    assert math.isnan(run.scalars["G_loss"][1]) and run.scalars["D_loss"][1] == math.inf
    assert run.series("G_loss").tolist() == [1.0, -math.inf]
    nf = run.nonfinite
    assert list(zip(nf.step, nf.metric, strict=False)) == [
        (1, "D_loss"),
        (1, "G_loss"),
        (2, "G_loss"),
    ]
    out = CliRunner().invoke(main, ["info", str(tmp_path / "r")]).output
    assert "(2 NaN/Inf)" in out and "(1 NaN/Inf)" in out


def test_empty_run_loads_and_says_so(tmp_path):
    RunLog(tmp_path / "r").close()
    run = load_run(tmp_path / "r")
    assert len(run.scalars) == 0 and run.metrics == []
    assert any("no scalars yet" in w for w in run.warnings)
    result = CliRunner().invoke(main, ["info", str(tmp_path / "r")])
    assert result.exit_code == 0 and "steps:       none logged" in result.output


def test_not_a_run_names_the_log_files_it_could_not_read(tmp_path):
    # the folder's error says why each file that looks like a log was not one
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
    (tmp_path / "a" / "metrics.csv").write_bytes(b"")
    (tmp_path / "b" / "mlflow.db").write_text("hello")
    (tmp_path / "secret.csv").write_text("step,loss\n0,1\n")
    os.symlink(tmp_path / "secret.csv", tmp_path / "c" / "metrics.csv")
    tried = ", ".join(formats())
    for name, why in (
        ("a", "metrics.csv is empty (0 bytes)"),
        ("b", "mlflow.db is not an SQLite database"),
        ("c", "metrics.csv is a link that resolves outside the run folder"),
    ):
        with pytest.raises(GanAnalyzeError) as e:
            load_run(tmp_path / name)
        assert str(e.value) == (
            f"{tmp_path / name}: not a training run: no format recognised this directory "
            f"(tried: {tried}); {why}"
        )
    # an empty CSV named on the command line: its own one line
    with pytest.raises(GanAnalyzeError, match=r"metrics.csv: empty \(no header line, no rows\)$"):
        load_run(tmp_path / "a" / "metrics.csv")


def test_not_a_run_is_one_plain_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(GanAnalyzeError):
        load_run(tmp_path)
    result = CliRunner().invoke(main, ["info", str(tmp_path)])
    assert result.exit_code == 3
    assert (
        result.output
        == f"Error: {tmp_path}: not a training run: no format recognised this directory "
        "(tried: native, stylegan, stylegan-log, cyclegan, lightning, tensorboard, chainer, "
        "edgeconnect, mlflow, wandb, ctgan, epoch-iter, keras, coqui-log, vits-log, textlog, "
        "split-files, csv-rows, csv)\n"
    )
    assert "Traceback" not in result.output
    missing = CliRunner().invoke(main, ["info", str(tmp_path / "nope")])
    assert (
        missing.exit_code == 3
        and missing.output == f"Error: {tmp_path / 'nope'}: no such file or directory\n"
    )


def test_unknown_forced_format(tmp_path):
    result = CliRunner().invoke(main, ["info", str(tmp_path), "--format", "matlab"])
    assert result.exit_code == 3 and "unknown format 'matlab'" in result.output


def test_corrupt_run_json_and_samples_index(tmp_path):
    with RunLog(tmp_path / "r") as log:
        log.scalars(0, G_loss=1.0)
        log.samples(0, np.zeros((4, 1, 2, 2)))
    with open(tmp_path / "r" / "samples" / "index.jsonl", "a") as f:
        f.write('{"step": 5, "fi')  # cut mid-line by a crash
    run = load_run(tmp_path / "r")
    assert len(run.samples) == 1 and run.samples[0].count == 4
    assert any("index.jsonl:2: unreadable line skipped" in w for w in run.warnings)
    (tmp_path / "r" / "run.json").write_text("{not json")
    result = CliRunner().invoke(main, ["info", str(tmp_path / "r")])
    # damaged metadata is a warning: the scalars are still used
    assert result.exit_code == 0 and "run.json: not valid JSON" in result.output
    assert "steps:       1 logged" in result.output


def test_info_summary_lists_everything(tmp_path):
    import torch

    G = torch.nn.Linear(2, 2)
    with RunLog(tmp_path / "r", loss="lsgan") as log:
        for s in range(0, 1000, 100):
            log.scalars(s, G_loss=0.1, D_loss=0.2)
            log.checkpoint(s, G)
        log.samples(900, np.zeros((4, 1, 2, 2)))
        log.histograms(900, G)
    result = CliRunner().invoke(main, ["info", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "format:      native (detected)\n" in out
    assert "loss type:   lsgan (declared by the run)" in out
    assert "steps:       10 logged, 0 .. 900" in out
    assert "checkpoints: 10 (steps 0 ... 900)" in out
    assert "samples:     1 (step 900)" in out and "histograms:  1 steps" in out
    js = CliRunner().invoke(main, ["info", str(tmp_path / "r"), "--json"])
    import json

    data = json.loads(js.output)
    assert data["metrics"] == {"G_loss": 10, "D_loss": 10} and data["checkpoints"][-1] == 900


def test_a_part_of_the_wrong_schema_is_skipped_and_named(tmp_path):
    # string steps and list/struct metrics (another tool's Parquet in scalars/) used to
    # stop the run with ArrowInvalid; histograms without their keys with a KeyError
    r = tmp_path / "r"
    _part(r, 0, step=np.arange(3, dtype=np.int64), G_loss=[1.0, 2.0, 3.0])
    _part(r, 1, step=["a", "b"], G_loss=[4.0, 5.0])
    _part(r, 2, step=np.array([3], np.int64), G_loss=[[1, 2]])
    parts.write_part(r / "histograms", pa.table({"step": [1], "layer": [1.5]}), 0)
    run = load_run(r)
    assert run.series("G_loss").tolist() == [1.0, 2.0, 3.0]
    assert run.histograms.empty
    s, h = r / "scalars", r / "histograms"
    skipped = [w for w in run.warnings if "Parquet part skipped" in w]
    assert skipped == [
        f"{next(s.glob('part-000001-*'))}: Parquet part skipped: column 'step' holds string, "
        "not integers; all other parts used",
        f"{next(s.glob('part-000002-*'))}: Parquet part skipped: column 'G_loss' holds "
        "list<element: int64>, not numbers; all other parts used",
        f"{next(h.glob('part-000000-*'))}: Parquet part skipped: no 'model' column; all other "
        "parts used",
    ]
