"""The interactive charts of the sweep page, as plotly.js figures (plain dicts that the
page draws with the inlined bundle, pages/bundle.py): brushable parallel coordinates
of every run coloured by outcome, outcomes per value of each key, and the best metric
per setting (mean and min-max band across its seeds).

They read an `analysis.sweepview.SweepView` (outcomes, levels, settings, ranking);
nothing here decides an outcome, a best value or a setting. Outcome colours:
`status.OUTCOME_COLORS`; every tick label prints through textfmt (plotly draws no
number of its own: tick values and texts are given).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis.sweepcurves import SweepCurves
from ..analysis.sweepview import FAILED, OUTCOME_NAMES, KeyView, Setting, SweepView
from ..textfmt import fmt_level, fmt_num
from .reduce import envelope
from .status import OUTCOME_COLORS

MAX_PARALLEL_KEYS = 8
# Points per curve at most (bin means of `reduce.envelope`, the band's per-bin min and max):
# with analysis.sweepcurves.MAX_RUN_CURVES curves of 4 numbers per point at <= 8 characters,
# one chart of curves stays under about 1.2 MB of text whatever the runs' length.
CURVE_POINTS = 120
# The summarised sweep's few runs: the best in cool colours, the worst in warm ones.
BEST_COLORS = ("#0969da", "#1b7c83", "#8250df")
WORST_COLORS = ("#cf222e", "#e16f24", "#7d4e00")
FONT = {"family": "-apple-system, Segoe UI, Helvetica, Arial, sans-serif", "size": 12,
        "color": "#1f2328"}
NOT_SET = fmt_level(None)
CONFIG = {"displaylogo": False, "responsive": True}  # plotly's per-chart options


def _layout(**kw: Any) -> dict[str, Any]:
    return {"font": FONT, "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff", **kw}


def _axis(title: str, **kw: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "automargin": True, "showline": True,
            "linecolor": "#8c959f", "gridcolor": "#eaeef2", "zeroline": False, **kw}


def metric_ticks(lo: float, hi: float, log: bool) -> tuple[list[float], list[str]]:
    """Tick positions (log10 of the value on a log axis) and their labels over [lo, hi]."""
    from matplotlib.ticker import LogLocator, MaxNLocator

    if log:
        vals = LogLocator(subs=(1.0, 2.0, 5.0), numticks=8).tick_values(lo, hi)
    else:
        vals = MaxNLocator(5).tick_values(lo, hi)
    vals = [float(v) for v in vals if lo - 1e-12 * abs(lo) <= v <= hi + 1e-12 * abs(hi)]
    if len(vals) < 2:
        vals = [lo, hi]
    pos = [float(np.log10(v)) for v in vals] if log else vals
    return pos, [fmt_num(v) for v in vals]


def _is_log(vals: np.ndarray) -> bool:
    fin = vals[np.isfinite(vals)]
    return bool(len(fin)) and fin.min() > 0 and fin.max() / fin.min() > 10


def _continuous_dim(label: str, vals: np.ndarray) -> dict[str, Any]:
    """A continuous parcoords axis (log10 when it spans a decade); missing values sit on
    their own tick below the range."""
    log = _is_log(vals)
    fin = vals[np.isfinite(vals)]
    lo, hi = float(fin.min()), float(fin.max())
    pos, text = metric_ticks(lo, hi, log)
    v = np.log10(np.where(vals > 0, vals, np.nan)) if log else vals.astype(np.float64)
    a, b = (np.log10(lo), np.log10(hi)) if log else (lo, hi)
    span = (b - a) or 1.0
    miss = ~np.isfinite(v)
    rng = [a, b]
    if miss.any():
        gap = a - 0.12 * span
        v = np.where(miss, gap, v)
        pos, text, rng = [gap, *pos], [NOT_SET, *text], [gap, b]
    return {"label": label + (" (log)" if log else ""), "values": _round(v),
            "tickvals": _round(np.array(pos)), "ticktext": text, "range": _round(np.array(rng))}


def _category_dim(label: str, levels: list[str], index: list[int]) -> dict[str, Any]:
    """A categorical parcoords axis: one tick per level, missing values at -1."""
    idx = np.asarray(index)
    ticks, text = list(range(len(levels))), list(levels)
    if (idx < 0).any():
        ticks, text = [-1, *ticks], [NOT_SET, *text]
    return {"label": label, "values": idx.tolist(), "tickvals": ticks, "ticktext": text,
            "range": [ticks[0], ticks[-1]]}


def _round(a: np.ndarray) -> list[float]:
    """Positions rounded to 5 significant digits: the page carries no noise digits."""
    return [float(f"{x:.5g}") for x in np.asarray(a, dtype=np.float64)]


def parcoords_keys(view: SweepView) -> list[KeyView]:
    """The axes' keys: the ranked keys without the seed-like ones (repeats, not settings)."""
    return [k for k in view.keys if not k.seed][:MAX_PARALLEL_KEYS]


