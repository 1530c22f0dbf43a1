"""Plotting helpers shared by `report` and `compare`: line charts and PNG data URIs.

Long runs are never plotted point by point and never randomly sampled: every
series is reduced with `reduce.envelope` to min/max/mean per step bin (so a one-step
spike in a million-step run still shows as a spike), the raw data is drawn as
that min-max band, and the smoothed curve goes on top. Figures are built with
`matplotlib.figure.Figure` directly (no pyplot global state, no GUI backend),
styled with seaborn's "whitegrid" look, and turned into base64 PNG data URIs so
that an HTML page embeds them without external files.

The chart functions take small plain dataclasses (`Curve`, `HLine`, `VLine`,
`Span`) so that callers describe *what* to draw and this module decides *how*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .reduce import bin_mean, envelope

# seaborn's colour-blind-friendly "colorblind" palette (tests check it equals
# seaborn's), spelled out so that colours can be assigned before seaborn loads.
PALETTE = (
    "#0173b2",
    "#de8f05",
    "#029e73",
    "#d55e00",
    "#cc78bc",
    "#ca9161",
    "#fbafe4",
    "#949494",
    "#ece133",
    "#56b4e9",
)
DPI = 96
WIDTH_IN = 9.0
HEIGHT_IN = 3.0


# ------------------------------------------------------------------ chart specs


@dataclass
class Curve:
    """One series: raw envelope band plus a smoothed line (or points when sparse).

    smoothed: an already smoothed copy of `values` (same length), drawn as the
    line; when None the line is the per-bin mean of the raw values. Points whose
    step (x) is not finite are left out.
    band: draw the raw min-max envelope behind the line (only when there are
    more points than bins or a smoothed line, otherwise there is nothing to show).
    markers: draw each point (for sparse series such as FID per checkpoint).
    """

    label: str
    steps: Any
    values: Any
    smoothed: Any = None
    color: str | None = None
    band: bool = True
    markers: bool = False
    linestyle: str = "-"
    lo: Any = None  # a band of its own (a group's min/max or mean +- std), drawn instead
    hi: Any = None  # ... of the raw envelope
    best: tuple[float, float] | None = None  # (x, y) of the best point: a star
    break_gaps: bool = False  # leave a gap where logging paused (x gap >> typical)
    edges: bool = True  # outline the raw envelope so that one-bin spikes stay visible
    band_alpha: float = 0.22
    linewidth: float | None = None  # default: 1.5 smoothed, 1.3 binned, 1.0 with markers
    markersize: float = 3.5
    smooth: bool = False  # an interactive chart smooths this curve in the page (interactive.py)
    line: bool = True  # False: an interactive chart draws only this curve's lo/hi band


@dataclass
class HLine:
    """A horizontal reference line (an equilibrium value, 0.5...)."""

    y: float
    label: str = ""
    color: str = "#444444"
    linestyle: str = "--"


@dataclass
class VLine:
    """A vertical marker at one step (the best checkpoint, a chosen step...)."""

    x: float
    label: str = ""
    color: str = "#2a9d2a"
    linestyle: str = ":"


@dataclass
class Span:
    """A shaded step range (a finding's start..end)."""

    start: float
    end: float
    label: str = ""
    color: str = "#d62728"
    alpha: float = 0.10


# ------------------------------------------------------------------ figures


# seaborn's "whitegrid" axes style and "paper" plotting context (its "notebook" sizes x 0.8),
# spelled out (tests check they equal seaborn's) so that drawing a figure does not import
# seaborn, which pulls in scipy.stats: seconds on a loaded 2-core machine.
_PAPER = 0.8
SEABORN_RC: dict[str, Any] = {
    "figure.facecolor": "white",
    "axes.labelcolor": ".15",
    "xtick.direction": "out",
    "ytick.direction": "out",
    "xtick.color": ".15",
    "ytick.color": ".15",
    "axes.axisbelow": True,
    "grid.linestyle": "-",
    "text.color": ".15",
    "font.family": ["sans-serif"],
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans",
                        "sans-serif"],
    "lines.solid_capstyle": "round",
    "patch.edgecolor": "w",
    "patch.force_edgecolor": True,
    "image.cmap": "rocket",
    "xtick.top": False,
    "ytick.right": False,
    "axes.grid": True,
    "axes.facecolor": "white",
    "axes.edgecolor": ".8",
    "grid.color": ".8",
    "axes.spines.left": True,
    "axes.spines.bottom": True,
    "axes.spines.right": True,
    "axes.spines.top": True,
    "xtick.bottom": False,
    "ytick.left": False,
    "axes.linewidth": 1.25 * _PAPER,
    "grid.linewidth": 1 * _PAPER,
    "lines.linewidth": 1.5 * _PAPER,
    "lines.markersize": 6 * _PAPER,
    "patch.linewidth": 1 * _PAPER,
    "xtick.major.width": 1.25 * _PAPER,
    "ytick.major.width": 1.25 * _PAPER,
    "xtick.minor.width": 1 * _PAPER,
    "ytick.minor.width": 1 * _PAPER,
    "xtick.major.size": 6 * _PAPER,
    "ytick.major.size": 6 * _PAPER,
    "xtick.minor.size": 4 * _PAPER,
    "ytick.minor.size": 4 * _PAPER,
    "font.size": 12 * _PAPER,
    "axes.labelsize": 12 * _PAPER,
    "axes.titlesize": 12 * _PAPER,
    "xtick.labelsize": 11 * _PAPER,
    "ytick.labelsize": 11 * _PAPER,
    "legend.fontsize": 11 * _PAPER,
    "legend.title_fontsize": 12 * _PAPER,
}  # fmt: skip


