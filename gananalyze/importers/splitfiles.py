"""One file per loss: a folder of text files each holding one metric, one line per report,
named only by the file (`d_loss.txt`, `g_loss.txt`, `d_loss_real.txt`), as a training
loop that appends `f"{loss}\\n"` (or Keras' `f"{loss} {accuracy}\\n"`) to a file per
quantity writes them.

Claimed when a folder holds at least two such files (`.txt`, `.log`, `.csv`, `.dat`)
whose names give a G or D loss or another role (naming/roles: the file's stem is read as
a column name, a bare network's name as its loss), and whose first lines hold one to
four numbers each and nothing else. The file's stem names its first number; further
numbers on a line are `<stem>_col2`, `<stem>_col3` (Keras' `[loss, accuracy]` gives
`d_loss_col2`, the accuracy; the extra word keeps the stem the role's column). The step
is the line number (0 for the first line, the unit "row", said in
`run.extra["step_note"]`): the files do not say when each line was written. Files of
different lengths are aligned by line number, with a warning naming them; a line that is
not numbers is skipped as damaged data, named by file and line; a NaN or Inf written is
kept (a divergence). Files above MAX_BYTES are not read (a warning names them).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import GanAnalyzeError
from ..files.runfiles import keep_inside
from ..files.textenc import file_encoding
from ..naming.roles import resolve_roles
from ..run import Run
from ._common import finish, pivot_wide, pivoted_run
from .freetext import NUM

NAME = "split-files"
SUFFIXES = (".txt", ".log", ".csv", ".dat")
MAX_BYTES = 64 * 1024**2
MAX_VALUES = 4  # numbers on one line: a loss and what Keras' train_on_batch returns with it
_SEP = r"[\s,;]+"
# a line of 1 to MAX_VALUES numbers (the text logs' number grammar: nan and inf count)
_NUMS = re.compile(rf"\s*{NUM}(?:{_SEP}{NUM}){{0,{MAX_VALUES - 1}}}[\s,;]*")
_HEAD_LINES = 20


def _role_of(stem: str) -> str | None:
    """The role a file's stem names (`d_loss`, `errG`, `D`, `generator`), read as a column
    of a loss file (naming/roles: a bare network's name is its loss)."""
    roles = resolve_roles([stem], context="loss").roles
    return next(iter(roles), None)


def _numbers_only(p: Path) -> bool:
    """Whether the first lines of `p` are numbers only (1 to MAX_VALUES per line), one
    damaged line among them allowed when three or more are numbers."""
    try:
        with open(p, encoding=file_encoding(p), errors="replace") as f:
            head = [ln for ln in (f.readline() for _ in range(_HEAD_LINES)) if ln.strip()]
    except OSError:
        return False
    ok = sum(bool(_NUMS.fullmatch(ln.strip())) for ln in head)
    return ok == len(head) > 0 or (ok >= 3 and ok >= len(head) - 1)


def find_files(path: Path) -> list[Path]:
    """The folder's one-metric files, when there are at least two and one names a G or D
    loss (by name order)."""
    path = Path(path)
    if not path.is_dir():
        return []
    try:
        cands = keep_inside(path, sorted(path.iterdir()))
    except OSError:
        return []
    files = [
        p
        for p in cands
        if p.is_file()
        and p.suffix.lower() in SUFFIXES
        and _role_of(p.stem) is not None
        and _numbers_only(p)
    ]
    roles = {_role_of(p.stem) for p in files}
    return files if len(files) >= 2 and roles & {"G_loss", "D_loss"} else []


def detect(path: Path) -> bool:
    return bool(find_files(path))


def _read(p: Path, bad: list[str]) -> list[list[float]]:
    """The numbers of each non-empty line of `p` ([] for a line that is not numbers, named
    in `bad`)."""
    rows: list[list[float]] = []
    with open(p, encoding=file_encoding(p), errors="replace") as f:
        for line_no, line in enumerate(f, 1):
            s = line.strip()
            if not s:
                continue
            if _NUMS.fullmatch(s):
                rows.append([float(v) for v in re.split(_SEP, s) if v])
            else:
                bad.append(f"{p}:{line_no}: not numbers, skipped")
                rows.append([])
    return rows


def load(path: Path) -> Run:
    path = Path(path)
    files = find_files(path)
    if not files:
        raise GanAnalyzeError(f"{path}: no folder of one-metric files (d_loss.txt, g_loss.txt)")
    warnings: list[str] = []
    bad: list[str] = []
    cols: dict[str, list[float]] = {}
    written: dict[str, list[bool]] = {}  # a NaN written in the file is logged (a divergence)
    lines: dict[str, int] = {}
    for p in files:
        if p.stat().st_size > MAX_BYTES:
            warnings.append(f"{p}: over {MAX_BYTES // 1024**2} MB; not read")
            continue
        rows = _read(p, bad)
        lines[p.name] = len(rows)
        for k in range(max((len(r) for r in rows), default=0)):
            name = p.stem if k == 0 else f"{p.stem}_col{k + 1}"
            cols[name] = [r[k] if k < len(r) else np.nan for r in rows]
            written[name] = [k < len(r) for r in rows]
    if not cols:
        raise GanAnalyzeError(f"{path}: no one-metric file could be read")
    if len(set(lines.values())) > 1:
        warnings.append(
            f"{path}: the files hold different numbers of lines ("
            + ", ".join(f"{k} {v}" for k, v in lines.items())
            + "); aligned by line number"
        )
    n = max(len(v) for v in cols.values())
    arrays = {k: np.array(v + [np.nan] * (n - len(v)), dtype=float) for k, v in cols.items()}
    logged = {k: np.array(v + [False] * (n - len(v)), dtype=bool) for k, v in written.items()}
    pivoted = pivot_wide(np.arange(n, dtype=np.int64), arrays, logged)
    damaged = [(b.split(": ", 1)[0], b.split(": ", 1)[-1]) for b in bad]
    run = pivoted_run(path, path.name, NAME, pivoted, warnings, damaged=damaged)
    run.step_unit = "row"
    run.extra["step_note"] = "line number: one report per line, the files name their metric"
    run.extra["files"] = list(lines)
    return finish(run, file=str(path), losses=list(cols))
