"""The charting library's JavaScript, inlined into a page when the page is written.

Interactive charts are drawn by plotly.js. Its minified bundle ships inside the
`plotly` PyPI package (a dependency like any other); nothing of it is copied into this
repository. A page inlines it once, so the page opens with no network and no server.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

BUNDLE = "package_data/plotly.min.js"


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """plotly.min.js from the installed plotly package, as text."""
    return resources.files("plotly").joinpath(BUNDLE).read_text(encoding="utf-8")


def plotly_js_markup():
    """plotly_js() marked safe for a page's <script> element (the template inlines it
    unescaped); refuses a bundle that could close the element early."""
    from markupsafe import Markup

    js = plotly_js()
    if "</script" in js.lower():
        raise RuntimeError("the installed plotly.min.js holds '</script' and cannot be inlined")
    return Markup(js)