def _style() -> dict[str, Any]:
    """seaborn's "whitegrid" style and "paper" context (`SEABORN_RC`), with the house tweaks."""
    from cycler import cycler

    rc: dict[str, Any] = dict(SEABORN_RC)
    rc.update({
        "axes.edgecolor": "#cccccc",
        "axes.linewidth": 0.8,
        "axes.labelcolor": "#333333",
        "axes.prop_cycle": cycler(color=list(PALETTE)),
        "grid.color": "#ebebeb",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "legend.fontsize": 8,
        "xtick.labelsize": 8,
        "ytick.labelsize": 8,
        "xtick.color": "#555555",
        "ytick.color": "#555555",
        "legend.frameon": False,
        "axes.titleweight": "bold",
        "figure.facecolor": "white",
        "image.cmap": "viridis",
    })  # fmt: skip
    return rc


_STYLE: dict[str, Any] | None = None


def styled():
    """Context manager applying the house style (seaborn whitegrid + small fonts).

    Wrap the whole building of a figure in it (artists read rcParams when they
    are created); the global rcParams are left untouched afterwards.
    """
    global _STYLE
    from matplotlib import rc_context

    if _STYLE is None:
        _STYLE = _style()
    return rc_context(_STYLE)


def new_figure(
    nrows: int = 1,
    ncols: int = 1,
    width: float = WIDTH_IN,
    height: float = HEIGHT_IN,
    sharex: bool = False,
    layout: str | None = "constrained",
    **kw: Any,
):
    """(fig, axes[nrows][ncols]) from matplotlib.figure.Figure: no pyplot, no GUI backend.

    Call inside `styled()` for the house look. layout=None uses fixed margins
    (`grid_margins`) instead of constrained layout, which costs ~0.1 s per axes
    and dominates figures with many small panels.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout=layout)
    axes = fig.subplots(nrows, ncols, sharex=sharex, squeeze=False, **kw)
    if layout is None:
        grid_margins(fig, nrows)
    return fig, axes


def grid_margins(
    fig: Any,
    nrows: int = 1,
    left: float = 0.5,
    right: float = 0.15,
    top: float = 0.3,
    bottom: float = 0.3,
    hspace: float = 0.55,
    wspace: float = 0.3,
) -> None:
    """Fixed margins in inches (converted to figure fractions) for a grid of small panels."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(
        left=left / w,
        right=1 - right / w,
        top=1 - top / h,
        bottom=bottom / h,
        hspace=hspace,
        wspace=wspace,
    )


