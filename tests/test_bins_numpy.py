"""The rules' numpy binning gives bit for bit what pandas' groupby gives (rules/context.py)."""

import numpy as np
import pandas as pd
import pytest

from gananalyze.analysis.rules.context import _bin_pandas, _bin_sorted


def _both(b: np.ndarray, v: np.ndarray, nb: int):
    out = []
    for fn in (_bin_sorted, _bin_pandas):
        m, d, c = np.full(nb, np.nan), np.full(nb, np.nan), np.zeros(nb, np.int64)
        used = fn(b, v, m, d, c)
        out.append((used, m, d, c))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_numpy_bins_equal_pandas_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n = int(rng.integers(1, 2000))
        nb = max(1, min(200, n // 5))
        v = rng.normal(rng.normal(0, 5), rng.exponential(2), n) * 10.0 ** rng.integers(-3, 4)
        b = np.minimum(np.arange(n) * nb // n, nb - 1)
        if rng.random() < 0.4:  # a sparse metric: some bins hold one point or none
            keep = rng.random(n) < 0.2
            if not keep.any():
                continue
            b, v = b[keep], v[keep]
        (used, *fast), (_, *slow) = _both(b, v, nb)
        assert used is True
        for x, y in zip(fast, slow, strict=True):
            assert np.array_equal(x, y, equal_nan=True)


def test_known_values() -> None:
    b = np.array([0, 0, 0, 1, 1, 2])
    v = np.array([3.0, 1.0, 2.0, 10.0, 20.0, 5.0])
    (used, med, disp, cnt), _ = _both(b, v, 4)
    assert used is True
    assert med.tolist()[:3] == [2.0, 15.0, 5.0] and np.isnan(med[3])
    assert cnt.tolist() == [3, 2, 1, 0]
    # bin 0: differences -2, 1 -> std 2.1213..., / sqrt 2 = 1.5; bins 1-3: under two differences
    assert disp[0] == pytest.approx(1.5)
    assert np.isnan(disp[1:]).all()
    expect = pd.Series(np.diff(v[:3])).std() / np.sqrt(2)
    assert disp[0] == expect


def test_unsorted_or_non_finite_falls_back_to_pandas() -> None:
    m, d, c = np.full(2, np.nan), np.full(2, np.nan), np.zeros(2, np.int64)
    assert _bin_sorted(np.array([1, 0, 1]), np.array([1.0, 2.0, 3.0]), m, d, c) is False
    assert _bin_sorted(np.array([0, 0, 1]), np.array([1.0, np.inf, 3.0]), m, d, c) is False
    assert np.isnan(m).all() and (c == 0).all()
