"""G's samples running away from the data: a divergence whose losses stay finite.

A D that can no longer follow G (frozen, too slow, too small, or stopped by a clamp) leaves
G climbing D's fixed landscape. For a network of linear pieces D's score grows without
bound away from the data, so G's samples leave the data behind; what the log shows is D
rating the fakes as real, with saturated confidence, while it does not rate the real data
so: D ranks the fakes above the data. Read from every signal logged:

- D's outputs: D(G(z)) >= `runaway_dgz_min` (a sigmoid that saturated: logit >= 6.9) while
  D(x) <= `runaway_dx_max` (not saturated alike: a D saying 1.0 to both is d_clamped's);
  the D loss, when logged, must say D does worse than chance (>= `runaway_d_loss_ratio` x
  its equilibrium), and the G loss, when logged, must not say D rejects the fakes;
- in a short log (5 to min_points - 1 rows): every row, all but one from 8 rows, or every
  row from one on to the last, at least 5 rows and half the log (a runaway is an event);
- the losses alone: a G loss implying D(G(z)) >= `runaway_dgz_min` as -log D(G(z)) (or as
  log(1 - D(G(z))) when negative) with a D loss >= `runaway_d_loss_ratio` x the largest
  equilibrium of every loss convention consistent with the run (so under BCE, hinge and
  LSGAN alike D does worse than chance while G's loss says its fakes pass). A D loss pinned
  exactly at a BCE clamp of both terms (100, 50, 200: the real term is 0, D(x) = 1), or at
  the cap -ln(eps) of an epsilon-guarded fake term (13.82 for 1e-6, 18.42 for 1e-8, ...; half
  of it averaged), is a D saturated alike, not this.

The finding is a `divergence` one (the divergence rule calls `samples_run_away`), with its
steps, numbers and the conventions it was tested under.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ...textfmt import fmt_pct, fmt_sig
from ..findings import Finding
from .balance import implied_dgz
from .clamps import at_clamp
from .context import RuleContext, last_bin_with_data, sustained_stretch
from .conventions import D_EQUILIBRIA, consistent_d_equilibria, loss_type_known
from .short import MIN_ONE_OFF, MIN_SHORT, judged_from, rows_agree, tail_agrees


def _candidate(ctx: RuleContext) -> bool:
    """Whether there is anything to judge: D's outputs (or the D and G losses, not
    Wasserstein) logged, with D(G(z)), or the D(G(z)) a G loss implies, in the saturated
    range at some point."""
    dgz_min = ctx.th["runaway_dgz_min"]
    if ctx.has("D_x_prob") and ctx.has("D_G_z_prob"):
        return bool((ctx.prob("D_G_z").to_numpy() >= dgz_min).any())
    if not (ctx.has("D_loss") and ctx.has("G_loss")):
        return False
    if ctx.eq is not None and ctx.eq.loss == "wasserstein":
        return False  # no equilibrium to be worse than (wgan_critic reads critic growth)
    g = ctx.finite("G_loss").to_numpy()
    return bool((((g >= 0) & (g <= -math.log(dgz_min))) | (g <= math.log(1 - dgz_min))).any())


def _short_rows(ctx: RuleContext) -> pd.DataFrame | None:
    """A short log's rows (5 to min_points - 1): D(x), D(G(z)), D loss, G loss per logged
    step (NaN where a row lacks one), or None when the log is not short."""
    cols = {
        "x": ctx.prob("D_x"),
        "g": ctx.prob("D_G_z"),
        "d": ctx.finite("D_loss"),
        "gl": ctx.finite("G_loss"),
    }
    n = max(len(v) for v in cols.values())
    if not MIN_SHORT <= n < ctx.th["min_points"]:
        return None
    return pd.concat([v.rename(k) for k, v in cols.items()], axis=1).sort_index()


def _masks(
    ctx: RuleContext, bx, bg, bd, bgl, bi, cands: dict[str, float]
) -> tuple[np.ndarray, bool] | None:
    """Per bin (or row): whether D ranks the fakes above the data by every signal logged,
    and whether D's outputs were read; None when nothing can be judged."""
    th = ctx.th
    eq = ctx.eq
    dgz_min = th["runaway_dgz_min"]
    ratio = th["runaway_d_loss_ratio"]
    if np.isfinite(bx).sum() >= MIN_SHORT and np.isfinite(bg).sum() >= MIN_SHORT:
        mask = (bg >= dgz_min) & (bx <= th["runaway_dx_max"])
        if np.isfinite(bd).any() and eq is not None and eq.d_loss:
            # the D loss is read too: a D doing better than chance contradicts the outputs
            mask &= ~(bd < ratio * eq.d_loss)
        if bi is not None:
            mask &= ~(bi < 0.5)  # the G loss says D rejects the fakes
        return mask, True
    if not cands:
        return None
    d_need = ratio * max(cands.values())
    g_ns = -math.log(dgz_min)  # -log D(G(z)) at D(G(z)) = dgz_min
    g_sat = math.log(1.0 - dgz_min)  # log(1 - D(G(z))) at D(G(z)) = dgz_min
    g_pass = ((bgl >= 0) & (bgl <= g_ns)) | (bgl <= g_sat)
    return g_pass & (bd >= d_need) & ~at_clamp(bd), False


