"""A D judged against chance, the loss a D scores when it outputs the same value for every
input (the equilibrium of its convention): a D loss worse than chance from the run's start
to its end (a D that never learned), or D and G losses sitting on a convention's chance pair
to the last digits (a D whose output no longer depends on its input). Both are d_stalled
findings (stalled.py calls them)."""

from __future__ import annotations

import numpy as np

from ...textfmt import fmt_pct, fmt_sig
from ..findings import Finding
from .context import RuleContext, last_bin_with_data, sustained_stretch
from .conventions import D_EQUILIBRIA, LN2, loss_type_known

# (D loss, G loss) of a D that outputs one value for everything, per convention: BCE 0.5
# (summed or averaged; a non-saturating or saturating G), LSGAN 0.5 (with or without the
# factor 1/2), hinge 0, relativistic average LSGAN (D and G alike)
INDIFFERENCE = {
    "BCE summed, non-saturating G": ("bce", 2 * LN2, LN2),
    "BCE averaged, non-saturating G": ("bce", LN2, LN2),
    "BCE summed, saturating G": ("bce", 2 * LN2, -LN2),
    "BCE averaged, saturating G": ("bce", LN2, -LN2),
    "LSGAN summed": ("lsgan", 0.5, 0.25),
    "LSGAN averaged": ("lsgan", 0.25, 0.25),
    "LSGAN with 1/2": ("lsgan", 0.25, 0.125),
    "hinge summed": ("hinge", 2.0, 0.0),
    "hinge averaged": ("hinge", 1.0, 0.0),
    "relativistic average LSGAN": ("lsgan", 1.0, 1.0),
}


