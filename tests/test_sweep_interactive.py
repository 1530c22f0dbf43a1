"""The sweep page in a real headless Chromium: brushing the parallel coordinates and the
outcome filter filter the run table; no chart text is clipped; a screenshot.

On conftest.interaction_sweep (lr x batch size x 3 seeds, batch 128 rescues lr 1.8e-3).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser import (
    assert_no_clipped_chart_text,
    assert_not_blank,
    clipped_chart_text,
    needs_driver,
    open_page,
    wait_for_charts_to_fit,
)
from bs4 import BeautifulSoup

from gananalyze.pages.compare_sweep import render_sweep_html


@pytest.fixture(scope="module")
def page_path(interaction_sweep, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep-page") / "sweep.html"
    out.write_text(render_sweep_html(interaction_sweep[1]), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def browser_page():
    """One headless Chromium page for the module's browser tests (one launch)."""
    from browser import CHROMIUM, sync_playwright

    if CHROMIUM is None or sync_playwright is None:
        pytest.skip("no driver")
    with open_page(Path(__file__)) as page:  # any local file; each test goes to its page
        yield page


def _open(page, path: Path, width: int = 1280, height: int = 900):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(path.resolve().as_uri())
    return page


def _figs(soup):
    return {s["data-target"]: json.loads(s.get_text()) for s in soup.select("script.fig")}


def test_page_carries_the_figures(page_path):
    soup = BeautifulSoup(page_path.read_text(encoding="utf-8"), "html.parser")
    figs = _figs(soup)
    dims = figs["plot-parallel"]["data"][0]["dimensions"]
    # seeds are not an axis; keys are categories labelled through textfmt; outcome last
    assert [d["label"] for d in dims] == ["lr", "batch_size", "best FID", "outcome"]
    assert dims[0]["ticktext"] == ["5e-05", "1e-04", "2e-04", "5e-04", "0.0018", "0.01"]
    assert dims[0]["tickvals"] == [0, 1, 2, 3, 4, 5]
    assert dims[1]["ticktext"] == ["64", "128"]
    assert dims[3]["ticktext"] == ["diverged", "collapsed", "D overpowers G", "healthy"]
    assert len(dims[0]["values"]) == 36
    # one plotly bundle, inline; no network
    scripts = soup.select("script")
    assert sum("plotly.js v" in s.get_text()[:200] for s in scripts) == 1
    assert not soup.select("script[src]") and not soup.select("link[href]")
    # the interaction is said in words and in the table
    assert soup.select_one("#interactions").get_text() == (
        "batch_size matters together with lr: it explains 0.26 of the variance of failures "
        "once lr is known, 0.01 on its own."
    )
    rows = {tr.select("td")[0].get_text(): [td.get_text() for td in tr.select("td")]
            for tr in soup.select("#keys tr")[1:]}
    assert rows["batch_size"][:4] == ["batch_size", "2", "0.008715", "0.2593 (with lr)"]
    # settings: 12, seeds pooled, the rescue visible
    settings = [[td.get_text() for td in tr.select("td")]
                for tr in soup.select("#settings-table tbody tr")]
    assert len(settings) == 12
    rescue = next(r for r in settings if r[:2] == ["0.0018", "128"])
    assert rescue[2:5] == ["3", "3 healthy", "0%"]
    assert next(r for r in settings if r[:2] == ["0.0018", "64"])[3] == "3 D overpowers G"


@needs_driver
def test_brushing_and_the_outcome_filter_filter_the_table(page_path, browser_page):
    page = _open(browser_page, page_path, height=1000)
    page.wait_for_selector("#plot-parallel .parcoords .axis-title")

    def shown_runs():
        return page.eval_on_selector_all(
            "#runs tbody tr:not(.hidden)",
            "rs => rs.map(r => [r.cells[1].textContent, r.getAttribute('data-outcome')])",
        )

    assert len(shown_runs()) == 36
    assert page.inner_text("#shown") == "36 of 36 runs shown"
    # brush the batch_size axis (64 at the bottom, 128 at the top) from a third of the
    # way down up to its top: batch 128
    page.evaluate("document.getElementById('plot-parallel').scrollIntoView()")
    bar = page.locator("#plot-parallel .axis-brush").nth(1).locator("rect.background")
    box = bar.bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + 0.3 * box["height"])
    page.mouse.down()
    page.mouse.move(x, box["y"] + 1, steps=10)
    page.mouse.up()
    page.wait_for_function("document.getElementById('shown').textContent.startsWith('18 ')")
    runs = shown_runs()
    assert len(runs) == 18 and all("-b128-" in name for name, _ in runs)
    assert page.inner_text("#selected") == "18 of 36 runs selected."
    # the outcome filter: untick healthy; within the brush only the collapsed runs stay
    page.uncheck("#outcomes input[data-outcome='healthy']")
    page.wait_for_function("document.getElementById('shown').textContent.startsWith('3 ')")
    assert sorted(shown_runs()) == [[f"lr0.01-b128-s{s}", "collapsed"] for s in range(3)]
    # it filters the parallel coordinates too: a constraint on the outcome axis
    cr = page.evaluate("document.getElementById('plot-parallel').data[0].dimensions[3]"
                       ".constraintrange")
    assert cr == [[-0.4, 0.4], [0.6, 1.4], [1.6, 2.4]]
    # clearing the selection clears the outcome filter too (it is a brush on the
    # outcome axis); ticking healthy off again: every failed run of either batch
    page.click("#clear-brush")
    page.wait_for_function("document.getElementById('shown').textContent.startsWith('36 ')")
    assert page.is_checked("#outcomes input[data-outcome='healthy']")
    page.uncheck("#outcomes input[data-outcome='healthy']")
    page.wait_for_function("document.getElementById('shown').textContent.startsWith('9 ')")
    assert {o for _, o in shown_runs()} == {"diverged", "collapsed", "D overpowers G"}
    # the text filter combines with it
    page.fill("#filter", "b64")
    page.wait_for_function("document.getElementById('shown').textContent.startsWith('6 ')")


