"""EdgeConnect's `log_<model>.dat` (knazeri/edge-connect, and the inpainting trainers built
on it): every LOG_INTERVAL iterations one line of numbers between spaces, no header,
`epoch iter` and then the model's logs in the order its code appends them. The names come
from the file's name and the line's length (COLUMNS, plain data):

    log_edge.dat              epoch iter l_d1 l_g1 l_fm edge_precision edge_recall
    log_inpaint.dat           epoch iter l_d2 l_g2 l_l1 l_per l_sty psnr mae
    log_edge_inpaint.dat      (the inpaint model's, fed by the edge model)
    log_joint.dat             the edge model's five, then the inpaint model's seven
    log_inpaint.dat, 7 wide   HINT: gLoss dLoss psnr mae l_loss

The edge model's `precision` and `recall` compare its edge map with the image's edges: they
are named edge_precision / edge_recall, not the samples' precision and recall against the
data. The step is the iteration: on a resume the epoch counts from 1 again while the
iteration carries on from the checkpoint, so a section that goes back in iterations
replaces the rows it repeats. The run's `config.yml` beside the log (EdgeConnect's
checkpoints folder) is its config: its `GAN_LOSS` (nsgan, lsgan, hinge) is the loss type.
The G and D losses are read through the layouts of `naming/layouts.py` (l_d1 / l_g1, l_d2 /
l_g2; HINT's dLoss, its gLoss being G's total).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GanAnalyzeError
from ..files.runfiles import keep_inside, yaml_mapping
from . import counters as ctr
from .table import Axis, Columns, Profile, keep_counted_rows, keep_rows

NAME = "edgeconnect"
_EDGE = ("l_d1", "l_g1", "l_fm", "edge_precision", "edge_recall")
_INPAINT = ("l_d2", "l_g2", "l_l1", "l_per", "l_sty", "psnr", "mae")
# (file name, numbers a line) -> the columns, in the order the trainer writes them
COLUMNS: dict[tuple[str, int], tuple[str, ...]] = {
    ("log_edge.dat", 7): ("epoch", "iter", *_EDGE),
    ("log_inpaint.dat", 9): ("epoch", "iter", *_INPAINT),
    ("log_edge_inpaint.dat", 9): ("epoch", "iter", *_INPAINT),
    ("log_joint.dat", 14): ("epoch", "iter", *_EDGE, *_INPAINT),
    ("log_inpaint.dat", 7): ("epoch", "iter", "gLoss", "dLoss", "psnr", "mae", "l_loss"),  # HINT
}
_FILES = {name for name, _ in COLUMNS}
_HEAD_BYTES = 4096


def _width(p: Path) -> int:
    """How many numbers the first line of `p` holds (0 when it is not a line of numbers)."""
    try:
        with open(p, "rb") as f:
            first = f.read(_HEAD_BYTES).split(b"\n", 1)[0].decode("utf-8", errors="replace")
    except OSError:
        return 0
    words = first.split()
    try:
        [float(w) for w in words]
    except ValueError:
        return 0
    return len(words)


def columns(p: Path) -> list[str]:
    """The column names of the log `p` (by its name and its first line's length)."""
    width = _width(p)
    cols = COLUMNS.get((p.name, width))
    if cols is None:
        widths = sorted({n for name, n in COLUMNS if name == p.name}) or [7, 9, 14]
        raise GanAnalyzeError(
            f"{p}: an EdgeConnect log line holds {' or '.join(map(str, widths))} numbers; "
            f"its first line holds {width}"
        )
    return list(cols)


def find(path: Path) -> Path | None:
    """The log: the file named, or the one `log_<model>.dat` in the folder, its
    `checkpoints/`, or a folder below it (two or more are named, never guessed)."""
    path = Path(path)
    if path.is_file():
        return path if (path.name, _width(path)) in COLUMNS else None
    if not path.is_dir():
        return None
    for pattern in ("log_*.dat", "*/log_*.dat", "*/*/log_*.dat"):
        found = [
            p
            for p in keep_inside(path, sorted(path.glob(pattern)))
            if p.name in _FILES and p.is_file() and (p.name, _width(p)) in COLUMNS
        ]
        if len(found) > 1:
            names = ", ".join(str(p.relative_to(path)) for p in found[:6])
            raise GanAnalyzeError(
                f"{path}: several EdgeConnect logs ({names}), one per model trained; point "
                "gananalyze at one file"
            )
        if found:
            return found[0]
    return None


def detect(path: Path) -> bool:
    try:
        return find(path) is not None
    except GanAnalyzeError:  # several logs: claimed, so the load names them
        return True


def axis(t: Columns, table: Path, bad: list[str]) -> Axis:
    """The iteration is the step; a section whose iteration goes back (a resume from a
    checkpoint) replaces the earlier rows it repeats (`counters.segments`)."""
    keep_counted_rows(t, ("iter",), table, bad, "an iteration")
    keep, sections, replaced = ctr.segments(t.values["iter"].astype(np.int64))
    keep_rows(t, keep)
    notes = [ctr.restart_warning(table, sections, replaced, len(keep))] if replaced else []
    steps = t.values["iter"].astype(np.int64)
    return Axis(steps, "iteration", skip=("iter",), replaced=replaced, notes=notes)


def config(table: Path, warnings: list[str]) -> dict[str, Any]:
    """EdgeConnect's `config.yml` beside the log, with GAN_LOSS read as the loss type."""
    cfg = yaml_mapping(table.parent, table.parent / "config.yml", warnings, "config not read")
    if isinstance(cfg.get("GAN_LOSS"), str):
        cfg = {**cfg, "gan_loss": cfg["GAN_LOSS"]}
    return cfg


PROFILE = Profile(NAME, lambda cols: True, axis, config=config, find=find, names=columns)
load = PROFILE.load  # the registry contract: load(path) -> Run
