"""The charts of the compare page: overlaid runs, group bands, best markers, samples.

The best markers are the comparison's (analysis.comparison.Comparison.best_points).

Metric names are matched across formats through `gananalyze.naming.aliases.ALIASES`. A
metric present in some runs only is drawn for those, with a note naming the others.
D(x) and D(G(z)) get their own side-by-side panel; counters and x-axis columns
(`NOT_CHARTED`) and StyleGAN's `<stat>/std` companions are not drawn; beyond
`MAX_METRIC_CHARTS` charts the rest are named in a note. Charts are drawn from
per-bin envelopes/means (`pages.plots`), never from every point.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from ..analysis.alignment import common_step_label, time_unit, x_mapper
from ..analysis.comparison import Comparison
from ..analysis.configs import aggregate
from ..analysis.smoothing import smoothed
from ..naming.aliases import ALIASES, canonical
from ..run import Run
from ..textfmt import fmt_num
from .plots import Curve

# Columns that are counters or x axes, not training metrics: never drawn as curves.
NOT_CHARTED = {
    "Progress/tick",
    "Progress/kimg",
    "kimg",
    "Timing/total_sec",
    "Timing/total_hours",
    "Timing/total_days",
}
PLOT_BINS = 600
SAMPLE_MAX_PX = 384


def palette(n: int) -> list[str]:
    """n distinct hex colours, one per run (or group), the same in every chart.

    Up to 10: seaborn's "colorblind" palette (pages.plots.PALETTE, shared
    with the single-run report); more: seaborn's "hls" palette (evenly spaced
    hues, l=0.6, s=0.65), computed here so seaborn need not be imported.
    """
    import colorsys

    from .plots import PALETTE

    if n <= len(PALETTE):
        return list(PALETTE[:n])
    hues = (np.linspace(0, 1, n + 1)[:-1] + 0.01) % 1
    return [_hex(colorsys.hls_to_rgb(h, 0.6, 0.65)) for h in hues]


def _hex(c: Sequence[float]) -> str:
    return "#" + "".join(f"{int(round(255 * v)):02x}" for v in c[:3])


def sample_uri(run: Run, best_step: int | None) -> tuple[str | None, int | None]:
    """The run's sample grid nearest its best step (else its last) as a data URI, and its step.

    Large images are shrunk to SAMPLE_MAX_PX so that twenty runs stay a light page.
    """
    if not run.samples:
        return None, None
    if best_step is not None:
        grid = min(run.samples, key=lambda g: (abs(g.step - best_step), -g.step))
    else:
        grid = run.samples[-1]
    try:
        data = grid.read_bytes()
        from ..files.bounded import open_image

        img = open_image(data, grid.path)
        if max(img.size) > SAMPLE_MAX_PX or img.format not in ("PNG", "JPEG"):
            img = img.convert("RGB")
            img.thumbnail((SAMPLE_MAX_PX, SAMPLE_MAX_PX))
            buf = io.BytesIO()
            img.save(buf, format="PNG")
            data, mime = buf.getvalue(), "image/png"
        else:
            mime = "image/png" if img.format == "PNG" else "image/jpeg"
    except Exception:  # missing or not an image PIL can read: leave it out, say so in the page
        return None, None
    from .pngs import png_data_uri

    return png_data_uri(data, mime), grid.step


def _line_of(c: Curve) -> np.ndarray:
    return np.asarray(c.smoothed if c.smoothed is not None else c.values, dtype=np.float64)


def _want_log(lines: Sequence[Curve]) -> bool:
    """A log y axis for a positive metric spanning orders of magnitude; never for one whose
    values all lie in [0, 1] (an accuracy or a probability: its scale is linear)."""
    vals = [y[np.isfinite(y)] for y in map(_line_of, lines)]
    vals = [v for v in vals if len(v)]
    if not vals:
        return False
    v = np.concatenate(vals)
    if v.max() <= 1.0:
        return False
    return bool(v.min() > 0 and v.max() / v.min() > 50)


def panel_charts(
    panels: Sequence[tuple[str, Sequence[Curve]]],
    xlabel: str,
    ylim: tuple[float, float] | None = None,
    logy: bool | None = None,
    note: str = "",
    height: int = 330,
) -> list[str]:
    """One interactive chart spec (pages/interactive.py) per panel (title, lines); each run
    or group is one legend entry. A linear axis whose lines one run's spikes would flatten
    spans the 1st-99th percentile, and the chart says so (zoom out: double-click)."""
    from .interactive import chart_spec

    out = []
    for title, lines in panels:
        lg = _want_log(lines) if logy is None else logy
        lim, notes = ylim, [note] if note else []
        if lim is None and not lg:
            clip = robust_limits([_line_of(c) for c in lines])
            if clip:
                lim = (clip[0], clip[1])
                notes.append(f"y axis: 1st-99th percentile; {clip[2]} points beyond")
        out.append(
            chart_spec(
                lines, title=title, xlabel=xlabel, ylim=lim, logy=lg, note="; ".join(notes),
                height=height,
            )
        )
    return out


def panel_figure(
    panels: Sequence[tuple[str, Sequence[Curve]]],
    xlabel: str,
    ylim: tuple[float, float] | None = None,
    logy: bool | None = None,
    legend: bool = True,
    width: float = 6.6,
    height: float = 2.7,
    star_note: bool = False,
) -> str:
    """One row of panels (title, lines) as a PNG data URI."""
    from .plots import draw_curves, fmt_step, new_figure, styled
    from .pngs import fig_to_data_uri
    from .reduce import finite_range

    with styled():
        fig, axes = new_figure(
            1,
            len(panels),
            width=width * len(panels) if len(panels) > 1 else width,
            height=height,
            sharey=len(panels) > 1,
        )
        for ax, (title, lines) in zip(axes[0], panels, strict=True):
            lg = _want_log(lines) if logy is None else logy
            drawn = draw_curves(ax, lines, bins=PLOT_BINS, logy=lg)
            if ylim is not None:
                ax.set_ylim(*ylim)
            elif not lg:
                rng = finite_range(*[a for pair in drawn for a in pair])
                clip = robust_limits([a for pair in drawn for a in pair])
                if clip:  # one run's spikes would flatten every other curve: say so
                    ax.set_ylim(clip[0], clip[1])
                    ax.text(
                        0.99,
                        0.97,
                        f"y axis: 1st-99th percentile; {clip[2]} binned points beyond",
                        transform=ax.transAxes,
                        ha="right",
                        va="top",
                        fontsize=7,
                        color="#8a4b00",
                    )
                elif rng:
                    ax.set_ylim(*rng)
            ax.set_title(title, loc="left")
            ax.set_xlabel(xlabel)
            ax.xaxis.set_major_formatter(fmt_step)
        ax = axes[0][-1]
        if legend and ax.get_legend_handles_labels()[0]:
            handles, labels = ax.get_legend_handles_labels()
            if star_note:
                from matplotlib.lines import Line2D

                handles.append(
                    Line2D([], [], marker="*", color="#222222", linestyle="", markersize=9)
                )
                labels.append("best")
            ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return fig_to_data_uri(fig)


def robust_limits(values: list[np.ndarray], q: float = 1.0) -> tuple[float, float, int] | None:
    """(lo, hi, points outside) from the q-th and (100-q)-th percentiles of the values,
    padded by half that span (so the tails of ordinary noise stay in); None when
    clipping would hide nothing worth hiding (full range within 3x the robust span)."""
    v = np.concatenate([np.asarray(a, dtype=float).ravel() for a in values]) if values else []
    v = np.asarray(v)[np.isfinite(v)] if len(v) else np.array([])
    if len(v) < 20:
        return None
    lo, hi = np.percentile(v, [q, 100 - q])
    span = hi - lo
    if span <= 0 or (v.max() - v.min()) <= 3 * span:
        return None
    lo, hi = lo - 0.5 * span, hi + 0.5 * span
    return float(lo), float(hi), int(((v < lo) | (v > hi)).sum())



class Plotter:
    """Builds the per-run (or per-group) lines for one comparison on one x axis."""

    def __init__(self, comp: Comparison, x: str, band: str, smoothing: float):
        self.comp, self.x, self.band, self.smoothing = comp, x, band, smoothing
        self.notes: list[str] = []
        self._gap_notes: set[tuple[str, int, int]] = set()
        self.mappers: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
        for r in comp.runs:
            f, desc = x_mapper(r, x)
            if f is None:
                self.notes.append(
                    f"{r.name} is not on the charts: --x {x} is unavailable for it ({desc})"
                )
            else:
                self.mappers[r.name] = f
        self.scale, unit = 1.0, ""
        if x == "time":
            top = 0.0
            for r in comp.runs:
                if r.name in self.mappers and len(r.scalars):
                    v = self.mappers[r.name](r.scalars["step"].to_numpy()[-1:])
                    if np.isfinite(v).all():
                        top = max(top, float(v[0]))
            self.scale, unit = time_unit(top)
        self.xlabel = {
            "step": common_step_label([r for r in comp.runs if r.name in self.mappers]),
            "time": f"wall time ({unit})",
            "images": "images seen",
        }.get(x, x)
        if comp.groups:
            self.units = [
                (g.label + f" (n={g.n})", [r for r in g.runs if r.name in self.mappers])
                for g in comp.groups
            ]
        else:
            self.units = [(r.name, [r]) for r in comp.runs if r.name in self.mappers]
        names = [g.label for g in comp.groups] if comp.groups else [r.name for r in comp.runs]
        cols = palette(len(names))
        self.color = dict(zip(names, cols, strict=True))
        if comp.groups:
            self.unit_color = {
                lab: self.color[g.label]
                for (lab, _), g in zip(self.units, comp.groups, strict=True)
            }
            self.run_color = {r.name: self.color[g.label] for g in comp.groups for r in g.runs}
            self.unit_key = {
                lab: g.label for (lab, _), g in zip(self.units, comp.groups, strict=True)
            }
        else:
            self.unit_color = {r.name: self.color[r.name] for r in comp.runs}
            self.unit_key = {r.name: r.name for r in comp.runs}
            self.run_color = dict(self.unit_color)

    def xs(self, run: Run, steps: np.ndarray) -> np.ndarray:
        return self.mappers[run.name](steps) / self.scale

    def lines(
        self,
        get: Callable[[Run], pd.Series],
        smooth: bool = True,
        markers: bool = False,
        best: bool = False,
        what: str = "",
    ) -> tuple[list[Curve], list[str]]:
        """Lines for one metric: one per run, or mean + band per group; notes about gaps."""
        out: list[Curve] = []
        notes: list[str] = []
        raw_band = not self.comp.groups and len(self.units) <= 3
        for lab, runs in self.units:
            color = self.unit_color[lab]
            series = []
            for r in runs:
                s = get(r)
                if len(s):
                    series.append((r, s))
            if not series:
                continue
            if not self.comp.groups:
                r, s = series[0]
                y = s.to_numpy(dtype=np.float64)
                sm = smoothed(y, self.smoothing, 3) if smooth else y
                xs = self.xs(r, s.index.to_numpy())
                b = None
                bb = self.comp.best_points.get(r.name) if best else None
                if bb is not None:
                    b = (float(self.xs(r, np.array([bb[1]]))[0]), bb[0])
                envelope_of_raw = raw_band and smooth and not markers
                out.append(
                    Curve(
                        lab,
                        xs,
                        y if envelope_of_raw else sm,
                        smoothed=None if markers else sm,
                        color=color,
                        band=envelope_of_raw,
                        markers=markers,
                        best=b,
                        break_gaps=True,
                        linewidth=1.2 if markers else 1.4,
                        markersize=3,
                        edges=False,
                        band_alpha=0.15,
                    )
                )
                continue
            sm_series = [
                pd.Series(
                    smoothed(s.to_numpy(dtype=np.float64), self.smoothing, 3)
                    if smooth
                    else s.to_numpy(dtype=np.float64),
                    index=s.index,
                )
                for _, s in series
            ]
            agg = aggregate(sm_series, self.band)
            longest = max(len(s) for _, s in series)
            if len(series) < len(runs):
                notes.append(
                    f"{lab}: {what} logged by {len(series)} of its {len(runs)} runs; the mean "
                    "uses those"
                )
            if len(agg) == 0:
                notes.append(
                    f"{lab}: its runs share no logged step for {what}; no mean drawn (compare "
                    "them without --group-by)"
                )
                continue
            if len(agg) < longest:  # said once per group and count, not once per chart
                note = (
                    f"{lab}: means and bands use only the steps all {len(series)} runs logged "
                    f"({fmt_num(len(agg))} for {what}; the longest run logged {fmt_num(longest)})"
                )
                key = (lab, len(agg), longest)
                if key not in self._gap_notes:
                    self._gap_notes.add(key)
                    self.notes.append(note)
            st = agg["step"].to_numpy()
            xs = np.mean([self.xs(r, st) for r, _ in series], axis=0)
            b = None
            bb = self.comp.best_points.get(self.unit_key[lab]) if best else None
            if bb is not None and bb[1] in set(st.tolist()):
                b = (float(xs[np.searchsorted(st, bb[1])]), bb[0])
            mean = agg["mean"].to_numpy()
            out.append(
                Curve(
                    lab,
                    xs,
                    mean,
                    smoothed=None if markers else mean,
                    color=color,
                    band=False,
                    markers=markers,
                    lo=agg["lo"].to_numpy(),
                    hi=agg["hi"].to_numpy(),
                    best=b,
                    break_gaps=True,
                    linewidth=1.2 if markers else 1.4,
                    markersize=3,
                )
            )
        return out, notes


def metric_keys(runs: Sequence[Run]) -> list[tuple[str, list[str]]]:
    """(canonical metric, runs that have it) for every metric of any run, canonical ones first."""
    have: dict[str, list[str]] = {}
    for r in runs:
        cols = set(r.metrics)
        for col in r.metrics:
            key = canonical(col)
            if r.counts.get(col, 1) == 0 or col in NOT_CHARTED:
                continue
            if (
                col.endswith("/std") and col[: -len("/std")] in cols
            ):  # spread of another column (StyleGAN stats)
                continue
            lst = have.setdefault(key, [])
            if r.name not in lst:
                lst.append(r.name)
    order = list(ALIASES)
    return sorted(
        have.items(),
        key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), -len(kv[1]), kv[0]),
    )


def missing_note(what: str, have: Sequence[str], runs: Sequence[Run]) -> str | None:
    missing = [r.name for r in runs if r.name not in have]
    if not missing:
        return None
    return f"{what}: shown for {len(have)} of {len(runs)} runs; not logged by {', '.join(missing)}"
