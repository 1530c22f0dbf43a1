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
- **Two-way effects** beside it (analysis.sweepimportance, which also holds
  `eps_squared`): what each key explains once the best other key is known, its
  interaction included, for the same two outcomes; keys are ranked by the sum of the
  four figures.
- **Settings**: runs that differ only in seed-like keys (`configs.is_seed_key`) are
  one setting; per setting the outcome counts, the share failed and the mean,
  min and max of the best metric across its seeds.

Level labels print through `textfmt.fmt_levels` (5.6e-05, 3.2e-04).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..textfmt import fmt_level, fmt_levels
from .configs import is_seed_key
from .sweepimportance import METHOD, eps_squared, two_way

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
# What each outcome means, for the page's legend. "healthy" and "no problems found"
# stay apart: both passed every check that ran, but only "healthy" had the evidence
# (a healthy balance and samples judged against the data: Diagnosis.status) to call it so.
OUTCOME_MEANINGS: dict[str, str] = {
    "diverged": "losses went to NaN/Inf or implausible values",
    "collapsed": "samples or the sample metric show mode collapse",
    "D overpowers G": "D wins: D(G(z)) near 0, G's loss climbs",
    "G overpowers D": "G wins: D cannot tell real from fake",
    "vanishing gradients": "G's gradient signal died out",
    "oscillating": "losses swing without settling",
    "over-trained": "the sample metric got worse after its best point",
    "other problems": "another rule raised a warning or error",
    "healthy": "every check passed, the balance was healthy and the samples were judged "
               "against the real data",
    "no problems found": "the checks that could run passed, but the run lacks the signals "
                         "(samples judged against the data, D(x), D(G(z))) needed to call "
                         "it healthy",
    "not judged": "no rule had the data it needs",
}
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
    failure_with: float | None = None  # two-way (analysis.sweepimportance), beside failure_eps2
    metric_with: float | None = None  # the same for log10 of the best metric
    failure_partner: str | None = None  # the other key of the two-way figure
    metric_partner: str | None = None
    seed: bool = False  # a seed-like key: its values are repeats of a setting

    @property
    def score(self) -> float:
        """What the ranking sorts by: the four figures summed (missing counts 0)."""
        return sum(v or 0.0 for v in (self.failure_eps2, self.metric_eps2,
                                      self.failure_with, self.metric_with))


@dataclass
class Setting:
    """The runs that differ only in seed-like keys: one setting and its seeds."""

    values: dict[str, str]  # non-seed key -> its value's label
    runs: list[str]  # in ranking order
    counts: dict[str, int]  # outcome -> runs
    failure_rate: float
    metric_mean: float | None  # of the runs' best metric (None: no run has it)
    metric_lo: float | None
    metric_hi: float | None
    n_metric: int  # runs with the metric


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
    two_way_method: str = METHOD
    settings: list[Setting] = field(default_factory=list)  # best first (mean best metric)
    setting_keys: list[str] = field(default_factory=list)  # the keys naming a setting

    @property
    def seeds_per_setting(self) -> int:
        """The most runs any setting has (1: no seeds to pool)."""
        return max((len(s.runs) for s in self.settings), default=0)

    @property
    def n_failed(self) -> int:
        return sum(n for o, n in self.counts.items() if o in FAILED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "statistic": self.statistic,
            "two_way_method": self.two_way_method,
            "counts": dict(self.counts),
            "keys": [
                {
                    "key": k.key,
                    "failure_eps2": k.failure_eps2,
                    "metric_eps2": k.metric_eps2,
                    "failure_two_way": k.failure_with,
                    "failure_partner": k.failure_partner,
                    "metric_two_way": k.metric_with,
                    "metric_partner": k.metric_partner,
                    "levels": [
                        {"level": lv, "counts": c, "failure_rate": fr, "metric_median": mm}
                        for lv, c, fr, mm in zip(
                            k.levels, k.counts, k.failure_rate, k.metric_median, strict=True
                        )
                    ],
                }
                for k in self.keys
            ],
            "settings": [
                {
                    "setting": st.values, "runs": st.runs, "counts": st.counts,
                    "failure_rate": st.failure_rate, "metric_mean": st.metric_mean,
                    "metric_min": st.metric_lo, "metric_max": st.metric_hi,
                }
                for st in self.settings
            ],
            "notes": list(self.notes),
        }


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
        v, (bool, np.bool_)
    )


