"""The grammar of pytorch-CycleGAN-and-pix2pix's `loss_log.txt` (cyclegan.py places the
lines on a step axis): section headers, training lines, and the lines of other sections.

A training line is
    (epoch: E, iters: I, time: T, data: D) D_A: 0.123 G_A: 0.456 ...
optionally behind a process tag and with its pairs separated by commas, as the trainer's
distributed version prints it,
    [Rank 0] (epoch: 1, iters: 100, time: 0.109, data: 0.097) , D_A: 0.306, G_A: 0.446
and ComboGAN's per-domain form `D: a, b | G: c, d |` (one name per value). A line cut
mid-way keeps the values it has; a line printed with an epoch amid lines of a later one
is read at its epoch or left out (counters.stray_rows). Nothing here resolves steps.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from ..files.textenc import file_encoding
from .counters import stray_rows

_HEADER_RE = re.compile(r"^=+\s*(.*?)\s*(?:\((.*)\))?\s*=+\s*$")
_LINE_RE = re.compile(r"^\((?P<prefix>[^)]*)\)?\s*(?P<rest>.*)$")
_PAIR_RE = re.compile(r"([^\s:]+):\s*(\S+)")
_NUM_STD_RE = re.compile(
    r"^\s*([^:]+?)\s*:\s*([-+0-9.eE]+|nan|inf|-inf)\s*"
    r"(?:\(\s*([-+0-9.eE]+|nan|inf|-inf)\s*\))?\s*$",
    re.I,
)
_TAG_RE = re.compile(r"^\[[^\]\n]{1,40}\]\s*(?=\()")  # `[Rank 0] ` before the line's `(`


def num(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def untagged(line: str) -> str:
    """A line without its process tag (`[Rank 0] (epoch: ...` -> `(epoch: ...`)."""
    return _TAG_RE.sub("", line, count=1)


def parse_log(log: Path, warnings: list[str]) -> dict[str, Any]:
    """Lines of the log grouped into sections; nothing is resolved yet."""
    sections: list[dict[str, Any]] = []
    cur: dict[str, Any] | None = None
    skipped_other: Counter = Counter()
    bad: list[str] = []
    test_results: list[dict] = []
    model_saved: list[dict] = []
    with open(log, encoding=file_encoding(log), errors="replace") as f:
        for line_no, raw in enumerate(f, 1):
            line = untagged(raw.rstrip("\n"))
            if not line.strip():
                continue
            h = _HEADER_RE.match(line.strip())
            if h and line.strip().startswith("="):
                kind = h.group(1) or "?"
                cur = {"kind": kind, "date": h.group(2), "line": line_no, "rows": []}
                sections.append(cur)
                if kind.lower().startswith("test"):
                    test_results.append({"date": h.group(2), "line": line_no, "values": {}})
                elif kind.lower().startswith("model saved"):
                    model_saved.append({"date": h.group(2), "line": line_no, "values": {}})
                continue
            if cur is None:
                cur = {"kind": "Training Loss", "date": None, "line": line_no, "rows": []}
                sections.append(cur)
            is_train = cur["kind"].lower().startswith("training")
            if line.startswith("("):
                if not is_train:
                    skipped_other[cur["kind"]] += 1
                    continue
                m = _LINE_RE.match(line)
                prefix = dict(_PAIR_RE.findall(m.group("prefix").replace(",", " "))) if m else {}
                epoch, iters = num(prefix.get("epoch", "")), num(prefix.get("iters", ""))
                if epoch is None or iters is None or ")" not in line:
                    bad.append(f"{log}:{line_no}: line cut off before its epoch/iters, skipped")
                    continue
                values: dict[str, float] = {}
                for k, v in (("iter_time", prefix.get("time")), ("data_time", prefix.get("data"))):
                    if v is not None and num(v) is not None:
                        values[k] = float(v)
                rest = line.split(")", 1)[1]
                if "|" in rest:
                    rest = _per_domain(rest)
                tokens = rest.replace(",", " ").split()  # `, D_A: 0.306, G_A: 0.446` too
                cut = False
                i = 0
                while i < len(tokens):
                    name = tokens[i]
                    if not name.endswith(":") or i + 1 >= len(tokens) or num(tokens[i + 1]) is None:
                        cut = True
                        break
                    values[name[:-1]] = float(tokens[i + 1])
                    i += 2
                if (
                    not raw.endswith("\n")
                    and not line.endswith(" ")
                    and not cut
                    and len(values) > 2
                ):
                    values.pop(
                        list(values)[-1]
                    )  # last line of a file cut off: its last number may be partial
                    cut = True
                prev = cur["rows"][-1]["values"] if cur["rows"] else None
                if (
                    not cut
                    and prev is not None
                    and len(values) < len(prev)
                    and set(values) < set(prev)
                ):
                    cut = True
                row = {
                    "epoch": int(epoch),
                    "iters": int(iters),
                    "line": line_no,
                    "values": values,
                    "cut": cut,
                }
                cur["rows"].append(row)
                if cut:
                    bad.append(
                        f"{log}:{line_no}: line cut off or garbled after "
                        f"{len([k for k in values if k not in ('iter_time', 'data_time')])} "
                        "value(s); the readable values were used"
                    )
            else:
                target = (
                    test_results[-1]
                    if test_results and cur["kind"].lower().startswith("test")
                    else model_saved[-1]
                    if model_saved and cur["kind"].lower().startswith("model saved")
                    else None
                )
                m = _NUM_STD_RE.match(line)
                if target is not None and m:
                    target["values"][m.group(1)] = float(m.group(2))
                    if m.group(3) is not None:
                        target["values"][m.group(1) + "/std"] = float(m.group(3))
                elif is_train:
                    bad.append(f"{log}:{line_no}: unreadable line skipped")
                else:
                    skipped_other[cur["kind"]] += 1
    for sec in sections:
        sec["rows"] = _drop_strays(sec["rows"], log, bad, warnings)
    return {
        "sections": sections,
        "skipped_other": skipped_other,
        "bad": bad,
        "test_results": test_results,
        "model_saved": model_saved,
    }


def _drop_strays(rows: list[dict], log: Path, bad: list[str], warnings: list[str]) -> list[dict]:
    """A section's rows with its stray lines (counters.stray_rows) read at their epoch (a
    warning: nothing was lost) or left out (damaged data)."""
    fix = stray_rows([r["epoch"] for r in rows], [r["iters"] for r in rows])
    out = []
    for i, r in enumerate(rows):
        if i not in fix:
            out.append(r)
            continue
        e = fix[i]
        where = f"{log}:{r['line']}: epoch printed as {r['epoch']} amid lines of a later epoch"
        if e is None:
            bad.append(f"{where}; skipped")
            continue
        warnings.append(f"{where}; read as epoch {e}")
        out.append({**r, "epoch": e})
    return out


def _per_domain(rest: str) -> str:
    """ComboGAN's `D: a, b | G: c, d |` as `D_0: a D_1: b G_0: c G_1: d` (one name per value;
    a part with one value keeps its name)."""
    out: list[str] = []
    for part in rest.split("|"):
        name, sep, vals = part.partition(":")
        name = name.strip()
        if not sep or not name:
            if part.strip():
                out.append(part.strip())
            continue
        nums = [v.strip() for v in vals.split(",")]
        if len(nums) == 1:
            out.append(f"{name}: {nums[0]}")
        else:
            out.extend(f"{name}_{i}: {v}" for i, v in enumerate(nums) if v)
    return " ".join(out)
