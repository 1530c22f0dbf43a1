"""How a text file in a run is decoded: UTF-8 (its byte-order mark dropped), or UTF-16 where
a byte-order mark says so. Windows PowerShell's `python train.py > train.log` and
`Tee-Object` write UTF-16; read as UTF-8 such a log is every other byte a NUL and no line
parses. Bytes that do not decode become U+FFFD, so a damaged line costs itself only."""

from __future__ import annotations

import codecs
from pathlib import Path

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def encoding_of(head: bytes) -> str:
    """The codec for a file starting with `head` (its first bytes): by its byte-order mark."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return "utf-8"


def file_encoding(p: str | Path) -> str:
    """encoding_of the file `p` ("utf-8" when it cannot be read)."""
    try:
        with open(p, "rb") as f:
            return encoding_of(f.read(4))
    except OSError:
        return "utf-8"


def decode(data: bytes) -> str:
    """`data` as text, by its byte-order mark (UTF-16 cut mid-character keeps the rest)."""
    enc = encoding_of(data[:4])
    if enc == "utf-16" and len(data) % 2:
        data = data[:-1]
    return data.decode(enc, errors="replace")


def read_log_text(path: Path, max_bytes: int, warnings: list[str]) -> str:
    """A text log's first `max_bytes` (cut at a line end, a warning naming the cut), decoded
    by its byte-order mark."""
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        data = data[: data.rfind(b"\n", 0, max_bytes) + 1]
        warnings.append(f"{path}: larger than {max_bytes >> 20} MiB; only the first part was read")
    return decode(data)


def read_log_lines(path: Path, max_bytes: int, warnings: list[str]) -> list[str]:
    """read_log_text split into lines (\r\n and a bare \r end a line too), with one warning
    naming the lines that hold bytes that are not text; they are read as far as they parse."""
    text = read_log_text(path, max_bytes, warnings).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    garbled = [i + 1 for i, x in enumerate(lines) if "\ufffd" in x or "\x00" in x]
    if garbled:
        warnings.append(
            f"{path}: {len(garbled)} line(s) hold bytes that are not text (first: line "
            f"{garbled[0]}); read as far as they parse"
        )
    return lines
