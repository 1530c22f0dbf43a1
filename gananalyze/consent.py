"""Consent to run code a run names: generator modules and trainer pickles.

A run folder is untrusted input, and two things in it can run code when they
are loaded: run.json's generator spec (`generator.target` is imported, with
`generator.pythonpath` put on sys.path, and called with `kwargs`) and the
trainer pickles an imported run lists (StyleGAN's network-snapshot-*.pkl).
Neither is loaded without the user's explicit consent, given one of two ways:

- per command: `--trust-code` (`--trust-pickles` is its old name), or
- once per run: `gananalyze allow RUN`, stored outside the run in
  $XDG_CONFIG_HOME/gananalyze/allowed.json (~/.config/gananalyze/ when unset),
  keyed by the run's resolved path and a fingerprint of what it would run: the
  generator spec, every .py file under a pythonpath entry inside the run, and
  each listed pickle's path, size and modification time. When any of them
  changes the fingerprint changes and the allow lapses.

gananalyze's own generators (BUILTIN_TARGETS) are part of the installed
package, not of the run, and need no consent when no pythonpath comes with them.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from .errors import GanAnalyzeError
from .run import Run

BUILTIN_TARGETS = ("gananalyze.digits:Generator", "gananalyze.toyring:Generator")
FLAG = "--trust-code"
MAX_CODE_FILES = 2000


def store_path() -> Path:
    """Where allows are kept: $XDG_CONFIG_HOME/gananalyze/allowed.json."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "gananalyze" / "allowed.json"


def _key(run: Run) -> str:
    return str(Path(run.path).resolve())


def _pickles(run: Run) -> list[Path]:
    from .metrics.checkpoints import pickled_checkpoints

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


def _code_files(run: Run, spec: dict[str, Any]) -> list[Path]:
    """The .py files inside the run under its pythonpath entries (what an import would read)."""
    from .files.runfiles import is_inside

    root = Path(run.path).resolve()
    pp = spec.get("pythonpath") or []
    # the run's own top-level modules too: `python -m gananalyze` run from inside the run
    # puts the current folder on sys.path
    files: list[Path] = [f for f in sorted(root.glob("*.py")) if is_inside(root, f)]
    for entry in pp if isinstance(pp, list) else [pp]:
        d = Path(str(entry))
        d = d if d.is_absolute() else root / d
        if not is_inside(root, d) or not d.is_dir():
            continue
        for f in sorted(d.rglob("*.py")):
            if len(files) >= MAX_CODE_FILES:
                break
            if f not in files:
                files.append(f)
    return files


def fingerprint(run: Run) -> str:
    """A hash of everything the run would run: spec, code files inside it, pickles."""
    h = hashlib.sha256()
    spec = code_spec(run)
    h.update(json.dumps(spec, sort_keys=True, default=str).encode())
    for f in _code_files(run, spec) if spec else []:
        h.update(str(f).encode())
        try:
            h.update(hashlib.sha256(f.read_bytes()).digest())
        except OSError:
            h.update(b"unreadable")
    for p in _pickles(run):
        try:
            st = p.stat()
            h.update(f"{p}:{st.st_size}:{st.st_mtime_ns}".encode())
        except OSError:
            h.update(f"{p}:missing".encode())
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
    except GanAnalyzeError:
        return False
    return isinstance(rec, dict) and rec.get("fingerprint") == fingerprint(run)


def granted(run: Run, trust: bool = False) -> bool:
    """True when the run's code may be loaded: nothing to consent to, the flag, or an allow."""
    return trust or not needs(run) or is_allowed(run)


def allow(run: Run) -> list[str]:
    """Record consent for the run as it is now; returns what was allowed (empty: nothing)."""
    what = needs(run)
    if not what:
        return []
    data = _read_store()
    data["runs"][_key(run)] = {
        "fingerprint": fingerprint(run),
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
    lapsed = " (an earlier allow lapsed: the spec or its code changed)" if _was_allowed(run) else ""
    return (
        f"{run.path}: {doing} skipped: run.json names {what}, and loading it runs that code "
        f"with your rights{lapsed}; if you trust this run, allow it once with `gananalyze allow "
        f"{run.path}` or pass {FLAG}"
    )


def _was_allowed(run: Run) -> bool:
    try:
        return _key(run) in _read_store()["runs"]
    except GanAnalyzeError:
        return False


def require(run: Run, trust: bool, doing: str) -> None:
    """Raise the refusal unless the run's code may be loaded."""
    if not granted(run, trust):
        raise GanAnalyzeError(refusal(run, doing))
