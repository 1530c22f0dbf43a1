"""The sweep view and page on a generated lr x seed sweep (RunLog runs made in the test)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from browser import assert_not_blank, needs_chromium, screenshot
from bs4 import BeautifulSoup
from click.testing import CliRunner
from sweepgen import LRS, fate, write_sweep

from gananalyze.analysis import comparison, runset, sweepview
from gananalyze.cli import main

SEEDS = 9  # 7 learning rates x 9 seeds + 2 = 65 runs: seed has 10 values, more than MAX_LEVELS


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    write_sweep(root, SEEDS, steps=40, grids=False)
    # two runs with sample grids: the page shows grids only for runs that have them
    from sweepgen import write_sweep_run

    for lr in (2e-4, 5e-3):
        write_sweep_run(root / f"lr{lr:g}-s{SEEDS}", lr, SEEDS, steps=40, grids=True)
    return root


@pytest.fixture(scope="module")
def sweep_comp(sweep_dir):
    runs, warnings, diags = runset.load_and_diagnose([str(sweep_dir / "*")])
    return comparison.compare_runs(runs, warnings=warnings, diagnoses=diags)


def test_outcomes_follow_the_learning_rate(sweep_comp):
    view = sweepview.sweep_view(sweep_comp)
    n = len(LRS) * SEEDS + 2
    assert len(view.runs) == n
    lr_of = {r.name: r.config["lr"] for r in sweep_comp.runs}
    for name, outcome in zip(view.runs, view.outcomes, strict=True):
        assert outcome == fate(lr_of[name]), name
    assert view.counts == {
        "diverged": SEEDS,
        "collapsed": SEEDS + 1,
        "D overpowers G": SEEDS,
        "healthy": 4 * SEEDS + 1,
    }
    assert view.n_failed == 3 * SEEDS + 1
    lr, seed = view.keys  # lr decides; the seed explains nothing
    assert lr.key == "lr" and seed.key == "seed"
    assert lr.failure_eps2 == pytest.approx(1.0)
    assert lr.failure_rate == [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    assert seed.failure_eps2 == 0.0
    assert seed.binned and len(seed.levels) == sweepview.MAX_LEVELS
    assert lr.log and not lr.binned


def test_eps_squared_by_hand():
    y = np.array([0.0, 0, 1, 1])
    assert sweepview.eps_squared(y, np.array(["a", "a", "b", "b"])) == 1.0
    # SS_total 1, SS_between 0, MS_within 0.5: eps2 = (0 - 0.5) / 1 -> clipped to 0
    assert sweepview.eps_squared(y, np.array(["a", "b", "a", "b"])) == 0.0
    y = np.array([1.0, 2, 3, 4, 5, 6])
    g = np.array([0, 0, 0, 1, 1, 1])
    # SS_total 17.5, SS_between 13.5, MS_within 4/4 = 1: (13.5 - 1) / 17.5
    assert sweepview.eps_squared(y, g) == pytest.approx(12.5 / 17.5)
    assert sweepview.eps_squared(y[:2], g[:2]) is None


@pytest.fixture(scope="module")
def sweep_page(sweep_dir, tmp_path_factory):
    """(CLI result, page path) of one `compare --csv -o` run, shared by the page tests."""
    out = tmp_path_factory.mktemp("page") / "sweep.html"
    res = CliRunner().invoke(main, ["compare", str(sweep_dir / "*"), "--csv", "-o", str(out)])
    assert res.exit_code == 0, res.output
    return res, out


def test_sweep_page_answers_which_lr_fails(sweep_page):
    res, out = sweep_page
    csv = pd.read_csv(__import__("io").StringIO(res.stdout))
    assert {"status", "outcome", "verdict", "config.lr", "config.seed"} <= set(csv.columns)
    assert (csv.groupby("config.lr")["outcome"].agg(lambda s: s.mode()[0])).to_dict() == {
        lr: fate(lr) for lr in LRS
    }
    soup = BeautifulSoup(out.read_text(), "html.parser")
    head = soup.select_one("p.headline").get_text()
    assert head.startswith("lr explains the outcomes best. 5e-05: 0% failed;")
    assert "0.002: 100% failed; 0.005: 100% failed; 0.01: 100% failed." in head
    assert [th.get_text() for th in soup.select("#keys th")][:6] == [
        "key", "values", "failure ε²", "failure, two-way", "FID ε²", "FID, two-way"
    ]
    rows = soup.select("#runs tbody tr")
    assert len(rows) == len(LRS) * SEEDS + 2
    fig = json.loads(soup.select_one("#parallel script.fig").get_text())
    dims = fig["data"][0]["dimensions"]
    assert [d["label"] for d in dims] == ["lr", "best FID", "outcome"]  # no seed axis
    assert dims[0]["ticktext"] == ["5e-05", "1e-04", "2e-04", "5e-04", "0.002", "0.005", "0.01"]
    # seeds pooled: one setting per lr
    assert len(soup.select("#settings-table tbody tr")) == len(LRS)
    # grids only for the two runs that logged them, never placeholders
    caps = [c.get_text() for c in soup.select("#samples figcaption")]
    assert caps and all(f"s{SEEDS}" in c for c in caps)
    assert any("collapsed" in c and "the last grid" in c for c in caps)
    assert not soup.select(".nosample")
    # no external resource: scripts inline, images data URIs
    assert not soup.select("script[src]") and not soup.select("link[href]")
    assert all(img["src"].startswith("data:") for img in soup.select("img"))


@needs_chromium
def test_sweep_page_in_chromium(sweep_page, tmp_path):
    out = sweep_page[1]
    assert_not_blank(screenshot(out, tmp_path / "sweep.png", height=3000))


def test_json_carries_config_verdict_and_status(sweep_comp):
    data = json.loads(json.dumps(sweep_comp.to_dict(), default=str))
    row = next(r for r in data["runs"] if r["run"] == "lr0.01-s0")
    assert row["config"] == {"lr": 0.01, "seed": 0}
    assert row["outcome"] == "diverged" and row["status"] == "problems"
    assert row["verdict"].startswith("Training diverged")


def test_thinned_runs_give_the_same_table(sweep_dir, sweep_comp, monkeypatch):
    """Workers hand back summaries (runset.thin_run): same table, a fraction of the data."""
    monkeypatch.setattr(runset, "CURVE_POINTS", 7)
    runs, warnings, diags = runset.load_and_diagnose([str(sweep_dir / "*")], thin_above=12)
    thin = comparison.compare_runs(runs, warnings=warnings, diagnoses=diags, group_by="lr")
    full = comparison.compare_runs(
        sweep_comp.runs, warnings=warnings, diagnoses=sweep_comp.diagnoses, group_by="lr"
    )
    pd.testing.assert_frame_equal(thin.table, full.table)
    pd.testing.assert_frame_equal(thin.group_table, full.group_table)
    r = next(r for r in runs if r.name == "lr0.01-s0")
    # 40 rows: every 6th (ceil(40 / 7)) and the last, with the losses under their role names
    assert r.scalars["step"].tolist() == [0, 6, 12, 18, 24, 30, 36, 39]
    assert list(r.scalars.columns) == ["step", "G_loss", "D_loss"]
    assert r.extra["summary"]["rows"] == 40 and r.extra["summary"]["last_step"] == 39
    assert np.isnan(r.scalars["G_loss"].iloc[-1])  # the divergence is still drawn
    assert len(r.series("D_loss")) == 5  # NaN from row 28 on
    # 12 runs or fewer: whole runs
    few, _, _ = runset.load_and_diagnose([str(sweep_dir / "lr0.01-s[0-3]")], thin_above=12)
    assert all("summary" not in r.extra and len(r.scalars) == 40 for r in few)


def test_thin_run_resolves_roles_on_the_full_run(tmp_path):
    from gananalyze import RunLog
    from gananalyze.loader import load_run

    with RunLog(tmp_path / "r", loss="bce") as log:
        for i in range(2502):
            log.scalars(i, lossG=1.0 + i, lossD=2.0 + i, D_x=0.5)
    run = runset.thin_run(load_run(tmp_path / "r"))
    assert run.scalars["step"].tolist() == list(range(0, 2502, 3)) + [2501]  # k = 3
    assert run.scalars["G_loss"].iloc[-1] == 2502.0 and run.scalars["D_loss"].iloc[1] == 5.0
    assert run.extra["summary"]["rows"] == 2502
    assert len(run.extra["summary"]["series"][0]) == 0  # no FID logged


def test_sweep_page_table_is_bounded(sweep_comp, monkeypatch):
    from gananalyze.pages import compare_sweep

    monkeypatch.setattr(compare_sweep, "MAX_TABLE_ROWS", 20)
    ctx = compare_sweep.build_sweep_context(sweep_comp)
    n = len(sweep_comp.runs)
    assert [r["cells"][0]["sort"] for r in ctx["rows"]] == list(range(1, 21))  # the best 20
    assert (
        f"the table lists the 20 best-ranked of the {n} runs; "
        "`gananalyze compare ... --csv` lists every run"
    ) in ctx["notes"]


def test_curve_points_shrink_with_the_runs_count(monkeypatch):
    """A thinned run keeps CURVE_POINTS points of each loss curve up to CURVE_BUDGET points in
    all, fewer beyond (memory grows with the runs' count), never under CURVE_MIN_POINTS."""
    assert [runset.curve_points(n) for n in (1, 12, 1000)] == [1000, 1000, 1000]
    assert [runset.curve_points(n) for n in (2500, 5000, 10_000, 50_000)] == [400, 200, 100, 100]
    monkeypatch.setattr(runset, "CURVE_BUDGET", 30)
    monkeypatch.setattr(runset, "CURVE_MIN_POINTS", 5)
    assert runset.curve_points(4) == 7
    assert runset.curve_points(40) == 5  # the floor
