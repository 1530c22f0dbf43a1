"""fid-sweep for generators that make rows, not images: (N, D) vectors or (N, T, D) sequences.

The real data is a table the user names (`--real data.csv | .parquet | .npy`,
read by `datatable.load_table`: numeric columns as they are, categorical ones
one-hot encoded). The default feature space (`--features raw`) is the encoded
columns standardised with the real rows' mean and standard deviation (fitted on
the real data only). A user feature function stays possible: `--features
torchscript:PATH` runs a TorchScript module on those standardised rows (float32
(N, D) -> (N, F)). FID, KID, precision/recall and density/coverage then come
from the same code as for images (registry.compute_metrics). Rows are
appended to the run like the image sweep's, with features "raw".
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..errors import GanAnalyzeError
from ..files.datatable import DataTable, load_table, standardiser
from ..run import Run
from ..runio.labels import read_condition
from .checkpoints import build_generator
from .generate import Noise, conditioned, fake_labels
from .ledger import append, error_text, is_done, ledger_frame, read, stored_rows
from .registry import CONDITIONAL_METRICS, compute_metrics, stored_columns

GEN_BATCH = 4096


def as_rows(out: Any, ckpt: Path) -> torch.Tensor:
    """A generator's output as (N, D) rows; (N, T, D) sequences are flattened to (N, T*D)."""
    if isinstance(out, (tuple, list)):
        out = out[0]
    if not isinstance(out, torch.Tensor):
        raise GanAnalyzeError(f"{ckpt}: the generator returned {type(out).__name__}, not a tensor")
    if out.ndim not in (2, 3):
        raise GanAnalyzeError(
            f"{ckpt}: the generator returned shape {tuple(out.shape)}; vectors must be (N, D) "
            "or (N, T, D)"
        )
    return out.reshape(out.shape[0], -1)


class RowFeatures:
    """The feature space of a vector sweep: standardised real columns, optionally a
    TorchScript module on top."""

    def __init__(self, real: DataTable, features: str, device: torch.device):
        self.mu, self.sd = standardiser(real.matrix)
        self.dev = device
        self.module = None
        self.name = "raw"
        digest = hashlib.sha256(self.mu.tobytes() + self.sd.tobytes()).hexdigest()[:12]
        if features.startswith("torchscript:") or Path(features).suffix in (".pt", ".ts"):
            from .features import file_digest, load_script

            path = features.partition(":")[2] if features.startswith("torchscript:") else features
            self.module = load_script(path, device)
            self.name = f"torchscript:{Path(path).name}"
            digest += "-" + file_digest(path)
        elif features != "raw":
            raise GanAnalyzeError(
                f"--features {features} is for images; rows use raw (standardised columns) "
                "or torchscript:PATH (a module on the standardised rows)"
            )
        self.key = f"rows:{digest}"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, dtype=np.float64) - self.mu) / self.sd
        if self.module is None:
            return z
        with torch.inference_mode():
            f = self.module(torch.from_numpy(z.astype(np.float32)).to(self.dev))
        if isinstance(f, (tuple, list)):
            f = f[0]
        return f.detach().double().cpu().numpy().reshape(len(z), -1)


