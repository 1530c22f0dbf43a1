"""The curves of a sweep: one per setting with its seeds pooled, summarised for big sweeps.

From a `Comparison` and its `SweepView`, `sweep_curves` returns what the sweep page draws
for one quantity over training (the ranking metric, G loss, D loss):

- **Up to `MAX_RUN_CURVES` runs**: one curve per setting (`SweepView.settings`, best
  first), its seeds pooled: the mean over the setting's runs at each step and the min-max
  band across them (no band for a setting of one run). Each curve is named by its setting
  and carries the setting's most frequent outcome, so that a page can colour and toggle it.
- **Beyond**: the curves are summarised, so that the page's size stays bounded whatever
  the number of runs: the best `FEW` and the worst `FEW` settings (the last of the ranking:
  settings without the metric, most failed first, count as the worst), then one curve per
  value of the most predictive key (mean and min-max band over all of its runs). `note`
  says so.

Means and bands are over the steps that every run of a curve logged (`configs.aggregate`;
a logged NaN or Inf is left out of that step's mean). Plain results: pages reduce the
points they ship (pages/interactive.py) and decide nothing here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .configs import aggregate
from .sweepview import SweepView

MAX_RUN_CURVES = 300  # runs up to which every setting has its own curve
FEW = 3  # best and worst settings drawn on their own in a summarised sweep


@dataclass
class SweepCurve:
    """One curve: the mean of its runs per step and, for several runs, the min-max band."""

    label: str  # the setting ("lr=2e-04, batch_size=64") or the group ("lr=2e-04")
    runs: list[str]
    steps: np.ndarray
    mean: np.ndarray
    lo: np.ndarray | None  # None: one run (no band)
    hi: np.ndarray | None
    outcome: str  # the most frequent outcome of its runs
    kind: str  # "setting", "best", "worst" (a summarised sweep's few) or "group"


@dataclass
class SweepCurves:
    """What the sweep page draws for one quantity over training."""

    what: str  # "FID", "G loss", ...
    curves: list[SweepCurve] = field(default_factory=list)
    summarised: bool = False
    group_key: str | None = None  # summarised: the key whose values are the groups
    note: str = ""


def _label(values: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items()) or "all runs"


def _pooled(
    label: str, names: list[str], kind: str, series: dict[str, pd.Series], outcome_of: dict
) -> SweepCurve | None:
    got = [(n, series[n]) for n in names if len(series[n])]
    if not got:
        return None
    agg = aggregate([s.astype(np.float64) for _, s in got], "minmax")
    if not len(agg):
        return None
    many = len(got) > 1
    outcome = Counter(outcome_of[n] for n in names).most_common(1)[0][0]
    return SweepCurve(
        label=label,
        runs=[n for n, _ in got],
        steps=agg["step"].to_numpy(),
        mean=agg["mean"].to_numpy(),
        lo=agg["lo"].to_numpy() if many else None,
        hi=agg["hi"].to_numpy() if many else None,
        outcome=outcome,
        kind=kind,
    )


def sweep_curves(
    comp: Any, view: SweepView, what: str, getter: Callable[[Any], pd.Series]
) -> SweepCurves:
    """The curves of `getter(run)` (a float Series by step) over the sweep's runs: see the
    module docstring."""
    by = {r.name: r for r in comp.runs}
    series = {n: getter(by[n]) for n in view.runs}
    outcome_of = dict(zip(view.runs, view.outcomes, strict=True))
    out = SweepCurves(what)
    settings = view.settings
    if len(view.runs) <= MAX_RUN_CURVES:
        for st in settings:
            c = _pooled(_label(st.values), st.runs, "setting", series, outcome_of)
            if c is not None:
                out.curves.append(c)
        return out
    out.summarised = True
    ranked = [st for st in settings if st.metric_mean is not None]
    best = ranked[:FEW]
    rest = [st for st in settings if st not in best]
    # worst: settings without the metric, most failed first, then the end of the ranking
    unranked = sorted((st for st in rest if st.metric_mean is None),
                      key=lambda st: -st.failure_rate)
    worst = (unranked + [st for st in reversed(ranked) if st in rest])[:FEW]
    for kind, group in (("best", best), ("worst", worst)):
        for st in group:
            c = _pooled(_label(st.values), st.runs, kind, series, outcome_of)
            if c is not None:
                out.curves.append(c)
    keys = [k for k in view.keys if not k.seed]
    if keys:
        kv = keys[0]
        out.group_key = kv.key
        members: dict[int, list[str]] = {}
        for name, lev in zip(view.runs, kv.index, strict=True):
            if lev >= 0:
                members.setdefault(lev, []).append(name)
        for li, lab in enumerate(kv.levels):
            c = _pooled(f"{kv.key}={lab}", members.get(li, []), "group", series, outcome_of)
            if c is not None:
                c.lo = c.lo if c.lo is not None else c.mean
                c.hi = c.hi if c.hi is not None else c.mean
                out.curves.append(c)
    out.note = (
        f"{len(view.runs)} runs (more than {MAX_RUN_CURVES}): the best {len(best)} and worst "
        f"{len(worst)} of {len(settings)} settings are drawn on their own"
        + (f", and the mean and min-max band of every run per value of {out.group_key}"
           if out.group_key else "")
    )
    return out

