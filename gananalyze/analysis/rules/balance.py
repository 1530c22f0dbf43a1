"""Rules about the balance between D and G: D overpowers G, G fools D, healthy equilibrium."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ...naming.aliases import config_hints
from ...textfmt import fmt_pct, fmt_sig
from ..findings import Finding
from .context import RuleContext, last_bin_with_data, sustained_stretch
from .conventions import (
    fooled_everywhere,
    implied_before,
    implied_fooling,
    loss_type_known,
    run_d_equilibria,
)
from .registry import rule

_SOURCE_WORDS = {
    "run": "loss type declared by the run",
    "config": "loss type from the config",
    "data": "loss type inferred from the data",
    "assumed": "the format's default loss type",
}


def _needs_probs_or_equilibrium(ctx: RuleContext) -> str | None:
    if ctx.has("D_x_prob") and ctx.has("D_G_z_prob"):
        return None
    if ctx.eq is not None and ctx.eq.d_loss is None:
        return (
            f"not applicable: a {ctx.eq.loss} loss has no equilibrium value to compare "
            "with; needs D(x) and D(G(z))"
        )
    return None


@rule(
    "d_overpowering",
    needs=[("D_x_prob", "D_G_z_prob"), ("D_loss",)],
    applies=_needs_probs_or_equilibrium,
)
def d_overpowering(ctx: RuleContext) -> list[Finding]:
    """D overpowers G: D(x) near 1 and D(G(z)) near 0 (or D loss near 0), sustained."""
    th = ctx.th
    eq = ctx.eq
    use_probs = ctx.has("D_x_prob") and ctx.has("D_G_z_prob")
    implied = None
    if use_probs:
        bx = ctx.bins("D_x_prob", ctx.prob("D_x"))["med"]
        bg = ctx.bins("D_G_z_prob", ctx.prob("D_G_z"))["med"]
        mask = (bx >= th["d_over_dx_min"]) & (bg <= th["d_over_dgz_max"])
        # D still clearly winning: the stretch goes on while D(x) - D(G(z)) stays this wide
        hold = (bx - bg) >= th["d_over_hold_gap"]
        last = last_bin_with_data(bx, bg)
    else:
        if eq is None or eq.d_loss is None:
            return []
        bd = ctx.bins("D_loss")["med"]
        mask = bd <= th["d_over_loss_frac"] * eq.d_loss
        hold = bd <= 2 * th["d_over_loss_frac"] * eq.d_loss
        if ctx.has("G_loss") and not loss_type_known(eq):
            fits = _g_loss_fits_d_winning(ctx.bins("G_loss")["med"], bd)
            mask, hold = mask & fits, hold & fits
        # Under LSGAN the loss-only test needs D loss < 7.5% of 0.25, i.e. D near perfect; the
        # G loss says more. Not under BCE: there d_over_loss_frac already means D(G(z)) ~ 0.05,
        # and pix2pix-style runs hold a low implied D(G(z)) while training well.
        implied = implied_dgz(ctx) if eq.loss == "lsgan" else None
        if implied is not None:
            bi = ctx.bins("__implied_dgz", implied[0])["med"]
            by_g = (bi <= th["d_over_implied_dgz_max"]) & (
                bd <= th["d_over_implied_loss_frac"] * eq.d_loss
            )
            mask = mask | by_g
            hold = hold | by_g
        last = last_bin_with_data(bd)
    # The D loss is read even when D's outputs are logged: a D loss under d_over_loss_frac of
    # the smallest equilibrium of every convention consistent with the run, with (when a G
    # loss is logged) the G loss implying D(G(z)) <= d_over_implied_dgz_max as -log D(G(z)),
    # is D winning whatever the convention
    robust = _robust_loss_mask(ctx)
    if robust is not None:
        mask = mask | robust[0]
        hold = hold | robust[0]
    pick = sustained_stretch(mask, ctx.need_bins(), last)
    if not pick:
        return []
    a, z, ongoing = pick
    while not ongoing and z + 1 <= last and (hold[z + 1] or (z + 2 <= last and hold[z + 2])):
        z += 1  # severity follows the end: a D that still wins keeps the stretch open
        ongoing = z >= last
    b0, b1 = ctx.bin_start[a], ctx.bin_end[z]
    nums: dict[str, Any] = {"bins": int(z - a + 1), "fraction_of_run": (z - a + 1) / ctx.nb}
    parts = []
    metrics = []
    if use_probs:
        dx, dg = float(np.nanmedian(bx[a : z + 1])), float(np.nanmedian(bg[a : z + 1]))
        nums.update(D_x=dx, D_G_z=dg)
        parts.append(f"D(x) {fmt_sig(dx)} and D(G(z)) {fmt_sig(dg)}")
        metrics += [ctx.column("D_x"), ctx.column("D_G_z")]
    if ctx.has("D_loss"):
        bd = ctx.bins("D_loss")["med"]
        dl = float(np.nanmedian(bd[a : z + 1]))
        nums["D_loss"] = dl
        parts.append(
            f"D loss {fmt_sig(dl)}"
            + (f" (equilibrium {fmt_sig(eq.d_loss)})" if eq and eq.d_loss is not None else "")
        )
        metrics.append(ctx.column("D_loss"))
    if implied is not None:
        dgi = float(np.nanmedian(ctx.bins("__implied_dgz")["med"][a : z + 1]))
        nums.update(D_G_z_implied=dgi, implied_from=implied[1])
        parts.append(f"D(G(z)) {fmt_sig(dgi)} implied by the G loss under {implied[1]}")
    if ctx.has("G_loss"):
        bgl = ctx.bins("G_loss")["med"]
        before = bgl[:a] if a >= 1 else bgl[:1]
        g_before = ctx.baseline(before) if before.size else float("nan")
        g_in = float(np.nanmedian(bgl[a : z + 1]))
        nums.update(G_loss_before=g_before, G_loss_during=g_in)
        trend = "rose" if g_in > g_before else "fell"
        parts.append(f"G loss {trend} from {fmt_sig(g_before)} to {fmt_sig(g_in)}")
        metrics.append(ctx.column("G_loss"))
    if ctx.has("G_grad_norm"):
        bgg = ctx.bins("G_grad_norm")["med"]
        early = ctx.baseline(bgg)
        during = float(np.nanmedian(bgg[a : z + 1]))
        if np.isfinite(early) and early > 0:
            nums.update(
                G_grad_norm_early=early,
                G_grad_norm_during=during,
                G_grad_shrink=early / max(during, 1e-30),
            )
            ratio = early / max(during, 1e-30)
            how = (
                f"{fmt_sig(ratio)}x smaller"
                if ratio >= 1
                else f"{fmt_sig(during / early)}x larger: G still gets a gradient"
            )
            parts.append(f"G gradient norm {fmt_sig(early)} -> {fmt_sig(during)} ({how})")
        metrics.append(ctx.column("G_grad_norm"))
    span = f"from step {int(b0)}" + (" to the end" if ongoing else f" to {int(b1)}")
    msg = (
        f"D wins {span} ({fmt_pct(nums['fraction_of_run'])} of the run): " + "; ".join(parts) + "."
    )
    all_conventions = (
        robust is not None and len(robust[1]) > 1 and bool(robust[0][a : z + 1].mean() >= 0.5)
    )
    assumed = not use_probs and not loss_type_known(eq) and not all_conventions
    if all_conventions:
        nums["conventions"] = sorted(robust[1])
        msg += (
            " This holds under every loss convention consistent with the data ("
            + ", ".join(sorted(robust[1]))
            + ")."
        )
    elif not use_probs and eq is not None:
        msg += f" Judged against the {eq.loss.upper()} equilibrium" + (
            " (loss type unknown: assumed; it depends on that convention)."
            if assumed
            else f" ({_SOURCE_WORDS.get(eq.source, eq.source)})."
        )
    action = (
        "Weaken D or strengthen G: lower D's learning rate (or raise G's, TTUR), "
        "fewer D steps per G step, one-sided label smoothing or instance noise"
    )
    if eq is not None and eq.loss == "bce" and not g_saturating(ctx):
        action += " (the G loss is already the non-saturating -log D(G(z)))"
    elif eq is not None and eq.loss == "bce":
        action += ", and the non-saturating G loss -log D(G(z))"
    # which checkpoint to resume from (or none) is the run's one recommendation
    # (analysis.recommendation), which weighs every error; a run without checkpoints restarts
    restart = "; no checkpoints were saved, so restart with these changes."
    action += "." if ctx.run.checkpoints else restart
    return [
        Finding(
            rule="d_overpowering",
            severity="error" if ongoing and not assumed else "warning",
            title="Discriminator overpowers the generator",
            message=msg,
            action=action,
            start_step=int(b0),
            end_step=int(b1),
            numbers=nums,
            metrics=metrics,
        )
    ]


def _g_loss_fits_d_winning(g: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Per bin: whether the G loss fits a D that wins under some loss convention with an
    equilibrium: a G loss of 0.1 or more (-log D(G(z)) with D(G(z)) small, LSGAN's
    (D(G(z)) - 1)^2, hinge's -D(G(z)) >= 1), or a saturating log(1 - D(G(z))) <= 0 whose size
    the D loss bounds (the D loss holds the same fake term: -G <= D loss, twice it when the
    terms are averaged). A G loss between 0 and 0.1, or a negative one larger than that, fits
    none of them when D's loss is near 0: the small raw scores of a clipped Wasserstein
    critic, not a D that wins. NaN bins fit (nothing to contradict)."""
    with np.errstate(invalid="ignore"):
        fits = (g >= 0.1) | ((g <= 0) & (-g <= 2 * d + 1e-3))
    return fits | ~np.isfinite(g) | ~np.isfinite(d)


