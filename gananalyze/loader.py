"""`load_run`: read any run directory (native or a trainer's own files) into a Run.

The native format is tried first, then every importer in
`gananalyze.importers.REGISTRY`, in order.
"""

from __future__ import annotations

from pathlib import Path

from . import remote
from .errors import GanAnalyzeError
from .run import Run
from .runio import store


def formats() -> list[str]:
    """Every format name load_run understands, in the order they are tried."""
    from .importers import REGISTRY

    return ["native", *REGISTRY]


def detect_format(path: str | Path) -> str | None:
    """The name of the first format that recognises `path`, or None."""
    from .importers import REGISTRY

    p = Path(path)
    if store.is_native_run(p):
        return "native"
    for name, mod in REGISTRY.items():
        try:
            if mod.detect(p):
                return name
        except OSError:
            continue
    return None


def load_run(
    path: str | Path, format: str | None = None, roles: dict[str, str] | None = None
) -> Run:
    """Load the run at `path`; `format` forces one format (see `formats()`).

    roles: role -> column (`--map G_loss=lossG_total`, see `roles.parse_map`), over the
    `gananalyze.yaml` map file beside the run, which is always read. A role two columns fit
    equally well is left unset and said in `run.warnings`.

    Raises GanAnalyzeError with one plain message when the path is missing or
    nothing recognises it. Problems inside a readable run (a corrupt part,
    duplicate steps, garbage lines) become `run.warnings`, not errors.
    """
    from .importers import REGISTRY

    if remote.is_url(path):  # s3://, gs://, ...: fetched into a local copy (remote.py)
        return remote.load_url(str(path), format=format)
    p = Path(path)
    if not p.exists():
        raise GanAnalyzeError(f"{p}: no such file or directory")
    if format is not None and format not in formats():
        raise GanAnalyzeError(f"unknown format {format!r}; known formats: {', '.join(formats())}")
    if format is None:
        format = detect_format(p)
        if format is None:
            what = "directory" if p.is_dir() else "file"
            raise GanAnalyzeError(
                f"{p}: not a training run: no format recognised this {what} "
                f"(tried: {', '.join(formats())})"
            )
    if format == "native":
        if not p.is_dir():
            raise GanAnalyzeError(f"{p}: a native run is a directory")
        run = store.load_native(p)
    else:
        run = REGISTRY[format].load(p)
    return _with_roles(run, p, roles)


def _with_roles(run: Run, p: Path, roles: dict[str, str] | None) -> Run:
    """Record the map file's and --map's roles on `run`; say which roles are ambiguous."""
    from .naming import roles as rl

    base = p if p.is_dir() else p.parent
    from_file = rl.read_map_file(base, run.warnings)
    if from_file:
        rl.set_map(run, from_file, str(base / rl.MAP_FILE))
    if roles:
        rl.set_map(run, roles, "--map")
    for w in rl.ambiguity_warnings(rl.run_roles(run)):
        if w not in run.warnings:
            run.warnings.append(w)
    return run
