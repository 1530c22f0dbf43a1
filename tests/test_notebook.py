"""The notebook face (gananalyze.notebook, pages/inline.py): Diagnosis.to_frame, the
diagnosis and report shown as HTML without restyling the notebook, and docs/notebook.py
executed cell by cell as a notebook would."""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from conftest import SAMPLE_RUNS

import gananalyze
from gananalyze.analysis.findings import Diagnosis, Finding
from gananalyze.errors import GanAnalyzeError
from gananalyze.pages.inline import ROOT_CLASS, diagnosis_html

ROOT = Path(__file__).resolve().parents[1]


def _diag(name: str = "run") -> Diagnosis:
    return Diagnosis(
        name,
        "D overpowers G from step 100 (error).",
        findings=[
            Finding("oscillation", "warning", "Losses oscillate", "Period 40 steps.", "", 10, 90),
            Finding(
                "d_overpowering",
                "error",
                "D overpowers G",
                "D(x) 0.99 from step 100.",
                "Lower D's learning rate.",
                100,
                None,
                numbers={"D_x": 0.99, "steps": [100, 199]},
                metrics=["D_x"],
            ),
        ],
        skipped=[("vanishing_gradients", "not enough data: needs G_grad_norm")],
    )


def test_to_frame_has_one_row_per_finding_most_severe_first():
    frame = _diag().to_frame()
    assert list(frame.columns) == [
        "rule", "severity", "title", "start_step", "end_step", "message", "action", "numbers",
        "metrics",
    ]  # fmt: skip
    assert frame["rule"].tolist() == ["d_overpowering", "oscillation"]
    assert frame["severity"].tolist() == ["error", "warning"]
    assert frame["start_step"].tolist() == [100, 10]
    assert frame["end_step"].isna().tolist() == [True, False] and frame["end_step"][1] == 90
    assert str(frame["start_step"].dtype) == "Int64"
    assert frame["numbers"][0] == {"D_x": 0.99, "steps": [100, 199]}
    empty = Diagnosis("r", "Healthy.").to_frame()
    assert empty.empty and list(empty.columns) == list(frame.columns)


def _selectors(css: str) -> list[str]:
    return [s.strip() for block in re.findall(r"([^{}]+)\{", css) for s in block.split(",")]


def test_diagnosis_html_is_scoped_to_its_root_and_escapes_names():
    page = diagnosis_html(_diag('<img src=x onerror="alert(1)">'))
    soup = BeautifulSoup(page, "html.parser")
    (root,) = soup.find_all(recursive=False)
    assert root["class"] == [ROOT_CLASS]
    css = root.style.string
    assert all(s.startswith(f".{ROOT_CLASS}") for s in _selectors(css)), _selectors(css)
    assert soup.find("img") is None and "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    heads = [d.select_one(".title").get_text() for d in soup.select(".finding")]
    assert heads == ["D overpowers G", "Losses oscillate"]
    nums = soup.select_one(".finding .nums").get_text(" ", strip=True)
    assert nums == "D_x 0.99 steps [100, 199]"
    assert "vanishing_gradients (not enough data: needs G_grad_norm)" in soup.get_text()


def test_analyze_and_report_show_themselves(tmp_path, synthetic_run):
    run, diag = gananalyze.analyze(synthetic_run("r", steps=100))
    # balanced losses, no samples: "no problems found", never "healthy" (issue 22)
    assert isinstance(diag, Diagnosis) and diag.status == "no_problems_found"
    assert "Healthy equilibrium" in diag._repr_html_()
    rep = gananalyze.report(run, tsne=False)
    frame = rep._repr_html_()
    soup = BeautifulSoup(frame, "html.parser")
    (iframe,) = soup.find_all(recursive=False)
    assert iframe.name == "iframe" and iframe["sandbox"] == ["allow-scripts"]
    assert iframe["srcdoc"] == rep.html  # the whole page, its global CSS inside the frame
    assert "<style" not in frame and html.escape(rep.html, quote=True) in frame
    out = rep.save(tmp_path / "r.html")
    assert out.read_text() == rep.html
    with pytest.raises(GanAnalyzeError, match="refusing to overwrite"):
        rep.save(run.path / "run.json")


def _cells(path: Path) -> list[str]:
    parts = re.split(r"^# %%.*$", path.read_text(), flags=re.M)
    heads = re.findall(r"^# %%(.*)$", path.read_text(), flags=re.M)
    return [body for head, body in zip(heads, parts[1:], strict=True) if "[markdown]" not in head]


def test_the_example_notebook_runs_cell_by_cell(tmp_path, monkeypatch):
    (tmp_path / "sample_runs").symlink_to(SAMPLE_RUNS)
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    shown = []
    for cell in _cells(ROOT / "docs" / "notebook.py"):
        tree = ast.parse(cell)
        last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        body = ast.Module(tree.body[:-1] if last else tree.body, type_ignores=[])
        exec(compile(body, "notebook", "exec"), ns)
        if last is not None:  # what a notebook shows under the cell
            shown.append(eval(compile(ast.Expression(last.value), "notebook", "eval"), ns))
    diag, findings, scalars, best, report, saved = shown
    assert diag._repr_html_().startswith(f'<div class="{ROOT_CLASS}">')
    assert isinstance(findings, pd.DataFrame) and len(findings) == 5
    assert findings["severity"].tolist()[:2] == ["error", "error"]
    assert scalars.loc["count", "step"] == 3001 and scalars.loc["count", "G_loss"] == 3000
    assert best["step"].tolist()[0] == 1750
    assert report._repr_html_().startswith(
        '<iframe class="gananalyze-inline" sandbox="allow-scripts"'
    )
    assert saved == Path("reports/mode-collapse.html") and saved.is_file()
