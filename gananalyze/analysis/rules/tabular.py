"""The tabular verdict: the last synthetic rows (a run's final vector samples, or the table
given with --samples) against the real table (--real), on four counts:

- column shapes: per column 1 - KS (numeric) or 1 - total variation (categorical); a column
  fails when its distance exceeds both `tab_column_max` and, for numeric columns, the KS
  critical value at alpha = 0.01 for the two sample sizes (noise);
- pair trends: the largest |real - synthetic| Pearson correlation over column pairs, failing
  above `tab_corr_diff_max` (and above 4 / sqrt(n), the noise of a correlation);
- duplicates: the share of synthetic rows that exactly repeat another synthetic row, failing
  when it exceeds the real table's own share by `tab_dup_excess`;
- rows copied from the real table: each synthetic row's distance to the closest record of
  one half of the real table (standardised), divided by that record's distance to its own
  nearest neighbour (the data's spacing there), against the same ratio for the other real
  half; failing when more than `tab_copy_excess` beyond the expected 5% of synthetic rows
  fall under the real rows' 5th percentile, or any is an exact copy. Scaled by the local
  spacing, rows bunched where the data is dense (an undertrained G near the mean) are no
  copies.

The table is judged as a whole, as SDMetrics' quality report scores it: failing shapes or
pairs are a warning when the mean column distance or the mean correlation difference over
pairs is past its limit (`tab_column_max`, `tab_corr_mean_max`); a minority of columns or a
pair a little off, the table within its limits on average, is info that names them.
Duplicates and copies are errors (the table leaks or repeats rows), as are half the columns
failing or a pair's correlation differing by more than twice its limit (a relationship
lost, as by a shuffled column).
"""

from __future__ import annotations

import math

import numpy as np

from ...textfmt import fmt_pct, fmt_sig
from ..findings import Finding
from ..vectorcols import column_scores, correlation_difference, decoded
from ..vectorstats import vector_data
from .context import RuleContext
from .registry import not_this_kind, rule

RULE = "tabular_fidelity"
MAX_ROWS = 2000


def _applies(ctx: RuleContext) -> str | None:
    if not ctx.run.vectors:
        return not_this_kind("no vector samples (rows)")
    if ctx.run.real_table is None:
        return not_this_kind("no real table to compare with (--real)")
    return None


def _rows(x: np.ndarray, seed: int) -> np.ndarray:
    if len(x) <= MAX_ROWS:
        return x
    return x[np.sort(np.random.default_rng(seed).choice(len(x), MAX_ROWS, replace=False))]


def _closest(a: np.ndarray, b: np.ndarray, which: bool = False, skip_self: bool = False):
    """Distance of each row of a to its closest row of b (and, with `which`, that row's index;
    `skip_self`: a and b are the same rows, each row's own distance left out)."""
    out = np.empty(len(a))
    arg = np.empty(len(a), dtype=np.int64)
    for i in range(0, len(a), 512):
        blk = a[i : i + 512]
        d2 = (blk * blk).sum(1)[:, None] + (b * b).sum(1)[None] - 2 * blk @ b.T
        if skip_self:
            d2[np.arange(len(blk)), np.arange(i, i + len(blk))] = np.inf
        arg[i : i + 512] = d2.argmin(1)
        out[i : i + 512] = np.sqrt(np.maximum(d2.min(1), 0))
    return (out, arg) if which else out


