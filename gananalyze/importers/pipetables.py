"""Tables printed with pipes in a text log, read as `name: value` lines.

Some trainers print a small table instead of `key: value` pairs. Keras' ACGAN example
prints one every epoch:

    component              | loss | generation_loss | auxiliary_loss
    -----------------------------------------------------------------
    generator (train)      | 8.35 | 6.03            | 2.32
    discriminator (train)  | 1.32 | 0.01            | 1.31

and people retype a run's values as rows under a header of names (`D_loss  acc  G_loss`
over `0.004051 | 100 | 6.248324 | 2 days, 12:04:16`). A row is a line of cells between
`|`, numbers in at least half of those the header names (a printed model summary, `0 |
generator | Generator | 1.5 M`, is no row), under a header: the line just before the
table's first row (separator lines of dashes aside) whose cells, between `|` or two or
more spaces, are all names (no word of them a number), at least two of them. Each cell
takes the header's name at its place; a row that opens on a label instead of a number
(`generator (train)`) puts the label before its names (`generator_train_generation_loss:
6.03`); cells that are no number (an elapsed time) and cells past the header's names are
not values. A table ends at the first line that is no row of it (its next print repeats
the header).

The view is line for line: a row becomes one line of `name: value` pairs that the one
free-text grammar (`freetext`) reads; every other line passes unchanged, so line numbers
stay the file's. A line with `|` and numbers but no header above it (`Epoch 1 | D loss
0.5`) is left to the grammar as it is.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf)%?", re.I)
_NAME = re.compile(r"[A-Za-z][\w.()/ -]{0,47}")  # a column name: starts with a letter, short
_SEPARATOR = re.compile(r"[\s|:+=-]*-{3,}[\s|:+=-]*")  # ----- or |---|---|
_LONE_NUMBER = re.compile(r"(?<![\w.])[-+]?\.?\d")  # a word that opens on a digit
_VALUE_RE2 = r"(^|[^\w.])[-+]?\.?\d"  # the same for RE2 (no look-behind)
MAX_NAMES = 32  # a header names at most this many columns
MAX_SEPARATORS = 3  # separator lines between a header and its first row
ABOVE = 64  # lines a chunked reader keeps from the chunk before (`view_lines`)


def _cells(line: str) -> list[str]:
    """The cells of a `|` row, without the empty ones a leading or closing `|` makes."""
    cells = [c.strip() for c in line.split("|")]
    if cells and not cells[0]:
        cells = cells[1:]
    if cells and not cells[-1]:
        cells = cells[:-1]
    return cells


def _number(cell: str) -> str | None:
    """The number a cell holds (a percent sign dropped), else None."""
    return cell.rstrip("%").strip() if _NUMBER.fullmatch(cell) else None


def _header(line: str) -> list[str] | None:
    """The column names a header line gives (between `|`, else two or more spaces or tabs),
    or None when it is no header: fewer than two names, or a cell that is no name."""
    s = line.strip()
    if not s or ":" in s or "=" in s or _LONE_NUMBER.search(s):
        return None  # (a quick no: a line's values, not names)
    cells = _cells(s) if "|" in s else re.split(r"\s{2,}|\t+", s)
    if not 2 <= len(cells) <= MAX_NAMES or not all(_is_name(c) for c in cells):
        return None
    return cells


def _is_name(cell: str) -> bool:
    """A column name: starts with a letter, short, and no word of it a number (`Epoch 1`
    and `D loss 0.5` are a line's values, not names)."""
    return bool(_NAME.fullmatch(cell)) and not any(
        _NUMBER.fullmatch(w.strip("()")) for w in cell.split()
    )


def _key(text: str) -> str:
    """A label or name as one word of the grammar: `generator (train)` -> generator_train."""
    return re.sub(r"\W+", "_", text).strip("_")


def _row(line: str, names: list[str]) -> str | None:
    """The `name: value` line of a table row under `names`, or None when `line` is no row."""
    if "|" not in line:
        return None
    cells = _cells(line)
    if len(cells) < 2:
        return None
    label = "" if _number(cells[0]) is not None else _key(cells[0])
    pairs = []
    under = cells[1 if label else 0 : len(names)]  # the cells the header names
    for i, cell in enumerate(cells[: len(names)]):
        v = _number(cell) if (i or not label) else None
        if v is not None:
            name = _key(names[i])
            pairs.append(f"{label}_{name}: {v}" if label else f"{name}: {v}")
    # numbers in at least half the named cells (a model summary is a table of words)
    return ", ".join(pairs) if pairs and 2 * len(pairs) >= len(under) else None


def _is_separator(s: str) -> bool:
    return bool(_SEPARATOR.fullmatch(s.strip() or "x"))


def _header_above(lines: list[str], i: int) -> list[str] | None:
    """The header of a table whose first row is line `i`: the line before it, separator
    lines between them passed over."""
    j = i - 1
    while j >= 0 and i - j <= MAX_SEPARATORS and _is_separator(lines[j]):
        j -= 1
    return _header(lines[j]) if j >= 0 and not _is_separator(lines[j]) else None


def view(text: str) -> str:
    """`text` with its tables' rows as `name: value` lines (line for line). A table can start
    only at a line with a `|` under a line without values (a header or a separator): those
    are found for every line at once in pyarrow's kernels, and only from them on is a line
    looked at in Python (a million lines of progress bars cost one scan)."""
    if "|" not in text:
        return text
    arr = pc.split_pattern(pa.array([text], pa.large_string()), "\n").flatten()
    pipe = _mask(pc.match_substring(arr, "|"))
    above = ~_mask(pc.match_substring_regex(arr, _VALUE_RE2)) | _mask(pc.match_substring(arr, "--"))
    starts = np.flatnonzero(pipe[1:] & above[:-1]) + 1
    if not len(starts):
        return text
    lines = text.split("\n")
    done = -1  # the last line of the table read so far
    for s in starts.tolist():
        names = _header_above(lines, s) if s > done else None
        if names is None:
            continue
        i = s
        while i < len(lines):
            if not _is_separator(lines[i]):
                row = _row(lines[i], names)
                if row is None:
                    break
                lines[i] = row
            i += 1
        done = i - 1
    return "\n".join(lines)


def _mask(a: pa.Array) -> np.ndarray:
    return np.asarray(a.to_numpy(zero_copy_only=False), dtype=bool)


def view_lines(lines: list[str], above: list[str]) -> list[str]:
    """`lines` (without line ends) as `view` shows them, `above` the lines just before them
    (a table that starts there goes on into `lines`): a log read a chunk at a time
    (detection). A table whose header is further up than `above` reaches is not seen."""
    return view("\n".join([*above, *lines])).split("\n")[len(above) :]
