"""TFRecord framing of TensorBoard event files: CRC32C and damage handling.

A record is (uint64 length, masked CRC32C of the length, data, masked CRC32C
of the data). `frame_file` finds every intact record's payload: the framing
loop is plain Python with a speculative fast path for repeating lengths, and
both CRCs are then checked for all records at once with a vectorised CRC32C.
After a corrupt record it resynchronises on the next offset where a record's
length checksum and data checksum both match (`_resync`), so one flipped bit
costs one record, not the rest of the file; each skip is a warning and an
entry in the caller's `damaged` list.
"""

from __future__ import annotations

import struct

import numpy as np

_CHUNK = 1 << 18  # records checked per vectorised batch


# ------------------------------------------------------------------ CRC32C


def _crc_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table[i] = c
    return table


_CRC_TABLE = _crc_table()


def crc32c_rows(rows: np.ndarray) -> np.ndarray:
    """CRC32C of each row of a (n, L) uint8 array, vectorised over rows."""
    crc = np.full(rows.shape[0], 0xFFFFFFFF, dtype=np.uint32)
    for j in range(rows.shape[1]):
        crc = _CRC_TABLE[(crc ^ rows[:, j]) & 0xFF] ^ (crc >> 8)
    return crc ^ np.uint32(0xFFFFFFFF)


def masked_crc(crc: np.ndarray) -> np.ndarray:
    """TFRecord's masked CRC: rotate right by 15 and add a constant."""
    crc = crc.astype(np.uint32)
    return (((crc >> 15) | (crc << 17)) + np.uint32(0xA282EAD8)).astype(np.uint32)


