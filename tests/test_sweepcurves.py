"""analysis.sweepcurves and the sweep page's curve charts: one curve per setting with its
seeds pooled, summarised beyond MAX_RUN_CURVES runs so that the page's size stays bounded
(a generated sweep of 1,000 tiny in-memory runs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from gananalyze.analysis import comparison, sweepcurves
from gananalyze.analysis.findings import Diagnosis, Finding
from gananalyze.analysis.sweepcurves import SweepCurve, SweepCurves, sweep_curves
from gananalyze.analysis.sweepview import sweep_view
from gananalyze.pages import sweep_charts
from gananalyze.pages.bundle import plotly_js
from gananalyze.pages.compare_sweep import render_sweep_html
from gananalyze.run import Run

BAD_LR = 3e-3  # runs above it collapse (the G loss climbs; an error finding)


def tiny_sweep(n_lrs: int, seeds: int, steps: int = 20) -> comparison.Comparison:
    """n_lrs learning rates x seeds tiny runs in memory (G/D loss, an FID every 5 steps),
    with their diagnoses given: nothing is read from disk and no rule runs."""
    runs, diags = [], {}
    for i, lr in enumerate(np.geomspace(1e-5, 1e-1, n_lrs)):
        for s in range(seeds):
            rng = np.random.default_rng(i * 100 + s)
            name = f"lr{i:04d}-s{s}"
            st = np.arange(steps)
            bad = lr > BAD_LR
            sc = pd.DataFrame({
                "step": st,
                "G_loss": 1 + 0.1 * rng.standard_normal(steps) + (st / 5 if bad else 0),
                "D_loss": 1.2 + 0.1 * rng.standard_normal(steps),
            })
            fid = pd.DataFrame({"step": st[::5], "fid": 50 + 1000 * lr + 0.01 * rng.random(4)})
            runs.append(Run(path=Path(name), name=name, config={"lr": float(lr), "seed": s},
                            scalars=sc, counts={"G_loss": steps, "D_loss": steps},
                            sample_metrics=fid))
            found = [Finding("mode_collapse", "error", "Mode collapse", "m")] if bad else []
            diags[name] = Diagnosis(name, "x", findings=found,
                                    status="problems" if bad else "healthy")
    return comparison.compare_runs(runs, diagnoses=diags)


def test_each_setting_is_one_curve_the_mean_and_range_of_its_seeds():
    comp = tiny_sweep(4, 3)
    view = sweep_view(comp)
    sc = sweep_curves(comp, view, "G loss", lambda r: r.series("G_loss"))
    assert not sc.summarised and sc.note == ""
    assert len(sc.curves) == 4 and all(c.kind == "setting" for c in sc.curves)
    assert [c.label for c in sc.curves] == [
        "lr=1e-05", "lr=2.2e-04", "lr=0.0046", "lr=0.1"]  # best FID first
    assert [c.outcome for c in sc.curves] == ["healthy", "healthy", "collapsed", "collapsed"]
    by = {r.name: r for r in comp.runs}
    c = sc.curves[2]
    assert sorted(c.runs) == ["lr0002-s0", "lr0002-s1", "lr0002-s2"]
    g = np.array([by[n].series("G_loss").to_numpy() for n in c.runs])
    np.testing.assert_allclose(c.mean, g.mean(axis=0))
    np.testing.assert_allclose(c.lo, g.min(axis=0))
    np.testing.assert_allclose(c.hi, g.max(axis=0))
    np.testing.assert_array_equal(c.steps, np.arange(20))


def test_one_run_per_setting_has_no_band():
    comp = tiny_sweep(13, 1)
    sc = sweep_curves(comp, sweep_view(comp), "D loss", lambda r: r.series("D_loss"))
    assert len(sc.curves) == 13 and all(c.lo is None and c.hi is None for c in sc.curves)
    fig = sweep_charts.curve_chart(sc, "D loss")
    assert not [t for t in fig["data"] if t.get("fill")]
    assert [t["name"] for t in fig["data"]][0].endswith("(1 run, healthy)")


@pytest.fixture(scope="module")
def thousand():
    comp = tiny_sweep(250, 4)  # 1,000 runs, 250 settings
    return comp, sweep_view(comp)


def test_beyond_a_few_hundred_runs_the_curves_are_summarised(thousand):
    comp, view = thousand
    assert len(view.runs) == 1000 > sweepcurves.MAX_RUN_CURVES
    sc = sweep_curves(comp, view, "FID", lambda r: comparison.thinned_metric_series(r, "fid")[0])
    assert sc.summarised and sc.group_key == "lr"
    assert sc.note == (
        "1000 runs (more than 300): the best 3 and worst 3 of 250 settings are drawn on their "
        "own, and the mean and min-max band of every run per value of lr"
    )
    kinds = [c.kind for c in sc.curves]
    assert kinds[:6] == ["best"] * 3 + ["worst"] * 3
    groups = [c for c in sc.curves if c.kind == "group"]
    assert len(groups) == len(view.keys[0].levels) and sum(len(c.runs) for c in groups) == 1000
    assert [c.label for c in sc.curves] == [
        "lr=1.1e-05", "lr=1e-05", "lr=1.1e-05",  # the lowest FIDs (the noise orders them)
        "lr=0.1", "lr=0.096", "lr=0.093",  # the highest
        "lr=1e-05 to 3.1e-05", "lr=3.1e-05 to 9.9e-05", "lr=9.9e-05 to 3.1e-04",
        "lr=3.1e-04 to 0.001", "lr=0.001 to 0.0032", "lr=0.0032 to 0.01", "lr=0.01 to 0.032",
        "lr=0.032 to 0.1",
    ]
    assert [c.outcome for c in sc.curves[:6]] == ["healthy"] * 3 + ["collapsed"] * 3


def test_the_sweep_page_stays_bounded_at_a_thousand_runs(thousand):
    comp, view = thousand
    html = render_sweep_html(comp, view)
    soup = BeautifulSoup(html, "html.parser")
    figs = {s["data-target"]: s.get_text() for s in soup.select("script.fig")}
    curves = [json.loads(v) for k, v in figs.items() if k.startswith("plot-curves-")]
    assert len(curves) == 3
    for fig in curves:  # 3 + 3 settings and one curve per lr bin, not one per setting
        lines = [t for t in fig["data"] if t.get("showlegend", True)]
        assert len(lines) == 6 + len(view.keys[0].levels)
    curve_bytes = sum(len(v) for k, v in figs.items() if k.startswith("plot-curves-"))
    assert curve_bytes < 100_000
    # the whole page beside the inlined bundle: the table (capped at 500 rows) dominates
    assert len(html.encode()) - len(plotly_js().encode()) < 1_500_000
    assert "the best 3 and worst 3 of 250 settings are drawn on their own" in html


def test_a_long_curve_ships_at_most_curve_points_per_trace():
    n = 100_000
    steps = np.arange(n)
    mean = np.sin(steps / 5000.0)
    mean[54_321] = 40.0  # a one-step spike the reduction keeps
    c = SweepCurve("lr=1e-04", ["a", "b"], steps, mean, mean - 1, mean + 1, "healthy",
                   "setting")
    fig = sweep_charts.curve_chart(SweepCurves("G loss", [c]), "G loss")
    band, line = fig["data"]
    assert len(line["x"]) <= sweep_charts.CURVE_POINTS
    assert len(band["x"]) <= 2 * sweep_charts.CURVE_POINTS
    assert max(band["y"]) == 41.0
