"""mode_collapse: the samples lose their diversity or hop between modes (grids, also
TensorBoard's split by their padding), weaker sample evidence behind a D flat at chance,
G-loss drops while D(G(z)) oscillates; with the evaluations' criteria of evaluated.py
(low recall, FID jumps)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...naming.aliases import higher_is_better
from ...textfmt import fmt_pct, fmt_sig
from ..findings import Finding
from .context import RuleContext
from .conventions import consistent_d_equilibria
from .evaluated import collapse_from_recall, fid_jumps
from .hopping import centre_drift, collapse_from_hopping
from .registry import available, rule
from .stability import ran_off


@rule(
    "mode_collapse",
    needs=[("samples",), ("G_loss", "D_G_z_prob"), ("sample_metric",), ("sample_recall",)],
)
def mode_collapse(ctx: RuleContext) -> list[Finding]:
    """Mode collapse: fixed-noise samples lose their diversity or hop between modes across
    checkpoints; low recall/coverage with fair precision; G loss drops while D(G(z))
    oscillates; FID jumps.
    """
    out: list[Finding] = []
    if available(ctx, "samples"):
        out += _collapse_from_samples(ctx)
        out += collapse_from_hopping(ctx)
        chance = flat_at_chance(ctx)
        if not out and chance is not None:
            out += _collapse_behind_chance(ctx, chance)
    if available(ctx, "sample_recall"):
        out += collapse_from_recall(ctx)
    if ctx.has("G_loss") and ctx.has("D_G_z_prob"):
        out += _collapse_from_metrics(ctx)
    sm = ctx.sample_metric()
    if len(sm) >= 2 and not higher_is_better(ctx.select_metric):
        out += fid_jumps(ctx, sm)
    return out


def _collapse_from_samples(ctx: RuleContext) -> list[Finding]:
    from ..diversity import real_diversity, sample_diversity

    th = ctx.th
    div = sample_diversity(ctx.run)
    off = {int(g.step) for g in ctx.run.samples if ran_off(g, th)}
    if off:  # clipped far out: a divergence (stability.ran_off), not a collapse
        div = div[~div["step"].isin(off)].reset_index(drop=True)
    ctx.diversity = div
    if len(div) < 2:
        return []
    real = real_diversity(ctx.run, side=int(div["side"].iloc[0]))
    steps = div["step"].to_numpy()
    d = div["diversity"].to_numpy()
    # The first grid (often the untrained G at step 0) never counts as collapsed, and with
    # 4+ grids it is not a reference either (an untrained G's noise can look very diverse).
    first_ref = 1 if len(d) >= 4 else 0
    ref_d = np.where(np.arange(len(d)) >= first_ref, d, np.nan)
    prev_peak = np.r_[np.nan, np.fmax.accumulate(np.nan_to_num(ref_d, nan=-np.inf))[:-1]]
    prev_peak[~np.isfinite(prev_peak)] = np.nan
    dup = div["near_duplicates"].to_numpy()
    fell = d < th["collapse_ratio"] * prev_peak  # (a) diversity fell far below its earlier peak
    dups = dup >= th["collapse_dup_frac"]  # (b) many samples are near-copies of each other
    # (c) the run ends far below real data's diversity and is not still climbing (a G
    # that is still learning sets a new diversity peak with its last grid)
    low_real = np.zeros(len(d), dtype=bool)
    if real is not None:
        below = d < th["collapse_real_ratio"] * real
        still_rising = len(d) >= 2 and d[-1] >= np.nanmax(d[:-1])
        if below[-1] and not still_rising:
            k = len(d) - 1
            while k - 1 >= 1 and below[k - 1]:
                k -= 1
            low_real[k:] = True
    collapsed = fell | dups | low_real
    collapsed[0] = False
    if not collapsed.any():
        return []
    idx = np.flatnonzero(collapsed)
    ongoing = bool(collapsed[-1])
    i0, i1 = int(idx[0]), int(idx[-1])
    f0 = int(np.flatnonzero(fell)[0]) if fell[1:].any() else i0
    peak_i = int(np.nanargmax(ref_d[:f0])) if np.isfinite(ref_d[:f0]).any() else 0
    nums: dict[str, Any] = {
        "diversity_first_collapsed": float(d[i0]),
        "diversity_last": float(d[-1]),
        "earlier_peak": float(d[peak_i]),
        "earlier_peak_step": int(steps[peak_i]),
        "near_duplicate_pairs_last": float(dup[-1]),
        "grids": int(len(d)),
        "collapsed_grids": int(collapsed.sum()),
        "criteria": [
            c
            for c, m in (
                ("fell_below_earlier_peak", fell),
                ("near_duplicates", dups),
                ("far_below_real_data", low_real),
            )
            if m[1:].any()
        ],
    }
    why = []
    if fell[1:].any():
        why.append(
            f"fell to {fmt_sig(d[f0])} at step {int(steps[f0])}, below "
            f"{fmt_pct(th['collapse_ratio'])} of its earlier peak {fmt_sig(d[peak_i])} "
            f"(step {int(steps[peak_i])})"
        )
    if dups[1:].any():
        why.append(f"up to {fmt_pct(float(np.nanmax(dup[1:])))} near-duplicate sample pairs")
    if real is not None:
        nums["real_diversity"] = real
        nums["last_vs_real"] = float(d[-1] / real)
        if low_real.any():
            why.append(
                f"ends at {fmt_pct(d[-1] / real)} of the real data's diversity {fmt_sig(real)}"
            )
    msg = (
        f"Fixed-noise sample diversity (mean pairwise RMS distance) {fmt_sig(d[i0])} "
        f"at step {int(steps[i0])}, last {fmt_sig(d[-1])} at step {int(steps[-1])}: "
        + "; ".join(why)
        + f"; {int(collapsed.sum())} of {len(d)} grids affected."
    )
    # which checkpoint to keep is the run's one recommendation (analysis.recommendation)
    action = (
        "G draws few distinct samples: lower G's learning rate or G steps per D step, "
        "add minibatch discrimination / minibatch-std, use a loss less prone to collapse "
        "(WGAN-GP, hinge with spectral norm) or unrolled D."
    )
    title = (
        "Mode collapse (samples lost their diversity)"
        if (fell[1:].any() or dups[1:].any())
        else "Mode collapse (samples far less diverse than the real data)"
    )
    return [
        Finding(
            rule="mode_collapse",
            severity="error" if ongoing else "warning",
            title=title,
            message=msg,
            action=action,
            start_step=int(steps[i0]),
            end_step=int(steps[-1]) if ongoing else int(steps[i1]),
            numbers=nums,
            metrics=["samples"],
        )
    ]


def flat_at_chance(ctx: RuleContext) -> dict[str, Any] | None:
    """D flat at chance for the whole run: its outputs within chance_tol of 0.5 (or, without
    them, the D and G losses within chance_tol, relative, of their equilibrium values) in at
    least chance_share of the bins. A D that tells nothing apart either faces a perfect G or
    no longer learns, so it is a collapse signal when the samples agree. None otherwise."""
    th = ctx.th
    tol, share = th["chance_tol"], th["chance_share"]
    if ctx.has("D_x_prob") and ctx.has("D_G_z_prob"):
        bx = ctx.bins("D_x_prob", ctx.prob("D_x"))["med"]
        bg = ctx.bins("D_G_z_prob", ctx.prob("D_G_z"))["med"]
        ok = np.isfinite(bx) & np.isfinite(bg)
        near = (np.abs(bx - 0.5) <= tol) & (np.abs(bg - 0.5) <= tol)
        if ok.sum() >= ctx.need_bins() and near[ok].mean() >= share:
            return {
                "D_x": float(np.nanmedian(bx)),
                "D_G_z": float(np.nanmedian(bg)),
                "share": float(near[ok].mean()),
                "words": f"D(x) {fmt_sig(float(np.nanmedian(bx)))} and D(G(z)) "
                f"{fmt_sig(float(np.nanmedian(bg)))}",
            }
        return None
    eq = ctx.eq
    if eq is None or not eq.d_loss or not eq.g_loss:
        return None
    if not (ctx.has("D_loss") and ctx.has("G_loss")):
        return None
    bd = ctx.bins("D_loss")["med"]
    bgl = ctx.bins("G_loss")["med"]
    ok = np.isfinite(bd) & np.isfinite(bgl)
    if ok.sum() < ctx.need_bins():
        return None
    dl, gl = float(np.nanmedian(bd)), float(np.nanmedian(bgl))
    # the D loss against the equilibrium of each loss convention consistent with the run
    for name, d_eq in sorted(consistent_d_equilibria(eq, dl, gl).items()):
        near = (np.abs(bd / d_eq - 1) <= tol) & (np.abs(bgl / eq.g_loss - 1) <= tol)
        if near[ok].mean() >= share:
            return {
                "D_loss": dl,
                "G_loss": gl,
                "share": float(near[ok].mean()),
                "words": f"D loss {fmt_sig(dl)} and G loss {fmt_sig(gl)} (equilibrium "
                f"{fmt_sig(d_eq)} and {fmt_sig(eq.g_loss)} under {name})",
            }
    return None


def _collapse_behind_chance(ctx: RuleContext, chance: dict[str, Any]) -> list[Finding]:
    """With D flat at chance, the sample criteria at the chance_* thresholds: weaker sample
    evidence suffices because the D's outputs point the same way."""
    th0 = ctx.th
    relaxed = dict(
        th0,
        collapse_ratio=th0["chance_collapse_ratio"],
        collapse_real_ratio=th0["chance_collapse_ratio"],
        collapse_dup_frac=th0["chance_dup_frac"],
        hop_min_hops=1,
    )
    ctx.th = relaxed
    try:
        found = _collapse_from_samples(ctx) + collapse_from_hopping(ctx)
    finally:
        ctx.th = th0
    if not found:
        drift = centre_drift(ctx)
        if drift is not None and drift["drift"] >= th0["chance_drift_min"]:
            found = [
                Finding(
                    rule="mode_collapse",
                    severity="error",
                    title="Mode collapse behind a D flat at chance",
                    message=f"The mean sample moves between consecutive grids (steps "
                    f"{drift['first_step']}-{drift['last_step']}) a median "
                    f"{fmt_sig(drift['drift'])}x what sampling {drift['samples']} samples "
                    f"alone moves it (>= {fmt_sig(th0['chance_drift_min'])}): each checkpoint "
                    "draws a different part of the data",
                    action="G covers a different set of modes at each checkpoint while D "
                    "cannot tell: raise G's diversity (minibatch-std in D, packed D, a "
                    "lower learning rate for both) and check that D still learns.",
                    start_step=drift["first_step"],
                    end_step=drift["last_step"],
                    numbers={"centre_drift": drift["drift"], "grid_pairs": drift["pairs"]},
                    metrics=["samples"],
                )
            ]
    out = []
    for f in found[:1]:
        f.title = "Mode collapse behind a D flat at chance"
        f.message = (
            f"D flat at chance for {fmt_pct(chance['share'])} of the run ({chance['words']}) "
            "and the samples agree: "
            + f.message[0].lower()
            + f.message[1:].rstrip(".")
            + " (sample thresholds for a D at chance: diversity below "
            f"{fmt_pct(th0['chance_collapse_ratio'])} of its peak or of the real data's, "
            f"{fmt_pct(th0['chance_dup_frac'])} near-copies, one hop, or the mean sample "
            f"drifting {fmt_sig(th0['chance_drift_min'])}x its sampling noise)."
        )
        f.numbers = dict(f.numbers, d_at_chance=chance["share"])
        f.metrics = list(f.metrics) + [
            ctx.column(n) for n in (("D_x", "D_G_z") if "D_x" in chance else ("D_loss", "G_loss"))
        ]
        out.append(f)
    return out


