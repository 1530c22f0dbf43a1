"""Parquet part files of a native run: how they are named, written, read and merged.

One writer adds numbered parts (`part-NNNNNN-WRITER.parquet`) to a folder
(`scalars/`, `histograms/`, `metrics/`); the writer's id keeps two writers on one
folder (a job started twice) from replacing each other's parts. Each part is written
atomically with Parquet page checksums and the row count and column names in its
metadata, and verified on read; a damaged part is named in a warning and the others
are still used (`read_parts`). Scalar parts with different columns become a union with
numeric metrics as float64 (`concat_parts`), and when a (step, metric) cell is written
more than once the later write wins (`merge_scalars`: the native store's and the
importers' shared rule).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import GanAnalyzeError
from ..files.atomic import atomic_write
from ..files.runfiles import keep_inside
from ..run import empty_nonfinite

# part-NNNNNN.parquet (written before writer ids) or part-NNNNNN-WRITER.parquet
_PART_RE = re.compile(r"^part-(\d+)(?:-([0-9a-z]{1,32}))?\.parquet$")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
CHECK_KEY = b"gananalyze.check"  # Parquet key-value metadata: rows and columns written

# ---------------------------------------------------------------- writing


def next_part_number(directory: Path) -> int:
    """1 + the highest part number in `directory` (0 when there is none)."""
    best = -1
    if directory.is_dir():
        for p in directory.iterdir():
            m = _PART_RE.match(p.name)
            if m:
                best = max(best, int(m.group(1)))
    return best + 1


def new_writer_id() -> str:
    """A random id that makes one writer's part names unique."""
    return os.urandom(6).hex()


_PROCESS_WRITER: tuple[int, str] | None = None


def process_writer_id() -> str:
    """One writer id per process (for parts written outside a RunLog)."""
    global _PROCESS_WRITER
    if _PROCESS_WRITER is None or _PROCESS_WRITER[0] != os.getpid():
        _PROCESS_WRITER = (os.getpid(), new_writer_id())
    return _PROCESS_WRITER[1]


def part_path(directory: Path, number: int, writer: str | None = None) -> Path:
    suffix = f"-{writer}" if writer else ""
    return Path(directory) / f"part-{number:06d}{suffix}.parquet"


