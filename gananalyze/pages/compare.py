"""The compare page: several runs side by side in one self-contained HTML file.

The analysis is done before (analysis.runset, analysis.comparison); this module lays
out the page's sections (ranking, metric, discriminator, training curves, samples,
config differences, findings) and renders templates/compare.html.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..analysis.comparison import Comparison, compare_runs, plain_records
from ..analysis.configs import BANDS
from ..analysis.evaluations import metric_series
from ..errors import GanAnalyzeError
from ..naming.aliases import label
from ..run import Run
from ..textfmt import fmt_cfg, fmt_duration, fmt_table
from .bundle import plotly_js_markup
from .compare_charts import Plotter, metric_keys, missing_note, panel_charts, sample_uri
from .status import look, look_of
from .text import best_text, rank_cells

# Metrics where a larger value is better (everything else: lower is better).
# Canonical metrics drawn in the D(x) / D(G(z)) panel instead of the overlay grid.
D_PANEL = ("D_x", "D_G_z_before", "D_G_z_after")
MAX_METRIC_CHARTS = 16


def build_context(
    comp: Comparison,
    x: str = "step",
    band: str = "minmax",
    smoothing: float = 0.6,
    max_metric_charts: int = MAX_METRIC_CHARTS,
) -> dict[str, Any]:
    """Everything templates/compare.html shows (charts as data URIs), as plain data."""
    import datetime as _dt

    if band not in BANDS:
        raise GanAnalyzeError(f"unknown band {band!r}; choose one of {', '.join(BANDS)}")
    runs = comp.runs
    m = comp.metric
    mlab = label(m)
    pl = Plotter(comp, x, band, smoothing)
    t = comp.table
    grouped = comp.groups is not None

    # ranking table
    headers = [
        "#",
        "run",
        "format",
        "last step",
        "wall time",
        "s/step",
        f"best {mlab} (step)",
        f"final {mlab}",
        "verdict",
        "findings",
    ]
    if grouped:
        headers.insert(2, "group")
    rows = []
    for rec in plain_records(t):
        best = best_text(rec, m, "{v} ({s})")
        cells = [
            *rank_cells(rec),
            fmt_table(rec["steps"]),
            fmt_duration(rec["wall_time_s"]),
            fmt_table(rec["s_per_step"]),
            best,
            fmt_table(rec[f"{m}_final"]),
            rec["verdict"] or "-",
            rec["findings"] or "none",
        ]
        if grouped:
            cells.insert(2, rec["group"])
        rows.append(
            {
                "cells": cells,
                "color": pl.run_color.get(rec["run"], "#999999"),
                "look": look_of(rec.get("status"), rec["worst"]),
            }
        )
    first = t.iloc[0] if len(t) else None
    if first is not None and first[f"{m}_best"] is not None and not pd.isna(first[f"{m}_best"]):
        better = "highest" if comp.higher_is_better else "lowest"
        ranking_sentence = (
            f"Runs ranked by their best {mlab} ({better} is better): {first['run']} leads "
            f"with {fmt_table(first[f'{m}_best'])} at step {int(first[f'{m}_best_step'])}."
        )
    else:
        ranking_sentence = (
            f"No run has {mlab}, so the runs are listed in the order given; the verdict "
            "column is from the rule checks."
        )

    # groups
    group_rows = None
    if comp.group_table is not None:
        group_rows = []
        for rec in plain_records(comp.group_table):
            group_rows.append(
                {
                    "color": pl.color.get(rec["group"], "#999999"),
                    "cells": [
                        rec["group"],
                        str(rec["n"]),
                        fmt_table(rec[f"{m}_best_mean"]),
                        fmt_table(rec[f"{m}_best_min"]),
                        fmt_table(rec[f"{m}_best_max"]),
                        fmt_table(rec[f"{m}_best_std"]),
                        rec["runs"],
                    ],
                }
            )

    # FID (or the chosen metric) with each run's best point
    fid_lines, fid_notes = pl.lines(
        lambda r: metric_series(r, m)[0], smooth=False, markers=True, best=True, what=mlab
    )
    have_m = [r.name for r in runs if metric_series(r, m)[1] is not None]
    metric_chart = None
    if fid_lines:
        metric_chart = {
            "spec": panel_charts([(mlab, fid_lines)], pl.xlabel, height=380)[0],
            "notes": [n for n in [missing_note(mlab, have_m, runs), *fid_notes] if n],
        }

    # D(x) and D(G(z)) side by side
    d_chart = None
    d_panels = []
    d_notes: list[str] = []
    for key in ("D_x", "D_G_z_before"):
        lines, notes = pl.lines(lambda r, k=key: r.series(k), what=label(key))
        have = [r.name for r in runs if r.has(key)]
        if have:
            d_panels.append((label(key), lines))
            d_notes += [n for n in [missing_note(label(key), have, runs), *notes] if n]
    if d_panels:
        d_chart = {
            "specs": panel_charts(d_panels, pl.xlabel, ylim=(-0.02, 1.02), logy=False),
            "notes": d_notes,
        }

    # every other metric, overlaid
    keys = [
        (k, have)
        for k, have in metric_keys(runs)
        if k not in D_PANEL and k not in ("D_tp", "D_fp", "D_fn", "D_tn")
    ]
    omitted = keys[max_metric_charts:]
    charts = []
    for key, have in keys[:max_metric_charts]:
        lines, notes = pl.lines(lambda r, k=key: r.series(k), what=label(key))
        if not lines:
            continue
        charts.append(
            {
                "title": label(key),
                "spec": panel_charts(
                    [(label(key), lines)],
                    pl.xlabel,
                    note="two G-loss conventions" if key == "G_loss" and comp.g_loss_note else "",
                )[0],
                "notes": [
                    n
                    for n in [
                        missing_note(label(key), have, runs),
                        comp.g_loss_note if key == "G_loss" else "",
                        *notes,
                    ]
                    if n
                ],
            }
        )
    metric_notes = []
    if omitted:
        metric_notes.append(
            f"{len(omitted)} more metrics not drawn: {', '.join(k for k, _ in omitted[:12])}"
            f"{', ...' if len(omitted) > 12 else ''}"
        )

    # samples: the grid nearest each run's best checkpoint and the last grid (a run that
    # collapsed after its best step shows it only there); runs without grids are named
    samples = []
    no_samples = []
    for rec in plain_records(t):
        r = next(rr for rr in runs if rr.name == rec["run"])
        if not r.samples:
            no_samples.append(r.name)
            continue
        bstep = rec[f"{m}_best_step"]
        bstep = None if bstep is None or pd.isna(bstep) else int(bstep)
        last_uri, last_step = sample_uri(r, None)
        if bstep is not None:
            uri, step = sample_uri(r, bstep)
            samples.append(
                {
                    "run": r.name,
                    "color": pl.run_color.get(r.name),
                    "uri": uri,
                    "step": step,
                    "which": f"nearest the best {mlab} (step {bstep})",
                }
            )
            if step == last_step:
                samples[-1]["which"] += ", also the last grid"
                continue
        samples.append(
            {
                "run": r.name,
                "color": pl.run_color.get(r.name),
                "uri": last_uri,
                "step": last_step,
                "which": "the last grid",
            }
        )

    # config diff: keys as rows, runs as columns (in ranking order)
    diff = comp.config_diff
    order = list(t["run"])
    config_rows = [
        {"key": k, "values": [fmt_cfg(diff.loc[name, k]) for name in order]} for k in diff.columns
    ]

    # findings per run
    findings = []
    for name in order:
        d = comp.diagnoses.get(name)
        findings.append(
            {
                "run": name,
                "color": pl.run_color.get(name),
                "verdict": getattr(d, "verdict", None) or "not checked",
                "recommendation": getattr(d, "recommendation", None),
                "look": look(d),
                "findings": [
                    {
                        "severity": f.severity,
                        "title": f.title,
                        "message": f.message,
                        "action": f.action,
                        "steps": _steps_text(f.start_step, f.end_step),
                    }
                    for f in (d.findings if d is not None else [])
                ],
            }
        )

    n_find = sum(1 for f in findings if f["look"].css in ("warning", "error"))
    summary = (
        f"{len(runs)} runs compared on {pl.xlabel}"
        + (f" in {len(comp.groups)} groups" if grouped else "")
        + f"; the rule checks found warnings or errors in {n_find} of them."
    )
    legend = [
        {
            "name": (g.label + f" (n={g.n})") if grouped else g,
            "color": pl.color[g.label if grouped else g],
        }
        for g in (comp.groups if grouped else [r.name for r in runs])
    ]
    return {
        "title": f"gananalyze compare: {len(runs)} runs",
        "generated": _dt.datetime.now().isoformat(timespec="seconds"),
        "summary": summary,
        "metric": mlab,
        "x": x,
        "xlabel": pl.xlabel,
        "band": band,
        "smoothing": smoothing,
        "plotly_js": plotly_js_markup(),
        "grouped": grouped,
        "legend": legend,
        "warnings": list(comp.warnings),
        "notes": [*comp.notes, *pl.notes],
        "ranking_sentence": ranking_sentence,
        "headers": headers,
        "rows": rows,
        "group_rows": group_rows,
        "metric_chart": metric_chart,
        "d_chart": d_chart,
        "charts": charts,
        "metric_notes": metric_notes,
        "samples": samples,
        "no_samples": no_samples,
        "config_runs": order,
        "config_rows": config_rows,
        "findings": findings,
    }


def _steps_text(start: int | None, end: int | None) -> str:
    if start is None:
        return ""
    if end is None or end == start:
        return f"step {start}"
    return f"steps {start}-{end}"


def render_html(context: dict[str, Any]) -> str:
    """templates/compare.html rendered (pages/html.py: autoescaped, strict)."""
    from .html import render

    return render("compare.html", **context)


def render_compare(
    runs: Sequence[Run],
    out_path: str | Path,
    x: str = "step",
    group_by: str | None = None,
    band: str = "minmax",
    metric: str = "fid",
    smoothing: float = 0.6,
    comparison: Comparison | None = None,
    thresholds: dict[str, Any] | None = None,
    sweep: bool | None = None,
) -> Path:
    """Write the self-contained HTML comparison page to `out_path`; returns its path.

    Pass `comparison` (from compare_runs) to reuse rule checks already run. `sweep`:
    write the sweep page (pages/compare_sweep.py) instead; None: when there are more
    than SWEEP_MIN_RUNS runs.
    """
    from ..files.atomic import atomic_write_bytes
    from .compare_sweep import SWEEP_MIN_RUNS, render_sweep_html

    if comparison is None:
        comparison = compare_runs(runs, metric=metric, group_by=group_by, thresholds=thresholds)
    if sweep is None:  # thinned runs (analysis.runset.thin_run) only suit the sweep page
        sweep = len(comparison.runs) > SWEEP_MIN_RUNS or any(
            "summary" in r.extra for r in comparison.runs
        )
    if sweep:
        html = render_sweep_html(comparison)
    else:
        html = render_html(build_context(comparison, x=x, band=band, smoothing=smoothing))
    out = Path(out_path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out, html.encode("utf-8"))
    except OSError as e:
        why = e.strerror or str(e)
        raise GanAnalyzeError(f"{out}: cannot write the comparison page ({why})") from None
    return out
