"""Rules about the logged values themselves: implausible values flagged by the loaders, and
data skipped as damaged (`Run.damaged`)."""

from __future__ import annotations

import math
import re

from ...runio.plausibility import SCORE_LOSSES
from ..findings import Finding
from .context import RuleContext
from .registry import rule


@rule("implausible_values", needs=())
def implausible_values(ctx: RuleContext) -> list[Finding]:
    """Values the loaders flagged as impossible (FID < 0, probability > 1, ...)."""
    nf = ctx.run.nonfinite
    nf_metrics = set(nf["metric"].astype(str)) if len(nf) else set()
    # NaN/Inf flags of metrics listed in run.nonfinite are the divergence rule's business
    flags = [
        f
        for f in ctx.run.value_flags()
        if not (
            f.metric in nf_metrics
            and (
                not math.isfinite(f.value)
                or re.search(r"\bnan\b|\binf\b|infinite|non-finite", f.reason, re.I)
            )
        )
    ]
    if ctx.eq is not None and ctx.eq.loss in SCORE_LOSSES:
        # a critic's, a hinge or an LSGAN D's outputs (d_real, D(x)) are scores that take
        # any value, whether the run declared its loss (the loaders then flag nothing) or the
        # data showed it: not out-of-range probabilities
        flags = [f for f in flags if "a probability must lie in [0, 1]" not in f.reason]
    if not flags:
        return []
    steps = [f.step for f in flags if f.step is not None]
    shown = "; ".join(str(f) for f in flags[:3]) + (
        f"; and {len(flags) - 3} more" if len(flags) > 3 else ""
    )
    per: dict[str, int] = {}
    for f in flags:
        per[f.metric] = per.get(f.metric, 0) + 1
    return [
        Finding(
            rule="implausible_values",
            severity="warning",
            title="Implausible values in the logs",
            message=f"{len(flags)} value(s) cannot be right: {shown}.",
            action="Check how these metrics are computed and logged (units, wrong column, a "
            "bug in the metric). The rules leave impossible sample-metric values out (they "
            "never pick a checkpoint) and read D's outputs only as probabilities in [0, 1].",
            start_step=min(steps) if steps else None,
            end_step=max(steps) if steps else None,
            numbers={"count": len(flags), "per_metric": per},
            metrics=sorted(per),
        )
    ]


_AT_LINE = re.compile(r"(.+):(\d+)")


@rule("damaged_data", needs=())
def damaged_data(ctx: RuleContext) -> list[Finding]:
    """Files or lines skipped as damaged: the run is incomplete, say which files."""
    dmg = ctx.run.damaged
    if not dmg:
        return []
    per: dict[str, list[str]] = {}
    for file, problem in dmg:  # "path:line" for a damaged line: counted under its file
        m = _AT_LINE.fullmatch(str(file))
        key, what = (m.group(1), f"line {m.group(2)}: {problem}") if m else (str(file), problem)
        per.setdefault(key, []).append(str(what))
    shown = "; ".join(
        f"{f}: {probs[0]}" + (f" (and {len(probs) - 1} more)" if len(probs) > 1 else "")
        for f, probs in list(per.items())[:3]
    ) + (f"; and {len(per) - 3} more file(s)" if len(per) > 3 else "")
    return [
        Finding(
            rule="damaged_data",
            severity="warning",
            title="Damaged data skipped",
            message=f"{len(dmg)} damaged piece(s) of data in {len(per)} file(s) were skipped: "
            f"{shown}. The verdict rests on what could be read.",
            action="Re-copy or regenerate these files if the run matters; everything readable "
            "was used.",
            numbers={"count": len(dmg), "files": sorted(per)},
        )
    ]
