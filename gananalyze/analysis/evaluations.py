"""A run's evaluations: its sample-metric series and its best checkpoint, decided once.

Sample metrics (FID, KID, IS, precision/recall, ... from `fid-sweep` or the trainer's
own metric files) are read from `run.sample_metrics` through the alias table, else
from the logged scalars. When the evaluations used several feature networks, one
policy picks the rows: "inception" when any evaluation of the metric used it, else the
network used most often. The rules (over-training, FID jumps), the report's "best"
marker, `compare`'s ranking and the sweep's stop advice all read these functions, so
they can never disagree about which checkpoint is best.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..naming.aliases import higher_is_better, is_sample_metric, resolve
from ..run import Run
from ..runio.plausibility import FID_MAX, FID_MIN, is_fid, is_probability


def pick_features(features: pd.Series) -> str | None:
    """The feature network whose evaluations count: inception if present, else the commonest."""
    feats = features.dropna().astype(str)
    if not len(feats):
        return None
    return "inception" if (feats == "inception").any() else str(feats.value_counts().index[0])


def metric_series(run: Run, metric: str) -> tuple[pd.Series, str | None]:
    """`metric` of `run` as a Series indexed by step, and where it came from.

    Sample metrics come first (one feature network, see the module docstring; the last
    row wins when a step was evaluated twice), then the scalars. Returns an empty
    Series and None when the run has neither.
    """
    sm = run.sample_metrics
    if sm is not None and len(sm) and "step" in sm.columns:
        col = metric if metric in sm.columns else resolve(metric, sm.columns)
        if col is not None and col != "step":
            rows = sm
            source = f"sample metrics ({col})"
            feats: list[Any] = []  # the logged feature-network names, in row order
            if "features" in sm.columns:
                named = sm["features"].to_numpy(dtype=object, na_value=None)
                feats = [f for f in named if f is not None]
            if len(set(feats)) > 1:
                pick = pick_features(sm.loc[sm[col].notna(), "features"])
                rows = sm[sm["features"].astype(str) == pick]
                source = f"sample metrics ({col}, {pick} features)"
            vals = rows[col]
            if vals.dtype.kind not in "fiub":
                vals = pd.to_numeric(vals, errors="coerce")
            v = vals.to_numpy(dtype=np.float64)
            steps = rows["step"].to_numpy(dtype=np.int64)
            keep = ~np.isnan(v)
            v, steps = v[keep], steps[keep]
            if len(steps) > 1 and not np.all(steps[1:] > steps[:-1]):
                order = np.argsort(steps, kind="stable")  # in step order, the last row wins
                steps, v = steps[order], v[order]
                last = np.r_[steps[1:] != steps[:-1], True]
                steps, v = steps[last], v[last]
            s = pd.Series(v, index=pd.Index(steps, name="step"), name=col)
            if rows is not sm:
                s.attrs["picked_features"] = pick  # one network chosen among several
                feats = list(rows["features"].dropna())
            if feats:
                s.attrs["features"] = str(feats[-1])
            if len(s):
                return s, source
    s = run.series(metric)
    if len(s):
        return s, f"scalars ({s.name})"
    return s, None


def finite_series(run: Run, metric: str) -> pd.Series:
    """metric_series without its NaN/Inf and impossible evaluations (what the rules judge).

    Impossible: what `plausibility` flags (a FID below 0 or above 1e4, a precision or
    recall outside [0, 1]); such a value never picks a checkpoint. attrs["implausible"]
    counts the evaluations left out.
    """
    s = metric_series(run, metric)[0]
    v = s.to_numpy()
    keep = _plausible(s, metric)
    out = s[keep]
    out.attrs = dict(s.attrs, implausible=int((np.isfinite(v) & ~keep).sum()))
    return out


def _plausible(s: pd.Series, metric: str = "") -> np.ndarray:
    """Mask of the finite, possible values of a sample-metric series (see finite_series)."""
    v = s.to_numpy()
    keep = np.isfinite(v)
    name = str(s.name) if s.name is not None else metric
    if is_fid(name):
        keep &= (v >= FID_MIN) & (v <= FID_MAX)
    elif is_probability(name):
        keep &= (v >= 0.0) & (v <= 1.0)
    return keep


def best_position(values: np.ndarray, higher: bool) -> int:
    """Index of the best value (the first one on a tie): lowest FID/KID, highest IS/precision."""
    return int(np.argmax(values) if higher else np.argmin(values))


def best_of(s: pd.Series, higher: bool) -> tuple[float, int] | None:
    """(best finite value, its first step) of a series, or None."""
    keep = _plausible(s)
    v = s.to_numpy()[keep]
    if not len(v):
        return None
    i = best_position(v, higher)
    return float(v[i]), int(s.index.to_numpy()[keep][i])


def initial_step(run: Run) -> int | None:
    """The step of the untrained weights, where the run shows them: the earliest step of its
    record (the logged steps, checkpoints, sample metrics) when that is 0 or 1, the start of
    training. A log that starts later (a window of a long log, a resumed run) shows no
    untrained weights: None. Neither the best evaluation to stop at nor a checkpoint to keep
    is ever the untrained weights' (over_training and the recommendation both ask here)."""
    steps = [int(run.steps[0])] if len(run.steps) else []
    steps += [int(c.step) for c in run.checkpoints]
    sm = run.sample_metrics
    if sm is not None and len(sm) and "step" in sm.columns:
        st = pd.to_numeric(sm["step"], errors="coerce").dropna()
        steps += [int(st.min())] if len(st) else []
    first = min(steps) if steps else None
    return first if first is not None and first <= 1 else None