def parallel_coordinates(view: SweepView, metric_label: str) -> dict[str, Any] | None:
    """One line per run (in table order) across the keys, its best metric and its
    outcome, coloured by outcome. Drag on an axis to brush; the page's script filters
    the run table to the brushed runs. None: nothing varies."""
    dims = []
    for k in parcoords_keys(view):
        if k.binned:
            vals = np.array([float(x) if x is not None else np.nan for x in k.values])
            dims.append(_continuous_dim(k.key, vals))
        else:
            dims.append(_category_dim(k.key, k.levels, k.index))
    best = np.array([b if b is not None else np.nan for b in view.best], dtype=np.float64)
    if np.isfinite(best).any():
        dims.append(_continuous_dim(f"best {metric_label}", best))
    present = [o for o in OUTCOME_NAMES if o in view.counts]
    code = [present.index(o) for o in view.outcomes]
    dims.append({"label": "outcome", "values": code, "tickvals": list(range(len(present))),
                 "ticktext": present, "range": [0, max(len(present) - 1, 1)]})
    if len(dims) < 2:
        return None
    n = len(present)
    scale = []  # stepped: outcome i takes exactly its colour
    for i, o in enumerate(present):
        scale += [[i / n, OUTCOME_COLORS[o]], [(i + 1) / n, OUTCOME_COLORS[o]]]
    trace = {
        "type": "parcoords",
        "line": {"color": code, "colorscale": scale, "cmin": -0.5, "cmax": n - 0.5},
        "dimensions": dims,
        "labelfont": {"size": 13}, "tickfont": {"size": 11}, "rangefont": {"size": 1},
    }
    return {"data": [trace],
            "layout": _layout(height=420, margin={"l": 110, "r": 150, "t": 70, "b": 30})}


def outcome_bars(kv: KeyView) -> dict[str, Any]:
    """Stacked bars: runs per value of the key (categories), split by outcome."""
    traces = []
    for o in OUTCOME_NAMES:
        h = [c.get(o, 0) for c in kv.counts]
        if any(h):
            traces.append({"type": "bar", "name": o, "x": list(kv.levels), "y": h,
                           "marker": {"color": OUTCOME_COLORS[o]},
                           "hovertemplate": f"{kv.key}=%{{x}}<br>{o}: %{{y}} runs<extra></extra>"})
    top = max((sum(c.values()) for c in kv.counts), default=1)
    pos, text = metric_ticks(0.0, float(top), False)
    keep = [(p, t) for p, t in zip(pos, text, strict=True) if float(p).is_integer()]
    return {
        "data": traces,
        "layout": _layout(
            barmode="stack", height=300, width=min(620, 260 + 60 * len(kv.levels)),
            title={"text": f"Outcome per value of {kv.key}", "x": 0, "xanchor": "left"},
            margin={"l": 10, "r": 10, "t": 40, "b": 10}, showlegend=False,
            xaxis=_axis(kv.key + (" (bins)" if kv.binned else ""), type="category",
                        categoryorder="array", categoryarray=list(kv.levels)),
            yaxis=_axis("runs", tickvals=[p for p, _ in keep], ticktext=[t for _, t in keep]),
        ),
    }