def samples_run_away(ctx: RuleContext) -> list[Finding]:
    """D rates the fakes as real with saturated confidence while not the data (or the losses
    say so under every convention), sustained (in a short log: in every row, or all but one
    from 8 rows, the last included): G's samples run away (a divergence finding, called by
    the divergence rule)."""
    th = ctx.th
    eq = ctx.eq
    rows = _short_rows(ctx)
    if rows is None and not _candidate(ctx):
        return []
    if rows is not None and ctx.eq is not None and ctx.eq.loss == "wasserstein":
        return []
    if rows is not None:
        bx, bg = rows["x"].to_numpy(), rows["g"].to_numpy()
        bd, bgl = rows["d"].to_numpy(), rows["gl"].to_numpy()
        nb = len(rows)
        imp = implied_dgz(ctx)
        bi = imp[0].reindex(rows.index).to_numpy() if imp is not None else None
        if imp is None and np.isfinite(bgl).sum() >= MIN_SHORT and eq is not None:
            bi = _implied_short(ctx, bgl)
    else:
        nb = ctx.nb
        bd = ctx.bins("D_loss")["med"] if ctx.has("D_loss") else np.full(nb, np.nan)
        bgl = ctx.bins("G_loss")["med"] if ctx.has("G_loss") else np.full(nb, np.nan)
        has_probs = ctx.has("D_x_prob") and ctx.has("D_G_z_prob")
        bx = ctx.bins("D_x_prob", ctx.prob("D_x"))["med"] if has_probs else None
        bg = ctx.bins("D_G_z_prob", ctx.prob("D_G_z"))["med"] if has_probs else None
        if bx is None:
            bx = bg = np.full(nb, np.nan)
        imp = implied_dgz(ctx) if has_probs else None
        bi = ctx.bins("__runaway_implied", imp[0])["med"] if imp is not None else None
    nums: dict[str, Any] = {}
    g_med = float(np.nanmedian(bgl)) if np.isfinite(bgl).any() else None
    d_tail = float(np.nanmedian(bd[-max(1, nb // 4) :])) if np.isfinite(bd).any() else None
    cands = consistent_d_equilibria(eq, d_tail, g_med) if d_tail is not None else {}
    got = _masks(ctx, bx, bg, bd, bgl, bi, cands)
    if got is None:
        return []
    mask, use_probs = got
    mask = np.asarray(mask, dtype=bool)
    if rows is not None:
        steps = rows.index.to_numpy()
        first = 0 if rows_agree(mask) else tail_agrees(mask)
        if first < 0:
            return []
        k = int(mask.sum())
        if first:
            why = f"every row from step {int(steps[first])} on agrees, the last included"
            k = nb - first
        else:
            why = "every row agrees" if k == nb else "all rows but one agree, the last included"
        short_note = " " + judged_from(nb, f"{why} ({k} of {nb})", th)
        return _finding(
            ctx,
            first,
            nb - 1,
            True,
            steps,
            steps,
            bx,
            bg,
            bd,
            bgl,
            cands,
            use_probs,
            nums,
            short_note,
        )
    last = last_bin_with_data(bx, bg) if use_probs else last_bin_with_data(bd, bgl)
    pick = sustained_stretch(mask, ctx.need_bins(), last)
    if not pick:
        return []
    a, z, ongoing = pick
    return _finding(
        ctx, a, z, ongoing, ctx.bin_start, ctx.bin_end, bx, bg, bd, bgl, cands, use_probs, nums, ""
    )


def _implied_short(ctx: RuleContext, gl: np.ndarray) -> np.ndarray | None:
    """D(G(z)) implied by a short log's G loss under the run's BCE or LSGAN convention (as
    balance.implied_dgz reads longer logs), or None."""
    eq = ctx.eq
    if eq is None or eq.loss not in ("bce", "lsgan"):
        return None
    if eq.loss == "lsgan":
        return 1.0 - np.sqrt(np.clip(gl, 0.0, 1.0))
    if np.nanmean(gl < 0) > 0.9:
        return 1.0 - np.exp(np.minimum(gl, 0.0))
    return np.exp(-np.maximum(gl, 0.0))


def _finding(
    ctx: RuleContext,
    a: int,
    z: int,
    ongoing: bool,
    starts,
    ends,
    bx,
    bg,
    bd,
    bgl,
    cands: dict[str, float],
    use_probs: bool,
    nums: dict[str, Any],
    note: str,
) -> list[Finding]:
    th = ctx.th
    eq = ctx.eq
    dgz_min = th["runaway_dgz_min"]
    nb = len(bd)
    b0, b1 = int(starts[a]), int(ends[z])
    frac = (z - a + 1) / nb
    nums.update(bins=int(z - a + 1), fraction_of_run=frac)
    parts = []
    metrics = []
    if use_probs:
        dx, dg = float(np.nanmedian(bx[a : z + 1])), float(np.nanmedian(bg[a : z + 1]))
        nums.update(D_x=dx, D_G_z=dg)
        parts.append(
            f"D(G(z)) {fmt_sig(dg)} (saturated, >= {fmt_sig(dgz_min)}) while D(x) "
            f"{fmt_sig(dx)}: D rates the fakes as more real than the data"
        )
        metrics += [ctx.column("D_x"), ctx.column("D_G_z")]
    if np.isfinite(bd[a : z + 1]).any():
        dl = float(np.nanmedian(bd[a : z + 1]))
        nums["D_loss"] = dl
        if use_probs and eq is not None and eq.d_loss:
            ref = f" ({fmt_sig(dl / eq.d_loss)}x its {eq.loss.upper()} equilibrium " + (
                f"{fmt_sig(eq.d_loss)}: worse than chance)"
            )
        elif cands:
            top = max(cands, key=cands.get)
            ref = (
                f" ({fmt_sig(dl / cands[top])}x the largest equilibrium of every convention "
                f"consistent with the run, {fmt_sig(cands[top])} for {top}: worse than chance "
                "under each)"
            )
            nums["conventions"] = sorted(cands)
        else:
            ref = ""
        parts.append(f"{ctx.label('D_loss')} {fmt_sig(dl)}{ref}")
        metrics.append(ctx.column("D_loss"))
    if np.isfinite(bgl[a : z + 1]).any():
        gl = float(np.nanmedian(bgl[a : z + 1]))
        nums["G_loss"] = gl
        what = ""
        if not use_probs:
            what = (
                (
                    f" (D(G(z)) = 1 - {fmt_sig(-math.expm1(-gl))} as -log D(G(z)), >= "
                    f"{fmt_sig(dgz_min)})"
                    if gl > 0
                    else " (D(G(z)) = 1 to the printed digits, as -log D(G(z)))"
                )
                if gl >= 0
                else f" (D(G(z)) = 1 - e^{fmt_sig(gl)} as log(1 - D(G(z))), >= "
                f"{fmt_sig(dgz_min)}; as hinge's -D(G(z)), a score of {fmt_sig(-gl)} on the "
                "fakes, past the margin 1)"
            )
        parts.append(f"{ctx.label('G_loss')} {fmt_sig(gl)}{what}")
        metrics.append(ctx.column("G_loss"))
    span = f"from step {b0}" + (" to the end" if ongoing else f" to {b1}")
    msg = (
        f"D ranks G's samples above the real data {span} ({fmt_pct(frac)} of the run): "
        + "; ".join(parts)
        + ". A D that no longer follows G leaves G climbing its fixed landscape, which grows "
        "without bound away from the data: the samples run away (a divergence the losses do "
        "not show as NaN)." + note
    )
    if not use_probs:
        msg += (
            " This holds under every loss convention consistent with the data ("
            + ", ".join(sorted(cands))
            + ")."
            if len(cands) > 1 or not loss_type_known(eq)
            else f" Judged under the run's {eq.loss.upper()} loss."
        )
    return [
        Finding(
            rule="divergence",
            severity="error" if ongoing else "warning",
            title="G's samples run away from the data",
            message=msg,
            action="Look at the samples' range. Restart from a checkpoint before it with D "
            "learning again: check that D's optimizer steps (learning rate, requires_grad), "
            "give D more capacity or a higher learning rate relative to G (TTUR), and bound "
            "G's output (tanh) to the data's range.",
            start_step=b0,
            end_step=b1,
            numbers=nums,
            metrics=metrics,
        )
    ]


def _spread(x: np.ndarray) -> float:
    """The 10th-to-90th percentile spread."""
    lo, hi = np.percentile(x, [10, 90])
    return float(hi - lo)


def climbs_fixed_critic(ctx: RuleContext) -> list[Finding]:
    """D loss + G loss constant while the G loss falls far (`fixed_critic_ratio`): under a
    Wasserstein loss, hinge (while D(G(z)) > -1) and saturating BCE that sum is D's loss on
    the real data alone, so D's verdict on the data never changed while its score for G's
    samples rose: G climbing a critic that no longer learns, whose score grows without bound
    away from the data (a divergence finding, called by the divergence rule where
    samples_run_away found nothing). An identity, not a trend, so a short log of 8 rows is
    judged too; the finding says how many points it rests on. The fall must be at least
    `climb_min_fall` of the G loss's larger size (first or last quarter): a G loss that
    barely moves beside an exact sum is a D constant over its inputs (d_stalled's). It must
    still be falling in the second half (half of the fall or more after the middle: growth
    without bound, where a G that converges levels off, as under a critic whose score on the
    data is anchored, ProGAN's drift penalty), and end under the sum (the fakes rated above
    the data, when the D loss's penalties are >= 0). Under
    non-saturating BCE and LSGAN the sum moves with D(G(z)), so it cannot stay constant
    while the G loss falls."""
    th = ctx.th
    d, g = ctx.finite("D_loss"), ctx.finite("G_loss")
    if not (len(d) and len(g)):
        return []
    j = pd.concat([d.rename("d"), g.rename("g")], axis=1, join="inner")
    if len(j) < MIN_ONE_OFF:  # an identity, not a trend: judged from 8 rows
        return []
    s = (j["d"] + j["g"]).to_numpy(dtype=np.float64)
    gv = j["g"].to_numpy(dtype=np.float64)
    n = len(gv)
    k = max(1, n // 4)
    g_first, g_last = float(np.median(gv[:k])), float(np.median(gv[-k:]))
    g_mid = float(np.median(gv[max(0, n // 2 - k // 2) : n // 2 + k // 2 + 1]))
    fall, s_span = g_first - g_last, _spread(s)
    size = max(abs(g_first), abs(g_last))
    climbed = fall > 0 and fall >= th["climb_min_fall"] * size
    if not (climbed and s_span <= th["fixed_critic_ratio"] * fall):
        return []
    # unbounded: still falling (half of the fall or more after the middle), not levelling off
    # at the data's score as a converging G does; and at the end G's loss under the sum, which
    # rating the fakes above the data needs when the penalties in the D loss are >= 0
    if g_mid - g_last < 0.5 * fall or g_last >= float(np.median(s)):
        return []
    steps = j.index.to_numpy()
    b0, b1 = int(steps[0]), int(steps[-1])
    msg = (
        f"{ctx.label('D_loss')} + {ctx.label('G_loss')} stayed at {fmt_sig(float(np.median(s)))} "
        f"(10th-90th percentile spread {fmt_sig(s_span)}) from step {b0} to {b1} ({len(j)} "
        f"points), while {ctx.label('G_loss')} fell from {fmt_sig(g_first)} (median of the "
        f"first quarter) to {fmt_sig(g_last)} (last quarter), {fmt_sig(fall / max(s_span, 1e-12))}"
        "x that spread. Under a Wasserstein loss, hinge (while D(G(z)) > -1) and saturating "
        "BCE, that sum is D's loss on the real data alone (under non-saturating BCE and LSGAN "
        "it moves with D(G(z)) and could not stay put while the G loss falls, so they do not "
        "fit these numbers): D's verdict on the data did not change while its score for G's "
        f"samples rose by {fmt_sig(fall)}. A D that no longer "
        "follows G leaves G climbing its fixed landscape, which grows without bound away from "
        "the data: the samples run away (a divergence the losses do not show as NaN)."
    )
    nums = {"loss_sum": float(np.median(s)), "loss_sum_spread": s_span, "G_loss_first": g_first}
    nums.update(G_loss_last=g_last, G_loss_fall=fall, points=len(j))
    return [
        Finding(
            rule="divergence",
            severity="error",
            title="G's samples climb a critic that no longer learns",
            message=msg,
            action="Look at the samples' range. Check that D's optimizer steps (learning rate, "
            "requires_grad, a frozen or detached D), restart from a checkpoint before the G "
            "loss began to fall, and bound G's output (tanh) to the data's range.",
            start_step=b0,
            end_step=b1,
            numbers=nums,
            metrics=[ctx.column("D_loss"), ctx.column("G_loss")],
        )
    ]


G_BEYOND = 100.0  # BCELoss clamps log at -100; -log sigmoid(z) passes 100 only for z < -100


def g_loss_beyond_outputs(ctx: RuleContext) -> list[Finding]:
    """A G loss at G_BEYOND or more over a sustained stretch (2 bins, as d_loss_far_out)
    while the D loss, when logged, says D wins outright (under `d_over_loss_frac` of the
    smallest D equilibrium): D's outputs on G's samples are far out under every convention
    with one (BCE: -log D(G(z)) that high needs a logit under -G, a float32 sigmoid underflows
    below -104 and BCELoss clamps its log at -100; LSGAN: an output sqrt(G) from its target;
    hinge: a score under -G). D's weights have blown up and G gets no gradient: a
    divergence, whatever D winning says. Not for a Wasserstein critic (scores of any size)."""
    if not ctx.has("G_loss") or (ctx.eq is not None and ctx.eq.loss == "wasserstein"):
        return []
    b = ctx.bins("G_loss")
    med = b["med"]
    with np.errstate(invalid="ignore"):
        pick = sustained_stretch(med >= G_BEYOND, 2, last_bin_with_data(med))
    if not pick:
        return []
    a, z, ongoing = pick
    g_val = float(np.nanmedian(med[a : z + 1]))
    nums: dict[str, Any] = {"G_loss": g_val}
    d_part = ""
    if ctx.has("D_loss"):
        d_val = float(np.nanmedian(ctx.bins("D_loss")["med"][a : z + 1]))
        if not d_val <= ctx.th["d_over_loss_frac"] * min(D_EQUILIBRIA.values()):
            return []  # D not winning outright: a G loss with other terms in it, perhaps
        nums["D_loss"] = d_val
        d_part = f" while {ctx.label('D_loss')} is {fmt_sig(d_val)}"
    start, end = int(b["start"][a]), int(b["end"][z])
    msg = (
        f"{ctx.label('G_loss')} median {fmt_sig(g_val)} from step {start} to {end}"
        f"{' (the end)' if ongoing else ''}{d_part}: a G loss this high needs D's outputs on "
        f"G's samples far out under every convention with an equilibrium (BCE: a logit under "
        f"-{fmt_sig(g_val)}, where a float32 sigmoid underflows below -104 and BCELoss clamps "
        f"at 100; LSGAN: an output {fmt_sig(math.sqrt(g_val))} from its target; hinge: a score "
        f"under -{fmt_sig(g_val)}). D's weights have blown up and G gets no gradient from it."
    )
    action = (
        "Lower the learning rates (D's first), clip gradients, and compute BCE from logits; "
        "restart from a checkpoint before the first logged row of this stretch."
    )
    return [
        Finding(
            "divergence",
            "error" if ongoing else "warning",
            f"{ctx.label('G_loss')} beyond what any D output gives",
            msg,
            action,
            start,
            end,
            nums,
            [ctx.column("G_loss")] + ([ctx.column("D_loss")] if "D_loss" in nums else []),
        )
    ]
