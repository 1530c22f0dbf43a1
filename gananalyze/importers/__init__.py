"""Importers: read the files other trainers write into a `Run`.

REGISTRY maps a format name to a module with two functions:
    detect(path: Path) -> bool   cheap check: does this look like my format?
    load(path: Path) -> Run      read it (warnings and flags on the Run, no traceback)
Order matters: load_run tries them in this order after the native format.
"""

from __future__ import annotations

from types import ModuleType

REGISTRY: dict[str, ModuleType] = {}
