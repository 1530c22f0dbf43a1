"""Rules about numerical stability: divergence (NaN/Inf in the log or in G's samples,
exploding gradients or losses, and G's samples running away while the losses stay finite:
runaway.py), vanishing gradients, oscillating losses."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ...errors import GanAnalyzeError
from ...run import SampleGrid
from ...textfmt import fmt_pct, fmt_sig
from ..findings import Finding
from .balance import fooled_bins
from .clamps import at_clamp
from .context import RuleContext, last_bin_with_data, robust_center, sustained_stretch
from .conventions import D_EQUILIBRIA, run_d_equilibria
from .registry import rule
from .runaway import climbs_fixed_critic, g_loss_beyond_outputs, samples_run_away
from .short import short_log_explosion
from .stalled import blown_into_clamp
from .wild import wild_losses


def _exploded(
    ctx: RuleContext,
    name: str,
    mask: np.ndarray,
    message: Callable[..., str],
    action: str,
    numbers: Callable[[float], dict[str, Any]],
) -> Finding | None:
    """A divergence finding for metric `name` where `mask` holds over 2+ bins, or None.

    The stretch is picked among the bins of `name`; message(peak, start, end, ongoing)
    and numbers(peak) describe it, peak being the highest |bin median| in the stretch.
    """
    b = ctx.bins(name)
    med = np.abs(b["med"])
    pick = sustained_stretch(mask, 2, last_bin_with_data(med))
    if not pick:
        return None
    a, z, ongoing = pick
    peak = float(np.nanmax(med[a : z + 1]))
    start, end = int(b["start"][a]), int(b["end"][z])
    sev = "error" if ongoing else "warning"
    title = f"{ctx.label(name)} exploded"
    msg = message(peak, start, end, ongoing)
    return Finding(
        rule="divergence",
        severity=sev,
        title=title,
        message=msg,
        action=action,
        start_step=start,
        end_step=end,
        numbers=numbers(peak),
        metrics=[ctx.column(name)],
    )


@rule("divergence", needs=("scalars",))
def divergence(ctx: RuleContext) -> list[Finding]:
    """Training diverged: NaN/Inf values, exploding gradient norms or losses."""
    out: list[Finding] = []
    th = ctx.th
    nf = ctx.run.nonfinite
    if len(nf):
        per = (
            nf.groupby("metric").agg(n=("step", "size"), first=("step", "min")).sort_values("first")
        )
        first = nf.iloc[0]
        desc = ", ".join(
            f"{m} ({int(r.n)} from step {int(r.first)})" for m, r in per.head(4).iterrows()
        )
        if len(per) > 4:
            desc += f" and {len(per) - 4} more metrics"
        out.append(
            Finding(
                rule="divergence",
                severity="error",
                title="Training diverged (NaN/Inf)",
                message=f"{len(nf)} non-finite values: {desc}; first {first['metric']} = "
                f"{first['value']} at step {int(first['step'])}.",
                action="Lower the learning rate and add gradient clipping; check for log(0) / "
                "division by zero in the losses, or use mixed precision with loss scaling.",
                start_step=int(nf["step"].min()),
                end_step=int(nf["step"].max()),
                numbers={
                    "nonfinite_values": int(len(nf)),
                    "first_step": int(first["step"]),
                    "first_metric": str(first["metric"]),
                    "per_metric": {str(m): int(r.n) for m, r in per.iterrows()},
                },
                metrics=[str(m) for m in per.index],
            )
        )
    for name in ("G_grad_norm", "D_grad_norm"):
        if not ctx.has(name):
            continue
        b = ctx.bins(name)
        med = b["med"]
        base = ctx.baseline(med)
        if not np.isfinite(base):
            continue
        mask = (med > th["grad_explode_abs"]) & (med > th["grad_explode_ratio"] * max(base, 1e-12))
        f = _exploded(
            ctx,
            name,
            mask,
            lambda peak, start, end, ongoing, base=base, name=name: (
                f"{ctx.label(name)} median reached {fmt_sig(peak)} (early value "
                f"{fmt_sig(base)}, {fmt_sig(peak / max(base, 1e-12))}x) from step {start} to {end}"
                f"{' and stays there' if ongoing else ''}."
            ),
            "Clip gradients (e.g. clip_grad_norm_ at a few times the early norm), lower "
            "the learning rate, or add a gradient penalty / spectral normalisation to D.",
            lambda peak, base=base: {
                "peak_median": peak,
                "early_median": base,
                "ratio": peak / max(base, 1e-12),
            },
        )
        out += [f] if f else []
    for name in ("D_loss", "G_loss"):
        if not ctx.has(name):
            continue
        b = ctx.bins(name)
        med = np.abs(b["med"])
        scale, why = _loss_scale(ctx, name, med)
        mask = med > th["loss_explode_ratio"] * scale
        f = _exploded(
            ctx,
            name,
            mask,
            lambda peak, start, end, ongoing, scale=scale, name=name, why=why: (
                f"|{ctx.label(name)}| median reached {fmt_sig(peak)}, {fmt_sig(peak / scale)}x "
                f"its early scale {fmt_sig(scale)} ({why}), from step {start} to {end}."
            ),
            "Lower the learning rate; for Wasserstein "
            "critics check the gradient penalty / weight clipping.",
            lambda peak, scale=scale: {"peak_abs_median": peak, "early_scale": scale},
        )
        out += [f] if f else []
    exploded = ctx.has("D_loss") and any(f.metrics == [ctx.column("D_loss")] for f in out)
    out += [] if exploded else d_loss_far_out(ctx) + blown_into_clamp(ctx)
    out += [] if out else g_loss_beyond_outputs(ctx)
    runaway = samples_run_away(ctx)
    if not runaway and not out:  # a loss explosion already says it diverged
        runaway = climbs_fixed_critic(ctx)
    out += samples_not_finite(ctx) + samples_out_of_range(ctx)
    return out + runaway + short_log_explosion(ctx)


def d_loss_far_out(ctx: RuleContext) -> list[Finding]:
    """A D loss far above the equilibrium of every loss convention consistent with the run
    (`loss_far_ratio` x the largest), sustained: D's scores are far out under each, from
    wherever the log starts (the explosion test compares with the run's first bin, which
    misses a run logged only after it blew up). A D loss pinned at a BCE clamp of both terms
    (50, 100, 200) at most points of the stretch, or one that no longer moves (its
    interquartile range under 0.1% of its median), is a stopped D: d_clamped's and
    d_stalled's. Not for a Wasserstein critic (no equilibrium)."""
    cands = run_d_equilibria(ctx)  # {} without a D loss or for a Wasserstein critic
    if not cands:
        return []
    line = ctx.th["loss_far_ratio"] * max(cands.values())
    d = ctx.finite("D_loss")
    b = ctx.bins("D_loss")
    med = b["med"]
    pick = sustained_stretch(med >= line, 2, last_bin_with_data(med))
    if not pick:
        return []
    a, z, ongoing = pick
    start, end = int(b["start"][a]), int(b["end"][z])
    steps = d.index.to_numpy()
    v = d.to_numpy()[(steps >= start) & (steps <= end)]
    if not v.size or float(at_clamp(v).mean()) >= 0.5:
        return []
    q25, q50, q75 = np.percentile(v, [25, 50, 75])
    if q75 - q25 < 1e-3 * abs(q50):
        return []  # a D loss that no longer moves: a stopped D (d_clamped, d_stalled)
    peak = float(np.nanmedian(med[a : z + 1]))
    ref = max(cands.values())
    names = ", ".join(f"{k} {fmt_sig(e)}" for k, e in sorted(cands.items()))
    msg = (
        f"{ctx.label('D_loss')} median {fmt_sig(peak)} from step {start} to {end}"
        f"{' (the end)' if ongoing else ''}, {fmt_sig(peak / ref)}x the largest D-loss "
        f"equilibrium of the loss conventions consistent with the run ({names}): D's scores "
        "are far out under each of them (under BCE, clamped at 100 per term, a batch mean "
        "this high needs many terms at the clamp), and D's mean outputs, if logged, average "
        "saturated ones. Training has diverged, whatever the first logged row was."
    )
    nums = {"median": peak, "largest_equilibrium": ref, "ratio": peak / ref}
    nums["conventions"] = sorted(cands)
    action = (
        "Lower the learning rates, compute BCE from logits (BCEWithLogitsLoss), and clip "
        "gradients; restart from a checkpoint before the first logged row if there is one."
    )
    title = f"{ctx.label('D_loss')} far above every equilibrium"
    sev = "error" if ongoing else "warning"
    metrics = [ctx.column("D_loss")]
    return [Finding("divergence", sev, title, msg, action, start, end, nums, metrics)]


