"""Sample images a trainer saves as files beside its text or table log: the PyTorch DCGAN
example's `fake_samples_epoch_003.png`, PyTorch-GAN's `images/12400.png` (batches done),
keras.io's `image_at_epoch_0004.png` and `generated_img_3_7.png` (one sample a file), and
people's own `samples/step_001000.png` or `outputs/iter_500.jpg`.

Images (.png, .jpg, .jpeg) in the run folder and one folder down are looked at (at most
MAX_LOOKED entries; links are never followed out of the run, folders that are links not at
all). Their names, each number in turn replaced by `#`, make patterns; the pattern with the
most different numbers, at least MIN_FILES, is the samples (`real_samples.png`, with no
number, is no sample of G). Where every number of that pattern comes with several files
differing in another number (`generated_img_3_0..7.png`), those files are one checkpoint's
samples, one a file, and are tiled into one grid.

What the number counts: the pattern's words say it (`epoch`, `ep`: epochs; `step`, `iter`,
`it`, `itr`, `batch`, `batches_done`: steps); otherwise its range does: within the log's
epochs, epochs; within its steps, steps; the last image in the run's second half either way
(a folder of numbered data images is no run's samples). Epochs are placed as Lightning's are
(`epochsteps`: the last logged step of the epoch, between logged epochs by their spacing);
images numbered from 1 beside a log counting epochs from 0 (or the other way) are shifted
by one, and the note says so. Grids carry no layout: the diagnosis splits them by the
padding they show. At most MAX_IMAGES images are attached (evenly spread, the last kept).
"""

from __future__ import annotations

import io
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..files.bounded import TooCostly, open_image
from ..files.runfiles import keep_inside, root_of
from ..run import Run, SampleGrid
from .epochsteps import epoch_ends, epoch_step
from .figuregrid import retiled

SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_LOOKED = 10_000
MAX_IMAGES = 2_000
MIN_FILES = 3
_NUM = re.compile(r"\d+")
EPOCH_WORDS = frozenset({"epoch", "epochs", "ep"})
STEP_WORDS = frozenset(
    {"step", "steps", "iter", "iters", "iteration", "iterations", "it", "itr", "batch",
     "batches", "done", "global"}
)  # fmt: skip


# words that name a chart of the run, never G's samples (loss_plot_epoch_5.png)
_NOT_SAMPLES = re.compile(
    r"(?<![a-z])(losse?s?|plots?|curves?|charts?|graphs?|hist|histograms?|metrics?|lr)(?![a-z])"
)


def find_images(folder: Path, warnings: list[str]) -> list[Path]:
    """Image files in `folder` and one folder down (module docstring), sorted."""
    looked, found, todo = 0, [], [(folder, 0)]
    while todo:
        d, depth = todo.pop(0)
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError:
            continue
        for e in entries:
            looked += 1
            if looked > MAX_LOOKED:
                warnings.append(
                    f"{folder}: more than {MAX_LOOKED:,} files and folders; sample images "
                    f"were looked for among the first {MAX_LOOKED:,} only"
                )
                return sorted(keep_inside(folder, found, warnings))
            if e.name.startswith("."):
                continue
            if e.is_dir(follow_symlinks=False):
                if depth == 0:
                    todo.append((Path(e.path), 1))
            elif Path(e.name).suffix.lower() in SUFFIXES:
                found.append(Path(e.path))
    return sorted(keep_inside(folder, found, warnings))


class Group(NamedTuple):
    """Files of one name pattern: the pattern (the step's number as `#`), {number: files},
    and whether each file is one sample (several a number, tiled into one grid)."""

    pattern: str
    files: dict[int, list[Path]]
    tiled: bool


