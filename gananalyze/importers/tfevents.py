"""Bulk decoding of plain TensorBoard scalar events with numpy.

Most records of an event file are `add_scalar` events of one fixed shape
(wall time, step, one simple value with a tag). `decode_simple` reads those for
a whole batch of records at once from their byte offsets, and says which
records were not of that shape; tensorboard.py sends those through the
protobuf classes. `tag_ids` maps the tags of the decoded records to column ids.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .tfrecord import gather_bytes


def _varint(
    buf: np.ndarray, pos: np.ndarray, limit: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode one protobuf varint at each position: (value as int64, byte length, ok)."""
    val = np.zeros(len(pos), dtype=np.uint64)
    length = np.zeros(len(pos), dtype=np.int64)
    active = np.ones(len(pos), dtype=bool)
    last = len(buf) - 1
    for k in range(10):
        b = buf[np.minimum(pos + k, last)].astype(np.uint64)
        val |= np.where(active, (b & np.uint64(0x7F)) << np.uint64(7 * k), np.uint64(0))
        length += active
        active &= (b & np.uint64(0x80)) != 0
        if not active.any():
            break
    ok = ~active & (pos + length <= limit)
    return val.view(np.int64), length, ok


def decode_simple(buf: np.ndarray, o: np.ndarray, ln: np.ndarray) -> dict[str, np.ndarray]:
    """Vectorised decode of events that hold exactly one simple_value scalar.

    Layout: wall_time (field 1, fixed64) [step (field 2, varint)] summary
    (field 5) { value (field 1) { tag (field 1) simple_value (field 2, float) } }.
    Records that do not match exactly get ok=False and are decoded with protobuf.
    """
    last = len(buf) - 1
    end = o + ln

    def at(p: np.ndarray) -> np.ndarray:
        return buf[np.minimum(p, last)]

    ok = (ln >= 9 + 2 + 2 + 2 + 5) & (at(o) == 0x09)
    wall = gather_bytes(buf, o + 1, 8).copy().view("<f8").ravel()
    p = o + 9
    has_step = at(p) == 0x10
    step, sl, sok = _varint(buf, p + 1, end)
    step = np.where(has_step, step, 0)
    ok &= ~has_step | sok
    p = np.where(has_step, p + 1 + sl, p)
    ok &= at(p) == 0x2A
    slen, l1, ok1 = _varint(buf, p + 1, end)
    p = p + 1 + l1
    ok &= ok1 & (p + slen == end) & (at(p) == 0x0A)
    vlen, l2, ok2 = _varint(buf, p + 1, end)
    p = p + 1 + l2
    ok &= ok2 & (p + vlen == end) & (at(p) == 0x0A)
    tlen, l3, ok3 = _varint(buf, p + 1, end)
    tag_start = p + 1 + l3
    p = tag_start + tlen
    ok &= ok3 & (at(p) == 0x15) & (p + 5 == end)
    value = gather_bytes(buf, p + 1, 4).copy().view("<f4").ravel().astype(np.float64)
    return {
        "ok": ok,
        "wall": wall,
        "step": step,
        "tag_start": tag_start,
        "tag_len": tlen,
        "value": value,
    }


def tag_ids(
    buf: np.ndarray, starts: np.ndarray, lens: np.ndarray, tags: dict[str, int]
) -> np.ndarray:
    """Map each (start, len) tag byte string to an id in `tags` (added when new)."""
    ids = np.empty(len(starts), dtype=np.int64)
    for L in np.unique(lens):
        sel = np.flatnonzero(lens == L)
        mat = gather_bytes(buf, starts[sel], int(L))
        h = np.zeros(len(sel), dtype=np.uint64)
        for j in range(int(L)):
            h = h * np.uint64(1099511628211) ^ mat[:, j].astype(np.uint64)
        codes, uniq = pd.factorize(h)
        for c in range(len(uniq)):
            first = int(np.argmax(codes == c))
            row = mat[first]
            members = codes == c
            if not (mat[members] == row).all():  # hash collision: fall back to exact grouping
                sub = np.flatnonzero(members)
                for i in sub:
                    t = bytes(mat[i]).decode("utf-8", "replace")
                    ids[sel[i]] = tags.setdefault(t, len(tags))
                continue
            t = bytes(row).decode("utf-8", "replace")
            ids[sel[members]] = tags.setdefault(t, len(tags))
    return ids
