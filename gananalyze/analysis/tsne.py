"""t-SNE of real vs generated samples at chosen checkpoints: the embedding the report draws.

`embed_points` is the one PCA -> t-SNE -> split, for images (`embed`) and rows
(analysis.vectorcols.tsne_vectors) alike; pages/interactive.tsne_spec draws it.

Needs three things: native checkpoints, a generator spec in run.json (so that
`checkpoints.build_generator` rebuilds G in this process) and real data. Real
data comes from `--real` (anything `realdata.load_real` accepts), else from the
known toy domains: a run whose generator is `gananalyze.digits:Generator`, or
whose config names scikit-learn's digits, uses `sklearn-digits`.

All points (real, and generated at every chosen checkpoint) go through ONE
t-SNE, so the panels share coordinates and can be compared: generated points
that cover the real cloud mean good coverage; a few tight clumps mean mode
collapse. Kept small (300 real + 300 generated per checkpoint, PCA to 50
dimensions first) so that it takes a few seconds on one core.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import GanAnalyzeError
from ..extras import install_hint, require
from ..run import Checkpoint, Run

DIGITS_TARGETS = ("gananalyze.digits:Generator",)
DEFAULT_N = 300
MIN_DISTINCT = 5  # fewer distinct points than this are laid out on a line, not by t-SNE


@dataclass
class TsneResult:
    """Embedded points: `real` (N, 2) and `fake[step]` (M, 2), in one coordinate system."""

    real: np.ndarray
    fake: dict[int, np.ndarray] = field(default_factory=dict)
    source: str = ""
    dims: int = 0


def _named_real(run: Run) -> tuple[str | None, str | None]:
    """(run.json's real_data as a path inside the run or a built-in name, why it is not
    used): a path named by the run is read only when it resolves inside the run."""
    from ..files.runfiles import is_inside, root_of
    from ..metrics.realdata import BUILTIN

    named = (run.generator or {}).get("real_data")
    if not isinstance(named, str):
        return None, None
    if named in BUILTIN:
        return named, None
    root = root_of(run.path)
    p = Path(named).expanduser()
    p = p if p.is_absolute() else root / p
    if not is_inside(root, p):
        return None, (
            f"run.json's real_data {named!r} lies outside the run and is not read; "
            f"pass --real {named} to use it"
        )
    return str(p), None


def real_source(run: Run, real: str | None = None) -> str | None:
    """The real-data spec for `realdata.load_real`, or None when unknown. `real` comes
    from the command line; run.json's `real_data` is used only inside the run."""
    if real:
        return str(real)
    spec = run.generator or {}
    if isinstance(spec.get("real_data"), str):
        return _named_real(run)[0]
    if spec.get("target") in DIGITS_TARGETS:
        return "sklearn-digits"
    ds = str((run.config or {}).get("dataset", ""))
    if "load_digits" in ds or ds == "sklearn-digits":
        return "sklearn-digits"
    return None


def unavailable_reason(run: Run, real: str | None = None) -> str | None:
    """Why t-SNE cannot run on `run` (None when it can)."""
    if not [c for c in run.checkpoints if c.kind == "native"]:
        return "no loadable checkpoints"
    if not run.generator or "target" not in run.generator:
        return "run.json has no generator spec"
    if real_source(run, real) is None:
        return _named_real(run)[1] or "no real data known for this run (pass --real)"
    return None


def consent_note(run: Run, real: str | None = None, trust: bool = False) -> str | None:
    """The one line saying the t-SNE was skipped for want of consent (None: it may run)."""
    from .. import consent

    if unavailable_reason(run, real) is not None or consent.granted(run, trust):
        return None
    return consent.refusal(run, "the t-SNE")


def extra_note(run: Run, real: str | None = None) -> str | None:
    """The one line saying the t-SNE needs the fid extra (None: installed, or no t-SNE)."""
    import importlib.util

    if unavailable_reason(run, real) is not None:
        return None
    try:
        if importlib.util.find_spec("torch") is not None:
            return None
    except (ImportError, ValueError):
        pass
    return "t-SNE skipped: it needs torch, which is not installed: " + install_hint("fid")


METHOD = "pca50-tsne-bh-500it-v1"  # change when embed_points changes what it computes
HASH_WHOLE = 256 * 1024 * 1024  # checkpoints up to this size are hashed whole
HASH_EDGE = 4 * 1024 * 1024  # larger ones: their size, first and last 4 MB


def file_digest(path: Path) -> str:
    """A content hash of one file (bounded: see HASH_WHOLE)."""
    import hashlib

    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(str(size).encode())
    with open(path, "rb") as f:
        if size <= HASH_WHOLE:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        else:
            h.update(f.read(HASH_EDGE))
            f.seek(size - HASH_EDGE)
            h.update(f.read(HASH_EDGE))
    return h.hexdigest()


