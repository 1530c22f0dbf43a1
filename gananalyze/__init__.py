"""gananalyze: what happened in a GAN training run, after the fact.

Training code logs with `RunLog`; analysis code reads any run with `load_run` and
judges it with `analyze` (every command's one entry); `report` makes the HTML page.
In a notebook both show themselves inline (gananalyze.notebook).
Names are imported lazily so that `gananalyze --help` does not pay for pandas
or torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "GanAnalyzeError": "errors",
    "load_run": "loader",
    "Run": "run",
    "Checkpoint": "run",
    "SampleGrid": "run",
    "Flag": "run",
    "RunLog": "runio.runlog",
    "generator_spec": "runio.generatorspec",
    "analyze": "notebook",
    "report": "notebook",
    "Diagnosis": "notebook",
    "Report": "notebook",
}
__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'gananalyze' has no attribute {name!r}")
