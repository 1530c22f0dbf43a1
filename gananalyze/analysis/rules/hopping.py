"""Mode hopping across checkpoints, read from fixed-noise sample grids (part of mode_collapse).

A G that hops between modes makes every grid a set of near-copies (low diversity within the
grid) while what it draws changes from one checkpoint to the next. Each grid is cut into its
samples (the same greyscale features as analysis/diversity.py); its centre is the mean sample,
its spread the mean pairwise RMS distance, and its narrowness the share of near-duplicate
sample pairs. A hop is a pair of consecutive grids, both with at least `hop_dup_frac` of their
pairs near-copies, whose centres lie `hop_shift_ratio` times further apart than the larger of
their spreads and at least `hop_min_shift` apart (RMS per pixel, [0, 1] units). `hop_min_hops`
hops make a finding. A healthy G, even early when its samples are blurry and change fast, draws
no near-copies; a G stuck on one mode for good does not move (the diversity criteria see it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import GanAnalyzeError
from ...textfmt import fmt_pct, fmt_sig
from ..diversity import FEATURE_SIDE, pairwise_stats, sample_features
from ..findings import Finding
from .context import RuleContext
from .stability import ran_off


def grid_centres(ctx: RuleContext) -> list[tuple[int, np.ndarray, float, float, int]]:
    """(step, centre, spread, near-duplicate share, samples) per step with a laid-out grid of
    2+ samples, in step order.

    Grids at the same step (several tags) are pooled; unreadable grids are left out (the
    diversity check already names them).
    """
    grids = [
        g
        for g in ctx.run.samples
        if g.nrow and g.ncol and g.tile and not g.nonfinite and not ran_off(g, ctx.th)
    ]  # NaN/Inf drawn black, or clipped far out: a divergence's, not a hop
    tiles_at: dict[int, list[np.ndarray]] = {}
    for g in grids:
        try:
            t = np.asarray(g.tiles(), dtype=np.float32)
        except (OSError, ValueError, GanAnalyzeError):
            continue
        if t.ndim == 4:
            t = t.mean(axis=3)
        if t.ndim == 3 and len(t) >= 2:
            tiles_at.setdefault(int(g.step), []).append(t)
    if not tiles_at:
        return []
    side = min(min(t.shape[1], t.shape[2], FEATURE_SIDE) for ts in tiles_at.values() for t in ts)
    out = []
    for step in sorted(tiles_at):
        feats = np.concatenate([sample_features(t, side) for t in tiles_at[step]])
        st = pairwise_stats(feats)
        out.append((step, feats.mean(axis=0), st["diversity"], st["near_duplicates"], len(feats)))
    return out


def centre_drift(ctx: RuleContext) -> dict[str, Any] | None:
    """How far the mean sample moves between consecutive grids, in units of what sampling
    alone moves it (spread / sqrt(samples): a G that draws the same distribution at every
    checkpoint scores about 1; one whose samples cover a different set of modes at each
    checkpoint, though each sample looks real, scores 2-4). The median over the pairs of
    consecutive grids (the first grid left out when there are 4+), or None under 3 grids."""
    got = grid_centres(ctx)
    got = got[1:] if len(got) >= 4 else got
    if len(got) < 3:
        return None
    z = []
    for a, b in zip(got[:-1], got[1:], strict=True):
        shift = float(np.sqrt(np.mean((a[1] - b[1]) ** 2)))
        noise = max(a[2], b[2]) / np.sqrt(min(a[4], b[4]))
        if noise > 0:
            z.append(shift / noise)
    if not z:
        return None
    return {
        "drift": float(np.median(z)),
        "pairs": len(z),
        "first_step": int(got[0][0]),
        "last_step": int(got[-1][0]),
        "samples": int(min(g[4] for g in got)),
    }


def collapse_from_hopping(ctx: RuleContext) -> list[Finding]:
    """A mode_collapse finding when the samples hop between modes across checkpoints."""
    th = ctx.th
    got = grid_centres(ctx)
    # the first grid (an untrained G) is no reference when there are 4+, as for the diversity
    got = got[1:] if len(got) >= 4 else got
    if len(got) < th["hop_min_hops"] + 1:
        return []
    steps = [g[0] for g in got]
    spread = np.array([g[2] for g in got])
    narrow = np.array([g[3] for g in got]) >= th["hop_dup_frac"]
    centres = np.stack([g[1] for g in got])
    shift = np.sqrt(np.mean((centres[1:] - centres[:-1]) ** 2, axis=1))
    wide = np.fmax(spread[:-1], spread[1:])
    hop = (
        narrow[:-1]
        & narrow[1:]
        & (shift >= th["hop_shift_ratio"] * wide)
        & (shift >= th["hop_min_shift"])
    )
    if int(hop.sum()) < th["hop_min_hops"]:
        return []
    idx = np.flatnonzero(hop)
    i0, i1 = int(idx[0]), int(idx[-1]) + 1  # grid indices: first hop's start, last hop's end
    ongoing = bool(hop[-1])
    nums: dict[str, Any] = {
        "hops": int(hop.sum()),
        "grid_pairs": int(len(hop)),
        "median_shift": float(np.median(shift[hop])),
        "median_spread": float(np.median(spread[i0 : i1 + 1])),
        "median_near_duplicates": float(np.median([g[3] for g in got[i0 : i1 + 1]])),
    }
    msg = (
        f"Samples hop between modes: {nums['hops']} of {nums['grid_pairs']} pairs of consecutive "
        f"grids (steps {steps[i0]}-{steps[i1]}) moved their mean sample by a median "
        f"{fmt_sig(nums['median_shift'])} (RMS per pixel) while the samples within each grid "
        f"lie a median {fmt_sig(nums['median_spread'])} apart "
        f"({fmt_pct(nums['median_near_duplicates'])} of pairs near-copies): each checkpoint "
        "draws one narrow region and the region moves."
    )
    action = (
        "G covers one mode at a time and D chases it: raise G's diversity (minibatch "
        "discrimination or minibatch std in D, unrolled or packed D, a lower learning rate for "
        "both, or a different loss such as WGAN-GP)"
    )
    # which checkpoint to resume from (or none) is the run's one recommendation
    action += "."
    return [
        Finding(
            rule="mode_collapse",
            severity="error" if ongoing else "warning",
            title="Mode hopping across checkpoints",
            message=msg,
            action=action,
            start_step=int(steps[i0]),
            end_step=int(steps[i1]),
            numbers=nums,
            metrics=["samples"],
        )
    ]
