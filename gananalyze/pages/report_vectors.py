"""The report's sections for GANs that make rows, not images (tabular, sequences, point sets).

Reads the run's vector samples and, when attached, the real table: per-column
distributions real vs generated at the best and last checkpoints, the per-column
similarity over training (1 - KS / 1 - TV, SDMetrics' column shapes), the
correlation-matrix difference as a heat map, 2-D scatters over training (real
points in grey underneath) and a t-SNE. Every number comes from the report model
(analysis.report_evidence.VectorEvidence); this module only draws.
"""

from __future__ import annotations

import numpy as np

from ..analysis.report_evidence import VectorEvidence
from ..textfmt import fmt_dec, fmt_num, fmt_sig
from . import interactive, plots
from .pngs import fig_to_data_uri
from .sections import Figure, Section

MAX_COLUMNS = 12  # columns drawn in the distribution panels (the worst-matching first)
MAX_SCATTERS = 8
GREY = "#b0b0b0"


def _pick(steps: list[int], k: int) -> list[int]:
    if len(steps) <= k:
        return list(steps)
    idx = np.unique(np.round(np.linspace(0, len(steps) - 1, k)).astype(int))
    return [steps[i] for i in idx]


def vector_sections(ev: VectorEvidence) -> list[Section]:
    """The sections of the vector samples' evidence (analysis.report_evidence)."""
    data = ev.data
    out = [_distributions(ev)]
    if len(ev.scores):
        out.append(_scores(ev.scores))
        out.append(_correlations(ev.correlations))
    if len(data.columns) == 2:
        out.append(_scatters(data))
    if ev.tsne is not None:
        out.append(_tsne(ev.tsne))
    return [s for s in out if s is not None]


def _distributions(ev: VectorEvidence) -> Section:
    data, shown, scores = ev.data, ev.shown, ev.scores
    cols = list(ev.columns)
    if len(scores):
        last = scores[scores["step"] == data.steps[-1]].sort_values("score")
        order = list(last["column"])
        cols = sorted(cols, key=lambda c: order.index(c[0]) if c[0] in order else len(order))
    cols = cols[:MAX_COLUMNS]
    real = data.real.frame if data.real is not None else None
    with plots.styled():
        fig, axes = plots.new_figure(
            len(cols),
            len(shown),
            width=4.4 * len(shown),
            height=1.9 * len(cols) + 0.6,
            layout=None,
        )
        for j, (step, label) in enumerate(shown):
            gen = ev.decoded[step]
            for i, (name, kind) in enumerate(cols):
                ax = axes[i][j]
                if kind == "numeric":
                    g = gen[name].to_numpy(np.float64)
                    r = None if real is None else real[name].to_numpy(np.float64)
                    both = g if r is None else np.r_[g, r]
                    edges = np.histogram_bin_edges(both[np.isfinite(both)], bins=30)
                    if r is not None:
                        ax.hist(r, bins=edges, density=True, color=GREY, label="real")
                    ax.hist(
                        g,
                        bins=edges,
                        density=True,
                        histtype="step",
                        linewidth=1.6,
                        color=plots.PALETTE[0],
                        label="generated",
                    )
                else:
                    values = data.real.categorical[name]
                    x = np.arange(len(values))
                    rf = real[name].astype(str).value_counts(normalize=True)
                    gf = gen[name].astype(str).value_counts(normalize=True)
                    ax.bar(x - 0.2, [rf.get(v, 0) for v in values], 0.4, color=GREY, label="real")
                    ax.bar(
                        x + 0.2,
                        [gf.get(v, 0) for v in values],
                        0.4,
                        color=plots.PALETTE[0],
                        label="generated",
                    )
                    ax.set_xticks(x, [v[:8] for v in values], fontsize=7)
                title = f"{label} · {name}" if i == 0 else name
                sc = scores[(scores["step"] == step) & (scores["column"] == name)]
                if len(sc):
                    title += f"  (score {fmt_sig(float(sc['score'].iloc[0]), 3)})"
                ax.set_title(title, loc="left", fontsize=9)
                ax.set_yticks([])
                if i == 0 and j == 0:
                    ax.legend(fontsize=8, loc="upper right")
    lead = (
        "Each column's distribution in the generated rows (blue outline) over the real rows "
        "(grey), at the best and the last checkpoint: histograms for numeric columns, bars for "
        "categorical ones; the worst-matching columns first."
        if real is not None
        else "Each column's distribution in the generated rows; pass --real to draw the real "
        "rows underneath."
    )
    more = len(ev.columns) - len(cols)
    notes = [f"{more} more column(s) not drawn."] if more > 0 else []
    src = fig_to_data_uri(fig)
    return Section(
        "vector-distributions",
        "Columns: real vs generated",
        lead,
        figures=[Figure("fig-vector-distributions", src, "per-column distributions")],
        notes=notes,
    )


