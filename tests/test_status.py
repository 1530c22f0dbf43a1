"""Status looks: only a healthy run is green; a run nobody could judge looks neutral."""

from __future__ import annotations

import numpy as np
from bs4 import BeautifulSoup
from click.testing import CliRunner

from gananalyze import RunLog, load_run
from gananalyze.analysis import analyze
from gananalyze.analysis.findings import Diagnosis, Finding
from gananalyze.cli import main
from gananalyze.pages.report import build_report_html
from gananalyze.pages.status import look, look_of
from gananalyze.pages.text import check_text


def _f(rule: str, sev: str) -> Finding:
    return Finding(rule=rule, severity=sev, title="t", message="m")


def test_each_status_has_its_own_look():
    assert look(Diagnosis("r", "ok", [_f("healthy_equilibrium", "info")])) == look_of("healthy")
    assert look_of("healthy").css == "ok" and look_of("healthy").terminal_color == "green"
    nj = look(Diagnosis("r", "No verdict", [_f("no_data", "info")]))
    assert (nj.css, nj.label, nj.terminal_color) == ("neutral", "not judged", None)
    npf = look(Diagnosis("r", "nothing", []))
    assert (npf.css, npf.label) == ("neutral", "no problems found")
    warn = look(Diagnosis("r", "x", [_f("a", "warning"), _f("b", "info")]))
    err = look(Diagnosis("r", "x", [_f("a", "warning"), _f("b", "error")]))
    assert (warn.css, err.css, err.terminal_color) == ("warning", "error", "red")
    assert look(None).label == "not checked" and look(None).css == "neutral"


def _unjudgeable(path):
    with RunLog(path, loss="bce", flush_rows=1000) as log:
        for i in range(50):
            log.scalars(i, lr=1e-3)
    return path


def test_a_run_the_rules_could_not_judge_is_grey_in_the_report_and_check(tmp_path):
    run = load_run(_unjudgeable(tmp_path / "nj"))
    soup = BeautifulSoup(build_report_html(run, tsne=False), "html.parser")
    box = soup.select_one("div.verdict")
    assert box["class"] == ["verdict", "neutral"]
    assert box.select_one(".label").text == "not judged"
    out = CliRunner().invoke(main, ["check", str(tmp_path / "nj")])
    assert "status:   not judged\n" in out.output
    colored = check_text(analyze(run)[1], color=True)
    assert "\x1b[32m" not in colored  # nothing green for a run nobody judged


def test_a_healthy_run_is_green(synthetic_run):
    # healthy losses and a sample metric (FID, judged against the data) falling to the end
    p = synthetic_run("ok", steps=300, extra={"fid": np.linspace(80.0, 20.0, 300)})
    soup = BeautifulSoup(build_report_html(load_run(p), tsne=False), "html.parser")
    assert soup.select_one("div.verdict")["class"] == ["verdict", "ok"]
    out = CliRunner().invoke(main, ["check", str(p)])
    assert "status:   healthy\n" in out.output


def test_healthy_losses_without_samples_look_neutral_everywhere(synthetic_run, tmp_path):
    """Issue 22: balanced losses with no samples are "no problems found" in check, on the
    report and in compare's outcome, never green "healthy" beside that verdict."""
    p = synthetic_run("losses", steps=300)
    out = CliRunner().invoke(main, ["check", str(p)])
    assert "status:   no problems found\n" in out.output
    assert "verdict:  No problems found, D(x) 0." in out.output
    soup = BeautifulSoup(build_report_html(load_run(p), tsne=False), "html.parser")
    assert soup.select_one("div.verdict")["class"] == ["verdict", "neutral"]
    page = tmp_path / "c.html"
    res = CliRunner().invoke(main, ["compare", str(p), str(p), "-o", str(page), "--no-sweep"])
    assert res.exit_code == 0, res.output
    row = next(x for x in res.output.splitlines() if x.startswith("1  losses"))
    assert "no problems found" in row and "healthy" not in row


def test_compare_shows_a_run_nobody_could_judge_as_neutral(tmp_path):
    """Not judged is not passed: grey "not judged" in compare's table and page (issue 11)."""
    runs = []
    for name, cols in (("judged", "step,D_loss,G_loss"), ("unjudged", "step,lr")):
        d = tmp_path / name
        d.mkdir()
        vals = [
            ",".join([str(i)] + ["1.386" if c == "D_loss" else "0.69" for c in cols.split(",")[1:]])
            for i in range(100)
        ]
        (d / "metrics.csv").write_text(cols + "\n" + "\n".join(vals) + "\n")
        runs.append(str(d))
    out = tmp_path / "c.html"
    res = CliRunner().invoke(main, ["compare", *runs, "-o", str(out), "--no-sweep"])
    assert res.exit_code == 0, res.output
    row = next(x for x in res.output.splitlines() if "unjudged" in x)
    assert "not judged" in row
    soup = BeautifulSoup(out.read_text(), "html.parser")
    tags = [(s.get_text(), s["class"]) for s in soup.select("h3 span.sev")]
    assert ("not judged", ["sev", "sev-neutral"]) in tags
    assert all("sev-ok" not in c for t, c in tags if t == "not judged")
