"""Consent to run code a run names: generator modules and trainer pickles.

A run folder is untrusted input, and two things in it can run code when they
are loaded: run.json's generator spec (`generator.target` is imported, with
`generator.pythonpath` put on sys.path, and called with `kwargs`) and the
trainer pickles an imported run lists (StyleGAN's network-snapshot-*.pkl).
Neither is loaded without the user's explicit consent, given one of two ways:

- per command: `--trust-code` (`--trust-pickles` is its old name), or
- once per run: `gananalyze allow RUN [--code-path DIR ...]`, stored outside the
  run in $XDG_CONFIG_HOME/gananalyze/allowed.json (~/.config/gananalyze/ when
  unset), keyed by the run's resolved path and a fingerprint of every byte an
  import could run (`fingerprint`; the rule is stated in docs/consent.md):
  the generator spec; the content of EVERY file under each pythonpath entry,
  of any kind (.py, .pyc, __pycache__, .so, .zip, .pth, data), symlinks
  resolved, except what gananalyze itself writes into the run in formats that never
  run (its run.json, whose spec is fingerprinted on its own, and the metrics/ folder of
  fid-sweep's parquet parts and the t-SNE cache); and the content (SHA-256) of each
  listed pickle. When any byte changes the fingerprint changes and the allow lapses.

A stored allow is refused, never truncated, when what it would cover cannot be
hashed: a pythonpath entry or pickle outside the run that the user did not name
with `--code-path`, a link leading outside, a FIFO/device/socket, or a folder
holding more than MAX_CODE_FILES files or MAX_CODE_BYTES bytes.
Bytecode caches are never trusted: metrics.checkpoints imports run code with
`sys.pycache_prefix` pointed at a private folder, so a run's __pycache__ is
never read (a sourceless .pyc is hashed like any file).

gananalyze's own generators (BUILTIN_TARGETS) are part of the installed
package, not of the run, and need no consent when no pythonpath comes with them.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

from .errors import GanAnalyzeError
from .run import Run

BUILTIN_TARGETS = (
    "gananalyze.digits:Generator",
    "gananalyze.digits:ConditionalGenerator",
    "gananalyze.toyring:Generator",
    "gananalyze.toyring:ConditionalGenerator",
)
FLAG = "--trust-code"
CODE_PATH_FLAG = "--code-path"
# A pythonpath folder larger than this is refused (not hashed in part).
MAX_CODE_FILES = 10_000
MAX_CODE_BYTES = 512 * 1024 * 1024
_CHUNK = 1 << 20


def store_path() -> Path:
    """Where allows are kept: $XDG_CONFIG_HOME/gananalyze/allowed.json."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "gananalyze" / "allowed.json"


def _key(run: Run) -> str:
    return str(Path(run.path).resolve())


def _root(run: Run) -> Path:
    p = Path(run.path)
    return (p if p.is_dir() else p.parent).resolve()


def _pickles(run: Run) -> list[Path]:
    from .runio.store import pickled_checkpoints

    listed = [c.path for c in run.checkpoints if c.kind == "pickle"]
    listed += [c.path for c in pickled_checkpoints(run)]
    return sorted({Path(p) for p in listed})


def code_spec(run: Run) -> dict[str, Any] | None:
    """run.json's generator spec when importing it needs consent, else None."""
    spec = run.generator
    if not isinstance(spec, dict) or "target" not in spec:
        return None
    if spec.get("target") in BUILTIN_TARGETS and not spec.get("pythonpath"):
        return None
    return spec


def pythonpath(spec: dict[str, Any] | None) -> list[str]:
    """The spec's pythonpath entries, as written (a single string is one entry)."""
    pp = (spec or {}).get("pythonpath") or []
    return [str(e) for e in (pp if isinstance(pp, list) else [pp])]


def needs(run: Run) -> list[str]:
    """What loading this run's generator would run, in words (empty: nothing)."""
    out = []
    spec = code_spec(run)
    if spec is not None:
        pp = spec.get("pythonpath")
        where = f" with pythonpath {pp!r}" if pp else ""
        out.append(f"generator code {str(spec.get('target'))!r}{where}")
    n = len(_pickles(run))
    if n:
        out.append(f"{n} Python pickle(s)")
    return out