def _scores(scores) -> Section:
    steps = scores["step"].unique()
    mean = scores.groupby("step")["score"].mean()
    last = mean.index[-1]
    lead = (
        "Per column, 1 minus the Kolmogorov-Smirnov statistic (numeric) or 1 minus the total "
        "variation distance (categorical) between generated and real rows "
        "{when} (SDMetrics' column shapes; 1 = same distribution). Mean at step "
        f"{fmt_num(last)}: {fmt_sig(float(mean.iloc[-1]), 3)}."
    )
    if len(steps) < 2:  # one evaluated checkpoint: a bar per column, not a dot on a step axis
        g = scores[scores["step"] == last]
        names = [short_label(str(c), 28) for c in g["column"]]
        vals = g["score"].to_numpy(dtype=np.float64)
        with plots.styled():
            fig, axes = plots.new_figure(width=8.0, height=0.9 + 0.28 * len(names))
            ax = axes[0][0]
            ax.barh(range(len(names)), vals, color=plots.PALETTE[0])
            ax.set_yticks(range(len(names)), names)
            ax.invert_yaxis()
            ax.set_xlim(0, 1.0)
            ax.set_xlabel("1 - KS / 1 - TV (1 = same distribution as the real rows)")
            ax.set_title(f"column shape score at step {fmt_num(last)}", loc="left")
        return Section(
            "vector-scores",
            "Column similarity",
            lead.format(when=f"at the one evaluated checkpoint (step {fmt_num(last)})"),
            figures=[Figure("fig-vector-scores", fig_to_data_uri(fig), "column scores")],
        )
    curves = []
    for i, (name, g) in enumerate(scores.groupby("column", sort=False)):
        curves.append(
            plots.Curve(
                str(name),
                g["step"].to_numpy(),
                g["score"].to_numpy(),
                color=plots.PALETTE[i % len(plots.PALETTE)],
                band=False,
                markers=True,
            )
        )
    curves.append(
        plots.Curve(
            "mean",
            mean.index.to_numpy(),
            mean.to_numpy(),
            color="#222222",
            band=False,
            markers=True,
            linewidth=2.4,
        )
    )
    spec = interactive.chart_spec(
        curves[-11:] if len(curves) > 11 else curves,
        title="column shape score over training",
        ylabel="1 - KS / 1 - TV",
        ylim=(0, 1.02),
    )
    return Section(
        "vector-scores",
        "Column similarity over training",
        lead.format(when="at each checkpoint"),
        figures=[Figure("fig-vector-scores", "", "column scores over steps", spec=spec)],
    )


def short_label(name: str, limit: int = 24) -> str:
    """A column name for an axis: whole up to `limit` characters, else its start and end
    around an ellipsis (so "mean concavity" and "mean concave points" stay apart)."""
    if len(name) <= limit:
        return name
    head = (limit - 1) * 3 // 5
    return name[:head] + "…" + name[-(limit - 1 - head) :]


def _correlations(panels) -> Section | None:
    if not panels:
        return None
    n = len(panels[0][1])
    size = min(7.0, 2.6 + 0.45 * n)
    with plots.styled():
        fig, axes = plots.new_figure(1, len(panels), width=size * len(panels), height=size)
        for ax, (label, names, diff) in zip(axes[0], panels, strict=False):
            im = ax.imshow(diff, cmap="RdBu_r", vmin=-1, vmax=1)
            labels = [short_label(str(c)) for c in names]
            ax.set_xticks(range(len(names)), labels, rotation=90, fontsize=7)
            ax.set_yticks(range(len(names)), labels, fontsize=7)
            if len(names) <= 10:
                for (r, c), v in np.ndenumerate(diff):
                    ax.text(c, r, fmt_dec(v), ha="center", va="center", fontsize=6.5)
            ax.set_title(
                f"{label}\nmax |diff| {fmt_sig(float(np.abs(diff).max()), 2)}",
                loc="left",
                fontsize=8,
            )
        fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8, label="real - generated")
    return Section(
        "vector-correlations",
        "Correlation difference",
        "Pearson correlation of each pair of columns in the real rows minus that in the "
        "generated rows (SDMetrics' column pair trends): white is a pair whose relation the "
        "generator reproduces, red or blue one it misses.",
        figures=[Figure("fig-vector-corr", fig_to_data_uri(fig), "correlation difference")],
    )


def _scatters(data) -> Section:
    steps = _pick(data.steps, MAX_SCATTERS)
    by_step = dict(zip(data.steps, data.arrays, strict=False))
    ncols = min(4, len(steps))
    nrows = int(np.ceil(len(steps) / ncols))
    real = data.real.matrix if data.real is not None else None
    allx = np.vstack([by_step[s] for s in steps] + ([real] if real is not None else []))
    lo, hi = np.percentile(allx, 0.5, axis=0), np.percentile(allx, 99.5, axis=0)
    pad = (hi - lo) * 0.08 + 1e-9
    with plots.styled():
        fig, axes = plots.new_figure(
            nrows, ncols, width=2.6 * ncols, height=2.6 * nrows, layout=None
        )
        for k, ax in enumerate(axes.flat):
            if k >= len(steps):
                ax.set_axis_off()
                continue
            if real is not None:
                ax.scatter(real[:, 0], real[:, 1], s=4, color=GREY, linewidths=0)
            x = by_step[steps[k]]
            ax.scatter(x[:, 0], x[:, 1], s=4, color=plots.PALETTE[0], alpha=0.7, linewidths=0)
            ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
            ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
            ax.set_title(f"step {fmt_num(steps[k])}", loc="left", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    return Section(
        "vector-scatter",
        "Samples over training",
        f"The generated points (blue) at {len(steps)} checkpoints"
        + (", over the real points (grey)." if real is not None else ".")
        + f" Axes: {data.columns[0]} and {data.columns[1]}.",
        figures=[Figure("fig-vector-scatter", fig_to_data_uri(fig), "2-D samples over steps")],
    )


def _tsne(t) -> Section:
    title = "t-SNE of real vs generated rows"
    if t.result is None:
        return Section("vector-tsne", title, "t-SNE could not be computed.", notes=[t.note])
    spec = interactive.tsne_spec(t.result, t.shown)
    return Section(
        "vector-tsne",
        title,
        "One t-SNE of real rows and the generated rows of the checkpoints shown, on columns "
        "standardised by the real rows: generated points that gather in a few islands while "
        "the real ones spread out are a collapse.",
        figures=[Figure("fig-vector-tsne", "", "t-SNE of rows", spec=spec)],
    )
