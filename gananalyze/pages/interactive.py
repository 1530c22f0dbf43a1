"""Interactive line charts: the chart specs (`plots.Curve` and friends) as plotly.js figures.

The report and compare pages draw their line charts here instead of as PNGs. This module
turns what analysis returned (curves, reference lines, finding bands, best points) into a
plain JSON spec per chart; `templates/charts.html` inlines plotly.js once per page
(`bundle.plotly_js`) and a small controller that builds each figure from its spec. plotly
gives hover values, zoom and pan, and legend toggles (each series, or each run on the
compare page, is one legend group); the controller adds the page's smoothing slider
(TensorBoard's debiased EMA, run in the page over the points shipped here) and a
log/linear toggle per chart. Nothing is computed here beyond reducing what is drawn.

Page-size budget: a series with at most `DETAIL` finite points ships every point (the
in-page EMA is then exactly `smoothing.tensorboard_ema`); a longer one ships its min/max
envelope and per-bin mean at `DETAIL` equal-width step bins (`reduce.envelope`: never
sampled, so a one-step spike stays visible), about four bins per pixel of the page's
1,056-px chart, so a 4x zoom still shows each pixel's true min and max. The in-page EMA
of a reduced series runs over its bin means with weight w**k (k raw points per bin), the
same decay per step. That bounds a series to DETAIL x 4 numbers (`SERIES_BUDGET_BYTES`
of text), whatever the run's length: a 1,000,000-step run of 8 metrics adds about 1.2 MB to
the page beside the bundle.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from .plots import PALETTE, Curve, HLine, Span, VLine
from .reduce import envelope

DETAIL = 4000  # points (or envelope bins) per series at most
SERIES_BUDGET_BYTES = 4 * DETAIL * 12  # x, lo, hi, mean at <= 11 characters each + commas


def nums(a: Any, digits: int = 17) -> str:
    """A JSON array of numbers (NaN and +-Inf as null) at `digits` significant digits."""
    v = np.asarray(a, dtype=np.float64).reshape(-1)
    fmt = repr if digits >= 17 else f"{{:.{digits}g}}".format
    items = list(map(fmt, v.tolist()))
    for i in np.flatnonzero(~np.isfinite(v)):
        items[i] = "null"
    return "[" + ",".join(items) + "]"


def series_json(c: Curve, color: str, group: str | None, logy: bool) -> str:
    """One curve: its points (or envelope and bin means), band, style and best point."""
    steps = np.asarray(c.steps, dtype=np.float64).reshape(-1)
    vals = np.asarray(c.values, dtype=np.float64).reshape(-1)
    keep = np.isfinite(steps)
    steps, vals = steps[keep], vals[keep]
    if logy:
        vals = np.where(vals > 0, vals, np.nan)
    x, lo, hi, mean = envelope(steps, vals, DETAIL)
    finite = int(np.isfinite(vals).sum())
    reduced = finite > DETAIL
    meta: dict[str, Any] = {
        "name": c.label,
        "color": color,
        "group": group or c.label,
        "smooth": bool(c.smooth or c.smoothed is not None),
        "markers": bool(c.markers),
        "dash": "dash" if c.linestyle in ("--", "dashed") else "solid",
        "width": c.linewidth or (1.5 if c.smooth or c.smoothed is not None else 1.3),
        "k": float(finite / max(len(x), 1)) if reduced else 1.0,
        "band_alpha": c.band_alpha,
    }
    if not c.line:
        meta["line"] = False
    if c.best is not None and np.isfinite(c.best[0]) and np.isfinite(c.best[1]):
        meta["best"] = [float(c.best[0]), float(c.best[1])]
    parts = [json.dumps(meta)[:-1]]
    if reduced:
        parts.append(f',"x":{nums(x, 10)},"y":{nums(mean, 7)}')
    else:  # every point, exactly: the in-page EMA equals smoothing.tensorboard_ema
        parts.append(f',"x":{nums(x, 10)},"y":{nums(mean)}')
    if c.lo is not None and c.hi is not None:  # a group's own band (compare page)
        blo = np.asarray(c.lo, dtype=np.float64).reshape(-1)[keep]
        bhi = np.asarray(c.hi, dtype=np.float64).reshape(-1)[keep]
        bx, blo, _, _ = envelope(steps, blo, DETAIL)
        bx2, _, bhi, _ = envelope(steps, bhi, DETAIL)
        if len(bx) == len(bx2) and len(bx) > 1:
            parts.append(f',"bx":{nums(bx, 10)},"lo":{nums(blo, 7)},"hi":{nums(bhi, 7)}')
    elif c.band and reduced:
        parts.append(f',"lo":{nums(lo, 7)},"hi":{nums(hi, 7)}')
    return "".join(parts) + "}"


def chart_spec(
    curves: Sequence[Curve],
    title: str = "",
    ylabel: str = "",
    xlabel: str = "step",
    hlines: Sequence[HLine] = (),
    vlines: Sequence[VLine] = (),
    spans: Sequence[Span] = (),
    logy: bool = False,
    ylim: tuple[float, float] | None = None,
    marks: Any = None,
    marks_label: str = "NaN/Inf logged",
    groups: Sequence[str | None] | None = None,
    note: str = "",
    height: int = 330,
) -> str:
    """The JSON spec of one chart (see the module docstring for what is shipped)."""
    series = [
        series_json(
            c,
            c.color or PALETTE[i % len(PALETTE)],
            groups[i] if groups is not None else None,
            logy,
        )
        for i, c in enumerate(curves)
    ]
    head = {
        "title": title,
        "xlabel": xlabel,
        "ylabel": ylabel,
        "logy": bool(logy),
        "ylim": [float(ylim[0]), float(ylim[1])] if ylim is not None else None,
        "note": note,
        "height": int(height),
        "hlines": [
            {"y": float(h.y), "label": h.label, "color": h.color, "dash": _dash(h.linestyle)}
            for h in hlines
            if np.isfinite(h.y)
        ],
        "vlines": [
            {"x": float(v.x), "label": v.label, "color": v.color, "dash": _dash(v.linestyle)}
            for v in vlines
            if np.isfinite(v.x)
        ],
        "spans": [
            {
                "x0": float(s.start),
                "x1": float(s.end if s.end > s.start else s.start + 1),
                "label": s.label,
                "color": s.color,
                "alpha": float(s.alpha),
            }
            for s in spans
        ],
        "marks_label": marks_label,
    }
    m = np.unique(np.asarray(marks if marks is not None else [], dtype=np.float64))
    if m.size > DETAIL:
        m = envelope(m, np.zeros(m.size), DETAIL)[0]
    return json.dumps(head)[:-1] + f',"marks":{nums(m, 10)},"series":[' + ",".join(series) + "]}"


def _dash(linestyle: str) -> str:
    return {"--": "dash", ":": "dot", "-.": "dashdot"}.get(linestyle, "solid")


def heatmap_spec(
    matrix: Any,
    row_labels: Sequence[str],
    col_values: Any,
    title: str = "",
    xlabel: str = "step",
    colorbar_label: str = "",
    colorscale: str = "Viridis",
) -> str:
    """The JSON spec of a heat map (rows x columns; NaN cells blank): the rows top to bottom
    in the order given, the columns at `col_values` on a step axis, hover naming row, column
    and value. Columns beyond `DETAIL` keep each row's bin mean (`reduce.envelope`)."""
    m = np.asarray(matrix, dtype=np.float64).reshape(len(row_labels), -1)
    cols = np.asarray(col_values, dtype=np.float64).reshape(-1)
    if cols.size > DETAIL:
        reduced = [envelope(cols, row, DETAIL) for row in m]
        cols = reduced[0][0] if reduced else cols[:0]
        m = np.array([r[3] for r in reduced]).reshape(len(row_labels), -1)
    head = {
        "kind": "heatmap",
        "title": title,
        "xlabel": xlabel,
        "colorbar": colorbar_label,
        "colorscale": colorscale,
        "rows": list(row_labels),
        "height": int(min(130 + 22 * len(row_labels), 620)),
    }
    z = ",".join(nums(row, 5) for row in m)
    return json.dumps(head)[:-1] + f',"x":{nums(cols, 10)},"z":[{z}]' + "}"


