"""WGAN readings: the critic gap (critic_real - critic_fake, logged by
`RunLog.discriminator(..., critic=True)`, else -D loss under a Wasserstein loss) vanishing
under weight clipping, critic values growing without bound (divergence), and a gap G never
closes (the critic wins: `_critic_holds`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...textfmt import fmt_pct, fmt_sig
from ..findings import Finding
from .context import RuleContext, last_bin_with_data, sustained_stretch
from .registry import not_this_kind, rule

_CLIP_KEYS = ("clip_value", "weight_clip", "clamp", "clip", "clamp_value")


def critic_gap(ctx: RuleContext) -> tuple[pd.Series, str] | None:
    """The critic gap series and where it came from, or None."""
    s = ctx.finite("critic_gap")
    if len(s) >= ctx.th["min_points"]:
        return s, ctx.column("critic_gap")
    if ctx.eq is not None and ctx.eq.loss == "wasserstein" and ctx.has("D_loss"):
        return -ctx.finite("D_loss"), f"-{ctx.column('D_loss')} (critic loss)"
    return None


def _applies(ctx: RuleContext) -> str | None:
    if critic_gap(ctx) is not None:
        return None
    wgan = ctx.eq is not None and ctx.eq.loss == "wasserstein"
    if wgan or len(ctx.finite("critic_gap")):  # a WGAN run, with too few points
        return (
            f"not enough data: needs critic_gap or a Wasserstein D loss "
            f"(>= {ctx.th['min_points']} points)"
        )
    return not_this_kind("not a WGAN run (needs critic_gap or a Wasserstein D loss)")


@rule("wgan_critic", needs=(), applies=_applies)
def wgan_critic(ctx: RuleContext) -> list[Finding]:
    """WGAN: the critic gap vanishing under weight clipping; critic values growing without
    bound."""
    th = ctx.th
    got = critic_gap(ctx)
    if got is None:
        return []
    s, src = got
    med = ctx.bins("__critic_gap", s)["med"]
    last = last_bin_with_data(med)
    if last < 3:
        return []
    ok = med[: last + 1]
    early = ctx.baseline(np.abs(ok))
    tail = ctx.tail(ok)
    disp = ctx.bins("__critic_gap", s)["disp"][: last + 1]
    out: list[Finding] = []
    k0 = max(1, int(np.ceil(th["tail_fraction"] * (last + 1))))
    start = int(ctx.bin_start[last + 1 - k0])
    end = int(ctx.bin_end[last])
    scale = max(early, float(np.nanmedian(np.abs(ok))), 1e-12)
    rising = np.nanmax(np.abs(ok[-k0:])) >= np.nanmax(np.abs(ok[:-k0])) if last + 1 > k0 else False
    # grown from its early level, or from its early noise where that level is within it (a
    # CTGAN critic's gap 0.006 -> 0.078 beside per-epoch swings of 0.1 grew from nothing)
    noise = ctx.baseline(np.abs(disp))
    ref = max(early, noise if np.isfinite(noise) else 0.0, 1e-12)
    if abs(tail) >= th["wgan_grow_ratio"] * ref and rising:
        out.append(
            Finding(
                rule="divergence",
                severity="error",
                title="Critic values grow without bound",
                message=f"The critic gap ({src}) grew from {fmt_sig(early)} early to "
                f"{fmt_sig(tail)} at the end ({fmt_sig(abs(tail) / ref)}x its early level and "
                "spread) and is still rising: the critic is not Lipschitz-constrained.",
                action="Check the gradient penalty (weight 10, on interpolates) or the weight "
                "clipping; lower the learning rates; use Adam with beta1 = 0 (or RMSprop).",
                start_step=start,
                end_step=end,
                numbers={"early": early, "end": tail},
                metrics=[ctx.column("critic_gap") if "critic_gap" in src else "D_loss"],
            )
        )
    if not out:
        out += _critic_holds(ctx, ok, disp, src)
    clipped = next((ctx.run.config[k] for k in _CLIP_KEYS if k in ctx.run.config), None)
    if clipped is not None and abs(tail) <= th["wgan_gap_vanish_frac"] * scale:
        out.append(
            Finding(
                rule="wgan_critic",
                severity="warning",
                title="Critic gap vanished under weight clipping",
                message=f"The critic gap ({src}) fell from {fmt_sig(early)} to "
                f"{fmt_sig(tail)} at the end with weights clipped at {clipped}: the clipped "
                "critic may have lost its capacity (or G matches the data; check the samples).",
                action="Widen the clipping range or switch to a gradient penalty (WGAN-GP).",
                start_step=start,
                end_step=end,
                numbers={"early": early, "end": tail, "clip": clipped},
                metrics=["critic_gap"] if "critic_gap" in src else [ctx.column("D_loss")],
            )
        )
    return out


def _critic_holds(ctx: RuleContext, med: np.ndarray, disp: np.ndarray, src: str) -> list[Finding]:
    """The critic wins: its gap (the Wasserstein estimate) positive in at least
    `wgan_hold_positive` of the bins and at least `wgan_hold_frac` of its peak over a sustained
    stretch to the end, the peak at least `wgan_hold_snr` x the gap's median spread within a
    bin (a gap of noise, or of a print's last digit, holds nothing), and the peak reached within
    `wgan_hold_peak_by` of the run: G has had at least twice the critic's time to its peak to
    close the gap (a log read while the critic still climbs, or soon after its peak, holds
    nothing yet: a healthy WGAN-GP's gap peaks and then falls slowly). G learning closes the
    gap (the estimate falls, many-fold over a run that trains); a gap that holds is a critic
    telling G's samples from the data as well as at its best. A gap has no equilibrium value,
    so it is judged against its own peak (a warning, a d_overpowering finding); only in a log
    that begins with the run (its first step within 5% of its last): one that begins later (a
    resumed run) may start after the critic's best."""
    th = ctx.th
    if not len(ctx.steps) or ctx.steps[0] > 0.05 * ctx.steps[-1]:
        return []
    fin = np.isfinite(med)
    if fin.sum() < 4 or (med[fin] > 0).mean() < th["wgan_hold_positive"]:
        return []
    p = int(np.nanargmax(med))
    peak = float(med[p])
    if p > th["wgan_hold_peak_by"] * (len(med) - 1):
        return []  # the critic's best is recent: G has not yet had the time to close its gap
    noise = float(np.nanmedian(disp)) if np.isfinite(disp).any() else 0.0
    if not peak > th["wgan_hold_snr"] * noise:
        return []  # a gap within its own step-to-step noise (or a print's last digit) holds nothing
    with np.errstate(invalid="ignore"):
        held = fin & (med >= th["wgan_hold_frac"] * peak)
    pick = sustained_stretch(held, ctx.need_bins(), len(med) - 1)
    if not (peak > 0 and pick and pick[2]):
        return []  # the gap must hold over a sustained stretch that reaches the end
    tail = ctx.tail(med)
    k0 = max(1, int(np.ceil(th["tail_fraction"] * len(med))))
    col = ctx.column("critic_gap") if "critic_gap" in src else ctx.column("D_loss")
    return [
        Finding(
            rule="d_overpowering",
            severity="warning",
            title="The critic keeps G's samples apart from the data",
            message=f"The critic gap ({src}) was still {fmt_sig(tail)} over the last "
            f"{fmt_pct(th['tail_fraction'])} of the run, {fmt_pct(tail / peak)} of its peak "
            f"{fmt_sig(peak)} (step {int(ctx.bin_start[p])}); positive in "
            f"{fmt_pct(float((med[fin] > 0).mean()))} of the run. G never closed the gap: the "
            "critic tells its samples from the data as well as at its best. A critic's gap "
            "has no equilibrium value: judged against its own peak.",
            action="Strengthen G or slow the critic: fewer critic steps per G step, a lower "
            "critic learning rate, a larger G; check the samples.",
            start_step=int(ctx.bin_start[len(med) - k0]),
            end_step=int(ctx.bin_end[len(med) - 1]),
            numbers={"gap_end": tail, "gap_peak": peak, "held": tail / peak},
            metrics=[col],
        )
    ]
