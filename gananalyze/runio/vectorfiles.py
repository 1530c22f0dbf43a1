"""Vector and sequence samples: rows a GAN makes instead of images.

Owns how `RunLog.samples` stores (N, D) vectors and (N, T, D) sequences in a
native run, and how they are read back (docs/run-format.md):

    samples/step-NNNNNNNNN.npy    float32 array (N, D) or (N, T, D), no pickles
    samples/vectors.jsonl         one line per array: step, file, kind, shape, columns

and the checks on what a caller hands over: an array that is neither an image
batch nor vectors gets one line saying which shapes are accepted.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GanAnalyzeError
from ..files.bounded import TooCostly, check_npy, is_regular
from ..files.runfiles import FolderIndex, indexed_folder
from ..run import VectorSamples
from .labels import valid_labels

VECTORS_INDEX = "vectors.jsonl"
KINDS = ("vectors", "sequences")
_STEP_RE = re.compile(r"^step-(\d+)\.npy$")
MAX_ROWS = 1 << 20


def classify(x: np.ndarray, kind: str = "auto") -> str:
    """'images', 'vectors' or 'sequences' for an array handed to RunLog.samples.

    auto: (N, D) is vectors; (N, C, H, W) with C in 1, 3, 4 and (N, H, W) are
    images (as before); sequences (N, T, D) must be asked for with kind="sequences".
    """
    shape = tuple(x.shape)
    if kind not in ("auto", "images", *KINDS):
        raise GanAnalyzeError(
            f"samples kind must be auto, images, vectors or sequences, not {kind!r}"
        )
    want = {"vectors": 2, "sequences": 3}
    if kind in want:
        if x.ndim != want[kind]:
            form = "(N, D)" if kind == "vectors" else "(N, T, D)"
            raise GanAnalyzeError(f"samples: {kind} must be {form}, got shape {shape}")
        return kind
    if kind == "auto" and x.ndim == 2:
        return "vectors"
    if x.ndim == 4 and shape[1] not in (1, 3, 4):
        raise GanAnalyzeError(
            f"samples: shape {shape} is not an image batch (N, C, H, W) with C = 1, 3 or 4; "
            f"for vectors pass (N, D), e.g. x.reshape({shape[0]}, -1)"
        )
    if x.ndim not in (3, 4):
        raise GanAnalyzeError(
            f"samples: shape {shape} is none of images (N, C, H, W) or (N, H, W), "
            "vectors (N, D), sequences (N, T, D) with kind='sequences'"
        )
    return "images"


def encode(x: np.ndarray) -> bytes:
    """The .npy bytes of a float32 copy of x (never pickled)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(x, dtype=np.float32), allow_pickle=False)
    return buf.getvalue()


def index_line(
    step: int, name: str, kind: str, shape: tuple[int, ...], columns, labels=None
) -> str:
    rec = {"step": int(step), "file": name, "kind": kind, "shape": list(shape), "columns": columns}
    if labels is not None:
        rec["labels"] = [int(v) for v in labels]
    return json.dumps(rec) + "\n"



def column_names(columns: Any, d: int) -> list[str]:
    if columns is None:
        return [f"c{i}" for i in range(d)]
    names = [str(c) for c in columns]
    if len(names) != d:
        raise GanAnalyzeError(f"samples: {len(names)} column names for {d} columns")
    return names


def _indexed_vectors(rec: Any) -> tuple[str, dict]:
    """(file, kind and columns) of one vector index record (TypeError for a wrong field)."""
    cols = rec.get("columns") or []
    labels = rec.get("labels")
    if (
        not isinstance(rec["file"], str)
        or rec.get("kind") not in KINDS
        or not isinstance(cols, list)
        or not valid_labels(labels)
    ):
        raise TypeError("a field has the wrong type")
    return rec["file"], {"kind": rec["kind"], "columns": [str(c) for c in cols], "labels": labels}


_INDEX = FolderIndex(
    VECTORS_INDEX, "step-*.npy", _indexed_vectors, "unreadable vector sample index line"
)


def list_vectors(
    run_dir: Path, samples_dir: str, warnings: list[str], damaged: list | None = None
) -> list[VectorSamples]:
    """The vector/sequence samples of a native run, sorted by step (reads only the index)."""
    meta, files = indexed_folder(run_dir, Path(run_dir) / samples_dir, _INDEX, warnings, damaged)
    out = []
    for p in files:
        m = _STEP_RE.match(p.name)
        if not m or not is_regular(p):
            continue
        try:  # the header only: a costly array is named now (reading it later refuses it)
            check_npy(p)
        except TooCostly as e:
            warnings.append(str(e))
        except (OSError, ValueError):
            pass  # not an array at all: its reader says so
        info = meta.get(p.name, {})
        out.append(
            VectorSamples(
                step=int(m.group(1)),
                path=p,
                kind=info.get("kind", "vectors"),
                columns=info.get("columns", []),
                labels=info.get("labels"),
            )
        )
    return sorted(out, key=lambda s: s.step)
