"""What a report shows, computed once: `gather(run)` -> `ReportEvidence`.

The report model of one run: the diagnosis and its one recommendation, the best
evaluation (analysis.evaluations), and every evidence series a page draws: the
fixed-noise sample diversity (the series the mode-collapse rule computed, not a second
computation) and the real data's, the level of each training signal at the end, the
vector samples' column scores and correlation differences, and the t-SNE embeddings
with the checkpoints they show. pages/report*.py draws this and computes nothing; the
CLI calls `gather`, then the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import GanAnalyzeError
from ..run import Checkpoint, Run
from ..textfmt import fmt_num
from .conditional import ClassEvidence, class_evidence
from .evaluations import best_checkpoint
from .findings import Diagnosis
from .tsne import TsneResult

END_SIGNALS = ("G_loss", "D_loss", "D_x", "D_G_z_before")
END_SHARE = 10  # a signal's level at the end: the mean of its last 1/10 of points


@dataclass
class TsneEvidence:
    """A t-SNE embedding and the checkpoints it shows, or why there is none.

    result: the embedding (None when it could not be computed); shown: (step, label)
    per panel; what: the checkpoints shown, in words; note: why it is missing (a
    refusal for want of consent, or an error); refused: the note is a refusal.
    """

    result: TsneResult | None = None
    shown: list[tuple[int, str]] = field(default_factory=list)
    what: str = ""
    note: str | None = None
    refused: bool = False


@dataclass
class VectorEvidence:
    """The vector samples' evidence: the data, the steps shown (best and last), the
    compared columns (name, "numeric"|"categorical"), the generated rows of each shown
    step decoded into those columns, the per-column scores over training, the
    correlation difference at each shown step (label, column names, real - generated)
    and the t-SNE of the shown steps."""

    data: Any  # analysis.vectorstats.VectorData
    shown: list[tuple[int, str]]
    columns: list[tuple[str, str]]
    decoded: dict[int, pd.DataFrame]
    scores: pd.DataFrame
    correlations: list[tuple[str, list[str], np.ndarray]]
    tsne: TsneEvidence | None = None


@dataclass
class GanLoss:
    """One loss of a GAN the rules read through a trainer's layout (CycleGAN's D_A, pix2pix's
    D_real + D_fake): tag ("A"/"B" or None), canonical role (G_loss/D_loss), the name the
    findings use (`D_real+D_fake`), the run's columns it comes from, its series by step (a
    sum where it is one), and where it sits at equilibrium (None: no fixed value)."""

    tag: str | None
    canon: str
    name: str
    columns: list[str]
    series: pd.Series
    equilibrium: float | None
    loss: str | None = None  # the loss type it was judged under (bce, lsgan, ...)


@dataclass
class ReportEvidence:
    """One run's report model (see the module docstring)."""

    run: Run
    diagnosis: Diagnosis
    best: dict[str, Any] | None
    diversity: pd.DataFrame
    real_diversity: float | None
    end_levels: dict[str, float]
    vectors: VectorEvidence | None = None
    tsne: TsneEvidence | None = None
    classes: ClassEvidence | None = None  # a conditional run's per-class section
    # the losses of the GAN(s) read through a trainer's layout (no G/D loss role of their own)
    gan_losses: list[GanLoss] = field(default_factory=list)

    @property
    def recommendation(self) -> Any:
        return self.diagnosis.recommendation


