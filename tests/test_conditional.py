"""A class-conditional GAN on the 8x8 digits, trained and logged the way a user would
(RunLog with labels, generator_spec with classes), evaluated per class by fid-sweep and
judged by the conditional rules (analysis/rules/conditional.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gananalyze.analysis import analyze  # noqa: E402
from gananalyze.analysis.conditional import class_table, evaluations  # noqa: E402
from gananalyze.metrics.sweep import sweep  # noqa: E402
from gananalyze.textfmt import fmt_pct  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# the cGAN's training loop has one home: the truth lab's conditional runs (RunLog with the
# samples' labels, generator_spec with classes=10; the label input cut at 2/3 of the run)
from lab.conditional import train  # noqa: E402

STEPS, STEPS_EVERY = 5000, 1000  # the healthy run: the lab's recipe at its length
CUT_STEPS, CUT_AT = 1500, 1000  # the run whose label input is cut, after G has learnt it
EVERY = 250


pytestmark = pytest.mark.slow  # two short trainings and their sweeps


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("cgan")
    cache = base / "cache"
    out = {}
    for name, outcome, steps, every in (
        ("healthy", "healthy", STEPS, STEPS_EVERY),
        ("cut", "condition_ignored", CUT_STEPS, EVERY),  # cut at 2/3 of the run: CUT_AT
    ):
        path = base / name
        train(path, outcome, 0, steps, every=every)
        sweep(
            path,
            "sklearn-digits",
            features="digits",
            num_samples=500,
            device="cpu",
            cache_dir=cache,
        )
        out[name] = analyze(path)
    return out


def test_labels_are_logged_one_grid_row_per_class(runs):
    run, _ = runs["healthy"]
    assert run.classes == 10
    grid = run.samples[-1]
    assert (grid.nrow, grid.ncol) == (10, 5)
    assert grid.sample_labels().tolist() == sorted(list(range(10)) * 5)
    assert grid.tiles().shape == (50, 8, 8, 3)


def test_healthy_conditional_run_is_called_healthy(runs):
    run, d = runs["healthy"]
    ev = evaluations(run)
    last = ev.iloc[-1]
    assert last["cond_acc"] > 0.8 and last["cond_acc_real"] > 0.95
    assert last["cond_acc_chance"] == pytest.approx(0.1, abs=0.03)
    assert last["class_coverage"] >= 0.9, ev.to_dict("records")
    assert d.status == "healthy", [(f.rule, f.message) for f in d.findings]
    assert not [f for f in d.findings if f.rule.startswith(("conditional", "class_"))]


def test_cut_label_input_is_conditional_collapse(runs):
    run, d = runs["cut"]
    ev = evaluations(run)
    print(ev.drop(columns="per_class").to_string(), [(f.rule, f.message) for f in d.findings])
    before, after = ev[ev["step"] < CUT_AT], ev[ev["step"] > CUT_AT]
    assert before["cond_acc"].iloc[-1] > 0.5
    assert (after["cond_acc"] < 0.25).all() and (after["cdiv"] >= 0.5).all()
    f = next(f for f in d.findings if f.rule == "conditional_collapse")
    assert f.severity == "error"
    assert f.start_step >= CUT_AT and f.end_step == CUT_STEPS
    assert f.numbers["cond_acc"] == pytest.approx(after["cond_acc"].iloc[-1])
    assert f.numbers["chance"] < 0.2 and f.numbers["real"] > 0.95
    assert f.message.startswith(f"Conditional accuracy {fmt_pct(f.numbers['cond_acc'])}")
    assert "G ignores its label from step" in f.message and "to the end" in f.message
    # the per-class table, worst first
    t = class_table(run)
    assert list(t.columns) == ["class", "acc", "pred", "pred_share", "fid", "div"]
    assert np.all(np.diff(t["acc"].to_numpy()) >= 0)


def test_report_shows_the_classes_worst_first(runs):
    from gananalyze.analysis.report_evidence import gather
    from gananalyze.pages.report import build_report_context, build_report_html

    run, d = runs["cut"]
    ev = gather(run, d, tsne=False)
    t = ev.classes.table
    assert ev.classes.classes == 10 and ev.classes.order == [int(c) for c in t["class"]]
    assert [g.step for g in ev.classes.grids] == list(range(0, CUT_STEPS + 1, EVERY))
    ctx = build_report_context(ev)
    pc = ctx["per_class"]
    assert [r[0] for r in pc["table"].rows] == [str(int(c)) for c in t["class"]]
    assert [r["label"] for r in pc["grid"]] == [f"class {c}" for c in ev.classes.order]
    assert all(src.startswith("data:image/png;base64,") for r in pc["grid"] for src in r["cells"])
    html = build_report_html(ev)
    assert '<section id="per-class">' in html
    assert html.count('alt="class ') == 10 * len(ev.classes.grids)
    assert f"conditional accuracy <b>{fmt_pct(ev.classes.summary['cond_acc'])}</b>" in html
