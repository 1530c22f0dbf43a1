"""The report's non-line charts: heatmaps, 2-D scatter (t-SNE)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .plots import PALETTE, fmt_step, new_figure, styled


def heatmap(
    ax: Any,
    matrix: np.ndarray,
    row_labels: Sequence[str],
    col_values: Sequence[float],
    cmap: str = "viridis",
    colorbar_label: str = "",
    fig: Any = None,
) -> None:
    """A heat map (rows x columns) with step values on the x axis and a colour bar."""
    m = np.asarray(matrix, dtype=np.float64)
    cols = np.asarray(col_values, dtype=np.float64)
    if cols.size > 1:
        edges = np.r_[
            cols[0] - (cols[1] - cols[0]) / 2,
            (cols[1:] + cols[:-1]) / 2,
            cols[-1] + (cols[-1] - cols[-2]) / 2,
        ]
    else:
        edges = np.array([cols[0] - 0.5, cols[0] + 0.5]) if cols.size else np.array([0.0, 1.0])
    yedges = np.arange(m.shape[0] + 1) - 0.5
    mesh = ax.pcolormesh(edges, yedges, np.ma.masked_invalid(m), cmap=cmap, shading="flat")
    ax.set_yticks(np.arange(m.shape[0]))
    ax.set_yticklabels(list(row_labels), fontsize=7)
    ax.invert_yaxis()
    ax.grid(False)
    ax.xaxis.set_major_formatter(fmt_step)
    if fig is not None:
        cb = fig.colorbar(mesh, ax=ax, pad=0.01, fraction=0.03)
        if colorbar_label:
            cb.set_label(colorbar_label)


def scatter_2d(
    groups: Sequence[tuple[str, np.ndarray]],
    title: str = "",
    ax: Any = None,
    width: float = 4.2,
    height: float = 4.0,
) -> Any:
    """A 2-D scatter of labelled point groups (t-SNE embeddings). Returns the figure (or None with
    ax).
    """
    fig = None
    if ax is None:
        with styled():
            fig, axes = new_figure(width=width, height=height)
            scatter_2d(groups, title, axes[0][0])
        return fig
    for i, (label, pts) in enumerate(groups):
        pts = np.asarray(pts)
        ax.scatter(
            pts[:, 0],
            pts[:, 1],
            s=7,
            alpha=0.6,
            color=PALETTE[i % len(PALETTE)],
            label=f"{label} ({len(pts)})",
            linewidths=0,
        )
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, loc="left")
    ax.legend(loc="best", markerscale=2)
    return fig


def tsne_panels(result: Any, shown: Sequence[tuple[int, str]]) -> Any:
    """A t-SNE embedding (analysis.tsne.TsneResult), one panel per (step, label) in `shown`:
    the real points (when there are any) against that checkpoint's generated points, on
    shared axes (one embedding, one coordinate system)."""
    with styled():
        fig, axes = new_figure(
            1, len(shown), width=4.2 * len(shown), height=4.0, sharex=True, sharey=True
        )
        for ax, (step, label) in zip(axes[0], shown, strict=True):
            real = [("real", result.real)] if len(result.real) else []
            scatter_2d([*real, (label, result.fake[step])], title=label, ax=ax)
    return fig

