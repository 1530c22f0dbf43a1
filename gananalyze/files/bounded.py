"""Bounded reading of untrusted run files: what one file may cost to parse.

A run folder is untrusted input, and a few bytes can ask a parser for a lot:
a YAML alias bomb expands to billions of nodes, a document nested 20,000 deep
exhausts Python's stack, a 79 KB PNG decodes to 81 million pixels, a damaged
`.npy` header claims a terabyte or pickled objects. Every reader of run files
parses YAML, JSON, images and arrays through the loaders here, which check the
bound BEFORE the cost is paid and raise `TooCostly` (a ValueError) with one line
naming the file and the bound; the reader turns it into a warning and skips
that file, keeping everything else it could read.

Bounds (module constants, one home):
- YAML: nesting MAX_DEPTH, nodes after alias expansion MAX_YAML_NODES (an alias
  counts the whole node it names, each time it is used); an alias to a node that
  contains it (a self-reference) is refused.
- JSON: nesting MAX_DEPTH, nodes MAX_JSON_NODES.
- Images: MAX_PIXELS decoded, checked from the header (`Image.size`) before `load()`.
- `.npy`: header at most MAX_NPY_HEADER bytes; no object dtype; the shape must fit
  the bytes the file holds and at most MAX_ARRAY_BYTES.
- Text: one field (a CSV cell or header name) at most MAX_FIELD_CHARS characters.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re
import stat
import warnings
from pathlib import Path
from typing import Any

import numpy as np

MAX_DEPTH = 200
MAX_YAML_NODES = 200_000
MAX_JSON_NODES = 20_000_000
MAX_PIXELS = 40_000_000
MAX_NPY_HEADER = 65_536
MAX_ARRAY_BYTES = 4 * 1024**3
MAX_FIELD_CHARS = 131_072  # csv's own field_size_limit


class TooCostly(ValueError):
    """A file whose parsing would cost more than its bound (the message names both)."""


def _say(where: Any, problem: str) -> TooCostly:
    """The error for `problem`: "FILE: problem; not read", or just the problem when
    the caller names the file itself (`where` None)."""
    return TooCostly(f"{where}: {problem}; not read" if where is not None else problem)


# ---------------------------------------------------------------- files


def is_regular(path: str | Path) -> bool:
    """True for a regular file (links followed); False for a FIFO, device, socket or
    missing path, which are never opened (opening a FIFO blocks until a writer comes)."""
    try:
        return stat.S_ISREG(Path(path).stat().st_mode)
    except OSError:
        return False


# ---------------------------------------------------------------- JSON


def json_depth_ok(text: str | bytes, limit: int = MAX_DEPTH) -> bool:
    """False when brackets in `text` nest deeper than `limit` (strings included: a
    cheap over-estimate that never lets a deep document through)."""
    if isinstance(text, str):
        text = text.encode("utf-8", "replace")
    if text.count(b"[") + text.count(b"{") <= limit:
        return True
    depth = 0
    for m in re.finditer(rb"[\[\]{}]", text):
        if m.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return False
        else:
            depth -= 1
    return True


def loads_json(text: str | bytes, where: Any = None) -> Any:
    """`json.loads` for text from a run: TooCostly (a ValueError, never RecursionError)
    for a document nested deeper than MAX_DEPTH levels or with more than
    MAX_JSON_NODES values."""
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    if not json_depth_ok(raw):
        raise _say(where, f"JSON nested more than {MAX_DEPTH} levels deep")
    if raw.count(b",") + raw.count(b":") >= MAX_JSON_NODES:
        raise _say(where, f"JSON with more than {MAX_JSON_NODES:,} values")
    try:
        return json.loads(text)
    except RecursionError:
        raise _say(where, "JSON nested too deeply") from None


# ---------------------------------------------------------------- YAML


def _yaml_cost(text: str, where: str) -> None:
    """Walk the YAML events once (no objects built) and refuse a document nested deeper
    than MAX_DEPTH, expanding to more than MAX_YAML_NODES nodes, or with a
    self-referencing alias."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    sizes: dict[str, int] = {}  # anchor -> expanded size of its node
    stack: list[list[Any]] = [[None, 0]]  # [anchor, expanded size so far] per open node
    total = 0
    for ev in yaml.parse(text, Loader=loader):
        if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            stack.append([ev.anchor, 1])
            if len(stack) - 1 > MAX_DEPTH:
                raise TooCostly(f"{where}: YAML nested more than {MAX_DEPTH} levels deep; not read")
            continue
        if isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            anchor, n = stack.pop()
        elif isinstance(ev, yaml.ScalarEvent):
            anchor, n = ev.anchor, 1
        elif isinstance(ev, yaml.AliasEvent):
            if ev.anchor not in sizes:
                if any(a == ev.anchor for a, _ in stack):
                    raise TooCostly(
                        f"{where}: YAML alias *{ev.anchor} refers to a node that contains it; "
                        "not read"
                    )
                continue  # an undefined alias: the loader reports it
            anchor, n = None, sizes[ev.anchor]
        elif isinstance(ev, yaml.DocumentEndEvent):
            stack = [[None, 0]]
            continue
        else:
            continue
        if anchor is not None:
            sizes[anchor] = n
        stack[-1][1] += n
        total += n
        if stack[-1][1] > MAX_YAML_NODES or total > MAX_YAML_NODES:
            raise TooCostly(
                f"{where}: YAML expands to more than {MAX_YAML_NODES:,} nodes (an alias counts "
                "the node it names each time it is used); not read"
            )


