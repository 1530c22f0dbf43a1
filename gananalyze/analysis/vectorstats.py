"""Statistics of vector/sequence samples at each checkpoint (no generator, no sweep).

`vector_series(run)` gives one row per step with the samples' spread and, when a real table
is attached (`run.real_table`, see `attach_tables`), their near-duplicates, coverage/recall
against it and the number of columns under half the real spread. Without the real rows
near-duplicates are not measured: whether samples lie "too close" depends on how tight the
data's own modes are (a ring of 8 modes of std 0.05 puts most real rows within a tenth of
a diffuse early G's neighbour distance), which only the data says. The collapse rule
(rules/vectors.py) and the report's tabular sections read these plain numbers; nothing here
prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import GanAnalyzeError
from ..extras import require
from ..files.datatable import DataTable, from_vectors, load_table, standardiser
from ..run import Run, VectorSamples

MAX_ROWS = 2000  # rows per side used for neighbour statistics (a fixed, seeded subset)
# near-duplicate: nearest other sample closer than this fraction of the real rows' median
# nearest-neighbour distance (as many real rows, so that the distances compare)
DUP_FRACTION = 0.1


@dataclass
class VectorData:
    """The samples of every step as (N, D) float64 in the real table's columns."""

    steps: list[int]
    arrays: list[np.ndarray]
    columns: list[str]
    real: DataTable | None
    problems: list[str] = field(default_factory=list)  # steps left out, one line each


def names(v: VectorSamples) -> list[str]:
    a = v.flat()
    if v.columns and len(v.columns) == a.shape[1]:
        return list(v.columns)
    return [f"c{i}" for i in range(a.shape[1])]


def vector_data(run: Run) -> VectorData | None:
    """The run's vector samples (None when it has none); unreadable steps become warnings,
    steps whose samples hold NaN/Inf are left out (the divergence rule reports them)."""
    if not run.vectors:
        return None
    real: DataTable | None = run.real_table
    steps, arrays, cols, problems = [], [], None, []
    for v in run.vectors:
        try:
            a = v.flat().astype(np.float64)
            if not np.isfinite(a).all():  # a divergence (rules/stability.py reports it), not
                continue  # samples whose spread or neighbours mean anything
            a = from_vectors(a, names(v), real)
        except GanAnalyzeError as e:
            problems.append(str(e))
            continue
        if cols is None:
            cols = real.columns if real is not None else names(v)
        if a.shape[1] != len(cols):
            problems.append(
                f"{v.path or 'synthetic table'}: vector samples at step {v.step} have "
                f"{a.shape[1]} columns, earlier ones {len(cols)}; left out"
            )
            continue
        steps.append(int(v.step))
        arrays.append(a)
    for p in problems:
        if p not in run.warnings:
            run.warnings.append(p)
    if not arrays:
        return VectorData([], [], [], real, problems)
    return VectorData(steps, arrays, list(cols or []), real, problems)


def _subset(x: np.ndarray, seed: int = 0) -> np.ndarray:
    if len(x) <= MAX_ROWS:
        return x
    idx = np.random.default_rng(seed).choice(len(x), MAX_ROWS, replace=False)
    return x[np.sort(idx)]


def _nn(z: np.ndarray) -> np.ndarray:
    sq = (z * z).sum(1)
    d2 = sq[:, None] + sq[None, :] - 2 * z @ z.T
    np.fill_diagonal(d2, np.inf)
    return np.sqrt(np.maximum(d2.min(1), 0))


def near_duplicates(z: np.ndarray, ref: np.ndarray) -> float:
    """Fraction of rows of z whose nearest other row is within DUP_FRACTION of the median
    nearest-neighbour distance among as many rows of `ref`."""
    z = _subset(z)
    if len(z) < 2:
        return 0.0
    r = (
        ref
        if len(ref) <= len(z)
        else ref[np.sort(np.random.default_rng(2).choice(len(ref), len(z), replace=False))]
    )
    radius = DUP_FRACTION * float(np.median(_nn(r)))
    return float((_nn(z) <= radius).mean())