def samples_not_finite(ctx: RuleContext) -> list[Finding]:
    """G's fixed-noise samples holding NaN/Inf: vector samples as logged, image grids by the
    share RunLog recorded (SampleGrid.nonfinite). Finite losses do not rule it out."""
    share: dict[int, float] = {}
    for v in ctx.run.vectors:
        try:
            a = v.array()
        except GanAnalyzeError:
            continue  # vector_collapse reports unreadable samples
        if a.size:
            s = float((~np.isfinite(a)).mean())
            share[int(v.step)] = max(share.get(int(v.step), 0.0), s)
    for g in ctx.run.samples:
        share[int(g.step)] = max(share.get(int(g.step), 0.0), float(g.nonfinite))
    bad = sorted(s for s, v in share.items() if v > 0)
    if not bad:
        return []
    last = max(share)
    first = bad[0]
    ongoing = share[last] > 0
    msg = (
        f"G's fixed-noise samples hold NaN/Inf values at {len(bad)} of {len(share)} "
        f"checkpoints, from step {first} ({fmt_pct(share[first])} of the values)"
        + (
            f" to the last, step {last} ({fmt_pct(share[last])})."
            if ongoing
            else f"; the last checkpoint's (step {last}) are finite again."
        )
    )
    nums = {"checkpoints_nonfinite": len(bad), "checkpoints": len(share), "first_step": first}
    nums.update(share_first=share[first], share_last=share[last])
    return _samples_finding(
        "G's samples are not finite (NaN/Inf)",
        msg,
        "Restart from a checkpoint before the first non-finite samples with a lower learning "
        "rate and gradient clipping; check G's output layer and any log/division in the losses.",
        bad,
        ongoing,
        nums,
    )


