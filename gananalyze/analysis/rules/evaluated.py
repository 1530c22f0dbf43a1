"""Rules and criteria that read the sample metrics' evaluations (FID, precision/recall from
fid-sweep or the trainer): low recall with fair precision (collapse_from_recall, part of
mode_collapse), FID jumps beyond the evaluations' noise (fid_jumps: a jump that stays is part
of mode_collapse, one that comes back is a transient divergence), samples that never came
near the real data (sample_quality) and over-training past the best checkpoint."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...naming.aliases import higher_is_better
from ...textfmt import fmt_pct, fmt_sig
from ..evaluations import best_position, checkpoint_name, initial_step
from ..findings import Finding
from .context import RuleContext
from .metricnoise import beyond_noise, metric_noise
from .registry import available, not_this_kind, rule
from .vectors import unlike_real


def collapse_from_recall(ctx: RuleContext) -> list[Finding]:
    """Low recall (or coverage) with fair precision (or density) at the sweep's evaluations:
    the samples are realistic but cover few modes (Kynkaanniemi et al. 2019; Naeem et al.
    2020). Needs two evaluations in a row, or the last one."""
    th = ctx.th
    for cover, fid_like in (("recall", "precision"), ("coverage", "density")):
        rc = ctx.sample_series(cover)
        pr = ctx.sample_series(fid_like)
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


def fid_jumps(ctx: RuleContext, sm: pd.Series) -> list[Finding]:
    th = ctx.th
    v = sm.to_numpy()
    st = sm.index.to_numpy()
    if len(v) < 3:
        return []
    noise, src = metric_noise(ctx, sm)
    ratio = v[1:] / np.maximum(v[:-1], 1e-12)
    best_before = np.fmin.accumulate(v)[:-1]
    hit = (ratio >= th["fid_jump_ratio"]) & (v[1:] > th["fid_jump_ratio"] * best_before)
    hit &= np.array(
        [beyond_noise(ctx, v[k], v[k + 1], noise[k], noise[k + 1]) for k in range(len(v) - 1)]
    )
    # the second evaluation after an untrained first one is never a jump; a first evaluation
    # already within fid_jump_ratio of the run's later best (a resumed run) is a reference
    hit[0] = bool(hit[0] and len(v) > 3 and v[0] <= th["fid_jump_ratio"] * np.min(v[2:]))
    if not hit.any():
        return []
    i = int(np.flatnonzero(hit)[0]) + 1
    nm = (
        ctx.select_metric.upper()
        if ctx.select_metric.lower() in ("fid", "kid")
        else ctx.select_metric
    )
    recovered = v[-1] < th["fid_jump_ratio"] * best_before[i - 1]
    back = next(
        (k for k in range(i + 1, len(v)) if v[k] < th["fid_jump_ratio"] * best_before[i - 1]),
        None,
    )
    nums = {
        "before": float(v[i - 1]),
        "after": float(v[i]),
        "ratio": float(v[i] / v[i - 1]),
        "recovered": bool(recovered),
        "noise": float(noise[i]),
    }
    if recovered and back is not None and int(hit.sum()) == 1:
        # one spike, up and back down beyond the noise and no other: G diverged for a while
        # and came back (a bad resume, a learning-rate spike); repeated jumps are a G hopping
        # between modes (below). One rise under fid_transient_ratio that came back is within
        # the checkpoint-to-checkpoint swing of a healthy GAN's FID: no finding
        if v[i] / v[i - 1] < th["fid_transient_ratio"]:
            return []
        nums.update(recovered_value=float(v[back]), recovered_step=int(st[back]))
        msg = (
            f"{nm} went {fmt_sig(v[i - 1])} (step {int(st[i - 1])}) -> {fmt_sig(v[i])} (step "
            f"{int(st[i])}, {fmt_sig(v[i] / v[i - 1])}x) -> {fmt_sig(v[back])} (step "
            f"{int(st[back])}); the rise is beyond the evaluations' noise (+-"
            f"{fmt_sig(float(noise[i]))}, {src}) and it came back: the samples diverged and "
            "recovered."
        )
        return [
            Finding(
                rule="divergence",
                severity="warning",
                title=f"Transient divergence ({nm} spiked and recovered)",
                message=msg,
                action=f"Look at what changed near step {int(st[i - 1])} (a resume that lost the "
                "optimizer state, a learning-rate change); avoid the checkpoints around step "
                f"{int(st[i])}.",
                start_step=int(st[i - 1]),
                end_step=int(st[back]),
                numbers=nums,
                metrics=[ctx.select_metric],
            )
        ]
    nums["jumps"] = int(hit.sum())
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
            numbers=nums,
            metrics=[ctx.select_metric],
        )
    ]


def _has_recall(ctx: RuleContext) -> str | None:
    """Only runs swept for precision/recall (or density/coverage), or with vector samples
    and the real rows (--real), are this kind of run; the others are not listed as skipped
    (mode_collapse and over_training already say what sample evidence is missing)."""
    if available(ctx, "sample_recall"):
        return None
    if ctx.run.vectors and ctx.run.real_table is not None:
        return None
    return not_this_kind("no recall or coverage evaluations")


@rule("sample_quality", applies=_has_recall)
def sample_quality(ctx: RuleContext) -> list[Finding]:
    """The samples never came near the real data: recall (coverage) at most poor_recall_max at
    every evaluation, or precision and recall both at most poor_pr_max at every one. Vector
    samples with the real rows (--real) and no such evaluations: vectors.unlike_real.

    A run's losses can sit at their equilibrium while G draws samples that cover almost none
    of the real data; "healthy" needs good samples wherever sample evidence exists.
    """
    th = ctx.th
    if not available(ctx, "sample_recall"):
        return unlike_real(ctx)  # vector samples against the real rows (--real)
    if collapse_from_recall(ctx):
        return []  # realistic samples of few modes: mode_collapse says it
    for cover, fid_like in (("recall", "precision"), ("coverage", "density")):
        rc = ctx.sample_series(cover)
        if len(rc) < 2:
            continue
        pr = ctx.sample_series(fid_like)
        j = pd.concat([rc.rename("c"), pr.rename("p")], axis=1).dropna(subset=["c"])
        best_c = float(j["c"].max())
        best_p = float(j["p"].max()) if j["p"].notna().any() else float("nan")
        never_cover = best_c <= th["poor_recall_max"]
        both_low = np.isfinite(best_p) and max(best_c, best_p) <= th["poor_pr_max"]
        if not (never_cover or both_low):
            continue
        st = j.index.to_numpy()
        ib = int(np.argmax(j["c"].to_numpy()))
        why = (
            f"{cover} at most {fmt_sig(best_c)} at every one of {len(j)} evaluations (steps "
            f"{int(st[0])}-{int(st[-1])}; at most {fmt_sig(th['poor_recall_max'])} means "
            "the samples reach almost none of the real data)"
            if never_cover
            else f"{cover} and {fid_like} both at most {fmt_sig(max(best_c, best_p))} at every "
            f"one of {len(j)} evaluations (steps {int(st[0])}-{int(st[-1])}; threshold "
            f"{fmt_sig(th['poor_pr_max'])})"
        )
        if np.isfinite(best_p):
            why += f"; highest {fid_like} {fmt_sig(best_p)}"
        nums: dict[str, Any] = {
            f"best_{cover}": best_c,
            f"best_{cover}_step": int(st[ib]),
            "evaluations": int(len(j)),
        }
        if np.isfinite(best_p):
            nums[f"best_{fid_like}"] = best_p
        # a warning: it says nothing about when training went wrong (no checkpoint is cut
        # off by it), only that no evaluation was good
        return [
            Finding(
                rule="sample_quality",
                severity="warning",
                title="Samples never came near the real data",
                message=f"The samples were judged against the real data: {why}.",
                action="The losses may look balanced, but G has not learned the data: look at the "
                "samples, check the data pipeline and normalisation (G's output range against "
                "the real data's), then train longer or with a stronger G.",
                start_step=int(st[0]),
                end_step=int(st[-1]),
                numbers=nums,
                metrics=[cover, fid_like],
            )
        ]
    return []


@rule("over_training", needs=("sample_metric",))
def over_training(ctx: RuleContext) -> list[Finding]:
    """The best checkpoint by FID (or the selected metric) is earlier than the last, which is worse
    by a margin. An evaluation of the untrained weights (`evaluations.initial_step`) is no best
    to stop at, as the recommendation policy never keeps it.
    """
    th = ctx.th
    sm = ctx.sample_metric()
    v = sm.to_numpy()
    st = sm.index.to_numpy()
    lower = not higher_is_better(ctx.select_metric)
    first = initial_step(ctx.run)
    initial = first is not None and len(v) > 2 and int(st[0]) <= first
    pick = v.astype(np.float64).copy()
    if initial:  # the initial weights' evaluation can be no best to stop at
        pick[0] = np.inf if lower else -np.inf
    i_best = best_position(pick, not lower)
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
            beyond_noise(ctx, best, x, noise[i_best], n)
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
            + (
                f"later evaluation(s) are worse by more than the margin and the noise, the last "
                f"({fmt_sig(last)} at step {int(st[-1])}) by {fmt_pct(worse)} (margin "
                f"{fmt_pct(th['overtrain_margin'])}, noise +-{fmt_sig(float(noise[-1]))} from "
                f"{noise_src})."
                if noise[-1] > 0
                else f"later evaluation(s) are worse by more than the margin, the last "
                f"({fmt_sig(last)} at step {int(st[-1])}) by {fmt_pct(worse)} (margin "
                f"{fmt_pct(th['overtrain_margin'])}; no noise estimate: under "
                f"{th['noise_min_evaluations']} evaluations for the run's own scatter and no "
                "split-half std logged)."
            )
        )
        return [
            Finding(
                rule="over_training",
                severity="warning",
                title="Over-training: later evaluations got worse than the best",
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
            # which checkpoint to keep and where to stop is the run's one recommendation
            # (analysis.recommendation), never this finding: it can lie inside an error
            title="No over-training",
            message=msg,
            action="",
            start_step=bstep,
            end_step=bstep,
            numbers=nums,
            metrics=[ctx.select_metric],
        )
    ]
