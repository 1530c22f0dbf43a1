"""The one number formatter (gananalyze.textfmt.fmt_num) and its presets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gananalyze.textfmt import fmt_cfg, fmt_fixed, fmt_num, fmt_pct, fmt_sig, fmt_table, fmt_text


def test_human_style_for_pages():
    assert fmt_num(1234567) == "1,234,567"
    assert fmt_num(np.float64(4500.0)) == "4,500"
    assert fmt_num(0.123456) == "0.1235"
    assert fmt_num(2.5e-5) == "2.5e-05"
    assert fmt_num(float("nan")) == "NaN" and fmt_num(-math.inf) == "-Inf"
    assert fmt_num(None) == "n/a" and fmt_num(True) == "True"


def test_presets_keep_each_place_spelling():
    assert fmt_sig(198.2175) == "198" and fmt_sig(0.61066, 2) == "0.61"
    assert fmt_sig(4.85e-06) == "4.85e-06" and fmt_sig(None) == "None"
    assert fmt_table(198.2175) == "198.2" and fmt_table(0.0078308, 3) == "0.00783"
    assert fmt_table(None) == "-" and fmt_table(5000) == "5000" and fmt_table("x") == "x"
    assert fmt_fixed(0.5) == "0.5000" and fmt_fixed(0.0012345678) == "0.00123457"
    assert fmt_fixed(float("nan")) == "-"
    assert fmt_cfg(0.0002) == "0.0002" and fmt_cfg(None) == "(not set)"
    assert fmt_text([1, 2]) == "[1, 2]" and fmt_text("a" * 10, limit=5) == "aaaa…"
    assert fmt_pct(0.25) == "25%"


def test_unknown_style_is_an_error():
    with pytest.raises(ValueError, match="unknown number style 'roman'"):
        fmt_num(1, style="roman")


def test_level_labels_for_sweep_values():
    from gananalyze.textfmt import fmt_level, fmt_levels

    lrs = np.logspace(np.log10(5.62341e-05), -2, 7)
    assert fmt_levels(lrs) == ["5.6e-05", "1.3e-04", "3.2e-04", "7.5e-04", "0.0018", "0.0042",
                               "0.01"]
    assert fmt_levels([32, 64, 128.0]) == ["32", "64", "128"]
    assert fmt_levels([1.05e-4, 1.1e-4]) == ["1.05e-04", "1.1e-04"]  # digits kept apart
    assert fmt_level(3e5) == "300000" and fmt_level(2.5e5 + 0.5) == "2.5e+05"
    assert fmt_level(None) == "(not set)" and fmt_level("adam") == "adam"
