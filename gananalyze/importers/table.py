"""Generic tables: any CSV / TSV / JSON / JSON-lines file with a step column,
including PyTorch Lightning's CSVLogger (`lightning_logs/version_N/metrics.csv`).
The table-shaped formats (Keras CSVLogger, CTGAN loss tables, W&B history exports,
epoch/iter CSV logs) are thin importers over `load_table` here.

A single file is read whatever its name or suffix: its content says whether it is
JSON (an array of objects, or an object of columns), JSON lines, or delimited
text (delimiter sniffed, BOM dropped; see `_csvread`). The step column is the
first of STEP_COLUMNS present (case-insensitive). Rows may be sparse (Lightning
writes one row per logging call); rows for the same step merge, and a value
written twice for the same (step, metric) keeps the later row. `epoch` becomes
the epoch column; `wall_time`/`timestamp`/`time` the wall time. Columns that are
not numbers are left out with one warning. Nested JSON objects are flattened
with "/" (`{"loss": {"G": 1}}` -> `loss/G`).

Damaged input: a row with the wrong number of fields or a JSON line that does
not parse is skipped with a file:line warning; non-numeric cells in a numeric
column become "not logged" (first ones reported by file:line); a repeated header
row (a restart appending to the same file) is dropped and named in a warning.

Pointed at a folder, `tablefiles.find_table` says which file is the table (`metrics.csv`,
the newest Lightning version, the only table with a step column, or one a folder down)
and `tablefiles.run_name` what the run is called. `hparams.yaml` next to the table
becomes the config; `run.step_unit` says what the step counts ("iteration" here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import GanAnalyzeError
from ..files.runfiles import yaml_mapping
from ..naming.aliases import config_hints
from ..run import LOSS_TYPES, Run
from . import epochsteps, samplefiles
from ._common import finish, located, pivot_wide, pivoted_run, read_jsonl_objects, warn_limit
from ._csvread import SPACES, Table, read_table, sniff_text
from ._jsonread import from_objects, read_json_document
from .counters import pick_step, varies
from .tablefiles import (
    STEP_COLUMNS,
    epoch_column,
    find_table,
    has_step,
    run_name,
    table_detector,
)

Columns = Table  # a table as numeric columns: values, which cells were written, source lines

NAME = "csv"
# a wall clock's names (BigGAN-PyTorch's `_stamp`); one that does not run forward (MMCV's
# `time`, seconds per iteration) is a metric
WALL_COLUMNS = ("wall_time", "walltime", "timestamp", "_timestamp", "_stamp", "time")


def detect(path: Path) -> bool:
    """A table with a step column; also any file named *.csv / *.tsv, so that a
    CSV nothing else claims gets the table reader's own error (no delimiter,
    no step column) instead of "not a training run"."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() in (".csv", ".tsv"):
        return True
    try:
        table, _ = find_table(path)
    except GanAnalyzeError:
        return True
    return table is not None


def read_columns(p: Path, warnings: list[str], bad: list[str]) -> Columns:
    """Any table file as numeric columns (JSON, JSON lines or delimited, by content)."""
    kind = sniff_text(p)
    counters = STEP_COLUMNS + ("epoch",)
    if kind == "jsonl":
        return from_objects(p, read_jsonl_objects(p, warnings), bad, counters)
    if kind == "json":
        return from_objects(p, read_json_document(p, warnings), bad, counters)
    return read_table(p, warnings, forced_sep="\t" if p.suffix == ".tsv" else None, bad=bad)


def loss_from_config(config: dict[str, Any]) -> str | None:
    for key in ("loss", "loss_type", "gan_loss", "gan_mode", "adv_loss"):
        v = str(config.get(key, "")).lower()
        if v in LOSS_TYPES:
            return v
        if v in ("vanilla", "bce", "ns", "non-saturating"):
            return "bce"
        if v in ("wgan", "wgan-gp", "wgangp"):
            return "wasserstein"
    hint = config_hints(config).get("loss")  # any other spelling, at any depth
    if hint is not None and hint[1] not in ("loss", "loss_type", "gan_loss", "gan_mode"):
        return loss_from_config({"loss": hint[0]})
    return None


def read_hparams(table: Path, warnings: list[str]) -> dict[str, Any]:
    return yaml_mapping(table.parent, table.parent / "hparams.yaml", warnings, "config unknown")