def _samples_finding(title, msg, action, bad: list[int], ongoing: bool, nums) -> list[Finding]:
    """The divergence finding of G's samples at the checkpoints `bad` (an error while the
    last checkpoint is one of them)."""
    sev = "error" if ongoing else "warning"
    return [Finding("divergence", sev, title, msg, action, bad[0], bad[-1], nums, [])]


def ran_off(g: SampleGrid, th: dict[str, Any]) -> bool:
    """A grid whose samples lie far outside the range it draws (`samples_outside_share` of
    the values outside, the furthest `samples_reach` half-widths out): the PNG shows only
    clipped values, so it says nothing of the samples (the one test: the divergence rule's
    finding, and the collapse checks leave such grids out)."""
    return (
        g.reach is not None
        and g.outside >= th["samples_outside_share"]
        and g.reach >= th["samples_reach"]
    )


def samples_out_of_range(ctx: RuleContext) -> list[Finding]:
    """G's image samples far outside the range their grid draws: at least
    `samples_outside_share` of the values outside it and the furthest `samples_reach`
    half-widths of the range from its centre or more (RunLog records both: the PNG clips
    them, so the picture shows a blank or saturated grid that says nothing of them)."""
    th = ctx.th
    off = [g for g in ctx.run.samples if ran_off(g, th)]
    if not off:
        return []
    bad = sorted({int(g.step) for g in off})
    first, last = bad[0], max(int(g.step) for g in ctx.run.samples)
    ongoing = last in bad
    at = [g for g in off if int(g.step) == bad[-1]]  # the grids (tags) that ran off there
    o, r = max(g.outside for g in at), max(float(g.reach or 0.0) for g in at)
    msg = (
        f"G's image samples lie far outside the range their grid draws at {len(bad)} "
        f"checkpoint(s) from step {first}: at step {bad[-1]} {fmt_pct(o)} of the values are "
        f"outside it and the furthest lies {fmt_sig(r)} half-widths of the range from its "
        f"centre (at least {fmt_sig(th['samples_reach'])} counts). The grid clips them, so "
        "its pictures show nothing of them: G's output has run away"
        + (" and stays there." if ongoing else f"; the last checkpoint (step {last}) is back.")
    )
    return _samples_finding(
        "G's samples run far outside the image range",
        msg,
        "Restart from a checkpoint before it with a lower learning rate and gradient "
        "clipping; bound G's output to the data's range (tanh for images in [-1, 1]).",
        bad,
        ongoing,
        {"checkpoints": len(bad), "first_step": first, "outside": o, "reach": r},
    )


