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
    Returns the (H, W, C) uint8 image and its layout (for cutting samples back out), with the
    value range drawn black to white ("range"; values outside it are clipped).
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
    layout["range"] = [float(lo), float(hi)]  # the values drawn black to white
    return grid, layout


MAX_PADDING = 8  # widest padding infer_layout tries (torchvision's default is 2)


def _bands(pad: np.ndarray, p: int) -> int | None:
    """The smallest period T (tile + padding) such that the `p` lines starting at every
    multiple of T are padding, len(pad) = n * T + p with n >= 1, and every tile band holds
    a line that is not padding; None when no period fits."""
    size = len(pad)
    for t in range(p + 2, size - p + 1):
        if (size - p) % t:
            continue
        starts = np.arange(0, size, t)
        sep = (starts[:, None] + np.arange(p)[None, :]).ravel()
        if not pad[sep].all():
            continue
        n = (size - p) // t
        if all(not pad[k * t + p : (k + 1) * t].all() for k in range(n)):
            return t
    return None


def infer_layout(img: np.ndarray) -> dict[str, Any] | None:
    """The layout of an (H, W, C) image that is a grid of samples tiled with uniform padding
    (torchvision's / TensorBoard's make_grid), read from the padding itself: the colour of the
    top-left pixel fills whole lines at a fixed period on both axes. None when the image is
    not such a grid (no uniform padding, or fewer than two tiles).

    Returns {nrow, ncol, tile: [h, w], padding, count}: of the paddings that fit, the one
    giving the most tiles (a wrong padding fits only with a longer period); count leaves out
    trailing tiles that are padding alone (make_grid fills the last row with the pad colour).
    """
    a = np.asarray(img)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or min(a.shape[:2]) < 5:
        return None
    is_pad = (a == a[0, 0][None, None, :]).all(axis=2)
    if is_pad.all():
        return None
    rows, cols = is_pad.all(axis=1), is_pad.all(axis=0)
    best = None  # the most tiles: a wrong padding fits only with a longer period
    for p in range(1, MAX_PADDING + 1):
        tr, tc = _bands(rows, p), _bands(cols, p)
        if tr is None or tc is None:
            continue
        nrow, ncol = (a.shape[0] - p) // tr, (a.shape[1] - p) // tc
        if nrow * ncol >= 2 and (best is None or nrow * ncol > best[0] * best[1]):
            best = (nrow, ncol, tr, tc, p)
    if best is None:
        return None
    nrow, ncol, tr, tc, p = best
    h, w = tr - p, tc - p
    count = nrow * ncol
    while count > 1:
        r, c = divmod(count - 1, ncol)
        y, x = p + r * tr, p + c * tc
        if not is_pad[y : y + h, x : x + w].all():
            break
        count -= 1
    return {"nrow": nrow, "ncol": ncol, "tile": [h, w], "padding": p, "count": count}
