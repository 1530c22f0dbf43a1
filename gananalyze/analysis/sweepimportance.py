"""Key importance that sees interactions: two-way effects, the figure the sweep page
shows beside the one-way epsilon squared.

One-way epsilon squared (`eps_squared` here; analysis.sweepview ranks keys by it)
asks how much of the run-to-run variance a key's value explains on its own. A key
that matters only together with another (batch 128 rescues lr 1.8e-3, batch 64 does
not, and batch 128 makes the lowest lr worse) can score about 0 there. Two-way:

    with(key) = max over the other keys b of  eps2(key x b) - eps2(b)

where `key x b` is the pair of values (one group per combination present): the share
of the variance that the key adds once the other key is known, its interaction with
that key included; `partner` names the b. Clipped at 0, on the same scale as
eps2, and bias-corrected the same way (a combination of levels explains some
variance by chance; eps2 takes that off). With a single key it is the key's eps2.
Deterministic and cheap (counts per group, no model to fit): 8 keys are 28 pairs.
Chosen over a random forest's permutation importance, which needs fixed random
states, can exceed 1 on held-out runs and costs seconds to import and fit.
"""

from __future__ import annotations

import numpy as np

METHOD = (
    "two-way effects: what the key explains once the best other key is known, its "
    "interaction with that key included (eps2 of the pair of values minus eps2 of the other "
    "key alone); a key that matters only in combination scores here and not one-way"
)


def eps_squared(y: np.ndarray, groups: np.ndarray) -> float | None:
    """Epsilon squared of `y` explained by the labels `groups` (None: undefined)."""
    y = np.asarray(y, dtype=np.float64)
    labels, inv = np.unique(groups, return_inverse=True)
    n, k = len(y), len(labels)
    if n < 3 or k < 2 or n <= k:
        return None
    sst = float(((y - y.mean()) ** 2).sum())
    if sst <= 0:
        return 0.0
    sums = np.bincount(inv, weights=y, minlength=k)
    cnt = np.bincount(inv, minlength=k)
    ssb = float((sums**2 / cnt).sum() - y.sum() ** 2 / n)
    msw = (sst - ssb) / (n - k)
    return max(0.0, (ssb - (k - 1) * msw) / sst)


def two_way(y: np.ndarray, index: np.ndarray, ok: np.ndarray | None = None
            ) -> list[tuple[float | None, int | None]]:
    """Per key (column of `index`: runs x keys, level indices, -1 = missing): (what it
    adds to the best other key, that key's column), over the runs where `ok` and both
    keys are present. A single key: (its eps2, None)."""
    y = np.asarray(y, dtype=np.float64)
    index = np.asarray(index, dtype=np.int64)
    ok = np.ones(len(y), dtype=bool) if ok is None else np.asarray(ok, dtype=bool)
    k = index.shape[1]
    out: list[tuple[float | None, int | None]] = []
    for a in range(k):
        if k == 1:
            sel = ok & (index[:, 0] >= 0)
            out.append((eps_squared(y[sel], index[sel, 0]), None))
            continue
        best: tuple[float | None, int | None] = (None, None)
        for b in range(k):
            if b == a:
                continue
            sel = ok & (index[:, a] >= 0) & (index[:, b] >= 0)
            pair = index[sel, a] * (index[:, b].max() + 1) + index[sel, b]
            both, alone = eps_squared(y[sel], pair), eps_squared(y[sel], index[sel, b])
            if both is None or alone is None:
                continue
            gain = max(0.0, both - alone)
            if best[0] is None or gain > best[0]:
                best = (gain, b)
        out.append(best)
    return out
