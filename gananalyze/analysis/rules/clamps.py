"""The values a clamped loss sits at, and what each means: the one table the dead-D rules
(stalled.py: a D loss pinned at, or creeping along, a clamp) and the runaway rule
(runaway.py: a D loss at a clamp is a D saturated alike, not one ranking the fakes above
the data) both read.

PyTorch's BCELoss clamps its log at -100, so one saturated term is 100 (50 when two terms
are averaged, 200 when both are clamped and summed); a hand-written BCE guards its log with
an epsilon, `log(x + eps)`, so a saturated term is -log(eps) (halved when averaged).
"""

from __future__ import annotations

import math

import numpy as np

EPSILONS = {1e-6: "1e-6", 1e-7: "1e-7", 1e-8: "1e-8", 1e-10: "1e-10", 1e-12: "1e-12"}

# value -> what it means
CLAMP_VALUES: dict[float, str] = {
    100.0: "BCELoss's log clamp (-100) on one term, or both terms averaged with 2 x 100",
    50.0: "BCELoss's log clamp (-100) on one of two averaged terms",
    200.0: "BCELoss's log clamp (-100) on both summed terms",
}
CLAMP_REDUCTION: dict[float, str] = {50.0: "mean", 200.0: "sum"}
for _eps, _e in EPSILONS.items():
    CLAMP_VALUES[-math.log(_eps)] = f"-log({_e}), a log(x + {_e}) clamp"
for _eps, _e in EPSILONS.items():
    _half = -math.log(_eps) / 2
    _what = f"-log({_e}) averaged over two terms"
    if _half in CLAMP_VALUES:  # -log(1e-12) / 2 is -log(1e-6): either reduction
        CLAMP_VALUES[_half] += f", or {_what}"
    else:
        CLAMP_VALUES[_half] = _what
        CLAMP_REDUCTION[_half] = "mean"
# (CLAMP_REDUCTION: clamp values only one reduction of BCE's two terms can give, 50 being
# one clamped term of two averaged: a pinned loss is compared with that reduction's
# equilibrium, not an assumed one)


def clamp_name(v: float, table: dict[float, str] = CLAMP_VALUES) -> str | None:
    """What the value `v` is (to 0.1%) in `table`, or None."""
    for ref, what in table.items():
        if abs(v - ref) <= 1e-3 * ref:
            return what
    return None


def at_clamp(v: np.ndarray) -> np.ndarray:
    """Where a D loss sits at one of CLAMP_VALUES (to 0.1%): a saturated term with the other
    at 0 (D(x) = 1), both terms saturated alike."""
    return np.any([np.abs(v - c) <= 1e-3 * c for c in CLAMP_VALUES], axis=0)
