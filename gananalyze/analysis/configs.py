"""Config differences and seed groups of several runs (for `compare`).

- **Config diff** (`config_diff`): nested config flattened with dotted keys
  (`G_opt_kwargs.lr`); a key is listed when its value differs between runs or is
  missing from some of them; lists compare by value.
- **Groups** (`group_runs`, `aggregate`): `group_by` is a config key (`lr`, or a
  dotted key; a bare name also matches a unique last segment such as
  `G_opt_kwargs.lr`) or `re:PATTERN` matched against run names (the first
  capture group, else the whole match, is the label). A group's curve is the
  mean over its runs and a band: min/max, or mean +- the sample standard
  deviation (ddof=1) with `band="std"`. **Aggregation uses only the steps every
  run of the group logged (the intersection)**: a mean over a changing set of
  runs would jump where a run stops, and a union would need resampling. How
  many steps were dropped is said in a note. Runs in a group that differ in
  more than seed-like keys (`SEED_KEYS`) produce a warning.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import GanAnalyzeError
from ..run import Run
from ..textfmt import flatten_config

BANDS = ("minmax", "std")
BATCH_KEYS = ("batch_size", "batch", "batchSize")
# Config keys (last dotted segment, lower case) that only pick a random seed.
SEED_KEYS = {
    "seed",
    "random_seed",
    "manual_seed",
    "rng_seed",
    "random_state",
    "noise_seed",
    "seeds",
}
_MISSING = object()


def _norm(v: Any) -> Any:
    """A hashable, comparable form of a config value (lists/dicts by JSON value)."""
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, sort_keys=True, default=str)
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return v


def _display(v: Any) -> Any:
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, default=str)
    return v


_MISSING = object()


def _differing_keys(
    flat: list[dict[str, Any]], ignore: Callable[[str], bool] | None = None
) -> list[str]:
    keys: dict[str, None] = {}
    for f in flat:
        keys.update(dict.fromkeys(f))
    out = []
    for k in keys:
        if ignore is not None and ignore(k):
            continue
        vals = {_norm(f[k]) if k in f else _MISSING for f in flat}
        if len(vals) > 1:
            out.append(k)
    return out


def config_diff(runs: Sequence[Run]) -> pd.DataFrame:
    """The config keys whose values differ between runs: one row per run (index: run name).

    Columns are the dotted keys, in order of first appearance; a key missing from
    a run counts as different and shows as None. Lists/dicts show as JSON.
    """
    flat = [flatten_config(r.config) for r in runs]
    keys = _differing_keys(flat)
    data = {k: [_display(f[k]) if k in f else None for f in flat] for k in keys}
    return pd.DataFrame(data, index=pd.Index([r.name for r in runs], name="run"), columns=keys)


def is_seed_key(key: str) -> bool:
    """Whether a dotted config key only chooses a random seed."""
    last = key.rsplit(".", 1)[-1].lower()
    return last in SEED_KEYS or last.endswith("_seed")


def batch_size(run: Run) -> int | None:
    """The batch size from the run's config (keys batch_size/batch/batchSize, top level first)."""
    flat = flatten_config(run.config)
    for key in BATCH_KEYS:
        if key in flat:
            cands = [flat[key]]
        else:
            cands = [v for k, v in flat.items() if k.rsplit(".", 1)[-1] == key]
        for v in cands:
            try:
                b = int(v)
            except (TypeError, ValueError):
                continue
            if b > 0 and b == v:
                return b
    return None


@dataclass
class Group:
    """Runs aggregated together (same value of the group-by key)."""

    label: str
    runs: list[Run]
    warnings: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.runs)


def _config_value(run: Run, key: str) -> tuple[bool, Any]:
    flat = flatten_config(run.config)
    if key in flat:
        return True, flat[key]
    hits = [k for k in flat if k.rsplit(".", 1)[-1] == key]
    if len(hits) == 1:
        return True, flat[hits[0]]
    if len(hits) > 1 and len({_norm(flat[h]) for h in hits}) == 1:
        return True, flat[hits[0]]
    return False, None


