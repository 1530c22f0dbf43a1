"""StyleGAN runs without `stats.jsonl`: the `log.txt` the trainers print, and/or
the `metric-*.jsonl` FID history.

log.txt tick lines (StyleGAN2-ADA / StyleGAN3 and the TensorFlow StyleGAN /
StyleGAN2 all print them; TF adds `lod` and `minibatch`):
    tick 3  kimg 140.3  lod 7.00  minibatch 256  time 2m 54s  sec/tick 125.8  sec/kimg 0.90 ...
Every `name value` pair becomes a column under its own name (`kimg`, `lod`,
`sec/tick`, `gpumem`, ...); `time` (e.g. `1h 02m 03s`) becomes the wall time in
seconds since start. Snapshot/metric lines:
    network-snapshot-000140        time 3m 53s       fid50k 412.5562     (TensorFlow)
    {"results": {"fid50k_full": 17.3}, "snapshot_pkl": "network-snapshot-000140.pkl", ...}
                                                                         (ADA, JSON)
and `metric-*.jsonl` files go to `Run.sample_metrics` at the tick whose kimg
(rounded down) is the snapshot's kimg (the FID names map as in stylegan.py).

Step axis: the tick (unit "tick"); `run.extra["kimg"]` maps tick -> kimg.
Resumes: TensorFlow StyleGAN resumes into a new run folder whose kimg continues
(the tick restarts at 0). Pointed at a results folder holding several run folders
with log.txt, the logs are read in folder-name order as sections; so are ticks
going back inside one log. A section continues the tick axis after the previous
one; when it starts at a kimg already logged (resumed from an earlier snapshot)
the earlier ticks from that kimg on are replaced (`run.duplicates_replaced`).
A folder with only `metric-*.jsonl`, or a log holding only snapshot lines
(`network-snapshot-000401  time 6m 31s  fid50k_full 84.07`, saved without the tick
lines), gives an empty scalars table and sample metrics on a kimg axis (unit "kimg").
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import GanAnalyzeError
from ..files.bounded import loads_json
from ..files.runfiles import checked, keep_inside
from ..run import Run
from ._common import finish, read_jsonl_objects
from .stylegan import (
    FEATURES,
    METRIC_MAP,
    kimg_series,
    stylegan_run,
    tick_for_kimg,
    tick_frame,
)

NAME = "stylegan-log"
_TICK_RE = re.compile(r"^tick\s+(\d+)\s+(.*)$")
_TIME_RE = re.compile(r"\btime\s+((?:\d+d\s*)?(?:\d+h\s*)?(?:\d+m\s*)?(?:\d+s)?)")
_PAIR_RE = re.compile(r"(\S+)\s+([-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|nan|inf))(?=\s|$)")
_SNAPLINE_RE = re.compile(r"^network-snapshot-(\d+)\s+(.*)$")
_SNAP_RE = re.compile(r"network-snapshot-(\d+)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def seconds(text: str) -> float:
    """`1h 02m 03s` -> 3723.0."""
    return float(sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)([dhms])", text)))


def _has_ticks(p: Path) -> bool:
    """Tick lines, or snapshot lines with a metric (pasted or saved on their own)."""
    try:
        with open(p, encoding="utf-8", errors="replace") as f:
            head = f.read(256 * 1024)
    except OSError:
        return False
    return any(
        (_TICK_RE.match(x) and " kimg " in f" {x} ")
        or ((m := _SNAPLINE_RE.match(x.strip())) and _PAIR_RE.search(_TIME_RE.sub("", m.group(2))))
        for x in head.splitlines()
    )


def find(path: Path) -> tuple[list[Path], list[Path]]:
    """(log.txt files in section order, metric-*.jsonl files) for `path`."""
    path = Path(path)
    if path.is_file():
        return ([path] if _has_ticks(path) else []), []
    if not path.is_dir() or (path / "stats.jsonl").is_file():
        return [], []
    log = checked(path, path / "log.txt")
    metrics = keep_inside(path, sorted(path.glob("metric-*.jsonl")))
    if log is not None and _has_ticks(log):
        return [log], metrics
    if metrics:
        return [], metrics
    subs = keep_inside(path, sorted(path.glob("*/log.txt")))
    subs = [
        p
        for p in subs
        if p.is_file() and not (p.parent / "stats.jsonl").is_file() and _has_ticks(p)
    ]
    return subs, []


def detect(path: Path) -> bool:
    logs, metrics = find(path)
    return bool(logs or metrics)


def parse_log(p: Path, warnings: list[str]) -> tuple[list[dict], list[dict]]:
    """(tick rows, metric rows) from one log.txt."""
    ticks, metrics = [], []
    with open(p, encoding="utf-8", errors="replace") as f:
        for i, line in enumerate(f, 1):
            line = line.strip()
            m = _TICK_RE.match(line)
            if m:
                rest = m.group(2)
                row: dict = {"tick": int(m.group(1)), "line": i}
                t = _TIME_RE.search(rest)
                if t and t.group(1).strip():
                    row["wall_time"] = seconds(t.group(1))
                    rest = rest[: t.start()] + rest[t.end() :]
                for k, v in _PAIR_RE.findall(rest):
                    row[k] = float(v)
                if "kimg" not in row:
                    warnings.append(f"{p}:{i}: tick line without kimg (cut off?), skipped")
                    continue
                ticks.append(row)
                continue
            m = _SNAPLINE_RE.match(line)
            if m:
                rest = _TIME_RE.sub("", m.group(2))
                for k, v in _PAIR_RE.findall(rest):
                    metrics.append(
                        {
                            "kimg": int(m.group(1)),
                            "key": k,
                            "value": float(v),
                            "snapshot": f"network-snapshot-{m.group(1)}",
                        }
                    )
                continue
            if "\x00" in line or "\ufffd" in line:  # bytes that are no text: damage
                warnings.append(f"{p}:{i}: binary garbage in the log, line skipped")
                continue
            if line.startswith("{") and '"results"' in line:
                try:
                    obj = loads_json(line)
                except ValueError:
                    warnings.append(f"{p}:{i}: metric line is not valid JSON, skipped")
                    continue
                metrics.extend(_metric_rows(obj))
    return ticks, metrics


def _metric_rows(obj: dict) -> list[dict]:
    m = _SNAP_RE.search(str(obj.get("snapshot_pkl", "")))
    res = obj.get("results")
    if m is None or not isinstance(res, dict):
        return []
    out = []
    for k, v in res.items():
        try:
            out.append(
                {
                    "kimg": int(m.group(1)),
                    "key": k,
                    "value": float(v),
                    "snapshot": str(obj.get("snapshot_pkl")),
                    "timestamp": obj.get("timestamp"),
                }
            )
        except (TypeError, ValueError):
            continue
    return out


def place_sections(sections: list[list[dict]]) -> tuple[list[dict], int]:
    """Tick rows of all sections on one tick axis (module docstring); (rows, replaced)."""
    kept: list[dict] = []
    replaced = 0
    for sec in sections:
        if not sec:
            continue
        k0 = sec[0]["kimg"]
        if kept and k0 <= kept[-1]["kimg"]:
            before = len(kept)
            kept = [r for r in kept if r["kimg"] < k0]
            replaced += before - len(kept)
        offset = kept[-1]["step"] + 1 - sec[0]["tick"] if kept else 0
        for r in sec:
            kept.append({**r, "step": r["tick"] + offset})
    return kept, replaced


def load(path: Path) -> Run:
    path = Path(path)
    logs, metric_files = find(path)
    if not logs and not metric_files:
        raise GanAnalyzeError(f"{path}: no StyleGAN log.txt with tick lines and no metric-*.jsonl")
    warnings: list[str] = []
    sections: list[list[dict]] = []
    mrows: list[dict] = []
    for log in logs:
        ticks, mets = parse_log(log, warnings)
        mrows.extend(mets)
        cur: list[dict] = []
        for r in ticks:
            if cur and r["tick"] <= cur[-1]["tick"]:
                sections.append(cur)
                cur = []
            cur.append(r)
        sections.append(cur)
    for p in metric_files:
        for _, obj in read_jsonl_objects(p, warnings):
            mrows.extend(_metric_rows(obj))
    rows, replaced = place_sections(sections)
    steps = np.asarray([r["step"] for r in rows], dtype=np.int64)
    names = [
        k
        for k in dict.fromkeys(k for r in rows for k in r)
        if k not in ("tick", "line", "step", "wall_time")
    ]
    cols = {k: np.asarray([r.get(k, np.nan) for r in rows], dtype=float) for k in names}
    timed = rows and any("wall_time" in r for r in rows)
    wall = [r.get("wall_time", np.nan) for r in rows] if timed else None
    frame, counts, nonfinite, _, _ = tick_frame(steps, cols, None, wall)
    kimg = kimg_series(frame, "kimg")
    sm = _sample_metrics(mrows, kimg)
    if replaced:
        warnings.append(
            f"{path}: a resume started at a kimg already logged; {replaced} earlier "
            "tick(s) from that kimg on were replaced"
        )
    src = logs[0].parent if logs else path
    name = path.name if path.is_dir() else src.name
    run = stylegan_run(
        path, NAME, (frame, counts, nonfinite, replaced), kimg, sm, warnings, name=name
    )
    run.step_unit = "tick" if rows else "kimg"
    run.extra["sections"] = [
        {"first_tick": s[0]["tick"], "first_kimg": s[0]["kimg"], "ticks": len(s)}
        for s in sections
        if s
    ]
    return finish(run, file=str(logs[0] if logs else metric_files[0]))


def _sample_metrics(mrows: list[dict], kimg: pd.Series) -> pd.DataFrame:
    rows: dict[tuple[int, str], dict] = {}
    for m in mrows:
        step = tick_for_kimg(kimg, m["kimg"])
        col = METRIC_MAP.get(m["key"], m["key"])
        feat = FEATURES.get(col, "stylegan")
        row = rows.setdefault(
            (step, feat),
            {"step": step, "features": feat, "kimg": float(m["kimg"]), "snapshot": m["snapshot"]},
        )
        row[col] = m["value"]
        row.setdefault("metric_name", m["key"])
        if m.get("timestamp") is not None:
            row["timestamp"] = float(m["timestamp"])
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(list(rows.values()))
    df["step"] = df["step"].astype("int64")
    return df.sort_values(["step", "features"]).reset_index(drop=True)
