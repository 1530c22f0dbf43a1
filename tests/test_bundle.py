"""The chart library's bundle comes from the installed plotly package and runs offline."""

from __future__ import annotations

from browser import needs_driver, open_page

from gananalyze.pages.bundle import plotly_js


def test_bundle_is_the_installed_plotly():
    js = plotly_js()
    assert len(js) > 1_000_000
    assert js.lstrip().startswith("/**\n* plotly.js v")


@needs_driver
def test_bundle_draws_offline(tmp_path):
    page = tmp_path / "p.html"
    page.write_text(
        "<html><body><div id=c style='width:400px;height:300px'></div><script>"
        + plotly_js()
        + "</script><script>Plotly.newPlot('c',[{x:[1,2,3],y:[4,1,2]}])</script></body></html>",
        encoding="utf-8",
    )
    with open_page(page) as p:
        p.wait_for_selector("#c .main-svg")
        assert p.evaluate("document.getElementById('c').data[0].y[2]") == 2