def write_part(
    directory: Path,
    table: pa.Table,
    number: int | None = None,
    fsync: bool = True,
    writer: str | None = None,
) -> Path:
    """Write one Parquet part atomically (with page checksums); returns its path.

    Without `writer` the process's writer id is used, so the name never
    replaces a part another process wrote.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if number is None:
        number = next_part_number(directory)
    path = part_path(directory, number, writer or process_writer_id())
    # the row count and column names again, outside the footer's own fields: a
    # flipped bit there would otherwise drop rows or rename a column silently
    check = json.dumps({"rows": table.num_rows, "columns": table.column_names}).encode()
    meta = {**(table.schema.metadata or {}), CHECK_KEY: check}
    table = table.replace_schema_metadata(meta)
    atomic_write(
        path,
        lambda p: pq.write_table(table, p, compression="zstd", write_page_checksum=True),
        fsync=fsync,
    )
    return path


# ---------------------------------------------------------------- reading


def _part_key(p: Path) -> tuple[int, float, str]:
    """Parts in write order: by number, then (two writers, one number) by mtime."""
    m = _PART_RE.match(p.name)
    try:
        mtime = p.stat().st_mtime
    except OSError:
        mtime = 0.0
    return (int(m.group(1)), mtime, p.name)


def _part_files(directory: Path, warnings: list[str]) -> list[Path]:
    if not directory.is_dir():
        return []
    parts = []
    for p in sorted(directory.iterdir()):
        if _PART_RE.match(p.name):
            parts.append(p)
        elif p.name.endswith(".tmp"):
            warnings.append(f"{p}: unfinished temporary file from an interrupted write, ignored")
    parts = keep_inside(directory.parent, parts, warnings)
    parts.sort(key=_part_key)
    return parts


def part_writers(directory: Path) -> list[str]:
    """The distinct writer ids of the parts in `directory` ("" for parts named
    before writer ids existed), in order of first part."""
    out: dict[str, None] = {}
    if Path(directory).is_dir():
        for p in sorted(Path(directory).iterdir(), key=lambda q: q.name):
            m = _PART_RE.match(p.name)
            if m:
                out[m.group(2) or ""] = None
    return list(out)


def _unreadable(p: Path, e: Exception) -> str:
    detail = str(e).splitlines()[0] if str(e) else "no detail"
    return (
        f"{p}: unreadable Parquet part skipped ({type(e).__name__}: {detail}); all other parts used"
    )


def _damaged_part(
    p: Path, e: Exception, warnings: list[str], damaged: list[tuple[str, str]] | None
) -> None:
    warnings.append(_unreadable(p, e))
    if damaged is not None:
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        damaged.append((str(p), f"unreadable Parquet part ({detail})"))


def _open_part(p: Path) -> pq.ParquetFile:
    """A part opened once: its footer read (truncation fails here), its pages checksummed when
    read."""
    return pq.ParquetFile(p, page_checksum_verification=True)


def _check_footer(md: pq.FileMetaData, schema: pa.Schema) -> None:
    """Raise ValueError when the footer disagrees with what the writer recorded."""
    raw = (schema.metadata or {}).get(CHECK_KEY)
    if raw is None:  # written before the check existed, or by another tool
        return
    want = json.loads(raw)
    groups = sum(md.row_group(i).num_rows for i in range(md.num_row_groups))
    if not (want["rows"] == md.num_rows == groups):
        raise ValueError(f"footer says {md.num_rows} rows, {want['rows']} were written")
    if want["columns"] != schema.names:
        raise ValueError("footer column names differ from those written")


def _is_number(t: pa.DataType) -> bool:
    return (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_boolean(t)
        or pa.types.is_null(t)
    )


def schema_problem(
    schema: pa.Schema, keys: tuple[str, ...] = (), numbers: bool = True
) -> str | None:
    """Why a part of this schema cannot be used (None when it can): its `step` must be
    integers, each of `keys` present and text, and (with `numbers`) every other column
    numbers (or booleans, or all null)."""
    for name in ("step", *keys):
        if name not in schema.names:
            return f"no {name!r} column"
    for f in schema:
        t = f.type
        if f.name == "step":
            ok, want = pa.types.is_integer(t), "integers"
        elif f.name in keys:
            ok, want = pa.types.is_string(t) or pa.types.is_large_string(t), "text"
        else:
            ok, want = (not numbers or _is_number(t)), "numbers"
        if not ok:
            return f"column {f.name!r} holds {t}, not {want}"
    return None


def scalars_schema_problem(schema: pa.Schema) -> str | None:
    """A scalars part: integer steps, every other column numbers."""
    return schema_problem(schema)


def histograms_schema_problem(schema: pa.Schema) -> str | None:
    """A histograms part: integer steps, text model, param and kind, numbers else."""
    return schema_problem(schema, ("model", "param", "kind"))


def read_parts(
    directory: Path,
    warnings: list[str],
    damaged: list[tuple[str, str]] | None = None,
    schema_problem: Callable[[pa.Schema], str | None] | None = None,
) -> list[pa.Table]:
    """Every readable part in `directory`, in part order.

    Parts that share one schema (the usual case) are read together, in
    parallel; any failure falls back to reading file by file so that one
    damaged part never costs the others. A part whose schema `schema_problem`
    objects to is skipped the same way, its warning naming the problem.
    """
    good: list[Path] = []
    schemas: list[pa.Schema] = []
    for p in _part_files(directory, warnings):
        try:
            with _open_part(p) as pf:  # reads the footer: catches truncation
                md = pf.metadata
            schema = md.schema.to_arrow_schema()
            _check_footer(md, schema)
            problem = schema_problem(schema) if schema_problem is not None else None
            if problem is not None:
                warnings.append(f"{p}: Parquet part skipped: {problem}; all other parts used")
                if damaged is not None:
                    damaged.append((str(p), f"Parquet part of the wrong schema ({problem})"))
                continue
            schemas.append(schema)
            good.append(p)
        except Exception as e:
            _damaged_part(p, e, warnings, damaged)
    if not good:
        return []
    if len(good) > 1 and all(s.equals(schemas[0]) for s in schemas[1:]):
        try:
            import pyarrow.dataset as ds

            fmt = ds.ParquetFileFormat(
                default_fragment_scan_options=ds.ParquetFragmentScanOptions(
                    page_checksum_verification=True
                )
            )
            return [ds.dataset(good, schema=schemas[0], format=fmt).to_table()]
        except Exception:
            pass  # a damaged data page somewhere: isolate it below
    tables = []
    for p in good:
        try:
            with _open_part(p) as pf:  # one file open at a time, however many parts
                tables.append(pf.read())
        except Exception as e:
            _damaged_part(p, e, warnings, damaged)
    return tables


# ---------------------------------------------------------------- merging


def concat_parts(tables: list[pa.Table], index_cols: dict[str, pa.DataType]) -> pa.Table:
    """Concatenate parts with different columns (union), numeric metrics as float64."""
    fixed = []
    for t in tables:
        cols, names = [], []
        for name, col in zip(t.column_names, t.columns, strict=False):
            want = index_cols.get(name)
            if want is None:
                if _is_number(col.type):
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
        first = np.r_[True, s_sorted[1:] != s_sorted[:-1]]  # sorted: no hashing
        out_steps = s_sorted[first]
        slot = np.empty(n, dtype=np.int64)  # each row's index in out_steps
        slot[order] = np.cumsum(first) - 1
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
                dup_mask[slot[idx[~last]]] = True
            pos = slot[keep]
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