def build_run(
    path: Path,
    table: Path,
    fmt: str,
    steps: np.ndarray,
    cols: dict[str, np.ndarray],
    logged: dict[str, np.ndarray],
    warnings: list[str],
    *,
    unit: str,
    index: dict[str, np.ndarray] | None = None,
    config: dict | None = None,
    loss: str | None = None,
    name: str | None = None,
) -> Run:
    """A Run from row-ordered columns: merge rows per step, add epoch/wall_time."""
    frame, counts, nonfinite, dup_steps, replaced = pivot_wide(steps, cols, logged)
    for col, arr in (index or {}).items():
        if arr is not None and len(frame):
            s = pd.Series(arr, index=steps).dropna().groupby(level=0).last()
            frame.insert(1, col, s.reindex(frame["step"]).to_numpy())
    if dup_steps:
        warnings.append(
            f"{table}: {dup_steps} step(s) were written more than once with "
            f"different values; the later row was kept ({replaced} value(s) replaced)"
        )
    config = config or {}
    loss = loss or loss_from_config(config)
    pivoted = (frame, counts, nonfinite, dup_steps)
    run = pivoted_run(
        path, name or run_name(table, Path(path)), fmt, pivoted, warnings, loss=loss, config=config
    )
    run.extra["table"] = str(table)
    run.step_unit = unit
    if not len(frame):
        warnings.append(f"{table}: no rows with a step")
    return finish(run, file=str(table))


def _runs_forward(v: np.ndarray) -> bool:
    """Whether a column reads as a clock: its written values never go back by more than a
    twentieth of their steps (a resume's clock may), and they move."""
    f = v[np.isfinite(v)]
    if len(f) < 2 or f[-1] <= f[0]:
        return False
    return float(np.mean(np.diff(f) < 0)) <= 0.05


def split_columns(t: Columns, table: Path, warnings: list[str], skip: tuple[str, ...] = ()):
    """(epoch, wall, metric columns, logged) of a read table; `skip` columns left out."""
    low = {c.lower(): c for c in t.values}
    wall_col = next(
        (low[c] for c in WALL_COLUMNS if c in low and _runs_forward(t.values[low[c]])), None
    )
    epoch = wall = None
    cols: dict[str, np.ndarray] = {}
    logged: dict[str, np.ndarray] = {}
    for c, v in t.values.items():
        if c in skip:
            continue
        if c.lower() == "epoch":
            epoch = np.where(t.logged[c], v, np.nan)
        elif c == wall_col:
            wall = np.where(t.logged[c], v, np.nan)
        else:
            cols[c], logged[c] = v, t.logged[c]
    if t.text_columns:
        warnings.append(f"{table}: non-numeric column(s) left out: {', '.join(t.text_columns[:8])}")
    if t.restarts:
        where = ", ".join(str(x) for x in t.restarts[:5])
        warnings.append(
            f"{table}: the header is repeated at line(s) {where} (training restarted "
            "and appended to the file); those lines were skipped"
        )
    return epoch, wall, cols, logged


def load_table(path: Path, accept=has_step) -> tuple[Path, Columns, list[str], list[str]]:
    """(table file, its columns, warnings, file:line problems) for `path`."""
    path = Path(path)
    # a file named on the command line is read as it is: its own problems are the error
    table, notes = (path, []) if path.is_file() else find_table(path, accept)
    if table is None:
        raise GanAnalyzeError(
            f"{path}: no CSV/JSON table with a step column ({', '.join(STEP_COLUMNS[:6])}, ...)"
        )
    warnings: list[str] = list(notes)
    bad: list[str] = []
    return table, read_columns(table, warnings, bad), warnings, bad


def keep_counted_rows(
    t: Columns, cols: tuple[str, ...], table: Path, bad: list[str], what: str
) -> None:
    """Keep the rows where every column of `cols` (the step counters) holds a number that
    fits a 64-bit step; the others are dropped and counted in one `bad` line naming `what`
    they lack (a step of 1e23 or inf would otherwise become -2**63)."""
    ok = np.ones(len(t.values[cols[0]]), dtype=bool)
    fits = np.ones(len(ok), dtype=bool)
    for c in cols:
        ok &= t.logged[c] & ~np.isnan(t.values[c])
        with np.errstate(invalid="ignore"):
            fits &= np.abs(t.values[c]) < 2.0**63
    if (~ok).any():
        bad.append(f"{table}: {int((~ok).sum())} row(s) without {what} skipped")
    if (ok & ~fits).any():
        bad.append(
            f"{table}: {int((ok & ~fits).sum())} row(s) with {what} that does not fit 64 bits "
            "skipped"
        )
    keep_rows(t, ok & fits)


def keep_rows(t: Columns, ok: np.ndarray) -> None:
    if ok.all():
        return
    for c in t.values:
        t.values[c], t.logged[c] = t.values[c][ok], t.logged[c][ok]
    t.lines = t.lines[ok]
    if t.index is not None:
        t.index = t.index[ok]


