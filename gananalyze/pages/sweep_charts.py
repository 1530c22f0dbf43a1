"""The charts of the sweep page: outcomes per config value, best metric against a value,
parallel coordinates coloured by outcome, and the few runs and groups worth drawing.

They read an `analysis.sweepview.SweepView` (outcomes, levels, ranking); nothing here
decides an outcome or a best value. Outcome colours: `status.OUTCOME_COLORS`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..analysis.sweepview import OUTCOME_NAMES, KeyView, SweepView
from ..textfmt import fmt_num
from .status import OUTCOME_COLORS

MAX_PARALLEL_KEYS = 8


def _uri(fig: Any) -> str:
    from .pngs import fig_to_data_uri

    return fig_to_data_uri(fig)


def outcome_bars(kv: KeyView) -> str:
    """Stacked bars: runs per value of the key, split by outcome (a PNG data URI)."""
    from .plots import new_figure, styled

    with styled():
        width = min(7.0, 2.2 + 0.55 * len(kv.levels))
        fig, axes = new_figure(1, 1, width=width, height=2.7)
        ax = axes[0][0]
        x = np.arange(len(kv.levels))
        bottom = np.zeros(len(kv.levels))
        for o in OUTCOME_NAMES:
            h = np.array([c.get(o, 0) for c in kv.counts], dtype=float)
            if h.any():
                ax.bar(x, h, bottom=bottom, color=OUTCOME_COLORS[o], label=o, width=0.72)
                bottom += h
        ax.set_xticks(x, kv.levels, rotation=30 if len(kv.levels) > 4 else 0, ha="right"
                      if len(kv.levels) > 4 else "center")
        ax.set_ylabel("runs")
        ax.set_xlabel(kv.key + (" (quantile bins)" if kv.binned else ""))
        ax.set_title(f"Outcome per value of {kv.key}", loc="left")
        return _uri(fig)


def metric_scatter(kv: KeyView, view: SweepView, metric_label: str) -> str | None:
    """Each run's best metric against the key's value, coloured by outcome (None: no metric)."""
    from .plots import new_figure, styled

    pts = [
        (v if kv.numeric else li, b, o)
        for v, li, b, o in zip(kv.values, kv.index, view.best, view.outcomes, strict=True)
        if v is not None and li >= 0 and b is not None
    ]
    if not pts:
        return None
    rng = np.random.default_rng(0)  # fixed jitter: the page is the same on every render
    with styled():
        fig, axes = new_figure(1, 1, width=4.6, height=2.7)
        ax = axes[0][0]
        if kv.numeric:
            xs = np.array([float(v) for v, _, _ in pts])
            if kv.log:
                ax.set_xscale("log")
                xs = xs * 10 ** rng.uniform(-0.03, 0.03, len(xs))
        else:
            xs = np.array([li for li, _, _ in pts], dtype=float) + rng.uniform(
                -0.2, 0.2, len(pts)
            )
            ax.set_xticks(range(len(kv.levels)), kv.levels)
        ys = np.array([b for _, b, _ in pts])
        cs = [OUTCOME_COLORS[o] for _, _, o in pts]
        ax.scatter(xs, ys, c=cs, s=14, alpha=0.8, linewidths=0)
        if ys.min() > 0 and ys.max() / ys.min() > 10:
            ax.set_yscale("log")
        ax.set_xlabel(kv.key + (" (log scale)" if kv.log else ""))
        ax.set_ylabel(f"best {metric_label}")
        ax.set_title(f"Best {metric_label} against {kv.key}", loc="left")
        return _uri(fig)


def _axis_values(kv: KeyView) -> np.ndarray:
    """The key's value per run mapped to [0, 1] (NaN where missing)."""
    out = np.full(len(kv.values), np.nan)
    if kv.numeric:
        v = np.array([float(x) if x is not None else np.nan for x in kv.values])
        if kv.log:
            v = np.log10(np.where(v > 0, v, np.nan))
        lo, hi = np.nanmin(v), np.nanmax(v)
        return (v - lo) / (hi - lo) if hi > lo else np.full(len(v), 0.5)
    n = max(len(kv.levels) - 1, 1)
    for i, li in enumerate(kv.index):
        if li >= 0:
            out[i] = li / n
    return out