def best_checkpoint(run: Run, metric: str = "fid") -> dict[str, Any] | None:
    """The best evaluated step of `run` by `metric`, or None when it was never evaluated.

    {step, metric, value, features (the network picked when there were several, else
    None), lower_is_better, last_step, last_value, has_checkpoint, checkpoint (file name)}.
    """
    s = finite_series(run, metric)
    if not len(s):
        return None
    col = str(s.name) if s.name is not None else metric
    lower = not higher_is_better(col)
    i = best_position(s.to_numpy(), not lower)
    step = int(s.index[i])
    return {
        "step": step,
        "metric": col,
        "value": float(s.iloc[i]),
        "features": s.attrs.get("picked_features"),
        "lower_is_better": lower,
        "last_step": int(s.index[-1]),
        "last_value": float(s.iloc[-1]),
        "has_checkpoint": step in {c.step for c in run.checkpoints},
        "checkpoint": checkpoint_name(run, step),
    }


def checkpoint_name(run: Run, step: int) -> str | None:
    """The file name of the checkpoint saved at `step`.

    From run.checkpoints, else the sample metrics' snapshot column (StyleGAN's metric files).
    """
    for ck in run.checkpoints:
        if ck.step == step:
            return Path(ck.path).name
    sm = run.sample_metrics
    for col in ("snapshot", "snapshot_pkl", "checkpoint"):
        if len(sm) and col in sm.columns and "step" in sm.columns:
            hit = sm.loc[sm["step"] == step, col].dropna()
            if len(hit):
                return Path(str(hit.iloc[-1])).name
    return None


LEVEL_TAIL = 0.1  # a training signal's level: the median of its last 10% of logged points


def rules_metric(metric: str) -> str:
    """The metric the rules judge samples by: `metric` when it is a sample metric, else FID.

    A loss passed as `--metric` ranks runs, but a loss that rises is not "samples
    degraded" and its lowest point is not the best checkpoint.
    """
    return metric if is_sample_metric(metric) else "fid"


def ranking_value(
    run: Run, metric: str, higher: bool, series: pd.Series | None = None
) -> tuple[float, int] | None:
    """(value, step) that ranks `run` by `metric`: the best evaluation of a sample
    metric (best_of), else the training signal's level at the end (the median of its
    last LEVEL_TAIL of logged points, at the last step). `series`: metric_series's,
    when the caller has it already."""
    s = metric_series(run, metric)[0] if series is None else series
    if is_sample_metric(metric):
        return best_of(s, higher)
    v = s[np.isfinite(s.to_numpy(dtype=np.float64))]
    if not len(v):
        return None
    tail = v.iloc[-max(1, int(round(len(v) * LEVEL_TAIL))) :]
    return float(np.median(tail.to_numpy())), int(v.index[-1])