class _Refused(Exception):
    """What a stored allow cannot cover (one line)."""


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def _regular(path: Path, shown: str) -> os.stat_result:
    try:
        st = os.stat(path)
    except OSError as e:
        raise _Refused(f"{shown}: cannot be read ({e.strerror or e})") from None
    if not stat.S_ISREG(st.st_mode):
        raise _Refused(f"{shown}: not a regular file (a FIFO, device or socket); not opened")
    return st


def _walk(entry: Path, shown: str, roots: list[Path], skip: set[Path]) -> list[Path]:
    """Every file under `entry` (links followed, each resolved inside `roots`), sorted,
    less the resolved paths in `skip` (files, or folders with all they hold); refuses a link
    leading out, a non-regular file, or a folder over the bounds."""
    files: list[Path] = []
    size = 0
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(entry, followlinks=True):
        here = Path(dirpath).resolve()
        if here in skip:
            dirnames[:] = []
            continue
        if not _inside(here, roots):
            raise _Refused(f"{Path(dirpath)}: a link in pythonpath {shown!r} leads outside the run")
        st = os.stat(here)
        if (st.st_dev, st.st_ino) in seen:  # a link loop: seen already, nothing new
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames.sort()
        for name in sorted(filenames):
            f = Path(dirpath) / name
            real = f.resolve()
            if real in skip:
                continue
            if not _inside(real, roots):
                raise _Refused(f"{f}: a link in pythonpath {shown!r} leads outside the run")
            size += _regular(real, str(f)).st_size
            files.append(f)
            if len(files) > MAX_CODE_FILES or size > MAX_CODE_BYTES:
                raise _Refused(
                    f"{entry}: pythonpath {shown!r} is too large to hash for consent (more than "
                    f"{MAX_CODE_FILES:,} files or {MAX_CODE_BYTES >> 20} MiB); refused, not "
                    "allowed in part"
                )
    return files


def _entry(entry: str, root: Path) -> Path:
    """A pythonpath entry as a path: relative entries resolve against the run folder."""
    p = Path(entry)
    return p if p.is_absolute() else root / p


def _code_files(run: Run, spec: dict[str, Any], code_paths: list[str]) -> list[Path]:
    """Every file an import from the spec could load: all files under each pythonpath
    entry (a file entry such as lib.zip is itself). Raises _Refused."""
    from .runio.store import METRICS_DIR, RUN_JSON

    root = _root(run)
    named = [Path(c).resolve() for c in code_paths]
    # what gananalyze writes into the run, in formats that never run (run.json, whose spec is
    # fingerprinted itself; fid-sweep's parquet parts and the t-SNE cache in metrics/)
    skip = {(root / RUN_JSON).resolve(), (root / METRICS_DIR).resolve()}
    files: list[Path] = []
    for entry in pythonpath(spec):
        p = _entry(entry, root)
        real = p.resolve()
        if not _inside(real, [root, *named]):
            raise _Refused(
                f"pythonpath {entry!r} is outside the run ({real}); an allow covers it only "
                f"when you name it: `gananalyze allow {run.path} {CODE_PATH_FLAG} {real}`"
            )
        if not real.exists():
            continue  # nothing to import there; its appearing later changes the fingerprint
        if real.is_dir():
            files += _walk(p, entry, [root, *named], skip)
        else:
            _regular(real, entry)
            files.append(p)
    return files


def _pickle_files(run: Run, code_paths: list[str]) -> list[Path]:
    root = _root(run)
    roots = [root, *(Path(c).resolve() for c in code_paths)]
    out = []
    for p in _pickles(run):
        if not _inside(p.resolve(), roots):
            raise _Refused(
                f"{p}: pickle outside the run; an allow covers it only when you name its "
                f"folder: `gananalyze allow {run.path} {CODE_PATH_FLAG} {p.resolve().parent}`"
            )
        out.append(p)
    return out


def file_digest(path: Path) -> bytes:
    """SHA-256 of a file's content, streamed (a FIFO or device is never opened)."""
    _regular(path, str(path))
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.digest()


def fingerprint(run: Run, code_paths: list[str] | tuple[str, ...] = ()) -> str:
    """A hash of everything the run would run: the spec, the content of every file under
    its pythonpath, and each pickle's content. Raises GanAnalyzeError (one line) when
    that cannot be hashed whole."""
    h = hashlib.sha256()
    spec = code_spec(run)
    paths = sorted(str(Path(c).resolve()) for c in code_paths)
    h.update(json.dumps([spec, paths], sort_keys=True, default=str).encode())
    try:
        files = _code_files(run, spec, paths) if spec else []
        pickles = _pickle_files(run, paths)
        for f in files:
            h.update(f"file:{f}\0".encode())
            h.update(file_digest(f.resolve()))
        for p in pickles:
            h.update(f"pickle:{p}\0".encode())
            if p.exists():
                h.update(file_digest(p))
            else:
                h.update(b"missing")
    except _Refused as e:
        raise GanAnalyzeError(f"{run.path}: cannot allow: {e}") from None
    return h.hexdigest()


