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
from ..run import Run
from ._common import warn_limit
from .table import build_run, keep_counted_rows, load_table, split_columns, table_detector

NAME = "wandb"


def accept(cols: list[str]) -> bool:
    s = set(cols)
    return "_step" in s and ("_runtime" in s or "_timestamp" in s)


detect = table_detector(accept)  # the registry contract: detect(path) -> bool


def load(path: Path) -> Run:
    path = Path(path)
    table, t, warnings, bad = load_table(path, accept)
    if "_step" not in t.values:
        raise GanAnalyzeError(f"{table}: the _step column holds no numbers")
    keep_counted_rows(t, ("_step",), table, bad, "a _step")
    steps = t.values["_step"].astype(np.int64)
    runtime = t.values.get("_runtime")
    epoch, wall, cols, logged = split_columns(t, table, warnings, skip=("_step", "_runtime"))
    warn_limit(warnings, bad, "problems")
    run = build_run(
        path,
        table,
        NAME,
        steps,
        cols,
        logged,
        warnings,
        unit="iteration",
        index={"wall_time": wall, "epoch": epoch},
    )
    if runtime is not None and np.isfinite(runtime).any():
        run.extra["runtime_s"] = float(np.nanmax(runtime))
    return run
