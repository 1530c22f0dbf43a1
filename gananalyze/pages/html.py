"""The Jinja2 environment that renders every HTML page (report, compare).

One place decides the guarantees: templates ship as package data, every value
is autoescaped (run names, metric names and config values come from the
user's files), and a variable missing from the context is an error rather
than an empty string.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.lru_cache(maxsize=1)
def environment():
    """The shared, cached jinja2.Environment (filters: `num`)."""
    import jinja2

    from ..textfmt import fmt_dec, fmt_num

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gananalyze.pages", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = fmt_num
    env.filters["dec"] = fmt_dec
    return env


def render(template: str, **context: Any) -> str:
    """templates/<template> rendered with `context`."""
    return environment().get_template(template).render(**context)
