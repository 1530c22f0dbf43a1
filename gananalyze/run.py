"""The in-memory `Run`: what every loader and importer returns, and every
analysis (rules, report, compare, fid-sweep) reads.

A Run is format-agnostic: a native run directory and an imported StyleGAN2-ADA,
CycleGAN, TensorBoard or CSV run all become the same object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import GanAnalyzeError
from .files.bounded import TooCostly, load_npy
from .files.datatable import DataTable
from .naming.aliases import resolve
from .naming.roles import ROLES, Resolution, run_roles

LOSS_TYPES = ("bce", "hinge", "wasserstein", "lsgan")

# Columns of `Run.sample_metrics` that describe an evaluation rather than
# measure it (fid-sweep's bookkeeping, StyleGAN's snapshot facts).
SAMPLE_METRIC_META = (
    "step",
    "features",
    "features_key",
    "num_samples",
    "quantized",
    "real",
    "seconds",
    "seconds_features",
    "source",
    "error",
    "timestamp",
    "kimg",
    "snapshot",
    "metric_name",
    "per_class",  # a conditional G's per-class values (JSON; metrics/conditional.py)
)


def empty_scalars() -> pd.DataFrame:
    """A scalars frame with no rows (the shape every loader returns)."""
    return pd.DataFrame({"step": pd.Series([], dtype="int64")})


def empty_nonfinite() -> pd.DataFrame:
    """A `Run.nonfinite` table with no rows."""
    return pd.DataFrame(
        {"step": np.zeros(0, np.int64), "metric": np.zeros(0, object), "value": np.zeros(0)}
    )


@dataclass
class Checkpoint:
    """A saved generator (and maybe discriminator) at one training step.

    kind "native" is a gananalyze state_dict file (loadable with
    weights_only=True); "pickle" is a trainer's pickle (e.g. StyleGAN
    network-snapshot-*.pkl) that is never unpickled without consent (gananalyze.consent).
    """

    step: int
    path: Path
    kind: str = "native"
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class SampleGrid:
    """A fixed-noise sample image (usually a grid) at one step.

    nrow/ncol/tile/padding describe the grid layout when known, so that the
    individual samples can be cut back out (for diversity checks); None when the
    image is a single picture or the layout is unknown.
    """

    step: int
    path: Path | None = None
    png: bytes | None = None  # inline image data when there is no file (e.g. TensorBoard images)
    tag: str = "samples"
    nrow: int | None = None
    ncol: int | None = None
    tile: tuple[int, int] | None = None  # (height, width) of one sample
    padding: int = 0
    count: int | None = None  # how many samples the grid holds
    # a conditional run's grid: the class of each cell, row-major (-1: an empty cell)
    labels: tuple[int, ...] | None = None
    # the share of the logged values that were NaN/Inf (drawn black; RunLog records it)
    nonfinite: float = 0.0
    # the share of the finite values outside the range the grid draws (clipped), and how far
    # the furthest lies from the range's centre in half-widths (RunLog records both)
    outside: float = 0.0
    reach: float | None = None

    @staticmethod
    def layout_fields(lay: dict) -> dict[str, Any]:
        """The layout fields of a grid from a make_grid / infer_layout layout dict (nrow,
        ncol, tile, padding, count): the one reading of that dict."""
        return {
            "nrow": lay["nrow"],
            "ncol": lay["ncol"],
            "tile": tuple(lay["tile"]),
            "padding": lay["padding"],
            "count": lay["count"],
        }

    def read_bytes(self) -> bytes:
        """The PNG/JPEG bytes of the image."""
        if self.png is not None:
            return self.png
        if self.path is None:
            raise ValueError("sample grid has neither data nor a path")
        return Path(self.path).read_bytes()

    def tiles(self) -> np.ndarray:
        """The individual samples as float32 array (N, H, W, C) in [0, 1].

        When the layout is unknown the whole image is one sample.
        """

        from .files.bounded import TooCostly, open_image

        where = self.path if self.path is not None else f"image {self.tag!r}"
        try:
            rgb = open_image(self.read_bytes(), where).convert("RGB")
        except TooCostly as e:
            raise GanAnalyzeError(f"{e}; sample image at step {self.step} left out") from None
        except Exception as e:  # a damaged or truncated image in someone else's run
            where = self.path if self.path is not None else f"image {self.tag!r}"
            detail = str(e).splitlines()[0] if str(e) else "no detail"
            raise GanAnalyzeError(
                f"{where}: unreadable sample image at step {self.step} "
                f"({type(e).__name__}: {detail})"
            ) from None
        img = np.asarray(rgb, dtype=np.float32) / 255.0
        if not (self.nrow and self.ncol and self.tile):
            return img[None]
        th, tw = self.tile
        p = self.padding
        out = []
        for r in range(self.nrow):
            for c in range(self.ncol):
                if self.count is not None and len(out) >= self.count:
                    break
                y = p + r * (th + p)
                x = p + c * (tw + p)
                out.append(img[y : y + th, x : x + tw])
        if self.labels is not None and len(self.labels) == len(out):
            out = [t for t, lab in zip(out, self.labels, strict=True) if lab >= 0]
        return np.stack(out)

    def sample_labels(self) -> np.ndarray | None:
        """The class of each sample `tiles()` returns (int64), or None for an unlabelled grid."""
        if self.labels is None:
            return None
        lab = np.asarray(self.labels, dtype=np.int64)
        return lab[lab >= 0]


@dataclass
class VectorSamples:
    """Generated rows at one step: `array()` is (N, D) or (N, T, D) float32.

    columns names the D features (c0, c1, ... when the writer gave none).
    """

    step: int
    path: Path | None = None
    data: np.ndarray | None = field(default=None, repr=False)
    kind: str = "vectors"
    columns: list[str] = field(default_factory=list)
    labels: list[int] | None = None  # a conditional run's class of each row

    def array(self) -> np.ndarray:
        if self.data is not None:
            return self.data
        if self.path is None:
            raise ValueError("vector samples have neither data nor a path")
        try:
            a = load_npy(self.path)
        except TooCostly as e:
            raise GanAnalyzeError(f"{e}; vector samples at step {self.step} left out") from None
        except Exception as e:  # a damaged file in someone else's run
            detail = str(e).splitlines()[0] if str(e) else "no detail"
            raise GanAnalyzeError(
                f"{self.path}: unreadable vector samples at step {self.step} "
                f"({type(e).__name__}: {detail})"
            ) from None
        if a.ndim not in (2, 3) or not np.issubdtype(a.dtype, np.number):
            raise GanAnalyzeError(
                f"{self.path}: expected a numeric (N, D) or (N, T, D) array, "
                f"got {a.dtype} {tuple(a.shape)}"
            )
        self.data = a.astype(np.float32, copy=False)
        return self.data

    def flat(self) -> np.ndarray:
        """(N, D) or, for sequences, (N, T*D): one row per sample."""
        a = self.array()
        return a.reshape(len(a), -1)


@dataclass
class Flag:
    """A value that cannot be right (FID < 0, probability > 1, NaN loss...)."""

    file: str
    metric: str
    step: int | None
    value: float
    reason: str

    def __str__(self) -> str:
        at = f" at step {self.step}" if self.step is not None else ""
        return f"{self.file}: {self.metric}{at} = {self.value!r}: {self.reason}"


@dataclass
class Run:
    """One training run, whatever wrote it.

    scalars: one row per step (sorted, unique `step` int64 column), plus
      `epoch` and `wall_time` when known, and one float64 column per metric; NaN
      where a metric was not logged at that step. Logged NaN/Inf values are kept
      as they are and also listed in `nonfinite`.
    counts: metric -> number of points actually logged (not NaN-padding).
    sample_metrics: one row per (step, features) with FID/KID/IS/PR/DC columns,
      from `fid-sweep` or a trainer's own metric files.
    histograms: long table: step, model, param, kind ("weight"/"grad"), numel,
      mean, std and the quantile columns in HIST_QUANTILES.
    name: what the run is called: the name given explicitly when the run was
      written (`RunLog(name=...)`), otherwise its directory's name, so a renamed
      directory is never called by its old name.
    given_name: the name recorded in the run's own files (RunLog's explicit
      name, a trainer's experiment name), or None; shown next to the directory
      name when the two differ.
    damaged: (file, problem) for every piece of data skipped as damaged (an
      unreadable part, a corrupt record, a cut-off line), so a pipeline gated on
      `check` can see that the run is incomplete. Each also has a warning.
    writers: how many writers (RunLog sessions) wrote the scalars; more than
      one means a resumed run or a job started twice.
    step_unit: what a step counts when the run says so ("epoch", "iteration", "tick",
      "kimg", "image", "row"); None: plain steps (analysis.alignment.step_label).
    url: the s3:// / gs:// / fsspec URL a fetched run came from (shown instead of the
      local copy's path).
    fetched: for a URL run, what remote.fetch read and left ({"bytes", "objects", ...}).
    role_map: the explicit roles from --map and the run's gananalyze.yaml,
      {role: {"column": COLUMN, "source": "--map" | FILE}} (`naming.roles.set_map`).
    real_table: the real data table attached with --real (vector samples' metrics).
    classes: a conditional run's class count (G takes a class label: the generator spec's
      `condition`, StyleGAN's c_dim); 0 when the run says it is conditional without the
      count; None for an unconditional run (runio.labels.run_classes).
    extra: format-specific facts an importer keeps (StyleGAN's kimg per tick, the
      sections of a log, ...).
    roles_cache: `naming.roles.run_roles` keeps its last answer here (not data).
    """

    path: Path
    name: str
    format: str = "native"
    loss: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    generator: dict[str, Any] | None = None
    created: str | None = None
    scalars: pd.DataFrame = field(default_factory=empty_scalars)
    counts: dict[str, int] = field(default_factory=dict)
    nonfinite: pd.DataFrame = field(default_factory=empty_nonfinite)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    samples: list[SampleGrid] = field(default_factory=list)
    vectors: list[VectorSamples] = field(default_factory=list)  # (N, D) / (N, T, D) samples
    histograms: pd.DataFrame = field(default_factory=pd.DataFrame)
    sample_metrics: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    duplicates_replaced: int = 0
    given_name: str | None = None
    damaged: list[tuple[str, str]] = field(default_factory=list)
    writers: int = 1
    step_unit: str | None = None
    url: str | None = None
    fetched: dict[str, Any] | None = None
    role_map: dict[str, dict[str, str]] = field(default_factory=dict)
    real_table: DataTable | None = field(default=None, repr=False)
    classes: int | None = None
    extra: dict[str, Any] = field(
        default_factory=dict
    )  # format-specific facts (e.g. StyleGAN kimg per tick)
    roles_cache: tuple[Any, Resolution] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    # Columns of `scalars` that are not metrics.
    INDEX_COLUMNS = ("step", "epoch", "wall_time")

    @property
    def metrics(self) -> list[str]:
        """Names of the metric columns, in file order."""
        return [c for c in self.scalars.columns if c not in self.INDEX_COLUMNS]

    def column(self, name: str) -> str | None:
        """The scalars column holding `name`, or None. A role (G_loss, D_x, ..., `roles.ROLES`)
        is answered by `roles.run_roles` (exact names, words, --map, the map file; None when
        ambiguous); any other name through the alias table."""
        if name in ROLES or (name.startswith("val/") and name[4:] in ROLES):
            return run_roles(self).roles.get(name)
        return resolve(name, self.metrics)

    def series(self, name: str, dropna: bool = True) -> pd.Series:
        """A metric as a float Series indexed by step (only logged points when dropna).

        `name` may be a canonical name (G_loss, D_x...) resolved through the alias
        table, or a raw column name. Logged Inf values are kept; with dropna, rows
        where the metric was not logged are dropped (a logged NaN is dropped too:
        see `nonfinite` for those).
        """
        col = name if name in self.scalars.columns else self.column(name)
        if col is None:
            return pd.Series(
                np.zeros(0), name=name, index=pd.Index(np.zeros(0, np.int64), name="step")
            )
        v = self.scalars[col].to_numpy(dtype="float64")
        steps = self.scalars["step"].to_numpy()
        if dropna:  # masked here: pandas' dropna costs more than the column on short runs
            keep = ~np.isnan(v)
            if not keep.all():
                v, steps = v[keep], steps[keep]
        return pd.Series(v, index=pd.Index(steps, name="step"), name=col)

    def has(self, name: str) -> bool:
        """Whether the run logged at least one point of `name`."""
        return len(self.series(name)) > 0

    @property
    def steps(self) -> np.ndarray:
        return self.scalars["step"].to_numpy()

    def value_flags(self) -> list:
        """The loaders' implausible-value flags, less "a probability must lie in [0, 1]" on
        the columns the roles read as the D loss's real and fake terms (`d_real` and `d_fake`
        beside a d_loss that is their sum: naming.settle.settle_terms): a hinge D's real term
        of 1.02 is a loss, not an impossible D(x)."""
        roles = run_roles(self).roles
        terms = {roles.get("D_loss_real"), roles.get("D_loss_fake")} - {None}
        if not terms:
            return list(self.flags)
        why = "a probability must lie in [0, 1]"
        return [f for f in self.flags if not (f.metric in terms and why in f.reason)]

    def summary(self) -> dict[str, Any]:
        """Plain-data summary used by `gananalyze info` (and its --json)."""
        sc = self.scalars
        span = None
        if "wall_time" in sc.columns and sc["wall_time"].notna().any():
            wt = sc["wall_time"].dropna()
            span = float(wt.max() - wt.min())
        out = {
            "name": self.name,
            "given_name": self.given_name,
            "directory": Path(self.path).name,
            "path": self.url or str(self.path),  # a fetched run: its URL
            "format": self.format,
            "loss": self.loss,
            "created": self.created,
            "rows": int(len(sc)),
            "first_step": int(sc["step"].iloc[0]) if len(sc) else None,
            "last_step": int(sc["step"].iloc[-1]) if len(sc) else None,
            "time_span_s": span,
            "metrics": {m: int(self.counts.get(m, int(sc[m].notna().sum()))) for m in self.metrics},
            "nonfinite": int(len(self.nonfinite)),
            "checkpoints": [c.step for c in self.checkpoints],
            "samples": [s.step for s in self.samples],
            "histogram_steps": int(self.histograms["step"].nunique())
            if len(self.histograms)
            else 0,
            "sample_metrics": [
                c for c in self.sample_metrics.columns if c not in SAMPLE_METRIC_META
            ]
            if len(self.sample_metrics)
            else [],
            "duplicates_replaced": self.duplicates_replaced,
            "writers": self.writers,
            "damaged": [list(d) for d in self.damaged],
            "warnings": list(self.warnings),
            "flags": [str(f) for f in self.value_flags()],
        }
        if self.vectors:  # only for runs that have them: image runs' summaries stay as they were
            out["vector_samples"] = [v.step for v in self.vectors]
        return out
