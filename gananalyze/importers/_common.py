"""Helpers every importer shares: building the per-step scalars frame from
long (step, metric, value) points with later-write-wins, finishing a Run
(counts, NaN/Inf list, plausibility flags), reading JSON lines safely, and
recording what was skipped as damaged (`Run.damaged`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import GanAnalyzeError
from ..files.bounded import loads_json
from ..files.runfiles import keep_inside
from ..naming.aliases import config_hints
from ..run import Run, empty_nonfinite
from ..runio.plausibility import check_run
from .tablefiles import NOT_RUN_FILES

Damaged = list[tuple[str, str]]


def note_damaged(damaged: Damaged | None, file: str | Path, problem: str) -> None:
    """Record that data in `file` was skipped as damaged (no-op without a list)."""
    if damaged is not None:
        damaged.append((str(file), problem))


def pivot_points(
    steps: np.ndarray,
    metric_ids: np.ndarray,
    values: np.ndarray,
    names: Sequence[str],
    order: np.ndarray | None = None,
    wall: np.ndarray | None = None,
) -> tuple[pd.DataFrame, dict[str, int], pd.DataFrame, int, int]:
    """Long points -> one row per step, one float column per metric.

    When a (step, metric) cell is written more than once the point that comes
    last in `order` (default: array order) wins. Returns the frame (with a
    `wall_time` column when `wall` is given: the latest kept write at that
    step), counts per metric, the logged NaN/Inf points, the number of steps
    that had a value replaced and the number of replaced values. Pure numpy:
    millions of points take well under a second.
    """
    steps = np.asarray(steps, dtype=np.int64)
    metric_ids = np.asarray(metric_ids, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    n = len(steps)
    if order is None:
        order = np.arange(n)
    # sort by metric, then step, then write order; the last of each (metric, step) run wins.
    # Fast path: each metric's steps already strictly increase in array order (no rewrites).
    idx = np.argsort(metric_ids, kind="stable")
    m_s, st_s = metric_ids[idx], steps[idx]
    same = m_s[1:] == m_s[:-1]
    if n > 1 and not bool(np.all(st_s[1:][same] > st_s[:-1][same])):
        idx = np.lexsort((order, steps, metric_ids))
    m_s, st_s = metric_ids[idx], steps[idx]
    last = np.ones(n, dtype=bool)
    if n > 1:
        last[:-1] = (m_s[1:] != m_s[:-1]) | (st_s[1:] != st_s[:-1])
    keep = idx[last]
    replaced = n - len(keep)
    if n and m_s[0] == m_s[-1]:
        out_steps = st_s[last]  # one metric: already sorted and unique
    else:
        u = np.sort(steps, kind="stable")
        out_steps = u[np.concatenate([[True], u[1:] != u[:-1]])] if n else u
    dup_steps = int(len(np.unique(st_s[~last]))) if replaced else 0
    cols: dict[str, np.ndarray] = {"step": out_steps}
    wall_col = np.full(len(out_steps), np.nan) if wall is not None else None
    counts: dict[str, int] = {}
    nonfinite = []
    km = metric_ids[keep]
    bounds = np.searchsorted(km, np.arange(len(names) + 1))
    for j, name in enumerate(names):
        sel = keep[bounds[j] : bounds[j + 1]]
        col = np.full(len(out_steps), np.nan)
        pos = np.searchsorted(out_steps, steps[sel])
        col[pos] = values[sel]
        cols[name] = col
        counts[name] = int(len(sel))
        bad = ~np.isfinite(values[sel])
        if bad.any():
            nonfinite.append(
                pd.DataFrame({"step": steps[sel][bad], "metric": name, "value": values[sel][bad]})
            )
        if wall_col is not None:
            w = np.full(len(out_steps), np.nan)
            w[pos] = wall[sel]
            wall_col = np.fmax(wall_col, w)
    if wall_col is not None:
        cols = {
            "step": out_steps,
            "wall_time": wall_col,
            **{k: v for k, v in cols.items() if k != "step"},
        }
    nf = (
        pd.concat(nonfinite, ignore_index=True)
        .sort_values(["step", "metric"], kind="stable")
        .reset_index(drop=True)
        if nonfinite
        else empty_nonfinite()
    )
    return pd.DataFrame(cols), counts, nf, dup_steps, replaced


def pivot_wide(
    steps: np.ndarray, columns: dict[str, np.ndarray], logged: dict[str, np.ndarray] | None = None
) -> tuple[pd.DataFrame, dict[str, int], pd.DataFrame, int, int]:
    """Rows in write order (one value per metric per row) -> one row per step.

    `logged[name]` marks the cells that were written; by default a NaN cell
    counts as "not logged" (sparse CSV rows). The merge is the native store's
    (`runio.parts.merge_scalars`): later rows win per (step, metric) value.
    """
    import pyarrow as pa

    from ..runio.parts import merge_scalars

    cols: dict[str, pa.Array] = {"step": pa.array(np.asarray(steps, dtype=np.int64))}
    for name, v in columns.items():
        v = np.asarray(v, dtype=np.float64)
        ok = logged[name] if logged and name in logged else ~np.isnan(v)
        cols[name] = pa.array(v, mask=~np.asarray(ok, dtype=bool), type=pa.float64())
    return merge_scalars(pa.table(cols), "imported rows")


def located(path: Path, find: Callable[[Path], Path | None], missing: str) -> Path:
    """What `find` locates in the folder or file `path` the user gave (a log, a run
    folder, a table), or the one-line error `<path>: <missing>` when it finds nothing."""
    found = find(Path(path))
    if found is None:
        raise GanAnalyzeError(f"{path}: {missing}")
    return found


def pivoted_run(
    path: Path, name: str, fmt: str, pivoted: tuple, warnings: list[str], **fields
) -> Run:
    """An importer's Run from its pivoted scalars: `pivoted` is (frame, counts per metric,
    NaN/Inf points, duplicates replaced), as pivot_points / pivot_wide return them (the
    importer may put its own count of replaced duplicates fourth); `fields` are the Run's
    other fields (loss, config, samples, ...)."""
    frame, counts, nonfinite, replaced = pivoted[:4]
    return Run(
        path=path,
        name=name,
        format=fmt,
        scalars=frame,
        counts=counts,
        nonfinite=nonfinite,
        warnings=warnings,
        duplicates_replaced=replaced,
        **fields,
    )


def finish(run: Run, file: str | None = None, losses: Iterable[str] | None = None) -> Run:
    """Fill counts and the NaN/Inf list from `run.scalars`, then the plausibility flags."""
    sc = run.scalars
    if "step" not in sc.columns:
        sc.insert(0, "step", pd.Series([], dtype="int64"))
    sc["step"] = sc["step"].astype("int64")
    run.scalars = (
        sc.sort_values("step", kind="stable").reset_index(drop=True)
        if len(sc) > 1 and not sc["step"].is_monotonic_increasing
        else sc
    )
    sc = run.scalars
    for m in run.metrics:
        run.counts.setdefault(m, int(sc[m].notna().sum()))
    run.flags = check_run(run, file=file, losses=losses)
    hints = config_hints(run.config)
    if hints:  # what the config says about the losses, in whatever spelling (info shows it)
        run.extra["config_hints"] = {h: {"value": v, "key": k} for h, (v, k) in hints.items()}
    return run


def warn_limit(warnings: list[str], items: list[str], what: str, limit: int = 10) -> None:
    """Append up to `limit` item warnings and one line counting the rest."""
    warnings.extend(items[:limit])
    if len(items) > limit:
        warnings.append(f"... and {len(items) - limit} more {what}")


def read_jsonl_objects(
    p: Path, warnings: list[str], damaged: Damaged | None = None
) -> list[tuple[int, dict]]:
    """(line number, object) for every JSON-object line of a JSON-lines file; bad
    lines (garbage, cut off, nested absurdly deep) become warnings and `damaged`."""
    out = []
    bad = []
    with open(p, encoding="utf-8", errors="replace") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = loads_json(line)
            except ValueError as e:
                what = "nested too deeply" if "nested" in str(e) else "cut off or garbage"
                bad.append(f"{p}:{i}: not valid JSON ({what}), line skipped")
                note_damaged(damaged, f"{p}:{i}", f"unreadable JSON line ({what})")
                continue
            if not isinstance(obj, dict):
                bad.append(f"{p}:{i}: not a JSON object, line skipped")
                note_damaged(damaged, f"{p}:{i}", "JSON line is not an object")
                continue
            out.append((i, obj))
    warn_limit(warnings, bad, "unreadable lines")
    return out


def first_log(
    path: Path, is_log: Callable[[Path], bool], suffixes: Sequence[str], depth: int = 3
) -> Path | None:
    """`path` itself when it is a log `is_log` accepts, else the first such file (by sorted
    name) in a folder or up to `depth` levels below it, links leaving the run left out;
    files named like texts beside logs (README, LICENSE...) and other suffixes skipped."""
    path = Path(path)

    def ok(p: Path) -> bool:
        return p.suffix.lower() in suffixes and not NOT_RUN_FILES.match(p.name)

    if path.is_file():
        return path if ok(path) and is_log(path) else None
    if not path.is_dir():
        return None
    try:
        for d in range(depth):
            for p in keep_inside(path, sorted(path.glob("/".join(["*"] * (d + 1))))):
                if p.is_file() and ok(p) and is_log(p):
                    return p
    except OSError:
        return None
    return None
