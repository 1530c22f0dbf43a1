"""The native run format on disk: its layout, run.json, and the reader (`load_native`).

A run is a directory (documented in docs/run-format.md):

    run.json                      metadata, loss type, config, generator spec
    scalars/part-NNNNNN-WRITER.parquet     per-step scalars, one part per flush
    histograms/part-NNNNNN-WRITER.parquet  per-layer weight/grad quantiles
    checkpoints/step-NNNNNNNNN.pt   state_dicts (torch.load(weights_only=True))
    samples/step-NNNNNNNNN.png      fixed-noise sample grids, + samples/index.jsonl
    samples/step-NNNNNNNNN.npy      vector/sequence samples, + samples/vectors.jsonl
    metrics/part-NNNNNN-WRITER.parquet     sample metrics (FID, KID, ...) from fid-sweep

Every file is written to a temporary name and renamed into place (atomic.py), so a
crash leaves either the whole file or no file. The Parquet parts (their names, writer
ids, checksums, reading and merging) are parts.py's. The reader uses every part it can
read and reports, by file name, the ones it cannot (in `Run.damaged` too); it reads
only files that resolve inside the run directory.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import GanAnalyzeError
from ..files.bounded import loads_json
from ..files.runfiles import FolderIndex, checked, indexed_folder, keep_inside
from ..run import Checkpoint, Run, SampleGrid, empty_nonfinite, empty_scalars
from .labels import run_classes, valid_labels
from .parts import (
    concat_parts,
    histograms_schema_problem,
    merge_scalars,
    part_writers,
    read_parts,
    scalars_schema_problem,
    schema_problem,
    write_part,
)
from .vectorfiles import list_vectors

FORMAT_VERSION = 1
RUN_JSON = "run.json"
SCALARS_DIR = "scalars"
HIST_DIR = "histograms"
CKPT_DIR = "checkpoints"
SAMPLES_DIR = "samples"
SAMPLES_INDEX = "index.jsonl"
METRICS_DIR = "metrics"

# TensorBoard's distribution dashboard percentiles, in basis points.
HIST_BPS = (0, 668, 1587, 3085, 5000, 6915, 8413, 9332, 10000)
HIST_QUANTILES = tuple(f"q{b:05d}" for b in HIST_BPS)


_STEP_RE = re.compile(r"step-(\d+)")


# ---------------------------------------------------------------- writing


def append_sample_metrics(run_dir: Path, rows: pd.DataFrame) -> Path:
    """Append sample-metric rows (step, features, fid, ...) to a native run."""
    if "step" not in rows.columns:
        raise ValueError("sample metrics need a step column")
    rows = rows.copy()
    rows["step"] = rows["step"].astype("int64")
    return write_part(Path(run_dir) / METRICS_DIR, pa.Table.from_pandas(rows, preserve_index=False))


# ---------------------------------------------------------------- reading


def is_native_run(path: Path) -> bool:
    path = Path(path)
    return (path / RUN_JSON).is_file() or (path / SCALARS_DIR).is_dir()


def read_scalars(
    run_dir: Path, warnings: list[str], damaged: list[tuple[str, str]] | None = None
) -> tuple[pd.DataFrame, dict[str, int], pd.DataFrame, int]:
    tables = read_parts(Path(run_dir) / SCALARS_DIR, warnings, damaged, scalars_schema_problem)
    if not tables:
        return empty_scalars(), {}, empty_nonfinite(), 0
    index = {"step": pa.int64(), "epoch": pa.float64(), "wall_time": pa.float64()}
    table = concat_parts(tables, index)
    frame, counts, nonfinite, dup_steps, replaced = merge_scalars(
        table, str(Path(run_dir) / SCALARS_DIR)
    )
    if dup_steps:
        warnings.append(
            f"{dup_steps} step(s) were written more than once (e.g. a resumed run); "
            f"the later write was kept ({replaced} value(s) replaced)"
        )
    return frame, counts, nonfinite, dup_steps


def _latest_rows(
    folder: Path,
    warnings: list[str],
    damaged: list[tuple[str, str]] | None,
    keys: Callable[[pd.DataFrame], list[str]],
    problem: Callable[[pa.Schema], str | None],
) -> pd.DataFrame:
    """The parts in `folder` as one frame: the last write of each `keys(frame)` row, sorted
    (parts of a schema `problem` objects to are skipped with a warning)."""
    tables = read_parts(folder, warnings, damaged, problem)
    if not tables:
        return pd.DataFrame()
    df = pa.concat_tables(tables, promote_options="default").to_pandas()
    k = keys(df)
    if k[0] == "step":
        st = df["step"].to_numpy()
        if st.dtype.kind in "iu" and (len(st) < 2 or bool(np.all(st[1:] > st[:-1]))):
            return df  # one row per step, in order (the usual case): nothing to drop or sort
    return df.drop_duplicates(k, keep="last").sort_values(k).reset_index(drop=True)


def read_histograms(
    run_dir: Path, warnings: list[str], damaged: list[tuple[str, str]] | None = None
) -> pd.DataFrame:
    return _latest_rows(
        Path(run_dir) / HIST_DIR,
        warnings,
        damaged,
        lambda df: ["step", "model", "param", "kind"],
        histograms_schema_problem,
    )


def read_sample_metrics(
    run_dir: Path, warnings: list[str], damaged: list[tuple[str, str]] | None = None
) -> pd.DataFrame:
    return _latest_rows(
        Path(run_dir) / METRICS_DIR,
        warnings,
        damaged,
        lambda df: ["step", "features"] if "features" in df.columns else ["step"],
        lambda schema: schema_problem(
            schema, ("features",) if "features" in schema.names else (), numbers=False
        ),
    )


def list_checkpoints(run_dir: Path, warnings: list[str] | None = None) -> list[Checkpoint]:
    d = Path(run_dir) / CKPT_DIR
    out = []
    if d.is_dir():
        for p in keep_inside(run_dir, sorted(d.glob("*.pt")), warnings):
            m = _STEP_RE.search(p.name)
            if m:
                out.append(Checkpoint(step=int(m.group(1)), path=p, kind="native"))
    return sorted(out, key=lambda c: c.step)


def _layout(rec: dict) -> dict[str, Any] | None:
    """The grid layout of one index.jsonl record, or None when a field has the wrong type."""

    def count(v: Any) -> bool:
        return v is None or (type(v) is int and 0 < v < 1 << 20)

    tile = rec.get("tile")
    padding = rec.get("padding", 0)
    labels = rec.get("labels")
    nonfinite = rec.get("nonfinite", 0.0)
    outside = rec.get("outside", 0.0)
    reach = rec.get("reach")
    ok = (
        valid_labels(labels)
        and type(nonfinite) in (int, float)
        and 0 <= nonfinite <= 1
        and type(outside) in (int, float)
        and 0 <= outside <= 1
        and (reach is None or (type(reach) in (int, float) and 0 <= reach < float("inf")))
        and all(count(rec.get(k)) for k in ("nrow", "ncol", "count"))
        and type(padding) is int
        and 0 <= padding < 1 << 16
        and (
            tile is None
            or (
                isinstance(tile, list)
                and len(tile) == 2
                and all(count(t) and t is not None for t in tile)
            )
        )
    )
    if not ok:
        return None
    return {
        "nrow": rec.get("nrow"),
        "ncol": rec.get("ncol"),
        "count": rec.get("count"),
        "tile": tuple(tile) if tile else None,
        "padding": padding,
        "labels": tuple(labels) if labels is not None else None,
        "nonfinite": float(nonfinite),
        "outside": float(outside),
        "reach": float(reach) if reach is not None else None,
    }


def _indexed_layout(rec: Any) -> tuple[str, dict]:
    """(file, layout) of one samples/index.jsonl record (TypeError for a wrong field)."""
    lay = _layout(rec)
    if lay is None or not isinstance(rec["file"], str):
        raise TypeError("a field has the wrong type")
    return rec["file"], lay


_INDEX = FolderIndex(SAMPLES_INDEX, "*.png", _indexed_layout, "unreadable sample index line")


def list_samples(
    run_dir: Path, warnings: list[str], damaged: list[tuple[str, str]] | None = None
) -> list[SampleGrid]:
    layout, files = indexed_folder(run_dir, Path(run_dir) / SAMPLES_DIR, _INDEX, warnings, damaged)
    out = []
    for p in files:
        m = _STEP_RE.search(p.name)
        if not m:
            continue
        lay = layout.get(p.name, {})
        out.append(
            SampleGrid(
                step=int(m.group(1)),
                path=p,
                nrow=lay.get("nrow"),
                ncol=lay.get("ncol"),
                tile=lay.get("tile"),
                padding=lay.get("padding") or 0,
                count=lay.get("count"),
                labels=lay.get("labels"),
                nonfinite=lay.get("nonfinite", 0.0),
                outside=lay.get("outside", 0.0),
                reach=lay.get("reach"),
            )
        )
    return sorted(out, key=lambda s: s.step)


def read_run_json(run_dir: Path, warnings: list[str] | None = None) -> dict[str, Any]:
    run_dir = Path(run_dir)
    p = run_dir / RUN_JSON
    if not p.is_file():
        return {}
    if checked(run_dir, p, warnings) is None:
        if warnings is None:
            raise GanAnalyzeError(f"{p}: a link that resolves outside the run folder; not read")
        return {}
    try:
        meta = loads_json(p.read_bytes())
    except ValueError as e:
        raise GanAnalyzeError(f"{p}: not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise GanAnalyzeError(f"{p}: expected a JSON object")
    return meta


def pickled_checkpoints(run: Run) -> list[Checkpoint]:
    """The trainer pickles an imported native run lists in run.json ("source" ->
    "pickled_checkpoints").

    `gananalyze import` records them (absolute paths) without copying them;
    they stay where the trainer wrote them. Listing them reads nothing but run.json.
    """
    if run.format != "native":
        return []
    source = read_run_json(Path(run.path)).get("source")
    listed = source.get("pickled_checkpoints") if isinstance(source, dict) else None
    out = []
    for rec in listed if isinstance(listed, list) else []:
        if isinstance(rec, dict) and isinstance(rec.get("path"), str):
            try:
                step = int(rec["step"])
            except (KeyError, TypeError, ValueError):
                continue
            meta = {k: v for k, v in rec.items() if k not in ("path", "step")}
            out.append(Checkpoint(step=step, path=Path(rec["path"]), kind="pickle", meta=meta))
    return sorted(out, key=lambda c: c.step)


def _config(meta: dict[str, Any], p: Path, warnings: list[str]) -> dict[str, Any]:
    """run.json's config as a dict; anything else is kept under "value" with a warning."""
    cfg = meta.get("config")
    if cfg is None:
        return {}
    if isinstance(cfg, dict):
        return cfg
    warnings.append(
        f"{p}: 'config' is a {type(cfg).__name__}, not an object; kept as config['value']"
    )
    return {"value": cfg}


