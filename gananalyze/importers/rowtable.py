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
from ._common import warn_limit
from .table import build_run, epoch_column, find_table, load_table, split_columns, step_column

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


def detect(path: Path) -> bool:
    try:
        return find_table(Path(path), accept)[0] is not None
    except GanAnalyzeError:
        return False


def load(path: Path) -> Run:
    path = Path(path)
    table, t, warnings, bad = load_table(path, accept)
    if not t.values:
        raise GanAnalyzeError(f"{table}: no column holds numbers")
    n = len(t.lines)
    idx = t.index
    if idx is not None and n and np.array_equal(idx, np.arange(n, dtype=np.float64)):
        steps = idx.astype(np.int64)
        note = "the file's unnamed first column, a saved row index counting 0, 1, 2, ..."
        warnings[:] = [w for w in warnings if "unnamed first column" not in w]
    else:
        steps = np.arange(n, dtype=np.int64)
        note = "row number: the file has no step column"
        if idx is not None:
            note += " (its unnamed first column does not count 0, 1, 2, ...)"
    _, wall, cols, logged = split_columns(t, table, warnings)
    warn_limit(warnings, bad, "problems")
    run = build_run(
        path, table, NAME, steps, cols, logged, warnings, unit="row", index={"wall_time": wall}
    )
    run.extra["step_note"] = note
    return run
