"""The real data a sweep compares against (`--real`), and its cached features.

Accepted forms (`load_real`):

- a folder of images, searched recursively (png, jpg, jpeg, bmp, webp, tif,
  tiff, ppm, pgm; any case). All images must have the same size. They are read
  as greyscale when every file is a greyscale image, else as RGB (as
  pytorch-fid does), and scaled to [0, 1];
- a `.npy` or `.npz` image array: (N, H, W), (N, H, W, C) or (N, C, H, W) with
  C in {1, 3}; uint8 (or any integer type) in [0, 255], or float in [0, 1]. An
  array whose dimension 1 is 1 or 3 is read as NCHW, otherwise one whose last
  dimension is 1 or 3 as NHWC. In a `.npz` the array is the only one, or the
  one named `images`, `x` or `arr_0`;
- a pytorch-fid statistics `.npz` (arrays `mu` and `sigma`): FID (and Inception
  Score, which needs no real data) only;
- `sklearn-digits`: scikit-learn's 1,797 8x8 digits, 0..16 scaled to [0, 1],
  shape (N, 1, 8, 8).

Labelled real data (for a conditional generator's per-class metrics): a folder whose
images all sit in one subfolder per class (the class is the subfolder's number when
every subfolder is named by one, else its rank in name order), a `.npz` holding an
integer array `labels` (or `y`) beside the images, and `sklearn-digits` (its digit).
`RealData.labels` is then one class per image, in `load` order.

Features of real data are expensive (Inception on 50,000 images), so they are
cached on disk (`real_features`), keyed by a SHA-256 of the data's *contents*
(file bytes, array bytes: never names or modification times), the extractor's
key and the preprocessing, and written atomically.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GanAnalyzeError
from ..files.atomic import atomic_write
from ..files.bounded import TooCostly, is_regular, load_npy, open_image
from ..files.runfiles import keep_inside

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
BUILTIN = ("sklearn-digits",)
CACHE_VERSION = "real-features-v1"


def default_cache_dir() -> Path:
    """$GANANALYZE_CACHE, else ~/.cache/gananalyze."""
    env = os.environ.get("GANANALYZE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gananalyze"


@dataclass
class RealData:
    """Real data, described without decoding it all.

    kind "images": `count` images of shape `shape` (C, H, W), read by
    `load(start, stop)` as float32 (B, C, H, W) in [0, 1]. kind "stats": only
    FID statistics `mu`, `sigma`. `digest` is the SHA-256 of the contents;
    `prep` names the preprocessing (part of the cache key).
    """

    source: str
    kind: str
    digest: str
    prep: str
    count: int = 0
    shape: tuple[int, int, int] | None = None
    mu: np.ndarray | None = None
    sigma: np.ndarray | None = None
    labels: np.ndarray | None = None  # int64 class of each image, in load order
    _load: Callable[[int, int], np.ndarray] | None = field(default=None, repr=False)

    @property
    def short(self) -> str:
        """Short content hash stored in the results' `real` column."""
        return self.digest[:12]

    def load(self, start: int, stop: int) -> np.ndarray:
        """Images start..stop-1 as float32 (B, C, H, W) in [0, 1]."""
        if self._load is None:
            raise GanAnalyzeError(f"{self.source}: holds FID statistics only, no images")
        return self._load(start, stop)

    def describe(self) -> str:
        if self.kind == "stats":
            return f"{self.source} (FID statistics, {self.mu.shape[0]} dims)"
        c, h, w = self.shape
        return f"{self.source} ({self.count} images, {c}x{h}x{w})"


# ---------------------------------------------------------------- loading


