"""Render an HTML page to PNG in headless Chromium, for the page tests.

`make test` installs Debian's chromium when it is missing and it may (root with
apt-get); elsewhere the tests that need it skip with `SKIP_REASON`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SKIP_REASON = (
    "chromium not installed: `apt-get install -y chromium` (make test does it as root)"
    " to run the page screenshots"
)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)

# Flags for a closed network: without the background-networking ones Chromium keeps
# trying to reach Google's hosts at every start.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 4000) -> np.ndarray:
    """Render `page` at width x height, write `out` (PNG) and return it as a grey array."""
    from PIL import Image

    cmd = [
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={out.parent / (out.stem + '-profile')}",
        f"--screenshot={out}",
        f"--window-size={width},{height}",
        Path(page).resolve().as_uri(),
    ]
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    assert out.is_file(), "chromium wrote no screenshot"
    img = Image.open(out).convert("L")
    assert img.size == (width, height)
    return np.asarray(img, dtype=np.float64)


def assert_not_blank(a: np.ndarray) -> None:
    """Text and charts down the page, not a blank page or one line at the top."""
    assert a.std() > 20
    assert (a.std(axis=1) > 5).mean() > 0.3


try:  # the interaction tests drive the page through Playwright, on the same Chromium
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - playwright is a dev dependency
    sync_playwright = None

needs_driver = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason=SKIP_REASON if CHROMIUM is None else "playwright not installed (uv sync)",
)


class open_page:
    """`with open_page(path) as page:` a Playwright page on `path` in headless Chromium
    (the system's, not a downloaded one), closed network, 1280 x 900 by default."""

    def __init__(self, path: Path, width: int = 1280, height: int = 900):
        self.path, self.size = Path(path), {"width": width, "height": height}

    def __enter__(self):
        self._pw = sync_playwright().start()
        args = [f for f in FLAGS if f != "--headless"]
        self._browser = self._pw.chromium.launch(executable_path=CHROMIUM, args=args)
        page = self._browser.new_page(viewport=self.size)
        page.route("http*://**", lambda route: route.abort())  # offline: no fetch leaves
        page.goto(self.path.resolve().as_uri())
        return page

    def __exit__(self, *exc):
        self._browser.close()
        self._pw.stop()
        return False


# Every text of a chart's axes, titles and legend that a reader needs: plotly's cartesian
# ticks and axis titles, parallel-coordinates ticks and axis titles, chart titles, legends.
CHART_TEXT = (
    ".xtick text, .ytick text, .g-xtitle text, .g-ytitle text, .gtitle, .legendtext,"
    " .parcoords .tick text, .parcoords .axis-title"
)
_CLIPPED_JS = """(sel) => {
  const out = {checked: 0, problems: []};
  const docW = document.documentElement.clientWidth;
  const charts = document.querySelectorAll('.js-plotly-plot');
  charts.forEach((chart, ci) => {
    const box = chart.getBoundingClientRect();
    const name = chart.id || ('chart ' + ci);
    if (box.left < -1 || box.right > docW + 1)
      out.problems.push(`${name}: chart box ${Math.round(box.left)}..${Math.round(box.right)} `
                        + `outside the page width ${docW}`);
    const seen = [];
    chart.querySelectorAll(sel).forEach((el) => {
      const t = (el.textContent || '').trim();
      const r = el.getBoundingClientRect();
      if (!t || r.width === 0 || getComputedStyle(el).display === 'none') return;
      out.checked++;
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1
          || r.bottom > box.bottom + 1)
        out.problems.push(`${name}: "${t}" [${Math.round(r.left)},${Math.round(r.top)},`
          + `${Math.round(r.right)},${Math.round(r.bottom)}] outside the chart `
          + `[${Math.round(box.left)},${Math.round(box.top)},${Math.round(box.right)},`
          + `${Math.round(box.bottom)}]`);
      if (/(\\u2026|\\.\\.\\.)$/.test(t)) out.problems.push(`${name}: "${t}" is cut short`);
      for (const [o, ot] of seen) {
        const w = Math.min(r.right, o.right) - Math.max(r.left, o.left);
        const h = Math.min(r.bottom, o.bottom) - Math.max(r.top, o.top);
        if (w > 2 && h > 2) out.problems.push(`${name}: "${t}" overlaps "${ot}"`);
      }
      seen.push([r, t]);
    });
  });
  return out;
}"""


def clipped_chart_text(page) -> tuple[int, list[str]]:
    """(text elements checked, problems) over every plotly chart on a Playwright page:
    each axis tick, axis title, chart title and legend entry must lie inside its chart's
    box, not end cut short ("…"), and not overlap another text of the chart; each
    chart must fit the page's width. Call it once the charts are drawn."""
    res = page.evaluate(_CLIPPED_JS, CHART_TEXT)
    return res["checked"], res["problems"]


def wait_for_charts_to_fit(page, timeout_ms: int = 20000) -> None:
    """Wait until every plotly chart has been redrawn to its box after a window resize:
    plotly's responsive charts resize one by one from a debounced window event, so on a
    busy machine some still have their old width for a while."""
    page.wait_for_function(
        """() => [...document.querySelectorAll('.js-plotly-plot')].every((c) => {
             const svg = c.querySelector('.main-svg');
             return svg && svg.getBoundingClientRect().right
                    <= c.getBoundingClientRect().right + 1;
           })""",
        timeout=timeout_ms,
    )


def assert_no_clipped_chart_text(page, at_least: int = 1) -> int:
    """`clipped_chart_text` with no problem and at least `at_least` texts checked."""
    checked, problems = clipped_chart_text(page)
    assert not problems, "\n".join(problems[:20])
    assert checked >= at_least, f"only {checked} chart texts found"
    return checked


# Every interactive chart of the report and compare pages drew (a `.iplot` div holding
# plotly's svg).
_DRAWN_JS = """() => {
  const charts = document.querySelectorAll('.iplot');
  let drawn = 0;
  charts.forEach(div => { if (div.querySelector('.main-svg')) drawn += 1; });
  return {charts: charts.length, drawn: drawn};
}"""


def check_charts(path: Path) -> dict:
    """Open `path` in Chromium: {charts, drawn, clipped (`clipped_chart_text`'s problems:
    labels outside their chart, cut short or overlapping), errors (uncaught script
    errors)}."""
    with open_page(path) as page:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.reload()
        res = page.evaluate(_DRAWN_JS)
        res["clipped"] = clipped_chart_text(page)[1]
    res["errors"] = errors
    return res