def copy_check(real: np.ndarray, syn: np.ndarray) -> dict[str, float]:
    """Distance to closest record, against the real rows' own spacing there: a synthetic row
    whose distance to its closest row of real half A, divided by that real row's distance to
    its own closest neighbour in A, is under the 5th percentile of the same ratio for real
    half B is a copy. Scaled by the local spacing, rows bunched where the data is dense (an
    undertrained G near the mean) are no copies; rows on top of real records are. Also the
    share of exact copies."""
    rng = np.random.default_rng(7)
    idx = rng.permutation(len(real))
    half = len(real) // 2
    a, b = real[idx[:half]], real[idx[half:]]
    mu, sd = a.mean(0), a.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    a, b, s = (a - mu) / sd, (_rows(b, 1) - mu) / sd, (_rows(syn, 2) - mu) / sd
    ref, ref_at = _closest(b, a, which=True)
    dcr, at = _closest(s, a, which=True)
    spacing = _closest(a, a, skip_self=True)  # each real row's own closest neighbour
    floor = max(float(np.median(spacing)) * 1e-3, 1e-12)
    ratio_ref = ref / np.maximum(spacing[ref_at], floor)
    ratio = dcr / np.maximum(spacing[at], floor)
    thr = float(np.percentile(ref, 5))
    rthr = float(np.percentile(ratio_ref, 5))
    exact = _closest(s, (real - mu) / sd) <= 1e-4 * float(np.median(ref))  # float32 rows
    return {
        "copied_share": float((ratio < rthr).mean()) if rthr > 0 else float((dcr <= 0).mean()),
        "exact_copies": float(exact.mean()),
        "dcr_median": float(np.median(dcr)),
        "real_dcr_median": float(np.median(ref)),
        "real_dcr_p5": thr,
    }