def _collapse_from_metrics(ctx: RuleContext) -> list[Finding]:
    th = ctx.th
    gl = ctx.bins("G_loss")["med"]
    dgb = ctx.bins("D_G_z_prob", ctx.prob("D_G_z"))
    disp = dgb["disp"]
    if ctx.nb < 8:
        return []
    dG = np.diff(gl)
    ok = np.isfinite(dG)
    if ok.sum() < 5:
        return []
    c = np.median(dG[ok])
    mad = 1.4826 * np.median(np.abs(dG[ok] - c))
    if not mad > 0:
        return []
    z = (dG - c) / mad
    dmed = np.nanmedian(disp)
    if not (np.isfinite(dmed) and dmed > 0):
        return []
    osc = (disp > th["collapse_dgz_osc"] * dmed) & (disp >= th["collapse_dgz_min_disp"])
    osc_near = osc[1:] | osc[:-1]  # oscillation in either bin of the drop
    g_eq = ctx.eq.g_loss if ctx.eq else None
    scale = abs(g_eq) if g_eq else float(np.nanmedian(np.abs(gl)))
    hit = (
        (z < -th["collapse_g_drop_z"]) & (-dG >= th["collapse_g_drop_min_frac"] * scale) & osc_near
    )
    warm = max(1, int(math.ceil(th["warmup_fraction"] * ctx.nb)))
    hit[:warm] = False  # a drop between bins i and i + 1: both past the warm-up
    if not hit.any():
        return []
    idx = np.flatnonzero(hit) + 1  # bin after the drop
    i0, i1 = int(idx[0]), int(idx[-1])
    drop = float(-np.nanmin(dG[hit]))
    msg = (
        f"G loss dropped sharply ({len(idx)} drop(s), largest {fmt_sig(drop)} between "
        f"bins, robust z {fmt_sig(float(np.nanmin(z[hit])))}) while D(G(z))'s dispersion "
        f"was {fmt_sig(float(np.nanmax(disp[idx])))} ("
        f"{fmt_sig(float(np.nanmax(disp[idx]) / dmed))}x "
        f"its median), from step {int(ctx.bin_start[i0])} to {int(ctx.bin_end[i1])}. A hint, "
        "not a verdict: in the truth lab this pattern never told a collapsed run from a healthy "
        "one, and healthy runs show it when logged as averages; the samples decide."
    )
    return [
        Finding(
            rule="mode_collapse",
            severity="info",
            title="Possible mode collapse (G loss drops while D(G(z)) oscillates)",
            message=msg,
            action="Look at the fixed-noise samples around these steps; if they look alike, "
            "lower G's learning rate or add minibatch-std / minibatch discrimination.",
            start_step=int(ctx.bin_start[i0]),
            end_step=int(ctx.bin_end[i1]),
            numbers={
                "drops": int(len(idx)),
                "largest_drop": drop,
                "dgz_dispersion_ratio": float(np.nanmax(disp[idx]) / dmed),
            },
            metrics=[ctx.column("G_loss"), ctx.column("D_G_z")],
        )
    ]
