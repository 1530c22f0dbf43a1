"""The sweep page: `compare` of many runs (more than SWEEP_MIN_RUNS, or `--sweep`).

It answers "which settings fail and which give the best FID": a summary of
outcomes with an outcome filter, the config keys ranked by how much they explain
one-way and two-way (analysis.sweepview, analysis.sweepimportance), brushable
parallel coordinates of every run linked to the run table, the best metric per
setting (seeds pooled: mean and band), per key the outcome counts per value, the
curves over training of each setting (seeds pooled: mean line and min-max band; beyond
analysis.sweepcurves.MAX_RUN_CURVES runs, the best and worst few settings and the groups
of the most predictive key), sample grids for the best and worst few runs only, and a
sortable, filterable table of the runs. Charts are plotly.js figures drawn by the bundle
inlined once (pages/bundle.py): the page opens offline. The size is bounded whatever the
number of runs: curves are summarised, the table and the settings list are capped, and the
parallel coordinates carry a few numbers per run. Renders templates/compare_sweep.html.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np

from ..analysis.comparison import Comparison, plain_records, thinned_metric_series
from ..analysis.sweepcurves import sweep_curves
from ..analysis.sweepview import FAILED, OUTCOME_MEANINGS, SweepView, sweep_view
from ..naming.aliases import label
from ..textfmt import fmt_dec, fmt_level, fmt_num, fmt_pct, fmt_table
from . import sweep_charts
from .compare_charts import sample_uri
from .status import OUTCOME_COLORS

SWEEP_MIN_RUNS = 12  # more runs than this: compare writes the sweep page
FEW = 3  # best and worst runs drawn and shown
MAX_TABLE_ROWS = 500  # runs listed in the page's table (the rest: --csv), so its size is bounded
MAX_SETTING_ROWS = 60  # settings listed (best first)


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


def _headline(view: SweepView) -> str:
    keys = sweep_charts.parcoords_keys(view)
    if not keys:
        return "No config key but the seed differs between the runs." if view.keys else (
            "No config key differs between the runs.")
    kv = keys[0]
    parts = [
        f"{lab}: {fmt_pct(r)} failed"
        for lab, r in zip(kv.levels, kv.failure_rate, strict=True)
        if np.isfinite(r)
    ]
    return f"{kv.key} explains the outcomes best. " + "; ".join(parts) + "."


def _share(v: float | None) -> str:
    return "-" if v is None else fmt_table(v)


def _with(v: float | None, partner: str | None) -> str:
    return "-" if v is None else fmt_table(v) + (f" (with {partner})" if partner else "")


def _interactions(view: SweepView) -> str:
    """A sentence for the keys that matter only in combination (two-way, not one-way)."""
    out = []
    for k in sweep_charts.parcoords_keys(view):
        for what, one, two, partner in (
            ("failures", k.failure_eps2, k.failure_with, k.failure_partner),
            ("the best metric", k.metric_eps2, k.metric_with, k.metric_partner),
        ):
            if partner and two is not None and two >= INTERACTION and (one or 0.0) < two / 3:
                out.append(
                    f"{k.key} matters together with {partner}: it explains {fmt_dec(two)} "
                    f"of the variance of {what} once {partner} is known, "
                    f"{fmt_dec(one or 0.0)} on its own."
                )
                break
    return " ".join(out)


INTERACTION = 0.1  # a two-way figure worth a sentence in the headline


def build_sweep_context(comp: Comparison, view: SweepView | None = None) -> dict[str, Any]:
    """Everything templates/compare_sweep.html shows, as plain data (plotly figures as
    dicts, curves and sample grids as data URIs)."""
    from markupsafe import Markup

    from .bundle import plotly_js

    view = view or sweep_view(comp)
    m = comp.metric
    mlab = label(m)
    n = len(view.runs)
    counts = [
        {"outcome": o, "n": k, "color": OUTCOME_COLORS[o], "pct": fmt_pct(k / n), "code": i,
         "meaning": OUTCOME_MEANINGS.get(o, "")}
        for i, (o, k) in enumerate(view.counts.items())
    ]
    summary = (
        f"{n} runs: " + ", ".join(f"{c['n']} {c['outcome']}" for c in counts) + f". "
        f"{view.n_failed} of {n} had a warning or error from the rule checks."
    )
    seeds = [k.key for k in view.keys if k.seed]
    if seeds and view.seeds_per_setting > 1:
        summary += (
            f" {len(view.settings)} settings of {', '.join(view.setting_keys) or 'one value'}, "
            f"up to {view.seeds_per_setting} runs each ({', '.join(seeds)} pooled)."
        )
    key_rows = [
        {
            "key": k.key + (" (seed)" if k.seed else ""),
            "levels": len(k.levels),
            "failure": _share(k.failure_eps2),
            "failure_with": _with(k.failure_with, k.failure_partner),
            "metric": _share(k.metric_eps2),
            "metric_with": _with(k.metric_with, k.metric_partner),
            "rates": ", ".join(
                f"{lab}: {fmt_pct(r)}"
                for lab, r in zip(k.levels, k.failure_rate, strict=True)
                if np.isfinite(r)
            ),
        }
        for k in view.keys
    ]
    per_key = [
        {"key": k.key, "fig": sweep_charts.outcome_bars(k)}
        for k in sweep_charts.parcoords_keys(view)
    ]
    settings = [
        {
            "values": [st.values.get(k, "") for k in view.setting_keys],
            "runs": len(st.runs),
            "outcomes": [{"outcome": o, "n": c, "color": OUTCOME_COLORS[o]}
                         for o, c in st.counts.items()],
            "failed": fmt_pct(st.failure_rate),
            "mean": fmt_num(st.metric_mean),
            "range": "-" if st.metric_lo is None else
            f"{fmt_num(st.metric_lo)} to {fmt_num(st.metric_hi)}",
        }
        for st in view.settings[:MAX_SETTING_ROWS]
    ]

    charts = []
    curve_notes = []
    for what, getter in ((mlab, lambda r: thinned_metric_series(r, m)[0]),
                         ("G loss", lambda r: r.series("G_loss")),
                         ("D loss", lambda r: r.series("D_loss"))):
        sc = sweep_curves(comp, view, what, getter)
        title = (f"{what}: the best and worst settings and the groups of {sc.group_key}"
                 if sc.summarised else f"{what}: each setting, its seeds pooled")
        fig = sweep_charts.curve_chart(sc, title)
        if fig is not None:
            charts.append({"id": f"plot-curves-{len(charts) + 1}", "title": title, "fig": fig})
        if sc.note and sc.note not in curve_notes:
            curve_notes.append(sc.note)

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
            *[(v if not isinstance(v, (list, dict)) else str(v), kv.levels[kv.index[i]]
               if kv.index[i] >= 0 and not kv.binned else fmt_level(v))
              for v, kv in zip(cfg, view.keys, strict=True)],
            (rec["findings"], rec["findings"] or "none"),
        ]
        rows.append({
            "i": i,
            "outcome": o,
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
        "interactions": _interactions(view),
        "counts": counts,
        "metric": mlab,
        "statistic": view.statistic,
        "two_way_method": view.two_way_method,
        "key_rows": key_rows,
        "per_key": per_key,
        "parallel": sweep_charts.parallel_coordinates(view, mlab),
        "setting_chart": sweep_charts.setting_chart(view, mlab),
        "settings": settings,
        "pooled": view.seeds_per_setting > 1,  # else each setting is one run: no table
        "setting_keys": view.setting_keys,
        "n_settings": len(view.settings),
        "plot_config": sweep_charts.CONFIG,
        "plotly_js": Markup(plotly_js()),
        "charts": charts,
        "curve_notes": curve_notes,
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
