"""lab/robust.py: the thinned log and the summary of how verdicts moved."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gananalyze.run import Run  # noqa: E402
from lab.robust import (  # noqa: E402
    averaged,
    cut,
    per_class,
    smoothed,
    summarise,
    thinned,
    with_samples,
)


def test_thinned_keeps_every_kth_row_and_leaves_the_run_alone():
    df = pd.DataFrame({"step": np.arange(10), "G_loss": np.arange(10.0)})
    run = Run(name="r", path=Path("r"), scalars=df)
    out = thinned(run, 3)
    assert out.scalars["step"].tolist() == [0, 3, 6, 9]
    assert out.scalars.index.tolist() == [0, 1, 2, 3]
    assert len(run.scalars) == 10  # the original is not thinned


def test_averaged_logs_the_mean_of_each_k_rows_at_the_blocks_last_step():
    g = np.array([1.0, 3.0, 5.0, np.nan, 2.0, 4.0, 6.0])
    df = pd.DataFrame({"step": np.arange(7) * 10, "epoch": [0, 0, 0, 0, 1, 1, 1], "G_loss": g})
    out = averaged(Run(name="r", path=Path("r"), scalars=df), 2).scalars
    assert out["step"].tolist() == [10, 30, 50, 60]
    assert out["epoch"].tolist() == [0, 0, 1, 1]  # counters are not averaged
    # a block holding a NaN averages to NaN, as the trainer's own mean would
    np.testing.assert_array_equal(out["G_loss"].to_numpy(), [2.0, np.nan, 3.0, 6.0])


def test_smoothed_logs_a_debiased_running_mean_and_leaves_evaluations_alone():
    df = pd.DataFrame(
        {
            "step": [0, 10, 20, 30],
            "G_loss": [1.0, 3.0, np.inf, 2.0],
            "fid": [50.0, np.nan, 40.0, np.nan],
        }
    )
    out = smoothed(Run(name="r", path=Path("r"), scalars=df), 0.5).scalars
    # m1 = 0.5, m2 = 0.25 + 1.5 = 1.75; debiased by 1 - 0.5^k: 1.0, 1.75 / 0.75
    assert out["G_loss"].iloc[0] == 1.0 and out["G_loss"].iloc[1] == pytest.approx(7 / 3)
    assert np.isnan(out["G_loss"].iloc[2]) and np.isnan(out["G_loss"].iloc[3])  # inf stays
    np.testing.assert_array_equal(out["fid"].to_numpy(), df["fid"].to_numpy())  # per evaluation


def test_summary_counts_and_names_the_runs_that_turned_wrong():
    rows = [
        ("a", ["right", "right", "abstained"]),
        ("b", ["right", "wrong", "wrong"]),
        ("c", ["abstained", "abstained", "abstained"]),
    ]
    assert summarise("lab", rows, [2, 4]) == [
        "== lab: 3 runs",
        "  every row:    abstained 1, right 2",
        "  1 row in 2:   abstained 1, right 1, wrong 1; moved: right -> wrong 1",
        "    b: right -> wrong",
        "  1 row in 4:   abstained 2, wrong 1; moved: right -> abstained 1, right -> wrong 1",
        "    b: right -> wrong",
    ]
    assert "    a: right -> abstained" in summarise("lab", rows, [2, 4], verbose=True)


def test_cut_is_the_run_as_it_stood_at_a_step():
    from gananalyze.run import VectorSamples

    df = pd.DataFrame({"step": np.arange(0, 100, 10), "G_loss": np.arange(10.0)})
    vecs = [VectorSamples(step=s, data=np.zeros((4, 2), np.float32)) for s in (0, 50, 90)]
    run = Run(name="r", path=Path("r"), scalars=df, vectors=vecs)
    out = cut(run, 50)
    assert out.scalars["step"].tolist() == [0, 10, 20, 30, 40, 50]
    assert [v.step for v in out.vectors] == [0, 50]
    assert len(run.scalars) == 10 and len(run.vectors) == 3


def test_with_samples_reads_the_saved_samples_beside_the_log(tmp_path):
    from gananalyze.run import VectorSamples

    df = pd.DataFrame({"step": [10, 20], "G_loss": [1.0, 2.0]})
    run = Run(name="r", path=Path("r"), scalars=df)
    x = np.random.default_rng(0).normal(size=(2, 600, 2)).astype(np.float16)
    z = {"ckpt_steps": np.array([10, 20]), "samples": x}
    out = with_samples(run, "ring8", z, tmp_path / "vec")
    assert [v.step for v in out.vectors] == [10, 20]
    assert out.vectors[0].array().shape == (500, 2)  # as the lab's RunLog style logs them
    np.testing.assert_array_equal(out.vectors[1].array(), x[1, :500].astype(np.float32))
    assert out.scalars is run.scalars and run.vectors == []  # the log itself is as it was
    digits = {"ckpt_steps": np.array([5]), "samples": np.zeros((1, 100, 64), np.float16)}
    grids = with_samples(run, "digits", digits, tmp_path / "img").samples
    assert [g.step for g in grids] == [5]
    logged = Run(name="r", path=Path("r"), scalars=df, vectors=[VectorSamples(1, data=x[0])])
    assert with_samples(logged, "ring8", z, tmp_path / "again") is logged


def test_per_class_counts_each_logging_and_names_the_runs_that_turned_wrong():
    rows = [
        ("a", "collapse", ["abstained", "right", "right"]),
        ("b", "healthy", ["abstained", "abstained", "false alarm"]),
        ("c", "collapse", ["wrong", "wrong", "right"]),
    ]
    heads = ["as logged", "+ samples", "+ real rows"]
    assert per_class("lab", rows, heads) == [
        "== lab: 3 runs; right/wrong/abstained per truth class",
        "  class      | as logged      | + samples      | + real rows   ",
        "  collapse   | 0/1/1          | 1/1/0          | 2/0/0         ",
        "  healthy    | 0/0/1          | 0/0/1          | 0/1/0         ",
        "  all        | 0/1/2          | 1/1/1          | 2/1/0         ",
        "    b: as logged abstained -> + real rows false alarm",
    ]
