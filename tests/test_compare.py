"""Tests for gananalyze.compare and the `compare` command."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser import assert_not_blank, check_charts, needs_chromium, screenshot, sync_playwright
from click.testing import CliRunner
from conftest import SAMPLE_RUNS, real_run, write_synthetic_run

from gananalyze import RunLog
from gananalyze.analysis import alignment, comparison, configs, evaluations, runset
from gananalyze.cli import main
from gananalyze.errors import GanAnalyzeError
from gananalyze.pages import compare, compare_charts
from gananalyze.pages import text as pages_text
from gananalyze.run import Run
from gananalyze.runio import store

STEPS = 200


def _fid(path: Path, values, steps=(50, 100, 150, 199)) -> None:
    store.append_sample_metrics(
        path,
        pd.DataFrame(
            {"step": list(steps), "features": "inception", "fid": [float(v) for v in values]}
        ),
    )


def _samples(path: Path, collapse_at: int | None, seed: int, config: dict) -> None:
    """Fixed-noise grids every 20 steps; identical tiles from `collapse_at` on (mode collapse)."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(-1, 1, (16, 1, 8, 8))
    one = rng.uniform(-1, 1, (1, 1, 8, 8))
    with RunLog(path, loss="bce", config=config) as log:
        for i in [*range(0, STEPS, 20), STEPS - 1]:
            if collapse_at is not None and i >= collapse_at:
                imgs = np.repeat(one, 16, axis=0) + rng.normal(0, 0.01, (16, 1, 8, 8))
            else:
                imgs = np.clip(base + rng.normal(0, 0.2, base.shape), -1, 1)
            log.samples(i, imgs, nrow=4)


@pytest.fixture(scope="module")
def trio(tmp_path_factory) -> Path:
    """Synthetic equivalents of the three sample runs, with FID rows (healthy best)."""
    base = tmp_path_factory.mktemp("trio")
    cfgs = {
        "healthy": {"lr": 2e-4, "seed": 0, "batch_size": 64, "opt": {"beta1": 0.5}},
        "mode-collapse": {"lr": 1e-3, "seed": 0, "batch_size": 64, "opt": {"beta1": 0.5}},
        "d-overpowers": {"lr": 2e-4, "seed": 0, "batch_size": 64, "opt": {"beta1": 0.9}},
    }
    write_synthetic_run(
        base / "healthy", steps=STEPS, d_x=0.52, d_gz=0.47, seed=1, config=cfgs["healthy"]
    )
    _samples(base / "healthy", None, 1, cfgs["healthy"])
    _fid(base / "healthy", [120, 60, 41.5, 43])
    write_synthetic_run(
        base / "mode-collapse",
        steps=STEPS,
        d_x=0.55,
        d_gz=0.45,
        seed=2,
        config=cfgs["mode-collapse"],
    )
    _samples(base / "mode-collapse", 100, 2, cfgs["mode-collapse"])
    _fid(base / "mode-collapse", [130, 70, 90, 150])
    write_synthetic_run(
        base / "d-overpowers",
        steps=STEPS,
        d_x=0.99,
        d_gz=0.01,
        g_loss=np.linspace(3, 6, STEPS),
        seed=3,
        config=cfgs["d-overpowers"],
    )
    _fid(base / "d-overpowers", [200, 180, 175, 176])
    return base


@pytest.fixture(scope="module")
def trio_comparison(trio):
    runs, warnings, diags = runset.load_and_diagnose([str(trio / "*")])
    return comparison.compare_runs(runs, warnings=warnings, diagnoses=diags)


# ---------------------------------------------------------------- ranking