def _groups(folder: Path, files: list[Path]) -> list[Group]:
    """Every way to read one number of the files' names as the step, best first: the most
    different numbers, then tiled ones, then the most files."""
    bare: dict[str, list[tuple[str, list[re.Match]]]] = defaultdict(list)
    for f in files:
        rel = f.relative_to(folder).as_posix()
        if _NOT_SAMPLES.search(rel.lower()):
            continue  # a chart of the run (loss curves, histograms), not G's samples
        bare[_NUM.sub("#", rel)].append((rel, list(_NUM.finditer(rel))))
    out = []
    for template, items in bare.items():
        name_from = template.rfind("/") + 1
        for k in range(template.count("#")):
            subs: dict[tuple[int, ...], dict[int, list[Path]]] = defaultdict(dict)
            shown: dict[tuple[int, ...], str] = {}
            for rel, ms in items:
                rest = tuple(int(m.group()) for j, m in enumerate(ms) if j != k)
                subs[rest].setdefault(int(ms[k].group()), [folder / rel])
                m = ms[k]
                shown.setdefault(rest, rel[: m.start()] + "#" + rel[m.end() :])
            out += [Group(shown[r], by_num, False) for r, by_num in subs.items()]
            if len(items[0][1]) == 2 and items[0][1][1 - k].start() >= name_from:
                tiles: dict[int, list[tuple[int, Path]]] = defaultdict(list)
                for rest, by_num in subs.items():
                    for n, fs in by_num.items():
                        tiles[n].append((rest[0], fs[0]))
                first = {min(r for r, _ in v) for v in tiles.values()}
                if first <= {0, 1} and all(
                    len(v) >= 2 and max(r for r, _ in v) - min(r for r, _ in v) == len(v) - 1
                    for v in tiles.values()
                ):
                    parts = template.split("#")
                    pattern = "".join(
                        p + ("" if i == len(parts) - 1 else "#" if i == k else "*")
                        for i, p in enumerate(parts)
                    )
                    files_by = {n: [f for _, f in sorted(v)] for n, v in tiles.items()}
                    out.append(Group(pattern, files_by, True))
    return sorted(
        out,
        key=lambda g: (-len(g.files), not g.tiled, -sum(map(len, g.files.values())), g.pattern),
    )


def _unit_by_words(pattern: str) -> str | None:
    """ "epoch" or "step" when the pattern's words say it: the word just before `#` first."""
    head = re.findall(r"[a-z]+", pattern.split("#")[0].lower())
    words = re.findall(r"[a-z]+", Path(pattern).with_suffix("").as_posix().lower())
    for w in head[-1:] + words:
        if w in EPOCH_WORDS:
            return "epoch"
        if w in STEP_WORDS:
            return "step"
    return None


def _tiled(files: list[Path], where: str) -> tuple[bytes, dict]:
    """One checkpoint's one-sample files tiled into a make_grid PNG (padding 2), and its
    layout."""
    from PIL import Image

    from ..runio.imagegrid import make_grid

    tiles = []
    for f in files:
        with open_image(f.read_bytes(), f) as im:
            tiles.append(np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0)
    if len({t.shape for t in tiles}) > 1:
        raise ValueError(f"{where}: the images of one checkpoint differ in size")
    grid, layout = make_grid(np.stack(tiles).transpose(0, 3, 1, 2), value_range=(0.0, 1.0))
    buf = io.BytesIO()
    Image.fromarray(grid).save(buf, format="PNG")
    return buf.getvalue(), layout


def _is_figure(path: Path) -> bool:
    """Whether the image file is a figure of subplots (importers.figuregrid), judged once for
    its pattern by its last image; an unreadable one is not."""
    try:
        return retiled(path.read_bytes(), str(path)) is not None
    except (OSError, ValueError, TooCostly):
        return False


def _epoch_shift(nums: np.ndarray, ends) -> tuple[int, str]:
    """(what to add to an image's epoch to get the log's, the note's words)."""
    e0, e1 = int(ends[0].min()), int(ends[0].max())
    lo, hi = int(nums.min()), int(nums.max())
    if e0 == 0 and lo >= 1 and hi == e1 + 1:
        return -1, "epochs counted from 1 (the log's from 0): epoch N ends at the log's N-1"
    if e0 >= 1 and lo == e0 - 1:
        return 1, f"epochs counted from 0 (the log's from {e0}): epoch N ends at the log's N+1"
    if lo >= e0 and hi <= e1:
        return 0, f"epochs counted as the log's (from {e0})"
    return 0, "epoch N placed at the end of the log's epoch N (numbering not told by the log)"