def _robust_loss_mask(ctx: RuleContext) -> tuple[np.ndarray, dict[str, float]] | None:
    """Per bin: D wins by its loss under every convention consistent with the run (see the
    call); with the conventions. None without a D loss or for Wasserstein losses."""
    th = ctx.th
    if not ctx.has("D_loss"):
        return None
    bd = ctx.bins("D_loss")["med"]
    cands = run_d_equilibria(ctx)
    if not cands:
        return None
    mask = bd <= th["d_over_loss_frac"] * min(cands.values())
    if ctx.has("G_loss"):
        g = ctx.bins("G_loss")["med"]
        mask &= g >= -math.log(th["d_over_implied_dgz_max"])
    return mask, cands


def g_saturating(ctx: RuleContext) -> bool:
    """Whether the G loss is the saturating log(1 - D(G(z))) (config g_loss, or its sign)."""
    if config_hints(ctx.run.config).get("g_loss", ("",))[0] == "saturating":
        return True
    g = ctx.finite("G_loss").to_numpy()
    return bool(g.size >= ctx.th["min_points"] and (g < 0).mean() > 0.9)


def implied_dgz(ctx: RuleContext) -> tuple[pd.Series, str] | None:
    """D(G(z)) implied by the G loss under the run's loss type, and the convention's name.

    Non-saturating BCE: G = -log D(G(z)); saturating BCE: G = log(1 - D(G(z))); LSGAN:
    G = (D(G(z)) - 1)^2. None for hinge/Wasserstein (raw scores, no probability) or
    without a G loss. A G loss with extra terms (L1, cycle) implies a lower D(G(z))
    than the true one, so findings name the convention they assumed.
    """
    eq = ctx.eq
    g = ctx.finite("G_loss")
    if eq is None or len(g) < ctx.th["min_points"] or eq.loss not in ("bce", "lsgan"):
        return None
    v = g.to_numpy(dtype=np.float64)
    if eq.loss == "lsgan":
        p, name = 1.0 - np.sqrt(np.clip(v, 0.0, 1.0)), "LSGAN (D(G(z)) - 1)^2"
    elif g_saturating(ctx):
        p, name = 1.0 - np.exp(np.minimum(v, 0.0)), "saturating BCE log(1 - D(G(z)))"
    else:
        p, name = np.exp(-np.maximum(v, 0.0)), "non-saturating BCE -log D(G(z))"
    if not loss_type_known(eq):
        name += ", loss type assumed"
    return pd.Series(p, index=g.index), name


