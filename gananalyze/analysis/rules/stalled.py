"""Rules about a side that stopped learning: a D (or critic) loss flat for a sustained
stretch while the G loss moves (a clamped log, a saturated sigmoid, a D that no longer
updates); a D judged against chance is chance.py's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...naming.aliases import config_hints
from ...textfmt import fmt_pct, fmt_sig
from ..findings import Finding
from .chance import at_indifference, never_reached_chance
from .clamps import CLAMP_REDUCTION, clamp_name
from .context import RuleContext, last_bin_with_data, sustained_stretch
from .conventions import D_EQUILIBRIA
from .registry import not_this_kind, rule

STALL_NOISE = 5.0  # D(x) moving by this many batch-noise spreads is a D that learns


@rule("d_stalled", needs=("G_loss",))
def d_stalled(ctx: RuleContext) -> list[Finding]:
    """D has stopped learning: its loss flat (within and between bins) for a sustained
    stretch while the G loss moves, the G loss still from one logged point to the next
    (`_g_loss_still`), D's loss against chance (chance.py): worse than it from the start,
    or sitting on it exactly with G's; or the config setting D's learning rate to 0."""
    config = _d_lr_zero(ctx)
    if not ctx.has("D_loss"):
        seen = _g_loss_still(ctx)
    else:
        seen = (
            _d_loss_flat(ctx)
            or _g_loss_still(ctx)
            or never_reached_chance(ctx)
            or at_indifference(ctx)
        )
    if seen and config:  # what the data show, and the config's reason for it
        key, lr = config[0].numbers["config_key"], config[0].numbers["D_lr"]
        seen[0].message += f" The config sets {key} = {lr:g}, which would explain it."
        seen[0].numbers["config_D_lr"] = lr
    return seen or config


def _d_lr_zero(ctx: RuleContext) -> list[Finding]:
    """The config sets D's learning rate (any spelling of `d_lr`, naming.aliases) to 0: D's
    weights never change, whatever its loss does. Said as the config's, since a command line
    or a schedule may have changed what ran."""
    hint = config_hints(ctx.run.config).get("d_lr")
    try:
        lr = float(hint[0]) if hint is not None else None
    except ValueError:
        return []
    if lr != 0.0 or not len(ctx.steps):
        return []
    return [
        Finding(
            rule="d_stalled",
            severity="warning",
            title="Discriminator's learning rate is 0",
            message=f"The config sets {hint[1]} = {hint[0]}: with a learning rate of 0, D's "
            "weights never change, whatever its loss does, and G trains against a fixed D "
            "(if the run used that value: a command line or a schedule may have changed it).",
            action="Set D's learning rate (a TTUR pair such as 1e-4 for G and 4e-4 for D is a "
            "common start) and check that D's optimizer is stepped.",
            start_step=int(ctx.steps[0]),
            end_step=int(ctx.steps[-1]),
            numbers={"D_lr": lr, "config_key": hint[1]},
            metrics=[],
        )
    ]


def _winning_below(ctx: RuleContext) -> float:
    """The D-loss level under which a D loss is D winning outright, with nothing left to
    learn (d_overpowering's, not a stopped D): `d_over_loss_frac` of the smallest
    equilibrium of any convention; for a Wasserstein critic (no equilibrium) only 0."""
    if ctx.eq is not None and ctx.eq.loss == "wasserstein":
        return 1e-6
    return ctx.th["d_over_loss_frac"] * min(D_EQUILIBRIA.values())


def _real_scores_move(ctx: RuleContext, a: int, z: int) -> bool:
    """Whether D's logged mean output on the real data (D(x), as logged: a probability or a
    raw score) moves over bins a..z beyond its batch noise (its bin medians' range over
    STALL_NOISE x their median point-to-point spread). The real data do not change, so a D
    whose weights stand still keeps D(x) where it is, up to the noise of its batches; a flat
    hinge D loss (2 - D(x) + D(G(z)) while the scores stay within +-1) with D(x) and D(G(z))
    moving together is a D holding its gap as G moves, not a stopped one. Without D(x), the
    real term of D's loss (D_loss_real: a function of D's outputs on the real data alone)."""
    real = _real_evidence(ctx)
    if real is None:
        return False
    bx = ctx.bins(real)
    med, disp = bx["med"][a : z + 1], bx["disp"][a : z + 1]
    med = med[np.isfinite(med)]
    if med.size < 2:
        return False
    noise = float(np.nanmedian(disp)) if np.isfinite(disp).any() else 0.0
    return float(med.max() - med.min()) > STALL_NOISE * max(noise, 1e-9)


def _real_evidence(ctx: RuleContext) -> str | None:
    """What the log says of D's outputs on the real data: "D_x", else the real term of its
    loss ("D_loss_real", beside a logged D loss), else None."""
    if ctx.has("D_x"):
        return "D_x"
    return "D_loss_real" if ctx.has("D_loss_real") else None


def _d_loss_flat(ctx: RuleContext) -> list[Finding]:
    """The D loss flat (within and between bins) for a sustained stretch while the G loss
    moves."""
    th = ctx.th
    if ctx.eq is not None and ctx.eq.loss == "wasserstein":
        # a critic's loss is minus its gap (plus a penalty): a frozen critic's moves as G
        # moves its samples over the fixed landscape (climbs_fixed_critic reads that), so a
        # flat one beside a moving G loss is a critic re-fitting to hold its gap, not stopped
        return []
    bd = ctx.bins("D_loss")
    med, disp = bd["med"], bd["disp"]
    level = np.maximum(np.abs(med), 1e-3)
    tol = th["stall_flat_rel"] * level
    step = np.abs(np.diff(med, prepend=med[:1]))
    flat = (step <= tol) & (np.nan_to_num(disp, nan=0.0) <= tol)
    pick = sustained_stretch(flat, ctx.need_bins(), last_bin_with_data(med))
    if not pick:
        return []
    a, z, ongoing = pick
    d_val = float(np.nanmedian(med[a : z + 1]))
    if not np.isfinite(d_val) or abs(d_val) < _winning_below(ctx):
        # a D loss this near 0 (under d_over_loss_frac of the smallest equilibrium of any
        # convention) is D winning outright, with nothing left to learn: d_overpowering's
        return []
    g = ctx.bins("G_loss")["med"][a : z + 1]
    g = g[np.isfinite(g)]
    if g.size < 2:
        return []
    g_move = float(np.max(g) - np.min(g))
    g_level = max(float(np.median(np.abs(g))), 1e-3)
    if g_move < th["stall_other_move"] * g_level:
        return []  # both sides flat: a converged or idle run, not a stalled D
    if _real_scores_move(ctx, a, z):
        return []  # D's mean output on the real data moves: its weights do
    floor = clamp_name(d_val)
    if floor is None and _real_evidence(ctx) is None:
        # flat alone is no stopped D: a frozen D's loss moves as G moves its samples, and a
        # log of running means (or of epoch averages) is flat to 0.5% wherever training
        # settles; it takes D's logged output on the real data (or its loss's real term)
        # standing still, or a clamp's floor, to say D's weights no longer change
        return []
    b0, b1 = int(ctx.bin_start[a]), int(ctx.bin_end[z])
    frac = (z - a + 1) / ctx.nb
    span = f"from step {b0}" + (" to the end" if ongoing else f" to {b1}")
    msg = (
        f"{ctx.label('D_loss')} flat at {fmt_sig(d_val)} (within "
        f"{fmt_sig(100 * th['stall_flat_rel'])}%) {span} ({fmt_pct(frac)} of the run) while "
        f"{ctx.label('G_loss')} moved between {fmt_sig(float(g[0]))} and "
        f"{fmt_sig(float(g[-1]))} (range {fmt_sig(g_move)})."
    )
    if floor:  # creeping along a clamp's value, not pinned at it exactly (d_clamped's)
        msg += (
            f" That is the value of {floor}: D's loss sits on that floor, where no gradient flows."
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


def _resolution(v: np.ndarray) -> float:
    """The step the values were written with: 10**-k for the fewest decimals k (up to 8) that
    hold every value (a print with "%.4f" gives 1e-4), else 0 (written in full precision)."""
    for k in range(9):
        x = v * 10.0**k
        if np.all(np.abs(x - np.round(x)) <= 1e-6 * np.maximum(1.0, np.abs(x))):
            return 10.0**-k
    return 0.0


def _g_loss_still(ctx: RuleContext) -> list[Finding]:
    """The G loss still: its median change from one logged point to the next under
    `g_still_rel` of its level, per bin, for a sustained stretch. Every step draws new noise
    (and new real rows), so a G loss that does not move means D gives G's samples the same
    score at every step; a D that learns moves that score. Not judged where the values were
    written too coarsely to show such changes (a rounded print), nor for a G loss at 0 or at
    a clamp (a saturated D: d_clamped's and the divergence rule's). A value repeated exactly
    from one point to the next is left out: a loop that logs the last G loss again at each
    critic step repeats it without a new G step. The D loss must move, relative to its level,
    `g_still_d_moves` times as much: with a frozen D it still varies with the real batches,
    while a running mean logged at every step (an epoch's AverageMeter) keeps both still."""
    th = ctx.th
    g = ctx.finite("G_loss")
    if len(g) < th["min_points"]:
        return []
    v = g.to_numpy(dtype=np.float64)
    dv = np.diff(v)
    new = dv != 0  # a value logged again without a new G step (n_critic loops) is no change
    if int(new.sum()) < th["min_points"]:
        return []
    step = pd.Series(np.abs(dv[new]), index=g.index[1:][new])
    moved = ctx.bins("__G_loss_step", step)["med"]
    med = ctx.bins("G_loss")["med"]
    level = np.abs(med)
    rel = th["g_still_rel"]
    with np.errstate(invalid="ignore"):
        still = (level > 0) & (moved <= rel * level)
    pick = sustained_stretch(still, ctx.need_bins(), last_bin_with_data(med))
    if not pick:
        return []
    a, z, ongoing = pick
    b0, b1 = int(ctx.bin_start[a]), int(ctx.bin_end[z])
    steps = g.index.to_numpy()
    inside = (steps >= b0) & (steps <= b1)
    vals = v[inside]
    g_val = float(np.median(vals))
    if g_val == 0 or clamp_name(abs(g_val)) is not None:
        return []
    res = _resolution(vals)
    if res > 0.1 * rel * abs(g_val):
        return []  # written too coarsely to tell a still loss from a noisy one
    dvals = np.diff(vals)
    dvals = dvals[dvals != 0]
    typical = float(np.median(np.abs(dvals))) if dvals.size else 0.0
    frac = (z - a + 1) / ctx.nb
    span = f"from step {b0}" + (" to the end" if ongoing else f" to {b1}")
    if not ctx.has("D_loss"):
        return []  # a running mean logged at every step is as still: the D loss tells them apart
    d = ctx.finite("D_loss")
    dv = d.to_numpy(dtype=np.float64)[(d.index >= b0) & (d.index <= b1)]
    dd = np.diff(dv)
    dd = np.abs(dd[dd != 0])
    d_level = float(np.median(np.abs(dv))) if dv.size else 0.0
    d_typical = float(np.median(dd)) if dd.size else 0.0
    if not d_level or d_typical / d_level < th["g_still_d_moves"] * typical / abs(g_val):
        return []  # both still: a smoothed log (a running mean) or a D constant over inputs
    d_part = (
        f", while {ctx.label('D_loss')} changes by {fmt_sig(d_typical)}, "
        f"{fmt_sig(d_typical / d_level)} of its level (its real batches differ)"
    )
    msg = (
        f"{ctx.label('G_loss')} still at {fmt_sig(g_val)} {span} ({fmt_pct(frac)} of the run, "
        f"{int(inside.sum())} points): it changes by {fmt_sig(typical)} from one logged point "
        f"to the next, {fmt_sig(typical / abs(g_val))} of its level (under "
        f"{fmt_sig(rel)}){d_part}. Every step draws new noise, so D gives G's samples the same "
        "score at every step: D is not learning, and G gets no new signal."
    )
    return [
        Finding(
            rule="d_stalled",
            severity="warning",
            title="Discriminator stopped learning (G loss still)",
            message=msg,
            action="Check that D's optimizer steps (a learning rate of zero, requires_grad "
            "off, a detached or frozen D, dead ReLUs after a large update); for a WGAN "
            "critic, check the weight clipping range.",
            start_step=b0,
            end_step=b1,
            numbers={
                "G_loss": g_val,
                "G_loss_step": typical,
                "relative_step": typical / abs(g_val),
                "fraction_of_run": frac,
            },
            metrics=[ctx.column("G_loss")],
        )
    ]


BCE_EQUILIBRIUM = {"sum": 2 * np.log(2), "mean": np.log(2)}
MIN_PINNED_POINTS = 5


def _pinned_tail(s) -> tuple[int, float] | None:
    """(number of trailing points equal to the last one within 1e-6 relative, that value)."""
    v = s.to_numpy(dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < MIN_PINNED_POINTS:
        return None
    last = v[-1]
    same = np.abs(v - last) <= 1e-6 * max(1.0, abs(last))
    k = v.size
    while k > 0 and same[k - 1]:
        k -= 1
    return v.size - k, float(last)


def _clamp_candidate(ctx: RuleContext) -> str | None:
    """Whether there is anything to judge: the D loss's last points identical, or D's last
    outputs saturated alike; otherwise the rule is about another kind of run."""
    pinned = _pinned_tail(ctx.raw("D_loss")) if len(ctx.raw("D_loss")) else None
    if pinned is not None and pinned[0] >= MIN_PINNED_POINTS:
        return None
    dx, dg = ctx.prob("D_x"), ctx.prob("D_G_z")
    if len(dx) >= MIN_PINNED_POINTS and len(dg) >= MIN_PINNED_POINTS:
        x, g = float(dx.iloc[-1]), float(dg.iloc[-1])
        if (x >= 0.999 and g >= 0.999) or (x <= 0.001 and g <= 0.001):
            return None
    return not_this_kind("D's loss is not pinned and its outputs are not saturated")


@rule("d_clamped", needs=(), applies=_clamp_candidate)
def d_clamped(ctx: RuleContext) -> list[Finding]:
    """D is dead: its outputs saturated alike for real and fake (D says 1.0, or 0.0, to
    both), or its loss pinned at one exact value (a clamp) to the end. No gradient reaches
    G; training has stopped, whatever the other curves say. Judged from 5 points."""
    th = ctx.th
    dx, dg = ctx.prob("D_x"), ctx.prob("D_G_z")
    n_total = len(ctx.finite("D_loss")) or len(dx)
    parts, nums, metrics = [], {}, []
    start = None
    if len(dx) >= MIN_PINNED_POINTS and len(dg) >= MIN_PINNED_POINTS:
        j = np.c_[dx.reindex(dg.index).to_numpy(), dg.to_numpy()]
        j = j[np.isfinite(j).all(1)]
        hi = (j[:, 0] >= 0.999) & (j[:, 1] >= 0.999)
        lo = (j[:, 0] <= 0.001) & (j[:, 1] <= 0.001)
        sat = hi | lo
        k = len(sat)
        while k > 0 and sat[k - 1] and (hi[k - 1] == hi[-1]):
            k -= 1
        tail = len(sat) - k
        if tail >= max(MIN_PINNED_POINTS, th["sustain_fraction"] * len(sat)) and sat[-1]:
            side = "1.0" if hi[-1] else "0.0"
            parts.append(
                f"D says {side} to real and fake alike at the last {tail} of {len(sat)} points "
                f"(D(x) {fmt_sig(float(j[-1, 0]))}, D(G(z)) {fmt_sig(float(j[-1, 1]))}): "
                "saturated, not fooled"
            )
            nums.update(saturated_points=tail, D_x=float(j[-1, 0]), D_G_z=float(j[-1, 1]))
            metrics += [ctx.column("D_x"), ctx.column("D_G_z")]
            start = int(dg.index[len(dg) - tail]) if tail <= len(dg) else None
    pinned = _pinned_tail(ctx.raw("D_loss")) if len(ctx.raw("D_loss")) else None
    clamp_seen = False
    if pinned is not None:
        tail, val = pinned
        clamp = clamp_name(val)
        clamp_seen = clamp is not None
        long_enough = tail >= max(MIN_PINNED_POINTS, th["sustain_fraction"] * n_total)
        # an exact constant is no training loss (batches differ); a clamp value or a
        # saturated D says why, and so does a value written precisely enough that any batch
        # noise would show (a D constant over its inputs), where a rounded print ("%.4f")
        # of a small loss is not. A loss pinned at 0 is D winning outright (d_overpowering),
        # and so is one near 0 unless the loss is a critic's (no equilibrium).
        near_zero = _winning_below(ctx)
        tail_vals = ctx.finite("D_loss").to_numpy(dtype=np.float64)[-tail:]
        precise = abs(val) > near_zero and _resolution(tail_vals) <= 1e-3 * abs(val)
        if long_enough and abs(val) > 1e-6 and (clamp or parts or precise):
            eq = ctx.eq
            ratio = (
                f", {fmt_sig(val / eq.d_loss)}x its equilibrium {fmt_sig(eq.d_loss)}"
                if eq is not None and eq.d_loss
                else ""
            )
            red = clamp_name(val, CLAMP_REDUCTION)
            if red is not None:  # the clamp says how the terms were reduced
                eq_d = float(BCE_EQUILIBRIUM[red])
                how = "summed" if red == "sum" else "averaged"
                ratio = f", {fmt_sig(val / eq_d)}x its equilibrium {fmt_sig(eq_d)} under {how} BCE"
            why = (
                f" ({clamp})"
                if clamp
                else (
                    " (the same value to the last digit written while the batches differ: "
                    "D gives every input the same output)"
                    if precise and not parts
                    else ""
                )
            )
            shown = fmt_sig(val) if clamp else f"{val:.6g}"
            parts.append(
                f"{ctx.label('D_loss')} pinned at exactly {shown} for the last {tail} of "
                f"{n_total} points{ratio}{why}"
            )
            nums.update(D_loss=val, pinned_points=tail)
            metrics.append(ctx.column("D_loss"))
            s = ctx.finite("D_loss")
            start = int(s.index[len(s) - tail]) if start is None else start
    if not parts:
        return []
    g = _pinned_tail(ctx.raw("G_loss")) if len(ctx.raw("G_loss")) else None
    if g is not None and g[0] >= MIN_PINNED_POINTS:
        parts.append(f"{ctx.label('G_loss')} pinned at {fmt_sig(g[1])}")
        nums["G_loss"] = g[1]
    start = start if start is not None else int(ctx.steps[0])
    return [
        Finding(
            rule="d_clamped",
            severity="error",
            title="Discriminator dead (saturated or clamped)",
            message="; ".join(parts) + ". No gradient reaches G from such a D: training has "
            f"stopped (judged from {n_total} points).",
            action=(
                "Lower D's learning rate and compute the loss from logits (BCEWithLogitsLoss) "
                "instead of sigmoid + BCELoss, which saturates and clamps; check D's last layer "
                "and input scaling."
                if clamp_seen or "D_x" in nums
                else "Check that D still depends on its input: dead ReLUs after a large update, "
                "a frozen or detached D, a learning rate of zero, D's last layer and input "
                "scaling."
            ),
            start_step=start,
            end_step=int(ctx.steps[-1]) if len(ctx.steps) else start,
            numbers=nums,
            metrics=metrics,
        )
    ]


def blown_into_clamp(ctx: RuleContext) -> list[Finding]:
    """A D loss that trained at an ordinary level and then jumped to a clamp value, pinned
    there to the end: D blew up during training (a divergence finding, called by the
    divergence rule; d_clamped reports the dead D it left). A D loss pinned from the first
    logged point says nothing of how it got there (a saturated initialisation, a loss bug,
    or a blow-up before the log began): d_clamped's alone. Ordinary: under half the clamp
    value, which every D-loss equilibrium is by far."""
    d = ctx.finite("D_loss")
    pinned = _pinned_tail(d) if len(d) else None
    if pinned is None:
        return []
    tail, val = pinned
    clamp = clamp_name(val)
    need = max(MIN_PINNED_POINTS, ctx.th["sustain_fraction"] * len(d))
    if clamp is None or val <= 0 or tail < need:
        return []
    before = d.iloc[: len(d) - tail]
    ordinary = before[before.to_numpy() < 0.5 * val]
    if not len(ordinary):
        return []
    pin_step, last_step = int(d.index[len(d) - tail]), int(d.index[-1])
    level = float(np.median(ordinary.to_numpy()))
    msg = (
        f"{ctx.label('D_loss')} trained at {fmt_sig(level)} (median of {len(ordinary)} "
        f"point(s) from step {int(ordinary.index[0])} to {int(ordinary.index[-1])}), then "
        f"is pinned at exactly {fmt_sig(val)} from step {pin_step} to the end ({tail} of "
        f"{len(d)} points; {clamp}): D's outputs blew up to saturation during training, and "
        "no gradient reaches G since."
    )
    action = (
        "Restart from a checkpoint before the blow-up with lower learning rates (SGD at a high "
        "rate, or Adam without warm-up, does this), compute BCE from logits "
        "(BCEWithLogitsLoss) and clip gradients."
    )
    nums = {"D_loss_before": level, "D_loss": val, "pinned_points": tail, "pin_step": pin_step}
    nums["points_before"] = len(ordinary)
    return [
        Finding(
            "divergence",
            "error",
            f"{ctx.label('D_loss')} blew up into a clamp",
            msg,
            action,
            pin_step,
            last_step,
            nums,
            [ctx.column("D_loss")],
        )
    ]
