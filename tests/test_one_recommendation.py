"""One recommendation per run (issue 22, item 4): the checkpoint to keep and the step to
stop are named once, by analysis.recommendation, and `check`, `check --json`, the report
page, `compare` (text and page) and the notebook's diagnosis print that same sentence; no
finding names another checkpoint, a stop step or a "best checkpoint" (the d-overpowers
report listed an info "Best checkpoint: step 3000 (FID 947) -> Nothing to fix" beside "no
checkpoint to keep").

Shapes: the sample runs, and generated runs where D wins from the start, samples collapse
late after good training, and training stays healthy.
"""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner
from conftest import SAMPLE_RUNS

import gananalyze
from gananalyze.cli import main
from gananalyze.runio import store
from gananalyze.runio.runlog import RunLog

# what only the recommendation may say: keep/resume a checkpoint, stop at a step
NAMES_A_CHECKPOINT = re.compile(
    r"\bkeep (the |checkpoint|step)|resume from|restart from|checkpoint at step|best checkpoint|"
    r"or earlier|stop (training )?at step|training longer is unlikely",
    re.IGNORECASE,
)
STEPS = list(range(0, 400, 50))


def cli(*args):
    res = CliRunner().invoke(main, [*map(str, args)])
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    return res


def _run(path, d_wins_from: int, fid: list[float], extra: dict | None = None):
    """400 steps of BCE losses and D outputs (balanced, or D winning from `d_wins_from`),
    FID (and `extra` sample metrics) at every 50 steps, a checkpoint at each evaluation."""
    rng = np.random.default_rng(0)
    with RunLog(path, name=path.name, loss="bce", flush_rows=10_000) as log:
        for s in range(400):
            won = s >= d_wins_from
            log.scalars(
                s,
                D_x=0.999 if won else 0.6 + 0.01 * rng.normal(),
                D_G_z_before=0.001 if won else 0.4 + 0.01 * rng.normal(),
                D_loss=0.002 if won else 1.15 + 0.02 * rng.normal(),
                G_loss=7.0 if won else 1.0 + 0.02 * rng.normal(),
            )
    store.append_sample_metrics(path, pd.DataFrame({"step": STEPS, "fid": fid, **(extra or {})}))
    (path / store.CKPT_DIR).mkdir(exist_ok=True)
    for c in STEPS:
        (path / store.CKPT_DIR / f"step-{c:09d}.pt").write_bytes(b"")
    return path


SHAPES = {
    # D wins from step 5; FID still falls inside the error: no checkpoint is worth keeping
    "d-wins-from-the-start": (
        dict(d_wins_from=5, fid=[400.0, 300.0, 250.0, 240.0, 230.0, 220.0, 215.0, 210.0]),
        "No checkpoint to keep: every one saved after the first step lies in or after "
        "discriminator overpowers the generator (from step 5); restart with the changes above "
        "(the best FID, 210 at step 350, lies inside it).",
    ),
    # good training, then recall falls to 0.05 with precision 0.8 from step 200 (collapse)
    # while FID keeps creeping down: keep the best before the collapse, not FID's best
    "late-collapse": (
        dict(
            d_wins_from=10**9,
            fid=[300.0, 150.0, 90.0, 70.0, 65.0, 64.0, 63.0, 62.0],
            extra={
                "precision": [0.3, 0.5, 0.7, 0.75, 0.8, 0.85, 0.85, 0.86],
                "recall": [0.2, 0.4, 0.55, 0.6, 0.05, 0.04, 0.03, 0.03],
            },
        ),
        "Keep checkpoint step-000000150.pt (step 150, FID 70), the best by FID before mode "
        "collapse (from step 200); resume from it with the changes above.",
    ),
    "healthy": (
        dict(d_wins_from=10**9, fid=[300.0, 150.0, 90.0, 70.0, 60.0, 55.0, 54.8, 56.0]),
        "Keep checkpoint step-000000300.pt (step 300, FID 54.8); training could have stopped "
        "at step 250 (FID 55, within 2% of it).",
    ),
}


