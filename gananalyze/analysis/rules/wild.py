"""Instability present from the first step (issue 15, item 7): a loss whose spikes dwarf
its own typical size, and that flips sign at most steps when it is signed, judged against
the scale the loss type implies (its equilibrium value) or the whole run's typical
magnitude, never only against the run's own start (which may be wild too)."""

from __future__ import annotations

import numpy as np

from ...textfmt import fmt_pct, fmt_sig
from ..findings import Finding
from .context import RuleContext


def wild_losses(ctx: RuleContext) -> list[Finding]:
    """Oscillation findings for losses wild throughout (called by the oscillation rule)."""
    th = ctx.th
    out: list[Finding] = []
    eq = ctx.eq
    for name in ("G_loss", "D_loss"):
        s = ctx.finite(name)
        if len(s) < th["min_points"]:
            continue
        v = s.to_numpy(dtype=np.float64)
        typical = float(np.median(np.abs(v)))
        ref = None
        if eq is not None:
            ref = eq.d_loss if name == "D_loss" else eq.g_loss
        scale = max(abs(ref) if ref else 0.0, typical, 1e-6)
        spikes = np.abs(v) > th["wild_spike_ratio"] * scale
        signed = bool((v < 0).any() and (v > 0).any())
        nz = v[v != 0]
        flips = float(np.mean(np.sign(nz[1:]) != np.sign(nz[:-1]))) if nz.size > 1 else 0.0
        if spikes.sum() < max(2, int(np.ceil(th["wild_min_share"] * v.size))):
            continue
        if signed and flips < th["wild_flip_share"]:
            continue
        steps = s.index.to_numpy()
        peak = float(np.max(np.abs(v)))
        flip_txt = f" and flips sign at {fmt_pct(flips)} of consecutive points" if signed else ""
        out.append(
            Finding(
                rule="oscillation",
                severity="warning",
                title=f"{ctx.label(name)} wild throughout",
                message=f"{ctx.label(name)} reaches {fmt_sig(peak)}, "
                f"{fmt_sig(peak / scale)}x its typical size {fmt_sig(scale)} (spikes at "
                f"{int(spikes.sum())} of {v.size} points, the first at step "
                f"{int(steps[np.flatnonzero(spikes)[0]])}){flip_txt}: unstable from the start, "
                "judged against the whole run's scale, not its first steps.",
                action="Lower the learning rates (1e-4 to 2e-4 is usual for Adam), clip "
                "gradients, and check the loss for a missing mean or a wrong sign.",
                start_step=int(steps[0]),
                end_step=int(steps[-1]),
                numbers={
                    "peak": peak,
                    "typical": scale,
                    "spikes": int(spikes.sum()),
                    "sign_flip_share": flips,
                },
                metrics=[ctx.column(name)],
            )
        )
    return out
