"""Reading a delimited text table fast, bounded and forgiving: the one CSV reader
every table-shaped importer (plain tables, Keras, CTGAN, W&B, epoch/iter logs) uses.

- The header is read on its own, in bounded chunks: a first line with more than
  MAX_COLUMNS fields is refused with one line (a 10 MB header must not take minutes).
- The delimiter is sniffed from the header and the next lines (`,` tab `;` `|`; with
  none of them, runs of spaces under a header of names over rows of numbers, read as tabs);
  a UTF-8 byte-order mark is dropped; duplicate column names become `name.1`,
  `name.2` with a warning; an unnamed first column (a saved pandas index) is left out.
- The body is read by `pyarrow.csv` (multi-threaded, as float64). Only when that strict
  read fails (a row with the wrong number of fields, text in a numeric column, a
  repeated header from a restart) is the file read again as text, row by row in
  C++: bad rows are skipped with file:line warnings, repeated header rows mark
  restarts, and each text column is converted with vectorised pyarrow kernels.
  Typed columns never pass through Python strings.

`read_table` returns a `Table`: numeric columns as float64 arrays with a mask of
the cells actually written (an empty cell is "not logged"; a literal `nan`/`inf`
is a logged value), the physical line number of every row, and what was left out.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ..errors import GanAnalyzeError
from ..files.bounded import MAX_FIELD_CHARS, TooCostly, split_fields

MAX_COLUMNS = 10_000
SEPARATORS = (",", "\t", ";", "|")
SPACES = " "  # fields between runs of spaces or tabs: read as tabs (`_spaced_source`)
_SEP_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 20
_NUMBER_RE = r"^\s*[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|nan|inf|infinity)\s*$"
_NUMBER = re.compile(_NUMBER_RE, re.IGNORECASE)
_NAME = re.compile(r"[A-Za-z_][\w.\-/()%]*")  # a column name in a header between spaces


class TooWide(GanAnalyzeError):
    """The first line has more fields than any metrics table would."""


@dataclass
class Table:
    """A table read from one file (see the module docstring)."""

    path: Path
    names: list[str]
    values: dict[str, np.ndarray] = field(default_factory=dict)
    logged: dict[str, np.ndarray] = field(default_factory=dict)
    lines: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    text_columns: list[str] = field(default_factory=list)  # no number in them: left out
    restarts: list[int] = field(default_factory=list)  # lines holding a repeated header
    sep: str = ","
    index: np.ndarray | None = None  # the unnamed first column (a saved pandas index), if any

    @property
    def rows(self) -> int:
        return len(self.lines)


def _first_lines(p: Path, max_lines: int = 30) -> tuple[bytes, list[bytes], bool]:
    """(header line, following complete lines, had a BOM), reading in bounded chunks.

    Raises when the first line has more than MAX_COLUMNS fields for every separator
    counted so far, without reading the rest of a huge line.
    """
    with open(p, "rb") as f:
        buf = f.read(64 * 1024)
        bom = buf.startswith(_BOM)
        if bom:
            buf = buf[len(_BOM) :]
        while b"\n" not in buf:
            most = max(buf.count(s.encode()) for s in SEPARATORS)
            if most >= MAX_COLUMNS:
                raise TooWide(
                    f"{p}: the first line has more than {MAX_COLUMNS:,} fields "
                    f"({len(buf):,} bytes read so far); not a metrics table"
                )
            more = f.read(_CHUNK)
            if not more:
                break
            buf += more
        head, _, rest = buf.partition(b"\n")
        if b"\n" in rest or len(rest) < _CHUNK:
            rest += f.read(_CHUNK) if len(rest) < 4096 else b""
    lines = rest.split(b"\n")
    complete = lines[:-1] if len(lines) > 1 else lines
    return head.rstrip(b"\r"), [x.rstrip(b"\r") for x in complete[:max_lines] if x.strip()], bom


def _split(line: str, sep: str, p: Path | None = None) -> list[str]:
    """The first line's fields; a field over the bound makes it no metrics table."""
    try:
        return split_fields(line, sep, p)
    except TooCostly:
        raise TooWide(
            f"{p}: the first line has a field longer than {MAX_FIELD_CHARS:,} characters; "
            "not a metrics table"
        ) from None