def test_trio_ranks_healthy_first_and_shows_findings(trio_comparison):
    t = trio_comparison.table
    assert list(t["run"]) == ["healthy", "mode-collapse", "d-overpowers"]
    assert list(t["rank"]) == [1, 2, 3]
    assert t.loc[0, "fid_best"] == pytest.approx(41.5) and t.loc[0, "fid_best_step"] == 150
    assert t.loc[0, "fid_final"] == pytest.approx(43.0) and t.loc[0, "fid_final_step"] == 199
    assert t.loc[1, "fid_best"] == pytest.approx(70.0) and t.loc[1, "fid_best_step"] == 100
    by = t.set_index("run")
    assert (
        "d_overpowering" in by.loc["d-overpowers", "findings"]
        and by.loc["d-overpowers", "worst"] == "error"
    )
    assert "mode_collapse" in by.loc["mode-collapse", "findings"]
    assert by.loc["healthy", "worst"] in (None, "info")  # FID only: no recall to judge
    # only the differing config keys, flattened
    assert [c for c in t.columns if c.startswith("config.")] == ["config.lr", "config.opt.beta1"]
    assert by.loc["mode-collapse", "config.lr"] == pytest.approx(1e-3)


def test_sample_runs_rank_healthy_first():
    names = ["healthy", "mode-collapse", "d-overpowers"]
    paths = [SAMPLE_RUNS / n for n in names]
    if not all(p.is_dir() for p in paths):
        pytest.skip("sample_runs/ not generated (make sample-runs)")
    runs, _, diags = runset.load_and_diagnose([str(p) for p in paths])
    comp = comparison.compare_runs(runs, diagnoses=diags)
    by = comp.table.set_index("run")
    assert "mode_collapse" in by.loc["mode-collapse", "findings"]
    assert "d_overpowering" in by.loc["d-overpowers", "findings"]
    # balanced losses, but recall <= 0.031 at every evaluation: a warning, never an error
    assert by.loc["healthy", "worst"] == "warning"
    assert "sample_quality" in by.loc["healthy", "findings"]
    if not all(evaluations.metric_series(r, "fid")[1] for r in runs):
        pytest.skip("sample runs have no FID yet (gananalyze fid-sweep): ranking not checked")
    assert comp.table.loc[0, "run"] == "healthy"


def test_higher_is_better_metric_ranks_descending(tmp_path):
    runs = []
    for name, rec in (("a", 0.2), ("b", 0.7), ("c", None)):
        r = Run(path=tmp_path / name, name=name)
        if rec is not None:
            r.sample_metrics = pd.DataFrame({"step": [10, 20], "recall": [rec / 2, rec]})
        runs.append(r)
    t = comparison.compare_table(runs, metric="recall", diagnoses={})
    assert list(t["run"]) == ["b", "a", "c"]
    assert t.loc[0, "recall_best"] == pytest.approx(0.7)
    assert pd.isna(t.loc[2, "recall_best"])


# ---------------------------------------------------------------- config diff


def test_config_diff_lists_exactly_the_differing_keys():
    base = {
        "lr": 1e-4,
        "seed": 0,
        "opt": {"beta1": 0.5, "beta2": 0.999},
        "layers": [1, 2],
        "name": "x",
    }
    a = Run(path=Path("a"), name="a", config=json.loads(json.dumps(base)))
    b_cfg = json.loads(json.dumps(base))
    b_cfg["lr"] = 2e-4
    b_cfg["opt"]["beta2"] = 0.99
    c_cfg = json.loads(json.dumps(base))
    c_cfg["layers"] = [1, 2, 3]
    c_cfg["extra"] = True
    c_cfg["seed"] = 0.0  # same value, other type: not a difference
    runs = [
        a,
        Run(path=Path("b"), name="b", config=b_cfg),
        Run(path=Path("c"), name="c", config=c_cfg),
    ]
    diff = configs.config_diff(runs)
    assert list(diff.columns) == ["lr", "opt.beta2", "layers", "extra"]
    assert list(diff.index) == ["a", "b", "c"]
    assert diff.loc["b", "lr"] == pytest.approx(2e-4) and diff.loc["a", "lr"] == pytest.approx(1e-4)
    assert diff.loc["c", "layers"] == "[1, 2, 3]"
    assert diff.loc["c", "extra"] is True and diff.loc["a", "extra"] is None
    assert configs.config_diff(runs[:1]).shape == (1, 0)


# ---------------------------------------------------------------- groups