def run_names(meta: dict[str, Any], path: Path, warnings: list[str]) -> tuple[str, str | None]:
    """(name, given name): the explicit name when the writer was given one
    (run.json "name_given"), else the directory's name; a differing recorded
    name is reported next to the directory's."""
    given = meta.get("name")
    given = given if isinstance(given, str) and given else None
    explicit = given is not None and meta.get("name_given") is True
    name = given if explicit else path.name
    if given is not None and given != path.name:
        how = "given when it was written" if explicit else "recorded in its files"
        warnings.append(
            f"{path}: the run's name {given!r} ({how}) differs from its "
            f"directory's name {path.name!r}; called {name!r}"
        )
    return name, given


def load_native(path: Path) -> Run:
    """Read a native run directory into a Run (see module docstring)."""
    path = Path(path)
    warnings: list[str] = []
    damaged: list[tuple[str, str]] = []
    try:
        meta = read_run_json(path, warnings)
        if not meta and not any(RUN_JSON in w for w in warnings):
            warnings.append(f"{path / RUN_JSON}: missing; loss type and generator spec unknown")
    except GanAnalyzeError as e:  # damaged metadata: the scalars are still worth reading
        meta = {}
        meta_error: GanAnalyzeError | None = e
        warnings.append(f"{e}; loss type, config and generator spec unknown")
        damaged.append((str(path / RUN_JSON), str(e).split(": ", 1)[-1]))
    else:
        meta_error = None
    scalars, counts, nonfinite, dups = read_scalars(path, warnings, damaged)
    if meta_error is not None and len(scalars) == 0:
        raise meta_error  # nothing readable at all
    name, given = run_names(meta, path, warnings)
    writers = part_writers(path / SCALARS_DIR)
    if len(writers) > 1:
        warnings.append(
            f"{path / SCALARS_DIR}: written by {len(writers)} writers (a resumed run, "
            "or one job started twice); their parts are all used, later writes win "
            "per step"
        )
    loss = meta.get("loss")
    generator = meta.get("generator")
    run = Run(
        path=path,
        name=name,
        given_name=given,
        format="native",
        loss=loss if isinstance(loss, str) else None,
        config=_config(meta, path / RUN_JSON, warnings),
        generator=generator if isinstance(generator, dict) else None,
        created=meta.get("created") if isinstance(meta.get("created"), str) else None,
        scalars=scalars,
        counts=counts,
        nonfinite=nonfinite,
        checkpoints=list_checkpoints(path, warnings),
        samples=list_samples(path, warnings, damaged),
        vectors=list_vectors(path, SAMPLES_DIR, warnings, damaged),
        histograms=read_histograms(path, warnings, damaged),
        sample_metrics=read_sample_metrics(path, warnings, damaged),
        warnings=warnings,
        duplicates_replaced=dups,
        damaged=damaged,
        writers=max(1, len(writers)),
    )
    if len(scalars) == 0:
        warnings.append(f"{path}: the run has no scalars yet")
    run.classes = run_classes(run.generator, run.config)
    from .plausibility import check_run

    run.flags = check_run(run, file=str(path / SCALARS_DIR))
    return run
