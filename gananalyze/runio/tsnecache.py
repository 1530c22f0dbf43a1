"""The t-SNE embeddings a report computed, kept in the run's evaluations folder (`metrics/`,
beside fid-sweep's sample-metric parts) so that the next report of the same checkpoints
reads them instead of generating samples and running t-SNE again.

One file per embedding: `metrics/tsne-<key>.npz`, `key` a hash of everything the
embedding depends on (the checkpoints' contents, the real data, the sample count, the seed,
the method's version; `analysis.tsne.cache_key` computes it). The file holds plain arrays
only (`real`, and `fake_<step>` per checkpoint), read with pickles refused and its size
bounded; a file that is unreadable or malformed is ignored with a warning and recomputed.
A run folder that cannot be written (read-only, a URL's copy) simply keeps nothing.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

from ..files.runfiles import is_inside

FOLDER = "metrics"
MAX_BYTES = 64 * 1024 * 1024
_FAKE = re.compile(r"^fake_(\d+)$")


def path_of(run_dir: Path, key: str) -> Path:
    return Path(run_dir) / FOLDER / f"tsne-{key}.npz"


def read(
    run_dir: Path, key: str, warnings: list[str]
) -> tuple[np.ndarray, dict[int, np.ndarray], int] | None:
    """(real, {step: fake}, dims) stored under `key`, or None (absent, or not usable:
    warned); dims is the width of the points before the embedding."""
    p = path_of(run_dir, key)
    if not p.is_file():
        return None
    if not is_inside(Path(run_dir), p):
        warnings.append(f"{p}: points outside the run; the t-SNE is computed again")
        return None
    try:
        if p.stat().st_size > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES // 2**20} MB")
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k], dtype=np.float64) for k in z.files}
        real = arrays.pop("real")
        dims = int(arrays.pop("dims", np.zeros(())).reshape(-1)[0])
        fake = {}
        for k, a in arrays.items():
            m = _FAKE.match(k)
            if not m:
                raise ValueError(f"unexpected array {k!r}")
            fake[int(m.group(1))] = a
        for a in (real, *fake.values()):
            if a.ndim != 2 or a.shape[1] != 2 or not np.isfinite(a).all():
                raise ValueError("arrays are not finite (N, 2) points")
    except Exception as e:  # damaged or foreign: recompute, say so
        warnings.append(f"{p}: stored t-SNE not readable ({e}); computed again")
        return None
    return real, fake, dims


def write(
    run_dir: Path, key: str, real: np.ndarray, fake: dict[int, np.ndarray], dims: int = 0
) -> bool:
    """Keep the embedding under `key`; False when the run folder cannot be written."""
    from ..files.atomic import atomic_write_bytes

    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        real=np.asarray(real, dtype=np.float64),
        dims=np.asarray([int(dims)], dtype=np.int64),
        **{f"fake_{int(s)}": np.asarray(f, dtype=np.float64) for s, f in fake.items()},
    )
    try:
        atomic_write_bytes(path_of(run_dir, key), buf.getvalue())
    except OSError:
        return False
    return True
