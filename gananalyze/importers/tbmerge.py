"""How the points of several TensorBoard event files and folders become one run's columns.

Two habits of `SummaryWriter` users that TensorBoard itself resolves:

- `writer.add_scalars("loss", {"D": d, "G": g}, step)` writes each key to its own folder
  (`<logdir>/loss_D/`, `<logdir>/loss_G/`), all under the one tag `loss`
  (`scalars_children`).
- A trainer started again in the same folder (resumed from a checkpoint, or from step 0)
  writes a new event file whose steps go back. TensorBoard purges the earlier points of a tag
  at or after the first step the new file logs for it ("orphaned data"), so that the run shows
  the new attempt, not its head glued onto the old attempt's tail (`purge_restarts`).
- `add_scalar(tag, value)` with no global_step: every point at step 0 (`number_unstepped`).
- `SummaryWriter()` with no log_dir: one folder per run under `runs/` (`writer_runs`); the
  `runs/` folder given as a run is its newest run, and `compare runs/` compares them all.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd


def scalars_children(keys: list[str], notes: list[str]) -> list[str]:
    """`keys` ("<sub>\\0<tag>") with `add_scalars` children folded into their run.

    A folder whose name is the tag it logs ('/' written '_'), then '_' and a key, and which
    logs that tag alone, is read as the column `<tag>/<key>` of the folder above it (so
    `loss_D/` logging `loss` is the column `loss/D`), not as a separate run logging `loss`.
    A name that the folder above already logs is left as it was."""
    by_sub: dict[str, set[str]] = {}
    for k in keys:
        sub, tag = k.split("\x00", 1)
        by_sub.setdefault(sub, set()).add(tag)
    renamed: dict[str, str] = {}
    for sub, tl in by_sub.items():
        if not sub or len(tl) != 1:
            continue
        (tag,) = tl
        head, _, name = sub.replace("\\", "/").rpartition("/")
        stem = tag.replace("/", "_") + "_"
        if not name.startswith(stem) or len(name) == len(stem):
            continue
        col = f"{tag}/{name[len(stem) :]}"
        if col in by_sub.get(head, set()) or f"{head}\x00{col}" in renamed.values():
            continue
        renamed[f"{sub}\x00{tag}"] = f"{head}\x00{col}"
    if renamed:
        folded = sorted(k.split("\x00", 1)[0] for k in renamed)
        cols = sorted(v.split("\x00", 1)[1] for v in renamed.values())
        more = ", ..." if len(renamed) > 4 else ""
        notes.append(
            f"add_scalars folders read as columns of their run: {', '.join(folded[:4])}{more} "
            f"-> {', '.join(cols[:4])}{more}"
        )
    return [renamed.get(k, k) for k in keys]


def repeats(ids: np.ndarray, steps: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Points that a later point repeats exactly (same tag, step and value): the same value
    written twice at a step (Lightning logs `epoch` again with the epoch-end metrics)
    replaces nothing, so only conflicting rewrites count as a resumed run's."""
    return pd.DataFrame({"i": ids, "s": steps, "v": values}).duplicated(keep="last").to_numpy()


def purge_restarts(
    steps: np.ndarray, ids: np.ndarray, files: np.ndarray, names: list[str]
) -> tuple[np.ndarray, str | None]:
    """Which points to keep after TensorBoard's purge of orphaned data, and a note.

    `files`: the index (in write order) of the event file each point came from; a tag's ids
    are per folder, so files of other folders never touch it. A point is dropped when a later
    file logs the same tag at that step or earlier (a restart or a resume from a checkpoint):
    that file's attempt replaces the earlier one from its first step on. Steps that go back
    inside one file (a counter reset every epoch) are left to the later-write-wins rule."""
    n = len(steps)
    if n == 0:
        return np.ones(0, dtype=bool), None
    df = pd.DataFrame({"id": ids, "file": files, "step": steps})
    first = df.groupby(["id", "file"], sort=True)["step"].min().reset_index()
    if not first.duplicated("id").any():
        return np.ones(n, dtype=bool), None
    # per (id, file): the smallest first step of any LATER file of that id
    first = first.sort_values(["id", "file"], ascending=[True, False])
    first["later"] = (
        first.groupby("id")["step"].transform(lambda s: s.cummin().shift(1)).fillna(np.inf)
    )
    later = df.merge(first[["id", "file", "later"]], on=["id", "file"], how="left")["later"]
    keep = steps < later.to_numpy()
    if keep.all():
        return keep, None
    hit = sorted({names[i] for i in np.unique(ids[~keep])})
    starts = sorted({int(s) for s in later.to_numpy()[~keep]})
    at = ", ".join(str(s) for s in starts[:4]) + (", ..." if len(starts) > 4 else "")
    return keep, (
        f"restarted in the same folder (a later event file goes back to step {at}): "
        f"{int((~keep).sum())} earlier point(s) at or after that step dropped, as TensorBoard "
        f"does ({', '.join(hit[:4])}{', ...' if len(hit) > 4 else ''})"
    )


def number_unstepped(
    steps: np.ndarray, ids: np.ndarray, names: list[str], min_points: int = 3
) -> tuple[np.ndarray, str | None]:
    """Steps for tags logged without a global_step.

    `writer.add_scalar("loss/D", d)` with no step writes every point at step 0; TensorBoard
    draws them all on one x position and a reader keeping one value per step would keep the
    last alone. A tag with at least `min_points` points, all at one step, gets its points
    numbered 0, 1, 2, ... in write order (array order: files in write order, records in file
    order), so tags logged together once per iteration line up again."""
    if not len(steps):
        return steps, None
    df = pd.DataFrame({"id": ids, "step": steps})
    g = df.groupby("id")["step"]
    flat = (g.transform("nunique") == 1) & (g.transform("size") >= min_points)
    if not flat.any():
        return steps, None
    out = steps.copy()
    out[flat.to_numpy()] = df[flat].groupby("id").cumcount().to_numpy()
    hit = sorted({names[i] for i in np.unique(ids[flat.to_numpy()])})
    return out, (
        f"{len(hit)} tag(s) logged every point at one step (no global_step given): points "
        f"numbered by write order instead ({', '.join(hit[:4])}{', ...' if len(hit) > 4 else ''})"
    )


# SummaryWriter() with no log_dir writes to runs/<Mon><DD>_<HH-MM-SS>_<host><comment>
WRITER_RUN_RE = re.compile(r"^[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_\S+$")


def writer_runs(path: Path) -> list[Path]:
    """The run folders of a `runs/` folder that SummaryWriter filled with one folder per
    run (`runs/Dec05_21-00-00_host/`), oldest first by their newest event file; empty unless
    at least two such folders hold event files and `path` itself holds none (a folder with
    its own event files is one run whose sub-folders are parts of it)."""
    path = Path(path)
    if not path.is_dir() or next(iter(path.glob("events.out.tfevents.*")), None) is not None:
        return []
    found: list[tuple[float, str, Path]] = []
    for d in sorted(path.iterdir()):
        if not d.is_dir() or d.is_symlink() or not WRITER_RUN_RE.match(d.name):
            continue
        stamps = [
            float(m.group(1))
            for f in d.rglob("events.out.tfevents.*")
            if (m := re.search(r"tfevents\.(\d+(?:\.\d+)?)", f.name))
        ]
        if stamps:
            found.append((max(stamps), d.name, d))
    return [d for _, _, d in sorted(found)] if len(found) >= 2 else []
