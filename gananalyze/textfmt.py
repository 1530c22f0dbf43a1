"""Small text helpers shared by the CLI, the report and compare: durations and
flattened configs, so every page and table spells them the same way."""

from __future__ import annotations

import functools
import math
from typing import Any


def fmt_duration(seconds: float | None, missing: str = "-") -> str:
    """A wall-clock span for people: 39.2s, 4m05s, 62h57m."""
    if seconds is None or not math.isfinite(seconds):
        return missing
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{seconds:.1f}s")


def flatten_config(config: dict[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    """Nested dicts flattened to dotted keys ({"opt": {"lr": 1}} -> {"opt.lr": 1}), in order."""
    out: dict[str, Any] = {}
    for k, v in (config or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten_config(v, key + "."))
        else:
            out[key] = v
    return out


def fmt_num(v: Any, digits: int | None = None, *, style: str = "human", limit: int = 300) -> str:
    """The one number formatter: every page, table, message and terminal line spells
    numbers through it, in one of a few styles (the presets below name them).

    human   pages and the report (the `num` filter): 4 significant digits, ints with
            thousands separators, NaN/Inf spelled out, None as n/a
    sig     findings' messages: `digits` (3) significant digits, tiny/huge as 1.23e-05
    table   compare's tables: `digits` (4) significant digits, "-" when missing
    fixed   fid-sweep's table: 4 decimals, 6 significant digits below 0.01, "-" when missing
    config  config values in compare: %g, "(not set)" when missing
    text    config values in the report: repr of floats, JSON for lists and dicts, cut
            at `limit` characters
    pct     a fraction as a whole percentage: 0.25 -> 25%
    decimals  `digits` (2) decimals: a ratio or a probability, 0.5 -> 0.50
    level   a config value on a chart axis or a sweep level: `digits` (2) significant
            digits, 5.6e-05 below 1e-3 (and from 1e5), ints and whole floats as ints;
            `fmt_levels` picks the digits that keep a sweep's values apart
    """
    import numpy as np  # not at module level: the CLI imports this module for --help

    floating = isinstance(v, (float, np.floating)) and not isinstance(v, bool)
    if style == "sig":
        if v is None or not math.isfinite(v):
            return str(v)
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.2e}"
        return f"{v:.{digits or 3}g}"
    if style == "table":
        if v is None or (floating and not math.isfinite(v)):
            return "-"
        if isinstance(v, (int, np.integer)):
            return str(int(v))
        if not floating:
            return str(v)
        d = digits or 4
        f = float(v)
        return f"{f:.{d - 1}e}" if f != 0 and (abs(f) >= 1e5 or abs(f) < 1e-3) else f"{f:.{d}g}"
    if style == "fixed":
        if v is None or (isinstance(v, float) and v != v):
            return "-"
        if isinstance(v, float):
            return f"{v:.6g}" if abs(v) < 1e-2 and v != 0 else f"{v:.4f}"
        return str(v)
    if style == "config":
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "(not set)"
        return f"{v:g}" if isinstance(v, float) else str(v)
    if style == "text":
        if isinstance(v, (dict, list, tuple)):
            import json

            t = json.dumps(v, default=str)
        elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            t = repr(v) if isinstance(v, float) else str(v)
        else:
            t = str(v)
        return t if len(t) <= limit else t[: limit - 1] + "…"
    if style == "pct":
        return f"{100 * v:.0f}%"
    if style == "decimals":
        return f"{v:.{2 if digits is None else digits}f}"
    if style == "level":
        if v is None or (floating and not math.isfinite(v)):
            return fmt_num(v, style="config")
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number)):
            return str(v)
        f = float(v)
        if f == int(f) and abs(f) < 1e15:
            return str(int(f))
        d = digits or 2
        if abs(f) < 1e-3 or abs(f) >= 1e5:
            mant, exp = f"{f:.{d - 1}e}".split("e")
            mant = mant.rstrip("0").rstrip(".") if "." in mant else mant
            return f"{mant}e{exp}"
        return f"{f:.{d}g}"
    if style != "human":
        raise ValueError(f"unknown number style {style!r}")
    if v is None:
        return "n/a"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if floating:
        f = float(v)
        if math.isnan(f):
            return "NaN"
        if math.isinf(f):
            return "Inf" if f > 0 else "-Inf"
        if f == int(f) and abs(f) < 1e15:
            return f"{int(f):,}"
        a = abs(f)
        if a >= 1e5 or a < 1e-3:
            return f"{f:.3g}"
        return f"{f:.4g}"
    return str(v)


# Presets of the one formatter, by where the numbers appear.
fmt_sig = functools.partial(fmt_num, style="sig")
fmt_table = functools.partial(fmt_num, style="table")
fmt_fixed = functools.partial(fmt_num, style="fixed")
fmt_cfg = functools.partial(fmt_num, style="config")
fmt_text = functools.partial(fmt_num, style="text")
fmt_pct = functools.partial(fmt_num, style="pct")
fmt_dec = functools.partial(fmt_num, style="decimals")
fmt_level = functools.partial(fmt_num, style="level")


def fmt_levels(values: Any) -> list[str]:
    """Labels of a sweep's distinct values in the "level" style, with the fewest
    significant digits (2 to 6) that keep different values apart: 5.6e-05, 3.2e-04."""
    vals = list(values)
    for d in range(2, 7):
        labels = [fmt_level(v, d) for v in vals]
        if len(set(labels)) == len(set(vals)):
            return labels
    return [fmt_num(v, style="config") for v in vals]
