"""Losses summed over the batch: `nn.BCELoss(reduction="sum")` makes the logged D and G
losses the batch's total, B times the per-sample loss every equilibrium is stated for. A
run says so when it logs D's mean outputs beside its D loss and a batch size in its config:
the D loss is then about B times -log D(x) - log(1 - D(G(z))) (at step 0 of a conditional
GAN on digits, batch 64: D(x) 0.525, D(G(z)) 0.509, D loss 86.8 = 64 x 1.355). The rules
then read both losses divided by B, as they divide a sum over several discriminators
(`context.summed_discriminators`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...run import Run
from ..configs import batch_size

MIN_BATCH = 8  # a ratio this far from 1 is no per-sample loss's scatter
MIN_POINTS = 10
# the ratio's bounds in batches: 1/2 when the real and fake terms are averaged; above 1, as
# the mean of -log D over a batch exceeds -log of the mean D (Jensen)
LOW, HIGH = 0.4, 1.6


def batch_summed(run: Run) -> tuple[int, str]:
    """(B, the evidence) when the logged losses are summed over a batch of B (module
    docstring); (1, "") otherwise."""
    b = batch_size(run)
    if b is None or b < MIN_BATCH:
        return 1, ""
    try:
        d, x, f = (run.series(n) for n in ("D_loss", "D_x", "D_G_z_before"))
    except (KeyError, ValueError):
        return 1, ""
    if not (len(d) and len(x) and len(f)):
        return 1, ""
    j = pd.concat([d.rename("d"), x.rename("x"), f.rename("f")], axis=1, join="inner")
    j = j[np.isfinite(j.to_numpy(dtype=np.float64)).all(axis=1)]
    j = j[(j["x"] > 0.01) & (j["x"] < 0.99) & (j["f"] > 0.01) & (j["f"] < 0.99)]
    if len(j) < MIN_POINTS:
        return 1, ""
    implied = -np.log(j["x"].to_numpy(np.float64)) - np.log1p(-j["f"].to_numpy(np.float64))
    ratio = float(np.median(j["d"].to_numpy(np.float64) / implied))
    if not LOW * b <= ratio <= HIGH * b:
        return 1, ""
    return b, (
        f"config batch size {b}; the D loss is a median {ratio:.3g}x -log D(x) - log(1 - D(G(z)))"
    )
