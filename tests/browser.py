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


# Every interactive chart drew, and no title, axis label, tick or legend entry of one sticks
# out of its chart's box (the check that a label is never clipped).
CHART_CHECK = """() => {
  const out = {charts: 0, drawn: 0, clipped: []};
  document.querySelectorAll('.iplot').forEach(div => {
    out.charts += 1;
    if (div.querySelector('.main-svg')) out.drawn += 1;
    const box = div.getBoundingClientRect();
    div.querySelectorAll('.xtick text, .ytick text, .g-xtitle text, .g-ytitle text, '
        + '.gtitle, .legendtext, .annotation-text').forEach(t => {
      const r = t.getBoundingClientRect();
      if (r.width === 0) return;
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1
          || r.bottom > box.bottom + 1) out.clipped.push(div.id + ': ' + t.textContent);
    });
  });
  return out;
}"""


def check_charts(path: Path) -> dict:
    """Open `path` in Chromium: {charts, drawn, clipped (labels outside their chart),
    errors (uncaught script errors)}."""
    with open_page(path) as page:
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.reload()
        res = page.evaluate(CHART_CHECK)
    res["errors"] = errors
    return res
