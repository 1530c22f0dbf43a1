"""The code of another commit beside this one, for a benchmark that times both in one run.

`checkout(ref, into)` writes the tree of git commit `ref` (a branch, tag or hash of this
repository) under `into` with `git archive`: a plain copy of the package at that commit,
run from there (`python -m gananalyze` with that folder as the working directory) with this
checkout's virtual environment. Timing both versions in one process, interleaved, puts them
on the same machine under the same load.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def checkout(ref: str, into: Path) -> Path:
    """The tree of `ref` under `into` (created); its short hash is in `into / "REF"`."""
    into.mkdir(parents=True, exist_ok=True)
    data = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    short = subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    (into / "REF").write_text(short)
    return into