def _ticks(kv: KeyView) -> list[tuple[float, str]]:
    if not kv.numeric:
        n = max(len(kv.levels) - 1, 1)
        return [(i / n, lab) for i, lab in enumerate(kv.levels)]
    v = np.array([float(x) for x in kv.values if x is not None])
    lo, hi = float(v.min()), float(v.max())
    if kv.log:
        return [(0.0, fmt_num(lo)), (1.0, fmt_num(hi))]
    return [(0.0, fmt_num(lo)), (0.5, fmt_num((lo + hi) / 2)), (1.0, fmt_num(hi))]


def parallel_coordinates(view: SweepView, metric_label: str) -> str | None:
    """One polyline per run across the most predictive keys (and the best metric),
    coloured by outcome; failures drawn on top. None when fewer than 2 axes."""
    from .plots import new_figure, styled

    keys = view.keys[:MAX_PARALLEL_KEYS]
    axes_vals = [_axis_values(k) for k in keys]
    ticks = [_ticks(k) for k in keys]
    names = [k.key + (" (log)" if k.log else "") for k in keys]
    best = np.array([b if b is not None else np.nan for b in view.best], dtype=float)
    if np.isfinite(best).sum() >= 2:
        fin = best[np.isfinite(best)]
        log = fin.min() > 0 and fin.max() / fin.min() > 10
        b = np.log10(np.where(best > 0, best, np.nan)) if log else best
        lo, hi = np.nanmin(b), np.nanmax(b)
        axes_vals.append((b - lo) / (hi - lo) if hi > lo else np.full(len(b), 0.5))
        lo_v, hi_v = float(fin.min()), float(fin.max())
        ticks.append([(0.0, fmt_num(lo_v)), (1.0, fmt_num(hi_v))])
        names.append(f"best {metric_label}" + (" (log)" if log else ""))
    if len(axes_vals) < 2:
        return None
    data = np.vstack(axes_vals).T  # runs x axes
    order = sorted(
        range(len(view.runs)), key=lambda i: -OUTCOME_NAMES.index(view.outcomes[i])
    )  # healthy/undecided first, failures on top
    with styled():
        fig, axs = new_figure(1, 1, width=max(9.0, 2.2 * len(names)), height=3.6)
        ax = axs[0][0]
        xs = np.arange(len(names))
        segs, colors = [], []  # one collection, not one artist per run: 1,000 runs draw fast
        for i in order:
            for piece in _pieces(xs, data[i]):  # a missing value breaks the line, as plot does
                segs.append(piece)
                colors.append(OUTCOME_COLORS[view.outcomes[i]])
        from matplotlib.collections import LineCollection

        ax.add_collection(LineCollection(segs, colors=colors, alpha=0.45, linewidths=0.9))
        for j, tk in enumerate(ticks):
            ax.axvline(j, color="#444444", lw=0.8)
            for y, lab in tk:
                ax.text(j + 0.03, y, lab, fontsize=7, va="center", color="#333333")
        ax.set_xticks(xs, names)
        ax.set_yticks([])
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlim(-0.2, len(names) - 0.5)
        ax.grid(False)
        from matplotlib.lines import Line2D

        present = [o for o in OUTCOME_NAMES if o in view.counts]
        ax.legend(
            [Line2D([], [], color=OUTCOME_COLORS[o], lw=2) for o in present],
            present,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.12),
            ncol=min(len(present), 6),
            frameon=False,
            fontsize=8,
        )
        ax.set_title("Parallel coordinates: every run across the varying keys", loc="left")
        return _uri(fig)


def _pieces(xs: np.ndarray, ys: np.ndarray) -> list[np.ndarray]:
    """The stretches of finite points of one polyline, as (n, 2) arrays of 2 points or more."""
    ok = np.isfinite(ys)
    out = []
    start = None
    for j in range(len(ys) + 1):
        if j < len(ys) and ok[j]:
            start = j if start is None else start
            continue
        if start is not None and j - start >= 2:
            out.append(np.column_stack([xs[start:j], ys[start:j]]))
        start = None
    return out


def finite_or_none(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None
