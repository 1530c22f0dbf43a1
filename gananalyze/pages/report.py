"""The HTML report: one self-contained file a person reads top to bottom.

`build_report_context` turns a Run and its Diagnosis into plain data (section
dataclasses holding texts, numbers and PNG data URIs); the Jinja2 template
`templates/report.html` (autoescape on) turns that into HTML. No HTML is built
in Python, so every value that comes from the user's files (run name, metric
names, config values, warnings) is escaped by the template engine.

Each section is added only when the run has the data for it and carries one
sentence saying what the reader is looking at. Long series are plotted as
min/max envelopes (`reduce.envelope`), never randomly sampled, so spikes stay
visible; smoothing is TensorBoard's EMA (`smoothing.tensorboard_ema`).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.alignment import step_label
from ..analysis.findings import SEVERITY_RANK, Diagnosis
from ..analysis.report_evidence import ReportEvidence, gather
from ..errors import GanAnalyzeError
from ..naming.aliases import canonical as canonical_of
from ..naming.aliases import label as label_of
from ..run import Run
from ..textfmt import flatten_config, fmt_duration, fmt_num, fmt_text
from . import interactive, plots, pngs
from .bundle import plotly_js_markup
from .html import render
from .report_classes import class_section
from .report_dynamics import DynamicsSections
from .report_samples import SampleSections
from .report_vectors import vector_sections
from .sections import (
    Figure,
    FindingView,
    PageTable,
    Section,
    finding_numbers,
    step_range,
)
from .status import look as status_look

# One colour per finding band (the same finding has the same colour on every chart), so two
# findings on one chart can be told apart; none of them is a curve colour of plots.PALETTE.
FINDING_COLORS = ("#d62728", "#17becf", "#9467bd", "#bcbd22", "#8c564b", "#7f7f7f")


class _Builder(DynamicsSections, SampleSections):
    """Builds the sections of one report; keeps track of which chart shows which metric."""

    def __init__(self, ev: ReportEvidence, smoothing: float, bins: int = 1500):
        self.ev = ev
        self.run = ev.run
        self.diag = ev.diagnosis
        self.w = float(smoothing)
        self.bins = bins
        self.chart_for: dict[str, str] = {}  # metric name (column or canonical) -> figure id
        self.used: set[str] = set()  # scalar columns shown by a dedicated chart
        self.best = ev.best

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
        banded = [
            f for f in self.diag.findings if f.severity != "info" and f.start_step is not None
        ]
        for k, f in enumerate(banded):
            fm = {m for m in f.metrics if m} | {canonical_of(m) for m in f.metrics if m}
            if fm & names:
                end = f.end_step if f.end_step is not None else f.start_step
                out.append(
                    plots.Span(
                        float(f.start_step),
                        float(end),
                        f.title,
                        FINDING_COLORS[k % len(FINDING_COLORS)],
                        alpha=0.14,
                    )
                )
        return out

    @property
    def keep_step(self) -> int | None:
        """The checkpoint the run's one recommendation keeps (None: it keeps none)."""
        rec = self.diag.recommendation
        return rec.keep_step if rec is not None else None

    def best_vline(self) -> list[plots.VLine]:
        """The kept checkpoint (the recommendation's) and the best evaluation, which differ
        when the best lies inside an error; "keep" marks only the recommended one."""
        out = []
        keep = self.keep_step
        if self.best:
            what = (
                f"best {label_of(canonical_of(self.best['metric']))} "
                f"({fmt_num(self.best['value'])})"
            )
            if keep == self.best["step"]:
                what = f"keep: {what}"
            out.append(plots.VLine(self.best["step"], what))
        if keep is not None and (not self.best or keep != self.best["step"]):
            out.append(plots.VLine(keep, f"keep (step {fmt_num(keep)})"))
        return out

    def curve(self, col: str, label: str | None = None, color: str | None = None) -> plots.Curve:
        x, v = self.arrays(col)
        # smoothed in the page (interactive charts), at the slider's weight
        return plots.Curve(label or col, x, v, color=color, smooth=self.w > 0)

    def nonfinite_steps(self, cols: list[str]) -> np.ndarray:
        """Steps where any of `cols` was logged as NaN/Inf (they cannot be drawn as values)."""
        nf = self.run.nonfinite
        if nf is None or not len(nf):
            return np.array([], dtype=np.int64)
        return nf.loc[nf["metric"].isin(cols), "step"].to_numpy()

    def chart(self, curves: list[plots.Curve], **kw: Any) -> str:
        """An interactive chart's spec (interactive.chart_spec), the best checkpoint marked and
        the step axis in the run's own unit."""
        kw.setdefault("xlabel", step_label(self.run))
        return interactive.chart_spec(curves, vlines=self.best_vline(), **kw)

    def register(self, fig_id: str, section: str, metrics: list[str]) -> None:
        """Note that chart `fig_id` (in `section`) shows `metrics`:
        findings naming them link there.
        """
        for m in metrics:
            self.chart_for.setdefault(m, fig_id)
            self.chart_for.setdefault(canonical_of(m), fig_id)

    def shows(self, fig_id: str, section: str, pairs: Iterable[tuple[str, str]]) -> None:
        """Note that chart `fig_id` (in `section`) draws these (canonical name, column) pairs:
        each column is used (no second chart under other metrics) and both names link there.
        """
        for canon, col in pairs:
            self.used.add(col)
            self.register(fig_id, section, [col, canon])

    def figure(
        self, fig: Any, fig_id: str, alt: str, caption: str = "", wide: bool = True
    ) -> Figure:
        """A Figure of a matplotlib figure (a PNG) or of an interactive chart's spec."""
        if isinstance(fig, str):
            return Figure(fig_id, "", alt, caption, wide, spec=fig)
        return Figure(fig_id, pngs.fig_to_data_uri(fig), alt, caption, wide)

    def config(self) -> Section | None:
        rows = [[k, fmt_text(v)] for k, v in flatten_config(self.run.config).items()]
        gen = self.run.generator
        if isinstance(gen, dict) and gen:
            rows += [[f"generator.{k}", fmt_text(v)] for k, v in flatten_config(gen).items()]
        if not rows:
            return None
        return Section(
            "config",
            "Configuration",
            "The hyper-parameters and settings the run recorded, as written in its files.",
            tables=[PageTable("", ["key", "value"], rows, "config")],
        )

    def warnings(self) -> Section | None:
        run = self.run
        items = [str(w) for w in run.warnings]
        tables = []
        flags = run.value_flags()
        if flags:
            tables.append(
                PageTable(
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
                        for f in flags
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
                PageTable(
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
        lead = (
            "Everything the loaders found odd while reading the run (kept, not hidden), "
            "values that cannot be right, and the checks that could not run for lack "
            "of data."
        )
        sec = Section("warnings", "Warnings and data problems", lead, tables=tables, items=items)
        if skipped:
            sec.tables.append(
                PageTable(
                    "Checks not run",
                    ["check", "why"],
                    [[r, w] for r, w in self.diag.skipped],
                    "skipped",
                )
            )
        return sec

    def finding_views(self) -> list[FindingView]:
        out = []
        for f in sorted(self.diag.findings, key=lambda f: -SEVERITY_RANK.get(f.severity, 0)):
            links, seen = [], set()
            for m in [m for m in f.metrics or [] if m]:
                fid = self.chart_for.get(m) or self.chart_for.get(canonical_of(m))
                if fid and fid not in seen:
                    seen.add(fid)
                    links.append((fid, label_of(canonical_of(m))))
            nums = finding_numbers(f)
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
                    f"{fmt_num(len(sc))} ({fmt_num(int(sc['step'].iloc[0]))} – "
                    f"{fmt_num(int(sc['step'].iloc[-1]))})",
                )
            )
        if "wall_time" in sc.columns and sc["wall_time"].notna().any():
            wt = sc["wall_time"].dropna()
            out.append(
                ("wall-clock span", fmt_duration(float(wt.max() - wt.min()), missing="unknown"))
            )
        out.append(("loss type", _loss_text(self.diag)))
        for canon, level in self.ev.end_levels.items():
            shown = fmt_num(level) if math.isfinite(level) else "NaN/Inf only"
            out.append((f"{label_of(canon)}, last 10%", shown))
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


def build_report_context(
    run: Run | ReportEvidence,
    diagnosis: Diagnosis | None = None,
    smoothing: float = 0.6,
    tsne: bool = True,
    real: str | None = None,
    rules_config: str | Path | None = None,
    trust_code: bool = False,
) -> dict[str, Any]:
    """Everything the template needs, as plain data (no HTML), from the report model.

    `run` is the report model (analysis.report_evidence.gather), or a Run, which is
    gathered here with the other arguments: diagnosis, tsne, real, rules_config and
    trust_code (consent to import the generator code run.json names, for the t-SNE; see
    gananalyze.consent; without it the t-SNE section says what was skipped).
    """
    if not (0.0 <= float(smoothing) <= 0.999):
        raise GanAnalyzeError(f"smoothing weight must be between 0 and 0.999, not {smoothing!r}")
    ev = (
        run
        if isinstance(run, ReportEvidence)
        else gather(run, diagnosis, tsne, real, rules_config, trust_code)
    )
    run, diag = ev.run, ev.diagnosis
    b = _Builder(ev, smoothing)
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
    if ev.vectors is not None:
        sections += vector_sections(ev.vectors)
    elif ev.tsne is not None:
        sections.append(b.tsne(ev.tsne))
    for name in ("other_metrics", "config", "warnings"):
        s = getattr(b, name)()
        if s is not None:
            sections.append(s)
    worst = diag.worst()
    findings = b.finding_views()
    return {
        "run": {
            "name": run.name,
            "path": run.url or str(run.path),
            "format": run.format,
            "loss": _loss_text(diag),
            "created": run.created or "",
            "unit": ""
            if step_label(run) == "step"
            else step_label(run)
            + (f" ({run.extra['step_note']})" if run.extra.get("step_note") else ""),
            "value_kinds": "; ".join(sorted(set((run.extra.get("value_kind") or {}).values()))),
        },
        "verdict": diag.verdict,
        "verdict_class": status_look(diag).css,
        "verdict_label": status_look(diag).label,
        "worst": worst or "none",
        "counts": {
            s: sum(1 for f in diag.findings if f.severity == s)
            for s in ("error", "warning", "info")
        },
        "key_numbers": b.key_numbers(),
        "best": b.best,
        "recommendation": diag.recommendation,
        "findings": findings,
        "sections": sections,
        "per_class": class_section(ev.classes),
        "smoothing": smoothing,
        "interactive": any(f.spec for s in sections for f in s.figures),
        "plotly_js": plotly_js_markup(),
        "generated": time.strftime("%Y-%m-%d %H:%M:%S"),
        "version": _version(),
    }


def _version() -> str:
    from .. import __version__

    return __version__


def build_report_html(
    run: Run | ReportEvidence, diagnosis: Diagnosis | None = None, *args: Any, **kw: Any
) -> str:
    """The report as one self-contained HTML string (all images as data: URIs).

    Takes the arguments of build_report_context (smoothing, tsne, real, rules_config,
    trust_code).
    """
    return render("report.html", **build_report_context(run, diagnosis, *args, **kw))


def default_report_path(run: Run, directory: str | Path = "reports") -> Path:
    """reports/<run name>.html, with the name made safe for a file name."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", run.name).strip("._") or "run"
    return Path(directory) / f"{name}.html"


def render_report(
    run: Run | ReportEvidence | str | Path,
    out_path: str | Path | None = None,
    diagnosis: Diagnosis | None = None,
    smoothing: float = 0.6,
    tsne: bool = True,
    real: str | None = None,
    rules_config: str | Path | None = None,
    format: str | None = None,
    trust_code: bool = False,
    roles: dict[str, str] | None = None,
) -> Path:
    """Write the HTML report for `run` (its report model, a Run or a run directory) to
    `out_path`; returns the path.

    out_path defaults to reports/<run name>.html; parent directories are created
    and the file is written atomically.
    """
    if not isinstance(run, (Run, ReportEvidence)):
        from ..loader import load_run

        run = load_run(run, format=format, roles=roles)
    html = build_report_html(run, diagnosis, smoothing, tsne, real, rules_config, trust_code)
    name = run.run if isinstance(run, ReportEvidence) else run
    return write_report(html, out_path, name)


def write_report(html: str, out_path: str | Path | None, run: Run) -> Path:
    """Write a report's HTML atomically (parent folders created) to `out_path`, by default
    reports/<run name>.html; a file that cannot be written is one error line naming it."""
    from ..files.atomic import atomic_write_bytes

    out = Path(out_path) if out_path is not None else default_report_path(run)
    try:
        atomic_write_bytes(out, html.encode("utf-8"))
    except OSError as e:
        raise GanAnalyzeError(f"{out}: cannot write the report ({e.strerror or e})") from None
    return out


def _loss_text(diag: Diagnosis) -> str:
    """The loss type the rules judged with, and whether it was declared or assumed."""
    from .text import loss_type_text

    eq = diag.context.get("equilibrium") or {}
    return loss_type_text(eq["loss"], eq.get("source", "")) if eq.get("loss") else "unknown"
