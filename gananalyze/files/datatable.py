"""Tables of rows: the real data (or a final synthetic table) a user names for vector GANs.

`load_table(path)` reads a .csv, .parquet or .npy file and turns it into a
`DataTable`: numeric columns used as they are, categorical (text/bool) columns
one-hot encoded as "column=value", the choice said in `DataTable.describe()`.
`load_table(path, label_column="y")` takes one column out as each row's class (a
conditional generator's labels, `DataTable.labels`; see `row_labels`).
`align(gen, real)` puts generated vectors in the real table's encoded columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import GanAnalyzeError
from .bounded import check_npy, load_npy

MAX_CATEGORIES = 50  # a text column with more distinct values is left out (an id, free text)


@dataclass
class DataTable:
    """source: the file; frame: the columns used, as read; matrix: float64 (N, D) encoded;
    columns: the D encoded names; numeric / categorical: the source columns of each kind;
    dropped: (column, why) left out; labels: each row's class (int64) when a label column
    was named, label_column its name, label_names the value of each class."""

    source: str
    frame: pd.DataFrame
    matrix: np.ndarray
    columns: list[str]
    numeric: list[str]
    categorical: dict[str, list[str]] = field(default_factory=dict)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    labels: np.ndarray | None = None
    label_column: str | None = None
    label_names: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = [f"{len(self.frame)} rows", f"{len(self.numeric)} numeric column(s) used as is"]
        if self.labels is not None:
            parts.append(
                f"classes from {self.label_column!r} ({len(self.label_names)} distinct values)"
            )
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
            a = load_npy(p)
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


def load_table(
    path: str | Path, like: DataTable | None = None, label_column: str | None = None
) -> DataTable:
    """The table at `path`, encoded; with `like`, encoded in like's columns (a synthetic
    table next to its real one: same one-hot values, unknown values left at zero). With
    `label_column`, that column is each row's class (`row_labels`), not a feature; rows
    without a label are left out (said in `dropped`)."""
    df = read_frame(path)
    if label_column is None:
        return encode(df, str(path), like)
    names = [str(c) for c in df.columns]
    if label_column not in names:
        raise GanAnalyzeError(
            f"{path}: no label column {label_column!r}; its columns are "
            f"{', '.join(repr(c) for c in names[:12])}{' ...' if len(names) > 12 else ''}"
        )
    col = df.columns[names.index(label_column)]
    labels, values, missing = row_labels(df[col], f"{path}: label column {label_column!r}")
    rest = df.drop(columns=[col])
    if missing.any():
        rest = rest[~missing].reset_index(drop=True)
    table = encode(rest, str(path), like)
    if missing.any():
        table.dropped.append(
            (label_column, f"{int(missing.sum())} row(s) without a label left out")
        )
    table.labels, table.label_column, table.label_names = labels, label_column, values
    return table


MAX_CLASSES = 1 << 16


def row_labels(s: pd.Series, what: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(class of each labelled row as int64, the value of each class, which rows have no
    label). Integer values are the class numbers themselves (0..65535); any other values
    (text, say) are numbered by their rank in sorted order, as scikit-learn's
    LabelEncoder does."""
    missing = s.isna().to_numpy()
    v = s[~missing]
    if not len(v):
        raise GanAnalyzeError(f"{what}: holds no labels")
    num = pd.to_numeric(v, errors="coerce") if not pd.api.types.is_bool_dtype(v) else None
    if num is not None and num.notna().all() and (num == num.round()).all():
        y = num.to_numpy(np.float64)
        if y.min() < 0 or y.max() >= MAX_CLASSES:
            raise GanAnalyzeError(
                f"{what}: integer classes must lie in 0..{MAX_CLASSES - 1}, found "
                f"{y.min():g}..{y.max():g}"
            )
        y = y.astype(np.int64)
        return y, [str(k) for k in range(int(y.max()) + 1)], missing
    text = v.astype(str)
    values = sorted(text.unique())
    if len(values) > MAX_CATEGORIES:
        raise GanAnalyzeError(
            f"{what}: {len(values)} distinct non-integer values; a class column has at most "
            f"{MAX_CATEGORIES} (or integer class numbers)"
        )
    rank = {x: i for i, x in enumerate(values)}
    return text.map(rank).to_numpy(np.int64), values, missing


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
            return len(check_npy(p)[0]) == 2
        except (ValueError, OSError):
            return False
    return False
