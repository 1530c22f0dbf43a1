"""Tables of rows: the real data (or a final synthetic table) a user names for vector GANs.

`load_table(path)` reads a .csv, .parquet or .npy file and turns it into a
`DataTable`: numeric columns used as they are, categorical (text/bool) columns
one-hot encoded as "column=value", the choice said in `DataTable.describe()`.
`align(gen, real)` puts generated vectors in the real table's encoded columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import GanAnalyzeError

MAX_CATEGORIES = 50  # a text column with more distinct values is left out (an id, free text)


@dataclass
class DataTable:
    """source: the file; frame: the columns used, as read; matrix: float64 (N, D) encoded;
    columns: the D encoded names; numeric / categorical: the source columns of each kind;
    dropped: (column, why) left out."""

    source: str
    frame: pd.DataFrame
    matrix: np.ndarray
    columns: list[str]
    numeric: list[str]
    categorical: dict[str, list[str]] = field(default_factory=dict)
    dropped: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> str:
        parts = [f"{len(self.frame)} rows", f"{len(self.numeric)} numeric column(s) used as is"]
        if self.categorical:
            n = sum(len(v) for v in self.categorical.values())
            parts.append(f"{len(self.categorical)} categorical column(s) one-hot encoded into {n}")
        for c, why in self.dropped:
            parts.append(f"{c!r} left out ({why})")
        return f"{self.source}: " + "; ".join(parts)


def read_frame(path: str | Path) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise GanAnalyzeError(f"{p}: no such file")
    suffix = p.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(p)
        if suffix == ".parquet":
            return pd.read_parquet(p)
        if suffix == ".npy":
            a = np.load(p, allow_pickle=False)
            if a.ndim == 3:
                a = a.reshape(len(a), -1)
            if a.ndim != 2 or not np.issubdtype(a.dtype, np.number):
                raise GanAnalyzeError(
                    f"{p}: expected a numeric (N, D) or (N, T, D) array, got {a.dtype} "
                    f"{tuple(a.shape)}"
                )
            return pd.DataFrame(a.astype(np.float64), columns=[f"c{i}" for i in range(a.shape[1])])
    except GanAnalyzeError:
        raise
    except Exception as e:
        detail = str(e).strip().splitlines()[0] if str(e).strip() else "no detail"
        raise GanAnalyzeError(f"{p}: unreadable table ({type(e).__name__}: {detail})") from None
    raise GanAnalyzeError(
        f"{p}: a table must be .csv, .parquet or .npy, not {suffix or 'no suffix'}"
    )


def load_table(path: str | Path, like: DataTable | None = None) -> DataTable:
    """The table at `path`, encoded; with `like`, encoded in like's columns (a synthetic
    table next to its real one: same one-hot values, unknown values left at zero)."""
    df = read_frame(path)
    return encode(df, str(path), like)


def encode(df: pd.DataFrame, source: str, like: DataTable | None = None) -> DataTable:
    if len(df) < 2:
        raise GanAnalyzeError(f"{source}: needs at least 2 rows, has {len(df)}")
    numeric, cats, dropped = [], {}, []
    for c in df.columns:
        s = df[c]
        name = str(c)
        if like is not None:
            if name in like.numeric:
                numeric.append(name)
            elif name in like.categorical:
                cats[name] = like.categorical[name]
            else:
                dropped.append((name, "not in the real table"))
            continue
        if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
            values = sorted(s.dropna().astype(str).unique())
            if len(values) > MAX_CATEGORIES:
                dropped.append((name, f"{len(values)} distinct text values"))
                continue
            cats[name] = values
        else:
            numeric.append(name)
    if like is not None:
        missing = [c for c in (*like.numeric, *like.categorical) if c not in df.columns.astype(str)]
        if missing:
            raise GanAnalyzeError(f"{source}: lacks the real table's column(s) {missing[:5]}")
        numeric, cats = list(like.numeric), dict(like.categorical)
    if not numeric and not cats:
        raise GanAnalyzeError(f"{source}: no numeric or categorical columns")
    df = df.rename(columns=str)
    cols, blocks = [], []
    for c in numeric:
        v = pd.to_numeric(df[c], errors="coerce").to_numpy(np.float64)
        bad = int((~np.isfinite(v)).sum())
        if bad:
            v = np.where(np.isfinite(v), v, np.nanmedian(v) if np.isfinite(v).any() else 0.0)
            dropped.append((c, f"{bad} missing/non-finite value(s) set to the median"))
        cols.append(c)
        blocks.append(v[:, None])
    for c, values in cats.items():
        s = df[c].astype(str)
        for v in values:
            cols.append(f"{c}={v}")
            blocks.append((s == v).to_numpy(np.float64)[:, None])
    frame = df[[*numeric, *cats]].copy()
    return DataTable(source, frame, np.hstack(blocks), cols, numeric, cats, dropped)


def from_vectors(x: np.ndarray, columns: list[str], real: DataTable | None) -> np.ndarray:
    """Generated (N, D) vectors in the real table's encoded column order."""
    if real is None:
        return x
    if list(columns) == real.columns or not set(real.columns) <= set(columns):
        if x.shape[1] != len(real.columns):
            raise GanAnalyzeError(
                f"the samples have {x.shape[1]} columns, the real table {real.source} has "
                f"{len(real.columns)} ({', '.join(real.columns[:6])})"
            )
        return x
    pos = {c: i for i, c in enumerate(columns)}
    return x[:, [pos[c] for c in real.columns]]


def standardiser(real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) of the real columns; a constant column gets std 1."""
    mu = real.mean(axis=0)
    sd = real.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return mu, sd


def is_table_file(spec: str | Path | None) -> bool:
    """Whether --real names a table (.csv, .parquet, or a 2-D .npy) rather than images."""
    if spec is None:
        return False
    p = Path(spec)
    suffix = p.suffix.lower()
    if suffix in (".csv", ".parquet"):
        return True
    if suffix == ".npy" and p.is_file():
        try:
            return np.load(p, mmap_mode="r", allow_pickle=False).ndim == 2
        except (ValueError, OSError):
            return False
    return False
