"""The HTML report: sections present only with data, everything embedded, user text escaped."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from browser import assert_not_blank, check_charts, needs_chromium, screenshot, sync_playwright
from bs4 import BeautifulSoup
from click.testing import CliRunner
from conftest import write_synthetic_run

from gananalyze import RunLog, generator_spec, load_run
from gananalyze.analysis.evaluations import best_checkpoint
from gananalyze.analysis.findings import Diagnosis, Finding
from gananalyze.analysis.rules import diagnose
from gananalyze.cli import main
from gananalyze.pages.report import build_report_html, render_report
from gananalyze.pages.sections import equilibrium, equilibrium_loss
from gananalyze.runio.store import append_sample_metrics

XSS = "<script>alert(1)</script>"
ALL_SECTIONS = {
    "summary",
    "losses",
    "discriminator",
    "d-accuracy",
    "gradients",
    "histograms",
    "sample-metrics",
    "samples",
    "tsne",
    "other-metrics",
    "config",
    "warnings",
}


def _full_run(path, name="full", steps=300):
    """A native run with every kind of data the report shows (small and fast)."""
    rng = np.random.default_rng(0)
    n = steps
    tp = rng.integers(20, 33, n)
    tn = rng.integers(20, 33, n)
    extra = {
        "D_tp": tp,
        "D_fn": 32 - tp,
        "D_tn": tn,
        "D_fp": 32 - tn,
        "D_acc": (tp + tn) / 64,
        "G_grad_norm": np.exp(-np.linspace(0, 4, n)),
        "D_grad_norm": 1 + rng.random(n),
        "lr": np.full(n, 2e-4),
        "my" + XSS: np.sin(np.arange(n) / 20),
    }
    write_synthetic_run(
        path, steps=n, extra=extra, config={"lr": 2e-4, "note": XSS, "nested": {"beta1": 0.5}}
    )
    from gananalyze.digits import Generator

    torch.manual_seed(0)
    G = Generator(latent_dim=4, hidden=8, layers=1)
    spec = generator_spec(
        "gananalyze.digits:Generator",
        {"latent_dim": 4, "hidden": 8, "layers": 1},
        latent_shape=(4,),
    )
    with RunLog(path, loss="bce", generator=spec, name=name) as log:
        z = torch.randn(16, 4)
        for step in (0, n // 2, n - 1):
            with torch.no_grad():
                log.samples(step, G(z), nrow=4)
            log.checkpoint(step, G)
            G.net[0].weight.grad = torch.randn_like(G.net[0].weight)
            log.histograms(step, G, "G")
    append_sample_metrics(
        path,
        pd.DataFrame(
            {
                "step": [0, n // 2, n - 1],
                "features": "inception",
                "fid": [200.0, 40.0, 55.0],
                "kid": [0.2, 0.03, 0.05],
            }
        ),
    )
    return path


def _soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _sections(soup: BeautifulSoup) -> set[str]:
    return {s["id"] for s in soup.find_all("section")}


def _diag(run, findings=()):
    return Diagnosis(
        run.name,
        "Discriminator overpowers the generator from step 100 (warning).",
        list(findings),
        [("oscillation", "not enough data: needs X")],
        {},
        {"equilibrium": {"loss": "bce", "D_loss": 1.386, "G_loss": 0.693}, "select_metric": "fid"},
    )


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    return _full_run(tmp_path_factory.mktemp("r") / "full")


@pytest.fixture(scope="module")
def full_html(full):
    """The full run's report (with a t-SNE of 60 + 60 + 60 points), written once for the module."""
    import gananalyze.analysis.tsne as tsne

    old, tsne.DEFAULT_N = tsne.DEFAULT_N, 60
    try:
        run = load_run(full)
        finding = Finding(
            "d_overpowering",
            "warning",
            "Discriminator overpowers the generator",
            "D(x) 0.99, D(G(z)) 0.01 " + XSS,
            "Lower D's learning rate.",
            100,
            250,
            {"D_x": 0.991, "per_metric": {"a": 1}},
            ["D_x", "D_loss", "samples"],
        )
        return render_report(run, full.parent / "full.html", diagnosis=_diag(run, [finding]))
    finally:
        tsne.DEFAULT_N = old


