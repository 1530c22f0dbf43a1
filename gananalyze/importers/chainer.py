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

from pathlib import Path

import numpy as np

from ..errors import GanAnalyzeError
from ..files.bounded import loads_json
from ..files.runfiles import checked
from .table import Axis, Columns, Profile, counted

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


def axis(t: Columns, log: Path, bad: list[str]) -> Axis:
    if "iteration" not in t.values:
        raise GanAnalyzeError(f"{log}: no numeric 'iteration' key in the records")
    steps = counted(t, log, bad, "iteration", "an iteration")
    elapsed = t.values.pop("elapsed_time", None)
    t.logged.pop("elapsed_time", None)
    epoch = t.values.get("epoch")
    epoch = np.where(t.logged["epoch"], epoch, np.nan) if epoch is not None else None
    # elapsed_time is the wall time: carried as the table's `wall_time` column
    if elapsed is not None:
        t.values["wall_time"], t.logged["wall_time"] = elapsed, ~np.isnan(elapsed)
    return Axis(steps, "iteration", skip=("iteration",), epoch=epoch)


def read_args(log: Path, warnings: list[str]) -> dict:
    """`args` / `args.json` beside the log (argparse options), when plain JSON."""
    for name in ("args", "args.json"):
        p = checked(log.parent, log.parent / name, warnings)
        if p is None:
            continue
        try:
            obj = loads_json(p.read_text(errors="replace"), p)
            return obj if isinstance(obj, dict) else {}
        except ValueError:
            warnings.append(f"{p}: not plain JSON; config unknown")
        break
    return {}


def _name(path: Path, log: Path) -> str | None:
    return path.name if path.is_dir() and log.parent != path else None


PROFILE = Profile(
    NAME, lambda cols: "iteration" in cols, axis, config=read_args, find=find_log, run_name=_name
)

load = PROFILE.load  # and load(path) -> Run
