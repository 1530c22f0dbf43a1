"""Sample diversity: mean pairwise distance of fixed-noise samples (and of real data).

Owns the numbers the mode-collapse rule reads from images: every SampleGrid of
a run is cut back into its samples (SampleGrid.tiles()), each sample becomes a
small greyscale vector, and the grid's diversity is the mean Euclidean
distance between all pairs of samples divided by sqrt(pixels), i.e. a
root-mean-square per-pixel difference in [0, 1] units, comparable across image
sizes. When every sample looks the same (mode collapse) it falls towards 0.

A grid saved without its layout (a TensorBoard or Lightning image made by `make_grid`)
is split by the layout its padding shows (`infer_layouts`, runio.imagegrid.infer_layout).

Real data's diversity is computed the same way when the run says where its data
came from (today: scikit-learn's digits, config `dataset` mentioning "digits").
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from ..errors import GanAnalyzeError
from ..files.bounded import open_image
from ..run import Run, SampleGrid
from ..runio.imagegrid import infer_layout

FEATURE_SIDE = 16  # samples larger than this are box-downscaled to at most 16x16 before comparing
NEAR_DUPLICATE = (
    0.02  # pairs closer than this (RMS per pixel, [0, 1] units) count as near-duplicates
)


def _image_size(g: SampleGrid) -> tuple[int, int] | None:
    try:
        with open_image(g.read_bytes(), g.path or g.tag) as im:
            return tuple(im.size)
    except Exception:  # unreadable: sample_diversity reports it when it reads the grid
        return None


def infer_layouts(run: Run) -> int:
    """Give the run's sample images that came without a layout the layout their padding shows
    (one image per tag and size is read; the others of that tag and size share it). Returns
    how many grids got a layout; images that are no padded grid keep none (one sample)."""
    done = 0
    known: dict[tuple[str, tuple[int, int]], dict[str, Any] | None] = {}
    for g in run.samples:
        if g.nrow and g.ncol and g.tile:
            continue
        size = _image_size(g)
        if size is None:
            continue
        key = (g.tag, size)
        if key not in known:
            try:
                img = np.rint(g.tiles()[0] * 255.0).astype(np.uint8)
            except (OSError, ValueError, GanAnalyzeError):
                continue
            known[key] = infer_layout(img)
        lay = known[key]
        if lay is None:
            continue
        for k, v in SampleGrid.layout_fields(lay).items():
            setattr(g, k, v)
        done += 1
    return done


def sample_features(tiles: np.ndarray, side: int | None = None) -> np.ndarray:
    """(N, H, W[, C]) images in [0, 1] -> (N, side*side) greyscale vectors.

    side: the output side length (default: min(H, FEATURE_SIDE)); images are
    resized with a box filter (an average over pixels), so a blurry mode and a
    sharp one compare fairly.
    """
    from PIL import Image

    x = np.asarray(tiles, dtype=np.float32)
    if x.ndim == 4:
        x = x.mean(axis=3)
    n, h, w = x.shape
    side = int(side or min(h, w, FEATURE_SIDE))
    if (h, w) == (side, side):
        return x.reshape(n, -1).astype(np.float64)
    out = np.empty((n, side * side))
    for i in range(n):
        im = Image.fromarray(x[i], mode="F").resize((side, side), Image.Resampling.BOX)
        out[i] = np.asarray(im, dtype=np.float64).reshape(-1)
    return out


def pairwise_stats(features: np.ndarray) -> dict[str, float]:
    """Mean pairwise RMS distance and the fraction of near-duplicate pairs."""
    x = np.asarray(features, dtype=np.float64)
    n, d = x.shape
    if n < 2:
        return {"diversity": float("nan"), "near_duplicates": float("nan"), "n": n}
    sq = np.einsum("ij,ij->i", x, x)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)
    iu = np.triu_indices(n, 1)
    dist = np.sqrt(d2[iu] / d)
    return {
        "diversity": float(dist.mean()),
        "near_duplicates": float((dist < NEAR_DUPLICATE).mean()),
        "n": n,
    }


def grid_diversity(grid: SampleGrid, side: int | None = None) -> dict[str, Any]:
    """Diversity of one sample grid: {step, n, diversity, near_duplicates, side}.

    n < 2 (layout unknown, so the whole image is one sample) gives NaN diversity.
    """
    tiles = grid.tiles()
    feats = sample_features(tiles, side)
    side_used = int(round(np.sqrt(feats.shape[1])))
    return {"step": int(grid.step), "side": side_used, **pairwise_stats(feats)}


def sample_diversity(run: Run, side: int | None = None) -> pd.DataFrame:
    """One row per sample grid of `run` with at least 2 samples: step, n, diversity,
    near_duplicates.

    Grids whose image cannot be read are left out (and noted in run.warnings), and so are
    grids whose samples held NaN/Inf (SampleGrid.nonfinite: the divergence rule's).
    Several grids at the same step (different tags) are averaged.
    """
    rows = []
    for g in run.samples:
        if not (g.nrow and g.ncol and g.tile) or g.nonfinite:
            continue  # no layout; or NaN/Inf drawn black: a divergence, not a collapse
        try:
            r = grid_diversity(g, side)
        except (OSError, ValueError, GanAnalyzeError) as e:
            run.warnings.append(
                f"sample grid at step {g.step}: unreadable ({e}); left out of the diversity check"
            )
            where = str(g.path) if g.path is not None else f"sample image {g.tag!r}"
            problem = f"unreadable sample image at step {g.step}"
            if (where, problem) not in run.damaged:
                run.damaged.append((where, problem))
            continue
        if r["n"] >= 2:
            rows.append(r)
    if not rows:
        return pd.DataFrame(
            {
                "step": pd.Series([], dtype="int64"),
                "n": [],
                "diversity": [],
                "near_duplicates": [],
                "side": [],
            }
        )
    df = pd.DataFrame(rows)
    return df.groupby("step", as_index=False).agg(
        {"n": "sum", "diversity": "mean", "near_duplicates": "mean", "side": "first"}
    )


def real_dataset(run: Run) -> str | None:
    """The built-in real dataset a run was trained on, when its config says so ("sklearn-digits"),
    else None.
    """
    for key in ("dataset", "data", "real", "dataset_name"):
        v = run.config.get(key)
        if isinstance(v, str) and "digits" in v.lower():
            return "sklearn-digits"
    return None


def real_diversity(run: Run, side: int = 8, n: int = 512, seed: int = 0) -> float | None:
    """Diversity of the run's real data at feature size `side`, or None when unknown.

    Uses `n` images drawn with a fixed seed (mean pairwise distance does not
    depend on how many are drawn, only its noise does).
    """
    if real_dataset(run) != "sklearn-digits":
        return None
    return _digits_diversity(side, n, seed)


@functools.lru_cache(maxsize=8)
def _digits_diversity(side: int, n: int, seed: int) -> float:
    """sklearn digits' diversity; cached because the rules and the report both ask (0.6 s each)."""
    from ..metrics.realdata import digits_images  # sklearn's data file, without importing sklearn

    imgs = digits_images()[0].astype(np.float32) / 16.0
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(imgs), size=min(n, len(imgs)), replace=False)
    return pairwise_stats(sample_features(imgs[pick], side))["diversity"]
