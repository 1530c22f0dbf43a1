"""Report sections about the samples: sample metrics (FID, KID, ...), fixed-noise grids
and their diversity, the t-SNE of real vs generated samples (a mixin of the builder)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis.report_evidence import TsneEvidence
from ..files.bounded import TooCostly, open_image
from ..naming.aliases import LABELS
from ..naming.aliases import canonical as canonical_of
from ..naming.aliases import label as label_of
from ..run import SAMPLE_METRIC_META
from ..textfmt import fmt_num, fmt_sig
from . import interactive, plots, pngs
from .sections import Figure, Section, StripGroup, StripItem, slug

# What each sample metric's value is (the y axis' label): FID and KID are distances in the
# feature network's space, so their scale depends on the network, named beside them.
SAMPLE_UNITS = {
    "fid": "squared distance",
    "kid": "MMD² (squared distance)",
    "is": "score (1 to number of classes)",
    "isc": "score (1 to number of classes)",
    "inception_score": "score (1 to number of classes)",
    "precision": "fraction of generated samples",
    "recall": "fraction of real samples",
    "density": "ratio (1 = real-like)",
    "coverage": "fraction of real samples",
    "ppl": "perceptual path length",
}
FEATURE_UNITS = {"fid", "kid"}
MAX_STRIP = 12
MAX_TAGS = 6
SAMPLE_LABELS = {
    "fid": "FID",
    "kid": "KID",
    "is": "Inception Score",
    "isc": "Inception Score",
    "inception_score": "Inception Score",
    "ppl": "PPL",
}


def _pick_evenly(items: list[int], k: int) -> list[int]:
    if len(items) <= k:
        return items
    idx = np.unique(np.round(np.linspace(0, len(items) - 1, k)).astype(int))
    return [items[i] for i in idx]


def _thumbnail(data: bytes, min_width: int = 200, max_width: int = 360) -> bytes:
    """Tiny grids upscaled (nearest neighbour, crisp pixels), big ones shrunk to keep the HTML
    small.
    """
    import io

    from PIL import Image

    img = open_image(data)
    if img.size[0] < min_width:
        return pngs.upscale_png(data, min_width=min_width, max_factor=32)
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


class SampleSections:
    """Sections of the report's builder (pages/report.py, class _Builder)."""

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
        feats = (
            ", ".join(str(f) for f in dict.fromkeys(sm["features"].dropna()))
            if "features" in sm.columns
            else ""
        )
        figs = []
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
            if not curves:
                continue
            name = SAMPLE_LABELS.get(
                c.lower(), label_of(canonical_of(c)) if canonical_of(c) in LABELS else c
            )
            unit = SAMPLE_UNITS.get(c.lower(), c)
            fid = "chart-sample-metrics" if not figs else f"chart-sample-{slug(c)}"
            spec = self.chart(
                curves,
                title=name,
                ylabel=f"{unit}, {feats} features"
                if feats and c.lower() in FEATURE_UNITS
                else unit,
                height=280,
            )
            figs.append(self.figure(spec, fid, f"{name} per checkpoint", wide=False))
            self.register(fid, "sample-metrics", [c])
        if not figs:
            return None
        self.register(
            "chart-sample-metrics",
            "sample-metrics",
            ["fid", "kid", "is", "precision", "recall", "density", "coverage"],
        )
        if self.best:
            b = self.best
            better = "lowest" if b["lower_is_better"] else "highest"
            lead = (
                "Sample-quality metrics computed from generated images at each evaluated "
                "checkpoint; the dotted line marks the best evaluation by "
                f"{b['metric']} ({better}: "
                f"{fmt_num(b['value'])} at step {fmt_num(b['step'])})"
            )
            keep = self.keep_step
            if self.diag.recommendation is None:
                lead += "."
            elif keep is None:
                lead += "; the recommendation keeps no checkpoint."
            elif keep == b["step"]:
                lead += ", the checkpoint the recommendation keeps."
            else:
                lead += f"; the recommendation keeps step {fmt_num(keep)} (marked keep)."
        else:
            lead = (
                "Sample-quality metrics computed from generated images at each evaluated "
                "checkpoint."
            )
        if groups[0][0] is not None:
            lead += " One line per feature extractor."
        return Section(
            "sample-metrics",
            "Sample quality (FID, KID, IS, precision/recall)",
            lead,
            figures=figs,
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
            keep = self.keep_step  # the recommendation's checkpoint, else the best evaluation
            aim = keep if keep is not None else (self.best["step"] if self.best else None)
            if aim is not None:
                near = int(np.argmin([abs(g.step - aim) for g in gs]))
                if near not in chosen:
                    chosen = sorted(set(chosen[:-2] + [near, chosen[-1]]))
            items = []
            for i in chosen:
                g = gs[i]
                try:
                    png = _thumbnail(g.read_bytes())
                except TooCostly as e:
                    problems.append(f"sample image at step {g.step} ({tag}): {e}")
                    continue
                except Exception as e:  # an unreadable image should not sink the whole report
                    problems.append(
                        f"sample image at step {g.step} ({tag}): unreadable ({type(e).__name__})"
                    )
                    continue
                best = (
                    f"best {self.best['metric']}"
                    if self.best and g.step == self.best["step"]
                    else ""
                )
                note = " · ".join(x for x in ("keep" if g.step == keep else "", best) if x)
                items.append(
                    StripItem(
                        pngs.png_data_uri(png), f"step {fmt_num(g.step)}", note, g.step == keep
                    )
                )
            if items:
                groups.append(StripGroup(tag if len(by_tag) > 1 else "", items))
                shown_n += len(items)
        if len(by_tag) > len(tags):
            problems.append(
                f"{len(by_tag) - len(tags)} more image kinds not shown: "
                f"{', '.join(list(by_tag)[len(tags) :][:10])}"
            )
        if not groups:
            return None
        figs = self._diversity()
        self.register(figs[0].id if figs else "samples", "samples", ["samples", "diversity"])
        shown = f"{shown_n} of {total}" if total > shown_n else f"all {total}"
        lead = (
            f"The same fixed noise fed through G as training went on ({shown} images, "
            "left to right, in reading order); healthy runs sharpen while staying varied, "
            "mode collapse shows as the tiles turning into copies of each other."
        )
        if figs:
            lead += (
                " The chart under the grids measures that variety: the mean pairwise distance "
                "between the samples of each grid."
            )
        return Section(
            "samples",
            "Fixed-noise samples over training",
            lead,
            figures=figs,
            strips=groups,
            notes=problems,
        )

    def _diversity(self) -> list[Figure]:
        df = self.ev.diversity
        if len(df) < 2:
            return []
        hl = []
        real = self.ev.real_diversity
        if real is not None:
            hl = [
                plots.HLine(real, f"real data {fmt_sig(real)}", color="#444444"),
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
        fig = self.chart(
            [curve],
            title="Sample diversity (mean pairwise RMS pixel distance)",
            ylabel="diversity",
            hlines=hl,
            spans=self.spans_for(["samples", "diversity"]),
            height=260,
        )
        return [
            self.figure(
                fig, "chart-diversity", "diversity of the fixed-noise samples over training"
            )
        ]

    def tsne(self, t: TsneEvidence) -> Section:
        """The t-SNE the report model holds (analysis.report_evidence), or why it is missing."""
        title = "t-SNE of real vs generated samples"
        if t.result is None:
            why = (
                "The t-SNE was not computed: it needs the generator code this run names."
                if t.refused
                else "t-SNE could not be computed for this run."
            )
            return Section("tsne", title, why, notes=[t.note])
        res, what = t.result, t.what
        fig = interactive.tsne_spec(res, t.shown)
        self.register("chart-tsne", "tsne", ["tsne"])
        lead = (
            f"Real images ({res.source}) and images generated at {what} embedded together "
            f"by t-SNE ({len(res.real)} of each, {res.dims} pixel dimensions): generated "
            "points spread over the whole real cloud mean good coverage; tight clumps "
            "mean mode collapse."
        )
        return Section(
            "tsne",
            title,
            lead,
            figures=[
                self.figure(
                    fig, "chart-tsne", "t-SNE of real and generated samples", wide=len(t.shown) > 1
                )
            ],
        )
