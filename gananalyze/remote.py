"""Runs kept on object storage: `s3://`, `gs://` and any other fsspec URL; what is fetched.

Every command accepts a URL where it accepts a run directory (`loader.load_run` owns URL
runs). This module lists the objects under the URL's prefix once and fetches only what
the readers read: the scalars' Parquet parts, the sample metrics, grids, logs and the
other small files, into a private local directory that lives as long as the process.
The ordinary readers (native store and importers alike) then read them there, so the
same `runfiles` checks apply. Output always stays local.

Checkpoints and pickles (`LAZY_SUFFIXES`) are not fetched with the run: each is an empty
placeholder with the object's name, so the readers still list them, and its bytes come
only when a command opens it (`materialized`: fid-sweep, the generator t-SNE), one at a
time, and are dropped again after use, unless a cache directory was asked for
(`configure(cache=...)`, the CLI's `--remote-cache DIR`), where they stay and are reused
while the object's size and ETag are unchanged.

Bounds (`Limits`, raised with `--fetch-max-mb` / `--fetch-max-objects`): the bytes and the
objects fetched with one run, at most FETCH_THREADS requests of it in flight at once.
Objects are fetched smallest first; one that would pass a bound is not fetched, with a
warning naming it and the bound. Object names that would land outside the run's directory
(absolute, `..`) are skipped with a warning.

`TOTAL` counts what this process fetched (bytes, objects); `--debug` prints it, and each
fetched run records its own count (`Fetched`) for `info`.

Credentials and endpoints come from the usual places of each backend (for S3:
`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL`, ~/.aws), or
from fsspec's `FSSPEC_<PROTOCOL>_<OPTION>` environment variables.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import posixpath
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .errors import GanAnalyzeError, MissingExtra
from .extras import URL_EXTRAS, install_hint

_URL_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
# fetched only when a command opens them (model weights and Python pickles)
LAZY_SUFFIXES = (".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".safetensors", ".bin", ".h5")
FETCH_THREADS = 8  # requests in flight at once while one run's objects are fetched
MANIFEST = ".gananalyze-fetched.json"  # in a persistent cache: what each local file holds


@dataclass
class Limits:
    """What one run may fetch eagerly: bytes and objects (checkpoints are not counted)."""

    max_bytes: int = 256 << 20
    max_objects: int = 10_000


@dataclass
class Fetched:
    """Bytes and objects fetched, and the checkpoint/pickle objects left in place."""

    bytes: int = 0
    objects: int = 0
    left_objects: int = 0
    left_bytes: int = 0

    def add(self, other: Fetched) -> None:
        for k, v in asdict(other).items():
            setattr(self, k, getattr(self, k) + v)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


LIMITS = Limits()
TOTAL = Fetched()  # everything this process fetched
_cache: Path | None = None
_persistent = False
_lazy: dict[str, tuple[Any, str, int, str]] = {}  # local path -> (fs, key, size, etag)
_runs: dict[str, Fetched] = {}  # local run path -> what fetching it took


def configure(
    max_mb: float | None = None, max_objects: int | None = None, cache: str | None = None
) -> None:
    """Set the fetch bounds (None: the default) and, optionally, a persistent cache
    directory (kept after exit)."""
    global _cache, _persistent
    LIMITS.max_bytes = Limits.max_bytes if max_mb is None else int(max_mb * (1 << 20))
    LIMITS.max_objects = Limits.max_objects if max_objects is None else int(max_objects)
    if cache is not None:
        _cache = Path(cache).expanduser()
        _cache.mkdir(parents=True, exist_ok=True)
        _persistent = True


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
    arrow = _arrow_s3(url, proto)
    if arrow is not None:
        return arrow
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


def _arrow_s3(url: str, proto: str) -> tuple[Any, str] | None:
    """An s3:// URL's filesystem through pyarrow's own S3 client (C++), behind fsspec's API;
    None where fsspec's s3fs must serve it.

    Importing s3fs (aiobotocore, aiohttp) costs more than reading a run's scalars, so S3 goes
    through pyarrow, which is loaded anyway. Credentials come from the same AWS chain
    (environment, ~/.aws, instance roles), the endpoint from AWS_ENDPOINT_URL_S3 or
    AWS_ENDPOINT_URL, the region from AWS_REGION or AWS_DEFAULT_REGION. s3fs stays in use when
    fsspec's own S3 options are set (FSSPEC_S3_...) or pyarrow was built without S3.
    """
    if proto.lower() not in ("s3", "s3a") or any(k.startswith("FSSPEC_S3") for k in os.environ):
        return None
    try:
        from fsspec.implementations.arrow import ArrowFSWrapper
        from pyarrow.fs import S3FileSystem
    except ImportError:
        return None
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    try:
        fs = S3FileSystem(endpoint_override=endpoint or None, region=region or None)
    except Exception as e:  # no usable configuration: one line naming the URL
        raise GanAnalyzeError(f"{url}: cannot read ({_unwrap(e)})") from None
    return ArrowFSWrapper(fs), url.split("://", 1)[1]


def cache_root() -> Path:
    """This process's directory of fetched runs (removed when the process ends, unless it
    is the persistent cache of `configure`).

    Created on first use; call it before forking workers so that they share it.
    """
    global _cache
    if _cache is None or not _cache.is_dir():
        _cache = Path(tempfile.mkdtemp(prefix="gananalyze-remote-"))
        atexit.register(shutil.rmtree, _cache, True)
    return _cache


def _unwrap(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}".splitlines()[0][:300]


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB"


def expand(pattern: str) -> list[str]:
    """The run URLs a URL stands for: a glob (`s3://b/sweep/*`) -> matching prefixes, sorted.

    A matched key that is not a plain name (`sweep/../x`, an empty segment) names no run
    below the pattern's prefix and is left out.
    """
    fs, path = _fs(pattern)
    proto = _URL_RE.match(pattern).group(0)
    try:
        hits = fs.glob(path, detail=True)
    except OSError as e:
        raise GanAnalyzeError(f"{pattern}: cannot list ({_unwrap(e)})") from None
    out = []
    for k, info in hits.items():
        if info.get("type") != "directory":
            continue
        key = k[len(proto) :] if k.startswith(proto) else k
        if any(p in ("", ".", "..") for p in key.rstrip("/").split("/")):
            continue
        out.append(proto + key)
    return sorted(out)


def _etag(info: dict[str, Any]) -> str:
    return str(info.get("ETag") or info.get("etag") or info.get("md5Hash") or info.get("mtime"))


def _list(url: str, fs: Any, path: str) -> dict[str, dict[str, Any]]:
    try:  # one listing request; a URL naming one object lists nothing below itself
        found = fs.find(path, detail=True)
        if not found and fs.isfile(path):
            found = {path: fs.info(path)}
        return found
    except Exception as e:  # botocore's errors do not derive from OSError
        raise GanAnalyzeError(f"{url}: cannot read ({_unwrap(e)})") from None


def fetch(url: str, warnings: list[str] | None = None) -> tuple[Path, Fetched]:
    """Fetch what the readers of the run at `url` read; returns (local run path, counts).

    A URL naming one object (a CSV log, an event file) is fetched as that file.
    Raises GanAnalyzeError (one line naming the URL) when nothing is there or the
    store cannot be reached.
    """
    warnings = warnings if warnings is not None else []
    fs, path = _fs(url)
    path = path.rstrip("/")
    found = _list(url, fs, path)
    if not found:
        raise GanAnalyzeError(f"{url}: no such file or directory")
    # one copy per URL, and per bounds in a temporary cache (a raised bound fetches more)
    key = url.rstrip("/") + ("" if _persistent else f" {LIMITS.max_bytes} {LIMITS.max_objects}")
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    dest_root = cache_root() / digest
    local = dest_root / base_name(url)
    got = Fetched()
    if local.exists() and not _persistent and str(local) in _runs:
        return local, _runs[str(local)]  # fetched earlier in this process
    single = list(found) == [path] and found[path].get("type") != "directory"
    manifest_path = dest_root / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text()) if _persistent else {}
    except (OSError, ValueError):
        manifest = {}
    eager: list[tuple[str, Path, int, str]] = []
    for key, info in found.items():
        if info.get("type") == "directory":
            continue
        rel = base_name(key) if single else posixpath.relpath(key, path)
        parts = rel.split("/")
        if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
            warnings.append(f"{url}: object {key!r} lies outside the run; not fetched")
            continue
        target = local if single else local.joinpath(*parts)
        size, tag = int(info.get("size") or 0), _etag(info)
        if not single and target.name.lower().endswith(LAZY_SUFFIXES):
            target.parent.mkdir(parents=True, exist_ok=True)
            cached = manifest.get(rel) == tag and target.is_file()
            if not cached or target.stat().st_size != size:
                target.write_bytes(b"")  # a placeholder: listed by the readers, fetched on use
                manifest.pop(rel, None)
            _lazy[str(target)] = (fs, key, size, tag)
            got.left_objects += 1
            got.left_bytes += size
            continue
        if _persistent and manifest.get(rel) == tag and target.is_file():
            continue  # cached and unchanged
        eager.append((key, target, size, tag))
    eager.sort(key=lambda e: (e[2], e[0]))  # smallest first: the bounds cut the largest
    todo: list[tuple[str, Path, int, str]] = []
    for i, (key, target, size, tag) in enumerate(eager):
        if i >= LIMITS.max_objects:
            warnings.append(
                f"{url}: {len(eager) - i} object(s) from {key!r} on not fetched: over the bound "
                f"of {LIMITS.max_objects} objects per run (raise it with --fetch-max-objects)"
            )
            break
        if got.bytes + size > LIMITS.max_bytes:
            warnings.append(
                f"{url}: object {key!r} ({_mb(size)}) not fetched: over the bound of "
                f"{_mb(LIMITS.max_bytes)} per run (raise it with --fetch-max-mb)"
            )
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        todo.append((key, target, size, tag))
        got.bytes += size
        got.objects += 1
    parts = [str(t.with_name(".part-" + t.name)) for _, t, _, _ in todo]
    try:
        if todo:
            _get_all(fs, [k for k, _, _, _ in todo], parts)
    except Exception as e:
        for p in parts:
            Path(p).unlink(missing_ok=True)
        raise GanAnalyzeError(f"{url}: cannot fetch ({_unwrap(e)})") from None
    for (key, target, _, tag), part in zip(todo, parts, strict=True):
        os.replace(part, target)
        if _persistent:
            manifest[posixpath.relpath(key, path) if not single else base_name(key)] = tag
    if not local.exists():
        raise GanAnalyzeError(f"{url}: no readable object under this prefix")
    if _persistent:
        manifest_path.write_text(json.dumps(manifest))
    TOTAL.add(Fetched(bytes=got.bytes, objects=got.objects))
    _runs[str(local)] = got
    return local, got


def _get_all(fs: Any, keys: list[str], dests: list[str]) -> None:
    """Fetch `keys` to `dests`, at most FETCH_THREADS requests at once.

    An async store (s3fs, gcsfs) takes the batch in one call and runs it concurrently
    itself; a blocking one (S3 through pyarrow, whose client is thread-safe and releases
    the GIL) gets one request per thread of a bounded pool, so a run's objects arrive in
    about the time of its largest, not the sum of them all.
    """
    if getattr(fs, "async_impl", False):
        fs.get(keys, dests)
        return
    get = _get_one(fs)
    if len(keys) < 2:
        for k, d in zip(keys, dests, strict=True):
            get(k, d)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(FETCH_THREADS, len(keys))) as pool:
        for _ in pool.map(get, keys, dests):  # re-raises the first failure
            pass


def _get_one(fs: Any) -> Any:
    """fs.get_file, or for pyarrow's S3 behind fsspec a plain streamed read of the object
    (fsspec's get_file first asks whether the key is a directory: one request more)."""
    inner = getattr(fs, "fs", None)
    if type(fs).__name__ != "ArrowFSWrapper" or not hasattr(inner, "open_input_stream"):
        return fs.get_file

    def get(key: str, dest: str) -> None:
        with inner.open_input_stream(key, compression=None) as src, open(dest, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)

    return get


def note_fetched(got: Fetched | dict[str, int]) -> None:
    """Count, in this process, what a worker process fetched (its runs carry the count)."""
    g = got if isinstance(got, Fetched) else Fetched(**got)
    TOTAL.add(Fetched(bytes=g.bytes, objects=g.objects))


@contextlib.contextmanager
def materialized(path: str | Path) -> Iterator[Path]:
    """`path`, with its bytes fetched when it is a checkpoint left in place on the store.

    The bytes are dropped again (back to the empty placeholder) when the block ends,
    unless the cache is persistent. A local file passes through untouched.
    """
    p = Path(path)
    src = _lazy.get(str(p))
    if src is None or (p.is_file() and p.stat().st_size == src[2] and src[2] > 0):
        yield p
        return
    fs, key, size, tag = src
    part = p.with_name(".part-" + p.name)
    try:
        _get_one(fs)(key, str(part))
        os.replace(part, p)
    except Exception as e:
        part.unlink(missing_ok=True)
        raise GanAnalyzeError(f"{p.name}: cannot fetch {key} ({_unwrap(e)})") from None
    TOTAL.add(Fetched(bytes=size, objects=1))
    try:
        yield p
    finally:
        if _persistent:
            _remember(p, tag)
        else:
            with contextlib.suppress(OSError):
                os.truncate(p, 0)


def _remember(p: Path, tag: str) -> None:
    """Record a fetched checkpoint in the persistent cache's manifest of its run."""
    for root in p.parents:
        m = root / MANIFEST
        if m.is_file():
            try:
                manifest = json.loads(m.read_text())
            except (OSError, ValueError):
                manifest = {}
            run_dir = next(iter(d for d in root.iterdir() if d.is_dir() and d in p.parents), None)
            if run_dir is not None:
                manifest[p.relative_to(run_dir).as_posix()] = tag
                m.write_text(json.dumps(manifest))
            return