_G_OVER_ACTION = (
    "Strengthen D: raise its learning rate or take more D steps per G step, check that D is "
    "not crippled (dropout, too small, wrong labels) and still updates, and look at the "
    "samples: G may be exploiting a D blind spot (mode collapse)."
)


def _needs_outputs_or_implied(ctx: RuleContext) -> str | None:
    if not ctx.has("D_G_z_prob") and ctx.eq is not None and ctx.eq.d_loss is None:
        return f"not applicable: a {ctx.eq.loss} critic's losses imply no D(G(z)); needs D(G(z))"
    return None


@rule(
    "g_overpowering",
    needs=[("D_G_z_prob",), ("G_loss", "D_loss")],
    applies=_needs_outputs_or_implied,
)
def g_overpowering(ctx: RuleContext) -> list[Finding]:
    """G fools D: D(G(z)) sustained above g_over_dgz_min (D loss rising); without D's
    outputs, as the losses imply it under every convention consistent with them
    (`_fooled_by_losses`)."""
    if not ctx.has("D_G_z_prob"):
        return _fooled_by_losses(ctx)
    th = ctx.th
    bg = ctx.bins("D_G_z_prob", ctx.prob("D_G_z"))["med"]
    pick = sustained_stretch(bg > th["g_over_dgz_min"], ctx.need_bins(), last_bin_with_data(bg))
    if not pick:
        return []
    a, z, ongoing = pick
    dg = float(np.nanmedian(bg[a : z + 1]))
    nums: dict[str, Any] = {"D_G_z": dg, "fraction_of_run": (z - a + 1) / ctx.nb}
    parts = [f"D(G(z)) {fmt_sig(dg)}"]
    metrics = [ctx.column("D_G_z")]
    if ctx.has("D_x_prob"):
        dx = float(np.nanmedian(ctx.bins("D_x_prob", ctx.prob("D_x"))["med"][a : z + 1]))
        if dx >= 0.999 and dg >= 0.999:
            return []  # D says 1.0 to everything: saturated, not fooled (d_clamped)
        nums["D_x"] = dx
        parts.append(f"D(x) {fmt_sig(dx)}")
        metrics.append(ctx.column("D_x"))
    if ctx.has("D_loss"):
        bd = ctx.bins("D_loss")["med"]
        early, during = ctx.baseline(bd), float(np.nanmedian(bd[a : z + 1]))
        cands = run_d_equilibria(ctx)
        if cands and during >= th["loss_far_ratio"] * max(cands.values()):
            return []  # D's outputs are saturated means, not a fooled D: divergence says it
        nums.update(D_loss_early=early, D_loss_during=during)
        parts.append(
            f"D loss {'rose' if during > early else 'went'} from "
            f"{fmt_sig(early)} to {fmt_sig(during)}"
        )
        metrics.append(ctx.column("D_loss"))
    return [_fooled_finding(ctx, (a, z, ongoing), ": " + "; ".join(parts), nums, metrics)]