def test_aggregate_mean_and_bands_on_shared_steps():
    a = pd.Series([1.0, 2, 3, 4, 5], index=[0, 10, 20, 30, 40])
    b = pd.Series([3.0, 4, 5, 6, 7], index=[0, 10, 20, 30, 40])
    c = pd.Series(
        [2.0, 3, 4, 5, 6, 100], index=[0, 10, 20, 30, 40, 50]
    )  # longer: step 50 is not shared
    mm = configs.aggregate([a, b, c], "minmax")
    assert mm["step"].tolist() == [0, 10, 20, 30, 40]
    np.testing.assert_allclose(mm["mean"], [2, 3, 4, 5, 6])
    np.testing.assert_allclose(mm["lo"], [1, 2, 3, 4, 5])
    np.testing.assert_allclose(mm["hi"], [3, 4, 5, 6, 7])
    assert mm["n"].tolist() == [3] * 5
    sd = configs.aggregate([a, b, c], "std")
    np.testing.assert_allclose(sd["lo"], [1, 2, 3, 4, 5])  # mean -+ sample std (= 1 here)
    np.testing.assert_allclose(sd["hi"], [3, 4, 5, 6, 7])
    # other cadence: only the common steps, never interpolated
    d = pd.Series([10.0, 30.0], index=[0, 20])
    both = configs.aggregate([a, d], "minmax")
    assert both["step"].tolist() == [0, 20]
    np.testing.assert_allclose(both["mean"], [5.5, 16.5])
    assert len(configs.aggregate([a, pd.Series([1.0], index=[5])])) == 0
    with pytest.raises(GanAnalyzeError):
        configs.aggregate([a], "iqr")


def _seed_runs(base: Path) -> list[Path]:
    """Two learning rates x three seeds; G_loss = offset per run, FID known."""
    paths = []
    fids = {
        (1e-4, 0): 30,
        (1e-4, 1): 32,
        (1e-4, 2): 34,
        (5e-4, 0): 50,
        (5e-4, 1): 60,
        (5e-4, 2): 70,
    }
    for (lr, seed), fid in fids.items():
        p = base / f"lr{lr:g}-s{seed}"
        write_synthetic_run(
            p,
            steps=60,
            seed=seed,
            noise=0.0,
            g_loss=1.0 + seed + (10 if lr > 1e-4 else 0),
            config={"lr": lr, "seed": seed, "model": {"ngf": 64}},
        )
        _fid(p, [fid + 20, fid], steps=(20, 59))
        paths.append(p)
    return paths


def test_group_by_config_key_aggregates_seeds(tmp_path):
    runs, _ = runset.load_runs(_seed_runs(tmp_path))
    comp = comparison.compare_runs(runs, group_by="lr")
    assert [(g.label, g.n) for g in comp.groups] == [("lr=0.0001", 3), ("lr=0.0005", 3)]
    assert not comp.warnings  # they differ by seed only
    gt = comp.group_table.set_index("group")
    assert gt.loc["lr=0.0001", "fid_best_mean"] == pytest.approx(32.0)
    assert (gt.loc["lr=0.0001", "fid_best_min"], gt.loc["lr=0.0001", "fid_best_max"]) == (
        30.0,
        34.0,
    )
    assert gt.loc["lr=0.0001", "fid_best_std"] == pytest.approx(2.0)
    assert (
        gt.loc["lr=0.0005", "fid_best_mean"] == pytest.approx(60.0)
        and gt.loc["lr=0.0005", "n"] == 3
    )
    assert list(gt.index) == ["lr=0.0001", "lr=0.0005"]
    # the curves: mean and band of G_loss across the seeds, on the shared steps
    g = comp.groups[0]
    agg = configs.aggregate([r.series("G_loss") for r in g.runs], "minmax")
    assert len(agg) == 60
    np.testing.assert_allclose(agg["mean"], 2.0)
    np.testing.assert_allclose(agg["lo"], 1.0)
    np.testing.assert_allclose(agg["hi"], 3.0)
    text = pages_text.format_table(comp)
    assert "lr=0.0001  n=3  mean 32 (min 30, max 34)" in text
    ctx = compare.build_context(comp, band="std", smoothing=0.0)
    assert [x["name"] for x in ctx["legend"]] == ["lr=0.0001 (n=3)", "lr=0.0005 (n=3)"]
    assert ctx["group_rows"][0]["cells"][:3] == ["lr=0.0001", "3", "32"]


