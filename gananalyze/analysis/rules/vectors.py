"""Mode collapse read from vector or sequence samples (tabular rows, time series, point
sets) at each checkpoint, with no generator and no sweep: coverage of the real rows
and per-column spread and near-duplicates when a real table is attached, spread over time
when not (near-duplicates need the data's own neighbour distances: `vectorstats`). Also,
with a real table, whether the last samples look like the data at all (`unlike_real`,
reported by sample_quality). The numbers come from analysis/vectorstats.py."""

from __future__ import annotations

import numpy as np

from ...textfmt import fmt_pct, fmt_sig
from ..findings import Finding
from ..vectorstats import real_reference, vector_data, vector_series
from .context import RuleContext
from .registry import not_this_kind, rule

RULE = "vector_collapse"


def _applies(ctx: RuleContext) -> str | None:
    if not ctx.run.vectors:
        return not_this_kind("no vector samples (rows, sequences or points)")
    if len(ctx.run.vectors) < 2 and ctx.run.real_table is None:
        return "not enough data: needs vector samples at 2+ checkpoints, or a real table (--real)"
    return None


def _final_stretch(mask: np.ndarray, score: np.ndarray, noise: float = 0.0) -> np.ndarray:
    """mask kept only on its final run of True values, and only when the last value is not
    a new best of `score` by more than `noise` (a G still improving; a score flat at its
    best is a G stuck there)."""
    out = np.zeros(len(mask), dtype=bool)
    if not mask[-1] or (len(mask) >= 2 and score[-1] > np.nanmax(score[:-1]) + noise):
        return out
    k = len(mask) - 1
    while k - 1 >= 0 and mask[k - 1]:
        k -= 1
    out[k:] = True
    return out


@rule(RULE, applies=_applies)
def vector_collapse(ctx: RuleContext) -> list[Finding]:
    """Mode collapse in vector samples: coverage of the real rows, per-column spread,
    spread over training, near-duplicates."""
    th = ctx.th
    data = vector_data(ctx.run)
    out = []
    if data is not None and data.problems:
        more = f" (and {len(data.problems) - 1} more)" if len(data.problems) > 1 else ""
        out.append(
            Finding(
                RULE,
                "warning",
                "Unreadable vector samples",
                data.problems[0] + more,
                "Those checkpoints' samples are left out of the collapse check.",
                None,
                None,
                {"unreadable": len(data.problems)},
                [],
            )
        )
    real = ctx.run.real_table is not None
    if data is None or len(data.steps) < (1 if real else 2):
        return out
    s = vector_series(ctx.run, data)
    spread = s["spread"].to_numpy()
    steps = s["step"].to_numpy()
    n_cols = s["columns"].to_numpy()
    low_cols = s["low_columns"].to_numpy() >= th["vec_low_columns_frac"] * n_cols
    dups = np.nan_to_num(s["near_duplicates"].to_numpy(float), nan=0.0) >= th["collapse_dup_frac"]
    cov = s["coverage"].to_numpy() if "coverage" in s else np.full(len(s), np.nan)
    low_cov = np.nan_to_num(cov, nan=1.0) < th["vec_coverage_min"]
    if "precision" in s:  # few real rows covered by samples that look like data: a collapse;
        # by samples that do not (diffuse, off the data) it is a G still learning, which
        # sample_quality reports (the truth lab's poor runs were called collapses)
        prec = np.nan_to_num(s["precision"].to_numpy(float), nan=0.0)
        low_cov &= prec >= th["collapse_precision_min"]
    fell = np.zeros(len(s), dtype=bool)
    if not real:
        first_ref = 1 if len(s) >= 4 else 0
        ref = np.where(np.arange(len(s)) >= first_ref, spread, -np.inf)
        peak = np.r_[-np.inf, np.maximum.accumulate(ref)[:-1]]
        fell = spread < th["collapse_ratio"] * peak
        low_cols[:] = False  # without real data the reference is the run's own peak: `fell`
        low_cols |= fell & (s["low_columns"].to_numpy() >= th["vec_low_columns_frac"] * n_cols)
    if real:  # against the real rows, only the final stretch counts: early samples of a G
        # still learning cover little of the data without having collapsed
        # a coverage is a share of the real rows: twice its binomial standard error is noise
        n_last = float(s["n"].iloc[-1])
        cov_noise = 2 * np.sqrt(max(cov[-1] * (1 - cov[-1]), 0.0) / max(n_last, 1.0))
        low_cov = _final_stretch(low_cov, cov, float(np.nan_to_num(cov_noise)))
        low_cols = _final_stretch(low_cols, -spread)
        # early near-copies too (a G still learning bunches its rows before it spreads them)
        near = np.nan_to_num(s["near_duplicates"].to_numpy(float), nan=0.0)
        dups = _final_stretch(dups, -near)
    collapsed = low_cov | low_cols | dups | fell
    if len(s) > 1:
        collapsed[0] = False  # the first samples (often an untrained G) are never a collapse
    last = len(s) - 1
    nums = {
        "checkpoints": int(len(s)),
        "last_step": int(steps[last]),
        "spread_last": float(spread[last]),
        "low_columns_last": int(s["low_columns"].iloc[last]),
        "columns": int(n_cols[last]),
    }
    if real:
        nums["near_duplicates_last"] = float(s["near_duplicates"].iloc[last])
    if real:
        nums["coverage_last"] = float(cov[last])
        if "recall" in s:
            nums["recall_last"] = float(s["recall"].iloc[last])
    if not collapsed.any():
        if out:
            return out
        what = (
            f"coverage of the real rows {fmt_sig(cov[last])}"
            if real
            else f"spread {fmt_sig(spread[last])} of its peak"
        )
        copies = f"; {fmt_pct(nums['near_duplicates_last'])} near-copies" if real else ""
        return [
            Finding(
                RULE,
                "info",
                "Vector samples keep their diversity",
                f"The vector samples at {len(s)} checkpoint(s) show no collapse ({what} at "
                f"step {int(steps[last])}{copies}).",
                "Nothing to fix.",
                int(steps[0]),
                int(steps[last]),
                nums,
                [],
            )
        ]
    i0 = int(np.flatnonzero(collapsed)[0])
    k = last if collapsed[last] else int(np.flatnonzero(collapsed)[-1])
    n = int(s["n"].iloc[k])
    why = []
    if low_cov[k]:
        why.append(f"they cover {fmt_pct(cov[k])} of the real rows")
    if fell[k]:
        why.append(f"their spread fell to {fmt_sig(spread[k])} of its earlier peak")
    if low_cols[k] or (real and s["low_columns"].iloc[k]):
        ref = "the real" if real else "their peak"
        why.append(
            f"{int(s['low_columns'].iloc[k])} of {int(n_cols[k])} columns have under half "
            f"{ref} spread"
        )
    if real and (dups[k] or s["near_duplicates"].iloc[k] > 0):
        why.append(
            f"{int(round(s['near_duplicates'].iloc[k] * min(n, 2000)))} of {min(n, 2000)} "
            "samples are near-duplicates"
        )
    ongoing = bool(collapsed[last])
    when = (
        f"from step {int(steps[i0])} to the last samples (step {int(steps[last])})"
        if ongoing
        else f"at step {int(steps[k])}, recovering by step {int(steps[last])}"
    )
    return out + [
        Finding(
            RULE,
            "error" if ongoing else "warning",
            "Mode collapse in the vector samples",
            f"The generated rows collapse {when}: " + "; ".join(why) + ".",
            "Lower the learning rates, use minibatch discrimination/PacGAN or a "
            "Wasserstein loss with gradient penalty.",
            int(steps[i0]),
            int(steps[last]),
            nums,
            [],
        )
    ]