def _loss_scale(ctx: RuleContext, name: str, med: np.ndarray) -> tuple[float, str]:
    """The scale a loss explodes against, and what it is.

    A Wasserstein critic loss has no equilibrium: its median over the run's first
    baseline_fraction. Otherwise the larger of the loss's level at the run's start (its first
    bin: the untrained networks, before any explosion that begins early) and the largest
    D-loss equilibrium of any convention (2, hinge summed), whatever the run's convention:
    both losses are sums of the same per-sample terms, so neither starts far above that scale,
    and loss_explode_ratio (100) times it lies past BCELoss's clamp (100 per term), so a
    saturated BCE D (d_clamped, samples_run_away) is not read as growth. A loss that far past
    it puts D's raw scores (logits, critic values) that far out under each convention.
    """
    eq = ctx.eq
    if eq is not None and eq.d_loss is None:
        base = ctx.baseline(med)
        return max(base if np.isfinite(base) else 0.0, 1e-3), "its median over the run's start"
    fin = med[np.isfinite(med)]
    start = float(fin[0]) if fin.size else 0.0
    ref, ref_name = max(D_EQUILIBRIA.values()), "the largest D-loss equilibrium of any convention"
    if start >= ref:
        return max(start, 1e-3), "its level in the run's first bin"
    return ref, f"{ref_name}, above its first bin's {fmt_sig(start)}"


@rule("vanishing_gradients", needs=[("G_grad_norm",), ("D_grad_norm",)])
def vanishing_gradients(ctx: RuleContext) -> list[Finding]:
    """Gradient norms fall to a tiny fraction of their early value and stay there. G's
    gradients that vanish while D rates G's samples as real over most of that stretch
    (balance.fooled_bins: D's outputs, or what the losses imply under every convention) are
    G sitting where D scores highest, g_overpowering's finding, not a D that rejects every
    fake."""
    out: list[Finding] = []
    th = ctx.th
    fooled = fooled_bins(ctx)[0] if ctx.has("G_grad_norm") else None
    for name, who in (("G_grad_norm", "G"), ("D_grad_norm", "D")):
        if not ctx.has(name):
            continue
        b = ctx.bins(name)
        med = b["med"]
        base = ctx.baseline(med)
        if not (np.isfinite(base) and base > 0):
            continue
        mask = (med < th["vanish_ratio"] * base) | (med < th["vanish_abs"])
        pick = sustained_stretch(mask, ctx.need_bins(), last_bin_with_data(med))
        if not pick:
            continue
        a, z, ongoing = pick
        if who == "G" and fooled is not None and fooled[a : z + 1].mean() >= 0.5:
            continue
        during = float(np.nanmedian(med[a : z + 1]))
        why = (
            "D rejects every fake and the saturating/non-saturating loss gives G no signal"
            if who == "G"
            else "D stopped learning"
        )
        out.append(
            Finding(
                rule="vanishing_gradients",
                severity="warning",
                title=f"{who}'s gradients vanished",
                message=f"{ctx.label(name)} median {fmt_sig(during)} from step {int(b['start'][a])}"
                + (" to the end" if ongoing else f" to {int(b['end'][z])}")
                + f", {fmt_sig(base / max(during, 1e-30))}x below its early value {fmt_sig(base)}.",
                action=f"Likely {why}: use the non-saturating G loss, weaken D (lower "
                "LR, label smoothing, "
                "noise), or normalise (spectral norm) / add residual connections.",
                start_step=int(b["start"][a]),
                end_step=int(b["end"][z]),
                numbers={
                    "early_median": base,
                    "median_during": during,
                    "shrink": base / max(during, 1e-30),
                },
                metrics=[ctx.column(name)],
            )
        )
    return out


