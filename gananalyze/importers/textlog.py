"""Training logs printed to stdout and saved as text: lines of `key: value` / `key=value`.

Recognised when most lines of a `.txt` / `.log` / `.out` file (or a file without a
suffix) carry values, e.g.
    Epoch [1/10], loss_g: 2.98, loss_d: 0.40, real_score: 0.81, fake_score: 0.16
    [0/25][0/782] Loss_D: 1.38 Loss_G: 0.69 D(x): 0.50 D(G(z)): 0.40 / 0.30
    epoch=3 iter=200 d_loss=0.61 g_loss=1.20
Pointed at a folder, the one such file in it is read, unless the folder also holds a
table with a step column (then the table is the run: the `csv` format).

Counters
  `Epoch [e/E]`, `Batch [b/B]`, `Step [s/S]`, `Iter [i/I]` and the DCGAN tutorial's
  leading `[e/E][b/B]` (epoch, batch), or `epoch: e`, `iter=i`, `step: s` pairs.
  The step is the step/iteration counter when the log prints one; else
  epoch x batches per epoch + batch (batches per epoch from the `/B` total, or the
  largest batch seen + 1; epochs counted from the first one, 0- or 1-based as
  printed), unit "iteration"; else the epoch (unit "epoch"); else the line's
  number among the value lines (unit "row", said in `extra["step_note"]`).
Values
  Every other `key: number` pair is a column named as printed (`Loss_D`, `D(x)`).
  `key: a / b` (the DCGAN tutorial's D(G(z)) before / after the D update) gives
  `key_1` and `key_2`. Lines without values (banners, progress text) are counted in
  one warning; a last line cut off mid-number (fewer decimals than the line's other numbers)
  loses that number (file:line warning).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import GanAnalyzeError
from ..files.runfiles import checked, keep_inside
from ..run import Run
from ._common import warn_limit
from .table import build_run, find_table

NAME = "textlog"
SUFFIXES = (".txt", ".log", ".out", "")
_NUM = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf)"
_PAIR_RE = re.compile(
    rf"(?P<key>[A-Za-z_][\w().\[\]/-]*?)\s*[:=]\s*(?P<a>{_NUM})(?![\w.])"
    rf"(?:\s*/\s*(?P<b>{_NUM})(?![\w.]))?",
    re.IGNORECASE,
)
_COUNTER_RE = re.compile(r"(?P<word>[A-Za-z]+)?\s*\[\s*(?P<n>\d+)\s*/\s*(?P<total>\d+)\s*\]")
_COUNTER_WORDS = {
    "epoch": "epoch",
    "epochs": "epoch",
    "ep": "epoch",
    "batch": "batch",
    "iter": "iter",
    "iters": "iter",
    "iteration": "iter",
    "it": "iter",
    "step": "step",
    "global_step": "step",
}
_SAMPLE_LINES = 200


def _parse(line: str) -> tuple[dict[str, tuple[float, float | None]], dict[str, float]]:
    """(counters {epoch/batch/iter/step: (value, total)}, values) of one line."""
    counters: dict[str, tuple[float, float | None]] = {}
    bare: list[tuple[float, float]] = []
    for m in _COUNTER_RE.finditer(line):
        word = _COUNTER_WORDS.get((m.group("word") or "").lower())
        n, total = float(m.group("n")), float(m.group("total"))
        if word:
            counters.setdefault(word, (n, total))
        else:
            bare.append((n, total))
    rest = _COUNTER_RE.sub(" ", line)
    if bare and "epoch" not in counters:  # DCGAN tutorial: [epoch/E][batch/B]
        counters["epoch"] = bare[0]
        if len(bare) > 1:
            counters.setdefault("batch", bare[1])
    values: dict[str, float] = {}
    for m in _PAIR_RE.finditer(rest):
        key, a, b = m.group("key"), float(m.group("a")), m.group("b")
        word = _COUNTER_WORDS.get(key.lower())
        if word:
            counters.setdefault(word, (a, float(b) if b is not None else None))
        elif b is not None:
            values[f"{key}_1"], values[f"{key}_2"] = a, float(b)
        else:
            values[key] = a
    return counters, values


def _looks_like_log(p: Path) -> bool:
    try:
        with open(p, encoding="utf-8", errors="replace") as f:
            head = f.read(64 * 1024)
    except OSError:
        return False
    lines = [ln for ln in head.splitlines()[:_SAMPLE_LINES] if ln.strip()]
    if not lines or lines[0].lstrip().startswith(("{", "[{", "[\n")):
        return False
    hits = 0
    for ln in lines:
        counters, values = _parse(ln)
        hits += len(values) + min(len(counters), 1) >= 2
    return hits >= 2 and hits >= 0.5 * len(lines)


def _cut_short(line: str) -> bool:
    """Whether the last number of a line (the file's last, with no newline) has fewer
    decimals than the line's other numbers: the write was cut off mid-number."""
    decimals = [len(d) for d in re.findall(r"\d\.(\d+)", line)]
    return bool(decimals) and len(decimals) > 1 and decimals[-1] < min(decimals[:-1])


def find_log(path: Path) -> Path | None:
    path = Path(path)
    if path.is_file():
        return path if path.suffix.lower() in SUFFIXES and _looks_like_log(path) else None
    if not path.is_dir():
        return None
    try:
        files = keep_inside(path, sorted(path.iterdir()))
    except OSError:
        return None
    found = [
        p for p in files if p.is_file() and p.suffix.lower() in SUFFIXES and _looks_like_log(p)
    ]
    if len(found) != 1:
        return None
    try:  # a folder with a metrics table (Lightning's metrics.csv beside a captured stdout)
        if find_table(path)[0] is not None:
            return None
    except GanAnalyzeError:
        return None
    return found[0]


def detect(path: Path) -> bool:
    return find_log(path) is not None


def _steps(rows: list[dict], counters: list[dict]) -> tuple[np.ndarray, str, str | None]:
    """(steps, unit, note) from the counters the lines printed (module docstring)."""

    def col(name: str) -> np.ndarray:
        return np.array([c.get(name, (np.nan, None))[0] for c in counters], dtype=np.float64)

    for name in ("step", "iter"):
        v = col(name)
        if np.isfinite(v).all():
            return v.astype(np.int64), "iteration", None
    ep, b = col("epoch"), col("batch")
    if np.isfinite(ep).all() and np.isfinite(b).all():
        totals = [c["batch"][1] for c in counters if c["batch"][1]]
        per = int(max(totals)) if totals else int(b.max()) + 1
        per = max(per, int(b.max()) + 1)
        e0 = 0 if ep.min() == 0 else 1
        return (
            ((ep - e0) * per + b).astype(np.int64),
            "iteration",
            (f"epoch x {per} batches per epoch + batch"),
        )
    if np.isfinite(ep).all():
        return ep.astype(np.int64), "epoch", None
    return np.arange(len(rows), dtype=np.int64), "row", "line number among the value lines"


def load(path: Path) -> Run:
    path = Path(path)
    log = find_log(path)
    if log is None:
        raise GanAnalyzeError(f"{path}: no text log with key: value lines here")
    warnings: list[str] = []
    log = checked(log.parent, log, warnings) or log
    bad: list[str] = []
    rows: list[dict[str, float]] = []
    counters: list[dict] = []
    lines: list[int] = []
    other = 0
    with open(log, encoding="utf-8", errors="replace") as f:
        text = f.read()
    all_lines = text.splitlines()
    for no, line in enumerate(all_lines, 1):
        if not line.strip():
            continue
        c, v = _parse(line)
        if not v:
            other += 1
            continue
        if no == len(all_lines) and not text.endswith("\n") and _cut_short(line):
            last = list(v)[-1]
            v.pop(last)
            bad.append(f"{log}:{no}: last line cut off; its last value ({last}) left out")
            if not v:
                continue
        rows.append(v)
        counters.append(c)
        lines.append(no)
    if not rows:
        raise GanAnalyzeError(f"{log}: no line with key: value pairs")
    if other:
        warnings.append(f"{log}: {other} line(s) without values skipped (banners, progress)")
    # every line must print the counter the step is taken from; others fall back
    keys = set().union(*(c.keys() for c in counters))
    for k in list(keys):
        if not all(k in c for c in counters):
            for c in counters:
                c.pop(k, None)
    steps, unit, note = _steps(rows, counters)
    names = list(dict.fromkeys(k for r in rows for k in r))
    cols = {n: np.array([r.get(n, np.nan) for r in rows], dtype=np.float64) for n in names}
    logged = {n: np.array([n in r for r in rows], dtype=bool) for n in names}
    epoch = None
    if "epoch" in keys and all("epoch" in c for c in counters) and unit != "epoch":
        epoch = np.array([c["epoch"][0] for c in counters], dtype=np.float64)
    warn_limit(warnings, bad, "problems")
    run = build_run(
        path, log, NAME, steps, cols, logged, warnings, unit=unit, index={"epoch": epoch}
    )
    if note:
        run.extra["step_note"] = note
    return run