def load_yaml(text: str, where: Any = None) -> Any:
    """`yaml.safe_load` for text from a run, within the YAML bounds (TooCostly);
    malformed YAML raises yaml.YAMLError as before."""
    import yaml

    _yaml_cost(text, str(where) if where is not None else "YAML")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)


# ---------------------------------------------------------------- images


def open_image(data: bytes | str | Path, where: Any = None) -> Any:
    """A PIL image, opened lazily, whose decoded size is within MAX_PIXELS (from the
    header, before any pixel is decoded); TooCostly otherwise. PIL's own bomb
    warning and error become TooCostly too."""
    from PIL import Image

    src = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(src)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            im = None
    w, h = im.size if im is not None else (0, 0)
    if im is None or w * h > MAX_PIXELS:
        size = f"{w}x{h} " if im is not None else ""
        if im is not None:
            im.close()
        raise _say(where, f"image of {size}pixels, over the bound of {MAX_PIXELS:,} decoded")
    return im


# ---------------------------------------------------------------- .npy arrays


def check_npy(path: str | Path) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from a .npy file's header, refusing (TooCostly) a header over
    MAX_NPY_HEADER bytes, an object dtype, or a shape the file's bytes don't hold or
    over MAX_ARRAY_BYTES; a file that is no .npy at all raises a plain ValueError."""
    p = Path(path)
    if not is_regular(p):
        raise TooCostly(f"{p}: not a regular file (a FIFO, device or socket); not opened")
    size = p.stat().st_size
    with open(p, "rb") as f:
        head = f.read(12)
        if len(head) < 10 or head[:6] != b"\x93NUMPY":
            raise ValueError(f"{p}: not a .npy array (no NUMPY header)")
        major = head[6]
        n = int.from_bytes(head[8:10], "little") if major == 1 else None
        if n is None:
            if len(head) < 12:
                raise ValueError(f"{p}: .npy header truncated")
            n = int.from_bytes(head[8:12], "little")
        start = 10 if major == 1 else 12
        if n > MAX_NPY_HEADER:
            raise TooCostly(
                f"{p}: .npy header of {n:,} bytes over the bound of {MAX_NPY_HEADER:,}; not read"
            )
        f.seek(start)
        text = f.read(n).decode("latin1")
    try:
        d = ast.literal_eval(text.strip())
        dtype = np.dtype(np.lib.format.descr_to_dtype(d["descr"]))
        shape = tuple(int(x) for x in d["shape"])
    except Exception as e:  # a damaged header in someone else's run
        raise ValueError(f"{p}: .npy header unreadable ({type(e).__name__})") from None
    if dtype.hasobject:
        raise TooCostly(f"{p}: .npy array of Python objects (loading it unpickles); not read")
    if any(x < 0 for x in shape):
        raise TooCostly(f"{p}: .npy shape {shape} is negative; not read")
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if need > MAX_ARRAY_BYTES:
        raise TooCostly(
            f"{p}: .npy shape {shape} needs {need:,} bytes, over the bound of "
            f"{MAX_ARRAY_BYTES:,}; not read"
        )
    if need > size - start - n:
        raise TooCostly(
            f"{p}: .npy shape {shape} needs {need:,} bytes but the file holds "
            f"{max(size - start - n, 0):,}; damaged, not read"
        )
    return shape, dtype


def load_npy(path: str | Path, mmap_mode: str | None = None) -> np.ndarray:
    """`np.load` of a .npy from a run after `check_npy` (never unpickles)."""
    check_npy(path)
    return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)


# ---------------------------------------------------------------- text fields


def split_fields(line: str, sep: str, where: Any = None) -> list[str]:
    """One delimited line split into fields (csv quoting rules), TooCostly for a field
    longer than MAX_FIELD_CHARS characters."""
    if len(line) > MAX_FIELD_CHARS and max(map(len, line.split(sep)), default=0) > MAX_FIELD_CHARS:
        raise _say(where, f"a field longer than {MAX_FIELD_CHARS:,} characters")
    try:
        return next(csv.reader([line], delimiter=sep), [])
    except csv.Error as e:
        if "field limit" in str(e):  # a quoted field spanning separators, over the limit
            raise _say(where, str(e)) from None
        return line.split(sep)  # a stray carriage return or NUL in a damaged line
