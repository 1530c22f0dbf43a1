"""Tables without a step or epoch column: one row per report, the row is the step.

What people save with `pd.DataFrame({"G": g_losses, "D": d_losses}).to_csv(...)` or
`np.savetxt`: a CSV/TSV/JSON table whose columns are only metrics. When the file
starts with pandas' unnamed index column and that column counts 0, 1, 2, ... it is
the step; otherwise the row number is (0 for the first data row). Either way
`run.step_unit` is "row" and `run.extra["step_note"]` says where the step
came from, so `info` and the pages can say the run does not name its unit.

Claimed only when no other table importer recognises the columns (no column named
like a step, epoch or iteration counter) and at least one column holds numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import GanAnalyzeError
from ..run import Run
from . import ctgan, epochiter, wandb
from .table import Axis, Columns, Profile
from .tablefiles import epoch_column, step_column

NAME = "csv-rows"


def accept(cols: list[str]) -> bool:
    """Metric columns only: nothing named like a counter (a header naming `step` that did not
    split into columns gets the table reader's own error instead)."""
    named = [c for c in cols if c.strip()]
    return (
        bool(named)
        and not any(w in c.lower() for c in named for w in ("step", "epoch", "iter"))
        and step_column(cols) is None
        and epoch_column(cols) is None
        and not any(m.accept(cols) for m in (ctgan, wandb, epochiter))
    )


def axis(t: Columns, table: Path, bad: list[str]) -> Axis:
    if not t.values:
        raise GanAnalyzeError(f"{table}: no column holds numbers")
    n = len(t.lines)
    idx = t.index
    if idx is not None and n and np.array_equal(idx, np.arange(n, dtype=np.float64)):
        steps = idx.astype(np.int64)
        note = "the file's unnamed first column, a saved row index counting 0, 1, 2, ..."
    else:
        steps = np.arange(n, dtype=np.int64)
        note = "row number: the file has no step column"
        if idx is not None:
            note += " (its unnamed first column does not count 0, 1, 2, ...)"
    return Axis(steps, "row", extra={"step_note": note})


PROFILE = Profile(NAME, accept, axis)
detect = PROFILE.detect  # the registry contract: detect(path) -> bool


def load(path: Path) -> Run:
    run = PROFILE.load(path)
    if run.extra["step_note"].startswith("the file's unnamed"):  # the index is the step
        run.warnings[:] = [w for w in run.warnings if "unnamed first column" not in w]
    return run