def test_full_run_has_every_section_embedded_and_nothing_external(full_html):
    html = full_html.read_text()
    soup = _soup(html)
    assert _sections(soup) == ALL_SECTIONS
    # every section says what the reader looks at
    for s in soup.find_all("section"):
        assert len(s.find("p", class_="what").get_text(strip=True)) > 40, s["id"]
    imgs = soup.find_all("img")
    assert len(imgs) >= 3  # sample grids: the only images; every chart is interactive
    assert all(i["src"].startswith("data:image/png;base64,") for i in imgs)
    assert not soup.select("figure[id^='chart-'] > img")
    # the line charts are interactive: a spec each, drawn by the inlined plotly.js
    assert len(soup.select("div.iplot[data-spec]")) >= 6
    # ... and so are the heat maps, the t-SNE and every other metric
    kinds = [json.loads(d["data-spec"]).get("kind") for d in soup.select("div.iplot")]
    assert kinds.count("heatmap") == 2 and kinds.count("scatter") == 1
    assert soup.select('figure[id^="chart-other-"] div.iplot[data-spec]')
    # ... and so are the per-layer weight/gradient distribution bands
    assert soup.select('figure[id^="chart-dist-"] div.iplot[data-spec]')
    assert not soup.select('figure[id^="chart-dist-"] img')
    # nothing is fetched: no external src/href, only inline scripts, no stylesheets
    for tag in soup.find_all(src=True) + soup.find_all(href=True):
        ref = tag.get("src") or tag.get("href")
        assert not ref.startswith(("http:", "https:", "//")), ref
    assert not soup.find_all(["link", "iframe"])
    assert [s.get("src") for s in soup.find_all("script")] == [None, None]
    # the finding is listed with its numbers and step range, and links to charts that exist
    card = soup.find("div", class_="finding")
    text = card.get_text(" ", strip=True)
    assert "steps 100–250" in text and "0.991" in text and "Lower D's learning rate." in text
    links = [a["href"] for a in card.find_all("a")]
    assert links == ["#chart-D-outputs", "#chart-D_loss", "#chart-diversity"]
    for href in links:
        assert soup.find(id=href[1:]) is not None
    # the best FID (lowest) is at step 150: the film strip names it, but outlines no
    # checkpoint to keep, as this diagnosis carries no recommendation
    assert "step 150" in soup.find(id="summary").get_text()
    marked = [f.get_text(" ", strip=True) for f in soup.select(".strip figure") if "best" in str(f)]
    assert marked == ["step 150 · best fid"]
    assert soup.find("figure", class_="keep") is None and not soup.find(class_="recommendation")
    # confusion matrices: start, middle, end, and where the D finding starts
    heads = [c.find(class_="cmhead").get_text(" ", strip=True) for c in soup.select(".cm")]
    assert len(heads) == 4 and "start" in heads[0] and "end" in heads[-1]
    assert any("Discriminator overpowers the generator starts" in h for h in heads)
    # the escaped strings come out as text, never as tags
    assert XSS in soup.get_text()
    assert "<script>alert(1)</script>" not in html


def test_minimal_run_has_only_what_it_has(synthetic_run):
    p = synthetic_run("min", steps=120)
    run = load_run(p)
    run.scalars = run.scalars[["step", "G_loss", "D_loss"]]
    run.config = {}
    soup = _soup(build_report_html(run, diagnosis=Diagnosis(run.name, "Healthy.")))
    assert _sections(soup) == {"summary", "losses"}
    assert soup.find(id="chart-G_loss") and soup.find(id="chart-D_loss")


def test_run_name_metric_and_config_values_are_escaped(synthetic_run):
    p = synthetic_run("x", steps=80, extra={XSS: 1.0}, config={XSS: XSS})
    with RunLog(p, name=f"run {XSS}"):
        pass
    run = load_run(p)
    run.warnings.append(f"odd line {XSS}")
    html = build_report_html(run, diagnosis=Diagnosis(run.name, f"verdict {XSS}"))
    soup = _soup(html)
    # the only scripts: the inlined plotly.js and the chart controller, no user data in them
    scripts = soup.find_all("script")
    assert [x.get("src") for x in scripts] == [None, None]
    assert scripts[0].text.startswith("/**\n* plotly.js v") and "alert(1)" not in scripts[1].text
    assert soup.title.get_text() == f"run {XSS} · gananalyze report"
    assert soup.h1.get_text() == f"run {XSS}"
    assert (
        html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 5
    )  # name x2, verdict, config key+value, panel alt/warning
    cfg = soup.find("table", class_="config")
    assert [XSS, XSS] in [[td.get_text() for td in tr.find_all("td")] for tr in cfg.find_all("tr")]


