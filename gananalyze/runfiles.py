"""Reading files inside a run folder without leaving it.

A run folder is untrusted input: a file in it may be a symlink to
`/etc/passwd` or to another user's data. Every importer and the native store
discover files through these helpers, which keep only files that resolve
inside the run's root and say, in one warning each, what was left out.
A path the user named explicitly on the command line is theirs to read;
these checks apply to what is found *inside* it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


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


def keep_inside(root: str | Path, paths: Iterable[str | Path], warnings: list[str] | None = None) -> list[Path]:
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
