"""The conditional rules (analysis/rules/conditional.py) on evaluation tables written here:
when an accuracy near chance is a conditional collapse and when it is a G still learning
its label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gananalyze.analysis import analyze
from gananalyze.run import Run

CHANCE, REAL, N = 0.1, 0.99, 500


def _run(accs: list[float], every: int = 250) -> Run:
    steps = np.arange(len(accs)) * every
    last = int(steps[-1])
    st = np.arange(last + 1)
    rng = np.random.default_rng(0)
    scalars = pd.DataFrame({
        "step": st,
        "G_loss": 0.8 + 0.05 * rng.standard_normal(len(st)),
        "D_loss": 1.3 + 0.05 * rng.standard_normal(len(st)),
    })
    ev = pd.DataFrame({
        "step": steps,
        "cond_acc": accs,
        "cond_acc_chance": CHANCE,
        "cond_acc_real": REAL,
        "class_coverage": 0.9,
        "cdiv": 0.9,
        "num_samples": N,
    })
    return Run(path=Path("cgan"), name="cgan", loss="bce", scalars=scalars,
               counts={"G_loss": len(st), "D_loss": len(st)}, sample_metrics=ev, classes=10)


def _collapse(accs: list[float]):
    _, d = analyze(_run(accs))
    return [f for f in d.findings if f.rule == "conditional_collapse"]


def test_a_g_still_learning_its_label_is_not_a_collapse():
    # near chance at steps 250-500 (the line is 0.1 + 0.25 x 0.89 = 0.32), then learnt
    assert _collapse([0.10, 0.15, 0.21, 0.60, 0.90]) == []


def test_a_label_learnt_then_lost_for_a_while_is_a_warning():
    (f,) = _collapse([0.10, 0.60, 0.15, 0.70, 0.90])
    assert f.severity == "warning"
    assert (f.start_step, f.end_step) == (500, 500)
    assert f.numbers["accuracy_before"] == 0.6
    assert f.message.endswith(
        "G ignores its label at 1 of 5 evaluations, not at the last (it reached 60% before).")


def test_a_label_never_learnt_to_the_end_is_an_error():
    (f,) = _collapse([0.10, 0.12, 0.11, 0.13, 0.12])
    assert f.severity == "error"
    assert (f.start_step, f.end_step) == (250, 1000)
    assert "G ignores its label from step 250 to the end." in f.message