def test_real_rules_run_by_default_and_verdict_shown(synthetic_run, tmp_path):
    p = synthetic_run(
        "dover",
        steps=400,
        d_x=0.995,
        d_gz=0.004,
        extra={"G_grad_norm": np.exp(-np.linspace(0, 12, 400))},
    )
    out = render_report(p, tmp_path / "a" / "b" / "r.html", tsne=False)
    soup = _soup(out.read_text())
    verdict = soup.find(class_="verdict").get_text(" ", strip=True)
    assert "overpower" in verdict.lower()
    assert (
        "error" in soup.find(class_="verdict")["class"]
        or "warning" in soup.find(class_="verdict")["class"]
    )
    assert soup.find("div", class_="finding")


def test_equilibrium_lines_follow_the_diagnosis(synthetic_run):
    run = load_run(synthetic_run("e", steps=60))
    assert equilibrium(run, _diag(run)) == {"D_loss": 1.386, "G_loss": 0.693}
    wass = Diagnosis(
        run.name,
        "",
        context={"equilibrium": {"loss": "wasserstein", "D_loss": None, "G_loss": None}},
    )
    assert equilibrium(run, wass) == {}
    eq = equilibrium(run)  # rules.equilibrium: the synthetic D loss sums both BCE terms
    assert eq["D_loss"] == pytest.approx(2 * np.log(2), rel=1e-3)
    # losses that add up 6 discriminators' (VITS): the lines are where the logged losses
    # balance, 6 x one discriminator's
    run6 = load_run(synthetic_run("k", steps=60, loss="lsgan", config={"summed_discriminators": 6}))
    assert equilibrium(run6) == {"D_loss": 3.0, "G_loss": 1.5}
    assert equilibrium_loss(run6, diagnose(run6)) == "lsgan, 6 discriminators summed"


def test_best_checkpoint_lower_or_higher_is_better(tmp_path):
    run = load_run(write_synthetic_run(tmp_path / "b", steps=30))
    run.sample_metrics = pd.DataFrame(
        {"step": [10, 20, 29], "fid": [50.0, 20.0, 30.0], "is": [2.0, 3.0, 4.0]}
    )
    b = best_checkpoint(run, "fid")
    assert (b["step"], b["value"], b["last_step"], b["last_value"]) == (20, 20.0, 29, 30.0)
    assert best_checkpoint(run, "is")["step"] == 29
    assert best_checkpoint(run, "kid") is None


def test_confusion_counts_and_precision_recall(synthetic_run):
    n = 200
    extra = {
        "D_tp": np.full(n, 30.0),
        "D_fn": np.full(n, 2.0),
        "D_fp": np.full(n, 10.0),
        "D_tn": np.full(n, 22.0),
    }
    run = load_run(synthetic_run("cm", steps=n, extra=extra))
    soup = _soup(build_report_html(run, diagnosis=Diagnosis(run.name, "ok")))
    start, middle = soup.select(".cm")[:2]
    assert "TP 30" in start.get_text() and "FP 10" in start.get_text()  # the first step alone
    assert (
        "TP 60" in middle.get_text() and "FP 20" in middle.get_text()
    )  # summed over n // 100 = 2 steps
    assert "last 2 logged steps" in middle.get_text()
    foot = middle.find(class_="foot").get_text()
    assert "precision 0.75" in foot and "recall 0.9375" in foot and "accuracy 0.81" in foot


