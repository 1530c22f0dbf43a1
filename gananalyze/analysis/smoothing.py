"""Smoothing of scalar curves: TensorBoard's EMA, moving averages, a time-weighted EMA.

Owns the smoothed lines the report draws and the rules read. Every function
takes a 1-D sequence and returns a float64 array of the same length, and is
vectorised so that a 1,000,000-point series smooths in well under a second.

Non-finite values (NaN, Inf) are handled the way TensorBoard handles them: the
output at that position is the input value unchanged, and the value does not
enter any average.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import GanAnalyzeError

MAX_EMA_WEIGHT = 0.999  # TensorBoard's slider range is 0 .. 0.999


def _as_1d(values: Sequence[float] | np.ndarray, what: str = "values") -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise GanAnalyzeError(f"{what} must be one-dimensional, got shape {x.shape}")
    return x


def smoothed(values: np.ndarray, weight: float, min_points: int = 1) -> np.ndarray:
    """The smoothed line a chart draws over a series' own logged points: TensorBoard's EMA
    (tensorboard_ema), or the values as they are for weight 0 or fewer than `min_points`
    points. The one smoothing entry of the report and compare pages."""
    if weight <= 0 or len(values) < max(1, min_points):
        return values
    return tensorboard_ema(values, weight)


def tensorboard_ema(values: Sequence[float] | np.ndarray, weight: float = 0.6) -> np.ndarray:
    """TensorBoard's debiased, index-based exponential moving average.

    Same as TensorBoard's scalar dashboard ("classic smoothing"): starting from
    last = 0 and n = 0, every finite value y does last = last*w + (1-w)*y,
    n += 1 and outputs last / (1 - w**n). Non-finite values are output as they
    are and advance neither `last` nor `n`. A series whose values are all equal
    is returned unsmoothed (TensorBoard issue #786). `weight` must lie in
    [0, 0.999], TensorBoard's slider range.

    The recurrence is a first-order IIR filter, so it runs as one
    scipy.signal.lfilter call over the finite values (C speed, same arithmetic
    as the loop), followed by the vectorised debias division.
    """
    from scipy.signal import lfilter

    w = float(weight)
    if not (0.0 <= w <= MAX_EMA_WEIGHT):
        raise GanAnalyzeError(
            f"smoothing weight must be between 0 and {MAX_EMA_WEIGHT}, not {weight!r}"
        )
    x = _as_1d(values)
    out = x.copy()
    if x.size == 0:
        return out
    # TensorBoard compares with `==`, so a series holding a NaN is never "constant".
    if np.all(x == x[0]):
        return out
    finite = np.isfinite(x)
    y = x[finite]
    if y.size == 0:
        return out
    last = lfilter([1.0 - w], [1.0, -w], y)
    # Once w**n < 2**-54, 1 - w**n is exactly 1.0 in float64: divide only the head
    # (bit-identical, and avoids slow denormal powers over long series).
    k = min(y.size, int(np.ceil(-54 * np.log(2.0) / np.log(w))) + 1) if w > 0 else y.size
    n = np.arange(1, k + 1, dtype=np.float64)
    last[:k] /= 1.0 - np.power(w, n)
    out[finite] = last
    return out


def moving_average(
    values: Sequence[float] | np.ndarray, window: int, centered: bool = False
) -> np.ndarray:
    """Mean over a sliding window of `window` points (trailing, or centred).

    Trailing: point i averages points i-window+1 .. i. Centred: the window is
    placed around i (for an even window one more point before i than after it,
    as pandas' rolling(center=True) does). NaN handling: non-finite values are
    left out of every window's mean and are passed through unchanged at their
    own positions (as tensorboard_ema does); windows at the edges are partial
    (the mean of the finite points they hold), so the output has no NaN that
    the input did not have.
    """
    window = int(window)
    if window < 1:
        raise GanAnalyzeError(f"moving-average window must be at least 1, not {window}")
    x = _as_1d(values)
    if x.size == 0:
        return x.copy()
    finite = np.isfinite(x)
    clean = np.where(finite, x, np.nan)
    out = (
        pd.Series(clean)
        .rolling(window, min_periods=1, center=centered)
        .mean()
        .to_numpy(dtype=np.float64, copy=True)
    )
    out[~finite] = x[~finite]
    return out


def time_weighted_ema(
    steps: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray, half_life: float
) -> np.ndarray:
    """An EMA whose decay depends on the step gap, for unevenly spaced points.

    Weights & Biases-style: between consecutive finite points the running sums
    decay by a = 0.5 ** (gap / half_life), then s = s*a + y and the normaliser
    z = z*a + 1; the output is s / z (a weighted mean, so no start-up bias). A
    point half_life steps in the past weighs half as much as the current one,
    however many points lie in between. Non-finite values are passed through
    and skipped (the next gap is measured from the last finite point). `steps`
    must be non-decreasing.

    Vectorised: see _decayed_sum (cumulative sums over segments of bounded
    decay, so nothing overflows).
    """
    t = _as_1d(steps, "steps")
    x = _as_1d(values)
    if t.shape != x.shape:
        raise GanAnalyzeError(f"steps and values differ in length ({t.size} vs {x.size})")
    hl = float(half_life)
    if not (hl > 0 and np.isfinite(hl)):
        raise GanAnalyzeError(f"half-life must be a positive number, not {half_life!r}")
    out = x.copy()
    finite = np.isfinite(x)
    if not np.all(np.isfinite(t)):
        raise GanAnalyzeError("steps must be finite")
    y = x[finite]
    ts = t[finite]
    m = y.size
    if m == 0:
        return out
    gaps = np.diff(ts, prepend=ts[0])
    if np.any(gaps < 0):
        raise GanAnalyzeError("steps must be non-decreasing for a time-weighted EMA")
    logdecay = -(gaps / hl) * np.log(2.0)  # log a_k <= 0; a_0 = 1
    num = _decayed_sum(logdecay, y)
    den = _decayed_sum(logdecay, np.ones_like(y))
    out[finite] = num / den
    return out


def _decayed_sum(logdecay: np.ndarray, y: np.ndarray, span: float = 200.0) -> np.ndarray:
    """s_k = exp(logdecay_k) * s_{k-1} + y_k with s_{-1} = 0, vectorised and overflow-free.

    With L the cumulative log-decay, s_k = sum_j y_j exp(L_k - L_j). The points
    are cut into segments over which L falls by less than `span`; inside a
    segment with reference R (L just before it) s_k = exp(L_k - R) * (carry +
    cumsum(y_j exp(R - L_j))), whose factors stay below e^(2*span). A single
    gap decaying by more than `span` is clipped to `span` (the past then
    weighs below e^-200, i.e. nothing at double precision). The carry between
    segments is one loop over segments (few unless the half-life is tiny).
    """
    ld = np.maximum(logdecay, -span)
    L = np.cumsum(ld)
    seg = np.floor(-L / span).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
    seg_idx = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, L.size]))
    R = (L[starts] - ld[starts])[seg_idx]  # L just before each segment's first point
    u = y * np.exp(R - L)
    csum = pd.Series(u).groupby(seg_idx).cumsum().to_numpy()
    ends = np.r_[starts[1:], L.size] - 1
    grow = np.exp(L - R)
    end_decay = grow[ends]
    end_sum = csum[ends]
    carry = np.empty(starts.size)
    c = 0.0
    for g in range(starts.size):
        carry[g] = c
        c = end_decay[g] * (c + end_sum[g])
    return grow * (carry[seg_idx] + csum)