def _read_store() -> dict[str, Any]:
    p = store_path()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"runs": {}}
    except (OSError, ValueError) as e:
        raise GanAnalyzeError(f"{p}: cannot read the allowed runs ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("runs"), dict):
        raise GanAnalyzeError(f"{p}: not a gananalyze allow list")
    return data


def _write_store(data: dict[str, Any]) -> None:
    from .files.atomic import atomic_write_bytes

    p = store_path()
    try:
        atomic_write_bytes(p, json.dumps(data, indent=1, sort_keys=True).encode())
    except OSError as e:
        raise GanAnalyzeError(f"{p}: cannot write the allowed runs ({e.strerror or e})") from None


def is_allowed(run: Run) -> bool:
    """True when `gananalyze allow` was given for this run as it is now.

    An unreadable allow list allows nothing (`gananalyze allow` then names the problem).
    """
    try:
        rec = _read_store()["runs"].get(_key(run))
        if not isinstance(rec, dict):
            return False
        paths = rec.get("code_paths") if isinstance(rec.get("code_paths"), list) else []
        return rec.get("fingerprint") == fingerprint(run, [str(p) for p in paths])
    except GanAnalyzeError:
        return False


def granted(run: Run, trust: bool = False) -> bool:
    """True when the run's code may be loaded: nothing to consent to, the flag, or an allow."""
    return trust or not needs(run) or is_allowed(run)


def allow(run: Run, code_paths: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Record consent for the run as it is now; returns what was allowed (empty: nothing).

    `code_paths` are folders outside the run the user named on the command line
    (`--code-path`): a pythonpath entry or pickle there is covered, and hashed too.
    """
    what = needs(run)
    if not what:
        return []
    data = _read_store()
    paths = sorted(str(Path(c).resolve()) for c in code_paths)
    data["runs"][_key(run)] = {
        "fingerprint": fingerprint(run, paths),
        "code_paths": paths,
        "what": what,
        "allowed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _write_store(data)
    return what


def revoke(run: Run) -> bool:
    """Forget the allow for this run; True when there was one."""
    data = _read_store()
    if data["runs"].pop(_key(run), None) is None:
        return False
    _write_store(data)
    return True


def refusal(run: Run, doing: str) -> str:
    """The one line for a run whose code was not loaded: what was skipped and how to allow it."""
    what = " and ".join(needs(run)) or "code"
    lapsed = _lapse(run)
    outside = "".join(f" {CODE_PATH_FLAG} {p}" for p in _outside(run))
    return (
        f"{run.path}: {doing} skipped: run.json names {what}, and loading it runs that code "
        f"with your rights{lapsed}; if you trust this run, allow it once with `gananalyze allow "
        f"{run.path}{outside}` or pass {FLAG}"
    )


def _outside(run: Run) -> list[Path]:
    """The pythonpath folders outside the run, which an allow must name (`--code-path`)."""
    spec = code_spec(run)
    if not spec:
        return []
    root = _root(run)
    out = []
    for entry in pythonpath(spec):
        real = _entry(entry, root).resolve()
        if not _inside(real, [root]) and real not in out:
            out.append(real)
    return out


def _lapse(run: Run) -> str:
    """Why an earlier allow no longer holds, in words ("" when there was none)."""
    try:
        rec = _read_store()["runs"].get(_key(run))
    except GanAnalyzeError:
        return ""
    if not isinstance(rec, dict):
        return ""
    paths = rec.get("code_paths") if isinstance(rec.get("code_paths"), list) else []
    try:
        fingerprint(run, [str(p) for p in paths])
    except GanAnalyzeError as e:
        return f" (an earlier allow lapsed: {str(e).split(': cannot allow: ', 1)[-1]})"
    return " (an earlier allow lapsed: the spec, a file under its pythonpath or a pickle changed)"


def require(run: Run, trust: bool, doing: str) -> None:
    """Raise the refusal unless the run's code may be loaded."""
    if not granted(run, trust):
        raise GanAnalyzeError(refusal(run, doing))
