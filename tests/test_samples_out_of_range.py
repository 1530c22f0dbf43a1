"""G's image samples far outside the range their grid draws: RunLog records what the PNG
clips (runlog.out_of_range: the range, the share outside it, the furthest value's reach in
half-widths), the store reads it back, and the divergence rule reports samples that ran
far out (rules/stability.py: samples_out_of_range) while a G that overshoots a little does
not count."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gananalyze as ga
from gananalyze.analysis.rules import diagnose
from gananalyze.loader import load_run
from gananalyze.runio.runlog import out_of_range


def _write(path, scale_from: int | None, scale: float, offset: float = 0.0):
    """A balanced BCE log with a 16-sample grid every 100 steps; from step `scale_from` on,
    the samples are multiplied by `scale` and shifted by `offset` (no tanh on G's output)."""
    rng = np.random.default_rng(0)
    with ga.RunLog(path, loss="bce") as log:
        for s in range(1000):
            log.scalars(
                s,
                G_loss=0.9 + 0.05 * rng.standard_normal(),
                D_loss=1.3 + 0.05 * rng.standard_normal(),
            )
            if s % 100 == 0:
                x = rng.uniform(-1, 1, (16, 1, 8, 8)).astype(np.float32)
                if scale_from is not None and s >= scale_from:
                    x = x * scale + offset
                log.samples(s, x, nrow=4, value_range=(-1.0, 1.0))
    return path


def test_out_of_range_names_the_share_and_the_reach():
    x = np.array([-3.0, -0.5, 0.0, 0.5, 1.5, np.nan])
    assert out_of_range(x, (-1.0, 1.0)) == {"outside": 0.4, "reach": 3.0}
    assert out_of_range(x, (0.0, 2.0)) == {"outside": 0.4, "reach": 4.0}
    assert out_of_range(np.array([0.0, 1.0]), (0.0, 1.0)) == {}


def test_runlog_records_what_the_grid_clips_and_the_store_reads_it(tmp_path):
    _write(tmp_path / "r", scale_from=500, scale=400.0)
    lines = [
        json.loads(s) for s in (tmp_path / "r" / "samples" / "index.jsonl").read_text().split("\n")
        if s
    ]
    assert all("outside" not in rec and "range" not in rec for rec in lines[:5])
    rec = lines[5]
    assert rec["range"] == [-1.0, 1.0] and rec["outside"] == pytest.approx(1.0, abs=0.01)
    assert 390 <= rec["reach"] <= 400
    grids = load_run(tmp_path / "r").samples
    assert [g.reach is not None for g in grids] == [False] * 5 + [True] * 5
    assert grids[5].outside == rec["outside"] and grids[5].reach == rec["reach"]


def test_samples_far_outside_the_range_are_a_divergence(tmp_path):
    d = diagnose(load_run(_write(tmp_path / "r", scale_from=500, scale=400.0)))
    (f,) = [f for f in d.findings if f.title == "G's samples run far outside the image range"]
    assert f.rule == "divergence" and f.severity == "error"
    assert (f.start_step, f.end_step, f.numbers["checkpoints"]) == (500, 900, 5)
    assert "at step 900 " in f.message and "half-widths of the range from its centre" in f.message
    assert f.message.endswith("G's output has run away and stays there.")


@pytest.mark.parametrize("scale", [3.0, 15.0])
def test_a_g_that_overshoots_the_range_is_not_one(tmp_path, scale):
    # an untanh'd G a little past [-1, 1] (the lab's healthy digits reach 3-5.4, 21-33% of
    # the values outside), or 15x: under the 20 half-widths that count
    d = diagnose(load_run(_write(tmp_path / "r", scale_from=0, scale=scale)))
    assert not [f for f in d.findings if f.title == "G's samples run far outside the image range"]


def test_the_collapse_checks_leave_grids_clipped_far_out_out(tmp_path):
    # from step 500 every value lies 400x out on the same side: the clipped grids are all
    # white, near-copies of one another, which is no collapse; only the divergence is reported
    d = diagnose(load_run(_write(tmp_path / "r", scale_from=500, scale=100.0, offset=300.0)))
    assert {f.rule for f in d.findings if f.severity != "info"} == {"divergence"}
    assert d.verdict.startswith("G's samples run far outside the image range from step 500")
