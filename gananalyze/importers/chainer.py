"""Chainer's `LogReport` file: a file named `log` (in the trainer's `result/`
folder) holding one JSON array of dicts, e.g.
    [{"epoch": 0, "iteration": 100, "elapsed_time": 35.2,
      "gen/loss": 1.9, "dis/loss": 0.4}, ...]
rewritten whole at every report. A file cut off mid-write (the trainer was killed
while rewriting it) still yields every complete dict; the cut is named in a
warning. The step is `iteration` (unit "iteration"), `epoch` the epoch column,
`elapsed_time` the wall time (seconds since start). `log` may sit in one subfolder
of the run folder (`result/log`, chainer's default `--out`); the run is named after
the folder given (or the folder holding `log` when the file itself is given);
`args` / `args.json` beside it (chainer examples dump their argparse options
there) become the config when they are plain JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import GanAnalyzeError
from ..files.runfiles import checked
from ..run import Run
from ._common import warn_limit
from .table import build_run, from_objects, keep_rows, read_json_document, split_columns

NAME = "chainer"
LOG_NAME = "log"


def _is_log(p: Path) -> bool:
    try:
        with open(p, "rb") as f:
            head = f.read(2048).lstrip()
    except OSError:
        return False
    return head.startswith(b"[") and (
        head[1:].lstrip().startswith(b"{") or head[1:].strip() in (b"", b"]")
    )


def find_log(path: Path) -> Path | None:
    """`path` itself, `path/log`, or the `log` of the one subfolder holding one (chainer's
    trainers write to `result/` by default)."""
    path = Path(path)
    if path.is_file():
        return path if path.name == LOG_NAME and _is_log(path) else None
    if path.is_dir():
        p = checked(path, path / LOG_NAME)
        if p is not None and _is_log(p):
            return p
        try:
            subs = sorted(d for d in path.iterdir() if d.is_dir() and not d.is_symlink())
        except OSError:
            return None
        found = [p for d in subs if (p := checked(path, d / LOG_NAME)) is not None and _is_log(p)]
        if len(found) == 1:
            return found[0]
    return None


def detect(path: Path) -> bool:
    return find_log(path) is not None


def load(path: Path) -> Run:
    path = Path(path)
    log = find_log(path)
    if log is None:
        raise GanAnalyzeError(f"{path}: no Chainer LogReport file ('log', a JSON array) here")
    warnings: list[str] = []
    bad: list[str] = []
    t = from_objects(log, read_json_document(log, warnings), bad)
    it = "iteration" if "iteration" in t.values else None
    if it is None:
        raise GanAnalyzeError(f"{log}: no numeric 'iteration' key in the records")
    ok = t.logged[it] & ~np.isnan(t.values[it])
    if (~ok).any():
        bad.append(f"{log}: {int((~ok).sum())} record(s) without an iteration skipped")
    keep_rows(t, ok)
    steps = t.values[it].astype(np.int64)
    elapsed = t.values.pop("elapsed_time", None)
    epoch, _, cols, logged = split_columns(t, log, warnings, skip=(it,))
    warn_limit(warnings, bad, "problems")
    config: dict = {}
    for name in ("args", "args.json"):
        p = checked(log.parent, log.parent / name, warnings)
        if p is None:
            continue
        try:
            obj = json.loads(p.read_text(errors="replace"))
            config = obj if isinstance(obj, dict) else {}
        except ValueError:
            warnings.append(f"{p}: not plain JSON; config unknown")
        break
    return build_run(
        path,
        log,
        NAME,
        steps,
        cols,
        logged,
        warnings,
        unit="iteration",
        index={"wall_time": elapsed, "epoch": epoch},
        config=config,
        name=path.name if path.is_dir() and log.parent != path else None,
    )
