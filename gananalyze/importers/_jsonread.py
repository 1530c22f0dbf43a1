"""Reading a JSON table: an array of objects (a truncated array still yields every complete
object), an object of columns, or JSON lines already split into objects, as numeric columns
(`_csvread.Table`). Nested objects are flattened with "/" (`{"loss": {"G": 1}}` -> `loss/G`);
an MMCV line with `"mode": "val"` keeps its training signals apart, as `val/<name>`;
a NaN the file wrote (Python 2's json, `NaN`) is a logged value; text cells are left out
with file:line lines.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import GanAnalyzeError
from ..files.bounded import MAX_DEPTH, TooCostly, json_depth_ok, loads_json
from ..naming.aliases import is_sample_metric
from ._csvread import MAX_COLUMNS, Table


def _as_float(x: Any) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):
        return None


_NAN_WORDS = {"nan", "-nan", "inf", "-inf", "+inf", "infinity", "-infinity"}


def flatten(obj: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "/"))
        else:
            out[key] = v
    return out


def _by_mode(row: dict[str, Any], counters: tuple[str, ...]) -> dict[str, Any]:
    """An MMCV log line's training signals under its `mode`: `{"mode": "val", "loss_gen": 1}`
    -> `val/loss_gen` (a training line, or one without a mode, as it is; counters and sample
    metrics such as FID, an evaluation wherever it is logged, keep their names)."""
    mode = row.get("mode")
    if not isinstance(mode, str) or mode.strip().lower() in ("", "train"):
        return row
    keep = {"mode", *counters}
    return {
        (k if k.lower() in keep or is_sample_metric(k) else f"{mode.strip()}/{k}"): v
        for k, v in row.items()
    }


def from_objects(
    p: Path, objs: list[tuple[int, dict]], bad: list[str], counters: tuple[str, ...] = ()
) -> Table:
    """`objs` as numeric columns; `counters` (lower-case) are the step and epoch keys, which a
    non-training line's metrics (`mode: val`) do not move off (`_by_mode`)."""
    rows = [_by_mode(flatten(o), counters) for _, o in objs]
    df = pd.DataFrame(rows)
    out = Table(
        path=p,
        names=[str(c) for c in df.columns],
        lines=np.asarray([i for i, _ in objs], dtype=np.int64),
    )
    if len(df.columns) > MAX_COLUMNS:
        raise GanAnalyzeError(
            f"{p}: {len(df.columns):,} keys (limit {MAX_COLUMNS:,}); not a metrics table"
        )
    for c in df.columns:
        s = df[c]
        try:
            num = pd.to_numeric(s, errors="coerce")
        except OverflowError:  # an integer beyond float range (a damaged file)
            num = pd.to_numeric(s.map(_as_float), errors="coerce")
        text = s.astype(str).str.strip()
        isword = text.str.lower().isin(_NAN_WORDS)
        written = s.notna() & (text != "")
        if not written.all():  # a NaN the file wrote (NaN, Python 2's json) is a logged value
            key = str(c)
            gaps = np.flatnonzero(~written.to_numpy())
            written.iloc[gaps] = [key in rows[i] and rows[i][key] is not None for i in gaps]
        wrong = written & num.isna() & ~isword & ~s.map(lambda x: isinstance(x, float)).astype(bool)
        ok = written & ~wrong
        if not ok.any():
            if written.any():
                out.text_columns.append(str(c))
            continue
        v = np.array(num.to_numpy(dtype="float64"))
        out.values[str(c)] = v
        out.logged[str(c)] = ok.to_numpy()
        for i in np.flatnonzero(wrong.to_numpy())[:3]:
            bad.append(
                f"{p}:{out.lines[i]}: {c} = {str(s.iloc[i])[:30]!r} is not a number, left out"
            )
    return out


# where the next record of an array of objects starts: a "}" ending one, a comma, a "{"
_NEXT_RECORD = re.compile(r"\}\s*,\s*\{")


def read_json_document(p: Path, warnings: list[str]) -> list[tuple[int, dict]]:
    """(line, object) for each complete object of a JSON array (a truncated array
    still yields every complete object), or the rows of an object of columns."""
    text = p.read_text(encoding="utf-8-sig", errors="replace")
    s = text.lstrip()
    if s.startswith("{"):
        try:
            obj = loads_json(s, p)
        except (ValueError, RecursionError) as e:  # TooCostly names the file and the bound
            msg = str(e) if isinstance(e, TooCostly) else f"{p}: not valid JSON ({e})"
            raise GanAnalyzeError(msg) from None
        if not (isinstance(obj, dict) and obj and all(isinstance(v, list) for v in obj.values())):
            raise GanAnalyzeError(f"{p}: a JSON object, but not a table (expected lists of values)")
        n = max(len(v) for v in obj.values())
        return [(1, {k: (v[i] if i < len(v) else None) for k, v in obj.items()}) for i in range(n)]
    dec = json.JSONDecoder()
    out: list[tuple[int, dict]] = []
    pos = len(text) - len(s) + 1
    skipped = 0
    damaged: list[int] = []  # lines of records left out, the array read on past them
    deep = not json_depth_ok(text)  # then each record is checked before it is used
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            if pos >= len(text):
                warnings.append(
                    f"{p}: the JSON array is cut off after {len(out)} complete "
                    "record(s); all of them were read"
                )
            break
        try:
            obj, end = dec.raw_decode(text, pos)
            if deep and not json_depth_ok(text[pos:end]):
                raise RecursionError
        except (ValueError, RecursionError) as e:
            line = text.count("\n", 0, pos) + 1
            nxt = _NEXT_RECORD.search(text, pos + 1)
            if nxt is not None and not isinstance(e, RecursionError):
                # a damaged record (a NUL byte, a torn write): left out, the rest read
                damaged.append(line)
                pos = nxt.end() - 1
                continue
            what = "is cut off or damaged"
            if isinstance(e, RecursionError):
                what = f"has a record nested more than {MAX_DEPTH} levels deep"
            warnings.append(
                f"{p}:{line}: the JSON array {what} here; "
                f"the {len(out)} complete record(s) before it were read"
            )
            break
        if isinstance(obj, dict):
            out.append((text.count("\n", 0, pos) + 1, obj))
        else:
            skipped += 1
        pos = end
    if skipped:
        warnings.append(f"{p}: {skipped} array item(s) that are not objects left out")
    if damaged:
        lines = ", ".join(map(str, damaged[:5])) + (" ..." if len(damaged) > 5 else "")
        warnings.append(
            f"{p}: {len(damaged)} damaged record(s) of the JSON array left out (line "
            f"{lines}); the {len(out)} others were read"
        )
    return out
