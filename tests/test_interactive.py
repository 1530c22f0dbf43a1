"""Interactive charts (pages/interactive.py, templates/charts.html): the page-size budget, and
the report driven in a real headless Chromium: zoom, legend toggles, hover, the smoothing
slider (its EMA against analysis.smoothing.tensorboard_ema on the same input)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from browser import needs_driver, open_page
from click.testing import CliRunner
from conftest import write_synthetic_run

from gananalyze.analysis.smoothing import tensorboard_ema
from gananalyze.cli import main
from gananalyze.pages import interactive, plots
from gananalyze.pages.bundle import plotly_js

STEPS = 600


def test_a_million_points_stay_within_the_series_budget():
    x = np.arange(1_000_000, dtype=np.float64)
    v = np.sin(x / 5000.0) + np.random.default_rng(0).normal(0, 0.1, x.size)
    v[123_457] = 40.0  # a one-step spike
    spec = interactive.chart_spec([plots.Curve("G loss", x, v, smoothed=v)], title="G loss")
    s = json.loads(spec)["series"][0]
    assert len(spec) <= interactive.SERIES_BUDGET_BYTES
    assert len(s["x"]) == len(s["lo"]) == len(s["hi"]) == interactive.DETAIL
    assert max(s["hi"]) == 40.0  # the spike survives the envelope
    assert s["k"] == 250.0  # raw points per bin: the in-page EMA's weight is w ** 250


def test_a_short_series_ships_every_point_exactly_and_nan_as_null():
    v = np.array([0.5, np.nan, 0.25, np.inf, 1 / 3])
    s = json.loads(interactive.chart_spec([plots.Curve("a", np.arange(5), v, smoothed=v)]))
    assert s["series"][0]["y"] == [0.5, 0.25, 1 / 3]  # finite points, full precision
    assert s["series"][0]["x"] == [0, 2, 4] and s["series"][0]["k"] == 1.0
    assert "lo" not in s["series"][0]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("interactive")
    t = np.linspace(0, 1, STEPS)
    run = write_synthetic_run(
        d / "run", steps=STEPS, d_x=0.5 + 0.3 * t, d_gz=0.5 - 0.3 * t, noise=0.05
    )
    out = d / "run.html"
    res = CliRunner().invoke(main, ["report", str(run), "-o", str(out), "--no-tsne"])
    assert res.exit_code == 0, res.output
    return run, out


def test_the_page_inlines_the_bundle_once_and_needs_no_network(report):
    html = report[1].read_text()
    assert html.count("plotly.js v") == 1
    assert "<script src" not in html and "http://" not in html.split("<script>")[0]
    # the page-size budget: beside the bundle, each of the report's charted series costs at
    # most SERIES_BUDGET_BYTES (the PNG charts left are a few tens of kB each)
    assert len(html) - len(plotly_js()) < 12 * interactive.SERIES_BUDGET_BYTES


def _chart(page, fid):
    return f"document.getElementById('{fid}-plot')"


@needs_driver
def test_zoom_legend_hover_and_smoothing_in_chromium(report):
    from gananalyze import load_run

    run = load_run(report[0])
    g = run.scalars["G_loss"].to_numpy(dtype=np.float64)
    with open_page(report[1], 1280, 900) as page:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        gd = _chart(page, "chart-G_loss")
        page.locator("#chart-G_loss-plot").scroll_into_view_if_needed()
        # the drawn line is TensorBoard's EMA at the page's weight, computed in the page
        line = page.evaluate(f"{gd}.data.filter(t => t.meta === 'smooth')[0].y")
        np.testing.assert_allclose(line, tensorboard_ema(g, 0.6), rtol=1e-12)
        # ... and at every other weight, NaN and Inf passing through as in Python
        probe = [0.3, float("nan"), 1.7, 2.0, float("inf"), -0.4, 0.9]
        for w in (0.0, 0.25, 0.9, 0.999):
            js = page.evaluate(
                "([v, w]) => window.gananalyzeEma(v.map(x => x === null ? NaN : x), w)"
                ".map(x => Number.isFinite(x) ? x : String(x))",
                [[None if np.isnan(p) else (1e308 * 10 if np.isinf(p) else p) for p in probe], w],
            )
            want = tensorboard_ema(np.array(probe), w)
            got = np.array([float(x) for x in js])
            np.testing.assert_allclose(got, want, rtol=1e-12)

        # zoom: a drag across the plot area narrows the x range
        before = page.evaluate(f"{gd}._fullLayout.xaxis.range.slice()")
        box = page.locator("#chart-G_loss-plot .nsewdrag").first.bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * 0.3, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
        page.mouse.move(box["x"] + box["width"] * 0.6, y, steps=5)
        page.mouse.up()
        after = page.evaluate(f"{gd}._fullLayout.xaxis.range.slice()")
        assert after[0] > before[0] + 50 and after[1] < before[1] - 50

        # hover: the unified hover label shows the series' value
        page.mouse.move(box["x"] + box["width"] * 0.45, y)
        page.wait_for_timeout(200)
        hover = page.evaluate(
            "document.querySelector('#chart-G_loss-plot .hoverlayer').textContent"
        )
        assert "G loss (smoothed)" in hover and any(ch.isdigit() for ch in hover)

        # legend: a click hides the series (its line and band), a second click shows it
        name = "G loss (smoothed)"
        page.locator("#chart-G_loss-plot .infolayer .legend .traces", has_text=name).click()
        # plotly acts on a single click after its double-click delay (300 ms)
        page.wait_for_function(f"{gd}.data.some(t => t.visible === 'legendonly')", timeout=10_000)
        vis = page.evaluate(
            f"{gd}.data.filter(t => t.legendgroup === {name!r}).map(t => t.visible)"
        )
        assert vis and all(v == "legendonly" for v in vis)

        # the smoothing slider redraws the line with the new weight
        page.evaluate(
            "() => { const s = document.getElementById('smoothing'); s.value = '0.95';"
            " s.dispatchEvent(new Event('input')); }"
        )
        line95 = page.evaluate(f"{gd}.data.filter(t => t.meta === 'smooth')[0].y")
        np.testing.assert_allclose(line95, tensorboard_ema(g, 0.95), rtol=1e-12)
        assert page.locator("#smoothing-value").inner_text() == "0.950"
        assert errors == []
