"""Image sample grids: a batch of samples tiled into one picture.

`RunLog.samples` stores each image batch as one PNG grid plus its layout (rows,
columns, tile size, padding, count) in samples/index.jsonl, so that the samples
can be cut back out for the diversity and collapse checks (run.SampleGrid).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import GanAnalyzeError


def make_grid(
    images: np.ndarray,
    nrow: int | None = None,
    padding: int = 2,
    value_range: tuple[float, float] | None = None,
    cells: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Tile (N, C, H, W) or (N, H, W) images into one uint8 grid (like torchvision's make_grid).

    cells: which sample goes in each cell, row-major (-1 leaves a cell black), with
    `nrow` the number of columns: a conditional run's one row per class (labels.class_rows).
    Returns the (H, W, C) uint8 image and its layout (for cutting samples back out).
    """
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise GanAnalyzeError(
            f"samples must be (N, C, H, W) or (N, H, W), got shape {tuple(x.shape)}"
        )
    n, c, h, w = x.shape
    if value_range is None:
        value_range = (-1.0, 1.0) if float(np.nanmin(x)) < 0 else (0.0, 1.0)
    lo, hi = value_range
    x = np.clip((x - lo) / (hi - lo), 0, 1)
    x = np.nan_to_num(x, nan=0.0)
    x = (x * 255 + 0.5).astype(np.uint8)
    if c == 1:
        x = np.repeat(x, 3, axis=1)
    elif c == 4:
        x = x[:, :3]
    elif c != 3:
        raise GanAnalyzeError(
            f"samples: shape {tuple(images.shape)} is not an image batch (N, C, H, W) with "
            "C = 1, 3 or 4"
        )
    order = np.arange(n) if cells is None else np.asarray(cells, dtype=np.int64)
    ncol = nrow or int(math.ceil(math.sqrt(len(order))))
    nrows = int(math.ceil(len(order) / ncol))
    H = nrows * (h + padding) + padding
    W = ncol * (w + padding) + padding
    grid = np.zeros((H, W, 3), dtype=np.uint8)
    for i, k in enumerate(order):
        if k < 0:
            continue
        r, col = divmod(i, ncol)
        y, xx = padding + r * (h + padding), padding + col * (w + padding)
        grid[y : y + h, xx : xx + w] = x[k].transpose(1, 2, 0)
    layout = {"nrow": nrows, "ncol": ncol, "tile": [h, w], "padding": padding, "count": len(order)}
    return grid, layout
