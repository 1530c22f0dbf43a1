"""What a trainer files by epoch, placed on the metrics' step axis: PyTorch Lightning's
image grids logged at step = epoch (its GAN tutorial's `add_image(..., self.current_epoch)`)
and ModelCheckpoint's `epoch=E-step=S.ckpt` files (S counts optimizer steps: with two
optimizers G's and D's steps both count, so S is not the logged step).

Both go to the last logged step of their epoch, read from the metrics' `epoch` column. An
epoch that logged no step (`log_every_n_steps` longer than an epoch) is placed by the
epochs around it: linearly between the last logged steps of the nearest epochs before and
after, or, past the ends, at the epochs' mean spacing, never beyond the last logged step.
Without an epoch column grids stay where they are and checkpoints at S, with a warning.
Used by every reader a Lightning logger writes (csv, tensorboard, mlflow) and by the
`lightning` run-root reader.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..files.runfiles import keep_inside
from ..run import Checkpoint, Run

_CKPT_RE = re.compile(r"epoch=(\d+)[-_]step=(\d+)")


def epoch_ends(run: Run) -> tuple[np.ndarray, np.ndarray] | None:
    """(epochs, the last logged step of each) from the metrics' epoch column, or None."""
    sc = run.scalars
    if "epoch" not in sc.columns or not len(sc) or not sc["epoch"].notna().any():
        return None
    ep = sc[["step", "epoch"]].dropna()
    last = ep.groupby(ep["epoch"].astype(np.int64))["step"].max().astype(np.int64)
    return last.index.to_numpy(np.int64), last.to_numpy(np.int64)


def epoch_step(ends: tuple[np.ndarray, np.ndarray], epoch: int, top: int) -> tuple[int, bool]:
    """(the step epoch `epoch` ends at, whether it was logged) (module docstring)."""
    epochs, steps = ends
    hit = np.flatnonzero(epochs == epoch)
    if len(hit):
        return int(steps[hit[0]]), True
    if len(epochs) == 1:
        return min(int(steps[0]), top), False
    spacing = (steps[-1] - steps[0]) / (epochs[-1] - epochs[0])
    if epoch < epochs[0]:
        est = steps[0] - (epochs[0] - epoch) * spacing
    elif epoch > epochs[-1]:
        est = steps[-1] + (epoch - epochs[-1]) * spacing
    else:
        est = np.interp(epoch, epochs, steps)
    return int(np.clip(round(float(est)), 0, top)), False


def place_epoch_images(run: Run, warnings: list[str]) -> str | None:
    """Image grids logged at step = epoch moved to the end of their epoch (module
    docstring). Returns a note saying what was done, or None when the image steps look like
    the metrics' steps."""
    steps = sorted({g.step for g in run.samples})
    sc = run.scalars
    if len(steps) < 2 or not len(sc):
        return None
    top = int(sc["step"].max())
    lo, hi = steps[0], steps[-1]
    if hi >= 0.5 * top:
        return None
    ends = epoch_ends(run)
    if ends is None or hi > int(ends[0].max()) + 1:
        warnings.append(
            f"{run.path}: image steps {lo}..{hi} look like epochs while the metrics reach "
            f"step {top:,}; left where they are (no epoch column to map them)"
        )
        return None
    guessed = 0
    for g in run.samples:
        g.step, logged = epoch_step(ends, g.step, top)
        guessed += not logged
    run.samples.sort(key=lambda g: g.step)
    return (
        f"image steps {lo}..{hi} count epochs (the metrics reach step {top:,}); "
        f"{len(run.samples)} grid(s) placed at the last logged step of their epoch"
        + (
            f", {guessed} of them by the epochs around theirs (no step logged in it)"
            if guessed
            else ""
        )
    )


def checkpoint_files(
    folder: Path, patterns: tuple[str, ...] = ("checkpoints/*.ckpt",)
) -> list[Path]:
    """ModelCheckpoint's `.ckpt` files under `folder` (the patterns, relative to it)."""
    folder = Path(folder)
    found = [p for pat in patterns for p in folder.glob(pat)]
    return sorted(set(keep_inside(folder, found)))


def place_checkpoints(run: Run, files: list[Path], warnings: list[str]) -> list[Checkpoint]:
    """Checkpoints on the metrics' step axis (module docstring); files already listed in
    `run.checkpoints` are left out."""
    have = {Path(c.path) for c in run.checkpoints}
    ends = epoch_ends(run)
    top = int(run.scalars["step"].max()) if len(run.scalars) else 0
    out, unplaced = [], []
    for f in files:
        if Path(f) in have:
            continue
        m = _CKPT_RE.search(f.name)
        if m is None:
            unplaced.append(f.name)
            continue
        epoch, opt_step = int(m.group(1)), int(m.group(2))
        meta = {"epoch": epoch, "optimizer_step": opt_step, "file_name": f.name}
        if ends is None:
            step = opt_step
            meta["placed"] = "at its optimizer step (no epoch column)"
            warnings.append(
                f"{f}: the metrics have no epoch column; placed at its optimizer step "
                f"{opt_step}, which may not be the metrics' step axis"
            )
        else:
            step, logged = epoch_step(ends, epoch, top)
            meta["placed"] = (
                f"at the last logged step of epoch {epoch}"
                if logged
                else f"at step {step}, by the epochs around epoch {epoch} (no step logged in it)"
            )
        out.append(Checkpoint(step=int(step), path=f, kind="lightning", meta=meta))
    if unplaced:
        warnings.append(
            f"{len(unplaced)} .ckpt file(s) not named epoch=E-step=S (not placed): "
            + ", ".join(unplaced[:5])
        )
    return sorted(out, key=lambda c: (c.step, c.path.name))


def attach_checkpoints(run: Run, folder: Path) -> int:
    """Lightning's `checkpoints/*.ckpt` beside a logger's files, placed and added to `run`;
    how many were added."""
    ckpts = place_checkpoints(run, checkpoint_files(folder), run.warnings)
    if ckpts:
        run.checkpoints = sorted(run.checkpoints + ckpts, key=lambda c: c.step)
    return len(ckpts)