def load_real(spec: str | os.PathLike, within: Path | None = None) -> RealData:
    """Open `--real` (see the module docstring for the accepted forms). `within`: the
    run folder, when the spec came from the run itself: files of a folder that lead
    outside it are left out. A FIFO, device or socket is never opened."""
    s = str(spec)
    if s in BUILTIN:
        return _sklearn_digits()
    p = Path(s).expanduser()
    if p.is_dir():
        return _folder(p, within)
    if not p.exists():
        raise GanAnalyzeError(
            f"{p}: real data not found (expected a folder of images, a .npy/.npz file "
            f"or one of: {', '.join(BUILTIN)})"
        )
    if not is_regular(p):
        raise GanAnalyzeError(f"{p}: not a regular file (a FIFO, device or socket); not opened")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        try:
            arr = load_npy(p, mmap_mode="r")
        except TooCostly as e:
            raise GanAnalyzeError(str(e)) from None
        except Exception as e:
            raise GanAnalyzeError(
                f"{p}: not a readable .npy array ({type(e).__name__}: {e})"
            ) from None
        return _array(str(p), arr)
    if suffix == ".npz":
        return _npz(p)
    raise GanAnalyzeError(
        f"{p}: unsupported real data file (expected a folder of images, a .npy or .npz file)"
    )


def _sha(*parts: bytes | str) -> Any:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h


def digits_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits (N, 8, 8), 0..16, and their classes, read from its data file
    without importing sklearn (which takes seconds); load_digits() when the file is not
    where expected."""
    import gzip
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    for base in (spec.submodule_search_locations or []) if spec else []:
        f = Path(base) / "datasets" / "data" / "digits.csv.gz"
        if f.is_file():
            with gzip.open(f) as fh:
                data = np.loadtxt(fh, delimiter=",")
            return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    ds = load_digits()
    return ds.images, ds.target.astype(np.int64)


def _sklearn_digits() -> RealData:
    images, labels = digits_images()
    x = np.ascontiguousarray((images.astype(np.float32) / 16.0)[:, None])
    digest = _sha("sklearn-digits", str(x.shape), x.tobytes()).hexdigest()
    return RealData(
        source="sklearn-digits",
        kind="images",
        digest=digest,
        prep="array:float",
        count=len(x),
        shape=tuple(x.shape[1:]),
        labels=labels,
        _load=lambda a, b: x[a:b],
    )


def _npz(p: Path) -> RealData:
    try:
        with np.load(p, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as e:
        raise GanAnalyzeError(f"{p}: not a readable .npz file ({type(e).__name__}: {e})") from None
    if "mu" in arrays and "sigma" in arrays:
        mu = np.asarray(arrays["mu"], dtype=np.float64).reshape(-1)
        sigma = np.atleast_2d(np.asarray(arrays["sigma"], dtype=np.float64))
        if sigma.shape != (mu.shape[0], mu.shape[0]):
            raise GanAnalyzeError(
                f"{p}: mu has shape {mu.shape} but sigma {sigma.shape}; expected (D,) and (D, D)"
            )
        digest = _sha("stats", mu.tobytes(), sigma.tobytes()).hexdigest()
        return RealData(
            source=str(p), kind="stats", digest=digest, prep="stats", mu=mu, sigma=sigma
        )
    label_key = next((k for k in LABEL_ARRAYS if k in arrays), None)
    images = {k: v for k, v in arrays.items() if k != label_key}
    if len(images) == 1:
        arr = next(iter(images.values()))
    else:
        name = next((k for k in ("images", "x", "arr_0") if k in images), None)
        if name is None:
            raise GanAnalyzeError(
                f"{p}: holds several arrays ({', '.join(arrays)}); name the images 'images' "
                "(or save 'mu' and 'sigma' for FID statistics)"
            )
        arr = images[name]
    rd = _array(str(p), arr)
    if label_key is not None:
        rd.labels = _checked_labels(p, arrays[label_key], rd.count)
    return rd


LABEL_ARRAYS = ("labels", "y")


def _checked_labels(p: Path, y: np.ndarray, count: int) -> np.ndarray:
    """A .npz's class array as int64 (count,), or one line naming the problem."""
    y = np.asarray(y)
    if y.shape != (count,) or y.dtype.kind not in "iu":
        raise GanAnalyzeError(
            f"{p}: the labels must be {count} integer classes (one per image), found "
            f"{y.dtype} {tuple(y.shape)}"
        )
    if count and (y.min() < 0 or y.max() >= 1 << 16):
        raise GanAnalyzeError(f"{p}: labels must lie in 0..65535, found {y.min()}..{y.max()}")
    return y.astype(np.int64)


