"""Per-column comparisons of generated rows with the real table (what tabular users read,
after SDMetrics' "column shapes" and "column pair trends"):

- `column_scores(data)`: per step and source column, 1 - KS statistic (numeric) or
  1 - total variation distance (categorical), as SDMetrics' KSComplement/TVComplement;
- `decoded(data, x)`: a generated (N, D) block back as source columns (one-hot blocks
  become their argmax category);
- `correlation_difference(data, x)`: real minus generated Pearson correlation of the
  numeric (and one-hot) columns;
- `tsne_vectors(...)`: one t-SNE of real and generated rows (standardised on real).
Plain numbers only; pages/report_vectors.py draws them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..files.datatable import standardiser
from .tsne import TsneResult, embed_points
from .vectorstats import VectorData


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic (scipy.stats.ks_2samp's D)."""
    from scipy.stats import ks_2samp

    return float(ks_2samp(a, b).statistic)


def tv_distance(a: pd.Series, b: pd.Series) -> float:
    """Total variation distance between two categorical samples: half the L1 of frequencies."""
    pa = a.astype(str).value_counts(normalize=True)
    pb = b.astype(str).value_counts(normalize=True)
    cats = pa.index.union(pb.index)
    return float(
        0.5 * np.abs(pa.reindex(cats, fill_value=0) - pb.reindex(cats, fill_value=0)).sum()
    )


def source_columns(data: VectorData) -> list[tuple[str, str]]:
    """(name, "numeric"|"categorical") of the columns compared: the real table's, else the
    vectors' own."""
    if data.real is None:
        return [(c, "numeric") for c in data.columns]
    return [(c, "numeric") for c in data.real.numeric] + [
        (c, "categorical") for c in data.real.categorical
    ]


def decoded(data: VectorData, x: np.ndarray) -> pd.DataFrame:
    """Generated rows as source columns: numbers for numeric ones, the argmax category of
    each one-hot block for categorical ones."""
    pos = {c: i for i, c in enumerate(data.columns)}
    out: dict[str, object] = {}
    for name, kind in source_columns(data):
        if kind == "numeric":
            out[name] = x[:, pos[name]]
        else:
            values = data.real.categorical[name]
            block = x[:, [pos[f"{name}={v}"] for v in values]]
            out[name] = np.asarray(values, dtype=object)[block.argmax(axis=1)]
    return pd.DataFrame(out)


def column_scores(data: VectorData) -> pd.DataFrame:
    """Long table: step, column, kind, score (1 - KS or 1 - TV; 1 = same distribution)."""
    if data.real is None:
        return pd.DataFrame(columns=["step", "column", "kind", "score"])
    real = data.real.frame
    rows = []
    for step, x in zip(data.steps, data.arrays, strict=False):
        gen = decoded(data, x)
        for name, kind in source_columns(data):
            if kind == "numeric":
                r = pd.to_numeric(real[name], errors="coerce").dropna().to_numpy()
                d = ks_statistic(r, gen[name].to_numpy(np.float64))
            else:
                d = tv_distance(real[name].dropna(), gen[name])
            rows.append({"step": step, "column": name, "kind": kind, "score": 1.0 - d})
    return pd.DataFrame(rows)


def correlation_difference(data: VectorData, x: np.ndarray) -> tuple[list[str], np.ndarray]:
    """(columns, real corr - generated corr) over the encoded columns that vary in both;
    constant columns are left out (their correlation is undefined)."""
    real = data.real.matrix if data.real is not None else None
    if real is None:
        return [], np.zeros((0, 0))
    keep = [i for i in range(x.shape[1]) if real[:, i].std() > 0 and x[:, i].std() > 0]
    if len(keep) < 2:
        return [data.columns[i] for i in keep], np.zeros((len(keep), len(keep)))
    cr = np.corrcoef(real[:, keep], rowvar=False)
    cg = np.corrcoef(x[:, keep], rowvar=False)
    return [data.columns[i] for i in keep], cr - cg


def tsne_vectors(data: VectorData, steps: list[int], n: int = 300, seed: int = 0) -> TsneResult:
    """One t-SNE of n real rows (or none without a real table) and n rows per chosen step,
    standardised on the real rows (else on all rows shown)."""
    rng = np.random.default_rng(seed)

    def pick(a: np.ndarray) -> np.ndarray:
        return a if len(a) <= n else a[np.sort(rng.choice(len(a), n, replace=False))]

    by_step = dict(zip(data.steps, data.arrays, strict=False))
    fakes = {s: pick(by_step[s]) for s in steps}
    real = pick(data.real.matrix) if data.real is not None else np.zeros((0, len(data.columns)))
    mu, sd = standardiser(real if len(real) else np.vstack(list(fakes.values())))
    scaled = {s: (f - mu) / sd for s, f in fakes.items()}
    source = data.real.source if data.real else ""
    return embed_points((real - mu) / sd, scaled, source, seed)
