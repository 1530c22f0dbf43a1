"""A conditional run's per-class evaluations, read once for the rules and the report.

`fid-sweep` stores, for a generator that takes a class label, the conditional accuracy
with its chance level and the real data's own score, the class coverage, the sample
diversity relative to the real data, the per-class FID and, in the `per_class` JSON
column, each class's FID, accuracy, the class its samples are assigned to and
diversity (metrics/conditional.py). `evaluations(run)` is that table, one row per
evaluated step (one feature network: evaluations.pick_features); `class_table(run)`
is one evaluation's classes, worst first: the order the report's table shows them in;
`class_evidence(run)` is what the report's per-class section shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..metrics.conditional import read_per_class
from ..run import Run, SampleGrid
from .evaluations import pick_features

COLUMNS = (
    "cond_acc",
    "cond_acc_chance",
    "cond_acc_real",
    "class_coverage",
    "cdiv",
    "cfid",
    "cfid_worst",
)


def evaluations(run: Run) -> pd.DataFrame:
    """The conditional evaluations of `run`, sorted by step (empty when there are none).

    Columns: step, num_samples, COLUMNS present, per_class (a dict of per-class lists).
    """
    sm = run.sample_metrics
    if sm is None or not len(sm) or "cond_acc" not in sm.columns or "step" not in sm.columns:
        return pd.DataFrame(columns=["step", *COLUMNS, "num_samples", "per_class"])
    rows = sm[pd.to_numeric(sm["cond_acc"], errors="coerce").notna()]
    if "features" in rows.columns and rows["features"].nunique() > 1:
        rows = rows[rows["features"].astype(str) == pick_features(rows["features"])]
    out = pd.DataFrame({"step": rows["step"].to_numpy(dtype=np.int64)})
    for c in COLUMNS:
        if c in rows.columns:
            out[c] = pd.to_numeric(rows[c], errors="coerce").to_numpy(dtype=np.float64)
    out["num_samples"] = (
        pd.to_numeric(rows["num_samples"], errors="coerce").to_numpy(dtype=np.float64)
        if "num_samples" in rows.columns
        else np.nan
    )
    texts = rows["per_class"] if "per_class" in rows.columns else [None] * len(rows)
    out["per_class"] = [read_per_class(t) for t in texts]
    out = out.drop_duplicates("step", keep="last").sort_values("step", kind="stable")
    return out.reset_index(drop=True)


def class_table(run: Run, step: int | None = None) -> pd.DataFrame:
    """One evaluation's classes (the last one unless `step`), worst first.

    Columns: class, acc (share of its samples assigned to it), pred (the class most of
    its samples are assigned to), pred_share, fid (within the class), div (its samples'
    diversity over the real class's). Worst: lowest accuracy, then highest FID, then
    lowest diversity. Empty when the run has no per-class evaluation.
    """
    ev = evaluations(run)
    if step is not None:
        ev = ev[ev["step"] == step]
    if not len(ev):
        return pd.DataFrame(columns=["class", "acc", "pred", "pred_share", "fid", "div"])
    pc: dict[str, Any] = ev["per_class"].iloc[-1]
    k = max((len(v) for v in pc.values()), default=0)

    def col(name: str) -> np.ndarray:
        v = pc.get(name)
        return (
            np.asarray(v, dtype=np.float64) if v is not None and len(v) == k else np.full(k, np.nan)
        )

    t = pd.DataFrame(
        {
            "class": np.arange(k),
            "acc": col("acc"),
            "pred": col("pred"),
            "pred_share": col("pred_share"),
            "fid": col("fid"),
            "div": col("div"),
        }
    )
    key = pd.DataFrame(
        {"a": t["acc"].fillna(np.inf), "f": -t["fid"].fillna(-np.inf), "d": t["div"].fillna(np.inf)}
    )
    order = key.sort_values(["a", "f", "d"], kind="stable").index
    t = t.loc[order].reset_index(drop=True)
    t.attrs["step"] = int(ev["step"].iloc[-1])
    return t


@dataclass
class ClassEvidence:
    """What the report's per-class section shows (pages draw it, compute nothing).

    table: class_table at the last evaluation (worst first; attrs["step"]); summary: that
    evaluation's run-wide numbers (cond_acc, its chance level, the real data's score,
    class coverage, diversity, mean and worst per-class FID); grids: the labelled sample
    grids over training (at most MAX_GRID_STEPS, evenly spread, the last included), each
    grid's rows one class; order: the classes worst first (the rows' order on the page).
    """

    classes: int
    table: pd.DataFrame
    summary: dict[str, float]
    grids: list[SampleGrid] = field(default_factory=list)
    order: list[int] = field(default_factory=list)


MAX_GRID_STEPS = 8


def class_evidence(run: Run) -> ClassEvidence | None:
    """The per-class section's evidence, or None for a run with no class to show."""
    labelled = [g for g in run.samples if g.labels is not None and g.ncol]
    table = class_table(run)
    if run.classes is None and not labelled and not len(table):
        return None
    ev = evaluations(run)
    summary = (
        {c: float(ev[c].iloc[-1]) for c in COLUMNS if c in ev.columns} if len(ev) else {}
    )
    if len(labelled) > MAX_GRID_STEPS:
        pick = np.unique(np.linspace(0, len(labelled) - 1, MAX_GRID_STEPS).round().astype(int))
        labelled = [labelled[i] for i in pick]
    seen = sorted({lab for g in labelled for lab in g.labels if lab >= 0})
    order = [int(c) for c in table["class"]] if len(table) else []
    order += [c for c in seen if c not in order]
    k = run.classes or (max(order) + 1 if order else 0)
    return ClassEvidence(k, table, summary, labelled, order)