def gather_bytes(buf: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """(n, width) bytes starting at each of `starts` (clipped to the buffer),
    copied via a strided view."""
    if width == 0:
        return np.zeros((len(starts), 0), dtype=np.uint8)
    if len(buf) < width:
        buf = np.concatenate([buf, np.zeros(width - len(buf), np.uint8)])
    view = np.lib.stride_tricks.as_strided(
        buf,
        shape=(len(buf) - width + 1, width),
        strides=(buf.strides[0], buf.strides[0]),
        writeable=False,
    )
    return view[np.clip(starts, 0, len(buf) - width)]


def _check_crcs(buf: np.ndarray, offs: np.ndarray, lens: np.ndarray) -> tuple[int, np.ndarray]:
    """(index of the first record whose length CRC is wrong or len(offs),
    mask of data CRCs that match)."""
    n = len(offs)
    first_bad = n
    for a in range(0, n, _CHUNK):
        b = min(n, a + _CHUNK)
        hdr = gather_bytes(buf, offs[a:b] - 12, 8)
        want = gather_bytes(buf, offs[a:b] - 4, 4).copy().view("<u4").ravel()
        bad = np.flatnonzero(masked_crc(crc32c_rows(hdr)) != want)
        if len(bad):
            first_bad = a + int(bad[0])
            break
    ok = np.ones(first_bad, dtype=bool)
    lens = lens[:first_bad]
    for L in np.unique(lens):
        sel = np.flatnonzero(lens == L)
        for a in range(0, len(sel), max(1, (4 << 20) // max(int(L), 1))):
            s = sel[a : a + max(1, (4 << 20) // max(int(L), 1))]
            data = gather_bytes(buf, offs[s], int(L)) if L else np.zeros((len(s), 0), np.uint8)
            want = gather_bytes(buf, offs[s] + L, 4).copy().view("<u4").ravel()
            ok[s] = masked_crc(crc32c_rows(data)) == want
    return first_bad, ok


def _frame_from(
    data: bytes, buf: np.ndarray, start: int
) -> tuple[np.ndarray, np.ndarray, tuple[int, str] | None, int, tuple[int, int]]:
    """Frame records from byte `start` until the first damage.

    Returns offsets and lengths of the intact records' payloads, the damage
    (byte offset, what) or None, and the count and first offset of records
    skipped for a data checksum mismatch.
    """
    n = len(data)
    offs: list[int] = []
    lens: list[int] = []
    o_parts: list[np.ndarray] = []
    l_parts: list[np.ndarray] = []
    tail: list[int] = []  # the last lengths, to spot the repeating pattern
    up = struct.unpack_from
    pos = start
    problem = None
    cycles = 64
    while pos + 12 <= n:
        # Speculate that the lengths of the last P records repeat (P tags logged per step):
        # read the length fields where the next records would start, all at once, and
        # accept the prefix that matches. Exact: each accepted record starts where the
        # previous one ends.
        for P in range(1, min(16, len(tail) // 2) + 1):
            if tail[-P:] != tail[-2 * P : -P]:
                continue
            pattern = np.asarray(tail[-P:], dtype=np.int64)
            rec = pattern + 16
            C = int(rec.sum())
            M = min(cycles, (n - pos) // C)
            if M < 2:
                break
            rel = np.concatenate([[0], np.cumsum(rec)[:-1]])
            cand = (pos + np.arange(M, dtype=np.int64)[:, None] * C + rel).ravel()
            want = np.tile(pattern, M)
            got = gather_bytes(buf, cand, 8).copy().view("<u8").ravel()
            bad = np.flatnonzero(got != want.astype(np.uint64))
            take = int(bad[0]) if len(bad) else len(cand)
            if take:
                o_parts += [np.asarray(offs, dtype=np.int64), cand[:take] + 12]
                l_parts += [np.asarray(lens, dtype=np.int64), want[:take]]
                offs, lens = [], []
                tail = (tail + want[max(0, take - 32) : take].tolist())[-32:]
                pos = int(cand[take - 1]) + 16 + int(want[take - 1])
            cycles = min(cycles * 2, 1 << 16) if not len(bad) else 64
            break
        if pos + 12 > n:
            break
        (length,) = up("<Q", data, pos)
        end = pos + 12 + length + 4
        if end > n:
            hdr_ok = (
                masked_crc(crc32c_rows(buf[pos : pos + 8].reshape(1, 8)))[0]
                == up("<I", data, pos + 8)[0]
            )
            what = (
                "record cut off (truncated file)"
                if hdr_ok
                else ("corrupt record header (length checksum mismatch)")
            )
            problem = (pos, what)
            break
        offs.append(pos + 12)
        lens.append(length)
        tail = (tail + [length])[-32:]
        pos = end
    if problem is None and pos != n:
        problem = (pos, f"{n - pos} trailing byte(s) that do not form a record (truncated file)")
    o = np.concatenate([*o_parts, np.asarray(offs, dtype=np.int64)])
    ln = np.concatenate([*l_parts, np.asarray(lens, dtype=np.int64)])
    n_bad, first_bad_at = 0, (-1, -1)
    if len(o):
        first_bad, ok = _check_crcs(buf, o, ln)
        if first_bad < len(o):
            problem = (int(o[first_bad]) - 12, "corrupt record header (length checksum mismatch)")
            o, ln = o[:first_bad], ln[:first_bad]
        if not ok.all():
            bad = np.flatnonzero(~ok)
            n_bad, first_bad_at = len(bad), (int(o[bad[0]]) - 12, int(bad[0]))
            o, ln = o[ok], ln[ok]
    return o, ln, problem, n_bad, first_bad_at


def _resync(buf: np.ndarray, start: int) -> int | None:
    """The first offset >= `start` where a whole, intact record begins (its
    length checksum and its data checksum both match), or None."""
    n = len(buf)
    step = 1 << 16
    for a in range(start, n - 15, step):
        qs = np.arange(a, min(a + step, n - 15), dtype=np.int64)
        hdr = gather_bytes(buf, qs, 8)
        want = gather_bytes(buf, qs + 8, 4).copy().view("<u4").ravel()
        for i in np.flatnonzero(masked_crc(crc32c_rows(hdr)) == want):
            q = int(qs[i])
            length = int(hdr[i].copy().view("<u8")[0])
            if q + 16 + length > n:
                continue
            data = buf[q + 12 : q + 12 + length].reshape(1, -1)
            crc = buf[q + 12 + length : q + 16 + length].copy().view("<u4")[0]
            if masked_crc(crc32c_rows(data))[0] == crc:
                return q
    return None


def frame_file(
    data: bytes, name: str, warnings: list[str], damaged: list[tuple[str, str]] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and lengths of the intact records' payloads; damage becomes a
    warning (and an entry in `damaged`), and reading goes on at the next intact
    record."""
    n = len(data)
    buf = np.frombuffer(data, dtype=np.uint8)
    o_all: list[np.ndarray] = []
    l_all: list[np.ndarray] = []
    pos = 0
    while True:
        o, ln, problem, n_bad, bad_at = _frame_from(data, buf, pos)
        o_all.append(o)
        l_all.append(ln)
        if n_bad:
            warnings.append(
                f"{name}: {n_bad} record(s) with a data checksum mismatch skipped "
                f"(first at byte offset {bad_at[0]}, "
                f"record #{sum(len(x) for x in o_all[:-1]) + bad_at[1]})"
            )
            if damaged is not None:
                damaged.append((name, f"{n_bad} record(s) with a data checksum mismatch"))
        if problem is None:
            break
        at, what = problem
        read = sum(len(x) for x in o_all)
        nxt = _resync(buf, at + 1)
        if nxt is None:
            warnings.append(
                f"{name}: {what} at byte offset {at}; the {read} record(s) before it "
                f"were read, the rest of the file ({n - at} bytes) ignored"
            )
            if damaged is not None:
                damaged.append((name, f"{what} at byte offset {at}; {n - at} bytes not read"))
            break
        warnings.append(
            f"{name}: {what} at byte offset {at}; skipped {nxt - at} bytes to the "
            f"next intact record at offset {nxt} and read on"
        )
        if damaged is not None:
            damaged.append((name, f"{what} at byte offset {at}; {nxt - at} bytes skipped"))
        pos = nxt
    return np.concatenate(o_all), np.concatenate(l_all)
