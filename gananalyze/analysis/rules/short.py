"""Short logs (5 to min_points - 1 rows), which the trend rules cannot bin: judged only when
every logged row agrees strongly (from 8 rows: all but one, the last included, a warning),
and the finding says how many points it rests on. A row agrees by D's outputs or by its
losses (each row's evidence is all read).

D wins in every row: D(x) >= d_over_dx_min and D(G(z)) <= d_over_dgz_max in each row; or,
without D's outputs, a G loss that implies D(G(z)) <= d_over_implied_dgz_max as -log D(G(z))
with a D loss under d_over_implied_loss_frac of ln 2 in each row (D winning under every
convention consistent with those numbers); or, without a G loss, a D loss under
d_over_loss_frac of the smallest equilibrium of any convention (unless declared).

G fooling D is an event too: every row from one on to the last, at least MIN_SHORT rows
and half the log, D(G(z)) >= g_over_dgz_min (logged, or implied by the losses under every
convention they fit, with the D loss risen over the rows before).

G's samples running away (runaway.py) are an event too: judged when every row agrees, or
every row from one on to the last, at least MIN_SHORT rows and half the log (`tail_agrees`).

A loss exploding (`short_log_explosion`, a divergence finding the divergence rule adds):
every row from the first past loss_explode_ratio x its scale to the last, at least
MIN_EXPLODED of them, the scale being its first row or the largest D-loss equilibrium of
any convention, whichever is larger.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ...textfmt import fmt_sig
from ..findings import Finding
from .context import RuleContext
from .conventions import (
    D_EQUILIBRIA,
    LN2,
    consistent_d_equilibria,
    fooled_everywhere,
    implied_before,
    implied_fooling,
    loss_type_known,
)
from .registry import not_this_kind, rule

MIN_SHORT = 5
MIN_ONE_OFF = 8  # from this many rows, one row that disagrees (not the last) is tolerated
MIN_EXPLODED = 3  # a short log's explosion: at least this many rows past the limit, to the end


def rows_agree(agree: np.ndarray) -> bool:
    """Every row agrees; or, from MIN_ONE_OFF rows, all but one, the last row included."""
    n, k = len(agree), int(agree.sum())
    return n >= MIN_SHORT and (k == n or (n >= MIN_ONE_OFF and k == n - 1 and bool(agree[-1])))


def tail_agrees(agree: np.ndarray) -> int:
    """The first row of the stretch of agreeing rows that runs to the last row, when it
    holds at least MIN_SHORT rows and half the log (an event from that row on, such as a
    divergence, in every row since), else -1."""
    n = len(agree)
    k = n
    while k > 0 and agree[k - 1]:
        k -= 1
    tail = n - k
    return k if tail >= max(MIN_SHORT, math.ceil(n / 2)) else -1


def judged_from(n: int, why: str, th: dict) -> str:
    """The sentence a short-log finding ends with: how many points it rests on, and why."""
    return (
        f"Judged from {n} points, under the {th['min_points']} the trend rules need, because {why}."
    )


def judged_from_tail(n: int, step: int, th: dict) -> str:
    """`judged_from` for a finding whose rows agree from `step` on to the last."""
    return judged_from(n, f"every row from step {step} on agrees, the last included", th)


def _rows(k: int, n: int, by_outputs: int | None = None) -> str:
    if k == n and (by_outputs is None or by_outputs == n):
        return f"every one of the {n} rows"
    if by_outputs is not None and by_outputs < k:
        return (
            f"{by_outputs} of the {n} rows, and D wins by its losses in "
            f"{k - by_outputs} more ({k} of {n})"
        )
    return f"{k} of the {n} rows"


def _short(ctx: RuleContext, name: str) -> pd.Series | None:
    s = ctx.finite(name)
    return s if MIN_SHORT <= len(s) < ctx.th["min_points"] else None


def _smallest_equilibrium(ctx: RuleContext) -> tuple[float, str]:
    """The D loss's equilibrium under the declared convention, else the smallest of all."""
    eq = ctx.eq
    if eq is not None and eq.d_loss is not None and loss_type_known(eq):
        return eq.d_loss, f"the {eq.loss.upper()} equilibrium {fmt_sig(eq.d_loss)}"
    # averaged BCE 2 ln2 / 2, hinge 2 / 2, LSGAN 0.5 / 2: the smallest is LSGAN's mean
    return min(LN2, 1.0, 0.25), "the smallest equilibrium of every loss convention"


def _is_short(ctx: RuleContext) -> str | None:
    n = max(len(ctx.finite("D_loss")), min(len(ctx.prob("D_x")), len(ctx.prob("D_G_z"))))
    if MIN_SHORT <= n < ctx.th["min_points"]:
        return None
    return not_this_kind("not a short log (5 to min_points - 1 rows of D loss or D outputs)")


