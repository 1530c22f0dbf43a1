"""Runs kept on object storage: `s3://`, `gs://` and any other fsspec URL.

Every command accepts a URL where it accepts a run directory. The run's objects
(everything under the URL's prefix, nothing else) are copied through fsspec into
a private local directory that lives as long as the process, and the run is then
read from there by the ordinary readers (native store and importers alike), so
the same `runfiles` checks apply to it. Output always stays local.

Why a copy rather than reading in place: the importers and the native store read
files by path, checkpoints and sample grids are read lazily by path, and the
untrusted-input rules (`runfiles.keep_inside`) are defined on local paths. A
copy keeps one code path for every format. Object names that would land outside
the copy (absolute, `..`) are skipped with a warning on the run.

Credentials and endpoints come from the usual places of each backend (for S3:
`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL`, ~/.aws), or
from fsspec's `FSSPEC_<PROTOCOL>_<OPTION>` environment variables.
"""

from __future__ import annotations

import atexit
import hashlib
import posixpath
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .errors import GanAnalyzeError, MissingExtra
from .extras import URL_EXTRAS, install_hint

_URL_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
_cache: Path | None = None


def is_url(s: str | Path) -> bool:
    """True for `proto://...` (except `file://`, which is a local path)."""
    if isinstance(s, Path):
        return False
    m = _URL_RE.match(s)
    return bool(m) and m.group(1).lower() != "file"


def base_name(url: str) -> str:
    """The last path segment of a URL (`s3://b/sweep/run-1/` -> `run-1`)."""
    return posixpath.basename(url.rstrip("/")) or url


def _fs(url: str) -> tuple[Any, str]:
    proto = _URL_RE.match(url).group(1) if _URL_RE.match(url) else "?"
    extra = URL_EXTRAS.get(proto.lower(), "s3")
    try:
        import fsspec
    except ImportError:
        raise MissingExtra(
            f"{url}: reading {proto}:// URLs needs fsspec, which is not installed: "
            f"{install_hint(extra)}",
            extra=extra,
        ) from None
    try:
        fs, path = fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as e:
        if isinstance(e, ImportError) and proto.lower() in URL_EXTRAS:
            raise MissingExtra(
                f"{url}: reading {proto}:// URLs needs the {extra} extra: {install_hint(extra)}",
                extra=extra,
            ) from None
        raise GanAnalyzeError(
            f"{url}: no filesystem for {proto}:// ({type(e).__name__}: {e})"
        ) from None
    return fs, path


def cache_root() -> Path:
    """This process's private directory of fetched runs (removed when the process ends).

    Created on first use; call it before forking workers so that they share it.
    """
    global _cache
    if _cache is None or not _cache.is_dir():
        _cache = Path(tempfile.mkdtemp(prefix="gananalyze-remote-"))
        atexit.register(shutil.rmtree, _cache, True)
    return _cache


def _unwrap(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}".splitlines()[0][:300]


def expand(pattern: str) -> list[str]:
    """The run URLs a URL stands for: a glob (`s3://b/sweep/*`) -> matching prefixes, sorted."""
    fs, path = _fs(pattern)
    proto = _URL_RE.match(pattern).group(0)
    try:
        hits = fs.glob(path, detail=True)
    except OSError as e:
        raise GanAnalyzeError(f"{pattern}: cannot list ({_unwrap(e)})") from None
    return sorted(
        proto + (k if not k.startswith(proto) else k[len(proto) :])
        for k, info in hits.items()
        if info.get("type") == "directory"
    )


def fetch(url: str, warnings: list[str] | None = None) -> Path:
    """Copy the run at `url` into the local cache; returns the local run path.

    A URL naming one object (a CSV log, an event file) is copied as that file.
    Raises GanAnalyzeError (one line naming the URL) when nothing is there or the
    store cannot be reached.
    """
    fs, path = _fs(url)
    path = path.rstrip("/")
    try:
        if fs.isfile(path):
            found = {path: fs.info(path)}
        else:
            found = fs.find(path, detail=True)
    except (OSError, ValueError) as e:
        raise GanAnalyzeError(f"{url}: cannot read ({_unwrap(e)})") from None
    except Exception as e:  # botocore's errors do not derive from OSError
        raise GanAnalyzeError(f"{url}: cannot read ({_unwrap(e)})") from None
    if not found:
        raise GanAnalyzeError(f"{url}: no such file or directory")
    digest = hashlib.sha1(url.encode()).hexdigest()[:12]
    dest_root = cache_root() / digest
    local = dest_root / base_name(url)
    if local.exists():
        return local
    single = list(found) == [path] and found[path].get("type") != "directory"
    tmp = dest_root / (".part-" + base_name(url))
    shutil.rmtree(tmp, ignore_errors=True)
    for key, info in found.items():
        if info.get("type") == "directory":
            continue
        rel = base_name(key) if single else posixpath.relpath(key, path)
        parts = rel.split("/")
        if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
            if warnings is not None:
                warnings.append(f"{url}: object {key!r} lies outside the run; not fetched")
            continue
        target = tmp.joinpath(*parts) if not single else tmp
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            fs.get_file(key, str(target))
        except Exception as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise GanAnalyzeError(f"{url}: cannot fetch {key} ({_unwrap(e)})") from None
    if not tmp.exists():
        raise GanAnalyzeError(f"{url}: no readable object under this prefix")
    tmp.rename(local)
    return local


def load_url(url: str, format: str | None = None) -> Any:
    """`loader.load_run` for a URL: fetch, load the local copy, remember the URL.

    The run keeps its URL in `run.url` (shown instead of the local copy's path).
    """
    from .loader import load_run

    warnings: list[str] = []
    run = load_run(fetch(url, warnings), format=format)
    run.warnings[:0] = warnings
    run.url = url
    return run
