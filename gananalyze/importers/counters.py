"""Step axes from the counters a log prints: one home for every importer's step rules.

- A counter that never changes is never the step while another counter increases
  (`pick_step`).
- Epoch + per-epoch iteration (+ iterations per epoch, when printed) becomes one
  global step (`global_steps`); an iteration that never goes back when the epoch
  moves on is already global and is used as it is.
- Resumes: rows are split into segments only where the step really goes back
  (`segments`); a later segment replaces the earlier rows at or after its first step.
- One line going back between lines of the epoch so far is a garbled counter, not a
  resume (`stray_rows`).
- Records opened by a counter line give their value lines its counters
  (`headed_records`).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .linetemplates import Extracted

RECORD_LINES = 4  # value lines a counter line may head as one record


def varies(v: np.ndarray) -> bool:
    """Whether a counter column takes more than one value (NaN cells ignored)."""
    f = v[np.isfinite(v)]
    return len(f) > 1 and bool(f.min() != f.max())


def pick_step(candidates: list[tuple[str, np.ndarray]]) -> str | None:
    """The first candidate (name, values) that varies; a constant one is passed over
    while a later candidate varies. None when none has a number."""
    have = [(n, v) for n, v in candidates if np.isfinite(v).any()]
    if not have:
        return None
    return next((n for n, v in have if varies(v)), have[0][0])


def per_epoch(epoch: np.ndarray, it: np.ndarray) -> int:
    """Iterations per epoch inferred from the rows that cross an epoch boundary: print
    interval p (the most common gap within an epoch), N = I_last + p - I_first_of_next,
    the most common estimate; at least the largest iteration seen, so the axis is monotonic."""
    same = epoch[1:] == epoch[:-1]
    gaps = np.diff(it)[same]
    gaps = gaps[gaps > 0]
    p = Counter(gaps.tolist()).most_common(1)[0][0] if len(gaps) else 1
    cross = np.flatnonzero(epoch[1:] == epoch[:-1] + 1)
    est = [int(it[i] + p - it[i + 1]) for i in cross]
    n = Counter(est).most_common(1)[0][0] if est else 0
    top = int(it.max()) + (1 if it.min() == 0 else 0) if len(it) else 1
    return max(n, top, 1)


def resets_each_epoch(epoch: np.ndarray, it: np.ndarray) -> bool:
    """Whether the iteration counter goes back when the epoch moves on (per-epoch count)."""
    up = np.flatnonzero(epoch[1:] > epoch[:-1])
    return bool(len(up)) and bool(np.any(it[up + 1] < it[up]))


def global_steps(
    epoch: np.ndarray, it: np.ndarray, totals: np.ndarray | None = None, first: int | None = None
) -> tuple[np.ndarray, int | None, str | None]:
    """(global step, iterations per epoch or None, note) from epoch and iteration columns
    (finite, same length). `totals` are printed iterations per epoch (`[b/B]`);
    `first` the epoch that counts as 0 (default: the smallest seen)."""
    epoch = np.asarray(epoch, dtype=np.float64)
    it = np.asarray(it, dtype=np.float64)
    if not resets_each_epoch(epoch, it):
        return it.astype(np.int64), None, None
    tot = totals[np.isfinite(totals)] if totals is not None else np.zeros(0)
    if len(tot):  # `[b/B]` counting 0..B-1 or 1..B
        n = int(tot.max()) if it.max() <= tot.max() else int(it.max()) + 1
        how = "printed"
    else:
        n = per_epoch(epoch.astype(np.int64), it.astype(np.int64))
        how = "inferred"
    e0 = int(epoch.min()) if first is None else first
    note = f"epoch x {n} iterations per epoch ({how}) + iteration"
    return ((epoch - e0) * n + it).astype(np.int64), n, note


def restart_warning(log, sections: list, replaced: int, rows: int) -> str:
    """The one message for a log whose step went back (`segments`' sections and replaced
    rows, of `rows` read). A step that goes back at every few rows is no resume: two
    trainings writing one file at once (two processes sharing a log), named as such."""
    said = (
        f"{log}: training restarted inside the log ({len(sections)} sections); "
        f"{replaced} earlier row(s) at or after each restart point were replaced"
    )
    if len(sections) >= 4 and len(sections) * 4 >= rows:
        said += (
            f". The step went back {len(sections) - 1} times in {rows} rows: two or more "
            "trainings seem to write this log at once (interleaved lines), so what is read "
            "mixes them"
        )
    return said


def segments(
    steps: np.ndarray, main: np.ndarray | None = None
) -> tuple[np.ndarray, list[dict], int]:
    """(rows kept, sections, rows replaced) for rows in write order.

    A new section starts where a `main` row's step is below the previous main row's
    (`main` default: every row; other rows, such as evaluation lines printed with an
    earlier step, never start one). A row is replaced when a later section starts at or
    before its step."""
    steps = np.asarray(steps, dtype=np.int64)
    n = len(steps)
    main = np.ones(n, dtype=bool) if main is None else np.asarray(main, dtype=bool)
    mi = np.flatnonzero(main)
    back = mi[1:][steps[mi[1:]] < steps[mi[:-1]]]
    seg = np.zeros(n, dtype=np.int64)
    if len(back):
        seg[back] = 1
        seg = np.cumsum(seg)
    starts = np.concatenate([[0], back]).astype(np.int64)
    # smallest first step of any later section, per section
    later = np.full(len(starts), np.iinfo(np.int64).max)
    if len(starts) > 1:
        later[:-1] = np.minimum.accumulate(
            np.array([steps[s] for s in starts[1:]], np.int64)[::-1]
        )[::-1]
    keep = steps < later[seg]
    ends = np.concatenate([starts[1:], [n]])
    sections = [
        {
            "first_row": int(a),
            "first_step": int(steps[a]),
            "last_step": int(steps[b - 1]),
            "rows": int(b - a),
            "placed": "continues"
            if a == 0 or steps[a] > steps[:a].max()
            else "restart: replaces earlier rows",
        }
        for a, b in zip(starts, ends, strict=True)
    ]
    return keep, sections, int((~keep).sum())


def stray_rows(epochs: list[int], iters: list[int]) -> dict[int, int | None]:
    """Rows whose epoch lies below the epochs printed so far for one line, the next line
    back at them (a garbled counter: `(epoch: 1, iters: 200 ...)` in the middle of epoch
    11): index -> the epoch to read it at, when its neighbours share that epoch and their
    iters bracket its own (only its epoch is off), else None (its place is unknown). Placed
    by its counters it would replace the real line at that step. Several lines going back
    together are a restart, and more than one stray in a hundred lines are runs interleaved
    in one log: neither is a stray."""
    out: dict[int, int | None] = {}
    top = None
    prev = None  # the last row kept
    for i, e in enumerate(epochs):
        nxt = i + 1 if i + 1 < len(epochs) else None
        if top is not None and e < top and nxt is not None and epochs[nxt] >= top:
            inside = prev is not None and epochs[prev] == epochs[nxt] == top
            inside = inside and iters[prev] < iters[i] < iters[nxt]
            out[i] = top if inside else None
            continue
        prev = i
        top = e if top is None else max(top, e)
    # strays are rare: many lines going back and forth are runs interleaved in one log,
    # which the resume rules place
    return out if len(out) <= max(1, len(epochs) // 100) else {}


def headed_records(ex: Extracted, has_value: np.ndarray, kinds: tuple[str, ...]) -> list[int]:
    """Records opened by a counter line (`[time] Iteration [5/3000]`, then `D/loss_real:
    -0.02 | ...`; `epoch 1:`, then `loss_D: 0.405, ...` and `loss_perturb: 6.856, ...`):
    when no value line prints a counter but counter lines each precede a few value lines
    (9 in 10 of those that head any: `Epoch 2 of 50` right before `Testing for epoch 2:`
    heads nothing) that print no key twice, each value line takes its header's counters
    (in place), so one record is one step. Returns the header lines used."""
    kinds = tuple(k for k in kinds if k in ex.counters)
    if not kinds or any((np.isfinite(ex.counters[k]) & has_value).any() for k in kinds):
        return []
    head = np.zeros(ex.n, dtype=bool)
    for k in kinds:
        head |= np.isfinite(ex.counters[k])
    heads = np.flatnonzero(head)
    values = np.flatnonzero(has_value)
    if len(heads) < 2 or not len(values):
        return []
    last = np.maximum.accumulate(np.where(head, np.arange(ex.n), -1))  # last header so far
    owner = last[values]
    per_head = np.bincount(owner[owner >= 0], minlength=ex.n)[heads]
    owns = per_head >= 1  # a header right before another (`Epoch 2 of 50`) heads nothing
    if (owner >= 0).mean() < 0.9 or owns.sum() < 2 or (per_head[owns] <= RECORD_LINES).mean() < 0.9:
        return []
    if per_head.max() > 1:  # a record's lines print different keys: one step, not several
        keyed = np.zeros(ex.n, dtype=np.int64)  # key prints per (record header)
        prints = np.zeros(ex.n, dtype=np.int64)
        for parts in ex.points.values():
            rows = np.concatenate([r for r, _ in parts])
            heads_of = last[rows]
            heads_of = heads_of[heads_of >= 0]
            np.add.at(prints, heads_of, 1)
            keyed[np.unique(heads_of)] += 1
        if (prints[heads] > keyed[heads]).mean() > 0.1:
            return []
    ok = values[owner >= 0]
    for table in (ex.counters, ex.totals):
        for k in kinds:
            if k in table:
                table[k][ok] = table[k][last[ok]]
    return heads[per_head >= 1].tolist()