def test_cli_default_path_options_and_errors(synthetic_run, tmp_path, monkeypatch):
    p = synthetic_run("cli run", steps=60)
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["report", str(p), "--no-tsne", "--smoothing", "0.9"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "reports" / "cli_run.html"
    assert out.is_file() and f"wrote {out.relative_to(tmp_path)}" in r.output
    assert "weight 0.9" in out.read_text()
    r = CliRunner().invoke(
        main,
        ["report", str(p), "-o", str(tmp_path / "deep" / "er" / "x.html"), "--format", "native"],
    )
    assert r.exit_code == 0 and (tmp_path / "deep" / "er" / "x.html").is_file()
    r = CliRunner().invoke(main, ["report", str(p), "--smoothing", "1.5"])
    assert r.exit_code == 2 and "--smoothing" in r.output
    r = CliRunner().invoke(main, ["report", str(tmp_path / "nope")])
    assert r.exit_code == 3 and r.output.startswith("Error:") and "Traceback" not in r.output
    cfg = tmp_path / "rules.yaml"
    cfg.write_text("no_such_threshold: 3\n")
    r = CliRunner().invoke(main, ["report", str(p), "--rules-config", str(cfg)])
    assert r.exit_code == 3 and "no_such_threshold" in r.output


def test_no_tsne_without_checkpoints_or_when_disabled(full):
    def light():
        run = load_run(full)
        run.histograms = pd.DataFrame()  # not under test here, and slow to draw
        run.scalars = run.scalars[["step", "G_loss"]]
        return run

    run = light()
    run.checkpoints = []
    secs = _sections(_soup(build_report_html(run, diagnosis=Diagnosis(run.name, "ok"))))
    assert "tsne" not in secs and "samples" in secs
    run = light()
    assert "tsne" not in _sections(
        _soup(build_report_html(run, diagnosis=Diagnosis(run.name, "ok"), tsne=False))
    )


@needs_chromium
def test_chromium_renders_a_non_blank_page(full_html, tmp_path):
    assert_not_blank(screenshot(full_html, tmp_path / "shot.png"))
    if sync_playwright is None:  # playwright missing: the screenshot above is the check
        return
    # every chart drew (the heat maps and the t-SNE among them), none clips its text
    res = check_charts(full_html)
    assert res["charts"] == res["drawn"] >= 10 and res["errors"] == []
    assert res["clipped"] == []


def test_tsne_real_data_and_reasons(full, tmp_path):
    from gananalyze.analysis import tsne

    run = load_run(full)
    assert tsne.real_source(run) == "sklearn-digits"  # from the generator target
    assert tsne.real_source(run, "my.npy") == "my.npy"
    assert tsne.unavailable_reason(run) is None
    run.generator = None
    assert "generator spec" in tsne.unavailable_reason(run)
    run.checkpoints = []
    assert "checkpoints" in tsne.unavailable_reason(run)
    other = load_run(
        write_synthetic_run(
            tmp_path / "o", steps=20, config={"dataset": "sklearn.datasets.load_digits"}
        )
    )
    assert tsne.real_source(other) == "sklearn-digits"
    assert tsne.real_source(load_run(write_synthetic_run(tmp_path / "p", steps=20))) is None


def test_sample_images_of_several_tags_get_one_strip_each(synthetic_run):
    import io

    from PIL import Image

    from gananalyze.run import SampleGrid

    def png(v):
        buf = io.BytesIO()
        Image.fromarray(np.full((8, 8, 3), v, dtype=np.uint8)).save(buf, format="PNG")
        return buf.getvalue()

    run = load_run(synthetic_run("tags", steps=50))
    run.samples = [
        SampleGrid(step=s, png=png(s), tag=t)
        for s in range(0, 50, 2)
        for t in ("fake_B", "rec_A" + XSS)
    ]
    soup = _soup(build_report_html(run, diagnosis=Diagnosis(run.name, "ok")))
    tags = [p.get_text() for p in soup.select("#samples .striptag")]
    assert tags == ["fake_B", "rec_A" + XSS]
    strips = soup.select("#samples .strip")
    assert [len(s.find_all("img")) for s in strips] == [12, 12]  # 25 each, 12 picked evenly
    assert [f.get_text(strip=True) for f in strips[0].find_all("figcaption")][:2] == [
        "step 0",
        "step 4",
    ]
    assert strips[0].find_all("figcaption")[-1].get_text(strip=True) == "step 48"
    img = Image.open(
        io.BytesIO(__import__("base64").b64decode(strips[0].img["src"].split(",", 1)[1]))
    )
    assert img.size[0] >= 200  # tiny images upscaled (nearest neighbour)
