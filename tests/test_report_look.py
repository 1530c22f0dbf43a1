"""The report's look: legend inside the chart, one colour per finding band, the path as typed,
a WGAN run's loss line, and the page in a real browser."""

from __future__ import annotations

import numpy as np
from browser import assert_not_blank, check_charts, needs_chromium, screenshot, sync_playwright
from bs4 import BeautifulSoup
from click.testing import CliRunner
from conftest import write_synthetic_run

from gananalyze import load_run
from gananalyze.analysis.findings import Diagnosis, Finding
from gananalyze.analysis.report_evidence import gather
from gananalyze.cli import main
from gananalyze.pages.report import _Builder
from gananalyze.pages.text import check_text

LONG = ["Discriminator overpowers the generator", "Generator gradients vanish while D saturates"]


def _f(title: str, sev: str = "warning") -> Finding:
    return Finding("r", sev, title, "m", start_step=10, end_step=50, metrics=["D_x"])


def test_two_findings_on_one_chart_have_two_colours(tmp_path):
    run = load_run(write_synthetic_run(tmp_path / "r", steps=60))
    diag = Diagnosis("r", "v", [_f(LONG[0]), _f("info", "info"), _f(LONG[1])])
    spans = _Builder(gather(run, diag, tsne=False), 0.6).spans_for(["D_x"])
    assert [s.label for s in spans] == LONG
    assert spans[0].color != spans[1].color


def test_a_wgan_runs_loss_line_does_not_speak_of_summed_terms():
    eq = {"loss": "wasserstein", "reduction": "sum", "D_loss": None, "G_loss": None}
    text = check_text(Diagnosis("w", "v", [], context={"equilibrium": eq}))
    assert text.splitlines()[1] == (
        "loss:     wasserstein (critic loss E[D(G(z))] - E[D(x)]; no equilibrium)"
    )


def test_the_header_shows_the_path_as_typed(tmp_path, monkeypatch):
    write_synthetic_run(tmp_path / "runs" / "mine", steps=60)
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["report", "runs/mine", "-o", "out.html", "--no-tsne"])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "out.html").read_text()
    meta = BeautifulSoup(html, "html.parser").select_one("header p.meta").text
    assert meta.startswith("runs/mine · format native")
    assert str(tmp_path) not in html


@needs_chromium
def test_report_with_two_bands_and_a_long_legend_renders(tmp_path):
    n = 400
    p = write_synthetic_run(
        tmp_path / "d", steps=n, d_x=np.linspace(0.5, 0.999, n), d_gz=np.linspace(0.5, 0.001, n)
    )
    out = tmp_path / "d.html"
    assert CliRunner().invoke(main, ["report", str(p), "-o", str(out)]).exit_code == 0
    a = screenshot(out, tmp_path / "d.png", height=2400)
    assert_not_blank(a)
    if sync_playwright is None:  # playwright missing: the screenshot above is the check
        return
    res = check_charts(out)
    assert res["charts"] == res["drawn"] >= 3 and res["errors"] == []
    assert res["clipped"] == []


def test_info_check_and_report_header_say_the_same_loss_type(tmp_path):
    """A CSV run declares no loss type: info, check and the report header all say the one
    the rules judged with, and that it was assumed (issue 11)."""
    from bs4 import BeautifulSoup
    from click.testing import CliRunner

    from gananalyze.cli import main

    d = tmp_path / "csvrun"
    d.mkdir()
    rows = "\n".join(f"{i},{1.38 + 0.01 * (i % 3)},{0.7 + 0.01 * (i % 5)}" for i in range(200))
    (d / "metrics.csv").write_text("step,D_loss,G_loss\n" + rows + "\n")
    info = CliRunner().invoke(main, ["info", str(d)]).output
    check = CliRunner().invoke(main, ["check", str(d)]).output
    assert "loss type:   bce (assumed)" in info and "loss: unknown" not in info
    assert next(x for x in check.splitlines() if x.startswith("loss:")).startswith("loss:     bce")
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", str(d), "-o", str(out), "--no-tsne"])
    assert res.exit_code == 0, res.output
    meta = BeautifulSoup(out.read_text(), "html.parser").select_one("p.meta").get_text()
    assert "loss bce (assumed)" in meta and "step = step" not in meta