def _ring(s: Setting) -> str | None:
    """The colour of a setting's most frequent failure (None: no run failed)."""
    failed = [(n, o) for o, n in s.counts.items() if o in FAILED]
    return OUTCOME_COLORS[max(failed)[1]] if failed else None


def setting_chart(view: SweepView, metric_label: str) -> dict[str, Any] | None:
    """Best metric per setting against the top key's values: the mean over its seeds,
    the bar from the lowest to the highest, one colour per value of the second key.
    None: no metric, or the top key's values are bins (no setting repeats)."""
    keys = parcoords_keys(view)
    if not keys or keys[0].binned or not any(s.metric_mean is not None for s in view.settings):
        return None
    from .compare_charts import palette

    top = keys[0]
    second = next((k for k in keys[1:] if not k.binned), None)
    groups = second.levels if second else [None]
    colors = palette(len(groups))
    traces = []
    for g, color in zip(groups, colors, strict=True):
        sts = [s for s in view.settings if s.metric_mean is not None
               and (second is None or s.values.get(second.key) == g)]
        if not sts:
            continue
        sts.sort(key=lambda s: top.levels.index(s.values[top.key])
                 if s.values[top.key] in top.levels else -1)
        hover = [
            ", ".join(f"{k}={v}" for k, v in s.values.items())
            + f"<br>{len(s.runs)} runs, mean {fmt_num(s.metric_mean)}"
            + f" (min {fmt_num(s.metric_lo)}, max {fmt_num(s.metric_hi)})<br>"
            + ", ".join(f"{n} {o}" for o, n in s.counts.items())
            for s in sts
        ]
        traces.append({
            "type": "scatter", "mode": "markers+lines",
            "name": f"{second.key}={g}" if second else "all settings",
            "x": [s.values[top.key] for s in sts],
            "y": [s.metric_mean for s in sts],
            "error_y": {"type": "data", "symmetric": False, "thickness": 1.5, "width": 4,
                        "array": [s.metric_hi - s.metric_mean for s in sts],
                        "arrayminus": [s.metric_mean - s.metric_lo for s in sts]},
            "marker": {"color": color, "size": 9, "line": {
                "color": [_ring(s) or color for s in sts],
                "width": [3 if _ring(s) else 0 for s in sts]}},
            "line": {"color": color, "width": 1},
            "text": hover, "hovertemplate": "%{text}<extra></extra>",
        })
    lo = min(s.metric_lo for s in view.settings if s.metric_lo is not None)
    hi = max(s.metric_hi for s in view.settings if s.metric_hi is not None)
    log = lo > 0 and hi / lo > 10
    pos, text = metric_ticks(lo, hi, log)
    a, b = (np.log10(lo), np.log10(hi)) if log else (lo, hi)
    pad = 0.06 * ((b - a) or 1.0)
    yaxis = _axis(f"best {metric_label}", tickvals=[10**p for p in pos] if log else pos,
                  ticktext=text, type="log" if log else "linear", range=[a - pad, b + pad])
    return {
        "data": traces,
        "layout": _layout(
            height=380, scattermode="group",
            margin={"l": 10, "r": 10, "t": 40, "b": 10},
            title={"text": f"Best {metric_label} per setting", "x": 0, "xanchor": "left"},
            xaxis=_axis(top.key, type="category", categoryorder="array",
                        categoryarray=list(top.levels)),
            yaxis=yaxis,
            legend={"title": {"text": second.key if second else ""}},
        ),
    }


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha})"