def test_group_by_name_pattern_and_warnings(tmp_path):
    paths = _seed_runs(tmp_path)
    runs, _ = runset.load_runs(paths)
    groups = configs.group_runs(runs, r"re:lr[0-9.e-]+")
    assert [(g.label, g.n) for g in groups] == [("lr0.0001-", 3), ("lr0.0005-", 3)]
    groups = configs.group_runs(runs, r"re:lr([0-9.e]+)")
    assert [g.label for g in groups] == ["0.0001", "0.0005"]
    # grouping by seed mixes learning rates: warned, not hidden
    groups = configs.group_runs(runs, "seed")
    assert [g.n for g in groups] == [2, 2, 2]
    assert all(any("differ in more than the seed (lr)" in w for w in g.warnings) for g in groups)
    # a key nested in the config matches by its last segment
    assert [g.label for g in configs.group_runs(runs, "ngf")] == ["ngf=64"]
    with pytest.raises(GanAnalyzeError, match="regular expression"):
        configs.group_runs(runs, "re:(")


# ---------------------------------------------------------------- alignment


def test_x_axes(tmp_path):
    p = write_synthetic_run(tmp_path / "a", steps=120, config={"batchSize": 32})
    run = store.load_native(p)
    f, desc = alignment.x_mapper(run, "images")
    assert desc == "step x batch size 32"
    np.testing.assert_allclose(f(np.array([0, 10, 100])), [0, 320, 3200])
    f, _ = alignment.x_mapper(run, "epoch")
    np.testing.assert_allclose(f(np.array([0, 49, 50, 119])), [0, 0, 1, 2])
    f, _ = alignment.x_mapper(run, "time")
    assert f(run.steps[:1])[0] == 0.0 and f(run.steps[-1:])[0] >= 0
    bare = Run(
        path=tmp_path,
        name="bare",
        scalars=pd.DataFrame({"step": np.arange(5, dtype=np.int64), "G_loss": np.ones(5)}),
    )
    assert alignment.x_mapper(bare, "epoch") == (None, "no epoch column")
    assert alignment.x_mapper(bare, "images")[0] is None
    kimg = Run(
        path=tmp_path,
        name="sg",
        config={"batch_size": 32},
        scalars=pd.DataFrame(
            {"step": np.arange(3, dtype=np.int64), "Progress/kimg": [0.0, 4.0, 8.0]}
        ),
    )
    f, desc = alignment.x_mapper(kimg, "images")
    assert desc == "Progress/kimg x 1000"  # kimg wins over step x batch (a StyleGAN step is a tick)
    np.testing.assert_allclose(f(np.array([0, 1, 2])), [0, 4000, 8000])


def test_unavailable_x_and_partial_metrics_are_noted(tmp_path):
    a = write_synthetic_run(
        tmp_path / "a", steps=80, config={"batch_size": 16, "seed": 0}, extra={"G_grad_norm": 1.0}
    )
    b = write_synthetic_run(tmp_path / "b", steps=80, config={"seed": 1})
    runs, _ = runset.load_runs([a, b])
    ctx = compare.build_context(comparison.compare_runs(runs), x="images")
    assert any(
        "b is not on the charts: --x images is unavailable for it" in n for n in ctx["notes"]
    )
    runs, _ = runset.load_runs([a, b])
    ctx = compare.build_context(comparison.compare_runs(runs), x="step")
    grad = next(c for c in ctx["charts"] if c["title"] == "G gradient norm")
    assert grad["notes"] == ["G gradient norm: shown for 1 of 2 runs; not logged by b"]
    assert not any("not on the charts" in n for n in ctx["notes"])


# ---------------------------------------------------------------- loading and errors