def _width(line: str, sep: str) -> int:
    try:
        return len(split_fields(line, sep))
    except TooCostly:
        return -1


def sniff(p: Path, head: str, body: list[str], forced: str | None = None) -> str:
    """The delimiter: the one that splits the header into the most fields and
    the following lines into as many (ties go to SEPARATORS order)."""
    if forced:
        return forced
    best, score = None, (0, 0)
    for sep in SEPARATORS:
        n = head.count(sep)
        if n == 0:
            continue
        width = len(_split(head, sep, p))
        agree = sum(_width(x, sep) == width for x in body)
        s = (agree, width)
        if width > 1 and s > score:
            best, score = sep, s
    if best is None and _spaced(head, body):
        best = SPACES
    if best is None:
        names = ", ".join(_SEP_NAMES[s] for s in SEPARATORS)
        raise GanAnalyzeError(
            f"{p}: could not tell the delimiter: the first line has no {names} between fields"
            " (nor names over rows of numbers, between spaces)"
        )
    return best


def _spaced(head: str, body: list[str]) -> bool:
    """Whether the first lines are a table between spaces (`np.savetxt`'s default, RGAN's
    `epoch time D_loss G_loss mmd2` traces): a header of two or more names over at least
    two lines, 9 in 10 of them as many fields as names, half their fields numbers."""
    names = head.split()
    if not 2 <= len(names) <= MAX_COLUMNS or not all(_NAME.fullmatch(n) for n in names):
        return False
    rows = [x.split() for x in body if x.strip()]
    same = [r for r in rows if len(r) == len(names)]
    if len(rows) < 2 or 10 * len(same) < 9 * len(rows):
        return False
    cells = [c for r in same for c in r]
    return 2 * sum(bool(_NUMBER.fullmatch(c)) for c in cells) >= len(cells)


def header(p: Path, forced_sep: str | None = None) -> tuple[list[str], str]:
    """(raw column names, delimiter) from the first line of `p`."""
    head_b, body_b, _ = _first_lines(p)
    if not head_b.strip() and not body_b:
        raise GanAnalyzeError(f"{p}: empty (no header line, no rows)")
    head = head_b.decode("utf-8", errors="replace")
    body = [x.decode("utf-8", errors="replace") for x in body_b]
    sep = sniff(p, head, body, forced_sep)
    names = head.split() if sep == SPACES else [c.strip().strip('"') for c in _split(head, sep, p)]
    if len(names) > MAX_COLUMNS:
        raise TooWide(
            f"{p}: {len(names):,} columns in the first line (limit {MAX_COLUMNS:,}); "
            "not a metrics table"
        )
    return names, sep


def unique_names(p: Path, names: list[str], warnings: list[str]) -> list[str]:
    """Duplicate names renamed `name.1`, `name.2` ... (one warning naming them)."""
    seen: dict[str, int] = {}
    out, dups = [], []
    for n in names:
        if n in seen:
            seen[n] += 1
            new = f"{n}.{seen[n]}"
            while new in seen:
                seen[n] += 1
                new = f"{n}.{seen[n]}"
            dups.append(f"{n!r} -> {new!r}")
            seen[new] = 0
            out.append(new)
        else:
            seen[n] = 0
            out.append(n)
    if dups:
        warnings.append(
            f"{p}: duplicate column name(s) renamed: {', '.join(dups[:6])}"
            + (f" and {len(dups) - 6} more" if len(dups) > 6 else "")
        )
    return out


_TENSOR_RE = r"^tensor\(\s*([^,()\s]+)\s*(,.*)?\)$"


