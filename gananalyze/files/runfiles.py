"""Reading files inside a run folder without leaving it.

A run folder is untrusted input: a file in it may be a symlink to
`/etc/passwd` or to another user's data. Every importer and the native store
discover files through these helpers, which keep only files that resolve
inside the run's root and say, in one warning each, what was left out.
A path the user named explicitly on the command line is theirs to read;
these checks apply to what is found *inside* it.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import GanAnalyzeError
from .bounded import TooCostly, load_yaml, loads_json


def root_of(path: str | Path) -> Path:
    """The folder a run's files must stay inside: the run directory itself,
    or the folder holding a single run file."""
    p = Path(path)
    return (p if p.is_dir() else p.parent).resolve()


def is_inside(root: str | Path, path: str | Path) -> bool:
    """True when `path`, with every symlink resolved, lies inside `root`."""
    return _resolves_inside(Path(root).resolve(), Path(path))


def outside_warning(root: str | Path, path: str | Path) -> str:
    """The one-line warning for a file that is not read because it leaves the run."""
    return f"{_shown(root, path)}: not read: it is a link that resolves outside the run folder"


def _shown(root: str | Path, path: str | Path) -> Path:
    """`path` as a warning names it: relative to the run folder when it lies below it."""
    p = Path(path)
    try:
        return p.relative_to(root)
    except ValueError:
        return p


def keep_inside(
    root: str | Path, paths: Iterable[str | Path], warnings: list[str] | None = None
) -> list[Path]:
    """The paths that resolve inside `root` and are folders or regular files, in order;
    one warning per path left out (a FIFO, device or socket is never opened: reading a
    FIFO blocks until something writes to it)."""
    kept = []
    r = Path(root).resolve()
    parents: dict[Path, bool] = {}  # folder -> whether it resolves inside (a listing shares one)
    for p in paths:
        p = Path(p)
        try:
            mode = p.lstat().st_mode
        except OSError:
            mode = None
        if mode is not None and not stat.S_ISLNK(mode):
            # not a link: inside exactly when its folder is, resolved once per folder
            if p.parent not in parents:
                parents[p.parent] = _resolves_inside(r, p.parent)
            inside = parents[p.parent]
            openable = stat.S_ISDIR(mode) or stat.S_ISREG(mode)
        else:
            inside = _resolves_inside(r, p)
            openable = not inside or _openable(p)
        if not inside:
            if warnings is not None:
                warnings.append(outside_warning(root, p))
        elif not openable:
            if warnings is not None:
                warnings.append(special_warning(root, p))
        else:
            kept.append(p)
    return kept


def _resolves_inside(r: Path, path: Path) -> bool:
    """is_inside with the root already resolved."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return False
    return resolved == r or r in resolved.parents


def _openable(p: str | Path) -> bool:
    """A folder, a regular file, or nothing there (the caller's own check says so)."""
    try:
        mode = Path(p).stat().st_mode
    except OSError:
        return True
    return stat.S_ISDIR(mode) or stat.S_ISREG(mode)


def special_warning(root: str | Path, path: str | Path) -> str:
    """The one-line warning for a FIFO, device or socket in a run: never opened."""
    return f"{_shown(root, path)}: not read: not a regular file (a FIFO, device or socket)"


_LOG_SUFFIXES = {".csv", ".tsv", ".json", ".jsonl", ".txt", ".log", ".out", ".db", ".yaml"}


def unreadable_logs(path: str | Path, limit: int = 5) -> list[str]:
    """Why the files of `path` (a folder's top level, or the file itself) that look like logs
    (LOG_SUFFIXES, event files) could not be read, one phrase each, at most `limit`: empty,
    a link leaving the run, not a regular file, a `.db` that is not SQLite. What a "not a
    training run" error adds, so the user hears about the file, not only the folder."""
    p = Path(path)
    root = root_of(p)
    files = [p] if not p.is_dir() else sorted(p.iterdir())[:10_000]
    out = []
    for f in files:
        if f.suffix.lower() not in _LOG_SUFFIXES and "tfevents" not in f.name:
            continue
        if f.is_symlink() and not is_inside(root, f):
            out.append(f"{f.name} is a link that resolves outside the run folder")
        elif not _openable(f) or (f.exists() and not f.is_file()):
            out.append(f"{f.name} is not a regular file")
        elif f.is_file() and f.stat().st_size == 0:
            out.append(f"{f.name} is empty (0 bytes)")
        elif f.suffix.lower() == ".db" and f.is_file():
            with open(f, "rb") as fh:
                if fh.read(16) != b"SQLite format 3\x00":
                    out.append(f"{f.name} is not an SQLite database")
        if len(out) >= limit:
            break
    return out


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


def read_file_index(
    root: str | Path,
    index: Path,
    parse: Callable[[Any], tuple[str, Any]],
    warnings: list[str],
    damaged: list[tuple[str, str]] | None,
    what: str,
) -> dict[str, Any]:
    """A JSON-lines index in the run that describes the run's files (a native run's samples):
    file name -> `parse(record)`'s value, `parse` returning (file name, value) or raising
    KeyError / TypeError / ValueError for a record of the wrong shape. Each unreadable line is
    skipped with a warning (the first ten, then one line counting the rest) and recorded in
    `damaged` as `what`. No index, or one leading outside the run: {} (with its warning)."""
    out: dict[str, Any] = {}
    p = checked(root, index, warnings)
    if p is None:
        return out
    bad = []
    for i, line in enumerate(p.read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            name, value = parse(loads_json(line))
            out[name] = value
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            bad.append(f"{p}:{i}: unreadable line skipped ({e})")
            if damaged is not None:
                damaged.append((f"{p}:{i}", what))
    warnings.extend(bad[:10])
    if len(bad) > 10:
        warnings.append(f"... and {len(bad) - 10} more unreadable lines in {p}")
    return out


class FolderIndex(NamedTuple):
    """How a native run describes a folder of its files: the JSON-lines index file's name,
    the files' glob pattern, `parse` (see read_file_index) and the damage label of a bad line."""

    name: str
    pattern: str
    parse: Callable[[Any], tuple[str, Any]]
    what: str


def indexed_folder(
    root: str | Path,
    folder: Path,
    index: FolderIndex,
    warnings: list[str],
    damaged: list[tuple[str, str]] | None,
) -> tuple[dict[str, Any], list[Path]]:
    """A folder of a native run's files (samples, vector samples) read through its index:
    (the index by read_file_index, the files matching the pattern sorted and kept inside
    `root`). No folder: ({}, [])."""
    if not folder.is_dir():
        return {}, []
    found = read_file_index(root, folder / index.name, index.parse, warnings, damaged, index.what)
    return found, keep_inside(root, sorted(folder.glob(index.pattern)), warnings)


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


def yaml_mapping(root: str | Path, path: str | Path, warnings: list[str], unread: str) -> dict:
    """The YAML mapping in a run's config file (a Lightning `hparams.yaml`, a Hydra job's
    `.hydra/config.yaml`): only inside `root` (`checked`), within the YAML bounds
    (`load_yaml`: no aliases bomb, no tags that build objects); {} when it is absent, and {}
    with one warning ending in `unread` when it cannot be read."""
    p = checked(root, path, warnings)
    if p is None:
        return {}
    import yaml

    try:
        loaded = load_yaml(p.read_text(errors="replace"), p)
    except TooCostly as e:
        warnings.append(f"{e}; {unread}")
        return {}
    except yaml.YAMLError as e:
        warnings.append(f"{p}: not readable as plain YAML ({str(e).splitlines()[0]}); {unread}")
        return {}
    return loaded if isinstance(loaded, dict) else {}