def test_missing_or_unreadable_run_is_named(trio, tmp_path):
    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "run.json").write_text("{not json")
    cli = CliRunner()
    res = cli.invoke(
        main, ["compare", str(trio / "healthy"), str(tmp_path / "nope"), str(trio / "d-overpowers")]
    )
    assert res.exit_code == 3
    assert (
        f"Error: {tmp_path / 'nope'}: no such file or directory" in res.output
        and "--skip-bad" in res.output
    )
    assert "Traceback" not in res.output
    res = cli.invoke(main, ["compare", str(trio / "healthy"), str(bad)])
    assert (
        res.exit_code == 3
        and str(bad / "run.json") in res.output
        and "not valid JSON" in res.output
    )
    res = cli.invoke(
        main,
        [
            "compare",
            str(trio / "healthy"),
            str(tmp_path / "nope"),
            str(bad),
            str(trio / "d-overpowers"),
            "--skip-bad",
        ],
    )
    assert res.exit_code == 0, res.output
    assert f"warning: {tmp_path / 'nope'}: no such file or directory; skipped" in res.stderr
    assert str(bad / "run.json") in res.stderr
    assert "healthy" in res.stdout and "d-overpowers" in res.stdout
    with pytest.raises(GanAnalyzeError, match="no run left"):
        runset.load_runs([tmp_path / "nope"], skip_bad=True)


def test_globs_expand_to_directories_only(trio, tmp_path):
    (tmp_path / "x-file.txt").write_text("not a run")
    write_synthetic_run(tmp_path / "x-run", steps=30)
    runs, warnings = runset.load_runs(
        [str(tmp_path / "x-*"), str(trio / "healthy"), str(trio / "healthy")]
    )
    assert [r.name for r in runs] == ["x-run", "healthy"] and warnings == []
    with pytest.raises(GanAnalyzeError, match="matches no run directory"):
        runset.load_runs([str(tmp_path / "zzz*")])


def test_same_names_become_distinct(tmp_path):
    for d in ("a", "b"):
        write_synthetic_run(tmp_path / d / "run", steps=30)
    runs, _ = runset.load_runs([tmp_path / "a" / "run", tmp_path / "b" / "run"])
    assert [r.name for r in runs] == [str(tmp_path / "a" / "run"), str(tmp_path / "b" / "run")]


def test_parallel_loading_matches_serial(trio):
    r1, w1, d1 = runset.load_and_diagnose([str(trio / "*")], jobs=1)
    r2, w2, d2 = runset.load_and_diagnose([str(trio / "*")], jobs=2)
    assert [r.name for r in r1] == [r.name for r in r2]
    assert {k: v.verdict for k, v in d1.items()} == {k: v.verdict for k, v in d2.items()}
    pd.testing.assert_frame_equal(r1[0].scalars, r2[0].scalars)


def test_thinned_runs_share_what_they_hold_in_common(trio):
    """With thinning (many runs), equal thresholds and empty NaN/Inf tables are kept once in
    the parent, and the diagnoses are the ones of unthinned loading."""
    r0, _, d0 = runset.load_and_diagnose([str(trio / "*")], jobs=2)
    runs, _, diags = runset.load_and_diagnose([str(trio / "*")], jobs=2, thin_above=0)
    th = [d.thresholds for d in diags.values()]
    assert len(th) == 3 and all(t is th[0] for t in th) and th[0] == d0["healthy"].thresholds
    empty = [r.nonfinite for r in runs if len(r.nonfinite) == 0]
    assert len(empty) >= 2 and all(nf is empty[0] for nf in empty)
    assert {k: d.to_dict() for k, d in diags.items()} == {k: d.to_dict() for k, d in d0.items()}
    unthinned = [r for r in r0 if len(r.nonfinite) == 0]
    assert all(nf is not unthinned[0].nonfinite for nf in (r.nonfinite for r in unthinned[1:]))


# ---------------------------------------------------------------- CLI and HTML