def _numeric_text(arr: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, written, not-a-number) for a text column, vectorised. A printed torch scalar
    (`tensor(10.52, grad_fn=<...>)`, what `str(loss)` gives) reads as its number."""
    arr = pc.utf8_trim_whitespace(arr)
    arr = pc.replace_substring_regex(arr, pattern=_TENSOR_RE, replacement="\\1")
    written = pc.fill_null(pc.not_equal(arr, ""), False)
    isnum = pc.fill_null(pc.match_substring_regex(arr, _NUMBER_RE, ignore_case=True), False)
    num = pc.cast(pc.if_else(isnum, arr, pa.scalar(None, pa.string())), pa.float64())
    vals = num.to_numpy(zero_copy_only=False).astype(np.float64)
    w = written.to_numpy(zero_copy_only=False).astype(bool)
    ok = isnum.to_numpy(zero_copy_only=False).astype(bool)
    vals = np.where(ok, vals, np.nan)
    return vals, w & ok, w & ~ok


def _options(
    names: list[str], sep: str, strings: bool, handler=None, block: int | None = None, skip=1
):
    # row numbers for bad rows are only known single-threaded
    ro = pcsv.ReadOptions(column_names=names, skip_rows=skip, use_threads=handler is None)
    if block is not None:
        ro.block_size = block
    po = pcsv.ParseOptions(delimiter=sep, invalid_row_handler=handler)
    co = pcsv.ConvertOptions(
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        # typed up front: no inference, no casts; any text cell fails the read -> text path
        column_types={n: pa.string() if strings else pa.float64() for n in names},
    )
    return ro, po, co


def read_table(
    p: Path,
    warnings: list[str],
    forced_sep: str | None = None,
    bad: list[str] | None = None,
    names: list[str] | None = None,
) -> Table:
    """Read the delimited table `p` (see the module docstring). Malformed rows and
    cells go to `bad` (file:line lines), everything else to `warnings`. `names`: a file
    with no header line, its columns named by the trainer that writes it (`forced_sep`)."""
    bad = bad if bad is not None else warnings
    headed = names is None
    if names is None:
        raw, sep = header(p, forced_sep)
        names = unique_names(p, raw, warnings)
    else:
        names, sep = list(names), forced_sep or ","
    drop_index = bool(names) and names[0] == ""
    if drop_index:
        names[0] = "\x00index"
    src, arrow_sep = (_spaced_source(p), "\t") if sep == SPACES else (p, sep)
    skip = int(headed)  # the first data line: 2 under a header, else 1
    try:
        ro, po, co = _options(names, arrow_sep, strings=False, skip=skip)
        tab = pcsv.read_csv(src, read_options=ro, parse_options=po, convert_options=co)
        lines = np.arange(1 + skip, tab.num_rows + 1 + skip, dtype=np.int64)
        restarts: list[int] = []
        if any(pa.types.is_string(t) or pa.types.is_large_string(t) for t in tab.schema.types):
            raise pa.ArrowInvalid("text cells: read again row by row")  # e.g. a repeated header
    except pa.ArrowInvalid:
        tab, lines, restarts = _read_text(p, names, arrow_sep, bad, src, skip)
    except (pa.ArrowException, OSError) as e:
        raise GanAnalyzeError(f"{p}: not a readable table ({str(e).splitlines()[0]})") from None
    out = Table(
        path=p,
        names=[n for n in names if n != "\x00index"],
        lines=lines,
        restarts=restarts,
        sep=sep,
    )
    if drop_index:
        col = tab.column("\x00index")
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            out.index = _numeric_text(col)[0]
        else:
            out.index = np.asarray(pc.cast(col, pa.float64()).to_numpy(), dtype=np.float64)
        warnings.append(f"{p}: the unnamed first column (a saved row index) was left out")
    cells: list[str] = []
    for n in out.names:
        col = tab.column(n)
        t = col.type
        if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
            if not pa.types.is_float64(t):
                col = pc.cast(col, pa.float64())
            v = np.asarray(col.to_numpy(), dtype=np.float64)
            out.values[n] = v
            if col.null_count == 0:
                out.logged[n] = np.ones(len(v), dtype=bool)
            else:
                out.logged[n] = ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), bool)
            continue
        if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
            col = pc.cast(col, pa.string())
        v, logged, wrong = _numeric_text(col)
        if not logged.any():
            if wrong.any():
                out.text_columns.append(n)
            continue
        out.values[n], out.logged[n] = v, logged
        for i in np.flatnonzero(wrong)[:3]:
            cell = str(col[int(i)].as_py())[:30]
            cells.append(f"{p}:{lines[i]}: {n} = {cell!r} is not a number, left out")
    bad.extend(cells)
    return out


def _utf8_source(p: Path):
    """`p`, or its bytes with what is not UTF-8 replaced (U+FFFD): pyarrow hands a
    malformed row to the handler as text, so a row that is not UTF-8 would fail the
    whole read instead of being skipped by line."""
    raw = p.read_bytes()
    try:
        raw.decode("utf-8")
        return p
    except UnicodeDecodeError:
        return pa.py_buffer(raw.decode("utf-8", errors="replace").encode("utf-8"))


def _longest_line(p: Path) -> int:
    """The length in bytes of the longest line of `p`."""
    raw = np.frombuffer(p.read_bytes(), dtype=np.uint8)
    ends = np.concatenate([[-1], np.flatnonzero(raw == 10), [len(raw)]])
    return int(np.diff(ends).max())


def _spaced_source(p: Path) -> pa.BufferReader:
    """A table between spaces as the same table between tabs: each line's runs of spaces
    and tabs one tab, its ends trimmed (line for line, in pyarrow's C++ kernels)."""
    text = p.read_bytes().decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = pc.split_pattern(pa.array([text], pa.large_string()), "\n").flatten()
    lines = pc.replace_substring_regex(pc.utf8_trim(lines, " \t\r"), r"[ \t]+", "\t")
    one = pa.LargeListArray.from_arrays([0, len(lines)], lines)
    joined = pc.binary_join(one, pa.scalar("\n", pa.large_string()))
    return pa.BufferReader(joined[0].as_buffer())


def _again(src) -> pa.BufferReader | None:
    """A table's text held in memory (`_spaced_source`), from its start; None for a file."""
    if isinstance(src, pa.BufferReader):
        src.seek(0)
        return src
    return None


def _read_text(p: Path, names: list[str], sep: str, bad: list[str], src=None, skip: int = 1):
    """The forgiving read: every cell as text, bad rows skipped (file:line),
    rows repeating the header dropped and remembered as restarts. `src`: what to read in
    place of `p` (a table between spaces, as tabs)."""
    skipped: list[int] = []

    def handler(row) -> str:
        skipped.append(row.number or -1)
        text = (row.text or "")[:60]
        bad.append(
            f"{p}:{row.number}: malformed row skipped ({row.expected_columns} fields "
            f"expected, {row.actual_columns} found: {text!r})"
        )
        return "skip"

    try:
        try:  # every row has the right number of fields: read in parallel
            ro, po, co = _options(names, sep, strings=True, skip=skip)
            tab = pcsv.read_csv(
                _again(src) or p, read_options=ro, parse_options=po, convert_options=co
            )
        except pa.ArrowInvalid as e:
            # a row longer than pyarrow's block (1 MiB; "straddling object straddles two
            # block boundaries") fails the whole read: read it with a block that holds the
            # longest line, so that only its cells are left out
            block = _longest_line(p) + 2 if "straddl" in str(e) else None
            ro, po, co = _options(names, sep, strings=True, handler=handler, block=block, skip=skip)
            tab = pcsv.read_csv(
                _again(src) or _utf8_source(p),
                read_options=ro,
                parse_options=po,
                convert_options=co,
            )
    except (pa.ArrowException, OSError) as e:
        raise GanAnalyzeError(f"{p}: not a readable table ({str(e).splitlines()[0]})") from None
    # physical line of each kept row: rows are numbered from 2, skipped ones removed
    n = tab.num_rows
    sk = np.sort(np.asarray([s for s in skipped if s > 0], dtype=np.int64))
    lines = np.arange(1 + skip, n + len(sk) + 1 + skip, dtype=np.int64)
    if len(sk):
        lines = lines[~np.isin(lines, sk)][:n]
    # rows repeating the header (a restart that wrote the header again)
    same = None
    for c in names[:8]:
        if c == "\x00index":
            continue
        eq = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(tab.column(c)), c), False)
        same = eq if same is None else pc.and_(same, eq)
    restarts: list[int] = []
    if same is not None:
        mask = np.asarray(same.to_numpy(zero_copy_only=False), bool)
        if mask.any():
            restarts = lines[mask].tolist()
            tab = tab.filter(pa.array(~mask))
            lines = lines[~mask]
    return tab, lines, restarts


def sniff_text(p: Path) -> str:
    """'json' (one JSON document / array), 'jsonl', or 'delimited': by content."""
    with open(p, "rb") as f:
        start = f.read(4096)
    s = start.lstrip(_BOM).lstrip()
    if s.startswith(b"["):
        return "json"
    if s.startswith(b"{"):
        first = io.BytesIO(s).readline().strip()
        return "jsonl" if first.endswith(b"}") else "json"
    return "delimited"
