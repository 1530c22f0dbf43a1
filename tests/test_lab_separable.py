"""lab/separable.py: the loss-curve features the collapse-separability measure reads."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lab.separable import curve_features  # noqa: E402


def test_curve_features_of_a_known_curve():
    s = np.array([1.0, 1.0, 2.0, 2.0, 4.0, 4.0, 8.0, 8.0, np.nan])
    f = curve_features(s)
    assert f[:4] == [1.0, 2.0, 4.0, 8.0]  # quarter medians (the NaN left out)
    assert all(np.isnan(f[4:8]))  # two points a quarter: no step-to-step spread
    assert f[8:10] == [1.0, 8.0]
    assert f[10] == pytest.approx(np.std(s[:8]) / np.mean(s[:8]), rel=1e-3)
