"""Short logs (5 to min_points - 1 rows), which the trend rules cannot bin: judged only when
every logged row agrees strongly, and the finding says how many points it rests on.

D wins in every row: D(x) >= d_over_dx_min and D(G(z)) <= d_over_dgz_max in each row; or,
without D's outputs, a G loss that implies D(G(z)) <= d_over_implied_dgz_max as -log D(G(z))
with a D loss under d_over_implied_loss_frac of ln 2 in each row (D winning under every
convention consistent with those numbers); or, without a G loss, a D loss under
d_over_loss_frac of the smallest equilibrium of any convention (unless declared).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ...textfmt import fmt_sig
from ..findings import Finding
from .context import RuleContext
from .conventions import LN2, loss_type_known
from .registry import not_this_kind, rule

MIN_SHORT = 5


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
    """D wins in every row of a log too short for the trend rules (5-19 points)."""
    th = ctx.th
    dx, dg = ctx.prob("D_x"), ctx.prob("D_G_z")
    dl, gl = _short(ctx, "D_loss"), ctx.finite("G_loss")
    nums: dict = {}
    if MIN_SHORT <= min(len(dx), len(dg)) < th["min_points"]:
        j = pd.concat([dx.rename("x"), dg.rename("g")], axis=1, join="inner").dropna()
        if len(j) < MIN_SHORT or not (
            (j["x"] >= th["d_over_dx_min"]).all() and (j["g"] <= th["d_over_dgz_max"]).all()
        ):
            return []
        n = len(j)
        what = (
            f"D(x) >= {fmt_sig(float(j['x'].min()))} and D(G(z)) <= "
            f"{fmt_sig(float(j['g'].max()))} in every one of the {n} rows"
        )
        nums.update(points=n, D_x_min=float(j["x"].min()), D_G_z_max=float(j["g"].max()))
        metrics = [ctx.column("D_x"), ctx.column("D_G_z")]
    elif dl is not None and not (ctx.eq is not None and ctx.eq.loss == "wasserstein"):
        g = gl.reindex(dl.index).dropna() if len(gl) else pd.Series([], dtype="float64")
        if len(g) >= MIN_SHORT:
            # D(G(z)) <= d_over_implied_dgz_max as -log D(G(z)) (a hinge G loss this high
            # puts the fakes as far past the margin; an LSGAN one would need a large D loss)
            # while the D loss is under d_over_implied_loss_frac of the averaged BCE
            # equilibrium ln 2, the smallest of BCE's and hinge's
            g_min = -math.log(th["d_over_implied_dgz_max"])
            limit = th["d_over_implied_loss_frac"] * LN2
            if not ((g >= g_min).all() and (dl <= limit).all()):
                return []
            n = len(g)
            what = (
                f"{ctx.label('D_loss')} <= {fmt_sig(float(dl.max()))} (under "
                f"{fmt_sig(limit)}, {fmt_sig(100 * th['d_over_implied_loss_frac'])}% of the "
                f"averaged BCE equilibrium ln 2) and {ctx.label('G_loss')} >= "
                f"{fmt_sig(float(g.min()))} (D(G(z)) <= {fmt_sig(float(np.exp(-g.min())))} as "
                f"-log D(G(z))) in every one of the {n} rows; this holds under every loss "
                "convention consistent with these numbers"
            )
            nums.update(points=n, D_loss_max=float(dl.max()), G_loss_min=float(g.min()))
            metrics = [ctx.column("D_loss"), ctx.column("G_loss")]
        else:
            ref, ref_name = _smallest_equilibrium(ctx)
            limit = th["d_over_loss_frac"] * ref
            if not (dl <= limit).all():
                return []
            n = len(dl)
            what = (
                f"{ctx.label('D_loss')} <= {fmt_sig(float(dl.max()))} in every one of the {n} "
                f"rows (under {fmt_sig(th['d_over_loss_frac'] * 100)}% of {ref_name})"
            )
            nums.update(points=n, D_loss_max=float(dl.max()))
            metrics = [ctx.column("D_loss")]
    else:
        return []
    steps = ctx.steps
    return [
        Finding(
            rule="d_overpowering",
            severity="error",
            title="Discriminator overpowers the generator (short log)",
            message=f"D wins in every logged row: {what}. Judged from {n} points, under the "
            f"{th['min_points']} the trend rules need, because every row agrees.",
            action="Weaken D or strengthen G: lower D's learning rate, fewer D steps per G "
            "step, label smoothing or instance noise; log more often to see when it began.",
            start_step=int(steps[0]) if len(steps) else None,
            end_step=int(steps[-1]) if len(steps) else None,
            numbers=nums,
            metrics=metrics,
        )
    ]