def test_cli_table_json_csv(trio):
    cli = CliRunner()
    res = cli.invoke(main, ["compare", str(trio / "*")])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].split()[:3] == ["#", "run", "format"]
    assert [ln.split()[1] for ln in lines[1:4]] == ["healthy", "mode-collapse", "d-overpowers"]
    assert "41.5 @150" in lines[1]
    assert "config keys that differ: lr, opt.beta1" in res.stdout
    assert "[error] Discriminator overpowers" in res.stdout
    res = cli.invoke(main, ["compare", str(trio / "*"), "--json"])
    data = json.loads(res.stdout)
    assert [r["run"] for r in data["runs"]] == ["healthy", "mode-collapse", "d-overpowers"]
    assert data["runs"][2]["config"] == {"lr": 0.0002, "opt.beta1": 0.9}
    assert any(f["rule"] == "d_overpowering" for f in data["runs"][2]["findings"])
    assert data["config_diff_keys"] == ["lr", "opt.beta1"]
    res = cli.invoke(main, ["compare", str(trio / "*"), "--csv"])
    df = pd.read_csv(io.StringIO(res.stdout))
    assert df["run"].tolist() == ["healthy", "mode-collapse", "d-overpowers"]
    assert df.loc[0, "fid_best"] == pytest.approx(41.5)


