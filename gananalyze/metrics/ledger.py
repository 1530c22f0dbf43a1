"""The sweep results ledger, shared by the image and the vector sweep.

A sweep's rows are identified by ID_COLUMNS; a checkpoint already evaluated under the
same identity (feature network, real data, sample count, quantization) with every
requested column is skipped (`is_done`, `stored_rows`). `error_row` turns a failure
while evaluating one checkpoint into the row's `error` text so the sweep goes on;
`ledger_frame` orders the returned rows; `append` writes one computed row to the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import GanAnalyzeError
from ..runio import store

ID_COLUMNS = ("step", "features", "features_key", "num_samples", "quantized", "real")
# Per-call bookkeeping that a returned row carries and the run's table does not keep.
RUN_COLUMNS = ("seconds", "seconds_features", "source", "error")
_IDENTITY = ("features_key", "real", "num_samples", "quantized")


def read(run_path: str | Path) -> pd.DataFrame:
    """The sample metrics stored in the run so far."""
    return store.read_sample_metrics(Path(run_path), [])


def is_done(existing: pd.DataFrame | None, step: int, ident: dict[str, Any], columns) -> bool:
    """Whether `existing` already holds all `columns` for `step` under the same identity."""
    if existing is None or not len(existing) or "features_key" not in existing.columns:
        return False
    rows = existing[existing["step"] == step]
    for k in _IDENTITY:
        if k not in rows.columns:
            return False
        rows = rows[rows[k] == ident[k]]
    if not len(rows):
        return False
    last = rows.iloc[-1]
    return all(c in rows.columns and pd.notna(last[c]) for c in columns)


def stored_rows(
    existing: pd.DataFrame | None, steps: Sequence[int], todo: Sequence[int], key: str
) -> list[dict[str, Any]]:
    """The stored rows of `steps` not in `todo` (the last one per step, same features_key),
    marked source "stored" and error None."""
    if existing is None or not len(existing):
        return []
    skip = set(todo)
    rows = existing[
        existing["step"].isin([s for s in steps if s not in skip])
        & (existing["features_key"] == key)
    ]
    rows = rows.drop_duplicates("step", keep="last")
    return [dict(r, source="stored", error=None) for r in rows.to_dict("records")]


def append(run_path: str | Path, row: dict[str, Any]) -> None:
    """Append one computed row (without its bookkeeping columns) to the run's table."""
    keep = {k: v for k, v in row.items() if k not in RUN_COLUMNS}
    store.append_sample_metrics(Path(run_path), pd.DataFrame([keep]))


def error_text(e: Exception, path: str | Path) -> str:
    """Why one checkpoint could not be evaluated: a GanAnalyzeError as it is, anything else
    (a generator crashing on this checkpoint) as `path: Type: first line`."""
    if isinstance(e, GanAnalyzeError):
        return str(e)
    detail = str(e).strip().splitlines()[0] if str(e).strip() else "no detail"
    return f"{path}: {type(e).__name__}: {detail}"


def ledger_frame(rows: list[dict[str, Any]], want: list[str], **attrs: Any) -> pd.DataFrame:
    """The returned frame: identity, requested columns, others, bookkeeping; sorted by step."""
    frame = pd.DataFrame(rows)
    order = [c for c in (*ID_COLUMNS, *want) if c in frame.columns]
    tail = [c for c in RUN_COLUMNS if c in frame.columns]
    rest = [c for c in frame.columns if c not in order and c not in tail]
    frame = frame[order + rest + tail].sort_values("step", kind="stable").reset_index(drop=True)
    frame.attrs.update(want_columns=want, **attrs)
    return frame
