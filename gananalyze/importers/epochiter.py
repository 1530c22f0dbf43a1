"""CSV logs that count the iteration within each epoch: `epoch,iter,<metric>...`
(the iteration column may be `iter`, `iters`, `iteration`, `it`, `batch`, `batch_index`,
`batch_num`, `batch_idx`, `idx` or `i`), with no global step column.

Step axis: `(epoch - first epoch) * N + iter`, N the iterations per epoch
inferred from the rows that cross an epoch boundary (print interval p, the most
common gap within an epoch: N = I_last + p - I_first_of_next; the most common
estimate wins, and N is at least the largest iteration seen, so the axis is
monotonic). An iteration column that never goes back is already global and is
used as it is. Unit: "iteration".

Restarts inside one file, as in the CycleGAN importer: a repeated header row, or
a headerless continuation whose (epoch, iter) goes back, starts a new section.
A section that starts at or before a step already logged replaces the earlier
rows from that step on (resumed from a checkpoint, or a fresh start replacing
the abandoned attempt); `run.duplicates_replaced` counts the replaced rows and
`run.extra["sections"]` lists the sections.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import GanAnalyzeError
from . import counters as ctr
from .table import Axis, Columns, Profile, keep_counted_rows, keep_rows
from .tablefiles import epoch_column

NAME = "epoch-iter"
ITER_COLUMNS = (
    "iter",
    "iters",
    "iteration",
    "it",
    "batch",
    "batch_idx",
    "batch_index",
    "batch_num",
    "idx",
    "i",
)
TOTAL_COLUMNS = (
    "total iterations",
    "total_iterations",
    "total iters",
    "total_iters",
    "iters_per_epoch",
    "iterations_per_epoch",
    "total batches",
    "total_batches",
    "num_batches",
)
_GLOBAL = ("step", "global_step", "trainer/global_step", "_step", "steps", "n_iter")


def iter_column(cols: list[str]) -> str | None:
    low = {c.strip().lower(): c for c in cols}
    return next((low[c] for c in ITER_COLUMNS if c in low), None)


def accept(cols: list[str]) -> bool:
    low = {c.strip().lower() for c in cols}
    return (
        epoch_column(cols) is not None
        and iter_column(cols) is not None
        and not (low & set(_GLOBAL))
    )


def total_column(cols: list[str]) -> str | None:
    """A column printing the iterations per epoch (`Total Iterations`), if any."""
    low = {c.strip().lower(): c for c in cols}
    return next((low[c] for c in TOTAL_COLUMNS if c in low), None)


def derive_steps(
    epoch: np.ndarray, it: np.ndarray, lines: np.ndarray, restarts: list[int], n: int | None = None
):
    """(global steps, rows kept, sections, rows replaced, iterations per epoch); `n` the
    printed iterations per epoch, else inferred."""
    n = n or ctr.per_epoch(epoch, it)
    e0 = int(epoch.min()) if len(epoch) else 0
    g = (epoch - e0) * n + it
    back = (np.flatnonzero(g[1:] < g[:-1]) + 1).tolist()
    after_header = np.searchsorted(lines, np.asarray(restarts, dtype=np.int64)).tolist()
    starts = sorted({0, len(g), *back, *after_header})
    keep = np.ones(len(g), dtype=bool)
    sections, replaced = [], 0
    for a, b in zip(starts[:-1], starts[1:], strict=True):
        if a == b:
            continue
        first = g[a]
        earlier = keep[:a] & (g[:a] >= first)
        how = "continues" if not earlier.any() else "restart: replaces earlier rows"
        replaced += int(earlier.sum())
        keep[:a] &= ~earlier
        sections.append(
            {
                "first_line": int(lines[a]),
                "first_step": int(first),
                "last_step": int(g[b - 1]),
                "rows": int(b - a),
                "placed": how,
            }
        )
    return g, keep, sections, replaced, n


def axis(t: Columns, table: Path, bad: list[str]) -> Axis:
    ep, itc = epoch_column(list(t.values)), iter_column(list(t.values))
    if ep is None or itc is None:
        raise GanAnalyzeError(f"{table}: the epoch and iteration columns must hold numbers")
    keep_counted_rows(t, (ep, itc), table, bad, "an epoch or iteration")
    epoch, it = t.values[ep].astype(np.int64), t.values[itc].astype(np.int64)
    tot = total_column(list(t.values))
    printed = t.values[tot][np.isfinite(t.values[tot])] if tot else np.zeros(0)
    per = int(printed.max()) if len(printed) and printed.min() == printed.max() else None
    unit = "iteration"
    if not ctr.varies(it) and ctr.varies(epoch):  # one row per epoch: the epoch is the step
        steps, keep, sections, replaced, n = epoch, np.ones(len(it), bool), [], 0, None
        unit = "epoch"
    elif len(it) < 2 or np.all(np.diff(it) >= 0):
        steps, keep, sections, replaced, n = it, np.ones(len(it), bool), [], 0, None
    else:
        steps, keep, sections, replaced, n = derive_steps(epoch, it, t.lines, t.restarts, per)
    restarts = t.restarts
    t.restarts = []  # sections say it
    keep_rows(t, keep)
    steps, epoch = steps[keep], epoch[keep]
    notes = []
    if replaced:
        notes.append(
            f"{table}: training restarted inside the file ({len(sections)} sections); "
            f"{replaced} earlier row(s) at or after each restart point were replaced"
        )
    elif restarts:
        notes.append(
            f"{table}: header repeated at line(s) "
            f"{', '.join(map(str, restarts[:5]))}; those lines were skipped"
        )
    totals = tuple(c for c in t.values if c.strip().lower().startswith("total "))
    return Axis(
        steps,
        unit,
        skip=(ep, itc, *totals),
        epoch=epoch.astype(float),
        replaced=replaced,
        notes=notes,
        extra={"iters_per_epoch": n, "sections": sections},
    )


PROFILE = Profile(NAME, accept, axis)

detect = PROFILE.detect  # the registry contract: detect(path) -> bool
load = PROFILE.load  # and load(path) -> Run