def _fooled_finding(
    ctx: RuleContext, pick: tuple[int, int, bool], what: str, nums: dict, metrics: list[str]
) -> Finding:
    """The g_overpowering finding over the stretch `pick` (first bin, last bin, ongoing):
    its span, then `what` the evidence says."""
    a, z, ongoing = pick
    b0, b1 = int(ctx.bin_start[a]), int(ctx.bin_end[z])
    nums["fraction_of_run"] = (z - a + 1) / ctx.nb
    return Finding(
        rule="g_overpowering",
        severity="warning",
        title="Generator fools the discriminator",
        message=f"D rates fakes as real from step {b0}"
        + (" to the end" if ongoing else f" to {b1}")
        + f" ({fmt_pct(nums['fraction_of_run'])} of the run)"
        + f"{what}.",
        action=_G_OVER_ACTION,
        start_step=b0,
        end_step=b1,
        numbers=nums,
        metrics=metrics,
    )


def fooled_bins(ctx: RuleContext) -> tuple[np.ndarray, np.ndarray]:
    """Per bin: whether D rates G's samples as real (D(G(z)) >= g_over_dgz_min), and that
    D(G(z)): from D's outputs when logged, else the smallest the G loss implies under every
    convention the paired losses fit (conventions.implied_fooling). All False without either."""
    th = ctx.th
    if ctx.has("D_G_z_prob"):
        bg = ctx.bins("D_G_z_prob", ctx.prob("D_G_z"))["med"]
        with np.errstate(invalid="ignore"):
            return np.isfinite(bg) & (bg > th["g_over_dgz_min"]), bg
    none = np.zeros(ctx.nb, bool), np.full(ctx.nb, np.nan)
    if not (ctx.has("G_loss") and ctx.has("D_loss")):
        return none
    conv = implied_fooling(ctx.eq, ctx.bins("G_loss")["med"], ctx.bins("D_loss")["med"])
    return fooled_everywhere(conv, th["g_over_dgz_min"]) if conv else none