@rule("short_log_balance", needs=(), applies=_is_short)
def short_log_balance(ctx: RuleContext) -> list[Finding]:
    """The balance of D and G in a log too short for the trend rules (5-19 points): D wins in
    every row (`_short_d_wins`), or G fools D in every row from one on to the last
    (`_short_fooled`)."""
    return _short_d_wins(ctx) or _short_fooled(ctx)


def _short_fooled(ctx: RuleContext) -> list[Finding]:
    """G fools D in every row from one on to the last, at least MIN_SHORT rows and half the log
    (`tail_agrees`): D(G(z)) >= g_over_dgz_min by D's outputs, under runaway_dgz_min (a
    sigmoid saturated on the fakes is a runaway's or a clamp's, not a fooled D); without
    them, as the row's G loss implies it under every convention the row's G and D losses fit
    (conventions.implied_fooling), those rows' D loss at least g_over_d_rise above its median
    over the rows before (a fooled D loses ground). A g_overpowering warning that says how
    many points it rests on."""
    th = ctx.th
    dg = ctx.prob("D_G_z")
    if MIN_SHORT <= len(dg) < th["min_points"]:
        v = dg.to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            agree = np.isfinite(v) & (v >= th["g_over_dgz_min"]) & (v < th["runaway_dgz_min"])
        k = tail_agrees(agree)
        if k < 0:
            return []
        steps = dg.index.to_numpy()
        low = v[k:]
        what = f"D(G(z)) >= {fmt_sig(float(low.min()))} in each"
        nums: dict = {"D_G_z_min": float(low.min())}
        metrics = [ctx.column("D_G_z")]
    else:
        dl, gl = _short(ctx, "D_loss"), ctx.finite("G_loss")
        if dl is None or not len(gl):
            return []
        j = pd.concat([dl.rename("d"), gl.rename("g")], axis=1, join="inner").dropna()
        if len(j) < MIN_SHORT:
            return []
        d, g = j["d"].to_numpy(np.float64), j["g"].to_numpy(np.float64)
        conv = implied_fooling(ctx.eq, g, d)
        if not conv:
            return []
        # a non-negative G loss read as a probability's (-log D(G(z)), LSGAN) where one fits,
        # hinge's raw score named as the exception; a negative one (saturating BCE, or a raw
        # score as hinge's and a critic's are) under every convention
        agree, low_all = fooled_everywhere(conv, th["g_over_dgz_min"])
        p_agree, p_low = fooled_everywhere(conv, th["g_over_dgz_min"], probabilities=True)
        agree, low_all = np.where(g >= 0, p_agree, agree), np.where(g >= 0, p_low, low_all)
        with np.errstate(invalid="ignore"):
            agree &= low_all < th["runaway_dgz_min"]
        k = tail_agrees(agree)
        if k <= 0:
            return []  # no rows before to say D lost ground against
        d_before, d_during = float(np.median(d[:k])), float(np.median(d[k:]))
        if not d_during > d_before * (1 + th["g_over_d_rise"]):
            return []
        steps = j.index.to_numpy()
        low = low_all[k:]
        fits = sorted(n for n, (f, _) in conv.items() if bool(f[k:].any()))
        probs = [n for n in fits if not n.startswith("hinge")]
        g_during = float(np.median(g[k:]))
        cands = consistent_d_equilibria(ctx.eq, d_during, g_during)
        worse = bool(cands) and d_during >= max(cands.values()) and g_during > 0
        if worse:  # ... by the fake term: D(x) still no worse than chance
            worse = d_during + math.log(-math.expm1(-g_during)) <= max(cands.values())
        if (
            not worse
            and implied_before(ctx.eq, float(np.median(g[:k])), fits) >= th["g_over_dgz_min"]
        ):
            # "fooled" in the rows before too: a G loss on another scale (a weight), unless
            # D now does worse than chance by the fake term that G loss implies as -log
            # D(G(z)) (a weight leaves the D loss at its equilibrium)
            return []
        what = (
            f"{ctx.label('G_loss')} {fmt_sig(float(np.median(g[:k])))} -> "
            f"{fmt_sig(float(np.median(g[k:])))}, implying D(G(z)) of about "
            f"{fmt_sig(float(low.min()))} or more under every "
            + ("probability " if len(probs) < len(fits) else "")
            + f"loss convention these numbers fit ({', '.join(probs)}"
            + (
                "; not read as hinge's, whose G loss is D's raw score on the fakes, no probability"
                if len(probs) < len(fits)
                else ""
            )
            + f"), and {ctx.label('D_loss')} {fmt_sig(d_before)} -> {fmt_sig(d_during)}"
            + (
                f", worse than chance under every convention (above {fmt_sig(max(cands.values()))})"
                " by the fake term that G loss implies as -log D(G(z))"
                if worse
                else ""
            )
            + "; D's outputs were not logged; in each"
        )
        nums = {
            "D_G_z_implied": float(low.min()),
            "conventions": probs,
            "D_loss_before": d_before,
            "D_loss_during": d_during,
        }
        metrics = [ctx.column("G_loss"), ctx.column("D_loss")]
    n, tail = len(steps), len(steps) - k
    nums.update(points=n, agreeing=tail)
    return [
        Finding(
            rule="g_overpowering",
            severity="warning",
            title="Generator fools the discriminator (short log)",
            message=f"D rates fakes as real from step {int(steps[k])} to the end: {what} of "
            f"the last {tail} of the {n} rows. " + judged_from_tail(n, int(steps[k]), th),
            action="Strengthen D: raise its learning rate or take more D steps per G step, "
            "check that D still updates, and look at the samples: G may be exploiting a D "
            "blind spot (mode collapse); log more often to see when it began.",
            start_step=int(steps[k]),
            end_step=int(steps[-1]),
            numbers=nums,
            metrics=metrics,
        )
    ]