def _digits(a: np.ndarray, digits: int) -> list[float | None]:
    return [float(f"{x:.{digits}g}") if np.isfinite(x) else None for x in a]


def curve_chart(sc: SweepCurves, title: str) -> dict[str, Any] | None:
    """The curves of one quantity (analysis.sweepcurves): per setting, its seeds' mean as
    a line and their min-max as a band, one legend entry each (a click hides the setting,
    a double click shows it alone), hover naming the setting, its runs and outcome.
    Per-setting curves take their outcome's colour; a summarised sweep's best few are
    cool and solid, the worst few warm and dashed, the groups banded. None: no curve."""
    from .compare_charts import palette

    if not sc.curves:
        return None
    groups = [c for c in sc.curves if c.kind == "group"]
    group_colors = dict(zip((id(c) for c in groups), palette(len(groups)), strict=True))
    few = {"best": iter(BEST_COLORS), "worst": iter(WORST_COLORS)}
    traces = []
    for c in sc.curves:
        if c.kind in few:
            color = next(few[c.kind], OUTCOME_COLORS[c.outcome])
        elif c.kind == "group":
            color = group_colors[id(c)]
        else:
            color = OUTCOME_COLORS[c.outcome]
        keep = np.isfinite(c.mean)
        if c.lo is not None:
            keep &= np.isfinite(c.lo) & np.isfinite(c.hi)
        x = c.steps.astype(np.float64)[keep]
        bx, _, _, mean = envelope(x, c.mean[keep], CURVE_POINTS)
        if not len(bx):
            continue
        n = len(c.runs)
        name = f"{c.label} ({n} run{'s' if n > 1 else ''}, {c.outcome})"
        if c.kind == "group":
            name = f"{c.label} (n={n})"
        group = f"c{len(traces)}"
        if c.lo is not None:
            lx, lo, _, _ = envelope(x, c.lo[keep], CURVE_POINTS)
            _, _, hi, _ = envelope(x, c.hi[keep], CURVE_POINTS)
            traces.append({  # one closed polygon: along the highs, back along the lows
                "type": "scatter", "mode": "lines", "x": _digits(np.r_[lx, lx[::-1]], 8),
                "y": _digits(np.r_[hi, lo[::-1]], 5), "legendgroup": group,
                "showlegend": False, "fill": "toself", "fillcolor": _rgba(color, 0.15),
                "line": {"width": 0, "color": color}, "hoverinfo": "skip",
            })
        traces.append({
            "type": "scatter", "mode": "lines+markers" if len(bx) < 30 else "lines",
            "name": name, "legendgroup": group, "x": _digits(bx, 8), "y": _digits(mean, 6),
            "line": {"color": color, "width": 1.6,
                     "dash": "dash" if c.kind == "worst" else "solid"},
            "marker": {"size": 4},
            "hovertemplate": f"{name}<br>step %{{x}}<br>{sc.what} %{{y:.4~g}}<extra></extra>",
        })
    if not traces:
        return None
    entries = sum(1 for t in traces if t.get("showlegend", True))
    xs = np.array([v for t in traces for v in t["x"] if v is not None])
    ys = np.array([v for t in traces for v in t["y"] if v is not None])
    xpos, xtext = metric_ticks(float(xs.min()), float(xs.max()), False)
    ypos, ytext = metric_ticks(float(ys.min()), float(ys.max()), False)
    return {
        "data": traces,
        "layout": _layout(
            height=min(max(420, 130 + 25 * entries), 720), hovermode="closest",
            title={"text": title, "x": 0, "xanchor": "left"},
            margin={"l": 10, "r": 10, "t": 40, "b": 10},
            xaxis=_axis("step", tickvals=xpos, ticktext=xtext),
            yaxis=_axis(sc.what, tickvals=ypos, ticktext=ytext),
            legend={"font": {"size": 11}, "itemdoubleclick": "toggleothers"},
        ),
    }
