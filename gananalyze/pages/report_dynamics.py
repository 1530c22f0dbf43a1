"""Report sections about the training dynamics: losses, D outputs, D accuracy, gradient
norms, weight and gradient distributions, and every other logged metric (a mixin of the
report's builder)."""

from __future__ import annotations

import numpy as np

from ..analysis.alignment import step_label
from ..naming.aliases import canonical as canonical_of
from ..naming.aliases import label as label_of
from ..textfmt import fmt_cfg, fmt_num, fmt_sig
from . import interactive, plots
from .sections import (
    Confusion,
    Section,
    equilibrium,
    equilibrium_loss,
    pivot_by_key,
    slug,
)
from .terminal import term_safe

D_COUNTS = ("D_tp", "D_fp", "D_fn", "D_tn")
MAX_LAYERS = 12
# the nested bands drawn per layer: HIST_QUANTILES pairs, outermost first
HIST_BAND_NAMES = ("0–100", "7–93", "16–84", "31–69")


class DynamicsSections:
    """Sections of the report's builder (pages/report.py, class _Builder)."""

    def losses(self) -> Section | None:
        eq = equilibrium(self.run, self.diag)
        loss = equilibrium_loss(self.run, self.diag)
        figs = []
        for canon in ("G_loss", "D_loss"):
            col = self.col(canon)
            if col is None:
                continue
            x, v = self.arrays(col)
            title = f"{label_of(canon)}  ·  column {col}" if col != canon else label_of(canon)
            fid = f"chart-{slug(canon)}"
            figs.append(
                self.loss_figure(
                    canon, label_of(canon), x, v, title, eq.get(canon), loss, [col], fid
                )
            )
            self.shows(fid, "losses", [(canon, col)])
        figs += self.layout_losses()
        if not figs:
            return None
        if loss.split(",")[0] == "wasserstein":
            eqs = (
                "a Wasserstein loss has no fixed equilibrium value, so only trends and the "
                "gap between the critic's scores matter"
            )
        elif eq:
            eqs = (
                f"the dashed line is where the {loss} loss sits when G and D are balanced "
                f"(D loss {fmt_num(eq.get('D_loss'))}, G loss {fmt_num(eq.get('G_loss'))})"
            )
        else:
            eqs = "the loss type is unknown, so no equilibrium line is drawn"
        lead = (
            "Generator and discriminator losses per step: the pale band is the raw value's "
            f"min–max per bin, the line TensorBoard's EMA (weight {fmt_cfg(self.w)}); {eqs}."
        )
        return Section("losses", "Losses", lead, figures=figs)

    def loss_figure(
        self,
        canon: str,
        label: str,
        x: np.ndarray,
        v: np.ndarray,
        title: str,
        level: float | None,
        loss: str | None,
        cols: list[str],
        fid: str,
    ):
        """One loss's chart: the curve (G's colour or D's), the equilibrium it was judged
        against (`loss`: the loss type it names) and the findings' spans and NaN/Inf marks of
        the metrics named `cols` (a column, or a sum and its terms)."""
        hl = []
        if level is not None:
            said = (
                f"equilibrium ({loss}) {fmt_sig(level)}"
                if loss
                else f"equilibrium {fmt_sig(level)}"
            )
            hl = [plots.HLine(level, said)]
        curve = plots.Curve(
            f"{label} (smoothed)",
            x,
            v,
            color=plots.PALETTE[0] if canon == "G_loss" else plots.PALETTE[1],
            smooth=self.w > 0,
        )
        fig = self.chart(
            [curve],
            title=title,
            ylabel="loss",
            hlines=hl,
            spans=self.spans_for(cols),
            marks=self.nonfinite_steps(cols),
        )
        return self.figure(fig, fid, f"{label} over training")

    def layout_losses(self) -> list:
        """The G and D losses of the GAN(s) read through a trainer's layout (CycleGAN's
        D_A and G_A, pix2pix's D_real + D_fake: `ReportEvidence.gan_losses`), one chart each,
        with the equilibrium they were judged against."""
        figs = []
        for i, gl in enumerate(self.ev.gan_losses):
            label = (f"GAN {gl.tag}: " if gl.tag else "") + label_of(gl.canon)
            title = f"{label}  ·  {'columns' if len(gl.columns) > 1 else 'column'} {gl.name}"
            fid = f"chart-gan-{i}-{slug(gl.canon)}"
            x, v = gl.series.index.to_numpy(), gl.series.to_numpy(dtype=np.float64)
            figs.append(
                self.loss_figure(
                    gl.canon,
                    label,
                    x,
                    v,
                    title,
                    gl.equilibrium,
                    gl.loss,
                    [*gl.columns, gl.name],
                    fid,
                )
            )
            # a single column is drawn here only; a sum's terms keep their own charts below
            self.shows(fid, "losses", [(gl.canon, c) for c in gl.columns if len(gl.columns) == 1])
            self.register(fid, "losses", [gl.name])
        return figs

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
            fig = self.chart(
                curves,
                title="D(x) and D(G(z))",
                ylabel="D output" if probs else "D output (not in [0, 1])",
                hlines=[plots.HLine(0.5, "0.5 (D cannot tell)")] if probs else [],
                spans=spans,
                ylim=(-0.02, 1.02) if probs else None,
            )
            figs.append(self.figure(fig, "chart-D-outputs", "D(x) and D(G(z)) over training"))
            if probs:
                leads.append(
                    "What D outputs on real samples, D(x), and on generated ones, D(G(z)), before "
                    "and after D's update; at equilibrium both sit near the 0.5 line, D(x) near "
                    "1 with D(G(z)) near 0 means D wins"
                )
            else:
                leads.append(
                    "D's outputs on real and generated images; they leave [0, 1], so they are "
                    "scores rather than probabilities and the 0.5 line does not apply"
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
                        smooth=self.w > 0,
                        color=plots.PALETTE[i],
                    )
                )
            fig = self.chart(
                curves,
                title="D(x) and D(G(z)) as sigmoid of D's mean score",
                ylabel="sigmoid(score)",
                hlines=[plots.HLine(0.5, "0.5 (D cannot tell)")],
                spans=spans,
                ylim=(-0.02, 1.02),
            )
            figs.append(self.figure(fig, "chart-D-outputs", "sigmoid of D's scores over training"))
            leads.append(
                "D logged raw scores (logits), so the first chart shows the sigmoid of the "
                "mean score on real and generated images, the probability the rule checks "
                "read; 0.5 means D cannot tell them apart"
            )
        self.shows("chart-D-outputs", "discriminator", cols + ([] if cols else logits))
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
            fig = self.chart(
                curves,
                title="D's raw scores (logits)",
                ylabel="score",
                hlines=[plots.HLine(0.0, "0 (D cannot tell)")],
                spans=spans,
            )
            figs.append(self.figure(fig, "chart-D-scores", "D's raw scores over training"))
            self.shows("chart-D-scores", "discriminator", logits)
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
            fig = self.chart(
                [self.curve(acc, "D accuracy", plots.PALETTE[2])],
                title="D accuracy (real and fake batches, threshold 0.5)",
                ylabel="accuracy",
                hlines=[plots.HLine(0.5, "0.5 (chance)")],
                spans=self.spans_for([acc, "D_acc"]),
                ylim=(-0.02, 1.02),
            )
            sec.figures.append(self.figure(fig, "chart-D_acc", "D accuracy over training"))
            self.shows("chart-D_acc", "d-accuracy", [("D_acc", acc)])
            leads.append(
                "how often D classifies real and generated images correctly (0.5 is chance, "
                "1.0 means G fools it never)"
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
                        smooth=self.w > 0,
                        color=plots.PALETTE[0],
                    ),
                    plots.Curve(
                        "recall TP/(TP+FN)",
                        steps,
                        rec,
                        smooth=self.w > 0,
                        color=plots.PALETTE[3],
                    ),
                ]
                fig = self.chart(
                    curves,
                    title="D precision and recall (real = positive class)",
                    ylabel="",
                    spans=self.spans_for(list(D_COUNTS)),
                    ylim=(-0.02, 1.02),
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
                    "the confusion matrices count D's decisions at a few chosen steps (rows: "
                    "what the sample was; columns: what D said), and precision/recall track D's "
                    "calls on real samples over time"
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
        fig = self.chart(
            curves,
            title="Gradient norms",
            ylabel="L2 norm (log scale)" if positive else "L2 norm",
            logy=positive,
            spans=self.spans_for([col for _, col in cols]),
            marks=self.nonfinite_steps([col for _, col in cols]),
        )
        self.shows("chart-grad-norms", "gradients", cols)
        lead = (
            "The L2 norm of G's and D's gradients on a log scale: a norm falling by orders "
            "of magnitude means vanishing gradients (G learns nothing), one shooting "
            "up means the run is diverging."
        )
        return Section(
            "gradients",
            "Gradient norms",
            lead,
            figures=[self.figure(fig, "chart-grad-norms", "gradient norms over training")],
        )

    def histograms(self) -> Section | None:
        from ..runio.store import HIST_QUANTILES

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
            piv = pivot_by_key(
                list(zip(g["model"], g["param"], strict=True)),
                g["step"].to_numpy(),
                val,
                rows,
                steps,
            )
            color = plots.PALETTE[0] if kind == "weight" else plots.PALETTE[3]
            fig = interactive.heatmap_spec(
                piv,
                labels,
                steps,
                title=f"{kind}s: spread (15.87–84.13 percentile) per layer",
                xlabel=step_label(self.run),
                colorbar_label="log10 spread",
            )
            fid = f"chart-hist-{slug(kind)}"
            figs.append(self.figure(fig, fid, f"{kind} spread per layer"))
            shown = []
            for model in dict.fromkeys(g["model"]):
                shown += [r for r in rows if r[0] == model][:MAX_LAYERS]
            n = len(shown)
            cap = f"{kind} distributions per layer" + (
                f" (the first {MAX_LAYERS} layers of each model)" if n < len(rows) else ""
            )
            groups = {r: d for r, d in g.groupby(["model", "param"], sort=False)}
            for i, layer in enumerate(shown):
                gp = groups[layer].sort_values("step")
                x = gp["step"].to_numpy(dtype=np.float64)
                q = gp[list(HIST_QUANTILES)].to_numpy(dtype=np.float64)
                k = q.shape[1]
                # nested bands, outermost (min-max) first, then the median line
                curves = [
                    plots.Curve(
                        f"{HIST_BAND_NAMES[j]} percentiles",
                        x,
                        q[:, k // 2],
                        color=color,
                        lo=q[:, j],
                        hi=q[:, k - 1 - j],
                        band_alpha=0.16 + 0.06 * j,
                        line=False,
                    )
                    for j in range(k // 2)
                ]
                curves.append(plots.Curve("median", x, q[:, k // 2], color=color, band=False))
                spec = self.chart(curves, title=f"{layer[0]} · {layer[1]}", ylabel=kind, height=240)
                fid = f"chart-dist-{slug(kind)}"
                if i:
                    fid += f"-{slug(layer[0] + '-' + layer[1])}"
                figs.append(
                    self.figure(
                        spec,
                        fid,
                        f"{kind} distribution of {layer[0]} · {layer[1]}",
                        caption=cap if i == n - 1 else "",
                        wide=False,
                    )
                )
        lead = (
            "Weights and gradients per layer over time, like TensorBoard's distribution "
            "dashboard: each heat map row is a layer coloured by how widely its values "
            "spread (blank: a single value), and each small chart shades the 0–100, 7–93, "
            "16–84 and 31–69 percentile bands around the median line."
        )
        return Section("histograms", "Weight and gradient distributions", lead, figures=figs)

    def other_metrics(self) -> Section | None:
        cols = [
            c
            for c in self.run.metrics
            if c not in self.used and c not in D_COUNTS and self.run.scalars[c].notna().any()
        ]
        if not cols:
            return None
        figs: list = []
        seen: set[str] = set()
        for i, c in enumerate(cols):
            x, v = self.arrays(c)
            finite = v[np.isfinite(v)]
            sparse = len(v) <= 60
            logy = (
                bool(finite.size)
                and finite.min() > 0
                and finite.max() / max(finite.min(), 1e-300) > 1e3
            )
            curve = plots.Curve(
                c,
                x,
                v,
                color=plots.PALETTE[i % len(plots.PALETTE)],
                smooth=self.w > 0 and not sparse,
                markers=sparse,
            )
            fid = f"chart-other-{slug(c)}"
            if fid in seen:  # two names with one slug ("a b", "a-b")
                fid += f"-{i}"
            seen.add(fid)
            spec = self.chart([curve], title=c, ylabel=c, logy=logy, height=240)
            alt = f"{term_safe(c, keep_newlines=False)} over training"  # no raw ESC, BEL
            figs.append(self.figure(spec, fid, alt, wide=False))
            self.register(fid, "other-metrics", [c])
        lead = (
            f"Every other logged metric ({len(cols)}), one small chart each, raw line "
            "and smoothed line as above."
        )
        return Section("other-metrics", "Other metrics", lead, figures=figs)
