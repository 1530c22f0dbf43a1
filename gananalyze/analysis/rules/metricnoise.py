"""How noisy a sample metric's evaluations are: what a FID change must exceed to count.

`metric_noise` gives each evaluation's uncertainty: the sweep's own split-half std, else the
run's own scatter, and never less than the estimator's floor (`estimator_floor`): the FID
of two sets of N samples from the SAME distribution of d-dimensional features of variance
v per dimension is about v * d (d + 3) / (2 N), with a spread of the same order for small d
(Gaussian features; the bias term of Chong & Forsyth 2020). FIDs near that floor are noise,
whatever their ratios.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ...textfmt import fmt_sig
from .context import RuleContext

# config keys naming how many samples each FID evaluation used, and its feature dimension
N_KEYS = ("fid_num_samples", "num_samples", "n_samples", "fid_samples", "eval_samples")
D_KEYS = ("fid_dims", "fid_feature_dim", "feature_dim", "features_dim")


def _config_int(ctx: RuleContext, keys: tuple[str, ...]) -> int | None:
    for k in keys:
        v = ctx.run.config.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 1:
            return int(v)
    return None


def estimator_floor(ctx: RuleContext, sm: pd.Series) -> tuple[float, str] | None:
    """The FID estimator's own floor (see the module docstring) and how it was set, or None
    when the number of samples, the feature dimension or the features' variance is unknown.

    N: the sweep's num_samples, else the config, else the size of the run's vector samples;
    d and v: the real table's columns (vector sweeps), else the run's last vector samples
    (2-D mixtures, tables), else unknown (an image network's features: the sweep's
    split-half std is their noise).
    """
    if "fid" not in str(sm.name).lower():
        return None
    tab = ctx.run.sample_metrics
    n = None
    if tab is not None and "num_samples" in getattr(tab, "columns", ()):
        ns = pd.to_numeric(tab["num_samples"], errors="coerce").dropna()
        n = int(ns.median()) if len(ns) and ns.median() >= 2 else None
    n = n or _config_int(ctx, N_KEYS)
    feats = None
    where = ""
    if ctx.run.real_table is not None and ctx.run.real_table.matrix.size:
        feats, where = ctx.run.real_table.matrix, "the real table"
    elif ctx.run.vectors:
        try:
            feats = ctx.run.vectors[-1].flat().astype(np.float64)
            where = f"the vector samples at step {ctx.run.vectors[-1].step}"
        except Exception:  # an unreadable file: the vector rule reports it
            feats = None
    if feats is None or feats.ndim != 2 or len(feats) < 2:
        return None
    n_src = "samples per evaluation"
    if n is None:
        n, n_src = len(feats), "samples per evaluation, taken as the vector samples' count"
    d = _config_int(ctx, D_KEYS) or feats.shape[1]
    v = float(np.nanmean(np.nanvar(feats, axis=0)))
    if not (np.isfinite(v) and v > 0):
        return None
    floor = v * d * (d + 3) / (2.0 * n)
    words = (
        f"the estimator's floor {fmt_sig(floor)} for {n} {n_src}, {d} feature dimension(s) "
        f"and variance {fmt_sig(v)} per dimension ({where})"
    )
    return floor, words


def metric_noise(ctx: RuleContext, sm: pd.Series) -> tuple[np.ndarray, str]:
    """Each evaluation's uncertainty (absolute, the metric's units) and where it came from:
    the spread (`spread_noise`), never below the estimator's floor (`estimator_floor`)."""
    noise, src = spread_noise(ctx, sm)
    fl = estimator_floor(ctx, sm)
    if fl is None:
        return noise, src
    floor, words = fl
    if not (noise < floor).any():
        return noise, src
    return np.fmax(noise, floor), (words if not noise.any() else f"{src}, at least {words}")


def spread_noise(ctx: RuleContext, sm: pd.Series) -> tuple[np.ndarray, str]:
    """Each evaluation's spread (absolute, the metric's units) and where it came from.

    The sweep's own `<metric>_std` column (fid_std: split-half) when it was recorded,
    pooled as the median over evaluations (one split is a rough estimate); else the
    run's own scatter (>= noise_min_evaluations evaluations): the spread of the second
    differences of log(metric) (trend-free for a curve that falls like a power law), as a
    relative noise; else no noise (the relative margins alone decide).
    """
    v = sm.to_numpy(dtype=np.float64)
    tab = ctx.run.sample_metrics
    col = f"{sm.name}_std"
    if tab is not None and len(tab) and col in tab.columns and "step" in tab.columns:
        t = tab[["step", col]].dropna().drop_duplicates("step", keep="last").set_index("step")
        std = pd.to_numeric(t[col], errors="coerce").reindex(sm.index).to_numpy()
        rel = std / np.maximum(np.abs(v), 1e-30)
        if np.isfinite(rel).sum() >= 1:
            pooled = float(np.nanmedian(rel))
            return np.fmax(np.nan_to_num(std, nan=0.0), pooled * np.abs(v)), f"{col} (split-half)"
    if len(v) >= ctx.th["noise_min_evaluations"] and (v > 0).all():
        # the lower quartile of |second difference| (0.319 sigma for Gaussian noise) over the
        # later half (the early fall bends the curve): a jump touches up to three second
        # differences and must not pass for noise
        d2 = np.abs(np.diff(np.log(v), 2))
        rel = float(np.quantile(d2[len(d2) // 2 :], 0.25)) / 0.3186 / math.sqrt(6.0)
        return rel * np.abs(v), "the run's own scatter"
    return np.zeros(len(v)), "no noise estimate"


def beyond_noise(ctx: RuleContext, a: float, b: float, na: float, nb: float) -> bool:
    """Whether b - a exceeds metric_noise_z combined standard deviations."""
    return abs(b - a) > ctx.th["metric_noise_z"] * math.hypot(na, nb)
