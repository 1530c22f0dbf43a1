"""Generic tables: CSV / TSV / JSON-lines files with a step column, including
PyTorch Lightning's CSVLogger (`lightning_logs/version_N/metrics.csv`).

The step column is the first of STEP_COLUMNS present (case-insensitive).
Rows may be sparse (Lightning writes one row per logging call with only the
metrics of that call); rows for the same step merge, and a value written twice
for the same (step, metric) keeps the later row. `epoch` becomes the epoch
column; `wall_time`/`timestamp`/`time` the wall time. Columns that are not
numbers are left out with one warning. Nested JSON objects are flattened with
"/" (`{"loss": {"G": 1}}` -> `loss/G`).

Damaged input: a CSV row with the wrong number of fields or a JSON line that
does not parse is skipped with a file:line warning; non-numeric cells in a
numeric column become "not logged" (first ones reported by file:line).

Pointed at a folder: `metrics.csv` there, or the newest
`lightning_logs/version_N/metrics.csv` below it (older versions are named in a
warning), or the only CSV/JSONL file with a step column. `hparams.yaml` next
to the table becomes the config.
"""

from __future__ import annotations

import json
import re
import warnings as _warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import GanAnalyzeError
from ..run import LOSS_TYPES, Run
from ._common import finish, pivot_wide, read_jsonl_objects, warn_limit

NAME = "csv"
STEP_COLUMNS = ("step", "global_step", "trainer/global_step", "iteration", "iterations", "iter", "iters", "it", "_step", "steps", "n_iter")
WALL_COLUMNS = ("wall_time", "walltime", "timestamp", "_timestamp", "time")
SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson")
_VERSION_RE = re.compile(r"version_(\d+)$")


def _step_column(columns: list[str]) -> str | None:
    low = {c.strip().lower(): c for c in columns}
    for name in STEP_COLUMNS:
        if name in low:
            return low[name]
    return None


def _header(p: Path) -> list[str]:
    """Column names from the first line (CSV/TSV) or first parseable object (JSONL)."""
    with open(p, encoding="utf-8", errors="replace") as f:
        if p.suffix in (".jsonl", ".ndjson"):
            for _, line in zip(range(50), f, strict=False):
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    return list(_flatten(obj))
            return []
        first = f.readline()
    sep = "\t" if p.suffix == ".tsv" else ","
    return [c.strip().strip('"') for c in first.rstrip("\r\n").split(sep)]


def find_table(path: Path) -> tuple[Path | None, list[str]]:
    """(the table to read, notes about other candidates) for `path`."""
    path = Path(path)
    notes: list[str] = []
    if path.is_file():
        return (path if path.suffix in SUFFIXES and _step_column(_header(path)) else None), notes
    if not path.is_dir():
        return None, notes
    if (path / "metrics.csv").is_file():
        return path / "metrics.csv", notes
    versions = sorted(path.glob("**/version_*/metrics.csv"), key=lambda p: (str(p.parent.parent), int(_VERSION_RE.search(p.parent.name).group(1)) if _VERSION_RE.search(p.parent.name) else -1))
    if versions:
        if len(versions) > 1:
            notes.append(f"{path}: {len(versions)} Lightning versions found; read the newest, {versions[-1].relative_to(path)} (older: {', '.join(str(v.parent.relative_to(path)) for v in versions[:-1][:5])}); point at a version folder to read another")
        return versions[-1], notes
    cands = [p for p in sorted(path.iterdir()) if p.is_file() and p.suffix in SUFFIXES and _step_column(_header(p))]
    if len(cands) == 1:
        return cands[0], notes
    if len(cands) > 1:
        raise GanAnalyzeError(f"{path}: several tables with a step column ({', '.join(p.name for p in cands[:6])}); point gananalyze at one file")
    return None, notes


def detect(path: Path) -> bool:
    try:
        table, _ = find_table(path)
    except GanAnalyzeError:
        return True
    return table is not None


def _flatten(obj: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "/"))
        else:
            out[key] = v
    return out


def read_csv(p: Path, warnings: list[str]) -> pd.DataFrame:
    bad: list[str] = []
    sep = "\t" if p.suffix == ".tsv" else ","
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        try:
            # only empty cells are "not logged"; a literal nan/inf is a logged value
            df = pd.read_csv(p, sep=sep, on_bad_lines="warn", low_memory=False, keep_default_na=False, na_values=[""])
        except pd.errors.EmptyDataError:
            return pd.DataFrame()
        except (pd.errors.ParserError, UnicodeDecodeError) as e:
            raise GanAnalyzeError(f"{p}: not a readable table ({str(e).splitlines()[0]})") from None
    for w in caught:
        for m in re.finditer(r"Skipping line (\d+): (.*)", str(w.message)):
            bad.append(f"{p}:{m.group(1)}: malformed row skipped ({m.group(2).strip()})")
    warn_limit(warnings, bad, "malformed rows")
    df.columns = [str(c).strip() for c in df.columns]
    return df


def read_jsonl(p: Path, warnings: list[str]) -> pd.DataFrame:
    objs = read_jsonl_objects(p, warnings)
    df = pd.DataFrame([_flatten(obj) for _, obj in objs])
    df.attrs["lines"] = [i for i, _ in objs]
    return df


