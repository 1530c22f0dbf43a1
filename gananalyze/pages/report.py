"""The HTML report: one self-contained file a person reads top to bottom.

`build_report_context` turns a Run and its Diagnosis into plain data (section
dataclasses holding texts, numbers and PNG data URIs); the Jinja2 template
`templates/report.html` (autoescape on) turns that into HTML. No HTML is built
in Python, so every value that comes from the user's files (run name, metric
names, config values, warnings) is escaped by the template engine.

Each section is added only when the run has the data for it and carries one
sentence saying what the reader is looking at. Long series are plotted as
min/max envelopes (`plots.envelope`), never randomly sampled, so spikes stay
visible; smoothing is TensorBoard's EMA (`smoothing.tensorboard_ema`).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..aliases import LABELS
from ..aliases import canonical as canonical_of
from ..aliases import label as label_of
from ..analysis.evaluations import best_checkpoint
from ..analysis.findings import SEVERITY_RANK, Diagnosis, Finding
from ..errors import GanAnalyzeError
from ..run import SAMPLE_METRIC_META, Run
from ..textfmt import flatten_config, fmt_duration, fmt_num
from . import plots
from .html import render

SEVERITY_COLORS = {"error": "#d62728", "warning": "#ff8c00", "info": "#1f77b4"}
D_COUNTS = ("D_tp", "D_fp", "D_fn", "D_tn")
MAX_STRIP = 12
MAX_TAGS = 6
MAX_OTHER_PANELS = 24
MAX_LAYERS = 12
CHART_WIDTH = 10.8  # inches at plots.DPI: the template's content width (1056 px)
SAMPLE_LABELS = {
    "fid": "FID",
    "kid": "KID",
    "is": "Inception Score",
    "isc": "Inception Score",
    "inception_score": "Inception Score",
    "ppl": "PPL",
}


# ------------------------------------------------------------------ context types


@dataclass
class Figure:
    """One embedded chart: `src` is a PNG data URI; `id` the anchor findings link to."""

    id: str
    src: str
    alt: str
    caption: str = ""
    wide: bool = True


@dataclass
class Table:
    caption: str
    headers: list[str]
    rows: list[list[Any]]
    css: str = ""


@dataclass
class StripItem:
    src: str
    label: str
    note: str = ""


@dataclass
class StripGroup:
    """One film strip: the images of one tag (a trainer may save several kinds per step)."""

    tag: str
    items: list[StripItem]


@dataclass
class Confusion:
    """D's confusion counts summed over a window ending at `step` (real = positive)."""

    step: int
    label: str
    window: int
    tp: float
    fp: float
    fn: float
    tn: float

    def frac(self, v: float) -> float:
        total = self.tp + self.fp + self.fn + self.tn
        return v / total if total else 0.0

    @property
    def accuracy(self) -> float:
        return self.frac(self.tp + self.tn)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass
class Section:
    id: str
    title: str
    lead: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    strips: list[StripGroup] = field(default_factory=list)
    confusions: list[Confusion] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)  # plain bullet list (warnings)


@dataclass
class FindingView:
    """A finding as the summary shows it, with links to the charts that show it."""

    rule: str
    severity: str
    title: str
    message: str
    action: str
    range: str
    numbers: list[tuple[str, str]]
    links: list[tuple[str, str]]  # (anchor id, label)


# ------------------------------------------------------------------ small helpers


def slug(text: str) -> str:
    """An HTML id fragment from any text (metric names can hold anything)."""
    s = re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-")
    return s or "x"


def fmt_value(v: Any, limit: int = 300) -> str:
    """A config value as text (lists/dicts as JSON), cut at `limit` characters."""
    if isinstance(v, (dict, list, tuple)):
        s = json.dumps(v, default=str)
    elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        s = repr(v) if isinstance(v, float) else str(v)
    else:
        s = str(v)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def step_range(f: Finding) -> str:
    if f.start_step is None and f.end_step is None:
        return ""
    if f.end_step is None or f.end_step == f.start_step:
        return f"step {fmt_num(f.start_step)}"
    if f.start_step is None:
        return f"up to step {fmt_num(f.end_step)}"
    return f"steps {fmt_num(f.start_step)}–{fmt_num(f.end_step)}"


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's EMA (smoothing.tensorboard_ema); identity for weight 0."""
    from ..analysis.smoothing import tensorboard_ema

    if weight <= 0 or values.size == 0:
        return values
    return tensorboard_ema(values, weight)


# ------------------------------------------------------------------ equilibrium values


def equilibrium(run: Run, diagnosis: Diagnosis | None = None) -> dict[str, float]:
    """{"D_loss": v, "G_loss": v} where the losses sit at equilibrium; {} for Wasserstein.

    Taken from the diagnosis (rules.equilibrium: loss type, and whether the D
    loss sums or averages its real and fake terms), so that the lines on the
    charts are the values the rules compared against.
    """
    eq = (diagnosis.context or {}).get("equilibrium") if diagnosis is not None else None
    if not eq:
        from ..analysis.rules import equilibrium as rules_equilibrium

        eq = rules_equilibrium(
            run, diagnosis.thresholds if diagnosis is not None and diagnosis.thresholds else None
        ).to_dict()
    return {k: float(eq[k]) for k in ("D_loss", "G_loss") if eq.get(k) is not None}


def equilibrium_loss(run: Run, diagnosis: Diagnosis | None = None) -> str:
    eq = (diagnosis.context or {}).get("equilibrium") if diagnosis is not None else None
    return str((eq or {}).get("loss") or run.loss or "unknown")


# ------------------------------------------------------------------ the builder


