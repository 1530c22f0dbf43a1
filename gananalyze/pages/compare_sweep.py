"""The sweep page: `compare` of many runs (more than SWEEP_MIN_RUNS, or `--sweep`).

It answers "which settings fail and which give the best FID": a summary of
outcomes, the config keys ranked by how much they explain (analysis.sweepview),
per key the outcome counts per value and the best metric against the value,
parallel coordinates coloured by outcome, curves for the best and worst few runs
and for the groups of the most predictive key (never one line per run), sample
grids for those few runs only, and a sortable, filterable table of every run
(inline script, no network). Renders templates/compare_sweep.html.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np

from ..analysis.comparison import Comparison, plain_records, thinned_metric_series
from ..analysis.configs import aggregate
from ..analysis.sweepview import FAILED, SweepView, sweep_view
from ..naming.aliases import label
from ..textfmt import fmt_cfg, fmt_pct, fmt_table
from . import sweep_charts
from .compare_charts import palette, panel_figure, sample_uri
from .plots import Curve
from .status import OUTCOME_COLORS

SWEEP_MIN_RUNS = 12  # more runs than this: compare writes the sweep page
FEW = 3  # best and worst runs drawn and shown
MAX_TABLE_ROWS = 500  # runs listed in the page's table (the rest: --csv), so its size is bounded


def _pick(view: SweepView, only: set[str] | None = None) -> tuple[list[str], list[str]]:
    """(best few, worst few) run names. Best: the top of the ranking among runs with
    the metric (else healthy runs). Worst: the lowest-ranked run of each kind of
    failure in turn (so that a collapse and a divergence both show), then the
    lowest-ranked of the rest. `only`: pick among these runs."""
    runs = [
        (n, b, o)
        for n, b, o in zip(view.runs, view.best, view.outcomes, strict=True)
        if only is None or n in only
    ]
    with_m = [n for n, b, _ in runs if b is not None]
    best = with_m[:FEW]
    if not best:
        best = [n for n, _, o in runs if o == "healthy"][:FEW]
    by_kind: dict[str, list[str]] = {}
    for n, _, o in reversed(runs):
        if o in FAILED and n not in best:
            by_kind.setdefault(o, []).append(n)
    worst: list[str] = []
    while len(worst) < FEW and any(by_kind.values()):
        for kind in [k for k in FAILED if by_kind.get(k)]:
            if len(worst) < FEW:
                worst.append(by_kind[kind].pop(0))
    rest = [n for n in reversed(with_m) if n not in best and n not in worst]
    worst += rest[: FEW - len(worst)]
    return best, worst


def _curves(comp: Comparison, names: list[str], getter: Any, colors: dict[str, str]) -> list:
    by = {r.name: r for r in comp.runs}
    out = []
    for n in names:
        s = getter(by[n])
        if len(s):
            out.append(
                Curve(n, s.index.to_numpy(), s.to_numpy(dtype=np.float64), color=colors[n],
                      band=False, markers=len(s) < 60)
            )
    return out


def _group_curves(comp: Comparison, view: SweepView, getter: Any) -> tuple[list, str | None]:
    """Mean and min/max band of `getter` per level of the most predictive key."""
    if not view.keys:
        return [], None
    kv = view.keys[0]
    by = {r.name: r for r in comp.runs}
    labels = kv.levels
    idx_of = {}
    for name, lev in zip(view.runs, kv.index, strict=True):
        if lev >= 0:
            idx_of.setdefault(lev, []).append(name)
    cols = palette(len(labels))
    out = []
    for li, lab in enumerate(labels):
        series = [getter(by[n]) for n in idx_of.get(li, [])]
        series = [s for s in series if len(s)]
        if not series:
            continue
        agg = aggregate(series, "minmax")
        if not len(agg):
            continue
        out.append(
            Curve(
                f"{kv.key}={lab} (n={len(series)})",
                agg["step"].to_numpy(),
                agg["mean"].to_numpy(),
                color=cols[li],
                lo=agg["lo"].to_numpy(),
                hi=agg["hi"].to_numpy(),
                markers=len(agg) < 60,
            )
        )
    return out, kv.key


def _headline(view: SweepView) -> str:
    if not view.keys:
        return "No config key differs between the runs."
    kv = view.keys[0]
    parts = [
        f"{lab}: {fmt_pct(r)} failed"
        for lab, r in zip(kv.levels, kv.failure_rate, strict=True)
        if np.isfinite(r)
    ]
    return f"{kv.key} explains the outcomes best. " + "; ".join(parts) + "."


def build_sweep_context(comp: Comparison, view: SweepView | None = None) -> dict[str, Any]:
    """Everything templates/compare_sweep.html shows, as plain data (charts as data URIs)."""
    view = view or sweep_view(comp)
    m = comp.metric
    mlab = label(m)
    n = len(view.runs)
    counts = [
        {"outcome": o, "n": k, "color": OUTCOME_COLORS[o], "pct": fmt_pct(k / n)}
        for o, k in view.counts.items()
    ]
    summary = (
        f"{n} runs: " + ", ".join(f"{c['n']} {c['outcome']}" for c in counts) + f". "
        f"{view.n_failed} of {n} had a warning or error from the rule checks."
    )
    key_rows = [
        {
            "key": k.key,
            "levels": len(k.levels),
            "failure": "-" if k.failure_eps2 is None else fmt_table(k.failure_eps2),
            "metric": "-" if k.metric_eps2 is None else fmt_table(k.metric_eps2),
            "rates": ", ".join(
                f"{lab}: {fmt_pct(r)}"
                for lab, r in zip(k.levels, k.failure_rate, strict=True)
                if np.isfinite(r)
            ),
        }
        for k in view.keys
    ]
    per_key = [
        {
            "key": k.key,
            "bars": sweep_charts.outcome_bars(k),
            "scatter": sweep_charts.metric_scatter(k, view, mlab),
        }
        for k in view.keys[:sweep_charts.MAX_PARALLEL_KEYS]
    ]
    parallel = sweep_charts.parallel_coordinates(view, mlab)

    best, worst = _pick(view)
    colors = dict(zip(best + worst, palette(len(best + worst)), strict=True))
    charts = []
    for what, getter in ((mlab, lambda r: thinned_metric_series(r, m)[0]), ("G loss", None),
                         ("D loss", None)):
        if getter is None:
            key = "G_loss" if what == "G loss" else "D_loss"
            getter = (lambda k: lambda r: r.series(k))(key)
        lines = _curves(comp, best, getter, colors) + [
            Curve(c.label, c.steps, c.values, color=c.color, band=False, markers=c.markers,
                  linestyle="--")
            for c in _curves(comp, worst, getter, colors)
        ]
        if lines:
            charts.append({
                "title": f"{what}: best {len(best)} (solid) and worst {len(worst)} (dashed) runs",
                "uri": panel_figure([(what, lines)], "step"),
            })
        groups, gkey = _group_curves(comp, view, getter)
        if groups:
            charts.append({
                "title": f"{what}: mean and min/max band per value of {gkey}",
                "uri": panel_figure([(what, groups)], "step"),
            })

    by = {r.name: r for r in comp.runs}
    table_rows = {rec["run"]: rec for rec in plain_records(comp.table)}
    samples = []
    s_best, s_worst = _pick(view, {r.name for r in comp.runs if r.samples})
    for name in s_best + s_worst:
        r = by[name]
        if not r.samples:
            continue
        bstep = table_rows[name].get(f"{m}_best_step")
        uri_b, step_b = sample_uri(r, bstep)
        uri_l, step_l = sample_uri(r, None)
        samples.append({
            "run": name,
            "outcome": view.outcomes[view.runs.index(name)],
            "grids": [g for g in (
                {"uri": uri_b, "caption": f"step {step_b}, nearest the best {mlab}"}
                if bstep is not None and step_b != step_l else None,
                {"uri": uri_l, "caption": f"step {step_l}, the last grid"},
            ) if g is not None],
        })

    keys = [k.key for k in view.keys]
    headers = ["#", "run", "outcome", "status", f"best {mlab}", "step", *keys, "findings"]
    numeric = [True, False, False, False, True, True,
               *[k.numeric for k in view.keys], False]
    rows = []
    notes = [*comp.notes, *view.notes]
    if n > MAX_TABLE_ROWS:  # the page stays bounded; --csv / --json list every run
        notes.append(
            f"the table lists the {MAX_TABLE_ROWS} best-ranked of the {n} runs; "
            "`gananalyze compare ... --csv` lists every run"
        )
    for i, name in enumerate(view.runs[:MAX_TABLE_ROWS]):  # view.runs: ranked
        rec = table_rows[name]
        o = view.outcomes[i]
        cfg = [rec.get(f"config.{k}") for k in keys]
        cells = [
            (rec["rank"], str(rec["rank"])),
            (name, name),
            (o, o),
            (rec["status"], rec["status"].replace("_", " ")),
            (rec.get(f"{m}_best"), fmt_table(rec.get(f"{m}_best"))),
            (rec.get(f"{m}_best_step"), fmt_table(rec.get(f"{m}_best_step"))),
            *[(v if not isinstance(v, (list, dict)) else str(v), str(fmt_cfg(v))) for v in cfg],
            (rec["findings"], rec["findings"] or "none"),
        ]
        rows.append({
            "color": OUTCOME_COLORS[o],
            "cells": [
                {"sort": "" if s is None else s, "text": t, "num": num}
                for (s, t), num in zip(cells, numeric, strict=True)
            ],
        })
    return {
        "title": f"gananalyze sweep: {n} runs",
        "generated": _dt.datetime.now().isoformat(timespec="seconds"),
        "summary": summary,
        "headline": _headline(view),
        "counts": counts,
        "metric": mlab,
        "statistic": view.statistic,
        "key_rows": key_rows,
        "per_key": per_key,
        "parallel": parallel,
        "charts": charts,
        "samples": samples,
        "headers": headers,
        "numeric": numeric,
        "rows": rows,
        "warnings": list(comp.warnings),
        "notes": notes,
    }


def render_sweep_html(comp: Comparison, view: SweepView | None = None) -> str:
    """templates/compare_sweep.html rendered (pages/html.py: autoescaped, strict)."""
    from .html import render

    return render("compare_sweep.html", **build_sweep_context(comp, view))