def gather(
    run: Run,
    diagnosis: Diagnosis | None = None,
    tsne: bool = True,
    real: str | None = None,
    rules_config: str | Path | dict[str, Any] | None = None,
    trust_code: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> ReportEvidence:
    """Diagnose `run` (unless `diagnosis` is given) and gather everything its report shows.

    tsne: embed real and generated samples (images: needs checkpoints, a generator spec
    and real data, `real` or known; rows: the vector samples); trust_code: consent to
    import the generator code run.json names (gananalyze.consent). progress: called as
    `progress(done, total, what)` before each stage (what: the stage about to run) and
    once at the end; nothing is printed here.
    """
    stages = ["rule checks"] if diagnosis is None else []
    stages.append("sample diversity")
    if run.vectors:
        stages.append("vector statistics")
    elif tsne:
        stages.append("t-SNE")

    def stage(what: str) -> None:
        if progress is not None:
            progress(stages.index(what) if what else len(stages), len(stages), what)

    if diagnosis is None:
        from . import analyze

        stage("rule checks")
        diagnosis = analyze(run, rules_config=rules_config)[1]
    stage("sample diversity")
    best = best_checkpoint(run, (diagnosis.context or {}).get("select_metric") or "fid")
    div, real_div = _diversity(run, diagnosis)
    ev = ReportEvidence(run, diagnosis, best, div, real_div, _end_levels(run))
    ev.classes = class_evidence(run)
    ev.gan_losses = _gan_losses(run, diagnosis)
    if run.vectors:
        stage("vector statistics")
        ev.vectors = _vectors(run, best, tsne)
    elif tsne:
        stage("t-SNE")
        ev.tsne = _image_tsne(run, best, div, real, trust_code)
    stage("")
    return ev


def _diversity(run: Run, diagnosis: Diagnosis) -> tuple[pd.DataFrame, float | None]:
    """The finite fixed-noise diversity series (the mode-collapse rule's, when it ran) and
    the real data's diversity at the same feature size."""
    from .diversity import real_diversity, sample_diversity

    df = diagnosis.evidence.get("diversity")
    if df is None:
        df = sample_diversity(run)
    df = df[np.isfinite(df["diversity"].to_numpy(dtype=np.float64))] if len(df) else df
    real = real_diversity(run, side=int(df["side"].iloc[0])) if len(df) >= 2 else None
    return df, (real if real is not None and np.isfinite(real) else None)


def _gan_losses(run: Run, diagnosis: Diagnosis) -> list[GanLoss]:
    """The G and D losses of each GAN the rules read through a layout (the diagnosis'
    `gans`), as the rules read them (`view_series`), with the equilibrium they were judged
    against; a loss the run has a role for is drawn from that role instead."""
    from ..naming.layouts import source_name
    from ..naming.roles import gan_views
    from .rules.context import view_series

    gans = (diagnosis.context or {}).get("gans") or []
    views = gan_views(run)
    if len(gans) != len(views):
        return []
    out = []
    for view, g in zip(views, gans, strict=True):
        eq = g.get("equilibrium") or {}
        for canon in ("G_loss", "D_loss"):
            src = view.columns.get(canon)
            if src is None or (view.tag is None and run.column(canon) is not None):
                continue
            s = view_series(run, src).dropna()
            if not len(s):
                continue
            level = eq.get(f"{canon}_logged", eq.get(canon))
            cols = [src] if isinstance(src, str) else list(src)
            out.append(
                GanLoss(
                    view.tag,
                    canon,
                    source_name(src),
                    cols,
                    s,
                    None if level is None else float(level),
                    eq.get("loss"),
                )
            )
    return out


def _end_levels(run: Run) -> dict[str, float]:
    """Each training signal's mean over the finite values among its last 1/END_SHARE of
    logged points (NaN/Inf written count as logged): NaN when those are all non-finite (a
    run that diverged shows no level from before it)."""
    out = {}
    nf = run.nonfinite
    for canon in END_SIGNALS:
        col = run.column(canon)
        if col is None or not run.counts.get(col, 1):
            continue
        s = run.scalars.set_index("step")[col]
        steps = s.index[s.notna()].to_numpy()
        if len(nf):
            steps = np.union1d(steps, nf.loc[nf["metric"] == col, "step"].to_numpy())
        if not len(steps):
            continue
        tail = steps[-max(1, len(steps) // END_SHARE) :]
        v = s.reindex(tail).to_numpy(dtype=np.float64)
        v = v[np.isfinite(v)]
        out[canon] = float(np.mean(v)) if v.size else float("nan")
    return out


def _image_tsne(
    run: Run,
    best: dict[str, Any] | None,
    div: pd.DataFrame,
    real: str | None,
    trust_code: bool,
) -> TsneEvidence | None:
    """The t-SNE of real images and those of the best (else most diverse) and last
    checkpoints; None when the run cannot have one (no checkpoints, spec or real data)."""
    from . import tsne as tsne_mod

    if tsne_mod.unavailable_reason(run, real):
        return None
    refused = tsne_mod.consent_note(run, real, trust_code)
    if refused:
        return TsneEvidence(note=refused, refused=True)
    ckpts = [c for c in run.checkpoints if c.kind == "native"]
    last = ckpts[-1]
    chosen: dict[int, tuple[Checkpoint, str]] = {}
    what = "the last checkpoint"
    if best:
        b = min(ckpts, key=lambda c: abs(c.step - best["step"]))
        if b.step != last.step:
            chosen[b.step] = (b, f"best by {best['metric']}, step {fmt_num(b.step)}")
            what = f"the best (by {best['metric']}) and the last checkpoint"
    elif len(div):
        # no sample metric to say which checkpoint is best: use the one whose
        # fixed-noise samples were most diverse (the opposite of collapse)
        by_step = dict(zip(div["step"].astype(int), div["diversity"], strict=True))
        cands = [c for c in ckpts if c.step in by_step]
        if cands:
            b = max(cands, key=lambda c: by_step[c.step])
            if b.step != last.step:
                chosen[b.step] = (b, f"most diverse samples, step {fmt_num(b.step)}")
                what = (
                    "the checkpoint with the most diverse fixed-noise samples (no sample "
                    "metric names a best one) and the last checkpoint"
                )
    chosen[last.step] = (last, f"last checkpoint, step {fmt_num(last.step)}")
    shown = [(s, lab) for s, (_, lab) in chosen.items()]
    try:
        res = tsne_mod.embed(run, [c for c, _ in chosen.values()], real, trust=trust_code)
    except GanAnalyzeError as e:
        return TsneEvidence(shown=shown, what=what, note=str(e))
    return TsneEvidence(res, shown, what)


def _vectors(run: Run, best: dict[str, Any] | None, tsne: bool) -> VectorEvidence | None:
    from . import vectorcols
    from .vectorstats import vector_data

    data = vector_data(run)
    if data is None or not data.steps:  # none readable: their warnings name them
        return None
    last = data.steps[-1]
    shown = []
    if best:
        b = min(data.steps, key=lambda s: abs(s - int(best["step"])))
        if b != last:
            shown.append((b, f"best ({best['metric']}), step {fmt_num(b)}"))
    shown.append((last, "last, step " + fmt_num(last)))
    by_step = dict(zip(data.steps, data.arrays, strict=False))
    scores = vectorcols.column_scores(data)
    corr = []
    if len(scores):
        for step, label in shown:
            names, diff = vectorcols.correlation_difference(data, by_step[step])
            if len(names) >= 2:
                corr.append((label, names, diff))
    decoded = {s: vectorcols.decoded(data, by_step[s]) for s, _ in shown}
    ev = VectorEvidence(data, shown, vectorcols.source_columns(data), decoded, scores, corr)
    if tsne:
        try:
            ev.tsne = TsneEvidence(vectorcols.tsne_vectors(data, [s for s, _ in shown]), shown)
        except (GanAnalyzeError, ValueError) as e:
            ev.tsne = TsneEvidence(shown=shown, note=str(e))
    return ev
