"""CTGAN / SDV loss tables: what `CTGAN.get_loss_values()` returns and users
save as CSV (`Epoch,Generator Loss,Discriminator Loss`, often with the pandas
index as an unnamed first column).

The step is the epoch (`run.step_unit = "epoch"`). CTGAN records, per
epoch, the loss of the epoch's LAST batch, not a mean over the epoch: that is
kept in `run.extra["value_kind"]` so readers do not mistake the noise of one
batch for instability. A table that also has a `Batch` column (newer CTGAN
versions log every batch) keeps one row per batch: the step is then
`epoch * batches_per_epoch + batch`, counted in iterations.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import GanAnalyzeError
from ..run import Run
from ._common import warn_limit
from .table import (
    build_run,
    epoch_column,
    keep_counted_rows,
    load_table,
    split_columns,
    table_detector,
)

NAME = "ctgan"
_NEEDED = {"epoch", "generator loss", "discriminator loss"}


def accept(cols: list[str]) -> bool:
    return _NEEDED <= {c.strip().lower() for c in cols}


detect = table_detector(accept)  # the registry contract: detect(path) -> bool


def load(path: Path) -> Run:
    path = Path(path)
    table, t, warnings, bad = load_table(path, accept)
    ep = epoch_column(list(t.values))
    if ep is None:
        raise GanAnalyzeError(f"{table}: the Epoch column holds no numbers")
    batch = next((c for c in t.values if c.strip().lower() == "batch"), None)
    keep_counted_rows(t, (ep, batch) if batch else (ep,), table, bad, "an epoch")
    epochs = t.values[ep].astype(np.int64)
    if batch:
        b = t.values[batch].astype(np.int64)
        per = int(b.max()) + 1 if len(b) else 1
        steps, unit, kind = epochs * per + b, "iteration", "loss of each batch"
    else:
        steps, unit, kind = epochs, "epoch", "loss of the last batch of each epoch (not a mean)"
    _, wall, cols, logged = split_columns(
        t, table, warnings, skip=(ep,) + ((batch,) if batch else ())
    )
    warn_limit(warnings, bad, "problems")
    run = build_run(
        path,
        table,
        NAME,
        steps,
        cols,
        logged,
        warnings,
        unit=unit,
        index={"wall_time": wall, "epoch": epochs.astype(float)},
        loss="wasserstein",
    )
    run.extra["value_kind"] = {c: kind for c in cols}
    return run
