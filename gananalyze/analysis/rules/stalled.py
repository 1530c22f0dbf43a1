"""Rules about a side that stopped learning: a D (or critic) loss flat for a sustained
stretch while the G loss moves (a clamped log, a saturated sigmoid, a D that no longer
updates)."""

from __future__ import annotations

import numpy as np

from ...textfmt import fmt_pct, fmt_sig
from ..findings import Finding
from .context import RuleContext, last_bin_with_data, sustained_stretch
from .registry import rule


@rule("d_stalled", needs=("D_loss", "G_loss"))
def d_stalled(ctx: RuleContext) -> list[Finding]:
    """D has stopped learning: its loss flat (within and between bins) for a sustained
    stretch while the G loss moves."""
    th = ctx.th
    bd = ctx.bins("D_loss")
    med, disp = bd["med"].to_numpy(), bd["disp"].to_numpy()
    level = np.maximum(np.abs(med), 1e-3)
    tol = th["stall_flat_rel"] * level
    step = np.abs(np.diff(med, prepend=med[:1]))
    flat = (step <= tol) & (np.nan_to_num(disp, nan=0.0) <= tol)
    pick = sustained_stretch(flat, ctx.need_bins(), last_bin_with_data(med))
    if not pick:
        return []
    a, z, ongoing = pick
    d_val = float(np.nanmedian(med[a : z + 1]))
    if not np.isfinite(d_val) or abs(d_val) < 1e-6:
        return []  # a D loss of zero is D winning outright: d_overpowering's business
    g = ctx.bins("G_loss")["med"].to_numpy()[a : z + 1]
    g = g[np.isfinite(g)]
    if g.size < 2:
        return []
    g_move = float(np.max(g) - np.min(g))
    g_level = max(float(np.median(np.abs(g))), 1e-3)
    if g_move < th["stall_other_move"] * g_level:
        return []  # both sides flat: a converged or idle run, not a stalled D
    b0, b1 = int(ctx.bin_start[a]), int(ctx.bin_end[z])
    frac = (z - a + 1) / ctx.nb
    span = f"from step {b0}" + (" to the end" if ongoing else f" to {b1}")
    msg = (
        f"{ctx.label('D_loss')} flat at {fmt_sig(d_val)} (within "
        f"{fmt_sig(100 * th['stall_flat_rel'])}%) {span} ({fmt_pct(frac)} of the run) while "
        f"{ctx.label('G_loss')} moved between {fmt_sig(float(g[0]))} and "
        f"{fmt_sig(float(g[-1]))} (range {fmt_sig(g_move)})."
    )
    return [
        Finding(
            rule="d_stalled",
            severity="warning",
            title="Discriminator stopped learning (loss flat)",
            message=msg,
            action="Check D's loss for a clamp (log(sigmoid(x) + eps) pins at -log(eps)), a "
            "saturated sigmoid, a frozen or detached D (requires_grad, optimizer step) or a "
            "learning rate of zero; for a WGAN critic, check the weight clipping range.",
            start_step=b0,
            end_step=b1,
            numbers={"D_loss": d_val, "G_loss_range": g_move, "fraction_of_run": frac},
            metrics=[ctx.column("D_loss"), ctx.column("G_loss")],
        )
    ]
