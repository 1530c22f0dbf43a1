"""rules/clamps.py: the one table of the values a clamped loss sits at."""

from __future__ import annotations

import math

import numpy as np

from gananalyze.analysis.rules.clamps import CLAMP_REDUCTION, at_clamp, clamp_name


def test_each_clamp_value_says_what_it_is_and_which_reduction_it_implies():
    assert clamp_name(50.02) == "BCELoss's log clamp (-100) on one of two averaged terms"
    assert CLAMP_REDUCTION[50.0] == "mean"
    half_1e8 = -math.log(1e-8) / 2  # 9.21
    assert clamp_name(half_1e8) == "-log(1e-8) averaged over two terms"
    assert CLAMP_REDUCTION[half_1e8] == "mean"
    # 13.8155 is -log(1e-6) summed and -log(1e-12) averaged alike: no reduction implied
    v = -math.log(1e-6)
    assert clamp_name(v) == (
        "-log(1e-6), a log(x + 1e-6) clamp, or -log(1e-12) averaged over two terms"
    )
    assert v not in CLAMP_REDUCTION
    assert clamp_name(12.0) is None


def test_at_clamp_marks_values_within_a_thousandth():
    v = np.array([100.05, 100.2, 13.8155, 13.9, 1.39])
    assert at_clamp(v).tolist() == [True, False, True, False, False]