def cache_key(run: Run, checkpoints: list[Checkpoint], src: str, n: int, seed: int) -> str:
    """What the embedding depends on, hashed: the checkpoints' contents, the real data (its
    name, or its file's size and time), n, seed and METHOD."""
    import hashlib
    import json

    real = {"src": src}
    p = Path(src).expanduser()
    if p.exists():
        st = p.stat()
        real.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
    ident = {
        "method": METHOD,
        "n": int(n),
        "seed": int(seed),
        "real": real,
        "checkpoints": [[int(c.step), file_digest(Path(c.path))] for c in checkpoints],
        "generator": run.generator or {},
    }
    text = json.dumps(ident, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def embed(
    run: Run,
    checkpoints: list[Checkpoint],
    real: str | None = None,
    n: int = DEFAULT_N,
    seed: int = 0,
    trust: bool = False,
    keep: bool = True,
) -> TsneResult:
    """Embed n real and n generated samples per checkpoint with one t-SNE, computed once:
    the embedding is kept in the run's evaluations (runio.tsnecache, keyed by cache_key)
    and read back by the next report of the same checkpoints (`keep=False`: neither read
    nor kept).

    trust: consent to import the generator code run.json names (gananalyze.consent).
    Raises MissingExtra when torch (the fid extra) is not installed.
    """
    from ..files.runfiles import root_of
    from ..runio import tsnecache

    why = unavailable_reason(run, real)
    if why:
        raise GanAnalyzeError(f"{run.path}: t-SNE not possible: {why}")
    src = real_source(run, real)
    key = cache_key(run, checkpoints, src, n, seed) if keep else ""
    if keep:
        stored = tsnecache.read(root_of(run.path), key, run.warnings)
        if stored is not None and set(stored[1]) == {c.step for c in checkpoints}:
            return TsneResult(real=stored[0], fake=stored[1], source=src, dims=stored[2])
    res = _embed(run, checkpoints, real, n, seed, trust)
    if keep:
        tsnecache.write(root_of(run.path), key, res.real, res.fake, res.dims)
    return res


def _embed(
    run: Run, checkpoints: list[Checkpoint], real: str | None, n: int, seed: int, trust: bool
) -> TsneResult:
    from ..files.runfiles import root_of

    torch = require("torch", "the t-SNE of generated samples")
    from ..metrics.generate import sample_images
    from ..metrics.realdata import load_real

    src = real_source(run, real)
    data = load_real(src, within=None if real else root_of(run.path))
    if data.kind != "images":
        raise GanAnalyzeError(f"{src}: t-SNE needs real images, not statistics")
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(data.count, size=min(n, data.count), replace=False))
    real_x = (
        np.concatenate([data.load(int(i), int(i) + 1) for i in idx])
        if data.count > 4 * n
        else data.load(0, data.count)[idx]
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fakes = {
            c.step: sample_images(run, c, len(real_x), seed, trust).numpy() for c in checkpoints
        }
    finally:
        torch.set_num_threads(threads)
    for step, f in fakes.items():
        if f.shape[1:] != real_x.shape[1:]:
            raise GanAnalyzeError(
                f"{run.path}: generated samples at step {step} have shape {f.shape[1:]}, the "
                f"real data {src} {real_x.shape[1:]}"
            )
    flat = {s: f.reshape(len(f), -1).astype(np.float64) for s, f in fakes.items()}
    return embed_points(real_x.reshape(len(real_x), -1).astype(np.float64), flat, src, seed)


def embed_points(
    real: np.ndarray, fakes: dict[int, np.ndarray], source: str = "", seed: int = 0
) -> TsneResult:
    """The one t-SNE of images and rows alike: real (N, D) and fakes[step] (M, D), already
    scaled, go through PCA to 50 dimensions (when wider) and ONE t-SNE, then are split back.
    Identical rows (a collapsed G's copies of one sample) are embedded once and share their
    point: sklearn's Barnes-Hut tree crashes the process on hundreds of identical points."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    X = np.vstack([real, *fakes.values()])
    dims = X.shape[1]
    # One thread: sklearn's Barnes-Hut gradient otherwise starts an OpenMP thread per
    # core, which on a busy 2-core machine made it 5x slower (20 s instead of 4 s).
    with threadpool_limits(1):
        if dims > 50:
            X = PCA(n_components=50, random_state=seed).fit_transform(X)
        U, inv = np.unique(X, axis=0, return_inverse=True)
        if len(U) < MIN_DISTINCT:  # too few distinct points to lay out: on a line, in order
            Yu = np.column_stack([np.arange(len(U), dtype=np.float64), np.zeros(len(U))])
        else:
            perplexity = float(min(30.0, (len(U) - 1) / 3))
            Yu = TSNE(
                n_components=2, perplexity=perplexity, init="pca", random_state=seed, max_iter=500
            ).fit_transform(U if len(U) < len(X) else X)
        Y = Yu[inv.reshape(-1)] if len(U) < len(X) else Yu
    out = TsneResult(real=Y[: len(real)], source=source, dims=dims)
    pos = len(real)
    for step, f in fakes.items():
        out.fake[step] = Y[pos : pos + len(f)]
        pos += len(f)
    return out