def _short_d_wins(ctx: RuleContext) -> list[Finding]:
    """D wins in every row of a log too short for the trend rules (5-19 points)."""
    th = ctx.th
    dx, dg = ctx.prob("D_x"), ctx.prob("D_G_z")
    dl, gl = _short(ctx, "D_loss"), ctx.finite("G_loss")
    nums: dict = {}
    g_min = -math.log(th["d_over_implied_dgz_max"])
    limit = th["d_over_implied_loss_frac"] * LN2
    if MIN_SHORT <= min(len(dx), len(dg)) < th["min_points"]:
        j = pd.concat([dx.rename("x"), dg.rename("g")], axis=1, join="inner").dropna()
        if len(j) < MIN_SHORT:
            return []
        by_out = (j["x"] >= th["d_over_dx_min"]) & (j["g"] <= th["d_over_dgz_max"])
        # a row whose outputs fall short still shows D winning when its losses do (G loss
        # implying D(G(z)) <= d_over_implied_dgz_max with a D loss under 40% of ln 2)
        lo = pd.concat([ctx.finite("D_loss").rename("d"), gl.rename("gl")], axis=1)
        lo = lo.reindex(j.index)
        by_loss = (lo["gl"] >= g_min) & (lo["d"] <= limit)
        agree = (by_out | by_loss.fillna(False)).to_numpy()
        k0 = _from_row(agree)
        if k0 is None:
            return []
        j, by_out, agree = j.iloc[k0:], by_out.iloc[k0:], agree[k0:]
        n, k, first = len(j), int(agree.sum()), int(j.index[0])
        ok = j[by_out.to_numpy()]
        what = (
            f"D(x) at least {fmt_sig(float(ok['x'].min()))} and D(G(z)) at most "
            f"{fmt_sig(float(ok['g'].max()))} in {_rows(k, n, int(by_out.sum()))}"
        )
        nums.update(
            points=n, agreeing=k, D_x_min=float(ok["x"].min()), D_G_z_max=float(ok["g"].max())
        )
        metrics = [ctx.column("D_x"), ctx.column("D_G_z")]
        if k > int(by_out.sum()):
            metrics += [ctx.column("D_loss"), ctx.column("G_loss")]
    elif dl is not None and not (ctx.eq is not None and ctx.eq.loss == "wasserstein"):
        g = gl.reindex(dl.index).dropna() if len(gl) else pd.Series([], dtype="float64")
        if len(g) >= MIN_SHORT:
            # D(G(z)) <= d_over_implied_dgz_max as -log D(G(z)) (a hinge G loss this high
            # puts the fakes as far past the margin; an LSGAN one would need a large D loss)
            # while the D loss is under d_over_implied_loss_frac of the averaged BCE
            # equilibrium ln 2, the smallest of BCE's and hinge's
            d2 = dl.reindex(g.index)
            agree = ((g >= g_min) & (d2 <= limit)).to_numpy()
            k0 = _from_row(agree)
            if k0 is None:
                return []
            g, d2, agree = g.iloc[k0:], d2.iloc[k0:], agree[k0:]
            n, k, first = len(g), int(agree.sum()), int(g.index[0])
            g_lo = float(g[agree].min())
            what = (
                f"{ctx.label('D_loss')} at most {fmt_sig(float(d2[agree].max()))} (under "
                f"{fmt_sig(limit)}, {fmt_sig(100 * th['d_over_implied_loss_frac'])}% of the "
                f"averaged BCE equilibrium ln 2) and {ctx.label('G_loss')} at least "
                f"{fmt_sig(g_lo)} in {_rows(k, n)}: under BCE D(G(z)) <= "
                f"{fmt_sig(float(np.exp(-g_lo)))} as -log D(G(z)), under hinge D scores G's "
                f"samples {fmt_sig(g_lo)} below zero; D wins under every loss convention "
                "consistent with these numbers"
            )
            nums.update(
                points=n,
                agreeing=k,
                D_loss_max=float(d2[agree].max()),
                G_loss_min=float(g[agree].min()),
            )
            metrics = [ctx.column("D_loss"), ctx.column("G_loss")]
        else:
            k0 = 0
            ref, ref_name = _smallest_equilibrium(ctx)
            limit = th["d_over_loss_frac"] * ref
            if not (dl <= limit).all():
                return []
            n = k = len(dl)
            what = (
                f"{ctx.label('D_loss')} at most {fmt_sig(float(dl.max()))} in every one of the {n} "
                f"rows (under {fmt_sig(th['d_over_loss_frac'] * 100)}% of {ref_name})"
            )
            nums.update(points=n, agreeing=k, D_loss_max=float(dl.max()))
            metrics = [ctx.column("D_loss")]
    else:
        return []
    steps = ctx.steps
    if k0:  # D took over from a row on: an event, as G fooling D or a runaway is
        start = first
        said = f"every row from step {start} on (the last {n} of {n + k0})"
        ending = judged_from_tail(n + k0, start, th)
        severity = "warning"
        nums.update(points=n + k0, from_row=k0)
    else:
        start = int(steps[0]) if len(steps) else None
        said = "every logged row" if k == n else "all logged rows but one"
        why = "every row agrees" if k == n else "all rows but one agree, the last included"
        ending, severity = judged_from(n, why, th), "error" if k == n else "warning"
    return [
        Finding(
            rule="d_overpowering",
            severity=severity,
            title="Discriminator overpowers the generator (short log)",
            message=f"D wins in {said}: {what}. " + ending,
            action="Weaken D or strengthen G: lower D's learning rate, fewer D steps per G "
            "step, label smoothing or instance noise; log more often to see when it began.",
            start_step=start,
            end_step=int(steps[-1]) if len(steps) else None,
            numbers=nums,
            metrics=metrics,
        )
    ]


