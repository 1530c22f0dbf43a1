"""Reading files inside a run folder without leaving it.

A run folder is untrusted input: a file in it may be a symlink to
`/etc/passwd` or to another user's data. Every importer and the native store
discover files through these helpers, which keep only files that resolve
inside the run's root and say, in one warning each, what was left out.
A path the user named explicitly on the command line is theirs to read;
these checks apply to what is found *inside* it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import GanAnalyzeError

# How deep JSON from a run may nest before it is refused (Python's parser would
# otherwise die with RecursionError near 1,000 levels, or crash the interpreter).
MAX_JSON_DEPTH = 200


def root_of(path: str | Path) -> Path:
    """The folder a run's files must stay inside: the run directory itself,
    or the folder holding a single run file."""
    p = Path(path)
    return (p if p.is_dir() else p.parent).resolve()


def is_inside(root: str | Path, path: str | Path) -> bool:
    """True when `path`, with every symlink resolved, lies inside `root`."""
    try:
        resolved = Path(path).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return False
    r = Path(root).resolve()
    return resolved == r or r in resolved.parents


def outside_warning(root: str | Path, path: str | Path) -> str:
    """The one-line warning for a file that is not read because it leaves the run."""
    p = Path(path)
    try:
        shown = p.relative_to(root)
    except ValueError:
        shown = p
    return f"{shown}: not read: it is a link that resolves outside the run folder"


def keep_inside(
    root: str | Path, paths: Iterable[str | Path], warnings: list[str] | None = None
) -> list[Path]:
    """The paths that resolve inside `root`, in order; one warning per path left out."""
    kept = []
    for p in paths:
        if is_inside(root, p):
            kept.append(Path(p))
        elif warnings is not None:
            warnings.append(outside_warning(root, p))
    return kept


def checked(root: str | Path, path: str | Path, warnings: list[str] | None = None) -> Path | None:
    """`path` when it resolves inside `root` and is a file; otherwise None (with a
    warning when it exists but leads outside)."""
    p = Path(path)
    if not p.exists():
        return None
    if not is_inside(root, p):
        if warnings is not None:
            warnings.append(outside_warning(root, p))
        return None
    return p if p.is_file() else None


def glob_inside(
    root: str | Path,
    folder: str | Path,
    pattern: str,
    warnings: list[str] | None = None,
    recursive: bool = False,
) -> list[Path]:
    """`folder.glob(pattern)` (or rglob), sorted, keeping only what resolves inside `root`."""
    f = Path(folder)
    found = sorted(f.rglob(pattern) if recursive else f.glob(pattern))
    return keep_inside(root, found, warnings)


def json_depth_ok(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """False when brackets in `text` nest deeper than `limit` (strings included: a
    cheap over-estimate that never lets a deep document through)."""
    if isinstance(text, str):
        text = text.encode("utf-8", "replace")
    if text.count(b"[") + text.count(b"{") <= limit:
        return True
    depth = 0
    for m in re.finditer(rb"[\[\]{}]", text):
        if m.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return False
        else:
            depth -= 1
    return True


def loads_json(text: str | bytes) -> Any:
    """`json.loads` for text from a run: raises ValueError (never RecursionError)
    for a document nested deeper than MAX_JSON_DEPTH levels."""
    if not json_depth_ok(text):
        raise ValueError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


# ---------------------------------------------------------------- writing outputs

# Files a trainer or gananalyze writes into a run: never overwritten by an output.
_RUN_FILE_RE = re.compile(
    r"^(run\.json|loss_log\.txt|train_opt\.txt|opt\.txt|stats\.jsonl|training_options\.json"
    r"|log\.txt|events\.out\.tfevents\..*|metric-.*\.jsonl|.*\.parquet|.*\.pt|.*\.pkl)$"
)
NATIVE_ENTRIES = frozenset(
    {"run.json", "scalars", "histograms", "checkpoints", "samples", "metrics"}
)


def _native_root(p: Path) -> Path | None:
    """The nearest folder at or above `p` that is a native run, or None."""
    for d in (p, *p.parents):
        if (d / "run.json").is_file() and d.is_dir():
            return d
    return None


def check_output(path: str | Path, runs: Iterable[str | Path] = ()) -> Path:
    """Refuse to write an output file (report, comparison page) over a run's data.

    Raises GanAnalyzeError when `path` is a directory, or an existing file that
    lies inside one of `runs` (the runs being read), inside a native run, or is
    named like a trainer's log/checkpoint. Returns `path`.
    """
    p = Path(path)
    if p.is_dir():
        raise GanAnalyzeError(f"{p}: is a directory; give a file name for the output")
    if not (p.exists() or p.is_symlink()):
        return p
    target = p.resolve()
    owner = next((Path(r) for r in runs if is_inside(root_of(r), target)), None)
    owner = owner or _native_root(target.parent)
    if owner is not None or _RUN_FILE_RE.match(target.name):
        of = f" of the run {owner}" if owner is not None else " of a training run"
        raise GanAnalyzeError(
            f"{p}: is a file{of}; refusing to overwrite it (choose another output path)"
        )
    return p


def check_replaceable(dest: str | Path, keep: Iterable[str | Path] = ()) -> None:
    """Refuse `--overwrite` of `dest` unless it is a native run directory holding only
    a native run's entries and none of `keep` (the source run being read)."""
    d = Path(dest)
    if d.is_symlink() or not d.is_dir():
        raise GanAnalyzeError(
            f"{d}: exists and is not a gananalyze run directory; --overwrite only replaces one"
        )
    if not (d / "run.json").is_file():
        raise GanAnalyzeError(
            f"{d}: is not a gananalyze run (no run.json); --overwrite only replaces a run"
        )
    others = sorted(e.name for e in d.iterdir() if e.name not in NATIVE_ENTRIES)
    if others:
        raise GanAnalyzeError(
            f"{d}: holds files that are not part of a gananalyze run ({', '.join(others[:3])}"
            f"{', ...' if len(others) > 3 else ''}); --overwrite will not delete them"
        )
    rd = d.resolve()
    for k in keep:
        kr = Path(k).resolve()
        if kr == rd or rd in kr.parents or kr in rd.parents:
            raise GanAnalyzeError(
                f"{d}: contains or is the source run {k}; choose another destination"
            )
