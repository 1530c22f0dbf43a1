"""Merging scalar rows into one row per step (the native store's and the
importers' shared rule): parts with different columns become a union with
numeric metrics as float64 (`concat_parts`), and when a (step, metric) cell is
written more than once the later write wins (`merge_scalars`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import GanAnalyzeError
from ..run import empty_nonfinite


def _concat(tables: list[pa.Table], index_cols: dict[str, pa.DataType]) -> pa.Table:
    """Concatenate parts with different columns (union), numeric metrics as float64."""
    fixed = []
    for t in tables:
        cols, names = [], []
        for name, col in zip(t.column_names, t.columns, strict=False):
            want = index_cols.get(name)
            if want is None:
                if (
                    pa.types.is_integer(col.type)
                    or pa.types.is_floating(col.type)
                    or pa.types.is_boolean(col.type)
                    or pa.types.is_null(col.type)
                ):
                    want = pa.float64()
                else:
                    want = col.type
            if col.type != want:
                col = col.cast(want)
            cols.append(col)
            names.append(name)
        fixed.append(pa.table(cols, names=names))
    return pa.concat_tables(fixed, promote_options="default")


def merge_scalars(
    table: pa.Table, source: str
) -> tuple[pd.DataFrame, dict[str, int], pd.DataFrame, int, int]:
    """Turn concatenated scalar rows (in write order) into one row per step.

    Later writes win, per (step, metric) cell: a resumed run that logs step 5100
    again replaces the old values, while two calls for the same step that log
    different metrics both count. Returns (frame, counts, nonfinite, steps with a
    replaced value, replaced values).
    """
    if "step" not in table.column_names:
        raise GanAnalyzeError(f"{source}: scalars have no 'step' column")
    step_col = table.column("step")
    if step_col.null_count:
        keep = pc.is_valid(step_col)
        table = table.filter(keep)
        step_col = table.column("step")
    steps = step_col.to_numpy().astype(np.int64, copy=False)
    names = [c for c in table.column_names if c != "step"]
    n = len(steps)

    def column_arrays(name: str) -> tuple[np.ndarray, np.ndarray]:
        col = table.column(name)
        if col.null_count:
            valid = pc.is_valid(col).to_numpy(zero_copy_only=False)
            vals = (
                col.fill_null(np.nan).to_numpy()
                if pa.types.is_floating(col.type)
                else col.to_numpy(zero_copy_only=False)
            )
        else:
            valid = np.ones(n, dtype=bool)
            vals = col.to_numpy()
        return np.asarray(vals), valid

    monotonic = n < 2 or bool(np.all(steps[1:] > steps[:-1]))
    data: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    nonfinite_parts = []
    replaced_values = 0
    if monotonic:
        # Arrow builds the frame column by column (no copy into one 2-D block);
        # nulls become NaN, and counts / non-finite values come from Arrow's own
        # validity, so a logged NaN is still told apart from "not logged".
        frame = table.to_pandas(split_blocks=True)
        for name in names:
            col = table.column(name)
            counts[name] = n - col.null_count
            if pa.types.is_floating(col.type):
                bad = (
                    pc.and_(pc.is_valid(col), pc.invert(pc.is_finite(col.fill_null(0.0)))).to_numpy(
                        zero_copy_only=False
                    )
                    if col.null_count
                    else ~np.isfinite(col.to_numpy())
                )
                if bad.any():
                    vals = frame[name].to_numpy()
                    nonfinite_parts.append(
                        pd.DataFrame({"step": steps[bad], "metric": name, "value": vals[bad]})
                    )
        n_dup_steps = 0
        if frame.columns[0] != "step":
            frame = frame[["step", *names]]
    else:
        order = np.argsort(steps, kind="stable")
        s_sorted = steps[order]
        out_steps = np.unique(s_sorted)
        dup_mask = np.zeros(len(out_steps), dtype=bool)
        for name in names:
            vals, valid = column_arrays(name)
            idx = order[valid[order]]  # rows with a value, by step, in write order within a step
            s = steps[idx]
            last = np.ones(len(idx), dtype=bool)
            last[:-1] = s[1:] != s[:-1]
            keep = idx[last]
            replaced = len(idx) - len(keep)
            if replaced and name not in ("epoch", "wall_time"):
                replaced_values += replaced
                dup_mask[np.searchsorted(out_steps, s[~last])] = True
            pos = np.searchsorted(out_steps, steps[keep])
            if vals.dtype.kind == "f":
                col = np.full(len(out_steps), np.nan)
            else:
                col = np.full(len(out_steps), None, dtype=object)
            col[pos] = vals[keep]
            data[name] = col
            counts[name] = int(len(keep))
            if vals.dtype.kind == "f":
                kv = vals[keep]
                bad = ~np.isfinite(kv)
                if bad.any():
                    nonfinite_parts.append(
                        pd.DataFrame({"step": steps[keep][bad], "metric": name, "value": kv[bad]})
                    )
        n_dup_steps = int(dup_mask.sum())
        frame = pd.DataFrame({"step": out_steps.astype(np.int64), **data})
    if nonfinite_parts:
        nonfinite = (
            pd.concat(nonfinite_parts, ignore_index=True)
            .sort_values(["step", "metric"], kind="stable")
            .reset_index(drop=True)
        )
    else:
        nonfinite = empty_nonfinite()
    # index columns are not metrics
    for c in ("epoch", "wall_time"):
        counts.pop(c, None)
    return frame, counts, nonfinite, n_dup_steps, replaced_values
