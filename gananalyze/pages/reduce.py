"""What a long series is reduced to before it is drawn: per-bin min/max/mean
envelopes (never random samples, so spikes stay visible) and the finite value
range a chart's axis spans. Pure numpy; plots.py draws what these return.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def envelope(
    steps: Any, values: Any, bins: int = 2000
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Min/max/mean of `values` per step bin: (x, lo, hi, mean), at most `bins` points.

    Bins are equal-width in step (so gaps in logging stay gaps); x is the mean
    step of the points in each non-empty bin. Non-finite values (NaN, Inf) are
    left out (the report marks them separately). A series with no more finite
    points than `bins` comes back unchanged (lo == hi == mean == values).
    Never samples at random: every point influences its bin's min and max.
    """
    s = np.asarray(steps, dtype=np.float64).reshape(-1)
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if s.shape != v.shape:
        raise ValueError(f"steps and values differ in length ({s.size} vs {v.size})")
    ok = np.isfinite(v) & np.isfinite(s)
    if not ok.all():
        s, v = s[ok], v[ok]
    if s.size > 1 and np.any(s[1:] < s[:-1]):
        order = np.argsort(s, kind="stable")
        s, v = s[order], v[order]
    if s.size <= max(int(bins), 1):
        return s, v.copy(), v.copy(), v.copy()
    bins = max(int(bins), 1)
    lo_s, hi_s = s[0], s[-1]
    width = (hi_s - lo_s) / bins or 1.0
    idx = np.minimum(((s - lo_s) / width).astype(np.int64), bins - 1)
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    counts = np.diff(np.r_[starts, s.size])
    x = np.add.reduceat(s, starts) / counts
    mean = np.add.reduceat(v, starts) / counts
    lo = np.minimum.reduceat(v, starts)
    hi = np.maximum.reduceat(v, starts)
    return x, lo, hi, mean


def bin_mean(steps: Any, values: Any, bins: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """(x, mean per bin): the `envelope` reduction for a line that is already smooth."""
    x, _, _, m = envelope(steps, values, bins)
    return x, m


def finite_range(*arrays: Any, pad: float = 0.05) -> tuple[float, float] | None:
    """(lo, hi) over the finite values of all arrays, padded; None when there are none."""
    vals = [
        np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays if a is not None and np.size(a)
    ]
    if not vals:
        return None
    v = np.concatenate(vals)
    v = v[np.isfinite(v)]
    if not v.size:
        return None
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo or max(abs(hi), 1.0) * 0.1
    return lo - pad * span, hi + pad * span
