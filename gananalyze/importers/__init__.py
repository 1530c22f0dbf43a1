"""Importers: read the files other trainers write into a `Run`.

REGISTRY maps a format name to a module with two functions:
    detect(path: Path) -> bool   cheap check: does this look like my format?
    load(path: Path) -> Run      read it (warnings and flags on the Run, no traceback)
Order matters: load_run tries them in this order after the native format.
StyleGAN comes before TensorBoard because a StyleGAN run directory also holds
an event file; the generic table importer comes last.
"""

from __future__ import annotations

from types import ModuleType

from . import cyclegan, stylegan, table, tensorboard

REGISTRY: dict[str, ModuleType] = {
    "stylegan": stylegan,
    "cyclegan": cyclegan,
    "tensorboard": tensorboard,
    "csv": table,
}
