"""Weights & Biases history exports (`run.history()` saved as CSV/JSON, or the
UI's CSV download): `_step`, `_runtime`, `_timestamp` plus one column per logged
key, read as a plain table. `_step` is the step (W&B counts `wandb.log` calls
unless the code passed `step=`; unit "iteration"), `_timestamp` the wall time;
`_runtime` (seconds since start) is kept in `run.extra["runtime_s"]`, not as a metric.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import GanAnalyzeError
from .table import Axis, Columns, Profile, counted

NAME = "wandb"


def accept(cols: list[str]) -> bool:
    s = set(cols)
    return "_step" in s and ("_runtime" in s or "_timestamp" in s)


def axis(t: Columns, table: Path, bad: list[str]) -> Axis:
    if "_step" not in t.values:
        raise GanAnalyzeError(f"{table}: the _step column holds no numbers")
    steps = counted(t, table, bad, "_step", "a _step")
    runtime = t.values.get("_runtime")
    extra = {}
    if runtime is not None and np.isfinite(runtime).any():
        extra["runtime_s"] = float(np.nanmax(runtime))
    return Axis(steps, "iteration", skip=("_step", "_runtime"), extra=extra)


PROFILE = Profile(NAME, accept, axis)
detect = PROFILE.detect  # the registry contract: detect(path) -> bool

load = PROFILE.load  # and load(path) -> Run