def group_runs(runs: Sequence[Run], group_by: str) -> list[Group]:
    """Split runs into groups by a config key or a name pattern (`re:PATTERN`).

    Groups keep the order in which their first run appears. A run whose name
    does not match the pattern, or whose config lacks the key, forms its own
    group (with a warning). Each group warns when its runs differ in keys other
    than seed-like ones (then they are not just repeats with another seed).
    """
    if not group_by:
        raise GanAnalyzeError("--group-by needs a config key or re:PATTERN")
    labels: list[str] = []
    notes: dict[str, list[str]] = {}
    if group_by.startswith("re:"):
        try:
            pat = re.compile(group_by[3:])
        except re.error as e:
            raise GanAnalyzeError(
                f"--group-by {group_by!r}: not a valid regular expression ({e})"
            ) from None
        for r in runs:
            m = pat.search(r.name)
            if m is None:
                labels.append(r.name)
                notes.setdefault(r.name, []).append(
                    f"run {r.name} does not match {group_by[3:]!r}; it forms its own group"
                )
            else:
                labels.append(
                    next((g for g in m.groups() if g is not None), m.group(0))
                    if m.groups()
                    else m.group(0)
                )
    else:
        for r in runs:
            found, v = _config_value(r, group_by)
            if found:
                labels.append(f"{group_by}={_display(v)}")
            else:
                labels.append(r.name)
                notes.setdefault(r.name, []).append(
                    f"run {r.name} has no config key {group_by!r}; it forms its own group"
                )
    groups: dict[str, Group] = {}
    for r, lab in zip(runs, labels, strict=True):
        groups.setdefault(lab, Group(lab, [])).runs.append(r)
    for g in groups.values():
        g.warnings.extend(notes.get(g.label, []))
        if g.n > 1:
            flat = [flatten_config(r.config) for r in g.runs]
            other = _differing_keys(flat, ignore=lambda k: is_seed_key(k) or k == group_by)
            if other:
                g.warnings.append(
                    f"group {g.label}: its runs differ in more than the seed ("
                    f"{', '.join(other[:6])}{', ...' if len(other) > 6 else ''}); "
                    "the band mixes those settings"
                )
    return list(groups.values())


def aggregate(series: Sequence[pd.Series], band: str = "minmax") -> pd.DataFrame:
    """Mean and band over runs, on the steps every series logged (intersection).

    series: one float Series per run, indexed by step (sorted, unique). Returns
    columns step, mean, lo, hi, n. band "minmax": lo/hi are the min and max over
    runs; "std": mean -+ the sample standard deviation (ddof=1; 0 for one run).
    Non-finite values are ignored per step (n counts the finite ones).
    """
    if band not in BANDS:
        raise GanAnalyzeError(f"unknown band {band!r}; choose one of {', '.join(BANDS)}")
    empty = pd.DataFrame(
        {
            "step": pd.Series([], dtype="int64"),
            **{c: pd.Series([], dtype="float64") for c in ("mean", "lo", "hi")},
            "n": pd.Series([], dtype="int64"),
        }
    )
    if not series:
        return empty
    steps = np.asarray(series[0].index, dtype=np.int64)
    for s in series[1:]:
        steps = np.intersect1d(steps, np.asarray(s.index, dtype=np.int64), assume_unique=True)
    if len(steps) == 0:
        return empty
    mat = np.empty((len(series), len(steps)))
    for i, s in enumerate(series):
        idx = np.asarray(s.index, dtype=np.int64)
        mat[i] = s.to_numpy(dtype=np.float64)[np.searchsorted(idx, steps)]
    mat[~np.isfinite(mat)] = np.nan
    n = np.sum(~np.isnan(mat), axis=0)
    with np.errstate(all="ignore"):
        import warnings as _w

        with _w.catch_warnings():
            _w.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(mat, axis=0)
            if band == "minmax":
                lo, hi = np.nanmin(mat, axis=0), np.nanmax(mat, axis=0)
            else:
                sd = np.where(n > 1, np.nanstd(mat, axis=0, ddof=1), 0.0)
                lo, hi = mean - sd, mean + sd
    return pd.DataFrame({"step": steps, "mean": mean, "lo": lo, "hi": hi, "n": n.astype(np.int64)})
