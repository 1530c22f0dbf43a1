"""Atomic file writes: a temporary file in the same folder, then a rename.

Readers never see half a file, and a crash of the writing process (kill -9)
leaves either the old file or the new one. fsync (on by default) also makes the
write survive a power cut, at a few milliseconds per file. New files get the
permissions the umask allows (mkstemp alone would make them 0600).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: Path, write: Callable[[Path], None], fsync: bool = True) -> None:
    """Write `path` via `write(tmp_path)` then rename, so readers never see half a file.

    The rename alone makes the write safe against a crash of the writing
    process (kill -9); fsync also makes it survive a power cut or kernel crash,
    at a few milliseconds per file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file normal permissions
        if fsync:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if not fsync:
        return
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda p: p.write_bytes(data))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(
        path, (json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n").encode()
    )
