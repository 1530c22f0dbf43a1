"""Benchmark: the charting libraries a single offline page could inline, on 1,000,000 points.

    uv run --frozen --with bokeh --with altair --with vl-convert-python \\
        python bench/charts.py [--points 1000000] [--repeats 3]

bokeh, altair and vl-convert are not dependencies of gananalyze: `uv run --with` puts them
in a throwaway environment for this run only (a library missing there is reported as
skipped). For each candidate the script writes one self-contained HTML file (the library's
JavaScript inlined, no network) holding a line chart of N points (a noisy sine with one
spike), then opens it in the system Chromium through Playwright (tests/browser.py's flags,
network blocked) and times navigation start -> the chart drawn (the library's output in the
DOM and two animation frames later). It reports the page's bytes and the median render
time, and does the same for gananalyze's own way: plotly.js over the min/max envelope at
pages/interactive.DETAIL bins (what the report ships for a long series).

Candidates:
  plotly     plotly.py's write_html, a WebGL line (scattergl), plotly.js inlined
  bokeh      bokeh.embed.file_html with BokehJS INLINE resources (canvas line)
  vega-lite  altair's Chart.save(inline=True) (the Vega, Vega-Lite and vega-embed bundles
             vl-convert ships), max_rows lifted
  envelope   gananalyze: plotly.js + interactive.chart_spec (DETAIL-bin envelope + means)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

TIMEOUT_S = 180


def data(n: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(n, dtype=np.float64)
    y = np.sin(x / (n / 20)) + np.random.default_rng(0).normal(0, 0.1, n)
    y[n // 3] = 5.0
    return x, y


def page_plotly(x, y, out: Path) -> str:
    import plotly.graph_objects as go

    fig = go.Figure(go.Scattergl(x=x, y=y, mode="lines"))
    fig.write_html(out, include_plotlyjs=True, full_html=True, div_id="chart")
    return "#chart .main-svg"


def page_bokeh(x, y, out: Path) -> str:
    from bokeh.embed import file_html
    from bokeh.plotting import figure
    from bokeh.resources import INLINE

    p = figure(width=1000, height=330, output_backend="canvas")
    p.line(x, y)
    out.write_text(file_html(p, INLINE, "bench"), encoding="utf-8")
    return ".bk-Canvas, .bk-canvas, div[data-root-id]"


def page_vegalite(x, y, out: Path) -> str:
    import altair as alt
    import pandas as pd

    alt.data_transformers.disable_max_rows()
    c = alt.Chart(pd.DataFrame({"x": x, "y": y})).mark_line().encode(x="x:Q", y="y:Q")
    c.properties(width=1000, height=330).save(str(out), inline=True)
    return "canvas.marks, svg.marks"


def page_envelope(x, y, out: Path) -> str:
    import html as _html

    from gananalyze.pages import interactive, plots
    from gananalyze.pages.bundle import plotly_js_markup

    spec = interactive.chart_spec([plots.Curve("y", x, y, smoothed=y)], title="bench")
    js = plotly_js_markup()
    out.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
        f"<div class='iplot' id='c-plot' data-spec=\"{_html.escape(spec, quote=True)}\"></div>"
        f"<script>{js}</script><script>{controller()}</script></body></html>",
        encoding="utf-8",
    )
    return "#c-plot .main-svg"


def controller() -> str:
    """The page controller's script from templates/charts.html (the part after the bundle)."""
    text = (ROOT / "gananalyze/pages/templates/charts.html").read_text()
    body = text.split("<script>{{ plotly_js }}</script>", 1)[1]
    return body.split("<script>", 1)[1].split("</script>", 1)[0]


CANDIDATES = {
    "plotly": page_plotly,
    "bokeh": page_bokeh,
    "vega-lite": page_vegalite,
    "envelope": page_envelope,
}


def render_ms(path: Path, selector: str) -> float:
    from browser import open_page

    with open_page(path.parent / "blank.html") as page:
        t0 = time.perf_counter()
        page.goto(path.resolve().as_uri(), timeout=TIMEOUT_S * 1000)
        page.wait_for_selector(selector, timeout=TIMEOUT_S * 1000, state="attached")
        page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        return (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", default=",".join(CANDIDATES), help="comma-separated candidates")
    args = ap.parse_args()
    x, y = data(args.points)
    load = os.getloadavg()[0]
    print(
        f"{args.points:,} points; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load {load:.1f}; Chromium via Playwright, network blocked"
    )
    print(f"{'library':<10} {'page MB':>8} {'write s':>8} {'render s (median)':>18}")
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "blank.html").write_text("<!DOCTYPE html><title>blank</title>")
        for name in args.only.split(","):
            make = CANDIDATES[name]
            out = Path(d) / f"{name}.html"
            try:
                t0 = time.perf_counter()
                selector = make(x, y, out)
                write_s = time.perf_counter() - t0
            except ImportError as e:
                print(f"{name:<10} skipped: {e} (run with uv run --with, see the docstring)")
                continue
            times = []
            for _ in range(args.repeats):
                try:
                    times.append(render_ms(out, selector) / 1000)
                except Exception as e:  # a page that never draws within the timeout
                    print(f"{name:<10} did not draw within {TIMEOUT_S} s ({type(e).__name__})")
                    break
            med = f"{statistics.median(times):.2f}" if times else "-"
            print(f"{name:<10} {out.stat().st_size / 1e6:>8.2f} {write_s:>8.2f} {med:>18}")


if __name__ == "__main__":
    main()
