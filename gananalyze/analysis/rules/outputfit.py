"""The loss type D's logged mean outputs imply, beside the logged losses (conventions.py
asks when neither the run nor its config names one): raw scores whose G loss is minus D's
mean score on the fakes are a hinge D's or a critic's (the D loss then says which), and
outputs whose D loss lies under any BCE's floor but over LSGAN's are an LSGAN D's. Each
answer comes with the note that says what it rests on."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...textfmt import fmt_sig
from .context import FLOOR_FIT, RuleContext, joined

SCORE_FIT = 0.05  # G loss = -mean D(G(z)) to within this share of the score's scale
D_FIT = 0.1  # a D loss within this share of a convention's value on the mean scores


def _joined_outputs(ctx: RuleContext, *more: str) -> tuple[np.ndarray, ...] | None:
    """(D loss, D(x), D(G(z)), *more) as logged, at the steps all were, finite; None with
    fewer than min_points."""
    dg = ctx.finite("D_G_z_before")
    dg = dg if len(dg) else ctx.finite("D_G_z_after")
    series = [ctx.raw("D_loss"), ctx.finite("D_x"), dg, *(ctx.finite(m) for m in more)]
    need = ctx.th["min_points"]
    if min(len(s) for s in series) < need:
        return None
    cols = joined(*series)
    fin = np.all([np.isfinite(c) for c in cols], axis=0)
    cols = tuple(c[fin] for c in cols)
    return cols if len(cols[0]) >= need else None


def scores_from_outputs(ctx: RuleContext, th: dict[str, Any]) -> tuple[str, str] | None:
    """("hinge" | "wasserstein", a note), or None, from D's logged mean outputs as raw scores.

    A G loss equal to minus D's mean output on the fakes (to SCORE_FIT) is -E[D(G(z))]: the
    G loss of a hinge GAN or of a critic, whose outputs are scores, not probabilities (a BCE
    G loss is -log D(G(z)), an LSGAN one (D(G(z)) - 1)^2). The D loss then tells them apart
    (to D_FIT, medians over the rows): a critic's is E[D(G(z))] - E[D(x)] (a gradient
    penalty adds to it, so it may lie above, never far under); a hinge D's is at least
    relu(1 - D(x)) + relu(1 + D(G(z))) on the means (Jensen: relu is convex), equal while
    the scores stay within +-1, summed or averaged over its two terms."""
    cols = _joined_outputs(ctx, "G_loss")
    if cols is None:
        return None
    dl, dx, dg, gl = cols
    scale = max(float(np.median(np.abs(dg))), 0.05)
    if float(np.median(np.abs(gl + dg))) > SCORE_FIT * scale:
        return None
    hinge = np.maximum(0.0, 1.0 - dx) + np.maximum(0.0, 1.0 + dg)
    logged = float(np.median(dl))
    for floor, how in ((hinge, "summed"), (hinge / 2, "averaged")):
        f = float(np.median(floor))
        if f > 0 and abs(logged - f) <= D_FIT * f:
            return "hinge", (
                f"loss type inferred: hinge (the G loss is minus D's mean score on the fakes, "
                f"and the median D loss {fmt_sig(logged)} is relu(1 - D(x)) + relu(1 + "
                f"D(G(z))) on those scores, {how}: {fmt_sig(f)})"
            )
    gap = float(np.median(dg - dx))
    if abs(logged - gap) <= D_FIT * max(abs(gap), scale):
        return "wasserstein", (
            f"loss type inferred: Wasserstein (the G loss is minus the critic's mean score on "
            f"the fakes, and the median D loss {fmt_sig(logged)} is the scores' gap "
            f"{fmt_sig(gap)})"
        )
    return None


def lsgan_from_outputs(ctx: RuleContext, th: dict[str, Any]) -> tuple[str, str] | None:
    """("lsgan", a note inferring it), or None, from D's logged mean outputs and its loss.

    D's mean outputs bound its loss from below under each convention (Jensen: -log and the
    square are convex, so a batch's mean loss is at least the loss of its mean output). The
    averaged BCE D loss is at least (-log D(x) - log(1 - D(G(z)))) / 2, the averaged LSGAN
    one ((1 - D(x))^2 + D(G(z))^2) / 2. A logged D loss whose median is under FLOOR_FIT of
    the BCE floor fits no BCE (summed or averaged); when it reaches the LSGAN floor, LSGAN is
    the convention the data leave. Needs the outputs as logged (not logits) and
    `min_points` points of each."""
    if ctx.outputs_are_logits():
        return None  # a BCE D's mean logits, no LSGAN D's outputs
    dl = ctx.raw("D_loss")
    dx = ctx.finite("D_x")
    dg = ctx.finite("D_G_z_before")
    dg = dg if len(dg) else ctx.finite("D_G_z_after")
    need = th["min_points"]
    if min(len(dl), len(dx), len(dg)) < need:
        return None
    jl, jx, jg = joined(dl, dx, dg)
    fin = np.isfinite(jl) & np.isfinite(jx) & np.isfinite(jg)
    jl, jx, jg = jl[fin], jx[fin], jg[fin]
    if len(jl) < need or np.abs(np.r_[jx, jg] - 0.5).max() > 1.0:
        return None  # unbounded scores (a critic's, a hinge D's): no floor to read
    px, pg = np.clip(jx, 1e-6, 1 - 1e-6), np.clip(jg, 1e-6, 1 - 1e-6)
    bce = float(np.median((-np.log(px) - np.log(1 - pg)) / 2))
    ls = float(np.median(((1 - jx) ** 2 + jg**2) / 2))
    logged = float(np.median(jl))
    if not (bce > 0 and ls > 0) or logged >= FLOOR_FIT * bce or logged < FLOOR_FIT * ls:
        return None
    return "lsgan", (
        f"loss type inferred: LSGAN (median D loss {fmt_sig(logged)} is under the "
        f"{fmt_sig(bce)} any BCE D loss reaches with these D(x), D(G(z)) and over LSGAN's "
        f"{fmt_sig(ls)})"
    )
