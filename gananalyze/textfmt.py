"""Small text helpers shared by the CLI, the report and compare: durations and
flattened configs, so every page and table spells them the same way."""

from __future__ import annotations

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


def fmt_num(v: Any) -> str:
    """A number for humans: 4 significant digits, ints as ints, NaN/Inf spelled out."""
    import numpy as np  # not at module level: the CLI imports this module for --help

    if v is None:
        return "n/a"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
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


def fmt_sig(x: float | None, digits: int = 3) -> str:
    """A number in a finding's message: `digits` significant digits, tiny/huge ones as 1.23e-05."""
    if x is None or not math.isfinite(x):
        return str(x)
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return f"{x:.2e}"
    return f"{x:.{digits}g}"


def fmt_pct(frac: float) -> str:
    """A fraction as a whole percentage: 0.25 -> 25%."""
    return f"{100 * frac:.0f}%"
