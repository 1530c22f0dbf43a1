"""MLflow's database store: an SQLite file (`mlflow.db`, `sqlite:///mlflow.db` as the
tracking URI; MLflow 3 refuses the old file store unless told to allow it) whose `runs`,
`metrics` and `params` tables hold what `mlruns/` folders hold as files.

Read with Python's sqlite3, read-only and immutable (nothing is written, no journal, no
extension loaded), only from the tables named here. A database holding several runs is
read at its newest (by start time); the others are named in the notes. A file over
MAX_BYTES or a run with more than MAX_POINTS metric points is refused with one line naming
the file.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import GanAnalyzeError
from ..files.runfiles import keep_inside

MAX_BYTES = 4 << 30
MAX_POINTS = 50_000_000
SUFFIXES = (".db", ".sqlite", ".sqlite3")
_MAGIC = b"SQLite format 3\x00"
_NEED = {"runs", "metrics", "params"}


@dataclass
class DbRun:
    """One run of an MLflow database: its id, name, experiment and points."""

    uuid: str
    name: str
    experiment: str
    keys: list[str]
    steps: np.ndarray
    ids: np.ndarray
    values: np.ndarray
    walls: np.ndarray
    params: dict[str, str]
    others: list[str] = field(default_factory=list)  # the database's other runs (name (id))
    bad: int = 0  # metric rows whose value, step or time is not a number (left out)


def _connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro&immutable=1", uri=True)


def is_mlflow_db(p: Path) -> bool:
    """Whether `p` is an SQLite file with MLflow's runs, metrics and params tables."""
    try:
        if not p.is_file() or p.suffix.lower() not in SUFFIXES:
            return False
        with open(p, "rb") as f:
            if f.read(16) != _MAGIC:
                return False
        with closing(_connect(p)) as con:
            names = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
        return _NEED <= names
    except (OSError, sqlite3.Error):
        return False


def find_db(path: Path) -> Path | None:
    """The MLflow database `path` names, or the one beside it (a run root holding
    `mlflow.db`)."""
    path = Path(path)
    if path.is_file():
        return path if is_mlflow_db(path) else None
    if not path.is_dir():
        return None
    cands = [p for p in keep_inside(path, sorted(path.iterdir())) if is_mlflow_db(p)]
    return cands[0] if len(cands) == 1 else None


def read_db(db: Path) -> DbRun:
    """The newest run of the MLflow database `db` (module docstring)."""
    if db.stat().st_size > MAX_BYTES:
        raise GanAnalyzeError(f"{db}: an MLflow database over {MAX_BYTES >> 30} GiB; not read")
    try:
        with closing(_connect(db)) as con:
            runs = con.execute(
                "select run_uuid, coalesce(name, ''), experiment_id from runs "
                "where coalesce(lifecycle_stage, 'active') != 'deleted' "
                "order by coalesce(start_time, 0) desc, run_uuid"
            ).fetchall()
            if not runs:
                raise GanAnalyzeError(f"{db}: an MLflow database with no runs")
            uuid, name, exp = runs[0]
            (n,) = con.execute(
                "select count(*) from metrics where run_uuid = ?", (uuid,)
            ).fetchone()
            if n > MAX_POINTS:
                raise GanAnalyzeError(
                    f"{db}: run {uuid} holds {n:,} metric points (limit {MAX_POINTS:,}); not read"
                )
            rows = con.execute(
                "select key, value, timestamp, step, is_nan from metrics where run_uuid = ? "
                "order by timestamp, step",
                (uuid,),
            ).fetchall()
            params = dict(
                con.execute("select key, value from params where run_uuid = ?", (uuid,)).fetchall()
            )
    except sqlite3.Error as e:
        raise GanAnalyzeError(f"{db}: not readable as an MLflow database ({e})") from None
    keys: list[str] = []
    index: dict[str, int] = {}
    ids = np.empty(len(rows), np.int64)
    steps = np.empty(len(rows), np.int64)
    values = np.empty(len(rows), np.float64)
    walls = np.empty(len(rows), np.float64)
    ok = np.ones(len(rows), bool)
    for i, (key, value, ts, step, is_nan) in enumerate(rows):
        try:
            steps[i] = int(step or 0)  # OverflowError past 64 bits
            values[i] = np.nan if is_nan else float(value)
            walls[i] = float(ts or 0) / 1000.0
        except (TypeError, ValueError, OverflowError):
            ok[i] = False  # a value, step or time that is not a number
            continue
        ids[i] = index.setdefault(str(key), len(index))
    keys = list(index)
    bad = int((~ok).sum())
    if bad:
        ids, steps, values, walls = ids[ok], steps[ok], values[ok], walls[ok]
    others = [f"{nm or '(unnamed)'} ({u[:8]})" for u, nm, _ in runs[1:]]
    return DbRun(
        str(uuid),
        str(name),
        str(exp),
        keys,
        steps,
        ids,
        values,
        walls,
        {str(k): str(v) for k, v in params.items()},
        others,
        bad,
    )
