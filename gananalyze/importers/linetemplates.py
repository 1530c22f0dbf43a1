"""Reading every line of a free-text log at once: lines that differ only in their numbers
share a template (`freetext.template`); each template is parsed once by the line grammar
(`freetext.parse`), and its lines' numbers are pulled out column-wise by pyarrow's C++ regex
kernels (RE2). A million-line log reads at about the speed of a CSV (`bench/textlog.py`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .freetext import (
    GROUPED_HINT,
    MARK,
    NUM,
    OF_TOTAL,
    OF_TOTAL_HINT,
    OF_TOTAL_TO,
    TQDM,
    TQDM_HINT,
    TQDM_TO,
    UNGROUP,
    UNGROUP_TO,
    Shape,
    parse,
    slots,
    template,
)

# Bounds on the dense value columns of one log (a log printing a new key on every line
# would otherwise ask for keys x lines values, 900,000 x 30,000 for a 40 MB log): at most
# MAX_NAMES names (as a table's columns, _csvread.MAX_COLUMNS) and MAX_EMPTY values held
# that no line printed (the NaN a column holds where its name was not printed; a log that
# prints its keys on every line holds none).
MAX_NAMES = 10_000
MAX_EMPTY = 50_000_000


def _re2_escape(s: str) -> str:
    out = []
    for ch in s:
        if ch.isalnum() or ord(ch) > 127:
            out.append(ch)
        elif ord(ch) < 32:
            out.append(f"\\x{{{ord(ch):02x}}}")
        else:
            out.append("\\" + ch)
    return "".join(out)


def template_regex(template: str, wanted: set[int]) -> str:
    """An RE2 pattern matching a template's lines, capturing the wanted slots `s<k>`."""
    parts = template.split(MARK)
    out = ["^"]
    for k, lit in enumerate(parts):
        out.append(_re2_escape(lit))
        if k < len(parts) - 1:
            out.append(f"(?P<s{k}>{NUM})" if k in wanted else f"(?:{NUM})")
    out.append("$")
    return "".join(out)


def _sample(n: int, head: int = 5_000, tail: int = 1_000, spread: int = 1_000):
    """Indices of the lines whose templates are looked at first (head, tail, spread)."""
    idx = set(range(min(head, n))) | set(range(max(0, n - tail), n))
    if n > head + tail:
        idx |= set(np.linspace(head, n - tail - 1, spread, dtype=np.int64).tolist())
    return sorted(idx)


