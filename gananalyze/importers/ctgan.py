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
from .table import WALL_COLUMNS, Axis, Columns, Profile, keep_counted_rows
from .tablefiles import epoch_column

NAME = "ctgan"
_NEEDED = {"epoch", "generator loss", "discriminator loss"}


def accept(cols: list[str]) -> bool:
    return _NEEDED <= {c.strip().lower() for c in cols}


def axis(t: Columns, table: Path, bad: list[str]) -> Axis:
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
    skip = (ep,) + ((batch,) if batch else ())
    metrics = [c for c in t.values if c not in skip and c.lower() not in WALL_COLUMNS]
    return Axis(
        steps,
        unit,
        skip=skip,
        epoch=epochs.astype(float),
        extra={"value_kind": {c: kind for c in metrics}},
    )


PROFILE = Profile(NAME, accept, axis, loss="wasserstein")
detect = PROFILE.detect  # the registry contract: detect(path) -> bool

load = PROFILE.load  # and load(path) -> Run