def test_html_is_self_contained_and_escaped(trio, tmp_path):
    bs4 = pytest.importorskip("bs4")
    evil = write_synthetic_run(tmp_path / "evil", steps=60, config={"lr": "<b>2e-4</b>", "seed": 0})
    meta = json.loads((evil / "run.json").read_text())
    meta["name"] = "<script>alert(1)</script>"
    meta["name_given"] = True  # an explicit name is what a run is called by
    (evil / "run.json").write_text(json.dumps(meta))
    out = tmp_path / "reports" / "compare.html"
    res = CliRunner().invoke(
        main, ["compare", str(trio / "*"), str(evil), "-o", str(out), "--x", "images"]
    )
    assert res.exit_code == 0, res.output
    html = out.read_text()
    soup = bs4.BeautifulSoup(html, "html.parser")
    # the only scripts: the inlined plotly.js and the chart controller, no user data in them
    scripts = soup.find_all("script")
    assert [x.get("src") for x in scripts] == [None, None]
    assert scripts[0].text.startswith("/**\n* plotly.js v") and "alert(1)" not in scripts[1].text
    assert soup.find_all("link") == []
    assert (
        "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    )
    assert "<b>2e-4</b>" not in html
    for tag in soup.find_all(src=True):
        assert tag["src"].startswith("data:image/")
    assert not [t for t in soup.find_all(href=True) if not t["href"].startswith("#")]
    for sid in ("ranking", "metric", "discriminator", "metrics", "samples", "config", "findings"):
        sec = soup.find("section", id=sid)
        assert sec is not None and sec.find("h2") is not None
        assert len(sec.find_all("p", class_="what")) == 1  # one sentence per section
    rows = soup.find("section", id="ranking").find("tbody").find_all("tr")
    assert [r.find_all("td")[1].get_text(strip=True) for r in rows][:3] == [
        "healthy",
        "mode-collapse",
        "d-overpowers",
    ]
    assert len(soup.find("section", id="metric").select("div.iplot[data-spec]")) == 1
    assert len(soup.find("section", id="discriminator").select("div.iplot[data-spec]")) == 2
    # the two runs with grids: nearest the best FID and the last grid (the collapse shows
    # only in the last); the run without grids is named, not shown as a placeholder
    caps = [c.get_text(" ", strip=True) for c in soup.select("#samples figcaption")]
    assert caps == [
        "healthy: step 160, nearest the best FID (step 150)",
        "healthy: step 199, the last grid",
        "mode-collapse: step 100, nearest the best FID (step 100)",
        "mode-collapse: step 199, the last grid",
    ]
    assert soup.select_one("#samples ul.notes").get_text(strip=True) == (
        "No sample images: d-overpowers, <script>alert(1)</script>"
    )
    keys = [
        tr.find("td").get_text(strip=True)
        for tr in soup.find("section", id="config").find("tbody").find_all("tr")
    ]
    assert keys == ["lr", "batch_size", "opt.beta1"]
    findings = soup.find("section", id="findings").get_text(" ", strip=True)
    assert "Discriminator overpowers the generator" in findings
    assert any(
        "not on the charts: --x images is unavailable" in li.get_text()
        for li in soup.select("header ul.notes li")
    )


# ---------------------------------------------------------------- other formats


def test_native_vs_stylegan(trio, tmp_path):
    sg = real_run("stylegan2-ada-phytoplankton")
    runs, _, diags = runset.load_and_diagnose([trio / "healthy", sg])
    comp = comparison.compare_runs(runs, diagnoses=diags)
    by = comp.table.set_index("run")
    assert by.loc["stylegan2-ada-phytoplankton", "format"] == "stylegan"
    fid = runs[1].sample_metrics
    assert by.loc["stylegan2-ada-phytoplankton", "fid_best"] == pytest.approx(fid["fid"].min())
    assert list(comp.table["run"]) == [
        "stylegan2-ada-phytoplankton",
        "healthy",
    ]  # FID ~28.8 beats 41.5
    keys = dict(compare_charts.metric_keys(runs))
    assert keys["G_loss"] == ["healthy", "stylegan2-ada-phytoplankton"]  # Loss/G/loss is G_loss
    assert keys["D_loss"] == ["healthy", "stylegan2-ada-phytoplankton"]
    ctx = compare.build_context(comp, x="images", max_metric_charts=3)
    assert not any("not on the charts" in n for n in ctx["notes"])  # kimg and batch_size
    assert [c["title"] for c in ctx["charts"]] == ["G loss", "D loss", "D_x_logit"]
    assert "more metrics not drawn" in ctx["metric_notes"][0]
    g = next(c for c in ctx["charts"] if c["title"] == "G loss")
    assert g["notes"] == []
    html = compare.render_html(ctx)
    assert "stylegan2-ada-phytoplankton" in html


def test_native_vs_cyclegan(trio, tmp_path):
    cg = real_run("cyclegan-horse2zebra")
    runs, _ = runset.load_runs([trio / "d-overpowers", cg])
    comp = comparison.compare_runs(runs)
    assert set(comp.table["run"]) == {"d-overpowers", "cyclegan-horse2zebra"}
    assert comp.table.loc[0, "run"] == "d-overpowers"  # the only one with FID
    assert any("FID is missing for cyclegan-horse2zebra" in n for n in comp.notes)
    ctx = compare.build_context(comp, x="epoch", max_metric_charts=3)
    assert ctx["charts"] and compare.render_html(ctx)


def test_shell_expanded_files_that_are_not_runs_are_skipped(tmp_path):
    from conftest import write_synthetic_run

    from gananalyze.analysis.runset import load_runs

    write_synthetic_run(tmp_path / "a", steps=20)
    write_synthetic_run(tmp_path / "b", steps=20)
    (tmp_path / "README.md").write_text("# runs")
    runs, warnings = load_runs([tmp_path / "README.md", tmp_path / "a", tmp_path / "b"])
    assert [r.name for r in runs] == ["a", "b"]
    assert warnings == [f"{tmp_path / 'README.md'}: a file that is not a run; skipped"]


def test_fid_from_different_feature_networks_gets_a_note(tmp_path):
    import pandas as pd
    from conftest import write_synthetic_run

    from gananalyze.analysis.comparison import compare_runs
    from gananalyze.analysis.runset import load_runs
    from gananalyze.runio import store

    for name, feats, fid in (
        ("a", "inception", 30.0),
        ("b", "digits", 200.0),
        ("c", "inception", 40.0),
    ):
        p = write_synthetic_run(tmp_path / name, steps=20)
        store.append_sample_metrics(
            p, pd.DataFrame({"step": [0, 10], "features": feats, "fid": [fid * 2, fid]})
        )
    runs, _ = load_runs([tmp_path / n for n in "abc"])
    comp = compare_runs(runs)
    assert comp.notes == [
        "FID was computed with different feature networks (inception: "
        "a, c; digits: b); values are only comparable within one network, "
        "so the ranking across them means little"
    ]


def test_compare_rules_config_changes_the_findings_like_check(tmp_path):
    """`compare --rules-config` diagnoses each run exactly as `check --rules-config` does."""
    import json as _json

    run = SAMPLE_RUNS / "healthy"
    cfg = tmp_path / "rules.yaml"
    # D(x) 0.61 is no longer "near 0.5"; recall 0.031 no longer "never came near the data"
    cfg.write_text("eq_prob_tol: 0.01\npoor_recall_max: 0.0\n")
    res = CliRunner().invoke(main, ["compare", str(run), "--json", "--rules-config", str(cfg)])
    assert res.exit_code == 0, res.output
    verdict = _json.loads(res.output)["runs"][0]["verdict"]
    chk = CliRunner().invoke(main, ["check", str(run), "--json", "--rules-config", str(cfg)])
    expected = _json.loads(chk.output)["verdict"]
    assert expected.startswith("No problems found by the")
    assert verdict == expected
    bad = CliRunner().invoke(
        main, ["compare", str(run), "--rules-config", str(tmp_path / "no.yaml")]
    )
    assert bad.exit_code == 3 and "no.yaml: no such rules-config file" in bad.output


@needs_chromium
def test_chromium_renders_the_compare_page(tmp_path):
    out = tmp_path / "compare.html"
    runs = [str(SAMPLE_RUNS / r) for r in ("healthy", "mode-collapse", "d-overpowers")]
    res = CliRunner().invoke(main, ["compare", *runs, "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert_not_blank(screenshot(out, tmp_path / "compare.png", height=3000))
    if sync_playwright is None:  # playwright missing: the screenshot above is the check
        return
    res = check_charts(out)
    assert res["charts"] == res["drawn"] == 10 and res["errors"] == []
    assert res["clipped"] == []


# ---------------------------------------------------------------- issue 11: loss metric, y axis


def test_metric_that_is_a_loss_ranks_by_its_end_level(trio):
    res = CliRunner().invoke(main, ["compare", str(trio / "*"), "--metric", "D_loss", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    order = [r["run"] for r in data["runs"]]
    assert order[0] == "d-overpowers"  # lowest D loss at the end; a loss, so lower first
    runs, _ = runset.load_runs([str(trio / "d-overpowers")])
    d = runs[0].series("D_loss")
    tail = d.to_numpy()[-round(len(d) * 0.1) :]
    row = data["runs"][0]
    assert row["D_loss_best"] == pytest.approx(float(np.median(tail)))
    assert row["D_loss_best_step"] == int(d.index[-1])
    assert any("D loss is a training signal, not a sample metric" in n for n in data["notes"])
    titles = [f["title"] for r in data["runs"] for f in r["findings"]]
    assert not [t for t in titles if "D_loss" in t or "D loss jumped" in t]
    # the rules still judge samples by FID: mode-collapse's FID jump is found
    mc = next(r for r in data["runs"] if r["run"] == "mode-collapse")
    assert any(f["title"] == "FID jumped up (samples degraded)" for f in mc["findings"])


def test_is_sample_metric_rule():
    from gananalyze.analysis.evaluations import rules_metric
    from gananalyze.naming.aliases import is_sample_metric

    for m in ("fid", "FID", "fid50k_full", "kid", "precision", "is", "ppl"):
        assert is_sample_metric(m), m
    for m in ("D_loss", "G_loss", "loss_D", "D_x", "G_grad_norm", "lr"):
        assert not is_sample_metric(m), m
    assert rules_metric("D_loss") == "fid" and rules_metric("kid") == "kid"


def test_robust_y_limits_ignore_one_runs_spikes():
    rng = np.random.default_rng(0)
    calm = [rng.normal(1.0, 0.1, 500) for _ in range(5)]
    spiky = rng.normal(1.0, 0.1, 500)
    spiky[[50, 300]] = [3e4, -3e4]
    lo, hi, beyond = compare_charts.robust_limits([*calm, spiky])
    assert 0.0 < lo < 0.7 and 1.3 < hi < 2.0 and beyond == 2
    assert compare_charts.robust_limits(calm) is None  # nothing to hide: the full range