@rule("oscillation", needs=[("G_loss",), ("D_loss",)])
def oscillation(ctx: RuleContext) -> list[Finding]:
    """A loss swings far more than its own usual noise (robust z of its rolling dispersion).
    Swings from the end of the warm-up on that die away, the run settling in, do not count."""
    th = ctx.th
    out: list[Finding] = []
    warm = max(1, int(math.ceil(th["warmup_fraction"] * ctx.nb)))
    for name in ("D_loss", "G_loss"):
        if not ctx.has(name):
            continue
        disp = ctx.bins(name)["disp"]
        ok = np.isfinite(disp) & (disp > 0)
        if ok.sum() < 8:
            continue
        ld = np.where(ok, np.log(np.where(ok, disp, 1.0)), np.nan)
        c, mad = robust_center(ld[warm:])
        mad = max(mad, 0.05)  # a perfectly regular series must not make every wiggle infinite z
        z = (ld - c) / mad
        base = float(np.exp(c))
        ref = (
            ctx.eq.d_loss if (ctx.eq and name == "D_loss") else (ctx.eq.g_loss if ctx.eq else None)
        )
        scale = abs(ref) if ref else float(np.nanmedian(np.abs(ctx.bins(name)["med"])))
        floor = (
            th["osc_min_frac"] * scale
        )  # swings of 1e-6 around a loss of 1e-9 are numerical noise
        mask = (z > th["osc_z"]) & (disp > th["osc_ratio"] * base) & (disp > floor)
        mask[:warm] = False
        settle = warm
        while settle < len(mask) and (mask[settle] or not np.isfinite(disp[settle])):
            settle += 1
        if warm < settle < last_bin_with_data(disp):
            # swings from the run's start that die away and never come back: the run
            # settling in (a longer warm-up), not an oscillation
            mask[:settle] = False
        pick = sustained_stretch(mask, th["sustain_min_bins"], last_bin_with_data(disp))
        if not pick or mask[pick[0] : pick[1] + 1].sum() < th["sustain_min_bins"]:
            continue  # two lone bumps with a quiet bin between are no oscillation
        a, zb, ongoing = pick
        peak = float(np.nanmax(disp[a : zb + 1]))
        out.append(
            Finding(
                rule="oscillation",
                severity="warning",
                title=f"{ctx.label(name)} oscillates",
                message=f"{ctx.label(name)} step-to-step dispersion up to "
                f"{fmt_sig(peak)} ({fmt_sig(peak / base)}x "
                f"its usual {fmt_sig(base)}, robust z {fmt_sig(float(np.nanmax(z[a : zb + 1])))}) "
                f"from step {int(ctx.bin_start[a])}"
                + (" to the end" if ongoing else f" to {int(ctx.bin_end[zb])}")
                + ".",
                action="Lower the learning rates (or Adam beta1 to 0.5/0.0), balance D and G "
                "steps, or add a gradient penalty; check the samples for mode hopping.",
                start_step=int(ctx.bin_start[a]),
                end_step=int(ctx.bin_end[zb]),
                numbers={
                    "peak_dispersion": peak,
                    "usual_dispersion": base,
                    "ratio": peak / base,
                    "max_z": float(np.nanmax(z[a : zb + 1])),
                },
                metrics=[ctx.column(name)],
            )
        )
    seen = {f.metrics[0] for f in out if f.metrics}
    out += [f for f in wild_losses(ctx) if f.metrics and f.metrics[0] not in seen]
    return out