def _fmt_level(v: Any) -> str:
    return fmt_level(v)


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
        return True, log, False, fmt_levels(_plain(v) for v in distinct), idx
    t = np.log10(fin) if log else fin
    edges = np.unique(np.quantile(t, np.linspace(0, 1, MAX_LEVELS + 1)))
    tt = np.log10(np.where(arr > 0, arr, np.nan)) if log else arr
    for i, v in enumerate(tt):
        if np.isfinite(v):
            idx[i] = min(int(np.searchsorted(edges, v, side="right")) - 1, len(edges) - 2)
    back = (lambda e: 10**e) if log else (lambda e: e)
    ends = fmt_levels(_plain(_round(back(e))) for e in edges)
    labels = [f"{a} to {b}" for a, b in zip(ends[:-1], ends[1:], strict=True)]
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
                seed=is_seed_key(key),
            )
        )
    _importance(views, failed, logm)
    views.sort(key=lambda k: (-k.score, k.seed, k.key))
    view = SweepView(m, comp.higher_is_better, names, outcomes, best, counts, views)
    view.setting_keys = [k.key for k in views if not k.seed]
    view.settings = _settings(view)
    if not cols:
        view.notes.append("no config key differs between the runs: nothing to relate outcomes to")
    return view


def _importance(views: list[KeyView], failed: np.ndarray, logm: np.ndarray) -> None:
    """Fill each key's two-way figures (analysis.sweepimportance.two_way)."""
    if not views:
        return
    x = np.array([k.index for k in views], dtype=np.int64).T  # runs x keys
    f_two = two_way(failed, x)
    ok = np.isfinite(logm)
    m_two = two_way(np.where(ok, logm, 0.0), x, ok)
    for k, (fv, fp), (mv, mp) in zip(views, f_two, m_two, strict=True):
        k.failure_with, k.failure_partner = fv, None if fp is None else views[fp].key
        k.metric_with, k.metric_partner = mv, None if mp is None else views[mp].key


def _settings(view: SweepView) -> list[Setting]:
    """Runs grouped by their non-seed keys' values; best mean metric first, then the
    settings without the metric by share failed."""
    keys = [k for k in view.keys if not k.seed]
    groups: dict[tuple, list[int]] = {}
    for i in range(len(view.runs)):
        ident = tuple(repr(k.values[i]) for k in keys)
        groups.setdefault(ident, []).append(i)
    out = []
    for members in groups.values():
        i0 = members[0]
        values = {
            k.key: (fmt_level(k.values[i0]) if k.binned else k.levels[k.index[i0]])
            if k.index[i0] >= 0 else fmt_level(None)
            for k in keys
        }
        oc = [view.outcomes[i] for i in members]
        bm = np.array([view.best[i] for i in members if view.best[i] is not None])
        out.append(Setting(
            values=values,
            runs=[view.runs[i] for i in members],
            counts={o: oc.count(o) for o in OUTCOME_NAMES if o in oc},
            failure_rate=sum(o in FAILED for o in oc) / len(oc),
            metric_mean=float(bm.mean()) if len(bm) else None,
            metric_lo=float(bm.min()) if len(bm) else None,
            metric_hi=float(bm.max()) if len(bm) else None,
            n_metric=len(bm),
        ))
    sign = -1.0 if view.higher_is_better else 1.0
    out.sort(key=lambda st: (st.metric_mean is None,
                             sign * st.metric_mean if st.metric_mean is not None else 0.0,
                             st.failure_rate))
    return out


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def outcome_table(view: SweepView) -> pd.DataFrame:
    """(run, outcome) in table order, for --csv/--json and the page's table."""
    return pd.DataFrame({"run": view.runs, "outcome": view.outcomes})
