"""Rules that read the samples and their evaluations: mode collapse (sample diversity,
G-loss drops, FID jumps) and over-training past the best checkpoint."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ...naming.aliases import higher_is_better
from ...textfmt import fmt_pct, fmt_sig
from ..evaluations import best_position, checkpoint_name, finite_series
from ..findings import Finding
from .context import RuleContext
from .hopping import collapse_from_hopping
from .registry import available, rule


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
    if available(ctx, "sample_recall"):
        out += _collapse_from_recall(ctx)
    if ctx.has("G_loss") and ctx.has("D_G_z_prob"):
        out += _collapse_from_metrics(ctx)
    sm = ctx.sample_metric()
    if len(sm) >= 2 and not higher_is_better(ctx.select_metric):
        out += _fid_jumps(ctx, sm)
    return out


def _collapse_from_samples(ctx: RuleContext) -> list[Finding]:
    from ..diversity import real_diversity, sample_diversity

    th = ctx.th
    div = sample_diversity(ctx.run)
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


def _collapse_from_recall(ctx: RuleContext) -> list[Finding]:
    """Low recall (or coverage) with fair precision (or density) at the sweep's evaluations:
    the samples are realistic but cover few modes (Kynkaanniemi et al. 2019; Naeem et al.
    2020). Needs two evaluations in a row, or the last one."""
    th = ctx.th
    for cover, fid_like in (("recall", "precision"), ("coverage", "density")):
        rc = finite_series(ctx.run, cover)
        pr = finite_series(ctx.run, fid_like)
        if not len(rc) or not len(pr):
            continue
        j = pd.concat([rc.rename("c"), pr.rename("p")], axis=1, join="inner").dropna()
        if not len(j):
            continue
        low = (j["c"] <= th["collapse_recall_max"]) & (j["p"] >= th["collapse_precision_min"])
        m = low.to_numpy()
        pairs = m[1:] & m[:-1]
        if not (m[-1] or pairs.any()):
            continue
        st = j.index.to_numpy()
        i0 = int(np.flatnonzero(m)[0]) if m[-1] else int(np.flatnonzero(pairs)[0])
        ongoing = bool(m[-1])
        i1 = len(m) - 1 if ongoing else int(np.flatnonzero(pairs)[-1]) + 1
        c_val, p_val = float(j["c"].iloc[i1]), float(j["p"].iloc[i1])
        best = float(j["c"].max())
        msg = (
            f"{cover.capitalize()} {fmt_sig(c_val)} with {fid_like} {fmt_sig(p_val)} at step "
            f"{int(st[i1])} ({int(m.sum())} of {len(m)} evaluations with {cover} <= "
            f"{fmt_sig(th['collapse_recall_max'])} and {fid_like} >= "
            f"{fmt_sig(th['collapse_precision_min'])}; highest {cover} {fmt_sig(best)}): the "
            "samples look real but cover few modes of the real data."
        )
        return [
            Finding(
                rule="mode_collapse",
                severity="error" if ongoing else "warning",
                title=f"Mode collapse (low {cover}, fair {fid_like})",
                message=msg,
                action="G covers few modes: lower G's learning rate or G steps per D step, add "
                "minibatch-std / minibatch discrimination, or use a loss less prone to collapse "
                "(WGAN-GP, hinge with spectral norm); look at the samples of these checkpoints.",
                start_step=int(st[i0]),
                end_step=int(st[i1]),
                numbers={cover: c_val, fid_like: p_val, f"best_{cover}": best},
                metrics=[cover, fid_like],
            )
        ]
    return []


def _collapse_from_metrics(ctx: RuleContext) -> list[Finding]:
    th = ctx.th
    gl = ctx.bins("G_loss")["med"].to_numpy()
    dgb = ctx.bins("D_G_z_prob", ctx.prob("D_G_z"))
    disp = dgb["disp"].to_numpy()
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
    hit[: max(0, warm - 1)] = False
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
        f"its median), from step {int(ctx.bin_start[i0])} to {int(ctx.bin_end[i1])}."
    )
    return [
        Finding(
            rule="mode_collapse",
            severity="warning",
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


def metric_noise(ctx: RuleContext, sm: pd.Series) -> tuple[np.ndarray, str]:
    """Each evaluation's uncertainty (absolute, the metric's units) and where it came from.

    The sweep's own `<metric>_std` column (fid_std: split-half) when it was recorded,
    pooled as the median over evaluations (one split is a rough estimate); else the
    run's own scatter (>= noise_min_evaluations evaluations): the spread of the second
    differences of log(metric) (trend-free for a curve that falls like a power law), as a
    relative noise; else no noise (the relative margins alone decide).
    """
    v = sm.to_numpy(dtype=np.float64)
    tab = ctx.run.sample_metrics
    col = f"{sm.name}_std"
    if tab is not None and len(tab) and col in tab.columns and "step" in tab.columns:
        t = tab[["step", col]].dropna().drop_duplicates("step", keep="last").set_index("step")
        std = pd.to_numeric(t[col], errors="coerce").reindex(sm.index).to_numpy()
        rel = std / np.maximum(np.abs(v), 1e-30)
        if np.isfinite(rel).sum() >= 1:
            pooled = float(np.nanmedian(rel))
            return np.fmax(np.nan_to_num(std, nan=0.0), pooled * np.abs(v)), f"{col} (split-half)"
    if len(v) >= ctx.th["noise_min_evaluations"] and (v > 0).all():
        # the lower quartile of |second difference| (0.319 sigma for Gaussian noise) over the
        # later half (the early fall bends the curve): a jump touches up to three second
        # differences and must not pass for noise
        d2 = np.abs(np.diff(np.log(v), 2))
        rel = float(np.quantile(d2[len(d2) // 2 :], 0.25)) / 0.3186 / math.sqrt(6.0)
        return rel * np.abs(v), "the run's own scatter"
    return np.zeros(len(v)), "no noise estimate"


def _beyond_noise(ctx: RuleContext, a: float, b: float, na: float, nb: float) -> bool:
    """Whether b - a exceeds metric_noise_z combined standard deviations."""
    return abs(b - a) > ctx.th["metric_noise_z"] * math.hypot(na, nb)


def _fid_jumps(ctx: RuleContext, sm: pd.Series) -> list[Finding]:
    th = ctx.th
    v = sm.to_numpy()
    st = sm.index.to_numpy()
    if len(v) < 3:
        return []
    noise, _ = metric_noise(ctx, sm)
    ratio = v[1:] / np.maximum(v[:-1], 1e-12)
    best_before = np.fmin.accumulate(v)[:-1]
    hit = (ratio >= th["fid_jump_ratio"]) & (v[1:] > th["fid_jump_ratio"] * best_before)
    hit &= np.array(
        [_beyond_noise(ctx, v[k], v[k + 1], noise[k], noise[k + 1]) for k in range(len(v) - 1)]
    )
    hit[0] = (
        hit[0] and len(v) > 3 and False
    )  # the second evaluation after an untrained first one is never a jump
    if not hit.any():
        return []
    i = int(np.flatnonzero(hit)[0]) + 1
    nm = (
        ctx.select_metric.upper()
        if ctx.select_metric.lower() in ("fid", "kid")
        else ctx.select_metric
    )
    recovered = v[-1] < th["fid_jump_ratio"] * best_before[i - 1]
    msg = (
        f"{nm} jumped from {fmt_sig(v[i - 1])} (step {int(st[i - 1])}) to {fmt_sig(v[i])} "
        f"(step {int(st[i])}), {fmt_sig(v[i] / v[i - 1])}x"
        + (
            f"; it recovered to {fmt_sig(v[-1])} by step {int(st[-1])}."
            if recovered
            else f"; last {fmt_sig(v[-1])} at step {int(st[-1])}."
        )
    )
    return [
        Finding(
            rule="mode_collapse",
            severity="warning",
            title=f"{nm} jumped up (samples degraded)",
            message=msg,
            action=f"Check the samples at step {int(st[i])} for collapse.",
            start_step=int(st[i - 1]),
            end_step=int(st[i]),
            numbers={
                "before": float(v[i - 1]),
                "after": float(v[i]),
                "ratio": float(v[i] / v[i - 1]),
                "recovered": bool(recovered),
            },
            metrics=[ctx.select_metric],
        )
    ]


@rule("over_training", needs=("sample_metric",))
def over_training(ctx: RuleContext) -> list[Finding]:
    """The best checkpoint by FID (or the selected metric) is earlier than the last, which is worse
    by a margin.
    """
    th = ctx.th
    sm = ctx.sample_metric()
    v = sm.to_numpy()
    st = sm.index.to_numpy()
    lower = not higher_is_better(ctx.select_metric)
    i_best = best_position(v, not lower)
    best, last = float(v[i_best]), float(v[-1])
    worse = (last - best) / abs(best) if lower else (best - last) / abs(best)
    if best == 0:
        worse = float("inf") if last != best else 0.0
    nm = (
        ctx.select_metric.upper()
        if ctx.select_metric.lower() in ("fid", "kid")
        else ctx.select_metric
    )
    bstep = int(st[i_best])
    cname = checkpoint_name(ctx.run, bstep)
    nums = {
        "metric": ctx.select_metric,
        "best_step": bstep,
        "best_value": best,
        "last_step": int(st[-1]),
        "last_value": last,
        "last_worse_by": worse,
        "margin": th["overtrain_margin"],
        "evaluations": int(len(v)),
        "checkpoint": cname,
    }
    later = v[i_best + 1 :]
    rel = (later - best) / abs(best) if lower else (best - later) / abs(best)
    noise, noise_src = metric_noise(ctx, sm)
    past_noise = np.array(
        [
            _beyond_noise(ctx, best, x, noise[i_best], n)
            for x, n in zip(later, noise[i_best + 1 :], strict=True)
        ],
        dtype=bool,
    )
    n_worse = int(((rel > th["overtrain_margin"]) & past_noise).sum())
    if best == 0:
        n_worse = int(((later != best) & past_noise).sum())
    nums.update(later_worse=n_worse, noise=float(noise[-1]), noise_source=noise_src)
    last_past = bool(past_noise[-1]) if len(past_noise) else False
    if (
        i_best < len(v) - 1
        and worse > th["overtrain_margin"]
        and last_past
        and n_worse >= th["overtrain_min_later"]
    ):
        msg = (
            f"Best {nm} {fmt_sig(best)} at step {bstep}; {n_worse} of the {len(v) - 1 - i_best} "
            f"later evaluation(s) are worse by more than the margin and the noise, the last "
            f"({fmt_sig(last)} at step {int(st[-1])}) by {fmt_pct(worse)} (margin "
            f"{fmt_pct(th['overtrain_margin'])}, noise +-{fmt_sig(float(noise[-1]))} from "
            f"{noise_src})."
        )
        return [
            Finding(
                rule="over_training",
                severity="warning",
                title="Over-training: the best checkpoint is not the last",
                message=msg,
                action=f"Stop training earlier, or early-stop on {nm}: later checkpoints got "
                "worse.",
                start_step=bstep,
                end_step=int(st[-1]),
                numbers=nums,
                metrics=[ctx.select_metric],
            )
        ]
    if i_best == len(v) - 1:
        where = "the last evaluation"
    elif worse > th["overtrain_margin"] and not last_past:
        where = (
            f"the last ({fmt_sig(last)}, {fmt_pct(worse)} worse) is within the evaluations' "
            f"noise (+-{fmt_sig(float(noise[-1]))}, {noise_src})"
        )
    elif worse > th["overtrain_margin"]:
        where = (
            f"only {n_worse} later evaluation(s) worse by more than "
            f"{fmt_pct(th['overtrain_margin'])} "
            f"(the last: {fmt_sig(last)}, {fmt_pct(worse)} worse), fewer than "
            f"the {th['overtrain_min_later']} "
            "that would show a trend"
        )
    else:
        where = (
            f"the last is within {fmt_pct(th['overtrain_margin'])} ("
            f"{fmt_sig(last)}, {fmt_pct(max(worse, 0))} "
            "worse)"
        )
    bad = sm.attrs.get("implausible", 0)
    msg = (
        f"Best {nm} {fmt_sig(best)} at step {bstep} of {len(v)} evaluations; {where}: "
        "no over-training." + (f" {bad} implausible evaluation(s) were left out." if bad else "")
    )
    return [
        Finding(
            rule="over_training",
            severity="info",
            title=f"Best checkpoint: step {bstep} ({nm} {fmt_sig(best)})",
            message=msg,
            action="Nothing to fix."
            + ("" if i_best == len(v) - 1 else " Training longer is unlikely to help much."),
            start_step=bstep,
            end_step=bstep,
            numbers=nums,
            metrics=[ctx.select_metric],
        )
    ]