def _placement(run: Run, nums: np.ndarray, pattern: str):
    """(steps for the numbers, how they were read) or (None, why not)."""
    sc = run.scalars
    if not len(sc):
        return None, "the log has no steps"
    steps = sc["step"].to_numpy(np.int64)
    s0, top = int(steps.min()), int(steps.max())
    ends = epoch_ends(run)
    lo, hi = int(nums.min()), int(nums.max())
    unit, how = _unit_by_words(pattern), "by the name"
    in_steps = run.step_unit != "row" and lo >= 0 and 0.5 * top <= hi <= 1.1 * top + 1
    if unit is None:
        how = "by their range"
        if ends is not None and ends[0].min() - 1 <= lo and hi <= ends[0].max() + 1:
            unit = "epoch" if hi >= 0.5 * ends[0].max() else None
        elif run.step_unit == "epoch" and in_steps:
            unit = "epoch"
        elif in_steps:
            unit = "step"
        if unit is None:
            span = f"epochs {ends[0].min()}..{ends[0].max()}, " if ends is not None else ""
            return None, f"numbers {lo}..{hi} are neither the log's {span}steps {s0}..{top}"
    if unit == "step":
        if run.step_unit in ("epoch", "row"):
            return None, f"they count steps; the log counts {run.step_unit}s"
        if hi > 2 * top + 1:
            return None, f"steps {lo}..{hi} reach far beyond the log's last step {top}"
        return nums.copy(), f"the number is the step ({how})"
    if run.step_unit == "epoch":  # the log's step is the epoch
        ends = (steps, steps)
    if ends is None:
        return None, "they count epochs; the log prints no epoch"
    shift, said = _epoch_shift(nums, ends)
    placed = np.array([epoch_step(ends, int(n) + shift, top)[0] for n in nums], dtype=np.int64)
    return placed, f"the number is the epoch ({how}; {said})"


def attach(run: Run, path: str | Path) -> int:
    """Sample image files of the run folder `path` (a log file: its folder) as `run.samples`,
    when the run has none; returns how many grids were attached (module docstring)."""
    if run.samples:
        return 0
    folder = root_of(path)
    found = _groups(folder, find_images(folder, run.warnings))
    if not found or len(found[0].files) < MIN_FILES:
        return 0
    pattern, by_num, per_file = found[0]
    nums = np.array(sorted(by_num), dtype=np.int64)
    steps, how = _placement(run, nums, pattern)
    if steps is None:
        run.warnings.append(
            f"{folder}: {len(nums)} images named {pattern} not attached as samples: {how}"
        )
        return 0
    keep = np.arange(len(nums))
    most = max(1, MAX_IMAGES // max(map(len, by_num.values())))
    if len(nums) > most:
        keep = np.unique(np.linspace(0, len(nums) - 1, most).round().astype(np.int64))
        run.warnings.append(
            f"{folder}: {len(nums):,} numbers of images named {pattern}; "
            f"{len(nums) - len(keep):,} left out, evenly spread (at most {MAX_IMAGES:,} "
            "images attached)"
        )
    grids, figures = [], _is_figure(by_num[int(nums[keep[-1]])][0]) and not per_file
    for i in keep:
        items = by_num[int(nums[i])]
        first = items[0]
        if not per_file and not figures:
            grids.append(SampleGrid(step=int(steps[i]), path=first, tag=pattern))
            continue
        try:
            got = retiled(first.read_bytes(), str(first)) if figures else None
            if figures and got is None:  # this one is no figure of subplots: one picture
                grids.append(SampleGrid(step=int(steps[i]), path=first, tag=pattern))
                continue
            png, lay = got or _tiled(items, str(first))
        except (OSError, ValueError, TooCostly) as e:
            detail = str(e).splitlines()[0] if str(e) else type(e).__name__
            run.warnings.append(f"{first}: sample images left out ({detail})")
            run.damaged.append((str(first), "unreadable sample image"))
            continue
        grids.append(
            SampleGrid(
                step=int(steps[i]),
                path=first,
                png=png,
                tag=pattern,
                **SampleGrid.layout_fields(lay),
            )
        )
    run.samples = sorted(grids, key=lambda g: g.step)
    rel = folder.name or str(folder)
    each = " (one sample a file, tiled by number)" if per_file else ""
    if figures:
        each = " (figures of subplots: each subplot cut out and tiled)"
    run.extra.setdefault("source_notes", []).append(
        f"{len(grids)} sample grid(s) attached from {rel}/{pattern}{each}, numbered "
        f"{nums[0]}..{nums[-1]}: {how}"
    )
    return len(grids)