MIN_ROWS = 50  # fewer samples than this at the last checkpoint: precision/recall too noisy


def unlike_real(ctx: RuleContext) -> list[Finding]:
    """The last vector samples against the real rows (--real): k-NN precision (the share of
    samples inside the real rows' 3-NN radius) or recall (the share of real rows inside the
    samples') below `vec_like_real_frac` of what as many real rows score against other real
    rows. A G that has not learnt the data yet, whatever its losses say; named "not yet"
    because it reads the last checkpoint only. Assumes the real rows are the data G was
    trained on, in the same columns and units."""
    data = vector_data(ctx.run) if ctx.run.real_table is not None else None
    if data is None or not data.steps:
        return []
    s = vector_series(ctx.run, data)
    if "precision" not in s or int(s["n"].iloc[-1]) < MIN_ROWS:
        return []
    ref = real_reference(data, min(int(s["n"].iloc[-1]), len(data.real.matrix)))
    if ref is None or not (ref["precision"] > 0 and ref["recall"] > 0):
        return []
    frac = ctx.th["vec_like_real_frac"]
    p, r = s["precision"].to_numpy(float), s["recall"].to_numpy(float)
    steps = s["step"].to_numpy()
    rel = np.minimum(p / ref["precision"], r / ref["recall"])  # the weaker of the two
    low_p, low_r = p[-1] < frac * ref["precision"], r[-1] < frac * ref["recall"]
    if not (low_p or low_r):
        return []
    what = []
    if low_p:
        what.append("precision (the samples do not yet look like the data)")
    if low_r:
        what.append("recall (the samples cover too little of the data)")
    best = int(np.nanargmax(rel))
    still = best == len(rel) - 1 and len(rel) >= 2
    if len(rel) < 2:
        trend = "one checkpoint only"
    elif still:
        trend = (
            f"the last checkpoint is the best of {len(rel)} (the samples were still getting "
            "closer to the data: training had not converged)"
        )
    else:
        trend = (
            f"they were closest to the data at step {int(steps[best])} (precision "
            f"{fmt_sig(p[best])}, recall {fmt_sig(r[best])})"
        )
    n = int(s["n"].iloc[-1])
    msg = (
        f"At the last vector samples (step {int(steps[-1])}, {n} rows) against the real rows "
        f"(--real): precision {fmt_sig(p[-1])} and recall {fmt_sig(r[-1])} (k-NN, k = 3), "
        f"where {ref['n']} real rows score {fmt_sig(ref['precision'])} and "
        f"{fmt_sig(ref['recall'])} against as many other real rows; "
        + " and ".join(what)
        + f" below {fmt_pct(frac)} of that; {trend}. Assumes the real rows are the data G "
        "was trained on, in the same units."
    )
    return [
        Finding(
            "sample_quality",
            "warning",
            "Samples not yet like the real data",
            msg,
            "G has not learnt the data yet, whatever the losses say: train longer"
            + (" (the samples were still improving)" if still else "")
            + ", check G's output range and the data's normalisation, or strengthen G; "
            "keep a checkpoint only once precision and recall approach the real rows' own.",
            int(steps[-1]),  # about the last samples only
            int(steps[-1]),
            {
                "step": int(steps[-1]),
                "rows": n,
                "precision_last": float(p[-1]),
                "recall_last": float(r[-1]),
                "precision_real": ref["precision"],
                "recall_real": ref["recall"],
                "real_rows_reference": ref["n"],
                "best_step": int(steps[best]),
                "checkpoints": int(len(s)),
            },
            [],
        )
    ]
