"""Smoothing: equal to reference transcriptions of TensorBoard's / W&B's loops."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from gananalyze.analysis.smoothing import moving_average, tensorboard_ema, time_weighted_ema
from gananalyze.errors import GanAnalyzeError


def tb_reference(values, weight):
    """Line-by-line transcription of TensorBoard's classicSmoothing (webapp line_chart_v2)."""
    if len(values) and all(v == values[0] for v in values):
        return list(values)
    last = 0.0 if len(values) else math.nan
    num_accum = 0
    out = []
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        num_accum += 1
        debias = 1.0 - math.pow(weight, num_accum) if weight != 1.0 else 1.0
        out.append(last / debias)
    return out


def wandb_reference(steps, values, half_life):
    """The W&B-style time-weighted EMA as a plain loop (decay 0.5 ** (gap / half_life))."""
    s = z = 0.0
    prev = None
    out = []
    for t, v in zip(steps, values, strict=True):
        if not math.isfinite(v):
            out.append(v)
            continue
        a = 1.0 if prev is None else 0.5 ** ((t - prev) / half_life)
        s = s * a + v
        z = z * a + 1.0
        prev = t
        out.append(s / z)
    return out


def same(a, b, rtol=1e-12):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape
    fa, fb = np.isfinite(a), np.isfinite(b)
    assert np.array_equal(fa, fb)
    assert np.array_equal(a[~fa], b[~fb], equal_nan=True)
    np.testing.assert_allclose(a[fa], b[fb], rtol=rtol, atol=1e-12)


SERIES = {
    "noisy": list(np.random.default_rng(0).normal(1.0, 0.3, 500)),
    "nan_inf": [1.0, 2.0, math.nan, 3.0, math.inf, 4.0, -math.inf, 5.0, math.nan],
    "leading_nan": [math.nan, math.nan, 0.7, 0.2, 0.9],
    "constant": [3.25] * 40,
    "all_nan": [math.nan] * 5,
    "single": [7.0],
    "empty": [],
    "big_offset": list(1e6 + np.random.default_rng(1).normal(0, 1, 300)),
}


@pytest.mark.parametrize("name", sorted(SERIES))
@pytest.mark.parametrize("weight", [0.0, 0.3, 0.6, 0.95, 0.999])
def test_tensorboard_ema_matches_reference(name, weight):
    vals = SERIES[name]
    same(tensorboard_ema(vals, weight), tb_reference(vals, weight))


def test_tensorboard_ema_known_numbers():
    # hand-computed: w=0.5, [1, 3]: last=0.5 -> 0.5/0.5=1; last=0.25+1.5=1.75 -> 1.75/0.75
    np.testing.assert_allclose(tensorboard_ema([1.0, 3.0], 0.5), [1.0, 1.75 / 0.75])
    # NaN does not advance n: the 3 after a NaN is smoothed as the 2nd point
    out = tensorboard_ema([1.0, math.nan, 3.0], 0.5)
    assert math.isnan(out[1]) and out[2] == pytest.approx(1.75 / 0.75)
    # constant series returned as is (no debias artefacts)
    assert tensorboard_ema([2.0, 2.0, 2.0], 0.9).tolist() == [2.0, 2.0, 2.0]


def test_tensorboard_ema_weight_range():
    with pytest.raises(GanAnalyzeError, match="between 0 and 0.999"):
        tensorboard_ema([1.0, 2.0], 1.0)
    with pytest.raises(GanAnalyzeError):
        tensorboard_ema([1.0, 2.0], -0.1)


def test_tensorboard_ema_long_series_equal_and_fast():
    rng = np.random.default_rng(2)
    x = rng.normal(0, 1, 1_000_000)
    x[rng.integers(0, x.size, 1000)] = np.nan
    x[rng.integers(0, x.size, 100)] = np.inf
    tensorboard_ema(x[:10], 0.99)  # the first call imports scipy: not part of the cost
    t0 = time.process_time()  # CPU seconds of this process: a loaded machine does not count
    fast = tensorboard_ema(x, 0.99)
    elapsed = time.process_time() - t0
    assert elapsed < 1.0, elapsed  # ~0.02 s vectorised; a loop per point costs seconds
    head = 20_000
    same(fast[:head], tb_reference(x[:head].tolist(), 0.99), rtol=1e-10)


def ma_reference(values, window, centered):
    out = []
    n = len(values)
    for i, v in enumerate(values):
        if not math.isfinite(v):
            out.append(v)
            continue
        if centered:
            lo = i - window // 2  # even window: one more point before i than after (pandas)
            hi = lo + window - 1
        else:
            lo, hi = i - window + 1, i
        pts = [values[j] for j in range(max(lo, 0), min(hi, n - 1) + 1) if math.isfinite(values[j])]
        out.append(sum(pts) / len(pts))
    return out


@pytest.mark.parametrize("window", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("centered", [False, True])
def test_moving_average_matches_reference(window, centered):
    vals = [1.0, 2.0, math.nan, 4.0, math.inf, 6.0, 7.0, 8.0, 9.0, 10.0, -1.0]
    same(moving_average(vals, window, centered=centered), ma_reference(vals, window, centered))


def test_moving_average_numbers_and_errors():
    np.testing.assert_allclose(moving_average([1, 2, 3, 4], 2), [1.0, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(
        moving_average([1, 2, 3, 4, 5], 3, centered=True), [1.5, 2.0, 3.0, 4.0, 4.5]
    )
    with pytest.raises(GanAnalyzeError):
        moving_average([1.0], 0)


@pytest.mark.parametrize("half_life", [0.5, 3.0, 100.0])
def test_time_weighted_ema_matches_reference_uneven_steps(half_life):
    rng = np.random.default_rng(3)
    steps = np.cumsum(rng.choice([1, 1, 2, 10, 500], size=300)).astype(float)
    vals = rng.normal(0, 1, 300)
    vals[[5, 50, 51, 299]] = [np.nan, np.inf, np.nan, -np.inf]
    same(
        time_weighted_ema(steps, vals, half_life),
        wandb_reference(steps.tolist(), vals.tolist(), half_life),
    )


def test_time_weighted_ema_meaning():
    # two points half_life apart: the first weighs 1/2 -> (0.5*0 + 1*3) / 1.5 = 2
    assert time_weighted_ema([0, 10], [0.0, 3.0], 10)[1] == pytest.approx(2.0)
    # a huge gap forgets the past completely (and nothing overflows)
    out = time_weighted_ema([0, 1, 10**9], [5.0, 5.0, 1.0], 1.0)
    assert out[-1] == pytest.approx(1.0)
    with pytest.raises(GanAnalyzeError, match="non-decreasing"):
        time_weighted_ema([2, 1], [1.0, 2.0], 1.0)
    with pytest.raises(GanAnalyzeError, match="half-life"):
        time_weighted_ema([1, 2], [1.0, 2.0], 0)


def test_fast_on_a_million_points():
    rng = np.random.default_rng(4)
    steps = np.cumsum(rng.integers(1, 5, 1_000_000)).astype(float)
    vals = rng.normal(0, 1, 1_000_000)
    t0 = time.process_time()  # CPU seconds of this process: a loaded machine does not count
    time_weighted_ema(steps, vals, 50.0)
    moving_average(vals, 100, centered=True)
    elapsed = time.process_time() - t0
    assert elapsed < 3.0, elapsed  # ~0.2 s vectorised
    head = 5000
    same(
        time_weighted_ema(steps, vals, 50.0)[:head],
        wandb_reference(steps[:head].tolist(), vals[:head].tolist(), 50.0),
        rtol=1e-9,
    )
