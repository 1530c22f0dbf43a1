"""The vector report's labels and its one-checkpoint similarity chart (pages/report_vectors.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from gananalyze.pages import report_vectors as rv


def test_long_column_names_keep_both_ends_and_stay_apart():
    a, b = rv.short_label("mean concavity"), rv.short_label("mean concave points")
    assert (a, b) == ("mean concavity", "mean concave points")  # whole when they fit
    long1 = rv.short_label("worst concave points of the nucleus, standard error", 24)
    long2 = rv.short_label("worst concave points of the nucleus, mean", 24)
    assert len(long1) == 24 and "…" in long1 and long1.endswith("d error")
    assert long1 != long2


def test_one_checkpoint_is_drawn_as_bars_and_several_as_an_interactive_chart():
    names = ["mean radius", "mean concavity"]
    one = pd.DataFrame({"step": [300, 300], "column": names, "score": [0.4, 0.8]})
    sec = rv._scores(one)
    assert sec.title == "Column similarity" and "step 300" in sec.lead
    assert sec.figures[0].src.startswith("data:image/png;base64,")
    two = pd.DataFrame(
        {"step": [100, 100, 300, 300], "column": names * 2, "score": [0.2, 0.5, 0.4, 0.8]}
    )
    sec = rv._scores(two)
    assert sec.title == "Column similarity over training" and not sec.figures[0].src
    spec = json.loads(sec.figures[0].spec)
    assert [s["name"] for s in spec["series"]] == [*names, "mean"]
    np.testing.assert_allclose(spec["series"][-1]["y"], [0.35, 0.6])
