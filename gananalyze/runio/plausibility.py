"""Values that cannot be right: flagged, never hidden or dropped.

A FID below 0 or above 1e4, a loss that is NaN or infinite, and a probability
(D(x), D(G(z)), D accuracy, precision, recall, coverage) outside [0, 1] are
impossible for a healthy logger, so they point at a logging bug or a
diverged run. A run that declares an LSGAN, hinge or Wasserstein loss logs D's outputs as
scores (LSGAN's targets are 1 and 0, but nothing bounds them), so its D(x) and D(G(z)) are
not held to [0, 1]. Each becomes a `Flag` naming the file, the metric and the step;
the data itself is left as it was.

Which column is which is decided from its name: the canonical names and their
aliases (gananalyze.aliases), plus "loss" anywhere in the name (and the
`l_...` convention of BasicSR) for losses. Importers that know more (the
CycleGAN log's D_A, G_A, cycle_A ... are all losses) pass `losses=` explicitly.

Per metric and reason at most `limit` flags are listed; the rest are counted in
one summary flag, so a run with a million NaN steps does not produce a million
objects.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..naming.aliases import ALIASES
from ..run import Flag, Run

FID_MIN, FID_MAX = 0.0, 1e4
PROBABILITY_CANONICAL = ("D_x", "D_G_z_before", "D_G_z_after", "D_acc")
PROBABILITY_SAMPLE_METRICS = ("precision", "recall", "coverage")
D_OUTPUTS = ("D_x", "D_G_z_before", "D_G_z_after")
SCORE_LOSSES = ("lsgan", "hinge", "wasserstein")  # D's outputs are scores, not probabilities
DEFAULT_LIMIT = 20


def _names(canonical: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for c in canonical:
        out.add(c)
        out.update(ALIASES.get(c, []))
    return out


_PROB_NAMES = _names(PROBABILITY_CANONICAL)
_D_OUTPUT_NAMES = _names(D_OUTPUTS)
_LOSS_NAMES = _names(("G_loss", "D_loss"))
_FID_NAMES = _names(("fid",))


def is_loss(name: str) -> bool:
    """Whether a column name looks like a loss."""
    low = name.lower()
    last = low.rsplit("/", 1)[-1]
    return name in _LOSS_NAMES or "loss" in low or last.startswith("l_")


def is_fid(name: str) -> bool:
    low = name.lower()
    return name in _FID_NAMES or low.rsplit("/", 1)[-1].startswith("fid")


def is_probability(name: str) -> bool:
    low = name.lower().rsplit("/", 1)[-1]
    return name in _PROB_NAMES or low in PROBABILITY_SAMPLE_METRICS


def _flags_for(
    file: str,
    metric: str,
    steps: np.ndarray,
    values: np.ndarray,
    bad: np.ndarray,
    reason: str,
    limit: int,
) -> list[Flag]:
    idx = np.flatnonzero(bad)
    if not len(idx):
        return []
    out = [
        Flag(
            file=file,
            metric=metric,
            step=int(steps[i]) if steps is not None else None,
            value=float(values[i]),
            reason=reason,
        )
        for i in idx[:limit]
    ]
    if len(idx) > limit:
        out.append(
            Flag(
                file=file,
                metric=metric,
                step=None,
                value=float(len(idx) - limit),
                reason=f"{len(idx) - limit} more value(s) with the same problem not listed"
                f" ({reason})",
            )
        )
    return out


def check_frame(
    frame: pd.DataFrame,
    file: str,
    losses: Iterable[str] | None = None,
    limit: int = DEFAULT_LIMIT,
    nonfinite: pd.DataFrame | None = None,
    d_scores: bool = False,
) -> list[Flag]:
    """Flags for the impossible values in a table with a `step` column.

    Works for both per-step scalars and sample-metric tables. `losses` adds
    column names to treat as losses on top of the name-based guess. In a
    per-step frame NaN also means "not logged at this step", so pass the
    run's `nonfinite` table (the NaN/Inf values actually logged) to take the
    NaN/Inf losses from it; without it every NaN cell of a loss is flagged. `d_scores`: D's
    outputs are scores (the module docstring), not held to [0, 1].
    """
    if frame is None or len(frame) == 0 or "step" not in frame.columns:
        return []
    extra_losses = set(losses or ())
    steps = frame["step"].to_numpy()
    flags: list[Flag] = []
    for col in frame.columns:
        if col in ("step", "epoch", "wall_time", "features", "num_samples"):
            continue
        s = frame[col]
        if s.dtype.kind not in "fiu":
            continue
        v = s.to_numpy(dtype="float64")
        if col in extra_losses or is_loss(col):
            if nonfinite is not None:
                if len(nonfinite):  # (none logged: nothing to flag, at no pandas cost)
                    nf = nonfinite[nonfinite["metric"] == col]
                    nst, nv = nf["step"].to_numpy(), nf["value"].to_numpy(dtype="float64")
                    flags += _flags_for(file, col, nst, nv, np.isnan(nv), "loss is NaN", limit)
                    flags += _flags_for(file, col, nst, nv, np.isinf(nv), "loss is infinite", limit)
            else:
                flags += _flags_for(file, col, steps, v, np.isnan(v), "loss is NaN", limit)
                flags += _flags_for(file, col, steps, v, np.isinf(v), "loss is infinite", limit)
        if is_fid(col):
            with np.errstate(invalid="ignore"):
                flags += _flags_for(
                    file, col, steps, v, v < FID_MIN, "FID below 0 is impossible", limit
                )
                flags += _flags_for(
                    file, col, steps, v, v > FID_MAX, "FID above 1e4 is implausible", limit
                )
        if is_probability(col) and not (d_scores and col in _D_OUTPUT_NAMES):
            with np.errstate(invalid="ignore"):
                flags += _flags_for(
                    file,
                    col,
                    steps,
                    v,
                    (v < 0) | (v > 1),
                    "a probability must lie in [0, 1]",
                    limit,
                )
    return flags


def check_run(
    run: Run,
    file: str | None = None,
    losses: Iterable[str] | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[Flag]:
    """Flags for a whole Run: its scalars and its sample metrics.

    `file` names where the scalars came from (defaults to the run's path).
    """
    where = file or str(run.path)
    flags = check_frame(
        run.scalars,
        where,
        losses=losses,
        limit=limit,
        nonfinite=run.nonfinite,
        d_scores=str(run.loss or "").lower() in SCORE_LOSSES,
    )
    if len(run.sample_metrics):
        flags += check_frame(
            run.sample_metrics, run.extra.get("sample_metrics_file", where), limit=limit
        )
    return flags
