"""`save_run`: write any Run (native or imported) as a native run directory.

Used by `gananalyze import SRC DEST` (`loader.import_run`): the native copy loads much faster than
re-parsing text logs or event files, and `fid-sweep` can add its sample
metrics to it. What is written:
    run.json        name, loss, config, generator spec, plus "source": the
                    format, path, warnings, flags and the trainer's pickled
                    checkpoints (listed with absolute paths, never copied;
                    `fid-sweep --trust-code` loads them from there)
    scalars/        the per-step frame, in parts of `part_rows` rows
    samples/        every sample grid as PNG + samples/index.jsonl (layout)
    metrics/        sample metrics (FID, KID, ...) via store.append_sample_metrics
    histograms/     the histogram long table
    checkpoints/    native (state_dict) checkpoints are copied; pickles are not
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import GanAnalyzeError
from ..files import atomic
from ..files.runfiles import check_replaceable, is_inside, root_of
from ..remote import materialized
from ..run import Run
from . import parts, store


def _png_bytes(data: bytes) -> bytes:
    """The image as PNG (TensorBoard images may be JPEG or GIF)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return data
    from ..files.bounded import open_image

    buf = io.BytesIO()
    open_image(data).convert("RGB").save(buf, format="PNG")
    return buf.getvalue()


def _plain(obj: Any) -> Any:
    """JSON-safe copy (numpy scalars, Paths, Series -> plain values)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, pd.Series):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return str(obj)
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def _source_facts(run: Run) -> dict[str, Any]:
    """What the source format said beyond the data (kept in run.json for people to read)."""
    typed = {"step_unit": run.step_unit, "url": run.url, "role_map": run.role_map}
    facts = {k: v for k, v in typed.items() if v}
    facts.update((k, v) for k, v in run.extra.items() if k != "log_tail")
    return facts


def save_run(run: Run, dest: str | Path, part_rows: int = 100_000, overwrite: bool = False) -> Path:
    """Write `run` as a native run directory at `dest`; returns its path.

    Refuses to write into an existing non-empty directory unless `overwrite`,
    and even then replaces only a gananalyze run directory that holds nothing
    else and neither is, holds nor lies inside the source run
    (`runfiles.check_replaceable`).
    """
    dest = Path(dest)
    src = Path(run.path)
    if dest.exists() or dest.is_symlink():
        if dest.is_dir() and not dest.is_symlink() and not any(dest.iterdir()):
            pass
        elif not overwrite:
            raise GanAnalyzeError(
                f"{dest}: already exists and is not empty; choose a new "
                "destination (or pass --overwrite)"
            )
        else:
            check_replaceable(dest, keep=[src])
            shutil.rmtree(dest)
    if is_inside(root_of(src), dest.parent if not dest.exists() else dest) and src.is_dir():
        raise GanAnalyzeError(
            f"{dest}: lies inside the source run {src}; choose a destination outside it"
        )
    dest.mkdir(parents=True, exist_ok=True)

    # absolute paths: `fid-sweep DEST --trust-code` loads them from wherever it is started
    pickles = [
        {"step": c.step, "path": str(Path(c.path).resolve()), **_plain(c.meta)}
        for c in run.checkpoints
        if c.kind != "native"
    ]
    meta = {
        "format": "gananalyze-run",
        "version": store.FORMAT_VERSION,
        "name": run.given_name or run.name,
        "name_given": run.given_name is not None
        and run.format == "native"
        and run.given_name == run.name,
        "created": run.created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "loss": run.loss,
        "config": _plain(run.config),
        "generator": run.generator,
        "source": {
            "format": run.format,
            "path": str(run.path),
            "imported": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "warnings": list(run.warnings),
            "damaged": [list(d) for d in run.damaged],
            "flags": [str(f) for f in run.flags],
            "duplicates_replaced": run.duplicates_replaced,
            "pickled_checkpoints": pickles,
            "extra": _plain(_source_facts(run)),
        },
    }
    atomic.atomic_write_json(dest / store.RUN_JSON, meta)

    sc = run.scalars
    if len(sc):
        cols = {"step": sc["step"].to_numpy(dtype=np.int64)}
        for c in ("epoch", "wall_time"):
            cols[c] = (
                sc[c].to_numpy(dtype="float64") if c in sc.columns else np.full(len(sc), np.nan)
            )
        for m in run.metrics:
            cols[m] = sc[m].to_numpy(dtype="float64")
        for number, a in enumerate(range(0, len(sc), part_rows)):
            arrays = {}
            for k, v in cols.items():
                chunk = v[a : a + part_rows]
                if k == "step":
                    arrays[k] = pa.array(chunk, type=pa.int64())
                else:
                    # NaN = "not logged" in the frame: store nulls,
                    # except values really logged as NaN
                    arrays[k] = pa.array(chunk, mask=np.isnan(chunk), type=pa.float64())
            if len(run.nonfinite):
                steps = cols["step"][a : a + part_rows]
                for m, grp in run.nonfinite.groupby("metric"):
                    if m in arrays:
                        nan_steps = grp.loc[grp["value"].isna(), "step"].to_numpy()
                        hit = np.isin(steps, nan_steps)
                        if hit.any():
                            vals = cols[m][a : a + part_rows]
                            arrays[m] = pa.array(
                                vals, mask=np.isnan(vals) & ~hit, type=pa.float64()
                            )
            parts.write_part(dest / store.SCALARS_DIR, pa.table(arrays), number)

    if run.samples:
        index_lines = []
        used: set[str] = set()
        for g in run.samples:
            tag = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in (g.tag or "samples"))
            name = (
                f"step-{int(g.step):09d}.png"
                if tag == "samples"
                else f"step-{int(g.step):09d}-{tag}.png"
            )
            if name in used:
                continue
            used.add(name)
            atomic.atomic_write_bytes(dest / store.SAMPLES_DIR / name, _png_bytes(g.read_bytes()))
            rec = {"step": int(g.step), "file": name, "tag": g.tag}
            if g.nrow and g.ncol and g.tile:
                rec.update(
                    nrow=g.nrow, ncol=g.ncol, tile=list(g.tile), padding=g.padding, count=g.count
                )
            index_lines.append(json.dumps(rec))
        atomic.atomic_write_bytes(
            dest / store.SAMPLES_DIR / store.SAMPLES_INDEX, ("\n".join(index_lines) + "\n").encode()
        )

    if len(run.sample_metrics):
        store.append_sample_metrics(dest, run.sample_metrics)
    if len(run.histograms):
        parts.write_part(
            dest / store.HIST_DIR,
            pa.Table.from_pandas(run.histograms.reset_index(drop=True), preserve_index=False),
        )
    for c in run.checkpoints:
        if c.kind == "native" and Path(c.path).is_file():
            target = dest / store.CKPT_DIR / f"step-{int(c.step):09d}.pt"
            target.parent.mkdir(parents=True, exist_ok=True)
            with materialized(c.path) as src:  # a URL run's checkpoint: fetched for the copy
                shutil.copy2(src, target)
    return dest