@dataclass
class Axis:
    """What a profile reads from a table's counters: the step of every row and its unit,
    the counter columns that are not metrics (`skip`), the epoch column when the profile
    computes it (None: the table's own `epoch` column), rows replaced by resumes, warnings,
    and `run.extra` entries."""

    steps: np.ndarray
    unit: str
    skip: tuple[str, ...] = ()
    epoch: np.ndarray | None = None
    replaced: int = 0
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    """One table format: which header it claims (`accept`), how its counters make the step
    axis (`axis(columns, file, bad) -> Axis`), and what else its files say. Every table
    importer is a Profile read by `read_with`: one reading path, one place for its rules."""

    name: str
    accept: Callable[[list[str]], bool]
    axis: Callable[[Columns, Path, list[str]], Axis]
    loss: str | None = None
    config: Callable[[Path, list[str]], dict] | None = None  # (table file, warnings) -> config
    find: Callable[[Path], Path | None] | None = None  # default: find_table(path, accept)
    run_name: Callable[[Path, Path], str | None] | None = None  # (path given, table file)
    # a file with no header line, its numbers between spaces: its column names (the file's,
    # as `find` located it)
    names: Callable[[Path], list[str]] | None = None

    def detect(self, path: Path) -> bool:
        """The registry's detect(path): a table here whose header this format accepts."""
        return table_detector(self.accept)(path)

    def load(self, path: Path) -> Run:
        """The registry's load(path): read_with this profile."""
        return read_with(self, path)


def read_with(profile: Profile, path: Path) -> Run:
    """Read `path` as a table of `profile`'s format: find, read, step axis, merge, Run."""
    path = Path(path)
    if profile.find is None:
        table, t, warnings, bad = load_table(path, profile.accept)
    else:
        table = located(path, profile.find, f"no {profile.name} table here")
        warnings, bad = [], []
        if profile.names is None:
            t = read_columns(table, warnings, bad)
        else:
            t = read_table(table, warnings, SPACES, bad, names=profile.names(table))
    ax = profile.axis(t, table, bad)
    epoch, wall, cols, logged = split_columns(t, table, warnings, skip=ax.skip)
    warnings.extend(ax.notes)
    warn_limit(warnings, bad, "problems")
    run = build_run(
        path,
        table,
        profile.name,
        ax.steps,
        cols,
        logged,
        warnings,
        unit=ax.unit,
        index={"wall_time": wall, "epoch": epoch if ax.epoch is None else ax.epoch},
        config=profile.config(table, warnings) if profile.config else None,
        loss=profile.loss,
        name=profile.run_name(path, table) if profile.run_name else None,
    )
    run.duplicates_replaced += ax.replaced
    run.extra.update(ax.extra)
    samplefiles.attach(run, path)  # sample grids saved as image files beside the table
    return run


def counted(t: Columns, table: Path, bad: list[str], col: str, what: str) -> np.ndarray:
    """The rows whose counter `col` holds a number (others dropped, counted in `bad`), as int
    steps."""
    keep_counted_rows(t, (col,), table, bad, what)
    return t.values[col].astype(np.int64)


def step_axis(t: Columns, table: Path, bad: list[str]) -> Axis:
    """The first step column (STEP_COLUMNS order) that varies; a constant one is passed
    over while another step column or the epoch increases."""
    names = list(t.values)
    cands = [c for n in STEP_COLUMNS for c in names if c.strip().lower() == n]
    if not cands:
        raise GanAnalyzeError(
            f"{table}: no numeric step column (looked for {', '.join(STEP_COLUMNS)})"
        )
    ep = epoch_column(names)
    col = pick_step([(c, t.values[c]) for c in cands])
    if col is None:
        rows = len(t.values[cands[0]])
        raise GanAnalyzeError(
            f"{table}: no row holds a number in its step column {cands[0]!r}"
            + (" (no rows below the header)" if rows == 0 else f" ({rows:,} rows)")
        )
    if not varies(t.values[col]) and ep is not None and varies(t.values[ep]):
        steps = counted(t, table, bad, ep, "an epoch")
        note = f"{table}: the step column {col!r} never changes; the epoch is the step"
        return Axis(steps, "epoch", skip=(col, ep), epoch=steps.astype(float), notes=[note])
    return Axis(counted(t, table, bad, col, "a step"), "iteration", skip=(col,))


PROFILE = Profile(NAME, has_step, step_axis, config=read_hparams)


def load(path: Path) -> Run:
    """Read a CSV/TSV/JSON/JSONL table or a Lightning CSVLogger folder (module docstring);
    the folder's `checkpoints/*.ckpt` (Lightning's ModelCheckpoint) are placed by epoch."""
    run = read_with(PROFILE, path)
    path = Path(path)
    epochsteps.attach_checkpoints(run, path if path.is_dir() else path.parent)
    return run
