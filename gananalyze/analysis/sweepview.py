"""The sweep view of many runs: outcome per run, outcomes per config value, keys ranked.

From a `Comparison` (its table: one row per run with the rule-check verdicts, the
best value of the ranking metric and the differing config keys), `sweep_view`
computes a `SweepView`, a plain object that the sweep page and `--json` read:

- **Outcome** of each run: one word for the finding its verdict leads with (the
  first error, else the first warning), named as in `OUTCOMES`; runs without
  problems take their Diagnosis.status ("healthy", "no problems found", "not
  judged").
- **Per key** (every config key whose value varies, seeds included so that a
  seed's lack of effect is visible): the outcome counts per value, and each
  run's best metric against its value. Numeric keys with more than
  `MAX_LEVELS` distinct values are cut into `MAX_LEVELS` quantile bins (on a log
  scale when all values are positive and span more than 10x).
- **Key ranking** by epsilon squared (the bias-corrected correlation ratio of a
  one-way ANOVA): the share of the run-to-run variance of an outcome that the
  key's value (level) explains, minus what that many levels would explain by
  chance: eps2 = (SS_between - (k - 1) * MS_within) / SS_total, clipped at 0.
  It is computed twice: for failure (1 if the run had a warning or error, else
  0) and for log10 of the best metric (runs that have it). 1 means the value
  alone decides; 0 means no more than chance. This is the "per-key comparison"
  the issue allowed; unlike a random forest it is deterministic and needs no
  tuning, but it does not see interactions between keys.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .configs import is_seed_key

# (outcome, the rules whose warning/error findings give it), in the order of the page.
OUTCOMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("diverged", ("divergence", "implausible_values")),
    ("collapsed", ("mode_collapse",)),
    ("D overpowers G", ("d_overpowering",)),
    ("G overpowers D", ("g_overpowering",)),
    ("vanishing gradients", ("vanishing_gradients",)),
    ("oscillating", ("oscillation",)),
    ("over-trained", ("over_training",)),
    ("other problems", ()),
    ("healthy", ()),
    ("no problems found", ()),
    ("not judged", ()),
)
OUTCOME_NAMES = tuple(o for o, _ in OUTCOMES)
FAILED = OUTCOME_NAMES[:8]
MAX_LEVELS = 8
STATISTIC = (
    "epsilon squared (bias-corrected correlation ratio of a one-way ANOVA): the share of "
    "the run-to-run variance that the key's value explains beyond chance; 0 = no more "
    "than chance, 1 = the value alone decides"
)


def outcome_of(diagnosis: Any) -> str:
    """The one-word outcome of a run from its Diagnosis (None: not judged)."""
    if diagnosis is None:
        return "not judged"
    bad = [f for f in diagnosis.findings if f.severity in ("warning", "error")]
    top = "error" if any(f.severity == "error" for f in bad) else "warning"
    first = next((f.rule for f in bad if f.severity == top), None)  # the verdict's headline
    if first is not None:
        for name, from_rules in OUTCOMES:
            if first in from_rules:
                return name
        return "other problems"
    return {"healthy": "healthy", "not_judged": "not judged"}.get(
        diagnosis.status, "no problems found"
    )


@dataclass
class KeyView:
    """One varying config key: its levels, outcome counts per level, runs' values."""

    key: str
    numeric: bool
    log: bool  # numeric and spread over more than a decade: drawn on a log axis
    binned: bool  # too many distinct values: levels are quantile bins
    levels: list[str]  # display labels, in order
    counts: list[dict[str, int]]  # per level: outcome -> runs
    values: list[Any]  # per run (table order): the raw value (None where missing)
    index: list[int]  # per run: its level (-1 where missing)
    failure_eps2: float | None
    metric_eps2: float | None
    failure_rate: list[float]  # per level
    metric_median: list[float | None]  # per level: median best metric


@dataclass
class SweepView:
    """What the sweep page shows; plain data (no figures)."""

    metric: str
    higher_is_better: bool
    runs: list[str]  # table order (ranked)
    outcomes: list[str]  # per run
    best: list[float | None]  # per run: best metric
    counts: dict[str, int]  # outcome -> runs (only outcomes that occur, in OUTCOMES order)
    keys: list[KeyView]  # ranked: most predictive first
    statistic: str = STATISTIC
    notes: list[str] = field(default_factory=list)

    @property
    def n_failed(self) -> int:
        return sum(n for o, n in self.counts.items() if o in FAILED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "statistic": self.statistic,
            "counts": dict(self.counts),
            "keys": [
                {
                    "key": k.key,
                    "failure_eps2": k.failure_eps2,
                    "metric_eps2": k.metric_eps2,
                    "levels": [
                        {"level": lv, "counts": c, "failure_rate": fr, "metric_median": mm}
                        for lv, c, fr, mm in zip(
                            k.levels, k.counts, k.failure_rate, k.metric_median, strict=True
                        )
                    ],
                }
                for k in self.keys
            ],
            "notes": list(self.notes),
        }


def eps_squared(y: np.ndarray, groups: np.ndarray) -> float | None:
    """Epsilon squared of `y` explained by the labels `groups` (None: undefined)."""
    y = np.asarray(y, dtype=np.float64)
    labels, inv = np.unique(groups, return_inverse=True)
    n, k = len(y), len(labels)
    if n < 3 or k < 2 or n <= k:
        return None
    sst = float(((y - y.mean()) ** 2).sum())
    if sst <= 0:
        return 0.0
    sums = np.bincount(inv, weights=y, minlength=k)
    cnt = np.bincount(inv, minlength=k)
    ssb = float((sums**2 / cnt).sum() - y.sum() ** 2 / n)
    msw = (sst - ssb) / (n - k)
    return max(0.0, (ssb - (k - 1) * msw) / sst)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
        v, (bool, np.bool_)
    )


