"""Keras `CSVLogger` files: `epoch,<metric>,...`, one row per epoch (epoch counts
from 0), any file name. The step is the epoch (`run.step_unit = "epoch"`).
Claimed when a table has an `epoch` column and no step column (see table.py for
how the file is found and read).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import GanAnalyzeError
from ..run import Run
from . import ctgan
from ._common import warn_limit
from .table import (
    build_run,
    epoch_column,
    keep_counted_rows,
    load_table,
    split_columns,
    step_column,
    table_detector,
)

NAME = "keras"


def accept(cols: list[str]) -> bool:
    return epoch_column(cols) is not None and step_column(cols) is None and not ctgan.accept(cols)


detect = table_detector(accept)  # the registry contract: detect(path) -> bool


def load(path: Path) -> Run:
    path = Path(path)
    table, t, warnings, bad = load_table(path, accept)
    ep = epoch_column(list(t.values))
    if ep is None:
        raise GanAnalyzeError(f"{table}: no numeric epoch column")
    keep_counted_rows(t, (ep,), table, bad, "an epoch")
    steps = t.values[ep].astype(np.int64)
    _, wall, cols, logged = split_columns(t, table, warnings, skip=(ep,))
    warn_limit(warnings, bad, "problems")
    return build_run(
        path,
        table,
        NAME,
        steps,
        cols,
        logged,
        warnings,
        unit="epoch",
        index={"wall_time": wall, "epoch": steps.astype(float)},
    )