def _folder_classes(root: Path, files: list[Path]) -> dict[Path, int] | None:
    """Each file's class when every image sits in a direct subfolder of `root` (one per
    class, at least two): the subfolder's number when all are numbers, else its rank."""
    tops = [p.relative_to(root).parts for p in files]
    if any(len(t) != 2 for t in tops):
        return None
    names = sorted({t[0] for t in tops})
    if len(names) < 2:
        return None
    if all(n.isdecimal() and int(n) < 1 << 16 for n in names):
        number = {n: int(n) for n in names}
    else:
        number = {n: i for i, n in enumerate(names)}
    return {p: number[t[0]] for p, t in zip(files, tops, strict=True)}



def _layout(source: str, shape: tuple[int, ...]) -> str:
    if len(shape) == 3:
        return "NHW"
    if len(shape) == 4:
        if shape[1] in (1, 3):
            return "NCHW"
        if shape[3] in (1, 3):
            return "NHWC"
    raise GanAnalyzeError(
        f"{source}: image array has shape {tuple(shape)}; expected (N, H, W), (N, "
        "H, W, C) or (N, C, H, W) with C = 1 or 3"
    )


def _array(source: str, arr: np.ndarray) -> RealData:
    layout = _layout(source, arr.shape)
    if arr.shape[0] < 2:
        raise GanAnalyzeError(f"{source}: needs at least 2 images, found {arr.shape[0]}")
    kind = arr.dtype.kind
    if kind not in "uif":
        raise GanAnalyzeError(
            f"{source}: image array has dtype {arr.dtype}; expected uint8 in [0, 255] "
            "or float in [0, 1]"
        )
    h = _sha("array", layout, str(arr.dtype), str(tuple(arr.shape)))
    lo, hi = np.inf, -np.inf
    step = max(1, (64 << 20) // max(1, arr[0].nbytes))
    for a in range(0, arr.shape[0], step):
        chunk = np.ascontiguousarray(arr[a : a + step])
        h.update(chunk.tobytes())
        lo, hi = min(lo, float(chunk.min())), max(hi, float(chunk.max()))
    if kind == "f":
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise GanAnalyzeError(f"{source}: image array contains NaN or Inf")
        if lo < 0 or hi > 1:
            raise GanAnalyzeError(
                f"{source}: float images must lie in [0, 1], found values in [{lo:g}, {hi:g}] "
                "(map [-1, 1] data with (x + 1) / 2)"
            )
        scale = 1.0
    else:
        if lo < 0 or hi > 255:
            raise GanAnalyzeError(
                f"{source}: integer images must lie in [0, 255], found values in [{lo:g}, {hi:g}]"
            )
        scale = 1.0 / 255.0
    if layout == "NHW":
        shape = (1, arr.shape[1], arr.shape[2])
    elif layout == "NCHW":
        shape = tuple(arr.shape[1:])
    else:
        shape = (arr.shape[3], arr.shape[1], arr.shape[2])

    def load(a: int, b: int) -> np.ndarray:
        x = np.asarray(arr[a:b])
        if layout == "NHW":
            x = x[:, None]
        elif layout == "NHWC":
            x = x.transpose(0, 3, 1, 2)
        x = x.astype(np.float32)
        if scale != 1.0:
            x = x / np.float32(255.0)  # what torchvision's to_tensor does with PNG bytes
        return np.ascontiguousarray(x)

    return RealData(
        source=source,
        kind="images",
        digest=h.hexdigest(),
        prep=f"array:{'float' if kind == 'f' else 'uint8'}",
        count=int(arr.shape[0]),
        shape=tuple(int(s) for s in shape),
        _load=load,
    )


def _folder(root: Path, within: Path | None = None) -> RealData:
    from PIL import UnidentifiedImageError

    files = sorted(
        p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and is_regular(p)
    )
    if within is not None:
        files = keep_inside(within, files)
    if len(files) < 2:
        raise GanAnalyzeError(
            f"{root}: needs at least 2 images ({', '.join(IMAGE_EXTENSIONS)}), found {len(files)}"
        )
    entries = []
    size = None
    grey = True
    for p in files:
        data = p.read_bytes()
        try:
            with open_image(data, p) as im:
                mode, sz = im.mode, im.size
        except TooCostly as e:
            raise GanAnalyzeError(str(e)) from None
        except (UnidentifiedImageError, OSError) as e:
            raise GanAnalyzeError(f"{p}: not a readable image ({type(e).__name__})") from None
        if size is None:
            size, first = sz, p
        elif sz != size:
            raise GanAnalyzeError(
                f"{p}: image is {sz[0]}x{sz[1]} but {first} is {size[0]}x{size[1]}; all real "
                "images must have the same size"
            )
        grey = grey and mode in GREY_MODES
        entries.append((hashlib.sha256(data).hexdigest(), str(p.relative_to(root)), p))
    # Order by content, so that renaming or moving files changes neither the hash nor the features.
    entries.sort()
    mode = "L" if grey else "RGB"
    digest = _sha("folder", mode, *[e[0] for e in entries]).hexdigest()
    paths = [e[2] for e in entries]
    shape = (1 if grey else 3, size[1], size[0])
    classes = _folder_classes(root, paths)

    def load(a: int, b: int) -> np.ndarray:
        out = np.empty((b - a, *shape), dtype=np.float32)
        for i, p in enumerate(paths[a:b]):
            with open_image(p, p) as im:
                x = np.asarray(im.convert(mode), dtype=np.uint8)
            x = x[None] if grey else x.transpose(2, 0, 1)
            out[i] = x.astype(np.float32) / np.float32(255.0)
        return out

    return RealData(
        source=str(root),
        kind="images",
        digest=digest,
        prep=f"folder:{mode}",
        count=len(paths),
        shape=shape,
        labels=None if classes is None else np.array([classes[p] for p in paths], np.int64),
        _load=load,
    )


# ---------------------------------------------------------------- features


@dataclass
class RealFeatures:
    """Features (N, D) float32 (None for statistics files) and FID statistics in float64."""

    features: np.ndarray | None
    mu: np.ndarray
    sigma: np.ndarray
    cache_path: Path | None = None
    from_cache: bool = False


def cache_path(real: RealData, extractor: Any, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the features of `real` under `extractor` are cached (content hash + extractor +
    preprocessing).
    """
    key = _sha(CACHE_VERSION, real.digest, real.prep, str(extractor.key)).hexdigest()[:40]
    base = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    return base / f"real-{key}.npz"


def real_features(
    real: RealData,
    extractor: Any,
    embed: Callable[[Callable[[int, int], np.ndarray], int], np.ndarray],
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
) -> RealFeatures:
    """Features and statistics of `real` under `extractor`, from the cache when present.

    embed(load, n) runs the extractor over images load(a, b) for range(n) and
    returns float32 features (n, D) (the sweep passes its OOM-safe batcher).
    """
    from .fid import feature_stats

    if real.kind == "stats":
        if extractor.dims is not None and real.mu.shape[0] != extractor.dims:
            raise GanAnalyzeError(
                f"{real.source}: statistics have {real.mu.shape[0]} dims but the "
                f"'{extractor.name}' "
                f"features have {extractor.dims}; they come from a different feature extractor"
            )
        return RealFeatures(None, real.mu, real.sigma)
    path = cache_path(real, extractor, cache_dir)
    if use_cache and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as f:
                feats, mu, sigma = f["features"], f["mu"], f["sigma"]
            if (
                feats.ndim == 2
                and feats.shape[0] == real.count
                and extractor.dims in (None, feats.shape[1])
            ):
                return RealFeatures(feats, mu, sigma, path, True)
        except Exception:  # a damaged cache file is recomputed and replaced
            pass
    feats = np.ascontiguousarray(embed(real.load, real.count), dtype=np.float32)
    mu, sigma = feature_stats(feats)
    if use_cache:

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(
                    fh,
                    features=feats,
                    mu=mu,
                    sigma=sigma,
                    source=np.array(real.source),
                    digest=np.array(real.digest),
                    extractor=np.array(str(extractor.key)),
                )

        try:
            atomic_write(path, write)
        except OSError:
            path = None  # a read-only cache directory only costs speed
    return RealFeatures(feats, mu, sigma, path if use_cache else None, False)