def _fmt_level(v: Any) -> str:
    from ..textfmt import fmt_cfg

    return str(fmt_cfg(v))


def _levels(values: list[Any]) -> tuple[bool, bool, bool, list[str], np.ndarray]:
    """(numeric, log, binned, level labels, level index per run; -1 = missing)."""
    present = [v for v in values if v is not None]
    numeric = bool(present) and all(_is_num(v) for v in present)
    idx = np.full(len(values), -1, dtype=np.int64)
    if not numeric:
        labels = sorted({_fmt_level(v) for v in present})
        pos = {lab: i for i, lab in enumerate(labels)}
        for i, v in enumerate(values):
            if v is not None:
                idx[i] = pos[_fmt_level(v)]
        return False, False, False, labels, idx
    arr = np.array([float(v) if v is not None else np.nan for v in values])
    fin = arr[np.isfinite(arr)]
    log = bool(len(fin)) and fin.min() > 0 and fin.max() / fin.min() > 10
    distinct = np.unique(fin)
    if len(distinct) <= MAX_LEVELS:
        pos = {float(v): i for i, v in enumerate(distinct)}
        for i, v in enumerate(arr):
            if np.isfinite(v):
                idx[i] = pos[float(v)]
        return True, log, False, [_fmt_level(_plain(v)) for v in distinct], idx
    t = np.log10(fin) if log else fin
    edges = np.unique(np.quantile(t, np.linspace(0, 1, MAX_LEVELS + 1)))
    tt = np.log10(np.where(arr > 0, arr, np.nan)) if log else arr
    for i, v in enumerate(tt):
        if np.isfinite(v):
            idx[i] = min(int(np.searchsorted(edges, v, side="right")) - 1, len(edges) - 2)
    back = (lambda e: 10**e) if log else (lambda e: e)
    labels = [
        f"{_fmt_level(_round(back(a)))}-{_fmt_level(_round(back(b)))}"
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    ]
    return True, log, True, labels, idx


def _plain(v: Any) -> Any:
    f = float(v)
    return int(f) if f.is_integer() and abs(f) < 1e15 else f


def _round(v: float) -> float:
    if v == 0 or not math.isfinite(v):
        return v
    return float(f"{v:.3g}")


def sweep_view(comp: Any, keys: Sequence[str] | None = None) -> SweepView:
    """The sweep view of a Comparison (analysis.comparison.compare_runs)."""
    t = comp.table
    m = comp.metric
    names = list(t["run"])
    outcomes = [outcome_of(comp.diagnoses.get(n)) for n in names]
    best_col = t[f"{m}_best"].astype("float64").to_numpy()
    best = [float(v) if math.isfinite(v) else None for v in best_col]
    counts = {o: outcomes.count(o) for o in OUTCOME_NAMES if o in outcomes}
    failed = np.array([o in FAILED for o in outcomes], dtype=np.float64)
    logm = np.array(
        [math.log10(b) if b is not None and b > 0 else np.nan for b in best], dtype=np.float64
    )
    cols = [c[len("config.") :] for c in t.columns if c.startswith("config.")]
    if keys is not None:
        cols = [c for c in cols if c in keys]
    views = []
    for key in cols:
        raw = [None if _missing(v) else v for v in t[f"config.{key}"]]
        numeric, log, binned, labels, idx = _levels(raw)
        if len(labels) < 2:
            continue
        has = idx >= 0
        f_eps = eps_squared(failed[has], idx[has])
        okm = has & np.isfinite(logm)
        m_eps = eps_squared(logm[okm], idx[okm]) if okm.sum() >= 3 else None
        per_counts, rates, medians = [], [], []
        for li in range(len(labels)):
            sel = idx == li
            oc = [o for o, s in zip(outcomes, sel, strict=True) if s]
            per_counts.append({o: oc.count(o) for o in OUTCOME_NAMES if o in oc})
            rates.append(float(failed[sel].mean()) if sel.any() else float("nan"))
            bm = [b for b, s in zip(best, sel, strict=True) if s and b is not None]
            medians.append(float(np.median(bm)) if bm else None)
        views.append(
            KeyView(
                key=key,
                numeric=numeric,
                log=log,
                binned=binned,
                levels=labels,
                counts=per_counts,
                values=raw,
                index=[int(i) for i in idx],
                failure_eps2=f_eps,
                metric_eps2=m_eps,
                failure_rate=rates,
                metric_median=medians,
            )
        )
    views.sort(
        key=lambda k: (
            -(k.failure_eps2 or 0.0) - (k.metric_eps2 or 0.0),
            is_seed_key(k.key),
            k.key,
        )
    )
    view = SweepView(m, comp.higher_is_better, names, outcomes, best, counts, views)
    if not cols:
        view.notes.append("no config key differs between the runs: nothing to relate outcomes to")
    return view


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def outcome_table(view: SweepView) -> pd.DataFrame:
    """(run, outcome) in table order, for --csv/--json and the page's table."""
    return pd.DataFrame({"run": view.runs, "outcome": view.outcomes})
