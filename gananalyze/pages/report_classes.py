"""The report's per-class section for a conditional run: the per-class metric table
(worst classes first, in the order analysis.conditional gives) and the per-class grid
over training (one row per class, one column per logged step: each cell is that class's
row of the stored sample grid). Draws what `ClassEvidence` holds; computes nothing.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from ..analysis.conditional import ClassEvidence
from ..files.bounded import TooCostly, open_image
from ..run import SampleGrid
from ..textfmt import fmt_num, fmt_pct, fmt_sig
from . import pngs
from .sections import PageTable

ROW_WIDTH = 160  # px: a class's row of samples is upscaled (crisp pixels) to at least this

SUMMARY_NAMES = {
    "cond_acc": "conditional accuracy",
    "cond_acc_chance": "chance level",
    "cond_acc_real": "real data's own accuracy",
    "class_coverage": "class coverage",
    "cdiv": "diversity vs real",
    "cfid": "per-class FID (mean)",
    "cfid_worst": "per-class FID (worst)",
}
_PCT = ("cond_acc", "cond_acc_chance", "cond_acc_real", "class_coverage")


def _row_crops(grid: SampleGrid) -> dict[int, str]:
    """class -> data URI of that class's row of the grid (empty when the image is unreadable)."""
    from PIL import Image

    try:
        img = open_image(grid.read_bytes(), grid.path or "sample grid").convert("RGB")
    except (TooCostly, OSError, ValueError):
        return {}
    th, _ = grid.tile
    p, ncol = grid.padding, grid.ncol
    out: dict[int, str] = {}
    for r in range(grid.nrow or 0):
        cells = [lab for lab in grid.labels[r * ncol : (r + 1) * ncol] if lab >= 0]
        if not cells:
            continue
        y = p + r * (th + p)
        crop = img.crop((0, max(0, y - p), img.size[0], y + th + p))
        buf = io.BytesIO()
        Image.fromarray(np.asarray(crop)).save(buf, format="PNG")
        png = pngs.upscale_png(buf.getvalue(), min_width=ROW_WIDTH, max_factor=16)
        out[int(cells[0])] = pngs.png_data_uri(png)
    return out


def class_section(ev: ClassEvidence | None) -> dict[str, Any] | None:
    """The template's `per_class` block: summary, table and grid; None when there is none."""
    if ev is None:
        return None
    t = ev.table
    table = None
    if len(t):
        rows = [
            [
                str(int(r["class"])),
                fmt_pct(r["acc"]),
                "" if not np.isfinite(r["pred"]) else str(int(r["pred"])),
                fmt_pct(r["pred_share"]),
                fmt_sig(r["fid"]),
                fmt_sig(r["div"]),
            ]
            for _, r in t.iterrows()
        ]
        table = PageTable(
            caption=f"Per class at step {fmt_num(t.attrs.get('step'))}, worst first",
            headers=[
                "class",
                "accuracy",
                "most samples look like",
                "share",
                "FID within class",
                "diversity vs real class",
            ],
            rows=rows,
            css="classes",
        )
    summary = [
        (SUMMARY_NAMES[k], fmt_pct(v) if k in _PCT else fmt_sig(v))
        for k, v in ev.summary.items()
        if k in SUMMARY_NAMES
    ]
    crops = [(g.step, _row_crops(g)) for g in ev.grids]
    grid_rows = [
        {"label": f"class {c}", "cells": [cells.get(c, "") for _, cells in crops]}
        for c in ev.order
        if any(c in cells for _, cells in crops)
    ]
    return {
        "id": "per-class",
        "title": "Per class",
        "lead": f"The generator takes a class label ({ev.classes or 'unknown number of'} "
        "classes). Accuracy: the share of the samples asked for a class that a k-nearest-"
        "neighbour classifier on the real samples' features assigns to it (fid-sweep).",
        "summary": summary,
        "table": table,
        "steps": [fmt_num(s) for s, _ in crops],
        "grid": grid_rows,
    }
