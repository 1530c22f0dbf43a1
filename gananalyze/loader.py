"""`load_run`: read any run directory (native or a trainer's own files) into a Run.

The native format is tried first, then every importer in
`gananalyze.importers.REGISTRY`, in order. `import_run` is `load_run` then
`runio.convert.save_run` (`gananalyze import`). A run given as a URL (s3://, gs://, any
fsspec URL) is fetched by `remote.fetch` (only what the readers read) and then read
here like a local one, roles and map file included; the run keeps its URL
(`run.url`) and what was fetched (`run.fetched`).
"""

from __future__ import annotations

from pathlib import Path

from . import remote
from .errors import GanAnalyzeError
from .files.runfiles import unreadable_logs
from .run import Run
from .runio import store
from .runio.convert import save_run


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
    if remote.is_url(path):  # s3://, gs://, ...: what the readers read, fetched (remote.py)
        url = str(path)
        fetch_warnings: list[str] = []
        local, fetched = remote.fetch(url, fetch_warnings)
        run = _load_local(local, format, roles, shown=url.rstrip("/"))
        run.warnings[:0] = fetch_warnings
        run.url = url
        run.fetched = fetched.to_dict()
        return run
    return _load_local(Path(path), format, roles)


def _load_local(p: Path, format: str | None, roles: dict[str, str] | None, shown: str = "") -> Run:
    """load_run for a local path; `shown`: the URL the run was fetched from, if any."""
    from .importers import REGISTRY

    if not p.exists():
        raise GanAnalyzeError(f"{p}: no such file or directory")
    if format is not None and format not in formats():
        raise GanAnalyzeError(f"unknown format {format!r}; known formats: {', '.join(formats())}")
    if format is None:
        format = detect_format(p)
        if format is None:
            what = "directory" if p.is_dir() else "file"
            why = unreadable_logs(p)
            raise GanAnalyzeError(
                f"{p}: not a training run: no format recognised this {what} "
                f"(tried: {', '.join(formats())})" + (f"; {'; '.join(why)}" if why else "")
            )
    if format == "native":
        if not p.is_dir():
            raise GanAnalyzeError(f"{p}: a native run is a directory")
        run = store.load_native(p)
    else:
        run = REGISTRY[format].load(p)
    return _with_roles(run, p, roles, shown)


def _with_roles(run: Run, p: Path, roles: dict[str, str] | None, shown: str = "") -> Run:
    """Record the map file's and --map's roles on `run`; say which roles are ambiguous."""
    from .naming import roles as rl
    from .naming.rolemap import read_map_file

    base = p if p.is_dir() else p.parent
    from_file = read_map_file(base, run.warnings)
    if from_file:
        where = f"{shown}/{rl.MAP_FILE}" if shown and p.is_dir() else str(base / rl.MAP_FILE)
        rl.set_map(run, from_file, where)
    if roles:
        rl.set_map(run, roles, "--map")
    for w in rl.ambiguity_warnings(rl.run_roles(run)):
        if w not in run.warnings:
            run.warnings.append(w)
    return run


def import_run(
    src: str | Path, dest: str | Path, format: str | None = None, overwrite: bool = False
) -> tuple[Run, Path]:
    """Load `src` (any format, or a URL) and save it as a native run at `dest`
    (`gananalyze import`)."""
    run = load_run(src, format=format)
    return run, save_run(run, dest, overwrite=overwrite)