def _fooled_by_losses(ctx: RuleContext) -> list[Finding]:
    """G fools D as its losses imply (no D outputs logged): for a sustained stretch, the G loss
    implies D(G(z)) >= g_over_dgz_min under every G-loss convention the paired G and D losses
    fit (conventions.implied_fooling; one must fit), and the D loss rose above its level
    before the stretch (a fooled D loses ground; a G loss shrunk by a weight alone would
    not move it) and levels off within it (its end under chance_plateau_ratio x the
    stretch's first half: a D loss still climbing is G's samples running away, the
    divergence rule's), and the G loss before the stretch did not imply a fooled D already
    (`implied_before`: a G loss on another scale, such as one logged after a weight)."""
    th = ctx.th
    bg, bd = ctx.bins("G_loss")["med"], ctx.bins("D_loss")["med"]
    conv = implied_fooling(ctx.eq, bg, bd)
    if not conv:
        return []
    holds, low = fooled_everywhere(conv, th["g_over_dgz_min"])
    pick = sustained_stretch(holds, ctx.need_bins(), last_bin_with_data(bg, bd))
    if not pick:
        return []
    a, z, ongoing = pick
    if a == 0:
        return []  # no level before the stretch to say D lost ground against
    d_before = ctx.baseline(bd[:a])
    d_during = float(np.nanmedian(bd[a : z + 1]))
    g_before = ctx.baseline(bg[:a])
    g_during = float(np.nanmedian(bg[a : z + 1]))
    if not (np.isfinite(d_before) and d_during > d_before * (1 + th["g_over_d_rise"])):
        return []
    inside = bd[a : z + 1]
    if ctx.tail(inside) > th["chance_plateau_ratio"] * float(
        np.nanmedian(inside[: max(1, len(inside) // 2)])
    ):
        return []  # the D loss still climbing: G's samples running away (divergence's)
    fits = sorted(
        name for name, (f, _) in conv.items() if bool(f[a : z + 1][holds[a : z + 1]].any())
    )
    if implied_before(ctx.eq, g_before, fits) >= th["g_over_dgz_min"]:
        return []  # the G loss said "fooled" before the stretch too: no event, a scale
    dg = float(np.nanmedian(low[a : z + 1]))
    what = (
        ", as the losses imply (D's outputs were not logged): "
        f"G loss fell from {fmt_sig(g_before)} to {fmt_sig(g_during)}, which implies D(G(z)) "
        f"of about {fmt_sig(dg)} "
        + (
            f"under the one loss convention these numbers fit ({fits[0]})"
            if len(fits) == 1
            else "or more under every loss convention these numbers fit (" + ", ".join(fits) + ")"
        )
        + f"; D loss rose from {fmt_sig(d_before)} to {fmt_sig(d_during)}"
    )
    nums = {
        "D_G_z_implied": dg,
        "conventions": fits,
        "G_loss_before": g_before,
        "G_loss_during": g_during,
        "D_loss_before": d_before,
        "D_loss_during": d_during,
    }
    metrics = [ctx.column("G_loss"), ctx.column("D_loss")]
    return [_fooled_finding(ctx, (a, z, ongoing), what, nums, metrics)]


@rule(
    "healthy_equilibrium",
    needs=[("D_x_prob", "D_G_z_prob"), ("D_loss", "G_loss")],
    applies=_needs_probs_or_equilibrium,
)
def healthy_equilibrium(ctx: RuleContext) -> list[Finding]:
    """D(x) and D(G(z)) near 0.5 and the losses near their
    equilibrium values at the end of the run.
    """
    th = ctx.th
    eq = ctx.eq
    checks = []
    nums: dict[str, Any] = {}
    metrics = []
    if ctx.has("D_x_prob") and ctx.has("D_G_z_prob"):
        dx = ctx.tail(ctx.bins("D_x_prob", ctx.prob("D_x"))["med"])
        dg = ctx.tail(ctx.bins("D_G_z_prob", ctx.prob("D_G_z"))["med"])
        nums.update(D_x=dx, D_G_z=dg)
        near = abs(dx - 0.5) <= th["eq_prob_tol"] and abs(dg - 0.5) <= th["eq_prob_tol"]
        checks.append(near and dg <= dx + th["eq_order_tol"])  # not rating fakes over reals
        metrics += [ctx.column("D_x"), ctx.column("D_G_z")]
    if eq is not None and eq.d_loss is not None:
        for name, ref in (("D_loss", eq.d_loss), ("G_loss", eq.g_loss)):
            if ctx.has(name) and ref is not None:
                val = ctx.tail(ctx.bins(name)["med"])
                nums[name] = val
                nums[name + "_equilibrium"] = ref
                f = th["eq_loss_factor"]
                checks.append(
                    ref / f <= val <= ref * f
                    if ref > 0
                    else abs(val - ref) <= (f - 1) * max(abs(ref), 0.5)
                )
                metrics.append(ctx.column(name))
    if not checks or not all(checks):
        return []
    parts = []
    if "D_x" in nums:
        parts.append(
            f"D(x) {fmt_sig(nums['D_x'])}, D(G(z)) {fmt_sig(nums['D_G_z'])} "
            f"(0.5 +- {th['eq_prob_tol']})"
        )
    for name in ("D_loss", "G_loss"):
        if name in nums:
            parts.append(
                f"{ctx.label(name)} {fmt_sig(nums[name])} (equilibrium "
                f"{fmt_sig(nums[name + '_equilibrium'])})"
            )
    k0 = ctx.nb - max(1, int(math.ceil(th["tail_fraction"] * ctx.nb)))
    return [
        Finding(
            rule="healthy_equilibrium",
            severity="info",
            title="Healthy equilibrium",
            message=f"Over the last {fmt_pct(th['tail_fraction'])} of the run: "
            + "; ".join(parts)
            + ".",
            action="Nothing to fix; pick the checkpoint with the best sample metric.",
            start_step=int(ctx.bin_start[k0]),
            end_step=int(ctx.bin_end[-1]),
            numbers=nums,
            metrics=metrics,
        )
    ]