_NAN_WORDS = {"nan", "-nan", "inf", "-inf", "+inf", "infinity", "-infinity"}


def _numeric(df: pd.DataFrame, col: str, p: Path, lines: list[int] | None, bad: list[str]) -> np.ndarray:
    s = df[col]
    if s.dtype.kind in "fiub":
        return s.to_numpy(dtype="float64")
    num = pd.to_numeric(s, errors="coerce")
    text = s.astype(str).str.strip()
    wrong = num.isna() & s.notna() & (text != "") & ~text.str.lower().isin(_NAN_WORDS)
    num[wrong] = np.nan
    for i in np.flatnonzero(wrong.to_numpy())[:3]:
        where = lines[i] if lines else i + 2  # +2: header line and 1-based
        bad.append(f"{p}:{where}: {col} = {str(s.iloc[i])[:30]!r} is not a number, left out")
    return num.to_numpy(dtype="float64")


def load(path: Path) -> Run:
    """Read a CSV/TSV/JSONL table or a Lightning CSVLogger folder (see the module docstring)."""
    path = Path(path)
    table, notes = find_table(path)
    if table is None:
        raise GanAnalyzeError(f"{path}: no CSV/JSONL table with a step column ({', '.join(STEP_COLUMNS[:6])}, ...)")
    warnings: list[str] = list(notes)
    df = read_jsonl(table, warnings) if table.suffix in (".jsonl", ".ndjson") else read_csv(table, warnings)
    lines = df.attrs.get("lines")
    step_col = _step_column(list(df.columns)) if len(df.columns) else None
    if step_col is None:
        raise GanAnalyzeError(f"{table}: no step column (looked for {', '.join(STEP_COLUMNS)})")
    bad: list[str] = []
    steps_f = _numeric(df, step_col, table, lines, bad)
    ok = ~np.isnan(steps_f)
    if (~ok).any():
        bad.append(f"{table}: {int((~ok).sum())} row(s) without a step skipped")
    steps = steps_f[ok].astype(np.int64)
    epoch = wall = None
    cols: dict[str, np.ndarray] = {}
    logged: dict[str, np.ndarray] = {}
    dropped = []
    low = {c.lower(): c for c in df.columns}
    wall_col = next((low[c] for c in WALL_COLUMNS if c in low), None)
    for c in df.columns:
        if c == step_col:
            continue
        if df[c].dtype.kind not in "fiub" and pd.to_numeric(df[c], errors="coerce").notna().sum() == 0:
            if df[c].notna().any():
                dropped.append(c)
            continue
        v = _numeric(df, c, table, lines, bad)[ok]
        cell = df[c][ok]
        logged[c] = (cell.notna() & (cell.astype(str).str.strip() != "")).to_numpy() & ~(np.isnan(v) & ~cell.astype(str).str.strip().str.lower().isin(_NAN_WORDS).to_numpy())
        if c.lower() == "epoch":
            epoch = v
        elif c == wall_col:
            wall = v
        else:
            cols[c] = v
    if dropped:
        warnings.append(f"{table}: non-numeric column(s) left out: {', '.join(dropped[:8])}")
    warn_limit(warnings, bad, "non-numeric cells")
    frame, counts, nonfinite, dup_steps, replaced = pivot_wide(steps, cols, logged)
    for name, arr in (("wall_time", wall), ("epoch", epoch)):
        if arr is not None and len(frame):
            s = pd.Series(arr, index=steps).dropna().groupby(level=0).last()
            frame.insert(1, name, s.reindex(frame["step"]).to_numpy())
    if dup_steps:
        warnings.append(f"{table}: {dup_steps} step(s) were written more than once with different values; the later row was kept ({replaced} value(s) replaced)")
    config: dict[str, Any] = {}
    hp = table.parent / "hparams.yaml"
    if hp.is_file():
        import yaml

        try:
            loaded = yaml.safe_load(hp.read_text(errors="replace"))
            config = loaded if isinstance(loaded, dict) else {}
        except yaml.YAMLError as e:
            warnings.append(f"{hp}: not readable as plain YAML ({str(e).splitlines()[0]}); config unknown")
    loss = None
    for key in ("loss", "loss_type", "gan_loss", "gan_mode", "adv_loss"):
        v = str(config.get(key, "")).lower()
        if v in LOSS_TYPES:
            loss = v
            break
        if v in ("vanilla", "bce", "ns", "non-saturating"):
            loss = "bce"
            break
        if v in ("wgan", "wgan-gp", "wgangp"):
            loss = "wasserstein"
            break
    name = table.parent.name if table.name == "metrics.csv" else table.stem
    if _VERSION_RE.search(table.parent.name) and table.parent.parent.name:
        name = f"{table.parent.parent.parent.name or table.parent.parent.name}/{table.parent.name}"
    run = Run(path=path, name=name, format=NAME, loss=loss, config=config, scalars=frame, counts=counts, nonfinite=nonfinite, warnings=warnings, duplicates_replaced=dup_steps)
    run.extra["table"] = str(table)
    if not len(frame):
        warnings.append(f"{table}: no rows with a step")
    return finish(run, file=str(table))
