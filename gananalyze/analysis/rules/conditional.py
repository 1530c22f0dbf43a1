"""Rules about a conditional generator (one that takes a class label), read from the
per-class evaluations `fid-sweep` stores (analysis/conditional.py):

- conditional_collapse: the samples ignore their label: the conditional accuracy sits
  near chance while the samples stay diverse (they cover the classes and keep the real
  data's diversity), so the failure is the condition, not mode collapse. An error when it
  lasts to the last evaluation; a warning for a stretch that ends earlier only when the
  label had been learnt before it (early evaluations of a G still learning its label are
  not a collapse);
- class_dropping: some labels produce another class's samples while the others are
  right;
- class_mode_collapse: one class's samples collapse (far less diverse than that class's
  real samples) while the other classes' are fine.

Every judgement is against the real data's own score (the k-NN classifier's
leave-one-out accuracy on the real samples) and chance, and must exceed the
evaluation's binomial noise by `cond_noise_z` standard errors.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ...textfmt import fmt_pct, fmt_sig
from ..conditional import class_table, evaluations
from ..findings import Finding
from .context import RuleContext
from .registry import not_this_kind, rule


def _applies(ctx: RuleContext) -> str | None:
    if ctx.run.classes is None and "cond_acc" not in ctx.run.sample_metrics.columns:
        return not_this_kind("the generator takes no class label")
    ev = evaluations(ctx.run)
    if not len(ev):
        return (
            "not enough data: needs per-class evaluations (fid-sweep with labelled real data: "
            "a folder per class, a .npz with labels, or sklearn-digits)"
        )
    return None


def _se(p: float, n: float) -> float:
    """The binomial standard error of a share p measured on n samples."""
    if not (n > 0 and math.isfinite(p)):
        return math.nan
    return math.sqrt(max(p * (1 - p), 1.0 / n) / n)


def _near_chance_line(chance: float, real: float, th: dict[str, Any]) -> float:
    return chance + th["cond_chance_frac"] * (real - chance)


def _collapsed(row: pd.Series, th: dict[str, Any]) -> tuple[bool, bool]:
    """(the accuracy is near chance beyond noise, the samples are diverse) for one evaluation."""
    acc, chance, real = row["cond_acc"], row["cond_acc_chance"], row["cond_acc_real"]
    n = float(row["num_samples"]) if math.isfinite(row["num_samples"]) else 0.0
    z = th["cond_noise_z"]
    judgeable = real - chance > z * _se(real, n) if n else False
    near = judgeable and acc <= _near_chance_line(chance, real, th) and real - acc > z * _se(acc, n)
    diverse = (
        row.get("class_coverage", np.nan) >= th["cond_coverage_min"]
        and row.get("cdiv", np.nan) >= th["cond_diversity_min"]
    )
    return bool(near), bool(diverse)


def _conditional_rule(name: str, describe: str):
    """Register a rule of this module: it reads the per-class evaluations (`_applies`)."""
    return rule(name, needs=("scalars",), describe=describe, applies=_applies)


@_conditional_rule(
    "conditional_collapse",
    "A conditional G ignores its label: conditional accuracy near chance while the samples "
    "stay diverse.",
)
def conditional_collapse(ctx: RuleContext) -> list[Finding]:
    th = ctx.th
    ev = evaluations(ctx.run)
    first = 1 if len(ev) >= th["min_evaluations"] else 0  # the untrained G ignores its label too
    flags = np.zeros(len(ev), dtype=bool)
    learnt = len(ev)  # the first evaluation whose accuracy is clear of chance
    for i in range(first, len(ev)):
        near, diverse = _collapsed(ev.iloc[i], th)
        flags[i] = near and diverse
        if not near and learnt == len(ev):
            learnt = i
    ongoing = bool(flags[-1])
    if not ongoing:
        # a G that has not learnt its label yet, and learns it later, is still training:
        # a stretch that ends before the last evaluation counts only once the label had
        # been learnt (accuracy clear of chance) before it
        flags[:learnt] = False
    if not flags.any():
        return []
    idx = np.flatnonzero(flags)
    i0 = int(idx[0])
    if ongoing:  # the stretch that lasts to the end
        i0 = len(flags) - 1
        while i0 - 1 >= first and flags[i0 - 1]:
            i0 -= 1
    last = ev.iloc[int(idx[-1])]
    before = ev.iloc[:i0]
    best_before = before["cond_acc"].max() if len(before) else math.nan
    steps = ev["step"].to_numpy()
    n = float(last["num_samples"])
    msg = (
        f"Conditional accuracy {fmt_pct(last['cond_acc'])} at step {int(last['step'])} "
        f"(±{fmt_pct(_se(last['cond_acc'], n))} on {int(n)} samples) against chance "
        f"{fmt_pct(last['cond_acc_chance'])} and the real data's own "
        f"{fmt_pct(last['cond_acc_real'])}, while the samples cover "
        f"{fmt_pct(last['class_coverage'])} of the classes at {fmt_sig(last['cdiv'])}x the real "
        f"diversity: G ignores its label"
        + (
            f" from step {int(steps[i0])} to the end"
            if ongoing
            else f" at {int(flags.sum())} of {len(ev)} evaluations, not at the last"
        )
        + (
            f" (it reached {fmt_pct(best_before)} before)"
            if math.isfinite(best_before) and best_before > last["cond_acc"]
            else ""
        )
        + "."
    )
    worst = class_table(ctx.run, int(last["step"])).head(3)
    nums = {
        "cond_acc": float(last["cond_acc"]),
        "chance": float(last["cond_acc_chance"]),
        "real": float(last["cond_acc_real"]),
        "class_coverage": float(last["class_coverage"]),
        "diversity_vs_real": float(last["cdiv"]),
        "num_samples": int(n),
        "steps": [int(s) for s in steps[flags]],
        "accuracy_before": None if not math.isfinite(best_before) else float(best_before),
        "worst_classes": {int(r["class"]): float(r["acc"]) for _, r in worst.iterrows()},
    }
    action = (
        "Check that the label reaches G (the embedding or one-hot input is wired, not zeroed or "
        "detached, and not the same for every sample); give G's label path more capacity or "
        "use a projection discriminator / auxiliary classifier (AC-GAN)."
    )
    title = "Conditional collapse (the samples ignore their label)"
    start, end = int(steps[i0] if ongoing else steps[idx[0]]), int(steps[idx[-1]])
    sev = "error" if ongoing else "warning"
    metrics = ["cond_acc"]
    return [Finding("conditional_collapse", sev, title, msg, action, start, end, nums, metrics)]


def _last_class_rows(ctx: RuleContext) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame | None]:
    ev = evaluations(ctx.run)
    last = ev.iloc[-1]
    table = class_table(ctx.run, int(last["step"]))
    prev = class_table(ctx.run, int(ev["step"].iloc[-2])) if len(ev) >= 2 else None
    return last, table, prev


@_conditional_rule(
    "class_dropping", "Some labels produce another class's samples while the others are right."
)
def class_dropping(ctx: RuleContext) -> list[Finding]:
    th = ctx.th
    last, table, prev = _last_class_rows(ctx)
    near, _ = _collapsed(last, th)
    if near or not len(table):  # the whole condition is gone: conditional_collapse's finding
        return []
    k = len(table)
    n_k = float(last["num_samples"]) / k
    chance, real = float(last["cond_acc_chance"]), float(last["cond_acc_real"])
    line = _near_chance_line(chance, real, th)
    z = th["cond_noise_z"]

    def dropped(t: pd.DataFrame) -> pd.DataFrame:
        return t[
            (t["acc"] <= line)
            & (t["pred"] != t["class"])
            & (t["pred_share"] >= th["drop_share_min"])
            & (real - t["acc"] > z * np.array([_se(a, n_k) for a in t["acc"]]))
        ]

    bad = dropped(table)
    if not len(bad) or len(bad) > k * th["drop_max_frac"]:
        return []  # none, or most classes: G has not learnt the condition at all
    lasting = prev is not None and set(bad["class"]) <= set(dropped(prev)["class"])
    parts = [
        f"label {int(r['class'])} gives {int(r['pred'])} ({fmt_pct(r['pred_share'])} of its "
        f"samples; {fmt_pct(r['acc'])} are a {int(r['class'])})"
        for _, r in bad.iterrows()
    ]
    msg = (
        f"At step {int(last['step'])}, {len(bad)} of {k} classes produce another class's "
        f"samples: {'; '.join(parts)}. The other classes are right: overall conditional "
        f"accuracy {fmt_pct(last['cond_acc'])} (chance {fmt_pct(chance)}, real data "
        f"{fmt_pct(real)}; {int(n_k)} samples per class)."
    )
    return _at_last_evaluation(
        "class_dropping",
        f"Class dropping ({len(bad)} label(s) give another class)",
        msg,
        "The dropped classes' labels map onto their neighbours: check the label encoding "
        "(class order, one-hot width), and the balance of those classes in the training "
        "data; a stronger conditional signal in D (projection, AC-GAN) helps.",
        last,
        lasting,
        {
            "classes": [int(c) for c in bad["class"]],
            "produce": [int(c) for c in bad["pred"]],
            "share": [float(v) for v in bad["pred_share"]],
            "accuracy": [float(v) for v in bad["acc"]],
            "cond_acc": float(last["cond_acc"]),
            "chance": chance,
            "real": real,
        },
    )


def _at_last_evaluation(
    rule: str, title: str, msg: str, action: str, last: pd.Series, lasting: bool, numbers: dict
) -> list[Finding]:
    """A per-class finding at the last evaluation: an error when the same classes were
    already wrong at the evaluation before (it lasted), else a warning."""
    return [
        Finding(
            rule=rule,
            severity="error" if lasting else "warning",
            title=title,
            message=msg,
            action=action,
            start_step=int(last["step"]),
            end_step=int(last["step"]),
            numbers={**numbers, "also_at_previous_evaluation": bool(lasting)},
            metrics=["cond_acc"],
        )
    ]


@_conditional_rule(
    "class_mode_collapse", "One class's samples collapse while the other classes' are fine."
)
def class_mode_collapse(ctx: RuleContext) -> list[Finding]:
    th = ctx.th
    last, table, prev = _last_class_rows(ctx)
    div = table["div"].to_numpy(dtype=np.float64)
    if np.isfinite(div).sum() < 3:
        return []
    others = np.nanmedian(div)
    if not others >= th["class_div_fine"]:
        return []  # every class is low: the run-wide collapse is mode_collapse's finding
    bad = table[table["div"] < th["class_div_min"]]
    if not len(bad) or len(bad) > len(table) * th["drop_max_frac"]:
        return []

    def low(t: pd.DataFrame | None) -> set[int]:
        return (
            set() if t is None else {int(c) for c in t.loc[t["div"] < th["class_div_min"], "class"]}
        )

    lasting = {int(c) for c in bad["class"]} <= low(prev)
    parts = [
        f"class {int(r['class'])} at {fmt_sig(r['div'])}x its real samples' diversity"
        for _, r in bad.iterrows()
    ]
    msg = (
        f"At step {int(last['step'])}, {'; '.join(parts)}, while the median class keeps "
        f"{fmt_sig(others)}x (diversity: mean pairwise feature distance of the samples "
        f"generated for a class over that of its real samples)."
    )
    return _at_last_evaluation(
        "class_mode_collapse",
        f"Per-class mode collapse ({len(bad)} class(es))",
        msg,
        "G draws few distinct samples for these labels: check their share of the training "
        "data and G's label embedding; minibatch-std in D or a lower G learning rate help, "
        "as for mode collapse.",
        last,
        lasting,
        {
            "classes": [int(c) for c in bad["class"]],
            "diversity_vs_real": [float(v) for v in bad["div"]],
            "median_class": float(others),
        },
    )
