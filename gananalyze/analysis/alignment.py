"""Aligning runs on a common x axis (for `compare`): step, epoch, time or images seen.

`x_mapper(run, x)`: `step`, `epoch`, `time` (seconds since the run's first logged
row) or `images` (images seen: the `Progress/kimg` column x 1000 when a StyleGAN run
has it, else step x the batch size from the config keys `batch_size`/`batch`/
`batchSize`). Every run is drawn on its own logged points: nothing is resampled.
Epoch, time and kimg are known only at logged rows; a sample-metric step between two
rows gets its x by linear interpolation of that run's own (monotonic) x column, never
its value. A run without the chosen x is left out of the charts with a note.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import GanAnalyzeError
from ..run import Run
from .configs import batch_size

X_CHOICES = ("step", "epoch", "time", "images")
KIMG_COLUMNS = ("Progress/kimg", "kimg")


def _time_unit(seconds: float) -> tuple[float, str]:
    if seconds >= 3 * 3600:
        return 3600.0, "h"
    if seconds >= 180:
        return 60.0, "min"
    return 1.0, "s"


def _interp_mapper(
    known_steps: np.ndarray, known_x: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    def f(steps: np.ndarray) -> np.ndarray:
        steps = np.asarray(steps, dtype=np.float64)
        if len(known_steps) == 0:
            return np.full(len(steps), np.nan)
        return np.interp(steps, known_steps, known_x, left=np.nan, right=np.nan)

    return f


def x_mapper(run: Run, x: str) -> tuple[Callable[[np.ndarray], np.ndarray] | None, str]:
    """A function step -> x for `run`, and a description; (None, reason) when unavailable.

    See the module docstring for what each x means. The mapper returns NaN for
    steps outside the range where x is known.
    """
    if x not in X_CHOICES:
        raise GanAnalyzeError(f"unknown x axis {x!r}; choose one of {', '.join(X_CHOICES)}")
    sc = run.scalars
    steps = sc["step"].to_numpy(dtype=np.float64)
    if x == "step":
        return (lambda s: np.asarray(s, dtype=np.float64)), "step"

    def from_column(
        col: str, offset: bool = False, scale: float = 1.0
    ) -> Callable[[np.ndarray], np.ndarray] | None:
        if col not in sc.columns:
            return None
        v = sc[col].to_numpy(dtype=np.float64)
        ok = np.isfinite(v)
        if not ok.any():
            return None
        ks, kx = steps[ok], v[ok] * scale
        if offset:
            kx = kx - kx[0]
        if np.any(np.diff(kx) < 0):  # restarts: a monotonic x is needed to interpolate
            kx = np.maximum.accumulate(kx)
        return _interp_mapper(ks, kx)

    if x == "epoch":
        f = from_column("epoch")
        return (f, "epoch") if f else (None, "no epoch column")
    if x == "time":
        f = from_column("wall_time", offset=True)
        return (f, "wall time") if f else (None, "no wall-time column")
    # images
    for col in KIMG_COLUMNS:
        f = from_column(col, scale=1000.0)
        if f is not None:
            return f, f"{col} x 1000"
    b = batch_size(run)
    if b is not None:
        return (lambda s: np.asarray(s, dtype=np.float64) * b), f"step x batch size {b}"
    return None, "no batch size in its config (batch_size/batch/batchSize) and no kimg column"