def _extract_many(arr: pa.Array, pattern: str, threads: int) -> pa.StructArray:
    """`pc.extract_regex` (null where a line does not match), in `threads` slices."""
    n = len(arr)
    if n < 100_000 or threads < 2:
        return pc.extract_regex(arr, pattern)
    cut = [i * n // threads for i in range(threads + 1)]
    with ThreadPoolExecutor(threads) as ex:
        parts = list(
            ex.map(
                lambda ab: pc.extract_regex(arr.slice(ab[0], ab[1] - ab[0]), pattern),
                zip(cut[:-1], cut[1:], strict=True),
            )
        )
    return pa.concat_arrays(parts)


@dataclass
class Extracted:
    """Numbers of every line. Values are kept sparse: `points[name]` lists (line indices,
    numbers) per template that printed `name` (a log's preamble can print hundreds of keys
    once each; dense columns for them would cost a full-length array apiece).
    `counters[kind]`/`totals[kind]` are float arrays over all lines (NaN where a line has
    none); `signature[i]` numbers line i's set of keys (-1: nothing read)."""

    n: int
    points: dict[str, list[tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    counters: dict[str, np.ndarray] = field(default_factory=dict)
    totals: dict[str, np.ndarray] = field(default_factory=dict)
    blank: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    signature: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    _sigs: dict = field(default_factory=dict)

    def _col(self, table: dict[str, np.ndarray], name: str) -> np.ndarray:
        if name not in table:
            table[name] = np.full(self.n, np.nan)
        return table[name]

    def put(self, shape: Shape, rows: np.ndarray, nums: dict[int, np.ndarray]) -> None:
        """Store the numbers `nums[slot]` of the lines `rows`, all of one Shape."""
        for name, s in shape.values:
            self.points.setdefault(name, []).append((rows, nums[s]))
        for kind, (s, tot) in shape.counters.items():
            self._col(self.counters, kind)[rows] = nums[s]
            if tot is not None:
                self._col(self.totals, kind)[rows] = nums[tot]
        key = (tuple(sorted(v for v, _ in shape.values)), tuple(sorted(shape.counters)))
        self.signature[rows] = self._sigs.setdefault(key, len(self._sigs))

    def value_counts(self) -> np.ndarray:
        """How many values each line printed."""
        if not self.points:
            return np.zeros(self.n, dtype=np.int64)
        rows = np.concatenate([r for parts in self.points.values() for r, _ in parts])
        return np.bincount(rows, minlength=self.n).astype(np.int64)

    def kept_names(self, nrows: int) -> list[str]:
        """The names whose dense columns over `nrows` rows fit the bounds: at most MAX_NAMES
        names, and at most MAX_EMPTY values held that no line printed. Every name when they
        fit, else the names printed most often (first printed first among equals), in
        first-printed order."""
        names = list(self.points)
        counts = [sum(len(r) for r, _ in self.points[k]) for k in names]
        if len(names) <= MAX_NAMES and len(names) * nrows - sum(counts) <= MAX_EMPTY:
            return names
        kept, empty = [], 0
        for i in sorted(range(len(names)), key=lambda i: -counts[i]):
            empty += max(nrows - counts[i], 0)
            if len(kept) == MAX_NAMES or empty > MAX_EMPTY:
                break
            kept.append(i)
        return [names[i] for i in sorted(kept)]

    def columns(self, rows: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """(values, logged) over the lines `rows` (ascending), in first-printed order; names
        no line of `rows` printed are left out, and so are the names over the bounds
        (`kept_names`)."""
        pos = np.full(self.n, -1, dtype=np.int64)
        pos[rows] = np.arange(len(rows))
        cols: dict[str, np.ndarray] = {}
        logged: dict[str, np.ndarray] = {}
        for name in self.kept_names(len(rows)):
            parts = self.points[name]
            col = mask = None
            for r, v in parts:
                p = pos[r]
                ok = p >= 0
                if not ok.any():
                    continue
                if col is None:
                    col = np.full(len(rows), np.nan)
                    mask = np.zeros(len(rows), dtype=bool)
                col[p[ok]] = v[ok]
                mask[p[ok]] = True
            if col is not None:
                cols[name], logged[name] = col, mask
        return cols, logged

    @property
    def values(self) -> dict[str, np.ndarray]:
        """Dense value columns over all lines (NaN where a line has none)."""
        return self.columns(np.arange(self.n))[0]


def _wanted(shape: Shape) -> set[int]:
    out = {s for _, s in shape.values}
    for s, tot in shape.counters.values():
        out.add(s)
        if tot is not None:
            out.add(tot)
    return out


def split_lines(text: str) -> pa.Array:
    """One string -> its lines as a pyarrow array (split in C++; no trailing empty line)."""
    arr = pc.split_pattern(pa.array([text], type=pa.large_string()), "\n").flatten()
    if len(arr) and text.endswith("\n"):
        arr = arr.slice(0, len(arr) - 1)
    return arr


def extract(arr: pa.Array, threads: int = 2, passes: int = 64) -> Extracted:
    """Parse every line (module docstring).

    The templates of a sample of lines (head, tail, spread) are parsed here; the most
    common ones are then matched against all remaining lines at once by RE2 (`passes`
    at most), which also pulls their numbers out. Lines no sampled template matches are
    templated one by one, each new template parsed once."""
    n = len(arr)
    # rewritten only where a cheap test finds what they change (0.4 s for 1M lines each)
    if pc.any(pc.match_substring_regex(arr, GROUPED_HINT)).as_py():
        arr = pc.replace_substring_regex(arr, UNGROUP, UNGROUP_TO)
    if pc.any(pc.match_substring(arr, OF_TOTAL_HINT)).as_py():
        arr = pc.replace_substring_regex(arr, OF_TOTAL, OF_TOTAL_TO)
    if pc.any(pc.match_substring(arr, TQDM_HINT)).as_py():
        arr = pc.replace_substring_regex(arr, TQDM, TQDM_TO)
    out = Extracted(n=n, signature=np.full(n, -1, dtype=np.int64))
    out.blank = np.asarray(
        pc.equal(pc.utf8_trim_whitespace(arr), "").to_numpy(zero_copy_only=False), bool
    )
    counts: dict[str, int] = {}
    exemplar: dict[str, str] = {}
    picked = [i for i in _sample(n) if not out.blank[i]]
    for line in arr.take(pa.array(picked, pa.int64())).to_pylist():
        t = template(line)
        counts[t] = counts.get(t, 0) + 1
        exemplar.setdefault(t, line)
    shapes: dict[str, Shape] = {}
    remaining = np.flatnonzero(~out.blank)
    sub = arr.take(pa.array(remaining)) if len(remaining) < n else arr
    for t in sorted(counts, key=lambda t: -counts[t])[:passes]:
        if counts[t] < 2 or not len(remaining):
            break
        shape = shapes[t] = parse(exemplar[t])
        wanted = _wanted(shape)
        pattern = template_regex(t, wanted)
        if wanted:
            st = _extract_many(sub, pattern, threads)
            hit = np.asarray(st.is_valid().to_numpy(zero_copy_only=False), bool)
        else:  # a line kind that holds nothing (banners, progress): only set aside
            hit = np.asarray(
                pc.match_substring_regex(sub, pattern).to_numpy(zero_copy_only=False), bool
            )
        if not hit.any():
            continue
        rows = remaining[hit]
        if wanted:
            good = st.filter(pa.array(hit))
            nums = {
                s: pc.cast(good.field(f"s{s}"), pa.float64()).to_numpy(zero_copy_only=False)
                for s in wanted
            }
            out.put(shape, rows, nums)
        remaining = remaining[~hit]
        sub = sub.filter(pa.array(~hit))
    groups: dict[str, list[tuple[int, str]]] = {}
    for i, line in zip(remaining.tolist(), sub.to_pylist(), strict=True):
        groups.setdefault(template(line), []).append((i, line))
    for t, members in groups.items():
        if MARK not in t:
            continue
        shape = shapes.get(t) or parse(members[0][1])
        wanted = _wanted(shape)
        if not wanted:
            continue
        got: dict[int, list[float]] = {s: [] for s in wanted}
        for _, line in members:
            sp = slots(line)
            for s in wanted:
                got[s].append(float(line[sp[s][0] : sp[s][1]]))
        nums = {s: np.asarray(v, dtype=np.float64) for s, v in got.items()}
        out.put(shape, np.asarray([i for i, _ in members], dtype=np.int64), nums)
    return out
