"""Which optional extra provides what, and the one-line error when one is missing.

The core install reads, checks, reports and compares runs. `pip install
'gananalyze[fid]'` adds torch, torchvision and pytorch-fid (fid-sweep, the
report's t-SNE of a generator, the sample metrics of vector samples);
`[s3]` and `[gs]` add object storage. Heavy modules are imported where they are
used; the CLI's error bridge turns an ImportError of one of them into
`MissingExtra` through `missing`, so each import site needs no handling of its own.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingExtra

# top-level module -> the extra that installs it (plain data)
EXTRAS: dict[str, str] = {
    "torch": "fid",
    "torchvision": "fid",
    "pytorch_fid": "fid",
    "triton": "fid",
    "fsspec": "s3",
    "s3fs": "s3",
    "gcsfs": "gs",
}
# URL scheme -> the extra that reads it
URL_EXTRAS: dict[str, str] = {"s3": "s3", "s3a": "s3", "gs": "gs", "gcs": "gs"}


def install_hint(extra: str) -> str:
    return f"pip install 'gananalyze[{extra}]'"


def missing(e: ImportError, what: str) -> MissingExtra | None:
    """The MissingExtra for an ImportError of a module an extra provides (else None).

    `what` names what needed it ("fid-sweep", "the t-SNE").
    """
    name = (getattr(e, "name", None) or "").split(".")[0]
    extra = EXTRAS.get(name)
    if extra is None:
        return None
    return MissingExtra(
        f"{what} needs {name}, which is not installed: {install_hint(extra)}", extra=extra
    )


def require(module: str, what: str) -> ModuleType:
    """Import `module`, or raise MissingExtra naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        err = missing(e, what)
        if err is None:
            raise
        raise err from None
