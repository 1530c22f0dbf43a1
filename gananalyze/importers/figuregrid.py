"""Sample grids drawn as a figure of subplots, not tiled by make_grid: the TensorFlow DCGAN
tutorial's `generate_and_save_images` (a 4x4 `plt.subplot` per sample, `plt.axis('off')`,
`plt.savefig('image_at_epoch_{:04d}.png')`) and the many Keras and PyTorch trainers that copy
it. The samples sit on the figure's background (white) at a regular spacing set by the
figure's margins, not on a uniform padding, so `runio.imagegrid.infer_layout` finds no
grid. Here each subplot is cut out by the background lines around it and the cells are tiled
again with make_grid, so that the diagnosis can tell the samples apart.

A figure is read as subplots when the rows and columns holding something other than the
background colour form bands of one size (within 1 pixel or 5%), at least 4 pixels, with
even gaps between them (within 2 pixels), at least two cells in all; smaller bands (tick
labels, a title) are passed over, larger ones make it no such figure.
"""

from __future__ import annotations

import numpy as np

TOLERANCE = 8  # how far a channel may lie from the background colour and still be background


def _bands(content: np.ndarray) -> list[tuple[int, int]] | None:
    """The runs of True in `content` that are the subplots: [(start, stop)], or None."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], content.astype(np.int8), [0]))))
    runs = list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
    if not runs:
        return None
    sizes = np.array([b - a for a, b in runs])
    size = int(np.median(sizes[sizes >= 0.5 * sizes.max()]))
    slack = max(1, round(0.05 * size))
    keep = [r for r, s in zip(runs, sizes, strict=True) if abs(s - size) <= slack]
    if (
        size < 4
        or any(s > size + slack for s in sizes)
        or any(s >= 0.5 * size for r, s in zip(runs, sizes, strict=True) if r not in keep)
    ):
        return None
    gaps = [b[0] - a[1] for a, b in zip(keep, keep[1:], strict=False)]
    if gaps and max(gaps) - min(gaps) > 2:
        return None
    return keep


def _inside(bands: list[tuple[int, int]], size: int) -> np.ndarray:
    """A mask of the lines inside the bands."""
    mask = np.zeros(size, dtype=bool)
    for a, b in bands:
        mask[a:b] = True
    return mask


def subplot_cells(img: np.ndarray) -> list[np.ndarray] | None:
    """The subplots of an (H, W, C) uint8 figure, row-major, each cropped to one size
    (trailing cells that are background alone left out); None when it is no such figure."""
    a = np.asarray(img)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or min(a.shape[:2]) < 8:
        return None
    bg = a[0, 0].astype(np.int16)
    is_bg = (np.abs(a.astype(np.int16) - bg[None, None, :]) <= TOLERANCE).all(axis=2)
    rows = _bands(~is_bg.all(axis=1))
    if rows is None:
        return None
    # columns seen through the subplots' rows only, then rows through their columns: a title
    # above the subplots, or text beside them, spans the gaps between them
    cols = _bands(~is_bg[_inside(rows, len(is_bg))].all(axis=0))
    if cols is None:
        return None
    rows = _bands(~is_bg[:, _inside(cols, is_bg.shape[1])].all(axis=1))
    if rows is None or len(rows) * len(cols) < 2:
        return None
    h = min(b - a for a, b in rows)
    w = min(b - a for a, b in cols)
    cells = [(y, x) for y, _ in rows for x, _ in cols]
    while len(cells) > 1 and is_bg[cells[-1][0] : cells[-1][0] + h, cells[-1][1] :][:, :w].all():
        cells.pop()
    if len(cells) < 2:
        return None
    return [a[y : y + h, x : x + w] for y, x in cells]


def figure_cells(img: np.ndarray) -> list[np.ndarray] | None:
    """The subplots of `img` when it is a figure of subplots rather than a make_grid grid:
    a figure's margins can pass for a grid's padding (the tutorial's 400x400 figure, white on
    rows 198-199, reads as 2x2 tiles of 197 pixels), so the subplots win where they are more
    cells than the padding gives; None otherwise."""
    from ..runio.imagegrid import infer_layout

    cells = subplot_cells(img)
    if cells is None:
        return None
    layout = infer_layout(img)
    return cells if layout is None or layout["count"] < len(cells) else None


def retiled(data: bytes, where: str) -> tuple[bytes, dict] | None:
    """A figure of subplots (the image file's bytes) as a make_grid PNG of its cells, padding
    2, and its layout; None when the image is no such figure."""
    import io

    from PIL import Image

    from ..files.bounded import open_image
    from ..runio.imagegrid import make_grid

    with open_image(data, where) as im:
        a = np.asarray(im.convert("RGB"))
    cells = figure_cells(a)
    if cells is None:
        return None
    grid, layout = make_grid(
        np.stack(cells).astype(np.float32).transpose(0, 3, 1, 2) / 255.0, value_range=(0.0, 1.0)
    )
    buf = io.BytesIO()
    Image.fromarray(grid).save(buf, format="PNG")
    return buf.getvalue(), layout


def retile_figures(grids: list, where: str) -> tuple[list, list[str]]:
    """Inline images (`SampleGrid.png`, e.g. TensorBoard's) of each tag that is a figure of
    subplots (`writer.add_figure` of a matplotlib grid of samples; judged by the tag's last
    image) replaced by make_grid tilings of their cells with the layout set; returns the grids
    and a note per tag retiled. Images of a tag that are no such figure are left as they were."""
    from dataclasses import replace

    last: dict[str, object] = {}
    for g in grids:
        if g.png is not None:
            last[g.tag] = g
    figures = set()
    for tag, g in last.items():
        try:
            if retiled(g.png, f"{where} ({tag})") is not None:
                figures.add(tag)
        except (OSError, ValueError):
            continue
    if not figures:
        return grids, []
    out, done = [], dict.fromkeys(sorted(figures), 0)
    for g in grids:
        got = None
        if g.tag in figures and g.png is not None:
            try:
                got = retiled(g.png, f"{where} ({g.tag}, step {g.step})")
            except (OSError, ValueError):
                got = None
        if got is None:
            out.append(g)
            continue
        png, lay = got
        done[g.tag] += 1
        out.append(replace(g, png=png, **type(g).layout_fields(lay)))
    notes = [
        f"images '{t}' are figures of subplots: each subplot cut out and tiled ({n} image(s))"
        for t, n in done.items()
    ]
    return out, notes
