"""Plausibility flags: impossible FID, NaN/Inf losses, probabilities outside [0, 1]."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gananalyze.loader import load_run
from gananalyze.runio import plausibility


def test_check_frame_flags_each_kind_with_file_metric_step():
    df = pd.DataFrame(
        {
            "step": [0, 1, 2],
            "G_loss": [1.0, np.nan, np.inf],
            "D_x": [0.5, 1.2, -0.1],
            "fid": [30.0, -1.0, 2e4],
            "other": [np.nan, np.inf, -5.0],
        }
    )
    flags = plausibility.check_frame(df, "f.csv")
    got = sorted((f.metric, f.step, f.reason) for f in flags)
    assert got == [
        ("D_x", 1, "a probability must lie in [0, 1]"),
        ("D_x", 2, "a probability must lie in [0, 1]"),
        ("G_loss", 1, "loss is NaN"),
        ("G_loss", 2, "loss is infinite"),
        ("fid", 1, "FID below 0 is impossible"),
        ("fid", 2, "FID above 1e4 is implausible"),
    ]
    assert all(f.file == "f.csv" for f in flags)
    assert str(flags[0]).startswith("f.csv: ")


def test_not_logged_nan_is_not_flagged_when_nonfinite_given():
    df = pd.DataFrame({"step": [0, 1, 2], "loss_G": [1.0, np.nan, 2.0]})
    nonfinite = pd.DataFrame(
        {
            "step": pd.Series([], dtype="int64"),
            "metric": pd.Series([], dtype=object),
            "value": pd.Series([], dtype=float),
        }
    )
    assert plausibility.check_frame(df, "x", nonfinite=nonfinite) == []
    nonfinite = pd.DataFrame({"step": [1], "metric": ["loss_G"], "value": [np.nan]})
    (f,) = plausibility.check_frame(df, "x", nonfinite=nonfinite)
    assert (f.metric, f.step) == ("loss_G", 1)


def test_sample_metric_probabilities_and_limit():
    df = pd.DataFrame(
        {
            "step": np.arange(50),
            "features": "inception",
            "precision": np.full(50, 1.5),
            "density": np.full(50, 1.5),
        }
    )
    flags = plausibility.check_frame(df, "m", limit=20)
    assert len(flags) == 21 and flags[-1].step is None and "30 more" in flags[-1].reason
    assert {f.metric for f in flags} == {"precision"}  # density may exceed 1


def test_explicit_losses_and_name_rules():
    assert (
        plausibility.is_loss("losses/l_g_gan")
        and plausibility.is_loss("Loss/D/loss")
        and not plausibility.is_loss("D_x")
    )
    df = pd.DataFrame({"step": [0], "D_A": [np.nan]})
    assert plausibility.check_frame(df, "x") == []
    assert len(plausibility.check_frame(df, "x", losses=["D_A"])) == 1


def test_native_load_reports_flags(synthetic_run):
    d_x = np.full(100, 0.5)
    d_x[40] = 3.0
    g = np.ones(100)
    g[60] = np.nan
    path = synthetic_run(steps=100, d_x=d_x, g_loss=g, noise=0.0)
    r = load_run(path)
    got = {(f.metric, f.step) for f in r.flags}
    assert ("G_loss", 60) in got
    assert ("D_x", 40) not in got  # conftest clips D_x into [0, 1]
    assert all("scalars" in f.file for f in r.flags)


def test_lsgan_hinge_and_wasserstein_d_outputs_are_scores(tmp_path):
    # an LSGAN D's outputs aim at 1 and 0 but are unbounded: -0.01 is no logging bug there
    from gananalyze import RunLog
    from gananalyze.loader import load_run

    for loss, flagged in (("lsgan", 0), ("hinge", 0), ("wasserstein", 0), ("bce", 1)):
        with RunLog(tmp_path / loss, loss=loss) as log:
            log.scalars(0, D_x=-0.0145, D_G_z_before=0.4, D_acc=0.5, G_loss=0.3, D_loss=0.5)
        run = load_run(tmp_path / loss)
        assert sum("a probability must lie" in f.reason for f in run.flags) == flagged, loss