def scatter_spec(
    panels: Sequence[tuple[str, Sequence[tuple[str, Any]]]],
    title: str = "",
    height: int = 400,
) -> str:
    """The JSON spec of 2-D scatter panels side by side on shared axes (a t-SNE embedding: one
    coordinate system), each panel (title, [(group label, points n x 2)]). A group has one
    colour and one legend entry on every panel, so a legend click hides it everywhere."""
    names: list[str] = []
    out = []
    for ptitle, groups in panels:
        gs = []
        for label, pts in groups:
            p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
            if label not in names:
                names.append(label)
            gs.append(
                f'{{"name":{json.dumps(f"{label} ({len(p)})")},"group":{json.dumps(label)},'
                f'"color":"{PALETTE[names.index(label) % len(PALETTE)]}",'
                f'"x":{nums(p[:, 0], 4)},"y":{nums(p[:, 1], 4)}}}'
            )
        out.append(f'{{"title":{json.dumps(ptitle)},"groups":[{",".join(gs)}]}}')
    head = {"kind": "scatter", "title": title, "height": int(height)}
    return json.dumps(head)[:-1] + ',"panels":[' + ",".join(out) + "]}"


def tsne_spec(result: Any, shown: Sequence[tuple[int, str]]) -> str:
    """A t-SNE embedding (analysis.tsne.TsneResult), one panel per (step, label) in `shown`:
    the real points (when there are any) against that checkpoint's generated points, on
    shared axes (one embedding, one coordinate system)."""
    real = [("real", result.real)] if len(result.real) else []
    return scatter_spec(
        [(label, [*real, (label, result.fake[step])]) for step, label in shown],
        height=420,
    )
