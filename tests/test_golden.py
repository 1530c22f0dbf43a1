"""Golden outputs: `check --json`, `check` and `info` must not change under refactoring.

The files in tests/golden/ were written by the CLI before the package was reorganised
(issue 13); each test runs the same command again and compares the whole output. Runs in
../shared/real_runs skip cleanly when it is absent. Regenerate deliberately with
`GANANALYZE_REGOLDEN=1 pytest tests/test_golden.py` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REAL_RUNS, SAMPLE_RUNS, real_run

from gananalyze.cli import main

GOLDEN = Path(__file__).resolve().parent / "golden"
SAMPLES = ["healthy", "mode-collapse", "d-overpowers"]
REAL = (
    sorted(p.name for p in REAL_RUNS.iterdir() if p.is_dir())
    if REAL_RUNS.exists()
    else [
        "cyclegan-horse2zebra",
        "pix2pix-ctmri-modified-log",
        "pix2pix-custom-restart",
        "realesrgan-sobel-anime-tb",
        "stylegan2-ada-phytoplankton",
    ]
)


def _run_path(name: str) -> Path:
    return SAMPLE_RUNS / name if name in SAMPLES else real_run(name)


def _compare(args: list[str], golden: Path, root: Path) -> None:
    res = CliRunner().invoke(main, args)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    out = res.output.replace(str(root), "<RUNS>")
    text = f"exit code: {res.exit_code}\n{out}"
    if os.environ.get("GANANALYZE_REGOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()


@pytest.mark.parametrize("name", SAMPLES + REAL)
@pytest.mark.parametrize("as_json", [True, False], ids=["json", "text"])
def test_check_output_unchanged(name: str, as_json: bool) -> None:
    path = _run_path(name)
    args = ["check", str(path)] + (["--json"] if as_json else [])
    ext = "json" if as_json else "txt"
    _compare(args, GOLDEN / "check" / f"{name}.{ext}", path.parent)


@pytest.mark.parametrize("name", SAMPLES + REAL)
def test_info_output_unchanged(name: str) -> None:
    path = _run_path(name)
    _compare(["info", str(path)], GOLDEN / "info" / f"{name}.txt", path.parent)


@pytest.mark.parametrize("metric", ["kid", "precision"])
def test_check_metric_output_unchanged(metric: str) -> None:
    path = SAMPLE_RUNS / "mode-collapse"
    args = ["check", str(path), "--json", "--metric", metric]
    _compare(args, GOLDEN / "check" / f"mode-collapse.{metric}.json", path.parent)


@pytest.mark.parametrize("fmt", ["text", "json", "csv"])
def test_compare_output_unchanged(fmt: str) -> None:
    args = ["compare", *(str(SAMPLE_RUNS / n) for n in SAMPLES)]
    args += {"text": [], "json": ["--json"], "csv": ["--csv"]}[fmt]
    _compare(args, GOLDEN / "compare" / f"samples.{fmt}", SAMPLE_RUNS)


def _outline(html: str) -> str:
    """Headings, section ids and figure count of a page: what 'the same sections' means."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    lines = [
        f"{t.name}: {' '.join(t.get_text().split())}" for t in soup.find_all(["h1", "h2", "h3"])
    ]
    lines += [f"section#{s.get('id')}" for s in soup.find_all("section")]
    lines.append(f"images: {len(soup.find_all('img'))}, svgs: {len(soup.find_all('svg'))}")
    lines.append(f"interactive charts: {len(soup.select('div.iplot[data-spec]'))}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("page", ["report", "compare"])
def test_page_outline_unchanged(page: str, tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    if page == "report":
        args = ["report", str(SAMPLE_RUNS / "mode-collapse"), "--no-tsne", "-o", str(out)]
    else:
        args = ["compare", *(str(SAMPLE_RUNS / n) for n in SAMPLES), "-o", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    text = _outline(out.read_text())
    golden = GOLDEN / "pages" / f"{page}.outline.txt"
    if os.environ.get("GANANALYZE_REGOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert text == golden.read_text()


def test_analyze_is_the_one_entry_for_paths_and_runs(tmp_path: Path) -> None:
    """analyze(path) and analyze(Run) give the diagnosis `check --json` printed."""
    import json

    import gananalyze

    golden = json.loads((GOLDEN / "check" / "healthy.json").read_text().split("\n", 1)[1])
    run, diag = gananalyze.analyze(SAMPLE_RUNS / "healthy")
    assert json.loads(json.dumps(diag.to_dict(), default=str)) == golden
    _, again = gananalyze.analyze(run, rules_config={"eq_prob_tol": 0.01, "poor_recall_max": 0.0})
    assert again.verdict == "No problems found by the 11 checks that could run."
    bad = tmp_path / "rules.yaml"
    bad.write_text("no_such_threshold: 1\n")
    with pytest.raises(gananalyze.GanAnalyzeError, match="unknown threshold"):
        gananalyze.analyze(run, rules_config=bad)