@needs_driver
def test_no_chart_text_is_clipped_and_the_page_renders(page_path, browser_page, tmp_path):
    import numpy as np
    from PIL import Image

    shot = tmp_path / "sweep.png"
    page = _open(browser_page, page_path)
    page.wait_for_selector("#plot-parallel .parcoords .axis-title")
    page.wait_for_selector("#plot-settings .xtick text")
    page.wait_for_selector("#plot-curves-3 .legendtext")
    # parallel, settings, 2 keys, the curves of FID, G loss and D loss
    assert page.locator(".js-plotly-plot").count() == 7
    assert assert_no_clipped_chart_text(page, at_least=40) >= 40
    page.screenshot(path=str(shot), full_page=True)
    # a narrower window: the charts follow (responsive) and still clip nothing
    page.set_viewport_size({"width": 900, "height": 900})
    page.wait_for_function(
        "document.getElementById('plot-parallel').getBoundingClientRect().width < 900")
    wait_for_charts_to_fit(page)
    assert_no_clipped_chart_text(page, at_least=40)
    img = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert img.shape[1] == 1280 and img.shape[0] > 2500
    assert_not_blank(img)


def test_each_setting_is_one_curve_its_seeds_pooled(page_path):
    figs = _figs(BeautifulSoup(page_path.read_text(encoding="utf-8"), "html.parser"))
    fid = figs["plot-curves-1"]
    lines = [t for t in fid["data"] if t.get("showlegend", True)]
    bands = [t for t in fid["data"] if t.get("fill") == "toself"]
    # 12 settings (lr x batch), 3 seeds each: a line and a band per setting, best first
    assert len(lines) == 12 and len(bands) == 12
    assert lines[0]["name"] == "lr=2e-04, batch_size=64 (3 runs, healthy)"
    assert lines[-1]["name"] == "lr=0.01, batch_size=64 (3 runs, diverged)"
    # outcome colours from the one palette
    from gananalyze.pages.status import OUTCOME_COLORS

    assert lines[0]["line"]["color"] == OUTCOME_COLORS["healthy"]
    assert lines[-1]["line"]["color"] == OUTCOME_COLORS["diverged"]


@needs_driver
def test_a_legend_click_hides_a_setting_and_hover_names_it(page_path, browser_page):
    page = _open(browser_page, page_path, height=1000)
    page.wait_for_selector("#plot-curves-1 .legendtext")
    page.evaluate("document.getElementById('plot-curves-1').scrollIntoView()")
    first = "lr=2e-04, batch_size=64 (3 runs, healthy)"

    def visible(name):
        return page.evaluate(
            "(n) => document.getElementById('plot-curves-1').data"
            ".filter(t => t.name === n).map(t => t.visible === undefined ? true : t.visible)",
            name)

    assert visible(first) == [True]
    page.locator("#plot-curves-1 .infolayer .legend .traces", has_text=first).click()
    page.wait_for_function(
        "(n) => document.getElementById('plot-curves-1').data"
        ".some(t => t.name === n && t.visible === 'legendonly')", arg=first)
    # its band went with it (one legend group)
    hidden = page.evaluate(
        "() => document.getElementById('plot-curves-1').data"
        ".filter(t => t.visible === 'legendonly').length")
    assert hidden == 2
    # hover over the last setting's last point: the label names the setting and the value
    last = page.evaluate(
        "() => { const d = document.getElementById('plot-curves-1');"
        " const i = d.data.map(t => t.showlegend !== false).lastIndexOf(true);"
        " Plotly.Fx.hover(d, [{curveNumber: i, pointNumber: d.data[i].x.length - 1}]);"
        " return d.data[i].y[d.data[i].y.length - 1]; }")
    page.wait_for_selector("#plot-curves-1 .hoverlayer .hovertext")
    text = page.eval_on_selector("#plot-curves-1 .hoverlayer", "e => e.textContent")
    assert "lr=0.01, batch_size=64 (3 runs, diverged)" in text
    assert f"FID {last:.4g}" in text


@needs_driver
def test_the_clipping_check_finds_clipped_labels(browser_page, tmp_path):
    """The check can fail: a chart without margins cuts its long tick labels."""
    from gananalyze.pages.bundle import plotly_js

    fig = {"data": [{"type": "bar", "x": ["mean concavity", "mean concave points"],
                     "y": [0.0025, 0.0031], "orientation": "v"}],
           "layout": {"width": 300, "height": 200, "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
                      "xaxis": {"automargin": False, "tickangle": 0},
                      "yaxis": {"automargin": False}}}
    page = tmp_path / "clipped.html"
    page.write_text("<html><body><div id=c></div><script>" + plotly_js() + "</script><script>"
                    f"Plotly.newPlot('c', {json.dumps(fig['data'])}, "
                    f"{json.dumps(fig['layout'])})</script></body></html>", encoding="utf-8")
    p = _open(browser_page, page)
    p.wait_for_selector("#c .xtick text")
    checked, problems = clipped_chart_text(p)
    assert checked >= 4
    assert any("outside the chart" in m for m in problems), problems
