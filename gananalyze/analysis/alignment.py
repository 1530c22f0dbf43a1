"""Aligning runs on a common x axis (for `compare`): step, a unit, time or images seen.

`x_mapper(run, x)`: `step` (whatever the run counts), a unit, `time` (seconds since
the run's first logged row) or `images` (images seen: the `Progress/kimg` column x
1000 when a StyleGAN run has it, else step x the batch size from the config keys
`batch_size`/`batch`/`batchSize`). A unit (`iteration`, `epoch`, `kimg`, `tick`) is
the run's step when the run counts in it (`run.step_unit`, set by the
importers), else its column (`epoch`; StyleGAN's `Progress/kimg`, `Progress/tick`).
`step_label(run)` names what a run's step counts, for axes and tables.
Every run is drawn on its own logged points: nothing is resampled.
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

X_CHOICES = ("step", "iteration", "epoch", "kimg", "tick", "time", "images")
UNITS = ("iteration", "epoch", "kimg", "tick")
KIMG_COLUMNS = ("Progress/kimg", "kimg")
UNIT_COLUMNS = {"epoch": ("epoch",), "kimg": KIMG_COLUMNS, "tick": ("Progress/tick", "tick")}


def step_label(run: Run) -> str:
    """What `run`'s step counts, for an axis or a table: "epoch", "iteration", "kimg", "tick",
    "row" (no step column: the row number), "image" (CycleGAN: images seen); "step" when
    the run does not say."""
    return str(run.step_unit or "step")


def common_step_label(runs) -> str:
    """One label for the step axis of several runs: their unit when they share one, else
    "step (iteration / epoch ...)"."""
    units = list(dict.fromkeys(step_label(r) for r in runs))
    if len(units) == 1:
        return units[0]
    return f"step ({' / '.join(units)})" if units else "step"


def time_unit(seconds: float) -> tuple[float, str]:
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
    if x == "step" or (x in UNITS and run.step_unit == x):
        return (lambda s: np.asarray(s, dtype=np.float64)), step_label(run)

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

    if x in UNIT_COLUMNS:
        for col in UNIT_COLUMNS[x]:
            f = from_column(col)
            if f is not None:
                return f, col
        unit = step_label(run)
        return None, f"no {x} column" + ("" if unit == "step" else f"; it counts in {unit}s")
    if x == "iteration":
        return None, f"it counts in {step_label(run)}s, not iterations"
    if x == "time":
        f = from_column("wall_time", offset=True)
        return (f, "wall time") if f else (None, "no wall-time column")
    # images
    if run.step_unit == "image":
        return (lambda s: np.asarray(s, dtype=np.float64)), "step (images seen)"
    for col in KIMG_COLUMNS:
        f = from_column(col, scale=1000.0)
        if f is not None:
            return f, f"{col} x 1000"
    b = batch_size(run)
    if b is not None:
        return (lambda s: np.asarray(s, dtype=np.float64) * b), f"step x batch size {b}"
    return None, "no batch size in its config (batch_size/batch/batchSize) and no kimg column"
