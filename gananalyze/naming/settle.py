"""Roles settled by the values, not the names: one loss printed twice under two names
(`settle_twins`), and columns named as D's outputs that add up to the D loss, its terms
(`settle_terms`). Called by `roles.run_roles` once the names are read, on its
`Resolution` (`res`, changed in place; duck-typed: this module imports nothing of roles)."""

from __future__ import annotations

import numpy as np

from .aliases import ALIASES


def exact_role(column: str) -> str | None:
    """The role whose canonical name or alias `column` is exactly, or None."""
    for canon, names in ALIASES.items():
        if column == canon or column in names:
            return canon
    return None


TWIN_GAP = 0.02  # median relative difference under which two columns are one metric twice


def settle_twins(run, res) -> None:
    """An ambiguity between an exact name and columns that track it (Keras 3 prints each
    loss twice, `d_loss` and `discriminator_loss`, from two trackers of one value: 0.6480
    and 0.6469) is settled for the exact name, said in `how`. Tracking: a median relative
    difference under TWIN_GAP over 5+ steps both logged."""
    for role, cols in list(res.ambiguous.items()):
        exact = [c for c in cols if exact_role(c) is not None]
        if len(exact) != 1:
            continue
        gaps = [_median_gap(run, exact[0], c) for c in cols if c != exact[0]]
        if not all(g is not None and g < TWIN_GAP for g in gaps):
            continue
        res.roles[role] = exact[0]
        others = ", ".join(c for c in cols if c != exact[0])
        res.how[role] = f"exact name; {others} tracks it (median difference {max(gaps):.1%})"
        del res.ambiguous[role]


TERMS_SPAN = 0.05  # the D loss's 5-95th percentile span, relative to its median, settle_terms needs


def settle_terms(run, res, explicit: set[str]) -> None:
    """Columns named as D's outputs (`d_real`, `d_fake`: D_x, D_G_z_before by their aliases)
    that add up to the D loss at every step are its real and fake terms, not D's outputs: a
    trainer that logs `d_loss = d_real + d_fake` (or their mean) beside it. They get the roles
    D_loss_real and D_loss_fake (said in `how`), and `res.d_terms` records the reduction. Only
    when neither role came from --map or the map file; D's sigmoid outputs summing to its BCE
    loss at 5+ steps (median difference under TWIN_GAP) while that loss moves (its 5-95th
    percentile span over TERMS_SPAN of its median) would be a coincidence; a flat one is
    evidence only when a column leaves [0, 1] (no sigmoid output: a frozen hinge D's terms
    near 1), since outputs saturated at 1 average to a loss of 1 at every step."""
    roles = res.roles
    need = ("D_loss", "D_x", "D_G_z_before")
    if not all(r in roles for r in need) or explicit & {"D_x", "D_G_z_before"}:
        return
    if "D_loss_real" in roles or "D_loss_fake" in roles:
        return
    d, real, fake = (roles[r] for r in need)
    sc = getattr(run, "scalars", None)
    dv = sc[d].to_numpy(dtype=float) if sc is not None and d in sc else np.array([])
    dv = dv[np.isfinite(dv)]
    if dv.size < 5:
        return
    lo, mid, hi = np.percentile(dv, [5, 50, 95])
    tv = np.concatenate([sc[c].to_numpy(dtype=float) for c in (real, fake) if c in sc])
    with np.errstate(invalid="ignore"):
        outside = bool(((tv < 0) | (tv > 1)).any())  # no sigmoid output: a hinge term's 1.02
    if not (hi - lo > TERMS_SPAN * abs(mid) or outside):
        return  # a flat D loss: D's outputs saturated at 1 average to a loss of 1 (SRGAN's)
    for red, scale in (("sum", 1.0), ("mean", 0.5)):
        gap = _median_gap(run, d, (real, fake), scale)
        if gap is None or gap >= TWIN_GAP:
            continue
        how = f"a term of {d}: {d} = " + (
            f"{real} + {fake}" if red == "sum" else f"({real} + {fake}) / 2"
        )
        how += f" (median difference {gap:.1%}), so not D's output"
        for old, new, col in (("D_x", "D_loss_real", real), ("D_G_z_before", "D_loss_fake", fake)):
            del roles[old]
            res.how.pop(old, None)
            roles[new], res.how[new] = col, how
        res.d_terms = red
        return


def _median_gap(run, a: str, b: str | tuple[str, ...], scale: float = 1.0) -> float | None:
    """The median relative difference of two columns where both are logged (5+ steps); `b`
    may be a tuple of columns, their sum times `scale`."""
    sc = getattr(run, "scalars", None)
    bs = (b,) if isinstance(b, str) else b
    if sc is None or a not in sc or any(c not in sc for c in bs):
        return None
    x = sc[a].to_numpy(dtype=float)
    y = scale * sum(sc[c].to_numpy(dtype=float) for c in bs)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 5:
        return None
    scale = np.maximum(np.maximum(np.abs(x[ok]), np.abs(y[ok])), 1e-12)
    return float(np.median(np.abs(x[ok] - y[ok]) / scale))