def _from_row(agree: np.ndarray) -> int | None:
    """0 when every row agrees (rows_agree), else the row from which every row to the last
    does (tail_agrees: at least MIN_SHORT rows and half the log: D took over then), else
    None."""
    if rows_agree(agree):
        return 0
    k = tail_agrees(agree)
    return k if k > 0 else None


def short_log_explosion(ctx: RuleContext) -> list[Finding]:
    """A loss exploding in a log too short for the trend rules (5 to min_points - 1 rows),
    judged only when every row from its first explosion on agrees, the last included, over
    at least MIN_EXPLODED rows: each above loss_explode_ratio x the loss's scale (its first
    row, or the largest D-loss equilibrium of any convention when that is larger, as the
    divergence rule reads longer logs). Called by the divergence rule."""
    th = ctx.th
    if ctx.eq is not None and ctx.eq.loss == "wasserstein" and ctx.eq.d_loss is None:
        return []  # a critic loss has no scale of its own (wgan_critic reads its growth)
    out: list[Finding] = []
    for name in ("D_loss", "G_loss"):
        s = _short(ctx, name)
        if s is None:
            continue
        v = np.abs(s.to_numpy(dtype=np.float64))
        floor = max(D_EQUILIBRIA.values())
        scale = max(float(v[0]), floor)
        over = v > th["loss_explode_ratio"] * scale
        k = len(v)
        while k > 0 and over[k - 1]:
            k -= 1
        tail = len(v) - k
        if tail < MIN_EXPLODED:
            continue
        n = len(v)
        steps = s.index.to_numpy()
        what = (
            "its first row"
            if v[0] >= floor
            else f"the largest D-loss equilibrium of any convention, above its first row's "
            f"{fmt_sig(float(v[0]))}"
        )
        out.append(
            Finding(
                rule="divergence",
                severity="error",
                title=f"{ctx.label(name)} exploded (short log)",
                message=f"|{ctx.label(name)}| rose from {fmt_sig(float(v[0]))} at step "
                f"{int(steps[0])} to {fmt_sig(float(v[-1]))} at step {int(steps[-1])}: each of "
                f"the last {tail} of the {n} rows is above {fmt_sig(th['loss_explode_ratio'])}x "
                f"its scale {fmt_sig(scale)} ({what}). " + judged_from_tail(n, int(steps[k]), th),
                action="Lower the learning rate or resume from an earlier checkpoint; for "
                "Wasserstein critics check the gradient penalty / weight clipping; log more "
                "often to see when it began.",
                start_step=int(steps[k]),
                end_step=int(steps[-1]),
                numbers={
                    "points": n,
                    "exploded_points": tail,
                    "first": float(v[0]),
                    "last": float(v[-1]),
                    "early_scale": scale,
                },
                metrics=[ctx.column(name)],
            )
        )
    return out