def never_reached_chance(ctx: RuleContext) -> list[Finding]:
    """D worse than chance from the run's start to its end: its loss above `chance_worse_ratio`
    x the largest equilibrium of every convention consistent with the run (the summed one:
    the larger reduction) over a sustained stretch that begins in the run's first
    `chance_worse_start` and reaches the end, level (its end under `chance_plateau_ratio` x
    the stretch's first half: a climb is a runaway, divergence's) and never better than where
    it began (a D that learns, an auxiliary classifier's loss falling, improves). A constant
    output scores the equilibrium; a D that learns does at least that well. Not for a loss
    far out (`loss_far_ratio`: divergence's)."""
    th = ctx.th
    eq = ctx.eq
    if eq is None or eq.d_loss is None:
        return []
    types = [eq.loss] if loss_type_known(eq) else ["bce", "hinge", "lsgan"]
    top_type = max(types, key=lambda t: D_EQUILIBRIA[(t, "sum")])
    top = D_EQUILIBRIA[(top_type, "sum")]
    bd = ctx.bins("D_loss")["med"]
    with np.errstate(invalid="ignore"):
        worse = bd > th["chance_worse_ratio"] * top
    pick = sustained_stretch(worse, ctx.need_bins(), last_bin_with_data(bd))
    if not pick or not pick[2] or pick[0] > th["chance_worse_start"] * ctx.nb:
        return []  # began after the run's start: D learned, then lost (g_overpowering's)
    a, z, _ = pick
    vals = bd[a : z + 1]
    vals = vals[np.isfinite(vals)]
    level, first = float(np.median(vals)), float(vals[0])
    end = ctx.tail(bd[: z + 1])
    if level >= th["loss_far_ratio"] * top:
        return []
    if end > th["chance_plateau_ratio"] * float(np.median(vals[: max(1, len(vals) // 2)])):
        return []  # still climbing: G running away from a D that does not follow
    if end < 0.9 * first:
        return []  # D's loss fell: it learns, however slowly
    names = {"bce": "BCE", "hinge": "hinge", "lsgan": "LSGAN"}
    conv = (
        f"the {names[top_type]} equilibrium with the terms summed, {fmt_sig(top)}"
        if len(types) == 1
        else f"{fmt_sig(top)}, the largest equilibrium of every loss convention (hinge summed)"
    )
    b0 = int(ctx.bin_start[a])
    return [
        Finding(
            rule="d_stalled",
            severity="warning",
            title="Discriminator never reached chance",
            message=f"{ctx.label('D_loss')} stayed worse than chance from step {b0} to the end: "
            f"{fmt_sig(first)} at first, {fmt_sig(level)} over the stretch, {fmt_sig(end)} at the "
            f"end, above {fmt_sig(th['chance_worse_ratio'])}x {conv}. A D that outputs a "
            "constant scores the equilibrium; one that learns does better. This one's loss never "
            "fell below where it began.",
            action="Check that D's optimizer steps and its learning rate is not zero, that its "
            "parameters require gradients and its loss is not detached, and that the labels of "
            "real and fake are not swapped.",
            start_step=b0,
            end_step=int(ctx.bin_end[z]),
            numbers={"D_loss": level, "D_loss_first": first, "D_loss_end": end, "chance": top},
            metrics=[ctx.column("D_loss")],
        )
    ]


def at_indifference(ctx: RuleContext) -> list[Finding]:
    """D and G losses on one convention's chance pair (INDIFFERENCE), each bin's median
    within `indifference_tol` of it (relative; for a G loss of 0, absolute) and its in-bin
    spread too, for a sustained stretch. A D that tells real from fake at all spreads its
    outputs, and the G loss then sits above chance by their spread (Jensen: mean -log p >
    -log mean p); both on the pair to the last digits is a D whose output no longer depends
    on its input, and G gets no signal from it."""
    th = ctx.th
    if not (ctx.has("D_loss") and ctx.has("G_loss")):
        return []
    eq = ctx.eq
    if eq is not None and eq.d_loss is None:
        return []
    known = eq.loss if eq is not None and loss_type_known(eq) else None
    bd, bg = ctx.bins("D_loss"), ctx.bins("G_loss")
    tol = th["indifference_tol"]
    for name, (kind, d0, g0) in INDIFFERENCE.items():
        if known is not None and kind != known:
            continue
        g_tol = tol * max(abs(g0), 1.0) if g0 == 0 else tol * abs(g0)
        with np.errstate(invalid="ignore"):
            on = (
                (np.abs(bd["med"] - d0) <= tol * d0)
                & (np.nan_to_num(bd["disp"], nan=np.inf) <= tol * d0)
                & (np.abs(bg["med"] - g0) <= g_tol)
                & (np.nan_to_num(bg["disp"], nan=np.inf) <= g_tol)
            )
        pick = sustained_stretch(on, ctx.need_bins(), last_bin_with_data(bd["med"], bg["med"]))
        if not pick:
            continue
        a, z, ongoing = pick
        b0, b1 = int(ctx.bin_start[a]), int(ctx.bin_end[z])
        frac = (z - a + 1) / ctx.nb
        d_val = float(np.nanmedian(bd["med"][a : z + 1]))
        g_val = float(np.nanmedian(bg["med"][a : z + 1]))
        span = f"from step {b0}" + (" to the end" if ongoing else f" to {b1}")
        return [
            Finding(
                rule="d_stalled",
                severity="warning",
                title="Discriminator at indifference",
                message=f"{ctx.label('D_loss')} {fmt_sig(d_val, 5)} and {ctx.label('G_loss')} "
                f"{fmt_sig(g_val, 5)} {span} ({fmt_pct(frac)} of the run): within "
                f"{fmt_sig(100 * tol)}% of {fmt_sig(d0, 5)} and {fmt_sig(g0, 5)}, the losses of "
                f"a D that outputs one value for every input ({name}). A D that tells real from "
                "fake at all spreads its outputs and lifts the G loss off that value; this one "
                "scores real and generated samples alike, and G gets no signal from it. The "
                "losses alone cannot tell this from a G whose samples already match the data "
                "(a D at the equilibrium scores them alike too; a strong R1 or gradient "
                "penalty holds D there): the samples can.",
                action="Check D's capacity and normalisation (spectral norm or a too-strong "
                "penalty can flatten D), its learning rate and optimizer step, and whether "
                "its last layer or activations died; look at the samples of that stretch.",
                start_step=b0,
                end_step=b1,
                numbers={
                    "D_loss": d_val,
                    "G_loss": g_val,
                    "convention": name,
                    "fraction_of_run": frac,
                },
                metrics=[ctx.column("D_loss"), ctx.column("G_loss")],
            )
        ]
    return []