@rule(RULE, applies=_applies)
def tabular_fidelity(ctx: RuleContext) -> list[Finding]:
    """Synthetic rows against the real table: column shapes, pair trends, duplicates, copies."""
    th = ctx.th
    data = vector_data(ctx.run)
    if data is None or not data.steps or data.real is None:
        return []
    step, x = data.steps[-1], data.arrays[-1]
    n, m = len(x), len(data.real.matrix)
    last = type(data)([step], [x], data.columns, data.real)
    cs = column_scores(last)
    ks_crit = 1.63 * math.sqrt((n + m) / (n * m))
    bad_cols = []
    for _, r in cs.iterrows():
        dist = 1 - float(r["score"])
        limit = max(th["tab_column_max"], ks_crit if r["kind"] == "numeric" else 0.0)
        if dist > limit:
            bad_cols.append((str(r["column"]), dist))
    cols, diff = correlation_difference(data, x)
    worst_pair, worst = None, 0.0
    if len(cols) >= 2:
        iu = np.triu_indices(len(cols), 1)
        k = int(np.nanargmax(np.abs(diff[iu])))
        worst = float(np.abs(diff[iu])[k])
        worst_pair = (cols[iu[0][k]], cols[iu[1][k]])
    corr_limit = max(th["tab_corr_diff_max"], 4 / math.sqrt(max(n, 1)))
    # the table as a whole, as SDMetrics' quality report scores it: the mean over columns
    # of their shape distance and the mean over pairs of their correlation difference
    mean_shape = float(1 - cs["score"].mean()) if len(cs) else 0.0
    mean_pair = (
        float(np.nanmean(np.abs(diff[np.triu_indices(len(cols), 1)]))) if len(cols) >= 2 else 0.0
    )
    shape_limit = max(th["tab_column_max"], ks_crit)
    pair_mean_limit = max(th["tab_corr_mean_max"], corr_limit / 2)
    means = (
        f"mean column shape distance {fmt_sig(mean_shape)} (limit {fmt_sig(shape_limit)}), "
        f"mean correlation difference {fmt_sig(mean_pair)} (limit {fmt_sig(pair_mean_limit)})"
    )
    off_on_average = mean_shape > shape_limit or mean_pair > pair_mean_limit
    syn_dup = float(decoded(data, x).duplicated().mean())
    real_dup = float(data.real.frame.duplicated().mean())
    dup_bad = syn_dup > real_dup + th["tab_dup_excess"]
    cp = copy_check(data.real.matrix.astype(np.float64), x)
    copy_bad = cp["copied_share"] > 0.05 + th["tab_copy_excess"] or cp["exact_copies"] > 0.01
    nums = {
        "step": int(step),
        "rows": n,
        "real_rows": m,
        "columns": int(len(cs)),
        "failing_columns": len(bad_cols),
        "ks_critical": ks_crit,
        "max_corr_diff": worst,
        "mean_column_distance": mean_shape,
        "mean_corr_diff": mean_pair,
        "duplicate_share": syn_dup,
        "real_duplicate_share": real_dup,
        **cp,
    }
    parts, errors = [], []
    if dup_bad:
        errors.append(
            f"{fmt_pct(syn_dup)} of the synthetic rows repeat another synthetic row (the real "
            f"table: {fmt_pct(real_dup)})"
        )
    if copy_bad:
        errors.append(
            f"{fmt_pct(cp['copied_share'])} of the synthetic rows lie closer to a real record, "
            f"for the data's spacing there, than 95% of real rows do to each other (expected "
            f"about 5%), "
            f"{fmt_pct(cp['exact_copies'])} are exact copies of real rows"
        )
    if bad_cols:
        worst_cols = sorted(bad_cols, key=lambda c: -c[1])[:3]
        parts.append(
            f"{len(bad_cols)} of {len(cs)} columns differ in shape ("
            + ", ".join(f"{c} {fmt_sig(d)}" for c, d in worst_cols)
            + f"; noise limit {fmt_sig(max(th['tab_column_max'], ks_crit))})"
        )
    if worst_pair is not None and worst > corr_limit:
        parts.append(
            f"the correlation of {worst_pair[0]} and {worst_pair[1]} differs by {fmt_sig(worst)} "
            f"from the real table's (limit {fmt_sig(corr_limit)})"
        )
    where = f"the synthetic rows at step {step}" if ctx.run.scalars.size else "the synthetic table"
    severe = bool(errors) or len(bad_cols) >= max(2, len(cs) / 2) or worst > 2 * corr_limit
    whole = severe or off_on_average
    if parts and not whole:  # a few columns or a pair off, the table within its limits on
        # average: said, not flagged (a minority of columns a little off is where a healthy
        # tabular GAN ends; the table is judged as a whole)
        return [
            Finding(
                RULE,
                "info",
                "Synthetic table matches the real one on average",
                f"In {where} ({n} rows against {m} real): {means}; " + "; ".join(parts) + ".",
                "Check the named columns and pairs if they matter downstream.",
                int(step),
                int(step),
                nums,
                [],
            )
        ]
    if not parts and not whole:
        return [
            Finding(
                RULE,
                "info",
                "Synthetic table matches the real one",
                f"In {where} ({n} rows against {m} real): every column's shape within its "
                f"limit, largest correlation difference {fmt_sig(worst)}, "
                f"{fmt_pct(syn_dup)} duplicated rows, {fmt_pct(cp['copied_share'])} of rows "
                "closer to a real record, for the data's spacing there, than real rows are to "
                "each other (about 5% expected).",
                "Nothing to fix.",
                int(step),
                int(step),
                nums,
                [],
            )
        ]
    if not parts and off_on_average:  # off on average, no single column or pair past its limit
        parts.append(means)
    # the title and the advice say what failed: copies, repeats, or the columns' shapes
    title = (
        "Synthetic rows copied from the real table"
        if copy_bad
        else "Synthetic rows repeat each other"
        if dup_bad
        else "Synthetic table differs from the real one"
    )
    advice = []
    if copy_bad:
        advice.append("drop rows copied from the training table before release")
    if dup_bad:
        advice.append("deduplicate the synthetic rows (a G repeating itself: check for collapse)")
    if parts:
        advice.append(
            "train longer or with a conditional/mode-specific normalisation for the failing "
            "columns and pairs"
        )
    action = "; ".join(advice)
    return [
        Finding(
            RULE,
            "error" if severe else "warning",
            title,
            f"In {where} ({n} rows against {m} real): " + "; ".join(errors + parts) + ".",
            action[0].upper() + action[1:] + ".",
            int(step),
            int(step),
            nums,
            [],
        )
    ]