class _Builder:
    """Builds the sections of one report; keeps track of which chart shows which metric."""

    def __init__(self, run: Run, diagnosis: Diagnosis, smoothing: float, bins: int = 1500):
        self.run = run
        self.diag = diagnosis
        self.w = float(smoothing)
        self.bins = bins
        self.chart_for: dict[str, str] = {}  # metric name (column or canonical) -> figure id
        self.used: set[str] = set()  # scalar columns shown by a dedicated chart
        self.best = best_checkpoint(run, (diagnosis.context or {}).get("select_metric") or "fid")
        self.diversity: pd.DataFrame | None = None  # filled by the samples section

    # ---------------------------------------------------------- shared pieces
    def col(self, canonical: str) -> str | None:
        c = self.run.column(canonical)
        if c is None:
            return None
        return c if self.run.counts.get(c, 1) and self.run.scalars[c].notna().any() else None

    def arrays(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        s = self.run.scalars
        v = s[col].to_numpy(dtype=np.float64)
        keep = ~np.isnan(v)
        return s["step"].to_numpy()[keep], v[keep]

    def spans_for(self, metrics: list[str]) -> list[plots.Span]:
        names = set(metrics) | {canonical_of(m) for m in metrics}
        out = []
        for f in self.diag.findings:
            if f.severity == "info" or f.start_step is None:
                continue
            fm = {m for m in f.metrics if m} | {canonical_of(m) for m in f.metrics if m}
            if fm & names:
                end = f.end_step if f.end_step is not None else f.start_step
                out.append(
                    plots.Span(
                        float(f.start_step),
                        float(end),
                        f.title,
                        SEVERITY_COLORS.get(f.severity, "#d62728"),
                    )
                )
        return out

    def best_vline(self) -> list[plots.VLine]:
        if not self.best:
            return []
        return [
            plots.VLine(
                self.best["step"],
                f"best checkpoint ({label_of(canonical_of(self.best['metric']))} {fmt_num(self.best['value'])})",
            )
        ]

    def curve(self, col: str, label: str | None = None, color: str | None = None) -> plots.Curve:
        x, v = self.arrays(col)
        sm = smooth(v, self.w) if self.w > 0 else None
        return plots.Curve(label or col, x, v, smoothed=sm, color=color)

    def nonfinite_steps(self, cols: list[str]) -> np.ndarray:
        """Steps where any of `cols` was logged as NaN/Inf (they cannot be drawn as values)."""
        nf = self.run.nonfinite
        if nf is None or not len(nf):
            return np.array([], dtype=np.int64)
        return nf.loc[nf["metric"].isin(cols), "step"].to_numpy()

    def register(self, fig_id: str, section: str, metrics: list[str]) -> None:
        """Note that chart `fig_id` (in `section`) shows `metrics`: findings naming them link there."""
        for m in metrics:
            self.chart_for.setdefault(m, fig_id)
            self.chart_for.setdefault(canonical_of(m), fig_id)

    def figure(
        self, fig: Any, fig_id: str, alt: str, caption: str = "", wide: bool = True
    ) -> Figure:
        return Figure(fig_id, plots.fig_to_data_uri(fig), alt, caption, wide)

    # ---------------------------------------------------------- sections
    def losses(self) -> Section | None:
        eq = equilibrium(self.run, self.diag)
        loss = equilibrium_loss(self.run, self.diag)
        figs = []
        for canon in ("G_loss", "D_loss"):
            col = self.col(canon)
            if col is None:
                continue
            self.used.add(col)
            hl = (
                [plots.HLine(eq[canon], f"equilibrium ({loss}) {eq[canon]:.3g}")]
                if canon in eq
                else []
            )
            fig = plots.line_chart(
                [
                    self.curve(
                        col,
                        f"{label_of(canon)} (smoothed)",
                        plots.PALETTE[0] if canon == "G_loss" else plots.PALETTE[1],
                    )
                ],
                title=f"{label_of(canon)}  ·  column {col}" if col != canon else label_of(canon),
                ylabel="loss",
                hlines=hl,
                vlines=self.best_vline(),
                spans=self.spans_for([col]),
                bins=self.bins,
                width=CHART_WIDTH,
                marks=self.nonfinite_steps([col]),
            )
            fid = f"chart-{slug(canon)}"
            figs.append(self.figure(fig, fid, f"{label_of(canon)} over training"))
            self.register(fid, "losses", [col, canon])
        if not figs:
            return None
        if loss == "wasserstein":
            eqs = "a Wasserstein loss has no fixed equilibrium value, so only trends and the gap between the critic's scores matter"
        elif eq:
            eqs = f"the dashed line is where the {loss} loss sits when G and D are balanced (D loss {fmt_num(eq.get('D_loss'))}, G loss {fmt_num(eq.get('G_loss'))})"
        else:
            eqs = "the loss type is unknown, so no equilibrium line is drawn"
        lead = f"Generator and discriminator losses per step: the pale band is the raw value's min–max per bin, the line TensorBoard's EMA (weight {self.w:g}); {eqs}."
        return Section("losses", "Losses", lead, figures=figs)

    def discriminator(self) -> Section | None:
        cols = [(c, self.col(c)) for c in ("D_x", "D_G_z_before", "D_G_z_after")]
        cols = [(c, col) for c, col in cols if col]
        logits = [(c, self.col(c)) for c in ("D_x_logit", "D_G_z_logit")]
        logits = [(c, col) for c, col in logits if col]
        if not cols and not logits:
            return None
        figs, leads = [], []
        spans = self.spans_for(
            [col for _, col in cols + logits] + ["D_x", "D_G_z", "D_G_z_before", "D_G_z_after"]
        )
        if cols:
            curves = [
                self.curve(col, label_of(c), plots.PALETTE[i]) for i, (c, col) in enumerate(cols)
            ]
            allv = np.concatenate([np.asarray(cv.values) for cv in curves])
            allv = allv[np.isfinite(allv)]
            probs = bool(allv.size) and allv.min() >= -1e-6 and allv.max() <= 1 + 1e-6
            fig = plots.line_chart(
                curves,
                title="D(x) and D(G(z))",
                ylabel="D output" if probs else "D output (not in [0, 1])",
                hlines=[plots.HLine(0.5, "0.5 (D cannot tell)")] if probs else [],
                vlines=self.best_vline(),
                spans=spans,
                ylim=(-0.02, 1.02) if probs else None,
                bins=self.bins,
                width=CHART_WIDTH,
            )
            figs.append(self.figure(fig, "chart-D-outputs", "D(x) and D(G(z)) over training"))
            if probs:
                leads.append(
                    "What D outputs on real images, D(x), and on generated ones, D(G(z)), before and after D's update; at equilibrium both sit near the 0.5 line, D(x) near 1 with D(G(z)) near 0 means D wins"
                )
            else:
                leads.append(
                    "D's outputs on real and generated images; they leave [0, 1], so they are scores rather than probabilities and the 0.5 line does not apply"
                )
        elif logits:
            # only raw scores: show what the rules read, the sigmoid of the logged mean score
            curves = []
            for i, (_c, col) in enumerate(logits):
                x, v = self.arrays(col)
                with np.errstate(over="ignore"):
                    p = 1.0 / (1.0 + np.exp(-v))
                curves.append(
                    plots.Curve(
                        f"sigmoid({col})",
                        x,
                        p,
                        smoothed=smooth(p, self.w) if self.w > 0 else None,
                        color=plots.PALETTE[i],
                    )
                )
            fig = plots.line_chart(
                curves,
                title="D(x) and D(G(z)) as sigmoid of D's mean score",
                ylabel="sigmoid(score)",
                hlines=[plots.HLine(0.5, "0.5 (D cannot tell)")],
                vlines=self.best_vline(),
                spans=spans,
                ylim=(-0.02, 1.02),
                bins=self.bins,
                width=CHART_WIDTH,
            )
            figs.append(self.figure(fig, "chart-D-outputs", "sigmoid of D's scores over training"))
            leads.append(
                "D logged raw scores (logits), so the first chart shows the sigmoid of the mean score on real and generated images, the probability the rule checks read; 0.5 means D cannot tell them apart"
            )
        for c, col in cols + ([] if cols else logits):
            self.used.add(col)
            self.register("chart-D-outputs", "discriminator", [col, c])
        self.register(
            "chart-D-outputs", "discriminator", ["D_x", "D_G_z", "D_x_prob", "D_G_z_prob"]
        )  # the rules' names
        if logits:
            curves = [
                self.curve(
                    col,
                    f"{col} (D score on {'real' if c == 'D_x_logit' else 'generated'})",
                    plots.PALETTE[i],
                )
                for i, (c, col) in enumerate(logits)
            ]
            fig = plots.line_chart(
                curves,
                title="D's raw scores (logits)",
                ylabel="score",
                hlines=[plots.HLine(0.0, "0 (D cannot tell)")],
                vlines=self.best_vline(),
                spans=spans,
                bins=self.bins,
                width=CHART_WIDTH,
            )
            figs.append(self.figure(fig, "chart-D-scores", "D's raw scores over training"))
            for c, col in logits:
                self.used.add(col)
                self.register("chart-D-scores", "discriminator", [col, c])
            leads.append(
                "the raw scores are drawn as logged, with 0 where D cannot tell real from generated"
            )
        text = "; ".join(leads)
        return Section(
            "discriminator",
            "Discriminator outputs",
            text[:1].upper() + text[1:] + ".",
            figures=figs,
        )

    def d_accuracy(self) -> Section | None:
        acc = self.col("D_acc")
        counts = {c: self.run.column(c) for c in D_COUNTS}
        have_counts = all(counts.values())
        if not acc and not have_counts:
            return None
        sec = Section("d-accuracy", "Discriminator accuracy", "")
        leads = []
        if acc:
            self.used.add(acc)
            fig = plots.line_chart(
                [self.curve(acc, "D accuracy", plots.PALETTE[2])],
                title="D accuracy (real and fake batches, threshold 0.5)",
                ylabel="accuracy",
                hlines=[plots.HLine(0.5, "0.5 (chance)")],
                vlines=self.best_vline(),
                spans=self.spans_for([acc, "D_acc"]),
                ylim=(-0.02, 1.02),
                bins=self.bins,
                width=CHART_WIDTH,
            )
            sec.figures.append(self.figure(fig, "chart-D_acc", "D accuracy over training"))
            self.register("chart-D_acc", "d-accuracy", [acc, "D_acc"])
            leads.append(
                "how often D classifies real and generated images correctly (0.5 is chance, 1.0 means G fools it never)"
            )
        if have_counts:
            for c in counts.values():
                self.used.add(c)
            sc = self.run.scalars
            mask = sc[list(counts.values())].notna().all(axis=1).to_numpy()
            steps = sc["step"].to_numpy()[mask]
            tp, fp, fn, tn = (sc[counts[c]].to_numpy(dtype=np.float64)[mask] for c in D_COUNTS)
            if steps.size:
                with np.errstate(invalid="ignore", divide="ignore"):
                    prec = tp / (tp + fp)
                    rec = tp / (tp + fn)
                curves = [
                    plots.Curve(
                        "precision TP/(TP+FP)",
                        steps,
                        prec,
                        smoothed=smooth(prec, self.w) if self.w > 0 else None,
                        color=plots.PALETTE[0],
                    ),
                    plots.Curve(
                        "recall TP/(TP+FN)",
                        steps,
                        rec,
                        smoothed=smooth(rec, self.w) if self.w > 0 else None,
                        color=plots.PALETTE[3],
                    ),
                ]
                fig = plots.line_chart(
                    curves,
                    title="D precision and recall (real = positive class)",
                    ylabel="",
                    vlines=self.best_vline(),
                    spans=self.spans_for(list(D_COUNTS)),
                    ylim=(-0.02, 1.02),
                    bins=self.bins,
                    width=CHART_WIDTH,
                )
                sec.figures.append(
                    self.figure(
                        fig, "chart-D-precision-recall", "D precision and recall over training"
                    )
                )
                self.register(
                    "chart-D-precision-recall", "d-accuracy", list(D_COUNTS) + list(counts.values())
                )
                sec.confusions = self._confusions(steps, tp, fp, fn, tn)
                leads.append(
                    "the confusion matrices count D's decisions at a few chosen steps (rows: what the image was; columns: what D said), and precision/recall track D's calls on real images over time"
                )
        text = "; ".join(leads)
        sec.lead = text[:1].upper() + text[1:] + "."
        return sec

    def _confusions(self, steps, tp, fp, fn, tn) -> list[Confusion]:
        n = steps.size
        window = max(1, n // 100)
        picks: list[tuple[int, str]] = [(0, "start"), (n // 2, "middle"), (n - 1, "end")]
        for f in self.diag.findings:
            if f.severity != "info" and f.start_step is not None:
                fm = {canonical_of(m) for m in f.metrics if m}
                if (
                    fm & {"D_x", "D_G_z_before", "D_G_z_after", "D_acc", "D_loss", *D_COUNTS}
                    or not f.metrics
                ):
                    i = int(np.searchsorted(steps, f.start_step))
                    picks.append((min(i + window - 1, n - 1), f"{f.title} starts"))
        out, seen = [], set()
        for i, label in sorted(picks, key=lambda p: p[0]):
            if i in seen:
                continue
            seen.add(i)
            lo = max(0, i - window + 1)
            sl = slice(lo, i + 1)
            out.append(
                Confusion(
                    int(steps[i]),
                    label,
                    i + 1 - lo,
                    float(np.nansum(tp[sl])),
                    float(np.nansum(fp[sl])),
                    float(np.nansum(fn[sl])),
                    float(np.nansum(tn[sl])),
                )
            )
        return out[:6]

    def gradients(self) -> Section | None:
        cols = [(c, self.col(c)) for c in ("G_grad_norm", "D_grad_norm")]
        cols = [(c, col) for c, col in cols if col]
        if not cols:
            return None
        curves = [self.curve(col, label_of(c), plots.PALETTE[i]) for i, (c, col) in enumerate(cols)]
        positive = all((np.asarray(cv.values)[np.isfinite(cv.values)] > 0).any() for cv in curves)
        fig = plots.line_chart(
            curves,
            title="Gradient norms",
            ylabel="L2 norm (log scale)" if positive else "L2 norm",
            logy=positive,
            vlines=self.best_vline(),
            spans=self.spans_for([col for _, col in cols]),
            bins=self.bins,
            width=CHART_WIDTH,
            marks=self.nonfinite_steps([col for _, col in cols]),
        )
        for c, col in cols:
            self.used.add(col)
            self.register("chart-grad-norms", "gradients", [col, c])
        lead = "The L2 norm of G's and D's gradients on a log scale: a norm falling by orders of magnitude means vanishing gradients (G learns nothing), one shooting up means the run is diverging."
        return Section(
            "gradients",
            "Gradient norms",
            lead,
            figures=[self.figure(fig, "chart-grad-norms", "gradient norms over training")],
        )

    def histograms(self) -> Section | None:
        from ..store import HIST_QUANTILES

        h = self.run.histograms
        if h is None or not len(h) or not set(HIST_QUANTILES) <= set(h.columns):
            return None
        figs = []
        kinds = list(dict.fromkeys(h["kind"]))
        kinds.sort(key=lambda k: {"weight": 0, "grad": 1}.get(k, 2))
        for kind in kinds:
            g = h[h["kind"] == kind]
            rows = list(dict.fromkeys(zip(g["model"], g["param"], strict=True)))
            labels = [f"{m} · {p}" for m, p in rows]
            steps = np.sort(g["step"].unique())
            # heat map: rows = layers, columns = steps, colour = log10 of the central 68% spread;
            # a one-element tensor (a single bias) has no spread and is left blank.
            spread = (g[HIST_QUANTILES[6]] - g[HIST_QUANTILES[2]]).abs().to_numpy(dtype=np.float64)
            with np.errstate(divide="ignore"):
                val = np.where(spread > 0, np.log10(spread), np.nan)
            piv = _pivot(
                list(zip(g["model"], g["param"], strict=True)),
                g["step"].to_numpy(),
                val,
                rows,
                steps,
            )
            color = plots.PALETTE[0] if kind == "weight" else plots.PALETTE[3]
            with plots.styled():
                fig, axes = plots.new_figure(width=10.8, height=min(1.0 + 0.2 * len(rows), 6.0))
                plots.heatmap(
                    axes[0][0], piv, labels, steps, colorbar_label="log10 spread", fig=fig
                )
                axes[0][0].set_title(
                    f"{kind}s: spread (15.87–84.13 percentile) per layer", loc="left"
                )
                axes[0][0].set_xlabel("step")
            fid = f"chart-hist-{slug(kind)}"
            figs.append(self.figure(fig, fid, f"{kind} spread per layer"))
            shown = []
            for model in dict.fromkeys(g["model"]):
                shown += [r for r in rows if r[0] == model][:MAX_LAYERS]
            n = len(shown)
            ncols = min(6, n)
            nrows = (n + ncols - 1) // ncols
            with plots.styled():
                fig, axes = plots.new_figure(
                    nrows, ncols, width=1.8 * ncols, height=1.5 * nrows, layout=None
                )
                groups = {r: d for r, d in g.groupby(["model", "param"], sort=False)}
                for i, ax in enumerate(axes.reshape(-1)):
                    if i >= n:
                        ax.set_visible(False)
                        continue
                    gp = groups[shown[i]].sort_values("step")
                    plots.quantile_bands(
                        ax,
                        gp["step"].to_numpy(),
                        gp[list(HIST_QUANTILES)].to_numpy(dtype=np.float64),
                        color=color,
                    )
                    ax.set_title(f"{shown[i][0]} · {shown[i][1]}", loc="left", fontsize=7.5)
                    ax.tick_params(labelsize=6.5)
            cap = f"{kind} distributions per layer" + (
                f" (the first {MAX_LAYERS} layers of each model)" if n < len(rows) else ""
            )
            figs.append(self.figure(fig, f"chart-dist-{slug(kind)}", cap, caption=cap))
        lead = "Weights and gradients per layer over time, like TensorBoard's distribution dashboard: each heat map row is a layer coloured by how widely its values spread (blank: a single value), and each small chart shades the 0–100, 7–93, 16–84 and 31–69 percentile bands around the median line."
        return Section("histograms", "Weight and gradient distributions", lead, figures=figs)

    def sample_metrics(self) -> Section | None:
        sm = self.run.sample_metrics
        if sm is None or not len(sm) or "step" not in sm.columns:
            return None
        cols = [
            c
            for c in sm.columns
            if c not in SAMPLE_METRIC_META
            and not c.endswith("_std")
            and pd.api.types.is_numeric_dtype(sm[c])
            and sm[c].notna().any()
        ]
        if not cols:
            return None
        groups = (
            list(sm.groupby("features", sort=False))
            if "features" in sm.columns and sm["features"].nunique() > 1
            else [(None, sm)]
        )
        panels = []
        for c in cols:
            curves = []
            for i, (feat, g) in enumerate(groups):
                g = g.dropna(subset=[c]).sort_values("step")
                if len(g):
                    curves.append(
                        plots.Curve(
                            str(feat) if feat is not None else c,
                            g["step"].to_numpy(),
                            g[c].to_numpy(dtype=np.float64),
                            color=plots.PALETTE[i],
                            band=False,
                            markers=True,
                        )
                    )
            if curves:
                panels.append(
                    plots.Panel(
                        SAMPLE_LABELS.get(
                            c.lower(), label_of(canonical_of(c)) if canonical_of(c) in LABELS else c
                        ),
                        curves,
                    )
                )
        fig = plots.small_multiples(
            panels,
            ncols=min(3, len(panels)),
            panel_width=CHART_WIDTH / min(3, len(panels)),
            panel_height=2.4 if len(panels) > 1 else 3.0,
            vlines=self.best_vline(),
            bins=10_000,
        )
        for c in cols:
            self.register("chart-sample-metrics", "sample-metrics", [c])
        self.register(
            "chart-sample-metrics",
            "sample-metrics",
            ["fid", "kid", "is", "precision", "recall", "density", "coverage"],
        )
        if self.best:
            b = self.best
            better = "lowest" if b["lower_is_better"] else "highest"
            lead = f"Sample-quality metrics computed from generated images at each evaluated checkpoint; the dotted line marks the best checkpoint by {b['metric']} ({better}: {fmt_num(b['value'])} at step {fmt_num(b['step'])})."
        else:
            lead = "Sample-quality metrics computed from generated images at each evaluated checkpoint."
        if groups[0][0] is not None:
            lead += " One line per feature extractor."
        return Section(
            "sample-metrics",
            "Sample quality (FID, KID, IS, precision/recall)",
            lead,
            figures=[self.figure(fig, "chart-sample-metrics", "sample metrics per checkpoint")],
        )

    def samples(self) -> Section | None:
        grids = self.run.samples
        if not grids:
            return None
        by_tag: dict[str, list] = {}
        for g in grids:
            by_tag.setdefault(str(g.tag), []).append(g)
        tags = list(by_tag)[:MAX_TAGS]
        groups, problems, total, shown_n = [], [], 0, 0
        for tag in tags:
            gs = sorted(by_tag[tag], key=lambda g: g.step)
            total += len(gs)
            chosen = _pick_evenly(list(range(len(gs))), MAX_STRIP)
            if self.best:
                near = int(np.argmin([abs(g.step - self.best["step"]) for g in gs]))
                if near not in chosen:
                    chosen = sorted(set(chosen[:-2] + [near, chosen[-1]]))
            items = []
            for i in chosen:
                g = gs[i]
                try:
                    png = _thumbnail(g.read_bytes())
                except Exception as e:  # an unreadable image should not sink the whole report
                    problems.append(
                        f"sample image at step {g.step} ({tag}): unreadable ({type(e).__name__})"
                    )
                    continue
                note = "best" if self.best and g.step == self.best["step"] else ""
                items.append(StripItem(plots.png_data_uri(png), f"step {fmt_num(g.step)}", note))
            if items:
                groups.append(StripGroup(tag if len(by_tag) > 1 else "", items))
                shown_n += len(items)
        if len(by_tag) > len(tags):
            problems.append(
                f"{len(by_tag) - len(tags)} more image kinds not shown: {', '.join(list(by_tag)[len(tags) :][:10])}"
            )
        if not groups:
            return None
        figs = self._diversity()
        self.register(figs[0].id if figs else "samples", "samples", ["samples", "diversity"])
        shown = f"{shown_n} of {total}" if total > shown_n else f"all {total}"
        lead = f"The same fixed noise fed through G as training went on ({shown} images, left to right, in reading order); healthy runs sharpen while staying varied, mode collapse shows as the tiles turning into copies of each other."
        if figs:
            lead += " The chart under the grids measures that variety: the mean pairwise distance between the samples of each grid."
        return Section(
            "samples",
            "Fixed-noise samples over training",
            lead,
            figures=figs,
            strips=groups,
            notes=problems,
        )

    def _diversity(self) -> list[Figure]:
        from ..analysis.diversity import real_diversity, sample_diversity

        df = sample_diversity(self.run)
        df = df[np.isfinite(df["diversity"].to_numpy(dtype=np.float64))]
        self.diversity = df
        if len(df) < 2:
            return []
        hl = []
        real = real_diversity(self.run, side=int(df["side"].iloc[0]))
        if real is not None and np.isfinite(real):
            hl = [
                plots.HLine(real, f"real data {real:.3g}", color="#444444"),
                plots.HLine(real / 2, "half of real", color="#999999", linestyle=":"),
            ]
        curve = plots.Curve(
            "diversity of the fixed-noise grid",
            df["step"].to_numpy(),
            df["diversity"].to_numpy(dtype=np.float64),
            color=plots.PALETTE[4],
            band=False,
            markers=True,
        )
        fig = plots.line_chart(
            [curve],
            title="Sample diversity (mean pairwise RMS pixel distance)",
            ylabel="diversity",
            hlines=hl,
            vlines=self.best_vline(),
            spans=self.spans_for(["samples", "diversity"]),
            width=CHART_WIDTH,
            height=2.6,
        )
        ax_lo = 0.0
        fig.axes[0].set_ylim(bottom=ax_lo)
        return [
            self.figure(
                fig, "chart-diversity", "diversity of the fixed-noise samples over training"
            )
        ]

    def tsne(self, real: str | None) -> Section | None:
        from ..analysis import tsne as tsne_mod

        why = tsne_mod.unavailable_reason(self.run, real)
        if why:
            return None
        ckpts = [c for c in self.run.checkpoints if c.kind == "native"]
        last = ckpts[-1]
        chosen = {}
        what = "the last checkpoint"
        if self.best:
            b = min(ckpts, key=lambda c: abs(c.step - self.best["step"]))
            if b.step != last.step:
                chosen[b.step] = (b, f"best checkpoint, step {fmt_num(b.step)}")
                what = f"the best (by {self.best['metric']}) and the last checkpoint"
        elif self.diversity is not None and len(self.diversity):
            # no sample metric to say which checkpoint is best: use the one whose
            # fixed-noise samples were most diverse (the opposite of collapse)
            by_step = dict(
                zip(self.diversity["step"].astype(int), self.diversity["diversity"], strict=True)
            )
            cands = [c for c in ckpts if c.step in by_step]
            if cands:
                b = max(cands, key=lambda c: by_step[c.step])
                if b.step != last.step:
                    chosen[b.step] = (b, f"most diverse samples, step {fmt_num(b.step)}")
                    what = "the checkpoint with the most diverse fixed-noise samples (no sample metric names a best one) and the last checkpoint"
        chosen[last.step] = (last, f"last checkpoint, step {fmt_num(last.step)}")
        try:
            res = tsne_mod.embed(self.run, [c for c, _ in chosen.values()], real)
            fig = tsne_mod.tsne_figure(res, {s: lab for s, (_, lab) in chosen.items()})
        except GanAnalyzeError as e:
            return Section(
                "tsne",
                "t-SNE of real vs generated samples",
                "t-SNE could not be computed for this run.",
                notes=[str(e)],
            )
        self.register("chart-tsne", "tsne", ["tsne"])
        lead = f"Real images ({res.source}) and images generated at {what} embedded together by t-SNE ({len(res.real)} of each, {res.dims} pixel dimensions): generated points spread over the whole real cloud mean good coverage; tight clumps mean mode collapse."
        return Section(
            "tsne",
            "t-SNE of real vs generated samples",
            lead,
            figures=[
                self.figure(
                    fig, "chart-tsne", "t-SNE of real and generated samples", wide=len(chosen) > 1
                )
            ],
        )

    def other_metrics(self) -> Section | None:
        cols = [
            c
            for c in self.run.metrics
            if c not in self.used and c not in D_COUNTS and self.run.scalars[c].notna().any()
        ]
        if not cols:
            return None
        figs = []
        for k in range(0, len(cols), MAX_OTHER_PANELS):
            chunk = cols[k : k + MAX_OTHER_PANELS]
            panels = []
            for c in chunk:
                x, v = self.arrays(c)
                finite = v[np.isfinite(v)]
                sparse = len(v) <= 60
                logy = (
                    bool(finite.size)
                    and finite.min() > 0
                    and finite.max() / max(finite.min(), 1e-300) > 1e3
                )
                panels.append(
                    plots.Panel(
                        c,
                        [
                            plots.Curve(
                                c,
                                x,
                                v,
                                smoothed=None if sparse or self.w <= 0 else smooth(v, self.w),
                                color=plots.PALETTE[(k + len(panels)) % len(plots.PALETTE)],
                                markers=sparse,
                            )
                        ],
                        logy=logy,
                    )
                )
            fig = plots.small_multiples(
                panels,
                ncols=3,
                panel_width=CHART_WIDTH / 3,
                panel_height=2.1,
                vlines=self.best_vline(),
                bins=400,
            )
            fid = f"chart-other-{k // MAX_OTHER_PANELS}"
            figs.append(self.figure(fig, fid, "other logged metrics"))
            self.register(fid, "other-metrics", chunk)
        lead = f"Every other logged metric ({len(cols)}), one small chart each, raw band and smoothed line as above."
        return Section("other-metrics", "Other metrics", lead, figures=figs)

    def config(self) -> Section | None:
        rows = [[k, fmt_value(v)] for k, v in flatten_config(self.run.config).items()]
        gen = self.run.generator
        if isinstance(gen, dict) and gen:
            rows += [[f"generator.{k}", fmt_value(v)] for k, v in flatten_config(gen).items()]
        if not rows:
            return None
        return Section(
            "config",
            "Configuration",
            "The hyper-parameters and settings the run recorded, as written in its files.",
            tables=[Table("", ["key", "value"], rows, "config")],
        )

    def warnings(self) -> Section | None:
        run = self.run
        items = [str(w) for w in run.warnings]
        tables = []
        if run.flags:
            tables.append(
                Table(
                    "Implausible values",
                    ["file", "metric", "step", "value", "why"],
                    [
                        [
                            f.file,
                            f.metric,
                            "" if f.step is None else fmt_num(f.step),
                            fmt_num(f.value),
                            f.reason,
                        ]
                        for f in run.flags
                    ],
                    "flags",
                )
            )
        nf = run.nonfinite
        if nf is not None and len(nf):
            g = nf.groupby("metric", sort=False).agg(
                count=("step", "size"), first=("step", "min"), last=("step", "max")
            )
            tables.append(
                Table(
                    "NaN / Inf values",
                    ["metric", "count", "first step", "last step"],
                    [
                        [
                            m,
                            fmt_num(int(r["count"])),
                            fmt_num(int(r["first"])),
                            fmt_num(int(r["last"])),
                        ]
                        for m, r in g.iterrows()
                    ],
                    "nonfinite",
                )
            )
        skipped = [f"{rule}: {why}" for rule, why in self.diag.skipped]
        if not items and not tables and not skipped:
            return None
        lead = "Everything the loaders found odd while reading the run (kept, not hidden), values that cannot be right, and the checks that could not run for lack of data."
        sec = Section("warnings", "Warnings and data problems", lead, tables=tables, items=items)
        if skipped:
            sec.tables.append(
                Table(
                    "Checks not run",
                    ["check", "why"],
                    [[r, w] for r, w in self.diag.skipped],
                    "skipped",
                )
            )
        return sec

    # ---------------------------------------------------------- summary
    def finding_views(self) -> list[FindingView]:
        out = []
        for f in sorted(self.diag.findings, key=lambda f: -SEVERITY_RANK.get(f.severity, 0)):
            links, seen = [], set()
            for m in [m for m in f.metrics or [] if m]:
                fid = self.chart_for.get(m) or self.chart_for.get(canonical_of(m))
                if fid and fid not in seen:
                    seen.add(fid)
                    links.append((fid, label_of(canonical_of(m))))
            nums = [
                (
                    str(k),
                    fmt_num(v) if not isinstance(v, (list, dict, tuple)) else fmt_value(v, 120),
                )
                for k, v in (f.numbers or {}).items()
            ]
            out.append(
                FindingView(
                    f.rule, f.severity, f.title, f.message, f.action, step_range(f), nums, links
                )
            )
        return out

    def key_numbers(self) -> list[tuple[str, str]]:
        run, sc = self.run, self.run.scalars
        out: list[tuple[str, str]] = []
        if len(sc):
            out.append(
                (
                    "steps logged",
                    f"{fmt_num(len(sc))} ({fmt_num(int(sc['step'].iloc[0]))} – {fmt_num(int(sc['step'].iloc[-1]))})",
                )
            )
        if "wall_time" in sc.columns and sc["wall_time"].notna().any():
            wt = sc["wall_time"].dropna()
            out.append(
                ("wall-clock span", fmt_duration(float(wt.max() - wt.min()), missing="unknown"))
            )
        out.append(("loss type", run.loss or "unknown"))
        for canon in ("G_loss", "D_loss", "D_x", "D_G_z_before"):
            col = self.col(canon)
            if col:
                _, v = self.arrays(col)
                v = v[np.isfinite(v)]
                if v.size:
                    tail = v[-max(1, v.size // 10) :]
                    out.append((f"{label_of(canon)}, last 10%", fmt_num(float(np.mean(tail)))))
        if self.best:
            b = self.best
            out.append(
                (f"best {b['metric']}", f"{fmt_num(b['value'])} at step {fmt_num(b['step'])}")
            )
            if b["last_step"] != b["step"]:
                out.append(
                    (
                        f"last {b['metric']}",
                        f"{fmt_num(b['last_value'])} at step {fmt_num(b['last_step'])}",
                    )
                )
        if run.checkpoints:
            out.append(
                (
                    "checkpoints",
                    f"{len(run.checkpoints)} (last at step {fmt_num(run.checkpoints[-1].step)})",
                )
            )
        if run.samples:
            out.append(("sample grids", str(len(run.samples))))
        if len(run.nonfinite):
            out.append(("NaN/Inf values", fmt_num(len(run.nonfinite))))
        return out


def _pivot(
    key: list[tuple[str, str]],
    steps: np.ndarray,
    val: np.ndarray,
    rows: list[tuple[str, str]],
    cols: np.ndarray,
) -> np.ndarray:
    """(rows x cols) matrix of `val` by (model, param) row key and step column; NaN where missing."""
    row_index = {r: i for i, r in enumerate(rows)}
    ri = np.fromiter((row_index[r] for r in key), dtype=np.int64, count=len(val))
    ci = np.searchsorted(cols, steps)
    out = np.full((len(rows), len(cols)), np.nan)
    out[ri, ci] = val
    return out


def _pick_evenly(items: list[int], k: int) -> list[int]:
    if len(items) <= k:
        return items
    idx = np.unique(np.round(np.linspace(0, len(items) - 1, k)).astype(int))
    return [items[i] for i in idx]


def _thumbnail(data: bytes, min_width: int = 200, max_width: int = 360) -> bytes:
    """Tiny grids upscaled (nearest neighbour, crisp pixels), big ones shrunk to keep the HTML small."""
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(data))
    if img.size[0] < min_width:
        return plots.upscale_png(data, min_width=min_width, max_factor=32)
    if img.size[0] > max_width:
        img = img.convert("RGB")
        img.thumbnail((max_width, max_width * 4), Image.LANCZOS)
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return buf.getvalue()
    if img.format != "PNG":
        buf = io.BytesIO()
        img.convert("RGB").save(buf, format="PNG")
        return buf.getvalue()
    return data


def _diagnose(run: Run, rules_config: str | Path | None = None) -> Diagnosis:
    from ..analysis.rules import diagnose, load_thresholds

    thresholds = load_thresholds(rules_config) if rules_config else None
    return diagnose(run, thresholds=thresholds)


def _severity_class(sev: str | None) -> str:
    return {"error": "error", "warning": "warning", "info": "ok", None: "ok"}.get(sev, "ok")


def build_report_context(
    run: Run,
    diagnosis: Diagnosis | None = None,
    smoothing: float = 0.6,
    tsne: bool = True,
    real: str | None = None,
    rules_config: str | Path | None = None,
) -> dict[str, Any]:
    """Everything the template needs, as plain data (no HTML)."""
    if not (0.0 <= float(smoothing) <= 0.999):
        raise GanAnalyzeError(f"smoothing weight must be between 0 and 0.999, not {smoothing!r}")
    diag = diagnosis if diagnosis is not None else _diagnose(run, rules_config)
    b = _Builder(run, diag, smoothing)
    sections: list[Section] = []
    for name in (
        "losses",
        "discriminator",
        "d_accuracy",
        "gradients",
        "histograms",
        "sample_metrics",
        "samples",
    ):
        s = getattr(b, name)()
        if s is not None:
            sections.append(s)
    if tsne:
        s = b.tsne(real)
        if s is not None:
            sections.append(s)
    for name in ("other_metrics", "config", "warnings"):
        s = getattr(b, name)()
        if s is not None:
            sections.append(s)
    worst = diag.worst()
    findings = b.finding_views()
    return {
        "run": {
            "name": run.name,
            "path": str(run.path),
            "format": run.format,
            "loss": run.loss or "unknown",
            "created": run.created or "",
        },
        "verdict": diag.verdict,
        "verdict_class": _severity_class(worst),
        "worst": worst or "none",
        "counts": {
            s: sum(1 for f in diag.findings if f.severity == s)
            for s in ("error", "warning", "info")
        },
        "key_numbers": b.key_numbers(),
        "best": b.best,
        "findings": findings,
        "sections": sections,
        "smoothing": smoothing,
        "generated": time.strftime("%Y-%m-%d %H:%M:%S"),
        "version": _version(),
    }


def _version() -> str:
    from .. import __version__

    return __version__


def build_report_html(
    run: Run,
    diagnosis: Diagnosis | None = None,
    smoothing: float = 0.6,
    tsne: bool = True,
    real: str | None = None,
    rules_config: str | Path | None = None,
) -> str:
    """The report as one self-contained HTML string (all images as data: URIs)."""
    ctx = build_report_context(run, diagnosis, smoothing, tsne, real, rules_config)
    return render("report.html", **ctx)


def default_report_path(run: Run, directory: str | Path = "reports") -> Path:
    """reports/<run name>.html, with the name made safe for a file name."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", run.name).strip("._") or "run"
    return Path(directory) / f"{name}.html"


def render_report(
    run: Run | str | Path,
    out_path: str | Path | None = None,
    diagnosis: Diagnosis | None = None,
    smoothing: float = 0.6,
    tsne: bool = True,
    real: str | None = None,
    rules_config: str | Path | None = None,
    format: str | None = None,
) -> Path:
    """Write the HTML report for `run` (a Run or a run directory) to `out_path`; returns the path.

    out_path defaults to reports/<run name>.html; parent directories are created
    and the file is written atomically.
    """
    from ..store import atomic_write_bytes

    if not isinstance(run, Run):
        from ..loader import load_run

        run = load_run(run, format=format)
    html = build_report_html(run, diagnosis, smoothing, tsne, real, rules_config)
    out = Path(out_path) if out_path is not None else default_report_path(run)
    try:
        atomic_write_bytes(out, html.encode("utf-8"))
    except OSError as e:
        raise GanAnalyzeError(f"{out}: cannot write the report ({e.strerror or e})") from None
    return out