def _same_everywhere(tmp_path, run) -> str:
    """The recommendation check prints, asserted equal in check --json, the report page and
    compare (text and page); no finding on any of them names a checkpoint or a stop step."""
    out = cli("check", run).output
    keep = [line[10:] for line in out.splitlines() if line.startswith("keep:")]
    assert len(keep) <= 1
    text = keep[0] if keep else None
    d = json.loads(cli("check", run, "--json").output)
    assert (d["recommendation"] or {}).get("text") == text
    for f in d["findings"]:
        assert not NAMES_A_CHECKPOINT.search(f["title"] + " " + f["action"]), f
    if text is None or text.startswith("No checkpoint"):
        assert not re.search(r"\bKeep\b", out.replace(text or "", ""))

    page = tmp_path / f"{run.name}.html"
    cli("report", run, "--no-tsne", "-o", page)
    body = page.read_text()
    shown = re.findall(r'<p class="recommendation"><b>Recommendation:</b> ([^<]*)</p>', body)
    if text is None:
        assert shown == []
    else:
        assert [html.unescape(s) for s in shown] == [text]
    assert not re.search(r"best checkpoint:|keep step", body, re.IGNORECASE)
    # the charts mark "keep" at the kept checkpoint only; the film strip outlines its grid
    soup = BeautifulSoup(body, "html.parser")
    marks = {
        (int(v["x"]), v["label"])
        for div in soup.select("div.iplot[data-spec]")
        for v in json.loads(div["data-spec"]).get("vlines", [])
    }
    keep_step = (d["recommendation"] or {}).get("keep_step")
    assert {x for x, label in marks if label.startswith("keep")} == (
        {keep_step} if keep_step is not None else set()
    )
    kept = [f.get_text(" ", strip=True) for f in soup.select("figure.keep")]
    if keep_step is None:
        assert kept == []

    cpage = tmp_path / f"{run.name}-compare.html"
    comp = cli("compare", run, "-o", cpage).output  # the text, and the page with -o
    assert [line[10:] for line in comp.splitlines() if line.startswith("    keep: ")] == (
        [text] if text is not None else []
    )
    recs = re.findall(r"<b>Recommendation:</b> ([^<]*)</p>", cpage.read_text())
    assert [html.unescape(s) for s in recs] == ([text] if text is not None else [])
    # the notebook API: the diagnosis object and the HTML a notebook shows for it
    _, nb = gananalyze.analyze(run)
    assert (nb.recommendation.text if nb.recommendation is not None else None) == text
    recs = re.findall(r"<b>Recommendation:</b> ([^<]*)</p>", nb._repr_html_())
    assert [html.unescape(s) for s in recs] == ([text] if text is not None else [])
    return text, kept


@pytest.mark.parametrize("shape", list(SHAPES))
def test_generated_shapes_print_one_recommendation_everywhere(tmp_path, shape):
    kwargs, want = SHAPES[shape]
    assert _same_everywhere(tmp_path, _run(tmp_path / shape, **kwargs)) == (want, [])


SAMPLE_TEXT = {
    "d-overpowers": "No checkpoint to keep: every one saved after the first step lies in or "
    "after discriminator overpowers the generator (from step 31); restart with the changes "
    "above (the best FID, 947 at step 3000, lies inside it).",
    "mode-collapse": "No checkpoint to keep: every one saved after the first step lies in or "
    "after mode collapse (from step 250); restart with the changes above (the best FID, 686 "
    "at step 1750, lies inside it).",
    "healthy": "Keep checkpoint step-000004500.pt (step 4500, FID 198); stop training there: "
    "FID got no better after it.",
}


@pytest.mark.parametrize("name", list(SAMPLE_TEXT))
def test_sample_runs_print_one_recommendation_everywhere(tmp_path, name):
    kept = ["step 4,500 · keep · best fid"] if name == "healthy" else []
    assert _same_everywhere(tmp_path, SAMPLE_RUNS / name) == (SAMPLE_TEXT[name], kept)
