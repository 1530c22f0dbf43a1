"""Keras `CSVLogger` files: `epoch,<metric>,...`, one row per epoch (epoch counts
from 0), any file name. The step is the epoch (`run.step_unit = "epoch"`).
Claimed when a table has an `epoch` column and no step column (see table.py for
how the file is found and read).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import GanAnalyzeError
from . import ctgan
from .table import Axis, Columns, Profile, counted
from .tablefiles import epoch_column, step_column

NAME = "keras"


def accept(cols: list[str]) -> bool:
    return epoch_column(cols) is not None and step_column(cols) is None and not ctgan.accept(cols)


def axis(t: Columns, table: Path, bad: list[str]) -> Axis:
    ep = epoch_column(list(t.values))
    if ep is None:
        raise GanAnalyzeError(f"{table}: no numeric epoch column")
    steps = counted(t, table, bad, ep, "an epoch")
    return Axis(steps, "epoch", skip=(ep,), epoch=steps.astype(float))


PROFILE = Profile(NAME, accept, axis)
detect = PROFILE.detect  # the registry contract: detect(path) -> bool

load = PROFILE.load  # and load(path) -> Run