def vector_sweep(
    run: Run,
    real: str,
    names: list[str],
    chosen: Sequence[Any],
    features: str = "raw",
    num_samples: int = 10_000,
    device: torch.device | None = None,
    force: bool = False,
    progress: Callable[[dict[str, Any]], None] | None = None,
    label_column: str | None = None,
    trust: bool = False,
) -> pd.DataFrame:
    """One row per chosen checkpoint (see sweep.sweep for the columns); features "raw".
    label_column: the real table's class column (a conditional G's per-class metrics);
    trust: the user's consent to import the run's generator code, as sweep.sweep decided it."""
    dev = device or torch.device("cpu")
    table = load_table(real, label_column=label_column)
    feats = RowFeatures(table, features, dev)
    real_feats = feats(table.matrix)
    spec = run.generator or {}
    cond = read_condition(spec)
    asked = [n for n in names if n in CONDITIONAL_METRICS]
    if asked and table.labels is None:
        raise GanAnalyzeError(
            f"metric(s) {', '.join(asked)} need labelled real rows: name the table's class "
            f"column (--label-column) of {real}"
        )
    labels = None
    if cond is not None and table.labels is not None:
        # a conditional G with labelled real rows always gets its per-class metrics
        names = names + [n for n in CONDITIONAL_METRICS if n not in names]
        k = int(cond["classes"])
        labels = (table.labels, fake_labels(0, num_samples, k).numpy(), k)
    digest = hashlib.sha256(Path(real).read_bytes())
    if label_column is not None:  # the same file read with another class column differs
        digest.update(b"\0label-column\0" + label_column.encode())
    noise = Noise(spec.get("noise_seed", 0), spec.get("latent_shape", [100]))
    ident = {
        "features": feats.name,
        "features_key": feats.key,
        "num_samples": int(num_samples),
        "quantized": False,
        "real": digest.hexdigest()[:12],
    }
    want = stored_columns(names)
    existing = read(run.path)
    todo = [c for c in chosen if force or not is_done(existing, c.step, ident, want)]
    rows = stored_rows(existing, [c.step for c in chosen], [c.step for c in todo], feats.key)
    if progress is not None:
        progress({"done": 0, "total": len(todo), "step": None, "row": None})
    for i, ckpt in enumerate(todo, 1):
        row = _evaluate(
            run,
            ckpt,
            noise,
            num_samples,
            table,
            feats,
            real_feats,
            names,
            ident,
            dev,
            cond,
            labels,
            trust,
        )
        if row["error"] is None:
            append(run.path, row)
        rows.append(row)
        if progress is not None:
            progress({"done": i, "total": len(todo), "step": ckpt.step, "row": row})
    return ledger_frame(
        rows,
        want,
        metrics=names,
        batch_size=GEN_BATCH,
        device=str(dev),
        world_size=1,
        note=f"real rows: {table.describe()}; features: "
        f"{feats.name} (standardised on the real rows only)",
    )


def _evaluate(
    run,
    ckpt,
    noise,
    n,
    table,
    feats,
    real_feats,
    names,
    ident,
    dev,
    cond=None,
    labels=None,
    trust: bool = False,
) -> dict:
    """One checkpoint's row. cond: a conditional G's condition (sample i asks for class
    i % K); labels: (real labels, fake labels, K) for the per-class metrics."""
    t0 = time.perf_counter()
    row: dict[str, Any] = {"step": int(ckpt.step), **ident}
    try:
        G = conditioned(build_generator(run, ckpt, trust=trust).to(dev), cond)
        parts = []
        with torch.inference_mode():
            for a in range(0, n, GEN_BATCH):
                b = min(n, a + GEN_BATCH)
                y = fake_labels(a, b, cond["classes"]).to(dev) if cond else None
                parts.append(as_rows(G(noise.get(a, b).to(dev), y), ckpt.path).double().cpu())
        x = torch.cat(parts).numpy()
        if x.shape[1] != table.matrix.shape[1]:
            hint = (
                "; if one of its columns is each row's class, name it with --label-column"
                if table.labels is None and x.shape[1] < table.matrix.shape[1]
                else ""
            )
            raise GanAnalyzeError(
                f"{ckpt.path}: the generator makes {x.shape[1]} columns, the real table "
                f"{table.source} has {table.matrix.shape[1]} ({', '.join(table.columns[:6])})"
                + hint
            )
        bad = int((~np.isfinite(x)).sum())
        if bad:
            raise GanAnalyzeError(
                f"{ckpt.path}: the generator produced {bad} NaN/Inf values (a diverged checkpoint)"
            )
        row.update(compute_metrics(names, real_feats, feats(x), None, device=dev, labels=labels))
        row["error"] = None
    except Exception as e:  # a checkpoint that fails: report it, keep sweeping
        row["error"] = error_text(e, ckpt.path)
    row["seconds"] = time.perf_counter() - t0
    row["source"] = "computed"
    return row
