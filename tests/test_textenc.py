"""files/textenc.py: text in a run decoded by its byte-order mark (UTF-8, or UTF-16 as
Windows PowerShell's `>` writes it)."""

from __future__ import annotations

import codecs

from gananalyze.files.textenc import decode, encoding_of, file_encoding
from gananalyze.loader import load_run

LINES = [
    f"[Epoch {e}/30] [Batch {b}/10] [D loss: 0.6{b}] [G loss: 0.9{b}]"
    for e in range(12)
    for b in (0, 5)
]


def test_encoding_by_byte_order_mark(tmp_path):
    assert encoding_of(codecs.BOM_UTF16_LE + b"[\x00") == "utf-16"
    assert encoding_of(codecs.BOM_UTF16_BE + b"\x00[") == "utf-16"
    assert encoding_of(codecs.BOM_UTF8 + b"step") == "utf-8-sig"
    assert encoding_of(b"step,loss") == "utf-8"
    assert file_encoding(tmp_path / "missing.log") == "utf-8"
    assert decode("a: 1\nb: 2\n".encode("utf-16")) == "a: 1\nb: 2\n"
    # a UTF-16 read cut mid-character keeps what came before; bad bytes become U+FFFD
    assert decode("a: 1\n".encode("utf-16") + b"\x00") == "a: 1\n"
    assert decode(b"loss: 0.5 \xff\n") == "loss: 0.5 \ufffd\n"


def test_a_powershell_log_reads_as_its_utf8_twin(tmp_path):
    text = "\r\n".join(LINES) + "\r\n"
    (tmp_path / "u8").mkdir()
    (tmp_path / "u8" / "train.log").write_text(text, encoding="utf-8")
    (tmp_path / "u16").mkdir()
    (tmp_path / "u16" / "train.log").write_bytes(text.encode("utf-16"))  # BOM + UTF-16LE
    a, b = load_run(tmp_path / "u8"), load_run(tmp_path / "u16")
    assert b.format == a.format == "textlog"
    assert len(b.scalars) == len(a.scalars) == 24
    assert b.scalars.drop(columns="wall_time", errors="ignore").equals(
        a.scalars.drop(columns="wall_time", errors="ignore")
    )
    assert b.column("G_loss") == a.column("G_loss") is not None
