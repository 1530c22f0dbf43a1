"""Plot helpers: the min/max envelope keeps spikes, figures become PNG data URIs."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from gananalyze.pages import plots, pngs, reduce


def test_envelope_keeps_a_single_spike_in_a_million_points():
    n = 1_000_000
    rng = np.random.default_rng(0)
    v = rng.normal(0, 0.1, n)
    v[654_321] = 50.0
    v[123_456] = -40.0
    x, lo, hi, mean = reduce.envelope(np.arange(n), v, bins=2000)
    assert len(x) == 2000
    assert hi.max() == 50.0 and lo.min() == -40.0
    # the spike sits in the bin whose x is near its step
    assert abs(x[np.argmax(hi)] - 654_321) < n / 2000
    # per-bin reductions equal a brute-force computation
    edges = np.linspace(0, n - 1, 2001)
    idx = np.minimum(((np.arange(n) - 0) / ((n - 1) / 2000)).astype(int), 1999)
    for b in (0, 17, 1327, 1999):
        sel = v[idx == b]
        assert lo[b] == sel.min() and hi[b] == sel.max()
        assert mean[b] == pytest.approx(sel.mean())
    assert edges[0] <= x[0] < edges[1]


def test_envelope_short_series_unchanged_and_nonfinite_dropped():
    s = np.array([3, 1, 2, 4, 5])
    v = np.array([30.0, 10.0, np.nan, np.inf, 50.0])
    x, lo, hi, mean = reduce.envelope(s, v, bins=100)
    assert x.tolist() == [1, 3, 5]  # sorted by step, NaN/Inf left out
    assert lo.tolist() == hi.tolist() == mean.tolist() == [10.0, 30.0, 50.0]


def test_envelope_bins_by_step_so_gaps_stay_gaps():
    s = np.r_[np.arange(0, 1000), np.arange(9000, 10000)]
    v = np.ones(s.size)
    x, lo, hi, _ = reduce.envelope(s, v, bins=100)
    assert not np.any((x > 1000) & (x < 9000))
    assert len(x) <= 100


def test_envelope_length_mismatch_raises():
    with pytest.raises(ValueError):
        reduce.envelope([1, 2, 3], [1.0, 2.0])


def _png(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_upscale_png_nearest_neighbour_keeps_pixel_values():
    rng = np.random.default_rng(1)
    small = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(small).save(buf, format="PNG")
    big = Image.open(io.BytesIO(pngs.upscale_png(buf.getvalue(), min_width=100)))
    assert big.size == (12 * 8, 10 * 8)
    arr = np.asarray(big)
    assert np.array_equal(arr[::8, ::8], small)


def test_finite_range_skips_inf():
    assert reduce.finite_range(np.array([0.0, np.inf, 1.0]), pad=0) == (0.0, 1.0)
    assert reduce.finite_range(np.array([np.nan])) is None


def test_palette_and_style_are_seaborns():
    import seaborn as sns


    assert list(plots.PALETTE) == sns.color_palette("colorblind").as_hex()
    assert plots.SEABORN_RC == {**sns.axes_style("whitegrid"), **sns.plotting_context("paper")}
    rc = plots._style()
    assert (
        rc["axes.grid"] is True
        and rc["axes.facecolor"] == sns.axes_style("whitegrid")["axes.facecolor"]
    )