def vector_series(run: Run, data: VectorData | None = None) -> pd.DataFrame:
    """One row per step: step, n, spread (total std, in units of the reference), low_columns
    (columns under half the reference spread), near_duplicates (NaN without a real table),
    and with a real table coverage and recall (k = 5 and 3, standardised on the real
    rows)."""
    data = data or vector_data(run)
    if data is None or not data.steps:
        return pd.DataFrame()
    if data.real is not None:
        what = "coverage and recall against the real table (--real)"
        prdc = require("gananalyze.metrics.samplemetrics", what).prdc
        mu, sd = standardiser(data.real.matrix)
        ref_sd = np.ones(len(mu))
        real_z = _subset((data.real.matrix - mu) / sd, seed=1)
    else:
        pooled = np.vstack(data.arrays)
        mu, sd = standardiser(pooled)
        sds = np.array([a.std(axis=0) / sd for a in data.arrays])
        ref_sd = np.where(sds.max(axis=0) > 0, sds.max(axis=0), 1.0)
        real_z = None
    rows = []
    for step, a in zip(data.steps, data.arrays, strict=False):
        z = (a - mu) / sd
        col_sd = z.std(axis=0) / ref_sd
        row = {
            "step": step,
            "n": len(a),
            "spread": float(np.sqrt((col_sd**2).mean())),
            "low_columns": int((col_sd < 0.5).sum()),
            "columns": int(len(col_sd)),
            "near_duplicates": near_duplicates(z, real_z) if real_z is not None else np.nan,
        }
        if real_z is not None and len(a) >= 6:
            zs = _subset(z)  # as many real rows as samples: PR/DC assume equal sizes
            rs = (
                real_z[np.sort(np.random.default_rng(3).choice(len(real_z), len(zs), False))]
                if len(real_z) > len(zs)
                else real_z
            )
            row.update(prdc(rs, zs, k_pr=3, k_dc=5))
        rows.append(row)
    return pd.DataFrame(rows)


def real_reference(data: VectorData, n: int) -> dict[str, float] | None:
    """Precision and recall (k = 3, as vector_series) of real rows against other real rows:
    two disjoint, seeded subsets of the real table of min(n, MAX_ROWS, half the table) rows
    each, standardised as vector_series standardises. What samples drawn from the data
    itself would score: the reference the samples' figures are read against. None without a
    real table or with fewer than 12 real rows."""
    if data.real is None:
        return None
    m = data.real.matrix.astype(np.float64)
    k = min(int(n), MAX_ROWS, len(m) // 2)
    if k < 6:
        return None
    prdc = require("gananalyze.metrics.samplemetrics", "the real rows' own precision").prdc
    mu, sd = standardiser(m)
    idx = np.random.default_rng(4).permutation(len(m))
    a, b = (m[idx[:k]] - mu) / sd, (m[idx[k : 2 * k]] - mu) / sd
    r = prdc(a, b, k_pr=3, k_dc=None)
    return {"precision": float(r["precision"]), "recall": float(r["recall"]), "n": k}


def attach_tables(run: Run, real: str | None = None, samples: str | None = None) -> Run:
    """Attach a real table (--real) and a final synthetic table (--samples) to `run`.

    The synthetic table becomes the run's last vector samples, at its last logged step
    (its "last evaluation"; one step after earlier vector samples when they reach that
    far); it needs the real table to be encoded alike.
    """
    table = None
    if real is not None:
        table = load_table(real)
        run.real_table = table
        if samples is None and not run.vectors:
            run.warnings.append(
                f"--real {real}: the run logged no vector samples (rows) and no --samples was "
                "given, so the real rows judge nothing here"
            )
    if samples is not None:
        if table is None:
            raise GanAnalyzeError("--samples needs --real (the real table it is compared with)")
        syn = load_table(samples, like=table)
        last = int(run.scalars["step"].iloc[-1]) if len(run.scalars) else 0
        prev = [v.step for v in run.vectors]
        step = max([last, *[p + 1 for p in prev]])
        run.vectors.append(
            VectorSamples(step=step, data=syn.matrix.astype(np.float32), columns=syn.columns)
        )
        run.extra["synthetic_table"] = syn
    return run


def load_with_tables(
    source: str | Run,
    format: str | None = None,
    real: str | None = None,
    samples: str | None = None,
) -> Run:
    """The run at `source` with a real table and/or a final synthetic table attached."""
    from ..loader import load_run

    run = source if isinstance(source, Run) else load_run(source, format=format)
    return attach_tables(run, real=real, samples=samples)
