"""The pages' section types: Section, Figure, PageTable (a table drawn on a page; not
tables.Table, rows read from a file), film strips and finding views, which the
templates read, and the small helpers that fill them (slugs, step ranges, config
values, equilibrium lines)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..analysis.findings import Diagnosis, Finding
from ..run import Run
from ..textfmt import fmt_num, fmt_text

CHART_WIDTH = 10.8  # inches at plots.DPI: the template's content width (1056 px)


@dataclass
class Figure:
    """One embedded chart: `src` is a PNG data URI, or `spec` the JSON of an interactive chart
    (pages/interactive.py) and `src` empty; `id` the anchor findings link to."""

    id: str
    src: str
    alt: str
    caption: str = ""
    wide: bool = True
    spec: str = ""


@dataclass
class PageTable:
    caption: str
    headers: list[str]
    rows: list[list[Any]]
    css: str = ""


@dataclass
class StripItem:
    src: str
    label: str
    note: str = ""
    keep: bool = False  # the checkpoint the run's one recommendation keeps (outlined)


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
    tables: list[PageTable] = field(default_factory=list)
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


def slug(text: str) -> str:
    """An HTML id fragment from any text (metric names can hold anything)."""
    s = re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-")
    return s or "x"


def step_range(f: Finding) -> str:
    if f.start_step is None and f.end_step is None:
        return ""
    if f.end_step is None or f.end_step == f.start_step:
        return f"step {fmt_num(f.start_step)}"
    if f.start_step is None:
        return f"up to step {fmt_num(f.end_step)}"
    return f"steps {fmt_num(f.start_step)}–{fmt_num(f.end_step)}"


def finding_numbers(f: Finding) -> list[tuple[str, str]]:
    """A finding's numbers as (name, text) pairs, formatted as every page shows them."""
    return [
        (str(k), fmt_num(v) if not isinstance(v, (list, dict, tuple)) else fmt_text(v, 120))
        for k, v in (f.numbers or {}).items()
    ]


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
    # the losses as logged: K discriminators' summed where the run says so (eq "summed")
    return {
        k: float(eq.get(f"{k}_logged", eq[k]))
        for k in ("D_loss", "G_loss")
        if eq.get(k) is not None
    }


def equilibrium_loss(run: Run, diagnosis: Diagnosis | None = None) -> str:
    """The loss type's name as the charts say it ("lsgan, 6 discriminators summed")."""
    eq = (diagnosis.context or {}).get("equilibrium") if diagnosis is not None else None
    name = str((eq or {}).get("loss") or run.loss or "unknown")
    k = (eq or {}).get("summed", 1)
    return f"{name}, {k} discriminators summed" if k > 1 else name


def pivot_by_key(
    key: list[tuple[str, str]],
    steps: np.ndarray,
    val: np.ndarray,
    rows: list[tuple[str, str]],
    cols: np.ndarray,
) -> np.ndarray:
    """(rows x cols) matrix of `val` by (model, param) row key and
    step column; NaN where missing.
    """
    row_index = {r: i for i, r in enumerate(rows)}
    ri = np.fromiter((row_index[r] for r in key), dtype=np.int64, count=len(val))
    ci = np.searchsorted(cols, steps)
    out = np.full((len(rows), len(cols)), np.nan)
    out[ri, ci] = val
    return out
