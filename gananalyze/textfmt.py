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