def fmt_step(x: float, _pos: Any = None) -> str:
    a = abs(x)
    if a >= 1e6:
        return f"{x / 1e6:g}M"
    if a >= 1e4:
        return f"{x / 1e3:g}k"
    return f"{x:g}"


def draw_curves(
    ax: Any, curves: Sequence[Curve], bins: int = 1500, logy: bool = False
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Draw curves on `ax` (band + line); returns the plotted (lo, hi) arrays for y-limits."""
    plotted = []
    for i, c in enumerate(curves):
        color = c.color or PALETTE[i % len(PALETTE)]
        steps = np.asarray(c.steps, dtype=np.float64)
        keep = np.isfinite(steps)
        steps = steps[keep]
        vals = np.asarray(c.values, dtype=np.float64)[keep]
        if logy:
            vals = np.where(vals > 0, vals, np.nan)
        x, lo, hi, mean = envelope(steps, vals, bins)
        if not x.size:
            continue
        reduced = not np.array_equal(lo, hi)
        if c.lo is not None and c.hi is not None:
            blo = np.asarray(c.lo, dtype=np.float64)[keep]
            if logy:
                blo = np.where(blo > 0, blo, np.nan)
            bx, blo, _, _ = envelope(steps, blo, bins)
            bx2, _, bhi, _ = envelope(steps, np.asarray(c.hi, dtype=np.float64)[keep], bins)
            if len(bx) == len(bx2) and len(bx) > 1:
                ax.fill_between(bx, blo, bhi, color=color, alpha=c.band_alpha, linewidth=0)
                plotted.append((blo, bhi))
        elif c.band and reduced:
            # min-max band per bin, with its edges drawn so that a one-bin spike stays visible
            ax.fill_between(x, lo, hi, color=color, alpha=c.band_alpha, linewidth=0, label=None)
            if c.edges:
                ax.plot(x, hi, color=color, alpha=0.35, linewidth=0.5)
                ax.plot(x, lo, color=color, alpha=0.35, linewidth=0.5)
            plotted.append((lo, hi))
        elif c.band and c.smoothed is not None and c.edges:
            # every raw point, under the smoothed line
            ax.plot(x, mean, color=color, alpha=0.3, linewidth=0.7)
            plotted.append((lo, hi))
        if c.smoothed is not None:
            sm = np.asarray(c.smoothed, dtype=np.float64)[keep]
            if logy:
                sm = np.where(sm > 0, sm, np.nan)
            sx, sy = bin_mean(steps, sm, bins)
            if c.break_gaps:
                sx, sy = break_gaps(sx, sy)
            lw = c.linewidth or 1.5
            ax.plot(sx, sy, color=color, linewidth=lw, linestyle=c.linestyle, label=c.label)
            plotted.append((sy, sy))
        else:
            ax.plot(
                x,
                mean,
                color=color,
                linewidth=c.linewidth or (1.3 if not c.markers else 1.0),
                linestyle=c.linestyle,
                label=c.label,
                marker="o" if c.markers else None,
                markersize=c.markersize,
            )
            plotted.append((mean, mean))
        if c.best is not None and np.isfinite(c.best[0]):
            bx_, by_ = c.best
            ax.scatter(
                [bx_],
                [by_],
                marker="*",
                s=150,
                color=color,
                edgecolors="#222222",
                linewidths=0.8,
                zorder=5,
            )
    if logy:
        ax.set_yscale("log")
    ax.xaxis.set_major_formatter(fmt_step)
    return plotted


def break_gaps(x: np.ndarray, y: np.ndarray, factor: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN where the x gap is `factor` times the typical one (logging paused)."""
    if len(x) < 3:
        return x, y
    dx = np.diff(x)
    typical = np.median(dx)
    cut = np.flatnonzero(dx > factor * typical) if typical > 0 else np.array([], dtype=int)
    if not len(cut):
        return x, y
    return np.insert(x, cut + 1, np.nan), np.insert(y.astype(np.float64), cut + 1, np.nan)
